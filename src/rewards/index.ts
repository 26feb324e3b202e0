// The rewards, by name (what `lab score --metric` and GRPO configs refer to). Each is a pure RewardFn of
// one Sample; combineRewards weights several. Group rewards (GROUP_REWARDS) score each trajectory against
// its group; combineGroupRewards weights per-sample and group rewards together. No node: imports anywhere
// in src/rewards/.
import { chrfPlusPlusReward, chrfReward } from './chrf.ts';
import { exactReward } from './exact.ts';
import { gsm8kFormatReward } from './gsm8k-format.ts';
import { gsm8kReward } from './gsm8k.ts';
import { regimeWReward } from './regime-w.ts';
import { stepsReward } from './steps.ts';
import { stoneyRubricReward } from './stoney-rubric.ts';
import { RewardInputError, type CombinedReward, type GroupRewardFn, type RewardFn, type Sample } from './types.ts';

export * from './types.ts';
export * from './chrf.ts';
export * from './exact.ts';
export * from './gsm8k.ts';
export * from './gsm8k-format.ts';
export * from './regime-w.ts';
export * from './steps.ts';
export * from './metrics.ts';
export * from './stoney-rubric.ts';
export * from './validations.ts';

export const REWARDS = {
  gsm8k: gsm8kReward,
  'gsm8k-format': gsm8kFormatReward,
  exact: exactReward,
  chrf: chrfReward,
  'chrf++': chrfPlusPlusReward,
  'stoney-rubric': stoneyRubricReward,
  steps: stepsReward,
} as const satisfies Record<string, RewardFn>;

export type RewardName = keyof typeof REWARDS;

/** Rewards that score a trajectory against its group. */
export const GROUP_REWARDS = {
  'regime-w': regimeWReward,
} as const satisfies Record<string, GroupRewardFn>;

export type GroupRewardName = keyof typeof GROUP_REWARDS;

/** A per-sample reward (`fn`) or a group reward (`group`), with its name and weight. */
export type WeightedAnyReward = { name: string; weight: number } & ({ fn: RewardFn; group?: never } | { group: GroupRewardFn; fn?: never });

/**
 * Per-sample and group rewards combined with weights, over one group:
 * `combineGroupRewards([{ name: 'exact', weight: 1, fn }, { name: 'regime-w', weight: 0.5, group }])(samples)`
 * gives, for each sample in order, each reward's value and the weighted total. As combineRewards: names
 * must be distinct and weights finite, and a non-finite value is an error; so is an entry with both or
 * neither of fn and group, and a group reward that returns other than one value per sample.
 */
export function combineGroupRewards(rewards: readonly WeightedAnyReward[]): (samples: readonly Sample[]) => CombinedReward[] {
  const seen = new Set<string>();
  for (const r of rewards) {
    if (seen.has(r.name)) throw new RewardInputError(`combineGroupRewards: the name "${r.name}" is used twice`);
    if (!Number.isFinite(r.weight)) throw new RewardInputError(`combineGroupRewards: the weight of "${r.name}" is not a finite number (${r.weight})`);
    if ((typeof r.fn === 'function') === (typeof r.group === 'function')) {
      throw new RewardInputError(`combineGroupRewards: "${r.name}" needs exactly one of fn (a per-sample reward) and group (a group reward)`);
    }
    seen.add(r.name);
  }
  return (samples) => {
    const out: CombinedReward[] = samples.map(() => ({ total: 0, parts: {} }));
    for (const r of rewards) {
      let values: readonly number[];
      if (r.group) {
        values = r.group(samples);
        if (!Array.isArray(values) || values.length !== samples.length) {
          throw new RewardInputError(`group reward "${r.name}" returned ${Array.isArray(values) ? values.length : 'no array of'} values for ${samples.length} samples`);
        }
      } else {
        values = samples.map((s) => r.fn!(s));
      }
      values.forEach((v, i) => {
        if (!Number.isFinite(v)) throw new RewardInputError(`reward "${r.name}" returned ${v} (sample ${i})`);
        out[i].parts[r.name] = v;
        out[i].total += r.weight * v;
      });
    }
    return out;
  };
}
