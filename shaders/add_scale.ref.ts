// Reference for add_scale.wgsl, in float64.
export function addScaleRef(a: ArrayLike<number>, alpha: number, b: ArrayLike<number> | null, beta: number): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = alpha * a[i] + (beta !== 0 && b ? beta * b[i] : 0);
  return out;
}
