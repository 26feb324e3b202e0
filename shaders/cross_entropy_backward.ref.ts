// Reference for cross_entropy_backward.wgsl, in float64.
//
// dlogits_ij = (p_ij − [j == t_i]) · gradScale / count, p_ij = exp(x_ij − m_i) / Σ_k exp(x_ik − m_i);
// 0 for ignored rows (and all rows when count == 0); NaN rows for out-of-range targets.
import { crossEntropyForwardRef, IGNORE_INDEX } from './cross_entropy_forward.ref.ts';

/** logits: [N, V] row-major; targets: [N]. Returns dlogits [N, V]. */
export function crossEntropyBackwardRef(logits: ArrayLike<number>, targets: ArrayLike<number>, N: number, V: number, gradScale = 1): Float64Array {
  const f = crossEntropyForwardRef(logits, targets, N, V);
  const d = new Float64Array(N * V); // [N, V], zeros = ignored rows
  const scale = f.count > 0 ? gradScale / f.count : 0;
  for (let i = 0; i < N; i++) {
    const t = targets[i];
    if (t === IGNORE_INDEX) continue;
    const base = i * V;
    const valid = t >= 0 && t < V;
    // max and log Σ kept apart (not lse): exact for rows of ±1e30
    for (let j = 0; j < V; j++) {
      const p = Math.exp(logits[base + j] - f.rowMax[i] - f.logSum[i]);
      d[base + j] = valid ? (p - (j === t ? 1 : 0)) * scale : NaN;
    }
  }
  return d;
}
