// Float64 reference of matmul_atb.wgsl: alpha · A[:, aCols]ᵀ · B[:, bCols] (+ out), A [K, lda], B [K, ldb]; with row
// blocks, C's rows from blocks[t] read B's columns t·n further on.

/** → [M, n] with M = aCols' width, n = bCols' width. */
export function matmulAtBRef(
  a: ArrayLike<number>, b: ArrayLike<number>, K: number,
  aw: { ld: number; offset: number; width: number }, bw: { ld: number; offset: number; width: number },
  o: { alpha?: number; accumulateInto?: ArrayLike<number>; blocks?: readonly number[] } = {},
): Float64Array {
  const [M, n] = [aw.width, bw.width];
  const out = new Float64Array(M * n);
  const blocks = o.blocks ?? [0];
  for (let m = 0; m < M; m++) {
    const boff = bw.offset + n * (blocks.filter((s) => m >= s).length - 1); // m's block reads its own columns of B
    for (let c = 0; c < n; c++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[k * aw.ld + aw.offset + m] * b[k * bw.ld + boff + c];
      out[m * n + c] = (o.alpha ?? 1) * s + (o.accumulateInto ? o.accumulateInto[m * n + c] : 0);
    }
  }
  return out;
}
