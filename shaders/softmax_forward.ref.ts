// Reference for softmax_forward.wgsl, in float64: softmax over the last dim of a [rows, n] array.
// Stable form exp(x - max) / Σ exp(x - max); a row of all -inf gives zeros (as the kernel does).
export function softmaxRef(x: ArrayLike<number>, n: number): Float64Array {
  const rows = x.length / n;
  const out = new Float64Array(x.length); // [rows, n]
  for (let r = 0; r < rows; r++) {
    const base = r * n;
    let m = -Infinity;
    for (let j = 0; j < n; j++) m = Math.max(m, x[base + j]);
    let s = 0;
    for (let j = 0; j < n; j++) s += Math.exp(x[base + j] - m);
    // s = 0 only when every entry is -inf (then m = -inf and x - m is NaN): write zeros
    for (let j = 0; j < n; j++) out[base + j] = s > 0 ? Math.exp(x[base + j] - m) / s : 0;
  }
  return out;
}
