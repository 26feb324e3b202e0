import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scoreSet } from './metrics.ts';
import { chrfCorpus, chrfSentence, CHRF_PLUS_PLUS } from './chrf.ts';
import { exactReward } from './exact.ts';

const samples = [
  { output: 'so #### 4', reference: '2+2 #### 4' },
  { output: '#### 5', reference: '#### 6' },
  { output: '#### 7', reference: '#### 7' },
  { output: 'no answer', reference: '#### 1' },
];

test('mean metrics: the share correct, each item\'s reward, a bootstrap interval around it, reproducible by seed', () => {
  const r = scoreSet('exact', samples, { seed: 3 });
  assert.equal(r.score, 0.5);
  assert.deepEqual(r.sentence, samples.map((s) => exactReward(s)));
  assert.ok(r.ci95[0] <= 0.5 && r.ci95[1] >= 0.5 && r.ci95[0] >= 0 && r.ci95[1] <= 1 && r.ci95[0] < r.ci95[1], `${r.ci95}`);
  assert.deepEqual(scoreSet('exact', samples, { seed: 3 }).ci95, r.ci95);
  assert.equal(scoreSet('gsm8k', samples).score, 0.5);
  // all equal: the interval collapses onto the score
  assert.deepEqual(scoreSet('exact', [samples[0], samples[2]]).ci95, [1, 1]);
});

test('chrF and chrF++: the corpus score (sacrebleu corpus_score, as lab score), sentence scores, the CI of the corpus score; Stoney orthography', () => {
  const tr = [
    { output: 'oqâṯẖix thkan', reference: 'oqâṯẖîxthkan' },
    { output: 'îzârqe zîtqô', reference: 'îzârqe zîtqô' },
    { output: 'znîx zaqâ', reference: 'zînîx zaqâ' },
  ];
  for (const [m, o] of [['chrf', {}], ['chrf++', CHRF_PLUS_PLUS]] as const) {
    const r = scoreSet(m, tr, { seed: 1 });
    assert.ok(Math.abs(r.score - chrfCorpus(tr.map((s) => s.output), tr.map((s) => s.reference), o)) < 1e-12, m);
    tr.forEach((s, i) => assert.ok(Math.abs(r.sentence[i] - chrfSentence(s.output, s.reference, o)) < 1e-12));
    assert.ok(r.ci95[0] <= r.score && r.score <= r.ci95[1] && r.ci95[1] <= 100, `${m} ${r.ci95} around ${r.score}`);
  }
});

test('an empty set or a sample without a reference is an error that says so', () => {
  assert.throws(() => scoreSet('chrf', []), /empty set/);
  assert.throws(() => scoreSet('chrf', [{ output: 'a' }]), /sample 0 has no reference/);
  assert.throws(() => scoreSet('exact', [{ output: 'a' }]), /no reference/);
});
