// Where speakers' judgements plug in: a stored validation says whether an output for a prompt was good.
// validationReward() turns a set of them into a RewardFn by lookup, so GRPO can train on (or a report can
// score against) what speakers said, alongside the automatic rewards in combineRewards.
//
//   verdict 'good' → 1, 'bad' → 0, a number → itself (a graded judgement; it must lie in [0, 1])
//   several validations of the same (prompt, output), e.g. by several speakers → their mean
//   the key: prompt and output after Unicode NFC (so keyboards that type "â" differently agree) and
//   nothing else — a different output is a different output.
//   an output nobody validated → options.unvalidated when given, else a RewardInputError that says so
//   (a missing judgement must never silently become a score).
import { RewardInputError, type RewardFn } from './types.ts';

export type Verdict = 'good' | 'bad' | number;

/** One speaker's judgement of one output (the IndexedDB "validations" store keeps these). */
export interface Validation {
  prompt: string;
  output: string;
  verdict: Verdict;
}

export interface ValidationRewardOptions {
  /** The value for a (prompt, output) that has no validation; absent → an error. */
  unvalidated?: number;
}

export function verdictValue(v: Verdict): number {
  if (v === 'good') return 1;
  if (v === 'bad') return 0;
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1) return v;
  throw new RewardInputError(`a validation's verdict must be 'good', 'bad' or a number in [0, 1], got ${JSON.stringify(v)}`);
}

const key = (prompt: string, output: string): string => JSON.stringify([prompt.normalize('NFC'), output.normalize('NFC')]);

export function validationReward(validations: readonly Validation[], options: ValidationRewardOptions = {}): RewardFn {
  const sums = new Map<string, { sum: number; n: number }>();
  for (const v of validations) {
    const k = key(v.prompt, v.output);
    const s = sums.get(k) ?? { sum: 0, n: 0 };
    s.sum += verdictValue(v.verdict);
    s.n += 1;
    sums.set(k, s);
  }
  const { unvalidated } = options;
  if (unvalidated !== undefined && !Number.isFinite(unvalidated)) throw new RewardInputError(`validationReward: unvalidated must be a finite number, got ${unvalidated}`);
  return (sample) => {
    if (sample.prompt === undefined) throw new RewardInputError('validations: the sample has no prompt to look up');
    const s = sums.get(key(sample.prompt, sample.output));
    if (s) return s.sum / s.n;
    if (unvalidated !== undefined) return unvalidated;
    throw new RewardInputError(`validations: no speaker has validated this output for the prompt ${JSON.stringify(sample.prompt.slice(0, 60))}`);
  };
}
