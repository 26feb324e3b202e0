// head-stats.ts against float64 numpy references (models/fixtures/analysis/head-stats.json, made by
// tools/golden/make_head_stats_fixtures.py from the formulas) and known-answer patterns. Pure TS, no GPU.
// Tolerance: both sides are float64 sums of the same float32-representable inputs, so only summation order
// differs (atol 1e-12, rtol 1e-9); the numpy fit uses polyfit (a least-squares solve), hence rtol 1e-9 too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { assertAllClose } from '../util/allclose.ts';
import { computeHeadStats, queryTables, fitLogPosition, residualMean, summarizeTable, flattenPattern, inductionKeys, statNames, type HeadStatSummary } from './head-stats.ts';

const TOL = { atol: 1e-12, rtol: 1e-9 };
const fixture = JSON.parse(readFileSync(new URL('../../../models/fixtures/analysis/head-stats.json', import.meta.url), 'utf8'));

type Means = Record<string, number | null>;
/** Same keys, null exactly where the reference has null, numbers within TOL. */
function sameMeans(got: Means, want: Means, where: string): void {
  assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort(), where);
  for (const k of Object.keys(want)) {
    if (want[k] === null) assert.equal(got[k], null, `${where} ${k}`);
    else assertAllClose([got[k] as number], [want[k] as number], TOL, `${where} ${k}`);
  }
}

/** Builds a causal [H=1, T, T] pattern from a row function (row q → weights over keys 0..q). */
function pattern1(T: number, row: (q: number) => number[]): Float64Array {
  const p = new Float64Array(T * T);
  for (let q = 0; q < T; q++) row(q).forEach((x, k) => { p[q * T + k] = x; });
  return p;
}
const oneHot = (q: number, k: number) => Array.from({ length: q + 1 }, (_, j) => (j === k ? 1 : 0));

test('every statistic, bin and within-prompt fit equals the numpy reference (float32 and float64 inputs)', () => {
  for (const c of fixture.cases) {
    for (const data of [Float32Array.from(c.pattern), Float64Array.from(c.pattern)]) {
      const got = computeHeadStats(data, { H: c.H, T: c.T, S: c.S }, { ids: c.ids, classes: c.classes, queries: c.queries ?? undefined, bins: c.bins });
      assert.equal(got.length, c.H);
      got.forEach((g: HeadStatSummary, h: number) => {
        const w = c.heads[h], where = `${c.name} head ${h} (${data.constructor.name})`;
        assert.equal(g.nQueries, w.nQueries, where);
        assert.equal(g.nInduction, w.nInduction, where);
        sameMeans(g.mean, w.mean, `${where} mean`);
        assert.equal(g.bins.length, c.bins);
        g.bins.forEach((b, i) => {
          assert.equal(b.nQueries, w.bins[i].nQueries, `${where} bin ${i}`);
          assert.equal(b.nInduction, w.bins[i].nInduction, `${where} bin ${i}`);
          sameMeans(b.mean, w.bins[i].mean, `${where} bin ${i}`);
        });
        for (const s of Object.keys(w.fit)) {
          assert.equal(g.fit[s].n, w.fit[s].n, `${where} fit ${s}`);
          assertAllClose([g.fit[s].intercept, g.fit[s].slope], [w.fit[s].intercept, w.fit[s].slope], TOL, `${where} fit ${s}`);
        }
      });
    }
  }
});

test('pooled log-position fit and residual means equal the numpy reference', () => {
  const tables = fixture.pooled.cases.map((i: number) => {
    const c = fixture.cases[i];
    return queryTables(Float64Array.from(c.pattern), { H: c.H, T: c.T, S: c.S }, { ids: c.ids, classes: c.classes, queries: c.queries ?? undefined })[0];
  });
  for (const [stat, want] of Object.entries(fixture.pooled.fit) as [string, { n: number; intercept: number; slope: number }][]) {
    const f = fitLogPosition(tables, stat);
    assert.equal(f.n, want.n, stat);
    assertAllClose([f.intercept, f.slope], [want.intercept, want.slope], TOL, `pooled fit ${stat}`);
    const res = tables.map((t: Parameters<typeof residualMean>[0]) => residualMean(t, stat, f));
    assertAllClose(res, fixture.pooled.residual[stat], TOL, `residual ${stat}`);
    // the same residuals come out of summarizeTable with positionFit
    const viaSummary = tables.map((t: Parameters<typeof summarizeTable>[0]) => summarizeTable(t, { positionFit: { [stat]: f } }).residual![stat]);
    assert.deepEqual(viaSummary, res);
  }
});

