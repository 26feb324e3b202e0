// The rewards, by name (what `lab score --metric` and GRPO configs refer to). Each is a pure RewardFn of
// one Sample; combineRewards weights several. No node: imports anywhere in src/rewards/.
import { chrfPlusPlusReward, chrfReward } from './chrf.ts';
import { gsm8kFormatReward } from './gsm8k-format.ts';
import { gsm8kReward } from './gsm8k.ts';
import { stoneyRubricReward } from './stoney-rubric.ts';
import type { RewardFn } from './types.ts';

export * from './types.ts';
export * from './chrf.ts';
export * from './gsm8k.ts';
export * from './gsm8k-format.ts';
export * from './stoney-rubric.ts';
export * from './validations.ts';

export const REWARDS = {
  gsm8k: gsm8kReward,
  'gsm8k-format': gsm8kFormatReward,
  chrf: chrfReward,
  'chrf++': chrfPlusPlusReward,
  'stoney-rubric': stoneyRubricReward,
} as const satisfies Record<string, RewardFn>;

export type RewardName = keyof typeof REWARDS;
