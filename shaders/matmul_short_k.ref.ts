// Float64 reference of matmul_short_k.wgsl: the plain product (matmul_forward.ref.ts), alpha · t w (+ out).
import { matmulRef } from './matmul_forward.ref.ts';

/** alpha · t [M, r] · w [r, N] (+ accumulateInto) → [M, N]. */
export function matmulShortKRef(t: ArrayLike<number>, w: ArrayLike<number>, M: number, r: number, N: number, o: { alpha?: number; accumulateInto?: ArrayLike<number> } = {}): Float64Array {
  return matmulRef(t, w, M, N, r, { alpha: o.alpha, accumulateInto: o.accumulateInto });
}
