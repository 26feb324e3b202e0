// Float64 reference of matmul_skinny.wgsl: the plain product (matmul_forward.ref.ts), which the kernel computes
// with its K split into 16 lanes summed in order.
import { matmulRef } from './matmul_forward.ref.ts';

/** alpha · a [M, K] · op(b) (+ accumulateInto) → [M, n]; op(b) = bᵀ for b [n, K] when transB, else b [K, n]. */
export function matmulSkinnyRef(a: ArrayLike<number>, b: ArrayLike<number>, M: number, n: number, K: number, o: { transB?: boolean; alpha?: number; accumulateInto?: ArrayLike<number> } = {}): Float64Array {
  return matmulRef(a, b, M, n, K, { transB: o.transB, alpha: o.alpha, accumulateInto: o.accumulateInto });
}

/**
 * matmul_skinny with K in blocks: a [M, lda] whose columns offset .. offset+K are the K values, b [K, r]; C [M, k·r]
 * with column block t summing over K's block t only (starts[t] .. starts[t+1]): alpha · that (+ accumulateInto).
 */
export function matmulSkinnyBlocksRef(
  a: ArrayLike<number>, b: ArrayLike<number>, M: number, lda: number, offset: number, K: number, r: number, starts: readonly number[],
  o: { alpha?: number; accumulateInto?: ArrayLike<number> } = {},
): Float64Array {
  const k = starts.length;
  const out = new Float64Array(M * k * r);
  for (let m = 0; m < M; m++)
    for (let t = 0; t < k; t++)
      for (let j = 0; j < r; j++) {
        let s = 0;
        for (let kk = starts[t]; kk < (starts[t + 1] ?? K); kk++) s += a[m * lda + offset + kk] * b[kk * r + j];
        const i = m * k * r + t * r + j;
        out[i] = (o.alpha ?? 1) * s + (o.accumulateInto ? o.accumulateInto[i] : 0);
      }
  return out;
}