test('previous-token head: previous-token mass 1, distance 1, relative distance mean(1/q), sink only at q = 1', () => {
  const T = 10;
  const [s] = computeHeadStats(pattern1(T, (q) => oneHot(q, Math.max(0, q - 1))), { H: 1, T });
  assert.equal(s.nQueries, T - 1);
  assert.equal(s.mean.prevToken, 1);
  assert.equal(s.mean.distance, 1);
  assertAllClose([s.mean.relDistance!], [[...Array(T - 1)].reduce((a, _, i) => a + 1 / (i + 1), 0) / (T - 1)], TOL);
  assertAllClose([s.mean.sink!, s.mean.entropy!, s.mean.maxProb!, s.mean.selfMass!], [1 / (T - 1), 0, 1, 0], TOL);
  assert.equal(s.mean.induction, null, 'no ids: induction undefined, not NaN');
  assert.equal(s.nInduction, 0);
  for (const b of s.bins) if (b.nQueries) assert.equal(b.mean.distance, 1);
});

test('uniform attention: entropy ln(q+1) per query, normalised entropy 1, fit slope 1 on ln(q+1)', () => {
  const T = 20;
  const [t] = queryTables(pattern1(T, (q) => Array(q + 1).fill(1 / (q + 1))), { H: 1, T });
  assertAllClose(t.cols.entropy, Array.from(t.q, (q) => Math.log(q + 1)), { atol: 1e-12, rtol: 1e-12 }, 'entropy');
  assertAllClose(t.cols.entropyNorm, Array(T - 1).fill(1), { atol: 1e-12, rtol: 0 }, 'entropyNorm');
  assertAllClose(t.cols.distance, Array.from(t.q, (q) => q / 2), TOL, 'distance = q/2');
  const f = fitLogPosition([t], 'entropy');
  assertAllClose([f.intercept, f.slope], [0, 1], { atol: 1e-12, rtol: 0 });
  // another uniform prompt of a different length has residual mean 0 against this fit; a sharper one is below it
  const [u] = queryTables(pattern1(7, (q) => Array(q + 1).fill(1 / (q + 1))), { H: 1, T: 7 });
  assertAllClose([residualMean(u, 'entropy', f)!], [0], { atol: 1e-12, rtol: 0 });
  const [sharp] = queryTables(pattern1(7, (q) => oneHot(q, q)), { H: 1, T: 7 });
  assert.ok(residualMean(sharp, 'entropy', f)! < -1);
  assert.equal(residualMean(u, 'entropy', { n: 0, intercept: 0, slope: 0 }), null);
});

test('induction head on a repeated random sequence [r, r] scores 1 (TransformerLens setting); first-half queries are skipped', () => {
  const L = 8, T = 2 * L;
  const r = [11, 3, 7, 42, 5, 19, 23, 2];
  const ids = [...r, ...r];
  // the token after the previous copy (key q − L + 1) in the second half; first half: attend to key 0
  const p = pattern1(T, (q) => oneHot(q, q >= L ? q - L + 1 : 0));
  const [s] = computeHeadStats(p, { H: 1, T }, { ids });
  assert.equal(s.nInduction, L);
  assert.equal(s.mean.induction, 1);
  // a previous-token head scores 0 there; a query set without copies gives null
  const [prev] = computeHeadStats(pattern1(T, (q) => oneHot(q, Math.max(0, q - 1))), { H: 1, T }, { ids });
  assert.equal(prev.mean.induction, 0);
  const [none] = computeHeadStats(p, { H: 1, T }, { ids, queries: [1, 2, 3] });
  assert.equal(none.mean.induction, null);
  assert.equal(none.nInduction, 0);
  // several earlier copies: K(q) holds the token after each, each key once (a repeated token counts its own position)
  assert.deepEqual(inductionKeys([5, 1, 5, 5]), [[], [], [1], [1, 3]]);
});

