// Float64 reference of splitk_reduce_batch.wgsl: each entry's S partial slices summed in order, alpha, accumulate.

export interface ReduceEntryRef {
  /** [S, len] raw partial sums */
  partial: Float64Array | Float32Array;
  S: number;
  alpha: number;
  accumulate: boolean;
  /** [len] the output before (read when accumulate) */
  out: Float64Array | Float32Array;
}

/** Each entry's new output: alpha · Σ_s partial[s, i] (+ out[i] when accumulate). */
export function splitkReduceBatchRef(entries: readonly ReduceEntryRef[]): Float64Array[] {
  return entries.map(({ partial, S, alpha, accumulate, out }) => {
    const len = out.length;
    const r = new Float64Array(len);
    for (let i = 0; i < len; i++) {
      let s = 0;
      for (let k = 0; k < S; k++) s += partial[k * len + i];
      r[i] = alpha * s + (accumulate ? out[i] : 0);
    }
    return r;
  });
}
