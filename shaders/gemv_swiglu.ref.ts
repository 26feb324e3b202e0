// Reference for gemv_swiglu.wgsl, in float64, in the unfused order:
//   h = RMSNorm(x; g, eps) (or x)                     // [M, K]
//   gate = h·Wgᵀ, up = h·Wuᵀ                          // [M, F]
//   act = silu(gate)·up = gate·sigmoid(gate)·up        // [M, F]
// Half-precision g / W are passed as their f32 values (decode the bits first).
import { rmsnormRowsRef } from './gemv_rmsnorm.ref.ts';

/** h·Wᵀ for h [M, K], W [F, K] → [M, F], in float64. */
export function projRef(h: ArrayLike<number>, W: ArrayLike<number>, M: number, F: number, K: number): Float64Array {
  const y = new Float64Array(M * F); // [M, F]
  for (let m = 0; m < M; m++) {
    for (let f = 0; f < F; f++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += h[m * K + k] * W[f * K + k];
      y[m * F + f] = s;
    }
  }
  return y;
}

/** x [M, K], norm g [K] (or null: h = x), Wg / Wu [F, K] → gate, up and act, each [M, F]. */
export function gemvSwigluRef(
  x: ArrayLike<number>, norm: { g: ArrayLike<number>; eps: number } | null, Wg: ArrayLike<number>, Wu: ArrayLike<number>,
  M: number, K: number, F: number,
): { gate: Float64Array; up: Float64Array; act: Float64Array } {
  const h = norm ? rmsnormRowsRef(x, norm.g, M, K, norm.eps) : Float64Array.from(x); // [M, K]
  const gate = projRef(h, Wg, M, F, K); // [M, F]
  const up = projRef(h, Wu, M, F, K); // [M, F]
  // silu(a) = a / (1 + e^-a): for a ≪ 0, e^-a = Inf and the quotient is −0, as in the kernel
  const act = gate.map((a, i) => (a / (1 + Math.exp(-a))) * up[i]); // [M, F]
  return { gate, up, act };
}
