// Reference for rmsnorm_backward.wgsl, in float64: the chain rule through y = x·r·w, r = (mean(x²) + eps)^-1/2.
//   ∂r/∂x_k = −r³·x_k / C, so dx_k = r·w_k·dy_k − (r³·x_k / C)·Σ_j x_j·w_j·dy_j
//   dw_j = Σ_rows dy_j·x_j·r
// rstd is recomputed here from x (not taken from the kernel), so the reference is independent.
export function rmsnormBackwardRef(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  dy: ArrayLike<number>,
  N: number,
  C: number,
  eps: number,
): { dx: Float64Array; dw: Float64Array } {
  const dx = new Float64Array(N * C); // [N, C]
  const dw = new Float64Array(C); // [C]
  for (let n = 0; n < N; n++) {
    const o = n * C;
    let ss = 0;
    for (let c = 0; c < C; c++) ss += x[o + c] * x[o + c];
    const r = 1 / Math.sqrt(ss / C + eps);
    let dot = 0; // Σ_j x_j·w_j·dy_j
    for (let c = 0; c < C; c++) dot += x[o + c] * w[c] * dy[o + c];
    for (let c = 0; c < C; c++) {
      dx[o + c] = r * w[c] * dy[o + c] - ((r * r * r * x[o + c]) / C) * dot;
      dw[c] += dy[o + c] * x[o + c] * r;
    }
  }
  return { dx, dw };
}
