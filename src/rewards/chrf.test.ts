// chrF / chrF++ against sacrebleu's own scores (models/fixtures/rewards/chrf.json, made by
// tools/golden/make_reward_fixtures.py): every sentence score, the corpus scores and the multi-reference
// cases within 1e-9 relative (atol 0). The implementation repeats chrf.py's float operations in order,
// so the observed error is 0 (bit-identical); the tolerance only allows for a future sacrebleu reordering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CHRF_PLUS_PLUS, chrfCorpus, chrfFromStats, chrfReward, chrfPlusPlusReward, chrfSegmentStats, chrfSentence, chrfWords, type ChrfOptions } from './chrf.ts';
import { RewardInputError } from './types.ts';

interface Pair { id: string; hyp: string; ref: string; chrf: number; chrfpp: number; chrf_eps: number }
interface Multi { id: string; hyp: string; refs: string[]; chrf: number; chrfpp: number }
const fx: { sacrebleu: string; pairs: Pair[]; corpus: Record<'chrf' | 'chrfpp' | 'chrf_eps', number>; multi_ref: Multi[] } = JSON.parse(
  readFileSync(new URL('../../models/fixtures/rewards/chrf.json', import.meta.url), 'utf8'),
);
const RTOL = 1e-9;
const VARIANTS: [key: 'chrf' | 'chrfpp' | 'chrf_eps', opts: ChrfOptions][] = [
  ['chrf', {}],
  ['chrfpp', CHRF_PLUS_PLUS],
  ['chrf_eps', { epsSmoothing: true }],
];

function close(got: number, want: number, what: string): number {
  const err = Math.abs(got - want);
  assert.ok(Number.isFinite(got) && err <= RTOL * Math.abs(want), `${what}: got ${got}, sacrebleu ${want} (|err| ${err})`);
  return want === 0 ? err : err / Math.abs(want);
}

test(`sentence chrF, chrF++ (and eps smoothing) equal sacrebleu ${fx.sacrebleu} on ${fx.pairs.length} synthetic pairs`, () => {
  assert.ok(fx.pairs.length >= 40);
  let worst = 0;
  for (const p of fx.pairs) for (const [k, o] of VARIANTS) worst = Math.max(worst, close(chrfSentence(p.hyp, p.ref, o), p[k], `${p.id} ${k}`));
  console.log(`  worst relative error over ${fx.pairs.length * VARIANTS.length} sentence scores: ${worst}`);
});

test('corpus chrF, chrF++ equal sacrebleu corpus_score (statistics summed, then one F-score)', () => {
  const hyps = fx.pairs.map((p) => p.hyp), refs = fx.pairs.map((p) => p.ref);
  for (const [k, o] of VARIANTS) close(chrfCorpus(hyps, refs, o), fx.corpus[k], `corpus ${k}`);
  // the corpus score is not the mean of the sentence scores
  const mean = fx.pairs.reduce((s, p) => s + p.chrf, 0) / fx.pairs.length;
  assert.ok(Math.abs(mean - fx.corpus.chrf) > 1e-3);
});

test('several references: the statistics of the best one, the first on ties (sacrebleu sentence_score(hyp, refs))', () => {
  for (const m of fx.multi_ref) {
    close(chrfSentence(m.hyp, m.refs), m.chrf, `${m.id} chrf`);
    close(chrfSentence(m.hyp, m.refs, CHRF_PLUS_PLUS), m.chrfpp, `${m.id} chrfpp`);
  }
});

test('no normalisation, code points not UTF-16 units: NFC ≠ NFD, an astral character is one character', () => {
  const nfc = 'tâṯî';
  assert.equal(chrfSentence(nfc, nfc), 100);
  assert.ok(chrfSentence(nfc, nfc.normalize('NFD')) < 100);
  // "𝒜" is one code point (two UTF-16 units): 1-gram statistics count it once
  const s = chrfSegmentStats('𝒜', '𝒜');
  assert.deepEqual(s.slice(0, 3), [1, 1, 1]);
  assert.deepEqual(s.slice(3, 6), [0, 0, 0]); // no 2-grams in one character
});

test("chrF++ words: str.split() tokens, one string.punctuation mark split off the end, else the start", () => {
  assert.deepEqual(chrfWords('(hi) "so" on. a'), ['(hi', ')', '"so', '"', 'on', '.', 'a']);
  assert.deepEqual(chrfWords('!x ẖû,'), ['!', 'x', 'ẖû', ',']);
  assert.deepEqual(chrfWords('a\x85b\ufeffc'), ['a', 'b\ufeffc']); // U+0085 is Python whitespace, U+FEFF is not
});

test('edge cases: empty reference zeroes the hypothesis counts; empty corpus and wrong statistics are errors', () => {
  assert.deepEqual(chrfSegmentStats('ab', '').slice(0, 3), [0, 0, 0]);
  assert.equal(chrfSentence('', ''), 0);
  assert.throws(() => chrfCorpus([], []), RewardInputError);
  assert.throws(() => chrfCorpus(['a'], []), RewardInputError);
  assert.throws(() => chrfFromStats([1, 2, 3]), RewardInputError);
  assert.throws(() => chrfReward({ output: 'a' }), RewardInputError);
  assert.equal(chrfReward({ output: 'the cat', reference: 'the cat' }), 100);
  assert.equal(chrfPlusPlusReward({ output: 'the cat', reference: 'the cat' }), 100);
});
