// selectivity.ts: Cohen's d, BH / Holm and quantiles against numpy (models/fixtures/analysis/head-stats.json),
// the Monte Carlo permutation p against the exact enumeration, hand-computed adjustments, and the
// statistical behaviour on synthetic data with known answers (null heads, a d = 2 shift, CI coverage).
// Everything is seeded, so each check gives the same result on every run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { assertAllClose } from '../util/allclose.ts';
import { Rng } from '../util/rng.ts';
import { cohensD, bhAdjust, holmAdjust, quantileSorted, permutationP, bootstrapCI, selectivity, rankSelectivity, formatSelectivityTable, type SelectivityCell } from './selectivity.ts';

const fx = JSON.parse(readFileSync(new URL('../../../models/fixtures/analysis/head-stats.json', import.meta.url), 'utf8')).selectivity;
const TOL = { atol: 1e-12, rtol: 1e-10 };

/** n draws of N(mean, 1). */
const normal = (rng: Rng, n: number, mean = 0): Float64Array => Float64Array.from(rng.normal(n), (x) => x + mean);

test('Cohen\'s d with the pooled unbiased SD equals numpy', () => {
  for (const c of fx.cohen) {
    const g = cohensD(c.a, c.b);
    assertAllClose([g.d, g.meanA, g.meanB, g.sdPooled], [c.d, c.meanA, c.meanB, c.sdPooled], TOL, 'cohen');
  }
});

test('BH q-values and Holm p-values: a hand-computed example and the numpy (statsmodels formulas, scipy-checked) values', () => {
  // sorted p .005 .01 .03 .04, m = 4. BH: .02 .02 .04 .04; Holm: 4·.005 = .02, 3·.01 = .03, 2·.03 = .06, max(.06, .04) = .06
  const p = [0.01, 0.04, 0.03, 0.005];
  assertAllClose(bhAdjust(p), [0.02, 0.04, 0.04, 0.02], TOL, 'BH by hand');
  assertAllClose(holmAdjust(p), [0.03, 0.06, 0.06, 0.02], TOL, 'Holm by hand');
  for (const c of fx.adjust) {
    assertAllClose(bhAdjust(c.p), c.bh, TOL, 'BH');
    assertAllClose(holmAdjust(c.p), c.holm, TOL, 'Holm');
  }
  assert.deepEqual([bhAdjust([]), holmAdjust([])], [[], []]);
});

test('quantiles interpolate linearly as numpy.quantile does', () => {
  for (const c of fx.quantile) assertAllClose([quantileSorted(c.x, c.p)], [c.value], TOL, `quantile n=${c.x.length} p=${c.p}`);
});

test('the Monte Carlo permutation p approaches the exact p from full enumeration', () => {
  fx.exactPerm.forEach((c: { a: number[]; b: number[]; p: number }, i: number) => {
    const p = permutationP(c.a, c.b, 20000, new Rng(100 + i));
    assert.ok(Math.abs(p - c.p) < 0.012, `case ${i}: permutation p ${p}, exact ${c.p}`);
  });
  // complete separation of 4 vs 4 is the most extreme of C(8,4) = 70 splits, two-sided: p = 2/70
  assert.ok(Math.abs(permutationP([1, 2, 3, 4], [5, 6, 7, 8], 20000, new Rng(7)) - 2 / 70) < 0.006);
});

test('null heads: p-values roughly uniform (share below 0.05 in [0.01, 0.10]) and BH rejects almost none', () => {
  const rng = new Rng(2024);
  const cells: SelectivityCell[] = Array.from({ length: 200 }, (_, i) => ({ layer: Math.floor(i / 8), head: i % 8, a: normal(rng, 30), b: normal(rng, 30) }));
  const rows = selectivity(cells, { nPerm: 1000, nBoot: 200, seed: 1 });
  const share = (f: (p: number) => boolean) => rows.filter((r) => f(r.p)).length / rows.length;
  const below05 = share((p) => p < 0.05), below50 = share((p) => p < 0.5);
  assert.ok(below05 >= 0.01 && below05 <= 0.1, `share p < 0.05: ${below05}`);
  assert.ok(below50 >= 0.4 && below50 <= 0.6, `share p < 0.5: ${below50}`);
  assert.ok(rows.filter((r) => r.q < 0.05).length <= 2, 'BH rejections among 200 null heads');
  assert.ok(rows.filter((r) => r.pHolm < 0.05).length <= 1, 'Holm rejections among 200 null heads');
  const covered = rows.filter((r) => r.ciLow <= 0 && 0 <= r.ciHigh).length / rows.length;
  assert.ok(covered >= 0.88, `95% CIs covering d = 0: ${covered}`);
});

