// The one shape every reward shares, and how rewards combine with weights.
//
// A reward is a pure function of one sample (the model's output and what it is judged against) that
// returns a number. Rewards with several parts (gsm8k-format, stoney-rubric) also export a function
// that returns the parts; their RewardFn is the sum the parts define. No node: imports in src/rewards/:
// the same code runs in the browser worker (GRPO) and in `lab score`.

/** The rl_task fields a sample may carry (shared/data/stoney/rl_task.schema.json, tasks[i]). */
export interface RlTaskFields {
  /** A regex the output should match; "" means none. */
  verification_pattern?: string;
  /** Strings a good output should contain. */
  hints?: readonly string[];
}

/** One generated output and what it is judged against. */
export interface Sample {
  /** The model's output (the completion only, not the prompt). */
  output: string;
  /** The reference: a GSM8K answer ("… #### 18" or "18"), a translation, an ideal answer. */
  reference?: string;
  /** The prompt, for rewards that look it up (validations). */
  prompt?: string;
  /** rl_task fields (stoney-rubric). */
  task?: RlTaskFields;
}

export type RewardFn = (sample: Sample) => number;

/**
 * A reward that scores each trajectory against its group (the completions GRPO samples for one prompt):
 * one value per sample, in the samples' order. Still pure: the same group gives the same values.
 */
export type GroupRewardFn = (samples: readonly Sample[]) => number[];

export interface WeightedReward {
  name: string;
  weight: number;
  fn: RewardFn;
}

export interface CombinedReward {
  /** Σ weight × value. */
  total: number;
  /** Each reward's own value, before its weight, by name. */
  parts: Record<string, number>;
}

/** A bad sample for a reward (no reference, an invalid pattern ...): the message says what to fix. */
export class RewardInputError extends Error {
  override name = 'RewardInputError';
}

/**
 * Rewards combined with weights: `combineRewards([{ name: 'correct', weight: 1, fn }, …])(sample)` gives
 * each reward's value and the weighted total. Names must be distinct and weights finite; a reward that
 * returns a non-finite value is an error (NaN never passes into a training signal).
 */
export function combineRewards(rewards: readonly WeightedReward[]): (sample: Sample) => CombinedReward {
  const seen = new Set<string>();
  for (const r of rewards) {
    if (seen.has(r.name)) throw new RewardInputError(`combineRewards: the name "${r.name}" is used twice`);
    if (!Number.isFinite(r.weight)) throw new RewardInputError(`combineRewards: the weight of "${r.name}" is not a finite number (${r.weight})`);
    seen.add(r.name);
  }
  return (sample) => {
    const parts: Record<string, number> = {};
    let total = 0;
    for (const r of rewards) {
      const v = r.fn(sample);
      if (!Number.isFinite(v)) throw new RewardInputError(`reward "${r.name}" returned ${v}`);
      parts[r.name] = v;
      total += r.weight * v;
    }
    return { total, parts };
  };
}
