// Reference for swiglu_forward.wgsl, in float64: out = g·sigmoid(g)·up (exp(−g) = Inf for g ≪ 0 gives sigmoid 0).
export function sigmoidRef(g: number): number {
  return 1 / (1 + Math.exp(-g));
}

export function swigluForwardRef(gate: ArrayLike<number>, up: ArrayLike<number>): Float64Array {
  const out = new Float64Array(gate.length); // [N, F]
  for (let i = 0; i < gate.length; i++) out[i] = gate[i] * sigmoidRef(gate[i]) * up[i];
  return out;
}
