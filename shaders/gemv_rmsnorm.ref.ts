// Reference for gemv_rmsnorm.wgsl, in float64: RMSNorm first, then the projections (the unfused order).
//   h[m, k] = x[m, k] · rstd[m] · g[k],  rstd[m] = 1/sqrt(mean_k x[m,k]² + eps)      // [M, K]
//   out[m, off_s + n] = Σ_k h[m, k] · W_s[n, k] + bias[off_s + n]                        // [M, N] ('rows')
// Half-precision g / W are passed as their f32 values (decode the bits first: the kernel sees the same
// rounded numbers, so the comparison measures the kernel, not the rounding).
import type { GemvSegment } from './gemv_rmsnorm.ts';

/** RMSNorm rows in float64: x [M, K], g [K] → h [M, K]. */
export function rmsnormRowsRef(x: ArrayLike<number>, g: ArrayLike<number>, M: number, K: number, eps: number): Float64Array {
  const h = new Float64Array(M * K); // [M, K]
  for (let m = 0; m < M; m++) {
    let ss = 0;
    for (let k = 0; k < K; k++) ss += x[m * K + k] * x[m * K + k];
    const rstd = 1 / Math.sqrt(ss / K + eps);
    for (let k = 0; k < K; k++) h[m * K + k] = x[m * K + k] * rstd * g[k];
  }
  return h;
}

/**
 * x [M, K], g [K], Ws[s] [N_s, K], bias [ΣN_s] or null → out [M, ΣN_s] in the 'rows' layout
 * (segment s at columns N_0 + .. + N_{s-1}).
 */
export function gemvRmsnormRef(
  x: ArrayLike<number>, g: ArrayLike<number>, eps: number, Ws: readonly ArrayLike<number>[], Ns: readonly number[],
  M: number, K: number, bias: ArrayLike<number> | null,
): Float64Array {
  const h = rmsnormRowsRef(x, g, M, K, eps); // [M, K]
  const N = Ns.reduce((a, b) => a + b, 0);
  const out = new Float64Array(M * N); // [M, N]
  let col0 = 0;
  Ws.forEach((W, s) => {
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < Ns[s]; n++) {
        let acc = 0;
        for (let k = 0; k < K; k++) acc += h[m * K + k] * W[n * K + k];
        out[m * N + col0 + n] = acc + (bias ? bias[col0 + n] : 0);
      }
    }
    col0 += Ns[s];
  });
  return out;
}

/** Moves a 'rows' result [M, ΣN_s] into another layout's places (segments from gemvRmsnormLayout); padding stays NaN. */
export function toLayoutRef(rows: ArrayLike<number>, M: number, Ns: readonly number[], segments: readonly GemvSegment[], size: number): Float64Array {
  const N = Ns.reduce((a, b) => a + b, 0);
  const out = new Float64Array(size).fill(NaN); // [size]
  let col0 = 0;
  Ns.forEach((ns, s) => {
    for (let m = 0; m < M; m++) for (let n = 0; n < ns; n++) out[segments[s].offset + m * segments[s].rowStride + n] = rows[m * N + col0 + n];
    col0 += ns;
  });
  return out;
}
