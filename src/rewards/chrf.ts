// chrF and chrF++ exactly as sacrebleu computes them (sacrebleu 2.x metrics/chrf.py + metrics/helpers.py),
// sentence level (CHRF().sentence_score) and corpus level (CHRF().corpus_score), on sacrebleu's 0–100 scale.
//
// Defaults = sacrebleu's CHRF(): char order 6, word order 0 (chrF; 2 gives chrF++), beta 2, whitespace
// removed before char n-grams (whitespace=False), no epsilon smoothing (eps_smoothing=False: the score is
// the F-beta of precision and recall averaged over the "effective" orders — those where both hypothesis
// and reference have n-grams). lowercase=False (not offered here).
//
// What sacrebleu does and this reproduces, step by step:
//   - no Unicode normalisation: NFC "â" (1 code point) and NFD "a + U+0302" (2) are different text;
//   - strings are counted in code points, as Python indexes str (not UTF-16 units: "𝒜" is 1 character);
//   - whitespace is Python's str.split() set (text.ts), removed for char n-grams;
//   - word n-grams (chrF++) come from str.split() tokens after _remove_punctuation: a token longer than
//     one character loses ONE punctuation character (string.punctuation) from its end, or else from its
//     start, which becomes a token of its own ("(hi)" → "(hi", ")"); n-grams are the tokens joined by " ";
//   - per order the statistics are [hyp n-grams, ref n-grams, matches] with matches = Σ min(counts), and
//     the hypothesis count is 0 when the reference has no n-gram of that order;
//   - several references: the one with the best sentence F-score (first one on ties);
//   - corpus: the statistics are summed over segments, then one F-score is computed from the sums.
// Floating point: the same operations in the same order as chrf.py, so the results are bit-identical to
// sacrebleu's (models/fixtures/rewards/chrf.json, chrf.test.ts).
import { codePoints, pySplit, removeWhitespace } from './text.ts';
import { RewardInputError, type Sample } from './types.ts';

export interface ChrfOptions {
  /** Character n-gram order (sacrebleu CHAR_ORDER = 6). */
  charOrder?: number;
  /** Word n-gram order: 0 = chrF, 2 = chrF++ (sacrebleu WORD_ORDER = 0). */
  wordOrder?: number;
  /** Recall is beta times as important as precision (sacrebleu BETA = 2). */
  beta?: number;
  /** Keep whitespace in char n-grams (sacrebleu whitespace=False). */
  whitespace?: boolean;
  /** chrF++.py / Moses / NLTK epsilon smoothing instead of effective order (sacrebleu eps_smoothing=False). */
  epsSmoothing?: boolean;
}

/** CHRF(word_order=2). */
export const CHRF_PLUS_PLUS: ChrfOptions = { wordOrder: 2 };

type Resolved = Required<ChrfOptions>;
const resolve = (o: ChrfOptions = {}): Resolved => ({ charOrder: 6, wordOrder: 0, beta: 2, whitespace: false, epsSmoothing: false, ...o });

/** One segment's or a corpus's statistics: [hyp, ref, match] per order, char orders 1..n then word orders. */
export type ChrfStats = number[];

type Counter = Map<string, number>;

function count(items: Iterable<string>): Counter {
  const c: Counter = new Map();
  for (const x of items) c.set(x, (c.get(x) ?? 0) + 1);
  return c;
}

function* ngrams<T>(xs: readonly T[], n: number, join: (g: readonly T[]) => string): Generator<string> {
  for (let i = 0; i + n <= xs.length; i++) yield join(xs.slice(i, i + n));
}

// string.punctuation, as chrF._PUNCTS.
const PUNCTS = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');

/** chrF._remove_punctuation: str.split() tokens, one punctuation mark split off a token's end (else start). */
export function chrfWords(sentence: string): string[] {
  const out: string[] = [];
  for (const w of pySplit(sentence)) {
    const cps = codePoints(w);
    if (cps.length === 1) out.push(w);
    else if (PUNCTS.has(cps[cps.length - 1])) out.push(cps.slice(0, -1).join(''), cps[cps.length - 1]);
    else if (PUNCTS.has(cps[0])) out.push(cps[0], cps.slice(1).join(''));
    else out.push(w);
  }
  return out;
}

/** The n-gram counters of one sentence: char orders 1..charOrder, then word orders 1..wordOrder. */
function allNgrams(sentence: string, o: Resolved): Counter[] {
  const chars = codePoints(o.whitespace ? sentence : removeWhitespace(sentence));
  const counters: Counter[] = [];
  for (let n = 1; n <= o.charOrder; n++) counters.push(count(ngrams(chars, n, (g) => g.join(''))));
  if (o.wordOrder > 0) {
    const words = chrfWords(sentence);
    for (let n = 1; n <= o.wordOrder; n++) counters.push(count(ngrams(words, n, (g) => g.join(' '))));
  }
  return counters;
}

