// Reference for rmsnorm_forward.wgsl, in float64 (no scaling needed: x² of an f32 cannot overflow f64).
//   x [N, C], w [C] (already converted to numbers) → y [N, C], rstd [N]
export function rmsnormForwardRef(x: ArrayLike<number>, w: ArrayLike<number>, N: number, C: number, eps: number): { y: Float64Array; rstd: Float64Array } {
  const y = new Float64Array(N * C); // [N, C]
  const rstd = new Float64Array(N); // [N]
  for (let n = 0; n < N; n++) {
    let ss = 0;
    for (let c = 0; c < C; c++) ss += x[n * C + c] * x[n * C + c];
    const r = 1 / Math.sqrt(ss / C + eps);
    rstd[n] = r;
    for (let c = 0; c < C; c++) y[n * C + c] = x[n * C + c] * r * w[c];
  }
  return { y, rstd };
}
