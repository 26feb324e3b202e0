// regime-w: "Regime W, made per trajectory" — the Regime W reward of the user's Looper-Math pipeline,
// changed to give each trajectory of a group its own value.
//
// Why: the original scored a whole group with ONE number and gave it to every member. GRPO's advantage
// is A_i = (r_i − mean(r)) / (std(r) + ε) within the group (src/engine/rl/objective.ts groupAdvantages),
// so equal rewards give A_i = 0 for every member: no learning signal at all. Here every part is computed
// per trajectory i, against the other members of its group.
//
// Arms (REGIME_W_ARMS): 4 "precise" system prompts at temperatures 0.2/0.3/0.4/0.5 and 4 "reflective" ones
// at the same temperatures, as in the original. The exact system prompt texts of the original are NOT
// available to us; the texts below are our own, written to the two styles. The reward itself does not look
// at which arm produced a trajectory; the arms are exported for the sampler that builds the group.
//
// Per trajectory i of a group of n (outputs o_1 … o_n of one prompt):
//   answer_i  the final answer by GSM8K extraction (gsm8k.ts: "#### n", else the last "Answer: n", else the
//             last number), or none.
//   words_i   the number of words of o_i (Python's str.split(): whitespace-separated fields).
//   len_i     the reasoning length: the words of o_i before the match its answer came from (before its
//             "####", its last "Answer:", or its last number); all of o_i's words when it has no answer.
//   s_end_i   agreement: the share of the OTHER n − 1 trajectories whose answer equals answer_i (gsm8k's
//             comparison: numeric when both are numbers). 0 when i has no answer, and 0 in a group of 1.
//             i never counts itself.
//   s_path_i  path typicality (defined here; the original's definition is not available):
//               s_path_i = exp(−|len_i − median(len)| / max(median(len), 1))   ∈ (0, 1]
//             where median(len) is over all n trajectories (the mean of the two middle values when n is
//             even). 1 at the median length, falling off with the relative distance from it.
//   s_cf      counterfactual robustness: a PLACEHOLDER constant 0.5 for every trajectory, as in the original
//             (it was never implemented there). It adds the same 0.7 · 0.3 · 0.5 = 0.105 to every member,
//             so it never changes a GRPO advantage.
//   s_wm_i    = 0.4 · s_end_i + 0.3 · s_path_i + 0.3 · s_cf                       ∈ [0.15, 0.85]
//   reward_i  = (+1.0 if correct_i else −0.5) + 0.7 · s_wm_i − 0.001 · max(0, words_i − 400)
// where correct_i is the gsm8k reward of (o_i, the sample's reference) being 1. Every sample needs a
// reference (a GSM8K answer or a bare number); one without is a RewardInputError.
// A group whose members all agree, are all equally correct and all equally long still gets equal rewards
// (and zero advantages), as with any reward: there is nothing to tell them apart.
import { gsm8kAnswersEqual, gsm8kReward, locateGsm8kAnswer } from './gsm8k.ts';
import { pySplit } from './text.ts';
import type { GroupRewardFn, Sample } from './types.ts';

export interface RegimeWArm {
  id: string;
  style: 'precise' | 'reflective';
  /** The system prompt (ours: the original's texts are not available). */
  system: string;
  temperature: number;
}

const ARMS: RegimeWArm[] = [
  { id: 'precise-t0.2', style: 'precise', temperature: 0.2, system: "Solve the problem step by step. Be concise and precise. End with '#### <number>'." },
  { id: 'precise-t0.3', style: 'precise', temperature: 0.3, system: "Solve the problem step by step, one short line per step. Be exact with every number. End with '#### <number>'." },
  { id: 'precise-t0.4', style: 'precise', temperature: 0.4, system: "Work out the answer with short, precise steps and no digressions. End with '#### <number>'." },
  { id: 'precise-t0.5', style: 'precise', temperature: 0.5, system: "Compute the answer step by step. Keep each step brief and correct. End with '#### <number>'." },
  { id: 'reflective-t0.2', style: 'reflective', temperature: 0.2, system: "Think about the problem carefully, check your reasoning, then answer. End with '#### <number>'." },
  { id: 'reflective-t0.3', style: 'reflective', temperature: 0.3, system: "Reason through the problem carefully. Before answering, re-check each step for mistakes. End with '#### <number>'." },
  { id: 'reflective-t0.4', style: 'reflective', temperature: 0.4, system: "Consider what the problem asks, solve it, then verify your result another way before answering. End with '#### <number>'." },
  { id: 'reflective-t0.5', style: 'reflective', temperature: 0.5, system: "Think the problem through, question your own reasoning, fix any error you find, then answer. End with '#### <number>'." },
];

/** The 8 arms: 4 precise and 4 reflective system prompts, each style at temperatures 0.2, 0.3, 0.4, 0.5. */
export const REGIME_W_ARMS: readonly Readonly<RegimeWArm>[] = Object.freeze(ARMS.map((a) => Object.freeze(a)));

/** The placeholder counterfactual-robustness score (never implemented in the original). */
export const REGIME_W_S_CF = 0.5;
/** Words an output may have before the length penalty (0.001 a word) starts. */
export const REGIME_W_FREE_WORDS = 400;

export interface RegimeWParts {
  /** The output's answer by GSM8K extraction, or null. */
  answer: string | null;
  /** The gsm8k reward against the sample's reference is 1. */
  correct: boolean;
  /** Share of the other trajectories with the same answer. */
  sEnd: number;
  /** Reasoning length against the group's median. */
  sPath: number;
  /** The placeholder 0.5. */
  sCf: number;
  /** 0.4 sEnd + 0.3 sPath + 0.3 sCf. */
  sWm: number;
  /** Words of the whole output. */
  words: number;
  /** Words before the answer (the reasoning length s_path uses). */
  reasoningWords: number;
  /** (correct ? 1 : −0.5) + 0.7 sWm − 0.001 max(0, words − 400). */
  reward: number;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Each part of the formula above, for every trajectory of one group, in order. */
export function regimeWParts(samples: readonly Sample[]): RegimeWParts[] {
  const n = samples.length;
  if (n === 0) return [];
  const found = samples.map((s) => locateGsm8kAnswer(s.output));
  const correct = samples.map((s) => gsm8kReward(s) === 1); // throws RewardInputError without a reference
  const words = samples.map((s) => pySplit(s.output).length);
  const reasoning = samples.map((s, i) => (found[i].index >= 0 ? pySplit(s.output.slice(0, found[i].index)).length : words[i]));
  const med = median(reasoning);
  return samples.map((_, i) => {
    const a = found[i].answer;
    let agree = 0;
    if (a !== null) for (let j = 0; j < n; j++) if (j !== i && found[j].answer !== null && gsm8kAnswersEqual(found[j].answer!, a)) agree++;
    const sEnd = a !== null && n > 1 ? agree / (n - 1) : 0;
    const sPath = Math.exp(-Math.abs(reasoning[i] - med) / Math.max(med, 1));
    const sCf = REGIME_W_S_CF;
    const sWm = 0.4 * sEnd + 0.3 * sPath + 0.3 * sCf;
    const reward = (correct[i] ? 1 : -0.5) + 0.7 * sWm - 0.001 * Math.max(0, words[i] - REGIME_W_FREE_WORDS);
    return { answer: a, correct: correct[i], sEnd, sPath, sCf, sWm, words: words[i], reasoningWords: reasoning[i], reward };
  });
}

/** Regime W per trajectory: one reward per sample of the group, in order. */
export const regimeWReward: GroupRewardFn = (samples) => regimeWParts(samples).map((p) => p.reward);