test('target masses: Σ p over key classes; a sink head puts all mass on the class holding key 0', () => {
  const T = 6;
  const classes = { first: [1, 0, 0, 0, 0, 0], odd: [0, 1, 0, 1, 0, 1], none: [0, 0, 0, 0, 0, 0] };
  const [s] = computeHeadStats(pattern1(T, (q) => oneHot(q, 0)), { H: 1, T }, { classes });
  assert.deepEqual([s.mean['mass:first'], s.mean['mass:odd'], s.mean['mass:none'], s.mean.sink], [1, 0, 0, 1]);
  const [u] = computeHeadStats(pattern1(T, (q) => Array(q + 1).fill(1 / (q + 1))), { H: 1, T }, { classes, queries: [5] });
  assertAllClose([u.mean['mass:odd']!], [3 / 6], TOL);
  assert.deepEqual(statNames(Object.keys(classes)).slice(-3), ['mass:first', 'mass:odd', 'mass:none']);
});

test('relative-position bins: a sink head\'s distance is q, binned by q/T', () => {
  const T = 10;
  const [s] = computeHeadStats(pattern1(T, (q) => oneHot(q, 0)), { H: 1, T }, { bins: 5 });
  // bins of q/T: [0,.2) → q=1; [.2,.4) → 2,3; [.4,.6) → 4,5; [.6,.8) → 6,7; [.8,1) → 8,9
  assert.deepEqual(s.bins.map((b) => b.nQueries), [1, 2, 2, 2, 2]);
  assert.deepEqual(s.bins.map((b) => b.mean.distance), [1, 2.5, 4.5, 6.5, 8.5]);
  assert.deepEqual(s.bins.map((b) => b.mean.relDistance), [1, 1, 1, 1, 1]);
});

test('reads one prompt of a captured [B, H, T, S] Float32Array; ignores keys above the diagonal and padding', () => {
  const B = 2, H = 2, T = 5, S = 7;
  const cap = new Float32Array(B * H * T * S).fill(0.25); // junk everywhere
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let q = 0; q < T; q++) {
    const base = ((b * H + h) * T + q) * S;
    for (let k = 0; k <= q; k++) cap[base + k] = k === q ? 1 : 0; // self-attention head
  }
  const one = cap.subarray(1 * H * T * S, 2 * H * T * S); // prompt b = 1: [H, T, S]
  const s = computeHeadStats(one, { H, T, S });
  for (const h of s) assert.deepEqual([h.mean.selfMass, h.mean.distance, h.mean.entropy, h.mean.prevToken], [1, 0, 0, 0]);
});

test('nested [head][query][key] patterns (inspect.ts) flatten to the same statistics', () => {
  const c = fixture.cases[0];
  const nested = Array.from({ length: c.H }, (_, h) => Array.from({ length: c.T }, (_, q) => c.pattern.slice((h * c.T + q) * c.S, (h * c.T + q) * c.S + c.T)));
  const { data, layout } = flattenPattern(nested);
  const a = computeHeadStats(data, layout, { ids: c.ids });
  const b = computeHeadStats(Float64Array.from(c.pattern), { H: c.H, T: c.T, S: c.S }, { ids: c.ids });
  assert.deepEqual(a, b);
});

test('bad input fails loudly: NaN in a visible entry, query outside 0..T−1, mask or ids of the wrong length; q = 0 is dropped', () => {
  const T = 4, p = pattern1(T, (q) => oneHot(q, 0));
  const bad = Float64Array.from(p);
  bad[2 * T + 1] = NaN;
  assert.throws(() => computeHeadStats(bad, { H: 1, T }), /pattern\[0\]\[2\]\[1\] = NaN/);
  bad[2 * T + 1] = 0;
  bad[1 * T + 3] = NaN; // above the diagonal: never read
  assert.doesNotThrow(() => computeHeadStats(bad, { H: 1, T }));
  assert.throws(() => computeHeadStats(p, { H: 1, T }, { queries: [4] }), /outside 0\.\.3/);
  assert.throws(() => computeHeadStats(p, { H: 1, T }, { ids: [1, 2] }), /2 ids for T=4/);
  assert.throws(() => computeHeadStats(p, { H: 1, T }, { classes: { x: [1] } }), /class "x"/);
  assert.throws(() => computeHeadStats(p, { H: 2, T }), /needs 32/);
  assert.deepEqual(computeHeadStats(p, { H: 1, T }, { queries: [0, 2, 2] })[0].nQueries, 1);
  const [t1] = computeHeadStats(new Float64Array([1]), { H: 1, T: 1 });
  assert.equal(t1.nQueries, 0);
  assert.equal(t1.mean.entropy, null);
});
