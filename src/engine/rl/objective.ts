// The GRPO objective on given numbers (issue 11, item 2): group-normalised advantages, the per-token
// PPO-style clipped surrogate with an optional k3 KL penalty, three loss normalisations, the analytic
// gradient d loss / d logp, and the metrics a run logs. Plain TypeScript over Float64Array: no GPU, no
// node: imports, so the worker, the CLI (`lab rl-loss`) and the tests run the same code.
//
// Legend (one group = one prompt):
//   G  completions in the group (rows)
//   T  completion positions (columns; rows are padded to T, the mask says which positions count)
// Every per-token array is [G, T] row-major: element (g, t) at index g*T + t.
//
// Semantics follow TRL's GRPOTrainer (trl/trainer/grpo_trainer.py, _compute_loss, read at commit
// f2cd577 of 2026-07): token-level importance sampling, two-sided clipping with ε_low = ε and ε_high,
// per_token_loss = −min(r·A, clip(r, 1−ε, 1+ε_high)·A) + β·k3, and
//   grpo    ((per_token_loss·mask).sum(-1) / mask.sum(-1)).mean()
//   dapo    (per_token_loss·mask).sum() / mask.sum()          (TRL divides by num_items_in_batch, the
//                                                               masked-token count over the whole batch)
//   dr_grpo (per_token_loss·mask).sum() / (B · max_completion_length)
// TRL's dr_grpo denominator is the number of rows times the *configured* max_completion_length (not the
// padded width of the batch). Here it is G · maxCompletionLength, with maxCompletionLength defaulting to T
// (the width the caller padded to); pass it explicitly when rows are padded to less than the configured max.

/** Added to the group's std before dividing, as TRL does (keeps a zero-std group finite: advantages 0). */
export const ADVANTAGE_STD_EPS = 1e-4;

export type ScaleRewards = 'group' | 'none';
export type LossType = 'grpo' | 'dapo' | 'dr_grpo';
export const LOSS_TYPES: readonly LossType[] = ['grpo', 'dapo', 'dr_grpo'];

export interface ObjectiveConfig {
  /** ε: lower clip 1 − ε (default 0.2) */
  epsilon?: number;
  /** ε_high: upper clip 1 + ε_high (default ε; DAPO's "clip-higher" uses 0.28) */
  epsilonHigh?: number;
  /** β: weight of the k3 KL penalty to the reference policy (default 0: no reference needed) */
  beta?: number;
  /** dr_grpo's per-row length normaliser (default T) */
  maxCompletionLength?: number;
}

/** One group's numbers. All per-token arrays are [G, T]; positions where mask is 0 are never read for the loss. */
export interface ObjectiveInput {
  G: number;
  T: number;
  logp: Float64Array; //       [G, T] log π_θ(token) of the policy being trained
  oldLogp: Float64Array; //    [G, T] log π_old(token) of the policy that sampled (== logp on the first iteration)
  refLogp?: Float64Array; //   [G, T] log π_ref(token); needed when β ≠ 0 (and for the KL metric)
  mask: Float64Array; //       [G, T] 1 where the token counts, 0 on padding
  advantages: Float64Array; // [G] one advantage per completion
}

export interface ObjectiveMetrics {
  /** masked tokens in the group */
  tokens: number;
  /** masked mean of k3 over all tokens (NaN without refLogp) */
  klMean: number;
  /** share of masked tokens where the clipped branch is taken because r < 1 − ε and A < 0 */
  clipFracLow: number;
  /** share of masked tokens where the clipped branch is taken because r > 1 + ε_high and A > 0 */
  clipFracHigh: number;
  /** clipFracLow + clipFracHigh (the two are disjoint) */
  clipFrac: number;
  /** masked mean, min and max of the ratio r = exp(logp − old_logp) */
  ratioMean: number;
  ratioMin: number;
  ratioMax: number;
}

export interface ObjectiveResult {
  loss: Record<LossType, number>;
  /** d loss / d logp for each normalisation, [G, T]; 0 on masked-out positions */
  grad: Record<LossType, Float64Array>;
  metrics: ObjectiveMetrics;
}

// ---------------------------------------------------------------------------------------------------
// Advantages

/**
 * Group-normalised advantages for one group: A_i = (r_i − mean(r)) / (std(r) + 1e-4) with the unbiased
 * (Bessel, n − 1) std, or A_i = r_i − mean(r) with scale 'none'. rewards: [G], G ≥ 2.
 */
export function groupAdvantages(rewards: ArrayLike<number>, scale: ScaleRewards = 'group'): Float64Array {
  const G = rewards.length;
  if (G < 2) throw new RangeError(`groupAdvantages: a group needs at least 2 completions, got ${G}`);
  let sum = 0;
  for (let i = 0; i < G; i++) sum += rewards[i];
  const mean = sum / G;
  let ss = 0; // Σ (r − mean)²
  for (let i = 0; i < G; i++) ss += (rewards[i] - mean) ** 2;
  const std = Math.sqrt(ss / (G - 1)); // unbiased, as torch.std / TRL's nanstd
  const adv = new Float64Array(G); // [G]
  for (let i = 0; i < G; i++) adv[i] = scale === 'none' ? rewards[i] - mean : (rewards[i] - mean) / (std + ADVANTAGE_STD_EPS);
  return adv;
}

