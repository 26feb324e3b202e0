// Evaluation metrics over a set of outputs (`lab eval --metric`, the Evaluate page): each output's score
// and the set's, with a percentile-bootstrap 95% CI over the items (seeded, so a report is reproducible).
//   exact, gsm8k, stoney-rubric   the mean of the per-item reward (exact and gsm8k: the share correct, 0–1)
//   chrf, chrf++                  sacrebleu's corpus score (n-gram statistics summed over the items, then one
//                                 F-score, 0–100), as `lab score` reports it; each resample sums the resampled
//                                 items' statistics, so the CI is of the corpus score, not of a sentence mean.
// No node: imports (the page runs it too).
import { CHRF_PLUS_PLUS, chrfFromStats, chrfSegmentStats, type ChrfOptions } from './chrf.ts';
import { exactReward } from './exact.ts';
import { gsm8kReward } from './gsm8k.ts';
import { stoneyRubricReward } from './stoney-rubric.ts';
import { RewardInputError, type RewardFn, type Sample } from './types.ts';
import { Rng } from '../engine/util/rng.ts';

export const EVAL_METRICS = ['exact', 'gsm8k', 'chrf', 'chrf++', 'stoney-rubric'] as const;
export type EvalMetric = (typeof EVAL_METRICS)[number];

export const isEvalMetric = (m: string): m is EvalMetric => (EVAL_METRICS as readonly string[]).includes(m);

/** The per-sample reward of a mean metric. */
export const METRIC_FNS: Record<Exclude<EvalMetric, 'chrf' | 'chrf++'>, RewardFn> = { exact: exactReward, gsm8k: gsm8kReward, 'stoney-rubric': stoneyRubricReward };

export interface MetricResult {
  metric: EvalMetric;
  /** the set's score: a mean (0–1 for exact and gsm8k) or, for chrF, the corpus score (0–100) */
  score: number;
  /** percentile bootstrap 95% interval of `score` over the items */
  ci95: [number, number];
  /** each item's own score (sentence chrF for chrF) */
  sentence: number[];
  n: number;
}

/** Scores samples (output + reference, and the rl_task fields for stoney-rubric); `nBoot` resamples (default 1000) from `seed`. */
export function scoreSet(metric: EvalMetric, samples: readonly Sample[], opts: { nBoot?: number; seed?: number } = {}): MetricResult {
  const n = samples.length;
  if (n === 0) throw new RewardInputError(`${metric}: an empty set has no score`);
  const nBoot = opts.nBoot ?? 1000;
  const rng = new Rng(opts.seed ?? 0);
  const pick = () => Array.from({ length: n }, () => rng.int(0, n));
  let sentence: number[], score: number, resample: (idx: number[]) => number;
  if (metric === 'chrf' || metric === 'chrf++') {
    const o: ChrfOptions = metric === 'chrf++' ? CHRF_PLUS_PLUS : {};
    const stats = samples.map((s, i) => {
      if (s.reference === undefined) throw new RewardInputError(`${metric}: sample ${i} has no reference`);
      return chrfSegmentStats(s.output, s.reference, o);
    });
    const sum = (idx: Iterable<number>) => {
      const total = new Array<number>(stats[0].length).fill(0);
      for (const i of idx) stats[i].forEach((v, k) => (total[k] += v));
      return chrfFromStats(total, o);
    };
    sentence = stats.map((st) => chrfFromStats(st, o));
    score = sum(stats.keys());
    resample = (idx) => sum(idx);
  } else {
    const fn = METRIC_FNS[metric];
    sentence = samples.map((s) => fn(s));
    const mean = (idx: Iterable<number>) => {
      let t = 0, k = 0;
      for (const i of idx) (t += sentence[i]), k++;
      return t / k;
    };
    score = mean(sentence.keys());
    resample = (idx) => mean(idx);
  }
  const boots = Array.from({ length: nBoot }, () => resample(pick())).sort((a, b) => a - b);
  const q = (p: number) => (nBoot === 0 ? score : boots[Math.min(nBoot - 1, Math.max(0, Math.floor(p * nBoot)))]);
  return { metric, score, ci95: [q(0.025), q(0.975)], sentence, n };
}
