// Float64 reference of matmul_skinny.wgsl: the plain product (matmul_forward.ref.ts), which the kernel computes
// with its K split into 16 lanes summed in order.
import { matmulRef } from './matmul_forward.ref.ts';

/** alpha · a [M, K] · op(b) (+ accumulateInto) → [M, n]; op(b) = bᵀ for b [n, K] when transB, else b [K, n]. */
export function matmulSkinnyRef(a: ArrayLike<number>, b: ArrayLike<number>, M: number, n: number, K: number, o: { transB?: boolean; alpha?: number; accumulateInto?: ArrayLike<number> } = {}): Float64Array {
  return matmulRef(a, b, M, n, K, { transB: o.transB, alpha: o.alpha, accumulateInto: o.accumulateInto });
}
