// Float64 reference of matmul_atb.wgsl: alpha · A[:, aCols]ᵀ · B[:, bCols] (+ out), A [K, lda], B [K, ldb].

/** → [M, n] with M = aCols' width, n = bCols' width. */
export function matmulAtBRef(
  a: ArrayLike<number>, b: ArrayLike<number>, K: number,
  aw: { ld: number; offset: number; width: number }, bw: { ld: number; offset: number; width: number },
  o: { alpha?: number; accumulateInto?: ArrayLike<number> } = {},
): Float64Array {
  const [M, n] = [aw.width, bw.width];
  const out = new Float64Array(M * n);
  for (let m = 0; m < M; m++) {
    for (let c = 0; c < n; c++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[k * aw.ld + aw.offset + m] * b[k * bw.ld + bw.offset + c];
      out[m * n + c] = (o.alpha ?? 1) * s + (o.accumulateInto ? o.accumulateInto[m * n + c] : 0);
    }
  }
  return out;
}
