// Reference for lora_forward.wgsl / loraForward, in float64, naive loops.
//   xa = x Aᵀ                 x [N, in], A [r, in]      → xa [N, r]
//   y  = y0 + scale · xa Bᵀ   B [out, r], y0 [N, out]   → y  [N, out]
// (dropout 0: the adapter sees x itself.)
// With yCols = { offset, stride }, y0 and y are [N, stride]: the adapter term goes into columns
// offset .. offset+out and every other column of y is y0's value, copied.
export function loraForwardRef(
  x: ArrayLike<number>, // [N, in]
  A: ArrayLike<number>, // [r, in]
  B: ArrayLike<number>, // [out, r]
  y0: ArrayLike<number>, // [N, out] (or [N, yCols.stride]), what y held before the call
  N: number,
  din: number,
  r: number,
  dout: number,
  scale: number,
  yCols: { offset: number; stride: number } = { offset: 0, stride: dout },
): { xa: Float64Array; y: Float64Array } {
  const { offset, stride } = yCols;
  const xa = new Float64Array(N * r); // [N, r]
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < r; k++) {
      let s = 0; // Σ_i x[n, i] · A[k, i]
      for (let i = 0; i < din; i++) s += x[n * din + i] * A[k * din + i];
      xa[n * r + k] = s;
    }
  }
  const y = Float64Array.from({ length: N * stride }, (_, i) => y0[i]); // [N, stride], starts as y0
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < dout; o++) {
      let s = 0; // Σ_k xa[n, k] · B[o, k], from the float64 xa (not the kernel's)
      for (let k = 0; k < r; k++) s += xa[n * r + k] * B[o * r + k];
      y[n * stride + offset + o] += scale * s; // column o of the window
    }
  }
  return { xa, y };
}

/**
 * loraForwardBlocks: y0 [N, W] + scale · xa_t B_tᵀ on each column block t (columns starts[t] .. starts[t+1]), xa
 * [N, k·r] holding the k adapters' x·Aᵀ side by side and B [W, r] their B factors back to back.
 */
export function loraForwardBlocksRef(xa: ArrayLike<number>, B: ArrayLike<number>, y0: ArrayLike<number>, N: number, W: number, r: number, scale: number, starts: readonly number[]): Float64Array {
  const k = starts.length;
  const y = Float64Array.from({ length: N * W }, (_, i) => y0[i]);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < W; c++) {
      const t = starts.filter((s) => c >= s).length - 1; // c's block
      let s = 0;
      for (let j = 0; j < r; j++) s += xa[n * k * r + t * r + j] * B[c * r + j];
      y[n * W + c] += scale * s;
    }
  return y;
}