/** chrF._get_match_statistics: [hyp count (0 when the reference has none), ref count, matches]. */
function matchStats(hyp: Counter, ref: Counter): [number, number, number] {
  let match = 0, hypCount = 0, refCount = 0;
  for (const [ng, c] of hyp) {
    hypCount += c;
    const r = ref.get(ng);
    if (r !== undefined) match += Math.min(c, r);
  }
  for (const c of ref.values()) refCount += c;
  return [ref.size > 0 ? hypCount : 0, refCount, match];
}

/** chrF._compute_f_score on summed statistics, 0–100. Same operation order as Python. */
export function chrfFromStats(stats: readonly number[], options?: ChrfOptions): number {
  const o = resolve(options);
  const order = o.charOrder + o.wordOrder;
  if (stats.length !== 3 * order) throw new RewardInputError(`chrF: ${stats.length} statistics for ${order} orders (want ${3 * order})`);
  const eps = 1e-16;
  const factor = o.beta ** 2;
  let score = 0, effectiveOrder = 0, avgPrec = 0, avgRec = 0;
  for (let i = 0; i < order; i++) {
    const nHyp = stats[3 * i], nRef = stats[3 * i + 1], nMatch = stats[3 * i + 2];
    const prec = nHyp > 0 ? nMatch / nHyp : eps;
    const rec = nRef > 0 ? nMatch / nRef : eps;
    const denom = factor * prec + rec;
    score += denom > 0 ? ((1 + factor) * prec * rec) / denom : eps;
    if (nHyp > 0 && nRef > 0) {
      avgPrec += prec;
      avgRec += rec;
      effectiveOrder += 1;
    }
  }
  if (o.epsSmoothing) return (100 * score) / order;
  if (effectiveOrder === 0) avgPrec = avgRec = 0;
  else {
    avgPrec /= effectiveOrder;
    avgRec /= effectiveOrder;
  }
  if (avgPrec + avgRec) {
    score = (1 + factor) * avgPrec * avgRec;
    score /= factor * avgPrec + avgRec;
    return 100 * score;
  }
  return 0;
}

const refList = (refs: string | readonly string[]): readonly string[] => (typeof refs === 'string' ? [refs] : refs);

/** One segment's statistics against its reference(s): those of the reference with the best F-score. */
export function chrfSegmentStats(hyp: string, refs: string | readonly string[], options?: ChrfOptions): ChrfStats {
  const o = resolve(options);
  const rs = refList(refs);
  if (rs.length === 0) throw new RewardInputError('chrF: a segment has no reference');
  const h = allNgrams(hyp, o);
  let best: ChrfStats = [], bestF = -1;
  for (const ref of rs) {
    const r = allNgrams(ref, o);
    const stats = h.flatMap((hc, i) => matchStats(hc, r[i]));
    const f = chrfFromStats(stats, o);
    if (f > bestF) {
      bestF = f;
      best = stats;
    }
  }
  return best;
}

/** CHRF(**options).sentence_score(hyp, refs).score */
export function chrfSentence(hyp: string, refs: string | readonly string[], options?: ChrfOptions): number {
  return chrfFromStats(chrfSegmentStats(hyp, refs, options), options);
}

/**
 * CHRF(**options).corpus_score(hyps, refs).score, with refs given per segment (refs[i] is segment i's
 * reference or references; sacrebleu takes them as reference streams instead).
 */
export function chrfCorpus(hyps: readonly string[], refs: readonly (string | readonly string[])[], options?: ChrfOptions): number {
  if (hyps.length === 0) throw new RewardInputError('chrF: an empty corpus has no score');
  if (refs.length !== hyps.length) throw new RewardInputError(`chrF: ${hyps.length} hypotheses but ${refs.length} references`);
  const o = resolve(options);
  const total: number[] = new Array(3 * (o.charOrder + o.wordOrder)).fill(0);
  hyps.forEach((h, i) => chrfSegmentStats(h, refs[i], o).forEach((v, k) => (total[k] += v)));
  return chrfFromStats(total, o);
}

const needRef = (sample: Sample, what: string): string => {
  if (sample.reference === undefined) throw new RewardInputError(`${what}: the sample has no reference`);
  return sample.reference;
};

/** Sentence chrF (0–100) of the output against the reference. */
export function chrfReward(sample: Sample): number {
  return chrfSentence(sample.output, needRef(sample, 'chrF'));
}

/** Sentence chrF++ (0–100) of the output against the reference. */
export function chrfPlusPlusReward(sample: Sample): number {
  return chrfSentence(sample.output, needRef(sample, 'chrF++'), CHRF_PLUS_PLUS);
}
