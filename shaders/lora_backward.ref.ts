// Reference for lora_backward_{nn,tn}.wgsl / loraBackward, in float64, naive loops.
// Shapes: x [N, in], A [r, in], B [out, r], xa = x Aᵀ [N, r] (the very values the kernel is given,
// so that the reference and the kernel differ only in their arithmetic), dy [N, out].
//   dxa = scale · dy B      [N, r]
//   dB  = dB0 + scale · dyᵀ xa   [out, r]
//   dA  = dA0 + dxaᵀ x      [r, in]
//   dx  = dx0 + dxa A       [N, in]   (only when dx0 is given)
// With dyCols = { offset, stride }, dy is [N, stride] and "dy" above means its columns
// offset .. offset+out; no other column is read.
export function loraBackwardRef(
  x: ArrayLike<number>, // [N, in]
  A: ArrayLike<number>, // [r, in]
  B: ArrayLike<number>, // [out, r]
  xa: ArrayLike<number>, // [N, r]
  dy: ArrayLike<number>, // [N, out] (or [N, dyCols.stride])
  N: number,
  din: number,
  r: number,
  dout: number,
  scale: number,
  init: { dA0: ArrayLike<number>; dB0: ArrayLike<number>; dx0: ArrayLike<number> | null },
  dyCols: { offset: number; stride: number } = { offset: 0, stride: dout },
): { dxa: Float64Array; dA: Float64Array; dB: Float64Array; dx: Float64Array | null } {
  const { offset, stride } = dyCols;
  const dyAt = (n: number, o: number): number => dy[n * stride + offset + o]; // dy[n, o] of the window
  const dxa = new Float64Array(N * r); // [N, r] = scale · dy B
  for (let n = 0; n < N; n++)
    for (let k = 0; k < r; k++) {
      let s = 0;
      for (let o = 0; o < dout; o++) s += dyAt(n, o) * B[o * r + k];
      dxa[n * r + k] = scale * s;
    }
  const dB = Float64Array.from(init.dB0); // [out, r] += scale · Σ_n dy[n, o] xa[n, k]
  for (let o = 0; o < dout; o++)
    for (let k = 0; k < r; k++) {
      let s = 0;
      for (let n = 0; n < N; n++) s += dyAt(n, o) * xa[n * r + k];
      dB[o * r + k] += scale * s;
    }
  const dA = Float64Array.from(init.dA0); // [r, in] += Σ_n dxa[n, k] x[n, i]
  for (let k = 0; k < r; k++)
    for (let i = 0; i < din; i++) {
      let s = 0;
      for (let n = 0; n < N; n++) s += dxa[n * r + k] * x[n * din + i];
      dA[k * din + i] += s;
    }
  let dx: Float64Array | null = null;
  if (init.dx0) {
    dx = Float64Array.from(init.dx0); // [N, in] += Σ_k dxa[n, k] A[k, i]
    for (let n = 0; n < N; n++)
      for (let i = 0; i < din; i++) {
        let s = 0;
        for (let k = 0; k < r; k++) s += dxa[n * r + k] * A[k * din + i];
        dx[n * din + i] += s;
      }
  }
  return { dxa, dA, dB, dx };
}
