// Reference for policy_logit_grad.wgsl, in float64.
//
// logp_i = (x_it − m_i) − log Σ_j exp(x_ij − m_i); r = exp(logp − old) (old = logp on-policy);
// c = clamp(r, 1 − ε_low, 1 + ε_high); d = (c·A < r·A) ? 0 : −A·r; d += β·(1 − exp(ref − logp)) if β ≠ 0;
// dlogits_ij = (p_ij − [j == t_i])·(−w·d). Zeros (and logp 0) for t == -100 or w == 0; NaN for an
// out-of-range target. d is taken from grpoObjective itself (src/engine/rl/objective.ts) on a one-token
// group, so the kernel is checked against the objective the trainer reports, not a copy of its formula.
import { crossEntropyForwardRef, IGNORE_INDEX } from './cross_entropy_forward.ref.ts';
import { grpoObjective } from '../src/engine/rl/objective.ts';

export interface PolicyLogitGradRefOptions {
  epsLow: number;
  epsHigh: number;
  beta: number;
  onPolicy: boolean;
}

/** logits: [N, V] row-major; targets: [N]; rows: [N, 4] (old_logp, ref_logp, advantage, weight). */
export function policyLogitGradRef(
  logits: ArrayLike<number>,
  targets: ArrayLike<number>,
  rows: ArrayLike<number>,
  N: number,
  V: number,
  opts: PolicyLogitGradRefOptions,
): { dlogits: Float64Array; logp: Float64Array } {
  const f = crossEntropyForwardRef(logits, targets, N, V);
  const dlogits = new Float64Array(N * V); // [N, V], zeros = ignored / zero-weight rows
  const logp = new Float64Array(N); // [N]
  const cfg = { epsilon: opts.epsLow, epsilonHigh: opts.epsHigh, beta: opts.beta };
  const one = new Float64Array([1]);
  for (let i = 0; i < N; i++) {
    const t = targets[i];
    const w = rows[i * 4 + 3];
    if (t === IGNORE_INDEX || w === 0) continue;
    const base = i * V;
    if (!(t >= 0 && t < V)) {
      dlogits.fill(NaN, base, base + V);
      logp[i] = NaN;
      continue;
    }
    // max and log Σ kept apart (not lse): exact for rows of ±1e30
    const lp = logits[base + t] - f.rowMax[i] - f.logSum[i];
    // G = T = 1, mask 1: dapo's weight is 1/1, so grad.dapo is dℓ/dlogp itself
    const { grad } = grpoObjective(
      {
        G: 1, T: 1, mask: one,
        logp: new Float64Array([lp]),
        oldLogp: new Float64Array([opts.onPolicy ? lp : rows[i * 4]]), // on-policy: r = exp(0) = 1
        refLogp: new Float64Array([rows[i * 4 + 1]]),
        advantages: new Float64Array([rows[i * 4 + 2]]),
      },
      cfg,
    );
    const s = -w * grad.dapo[0]; // d loss / d logits_j = w·d·([j == t] − p_j)
    for (let j = 0; j < V; j++) {
      const p = Math.exp(logits[base + j] - f.rowMax[i] - f.logSum[i]);
      dlogits[base + j] = (p - (j === t ? 1 : 0)) * s;
    }
    logp[i] = lp;
  }
  return { dlogits, logp };
}
