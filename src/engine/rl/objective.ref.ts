// Float64 reference of the GRPO objective for the tests (CONVENTIONS §2): naive loops over nested
// number[][] arrays, written from the text and not from objective.ts. Each loss normalisation is
// spelled out as its own loop (row means then their mean; sum / token count; sum / (G · L)), and the
// gradient is taken term by term: d min(a, b) = da where a ≤ b, else db; d clip(ρ)/dρ = 1 inside
// [1 − ε, 1 + ε_high] and 0 outside; dρ/dlogp = ρ; d k3/dlogp = 1 − exp(ref − logp).
// Legend: G completions (rows) × T positions (columns).

export interface RefCase {
  logp: number[][]; //     [G][T]
  old_logp: number[][]; // [G][T]
  ref_logp: number[][]; // [G][T]
  mask: number[][]; //     [G][T] 0/1
  rewards: number[]; //    [G]
  epsilon: number;
  epsilon_high?: number;
  beta: number;
  scale_rewards?: 'group' | 'none';
}

export function refAdvantages(rewards: number[], scale: 'group' | 'none' = 'group'): number[] {
  const n = rewards.length;
  let mean = 0;
  for (const r of rewards) mean += r / n;
  let variance = 0;
  for (const r of rewards) variance += ((r - mean) * (r - mean)) / (n - 1); // Bessel's correction
  const sd = Math.sqrt(variance);
  return rewards.map((r) => (scale === 'none' ? r - mean : (r - mean) / (sd + 1e-4)));
}

/** ℓ(g, t) for one token, as the issue writes it. */
function tokenLoss(c: RefCase, A: number, g: number, t: number, logp: number): number {
  const eh = c.epsilon_high ?? c.epsilon;
  const rho = Math.exp(logp - c.old_logp[g][t]);
  let clipped = rho;
  if (clipped < 1 - c.epsilon) clipped = 1 - c.epsilon;
  if (clipped > 1 + eh) clipped = 1 + eh;
  const a = rho * A, b = clipped * A;
  const surrogate = a <= b ? a : b;
  const x = c.ref_logp[g][t] - logp;
  return -surrogate + c.beta * (Math.exp(x) - x - 1);
}

/** dℓ(g, t)/dlogp(g, t), term by term. */
function tokenGrad(c: RefCase, A: number, g: number, t: number): number {
  const eh = c.epsilon_high ?? c.epsilon;
  const logp = c.logp[g][t];
  const rho = Math.exp(logp - c.old_logp[g][t]);
  const inside = rho >= 1 - c.epsilon && rho <= 1 + eh;
  const clipped = Math.min(Math.max(rho, 1 - c.epsilon), 1 + eh);
  const da = rho * A; //                  d(ρ·A)/dlogp
  const db = inside ? rho * A : 0; //     d(clip(ρ)·A)/dlogp
  const dSurrogate = rho * A <= clipped * A ? da : db;
  const x = c.ref_logp[g][t] - logp;
  return -dSurrogate + c.beta * (1 - Math.exp(x));
}

export interface RefResult {
  advantages: number[];
  grpo: number;
  dapo: number;
  dr_grpo: number;
  grad: { grpo: number[][]; dapo: number[][]; dr_grpo: number[][] };
  kl_mean: number;
  clip_frac_low: number;
  clip_frac_high: number;
}

/** The whole reference; `logpOverride` replaces logp (for finite differences). maxLen: dr_grpo's L (default T). */
export function refObjective(c: RefCase, maxLen?: number, logpOverride?: number[][]): RefResult {
  const G = c.logp.length, T = c.logp[0].length, L = maxLen ?? T;
  const lp = logpOverride ?? c.logp;
  const adv = refAdvantages(c.rewards, c.scale_rewards ?? 'group');
  const eh = c.epsilon_high ?? c.epsilon;

  // grpo: the mean over rows of each row's masked mean
  let grpo = 0;
  for (let g = 0; g < G; g++) {
    let s = 0, n = 0;
    for (let t = 0; t < T; t++) if (c.mask[g][t]) { s += tokenLoss(c, adv[g], g, t, lp[g][t]); n++; }
    grpo += s / n / G;
  }
  // dapo and dr_grpo: one masked sum over the whole group
  let total = 0, count = 0, kl = 0, low = 0, high = 0;
  for (let g = 0; g < G; g++) {
    for (let t = 0; t < T; t++) {
      if (!c.mask[g][t]) continue;
      total += tokenLoss(c, adv[g], g, t, lp[g][t]);
      count++;
      const x = c.ref_logp[g][t] - lp[g][t];
      kl += Math.exp(x) - x - 1;
      const rho = Math.exp(lp[g][t] - c.old_logp[g][t]);
      if (rho < 1 - c.epsilon && adv[g] < 0) low++;
      if (rho > 1 + eh && adv[g] > 0) high++;
    }
  }
  const grad = { grpo: [] as number[][], dapo: [] as number[][], dr_grpo: [] as number[][] };
  for (let g = 0; g < G; g++) {
    let n = 0;
    for (let t = 0; t < T; t++) n += c.mask[g][t];
    grad.grpo.push([]);
    grad.dapo.push([]);
    grad.dr_grpo.push([]);
    for (let t = 0; t < T; t++) {
      const d = c.mask[g][t] ? tokenGrad(c, adv[g], g, t) : 0;
      grad.grpo[g].push(c.mask[g][t] ? d / (n * G) : 0);
      grad.dapo[g].push(c.mask[g][t] ? d / count : 0);
      grad.dr_grpo[g].push(c.mask[g][t] ? d / (G * L) : 0);
    }
  }
  return { advantages: adv, grpo, dapo: total / count, dr_grpo: total / (G * L), grad, kl_mean: kl / count, clip_frac_low: low / count, clip_frac_high: high / count };
}
