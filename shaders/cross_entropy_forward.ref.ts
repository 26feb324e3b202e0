// Reference for cross_entropy_forward.wgsl, in float64: naive loops, stable log-sum-exp.
//
// lse_i = m_i + log Σ_j exp(x_ij − m_i), m_i = max_j x_ij; loss_i = (m_i − x_i,t) + log Σ (the same
// value as lse_i − x_i,t, formed without cancelling two huge numbers: exact for rows of ±1e30).

export const IGNORE_INDEX = -100;

export interface CrossEntropyRef {
  loss: number; // mean over counted rows (0 when none)
  rowLoss: Float64Array; // [N]
  lse: Float64Array; // [N]
  count: number;
  /** [N] row max and log Σ exp(x − max), kept apart so the backward reference stays exact */
  rowMax: Float64Array;
  logSum: Float64Array;
}

/** logits: [N, V] row-major; targets: [N] (class index or -100). */
export function crossEntropyForwardRef(logits: ArrayLike<number>, targets: ArrayLike<number>, N: number, V: number): CrossEntropyRef {
  const rowLoss = new Float64Array(N);
  const lse = new Float64Array(N);
  const rowMax = new Float64Array(N);
  const logSum = new Float64Array(N);
  let sum = 0;
  let count = 0;
  for (let i = 0; i < N; i++) {
    const base = i * V;
    let m = -Infinity;
    for (let j = 0; j < V; j++) m = Math.max(m, logits[base + j]); // NaN propagates via Math.max
    let s = 0;
    for (let j = 0; j < V; j++) s += Math.exp(logits[base + j] - m);
    rowMax[i] = m;
    logSum[i] = Math.log(s);
    lse[i] = m + logSum[i];
    const t = targets[i];
    if (t === IGNORE_INDEX) continue; // rowLoss stays 0, not counted
    count++;
    rowLoss[i] = t >= 0 && t < V ? m - logits[base + t] + logSum[i] : NaN; // invalid target → NaN
    sum += rowLoss[i];
  }
  return { loss: count > 0 ? sum / count : 0, rowLoss, lse, count, rowMax, logSum };
}
