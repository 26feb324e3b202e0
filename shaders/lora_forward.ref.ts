// Reference for lora_forward.wgsl / loraForward, in float64, naive loops.
//   xa = x Aᵀ                 x [N, in], A [r, in]      → xa [N, r]
//   y  = y0 + scale · xa Bᵀ   B [out, r], y0 [N, out]   → y  [N, out]
// (dropout 0: the adapter sees x itself.)
export function loraForwardRef(
  x: ArrayLike<number>, // [N, in]
  A: ArrayLike<number>, // [r, in]
  B: ArrayLike<number>, // [out, r]
  y0: ArrayLike<number>, // [N, out], what y held before the call
  N: number,
  din: number,
  r: number,
  dout: number,
  scale: number,
): { xa: Float64Array; y: Float64Array } {
  const xa = new Float64Array(N * r); // [N, r]
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < r; k++) {
      let s = 0; // Σ_i x[n, i] · A[k, i]
      for (let i = 0; i < din; i++) s += x[n * din + i] * A[k * din + i];
      xa[n * r + k] = s;
    }
  }
  const y = new Float64Array(N * dout); // [N, out]
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < dout; o++) {
      let s = 0; // Σ_k xa[n, k] · B[o, k], from the float64 xa (not the kernel's)
      for (let k = 0; k < r; k++) s += xa[n * r + k] * B[o * r + k];
      y[n * dout + o] = y0[n * dout + o] + scale * s;
    }
  }
  return { xa, y };
}