test('a clear shift (d = 2, n = 100 per task) among 23 null heads: CI excludes 0, p < 0.001, q < 0.05, ranked first', () => {
  const rng = new Rng(99);
  const cells: SelectivityCell[] = [];
  for (let l = 0; l < 6; l++) for (let h = 0; h < 4; h++) cells.push({ layer: l, head: h, a: normal(rng, 100, l === 3 && h === 1 ? 2 : 0), b: normal(rng, 100) });
  const rows = selectivity(cells); // defaults: B = 2000, 5000 permutations, seed 0
  const r = rows.find((x) => x.layer === 3 && x.head === 1)!;
  assert.ok(r.ciLow > 0, `CI [${r.ciLow}, ${r.ciHigh}]`);
  assert.ok(r.ciLow < 2 && 2 < r.ciHigh, `CI [${r.ciLow}, ${r.ciHigh}] covers the true d = 2 (d̂ = ${r.d})`);
  assert.ok(r.p < 0.001 && r.q < 0.05 && r.pHolm < 0.05, `p ${r.p} q ${r.q} holm ${r.pHolm}`);
  assert.equal(r.p, 1 / 5001, 'no relabeling reaches d = 2: the smallest p (1 + 0) / (1 + 5000)');
  const ranked = rankSelectivity(rows);
  assert.deepEqual([ranked[0].layer, ranked[0].head, ranked[0].rank, ranked[0].significant], [3, 1, 1, true]);
  assert.ok(ranked.every((x, i) => i === 0 || Math.abs(x.d) <= Math.abs(ranked[i - 1].d)));
  assert.match(formatSelectivityTable(ranked, 'sink'), /^rank .*d\(sink\)[\s\S]*\n {3}1  3\.1 .*\*/);
});

test('bootstrap CIs of known normal samples cover the true d about 95% of the time', () => {
  const rng = new Rng(5), trueD = 0.8;
  let covered = 0;
  const R = 100;
  for (let i = 0; i < R; i++) {
    const [lo, hi] = bootstrapCI(normal(rng, 50, trueD), normal(rng, 50), 2000, 0.95, new Rng(1000 + i));
    if (lo <= trueD && trueD <= hi) covered++;
  }
  assert.ok(covered >= 85 && covered <= 99, `coverage ${covered}/${R}`);
  // one large sample: the CI covers the truth and is narrow
  const [lo, hi] = bootstrapCI(normal(rng, 400, trueD), normal(rng, 400), 2000, 0.95, new Rng(3));
  assert.ok(lo < trueD && trueD < hi && hi - lo < 0.4, `[${lo}, ${hi}]`);
});

test('deterministic for a seed; a cell\'s result does not depend on the other cells or their order', () => {
  const rng = new Rng(8);
  const cells: SelectivityCell[] = [0, 1, 2].map((h) => ({ layer: 0, head: h, a: normal(rng, 20, 0.3 * h), b: normal(rng, 25) }));
  const opts = { nBoot: 300, nPerm: 500, seed: 42 };
  const one = selectivity(cells, opts), two = selectivity(cells, opts);
  assert.deepEqual(one, two);
  const alone = selectivity([cells[2]], opts)[0], reversed = selectivity([...cells].reverse(), opts)[0];
  for (const x of [alone, reversed]) assert.deepEqual([x.d, x.ciLow, x.ciHigh, x.p], [one[2].d, one[2].ciLow, one[2].ciHigh, one[2].p]);
  const other = selectivity(cells, { ...opts, seed: 43 });
  assert.notDeepEqual(other.map((r) => r.ciLow), one.map((r) => r.ciLow));
});

test('edge cases: constant tasks give d = 0 or ±Infinity (never NaN); fewer than 2 prompts or a NaN value throws', () => {
  assert.equal(cohensD([1, 1, 1], [1, 1]).d, 0);
  assert.equal(cohensD([2, 2, 2], [1, 1]).d, Infinity);
  const [r] = selectivity([{ layer: 0, head: 0, a: [2, 2, 2], b: [1, 1] }], { nBoot: 50, nPerm: 200 });
  assert.equal(r.d, Infinity);
  assert.ok(!Number.isNaN(r.ciLow) && !Number.isNaN(r.ciHigh) && r.p > 0 && r.p <= 1);
  const [same] = selectivity([{ layer: 0, head: 0, a: [1, 1, 1], b: [1, 1] }], { nBoot: 50, nPerm: 200 });
  assert.deepEqual([same.d, same.p, same.q], [0, 1, 1]);
  assert.throws(() => cohensD([1], [1, 2]), /at least 2 prompts/);
  assert.throws(() => cohensD([1, NaN], [1, 2]), /task A value 1 is NaN/);
  const [skip] = selectivity([{ layer: 0, head: 0, a: [1, 2, 3], b: [2, 3, 4] }], { nBoot: 0, nPerm: 0 });
  assert.deepEqual([skip.ciLow, skip.ciHigh, skip.p], [skip.d, skip.d, 1]);
});