/** Advantages of several groups laid end to end: rewards [nGroups · groupSize], each group normalised on its own. */
export function groupedAdvantages(rewards: ArrayLike<number>, groupSize: number, scale: ScaleRewards = 'group'): Float64Array {
  if (!Number.isInteger(groupSize) || groupSize < 2 || rewards.length % groupSize !== 0) {
    throw new RangeError(`groupedAdvantages: ${rewards.length} rewards do not split into groups of ${groupSize} (≥ 2)`);
  }
  const out = new Float64Array(rewards.length); // [nGroups · groupSize]
  for (let s = 0; s < rewards.length; s += groupSize) out.set(groupAdvantages(Array.prototype.slice.call(rewards, s, s + groupSize), scale), s);
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Loss

/** The weight each token's loss gets in the normalised total, [G, T] (0 where masked out). */
export function normalisationWeights(mask: Float64Array, G: number, T: number, type: LossType, maxCompletionLength = T): Float64Array {
  const w = new Float64Array(G * T); // [G, T]
  let total = 0;
  for (let i = 0; i < G * T; i++) total += mask[i];
  for (let g = 0; g < G; g++) {
    let n = 0; // masked tokens in row g
    for (let t = 0; t < T; t++) n += mask[g * T + t];
    // grpo: each row's mean, then the mean of rows → 1 / (G · n_g); TRL clamps n_g to ≥ 1
    const denom = type === 'grpo' ? G * Math.max(n, 1) : type === 'dapo' ? Math.max(total, 1) : G * maxCompletionLength;
    for (let t = 0; t < T; t++) w[g * T + t] = mask[g * T + t] / denom;
  }
  return w;
}

/**
 * The objective for one group under all three normalisations, with gradients and metrics.
 * Per token (masked): r = exp(logp − old), c = clip(r, 1 − ε, 1 + ε_high),
 *   ℓ = −min(r·A, c·A) + β·k3,  k3 = exp(ref − logp) − (ref − logp) − 1,
 *   dℓ/dlogp = −A·r where the unclipped branch is the min (0 where the clipped branch is strictly
 *   smaller: c is then a constant) + β·(1 − exp(ref − logp)).
 * loss = Σ w·ℓ and d loss / d logp = w·dℓ/dlogp with w from normalisationWeights.
 */
export function grpoObjective(input: ObjectiveInput, cfg: ObjectiveConfig = {}): ObjectiveResult {
  const { G, T, logp, oldLogp, refLogp, mask, advantages } = input;
  const eps = cfg.epsilon ?? 0.2;
  const epsHigh = cfg.epsilonHigh ?? eps;
  const beta = cfg.beta ?? 0;
  if (beta !== 0 && !refLogp) throw new RangeError('grpoObjective: β ≠ 0 needs refLogp');
  const lo = 1 - eps, hi = 1 + epsHigh;

  const tokLoss = new Float64Array(G * T); // [G, T] ℓ per token (0 where masked out)
  const tokGrad = new Float64Array(G * T); // [G, T] dℓ/dlogp per token
  let tokens = 0, klSum = 0, nLow = 0, nHigh = 0, rSum = 0, rMin = Infinity, rMax = -Infinity;
  for (let g = 0; g < G; g++) {
    const A = advantages[g];
    for (let t = 0; t < T; t++) {
      const i = g * T + t;
      if (mask[i] === 0) continue;
      const r = Math.exp(logp[i] - oldLogp[i]);
      const c = Math.min(Math.max(r, lo), hi);
      const unclipped = r * A, clipped = c * A;
      // The clipped branch wins only when it is strictly smaller: r < lo with A < 0, or r > hi with A > 0.
      const clipWins = clipped < unclipped;
      let l = -(clipWins ? clipped : unclipped);
      let d = clipWins ? 0 : -A * r;
      if (clipWins) {
        if (r < lo) nLow++;
        else nHigh++;
      }
      if (refLogp) {
        const delta = refLogp[i] - logp[i];
        const e = Math.exp(delta);
        const k3 = e - delta - 1;
        klSum += k3;
        if (beta !== 0) {
          l += beta * k3;
          d += beta * (1 - e);
        }
      }
      tokLoss[i] = l;
      tokGrad[i] = d;
      tokens++;
      rSum += r;
      rMin = Math.min(rMin, r);
      rMax = Math.max(rMax, r);
    }
  }

  const loss = {} as Record<LossType, number>;
  const grad = {} as Record<LossType, Float64Array>;
  for (const type of LOSS_TYPES) {
    const w = normalisationWeights(mask, G, T, type, cfg.maxCompletionLength ?? T);
    const gr = new Float64Array(G * T); // [G, T]
    let s = 0;
    for (let i = 0; i < G * T; i++) {
      s += w[i] * tokLoss[i];
      gr[i] = w[i] * tokGrad[i];
    }
    loss[type] = s;
    grad[type] = gr;
  }
  const n = Math.max(tokens, 1);
  const metrics: ObjectiveMetrics = {
    tokens,
    klMean: refLogp ? klSum / n : NaN,
    clipFracLow: nLow / n,
    clipFracHigh: nHigh / n,
    clipFrac: (nLow + nHigh) / n,
    ratioMean: rSum / n,
    ratioMin: tokens ? rMin : NaN,
    ratioMax: tokens ? rMax : NaN,
  };
  return { loss, grad, metrics };
}
