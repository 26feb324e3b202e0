// report-diff.ts on synthetic report pairs (2 layers × 3 heads, two statistics) with known answers:
// identical reports change nothing; one crafted head's d (and one head's ablation effect) ranks first
// with the right sign, flags and line; ±∞ and missing rows; incomparable reports are refused with every
// difference named; the diff is the same from report.json text as from the data, and diff.json round-trips.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReportData } from './report-data.ts';
import { reportFromJson, reportToJson } from './report-data.ts';
import { diffFromJson, diffReports, diffToJson, formatDiff, IncomparableReportsError } from './report-diff.ts';

import { L, H, rows, sample } from './report-sample.testlib.ts';

const clone = (d: ReportData): ReportData => structuredClone(d);
const row = (d: ReportData, stat: string, layer: number, head: number) => d.selectivity[stat].find((r) => r.layer === layer && r.head === head)!;

test('identical reports: every Δ is 0, nothing is flagged or ranked', () => {
  const before = sample(), after = clone(before);
  after.adapter = { name: 'sft-run' };
  after.createdAt = '2026-12-21T08:00:00.000Z';
  const d = diffReports(before, after);
  assert.equal(d.selectivity.length, 2 * L * H);
  assert.equal(d.causal.length, 2 * L * H);
  assert.ok(d.selectivity.every((s) => s.deltaD === 0 && s.ciDisjoint === false && s.significantBefore === s.significantAfter));
  assert.ok(d.causal.every((c) => c.delta === 0 && c.ciDisjoint === false));
  assert.deepEqual(d.summary, { selectivity: { pairs: 12, changed: 0, becameSignificant: 0, lostSignificance: 0, ciDisjoint: 0 }, causal: { pairs: 12, changed: 0, ciDisjoint: 0 } });
  assert.deepEqual(d.top, { selectivity: [], causal: [] });
  assert.equal(d.before.adapter, null);
  assert.equal(d.after.adapter, 'sft-run');
  assert.deepEqual(d.stats, ['entropyNorm', 'resid:entropy']);
  assert.match(formatDiff(d), /top 0 by \|Δd\|:\n {2}\(none\)/);
});

test('one head loses its selectivity: ranked first, negative Δd, significance lost, CIs disjoint, the line says so', () => {
  const before = sample();
  Object.assign(row(before, 'entropyNorm', 1, 2), { d: 1.2, ciLow: 0.6, ciHigh: 1.8, p: 0.0002, q: 0.001 });
  const after = clone(before);
  Object.assign(row(after, 'entropyNorm', 1, 2), { d: 0.1, ciLow: -0.4, ciHigh: 0.55, p: 0.5, q: 0.6 });
  const r2 = row(after, 'resid:entropy', 0, 0);
  Object.assign(r2, { d: r2.d + 0.3, ciLow: r2.ciLow + 0.3, ciHigh: r2.ciHigh + 0.3 }); // a smaller change, CIs overlap
  const e = after.ablation.b.find((x) => x.layer === 0 && x.head === 1)!;
  Object.assign(e, { mean: 0.5, ci: [0.3, 0.7] }); // helped Velmic's answer (−0.1 [−0.15, −0.05]), now hurts it
  const d = diffReports(before, after, { top: 5 });
  const [first, second] = d.top.selectivity;
  assert.equal(d.top.selectivity.length, 2);
  assert.deepEqual([first.stat, first.layer, first.head], ['entropyNorm', 1, 2]);
  assert.ok(Math.abs(first.deltaD - -1.1) < 1e-12 && first.deltaD < 0);
  assert.deepEqual([first.significantBefore, first.significantAfter, first.ciDisjoint, first.controlled], [true, false, true, false]);
  assert.equal(first.line, 'L1H2 entropyNorm: arithmetic-selective (d 1.2, q 0.001) → not selective (d 0.1, q 0.6); Δd −1.1, CIs disjoint');
  assert.deepEqual([second.stat, second.layer, second.head, second.controlled, second.ciDisjoint], ['resid:entropy', 0, 0, true, false]);
  assert.ok(Math.abs(second.deltaD - 0.3) < 1e-12);
  assert.match(second.line, /^L0H0 resid:entropy: not selective \(d [^)]+\) → not selective \(d [^)]+\); Δd \+0\.3$/);
  assert.deepEqual(d.summary.selectivity, { pairs: 12, changed: 2, becameSignificant: 0, lostSignificance: 1, ciDisjoint: 1 });
  // the causal change: one head, one task
  assert.equal(d.top.causal.length, 1);
  const c = d.top.causal[0];
  assert.deepEqual([c.task, c.label, c.layer, c.head, c.ciDisjoint], ['b', 'Velmic', 0, 1, true]);
  assert.ok(Math.abs(c.delta - 0.6) < 1e-12);
  assert.equal(c.line, 'L0H1 ablation on Velmic: helps the answer (−0.1 [−0.15, −0.05]) → hurts the answer (0.5 [0.3, 0.7]); Δ +0.6, CIs disjoint');
  // the reverse comparison: the head becomes B-selective → A-selective reads the other way, Δ flips sign
  const back = diffReports(after, before);
  assert.ok(back.top.selectivity[0].deltaD > 0 && back.top.selectivity[0].line.startsWith('L1H2 entropyNorm: not selective (d 0.1, q 0.6) → arithmetic-selective'));
  assert.equal(back.summary.selectivity.becameSignificant, 1);
  const neg = clone(after);
  Object.assign(row(neg, 'entropyNorm', 1, 2), { d: -2, ciLow: -2.6, ciHigh: -1.4, q: 0.0001 });
  assert.match(diffReports(before, neg).top.selectivity[0].line, /^L1H2 entropyNorm: arithmetic-selective \(d 1\.2, q 0\.001\) → Velmic-selective \(d −2, q <0\.001\); Δd −3\.2, CIs disjoint$/);
  assert.match(formatDiff(d), /1\. L1H2 entropyNorm: arithmetic-selective/);
});

test('±∞ on both sides is no change; ∞ → finite ranks first; a missing row is NaN, unranked, "no data"', () => {
  const before = sample();
  Object.assign(row(before, 'entropyNorm', 0, 0), { d: Infinity, ciLow: Infinity, ciHigh: Infinity });
  Object.assign(row(before, 'entropyNorm', 0, 1), { d: -Infinity, ciLow: -Infinity, ciHigh: -Infinity });
  const after = clone(before);
  Object.assign(row(after, 'entropyNorm', 0, 1), { d: 2, ciLow: 1, ciHigh: 3 });
  Object.assign(row(after, 'resid:entropy', 1, 1), { d: row(after, 'resid:entropy', 1, 1).d + 5 });
  after.selectivity['resid:entropy'] = after.selectivity['resid:entropy'].filter((r) => !(r.layer === 0 && r.head === 2));
  const d = diffReports(before, after);
  const at = (stat: string, l: number, h: number) => d.selectivity.find((s) => s.stat === stat && s.layer === l && s.head === h)!;
  assert.equal(at('entropyNorm', 0, 0).deltaD, 0);
  assert.equal(d.top.selectivity[0].deltaD, Infinity);
  assert.deepEqual([d.top.selectivity[0].layer, d.top.selectivity[0].head], [0, 1]);
  assert.ok(Math.abs(d.top.selectivity[1].deltaD - 5) < 1e-12);
  const gone = at('resid:entropy', 0, 2);
  assert.ok(Number.isNaN(gone.deltaD) && gone.after === null && gone.ciDisjoint === null);
  assert.match(gone.line, / → no data$/);
  assert.equal(d.top.selectivity.length, 2, 'the NaN is not ranked');
  // no bootstrap (nBoot 0): CIs are points, so disjointness is not reported
  const nb = clone(before), na = clone(after);
  nb.reproduce.nBoot = na.reproduce.nBoot = 0;
  assert.ok(diffReports(nb, na).selectivity.every((s) => s.ciDisjoint === null));
});

test('incomparable reports are refused with every difference named', () => {
  const before = sample();
  const other = clone(before);
  other.model.layers = 3;
  other.tasks.a.sha256 = 'ee'.repeat(32);
  other.reproduce.seed = 8;
  other.selectivity.sink = rows(3);
  assert.throws(() => diffReports(before, other, { names: ['base/report.json', 'sft/report.json'] }), (e: Error) => {
    assert.ok(e instanceof IncomparableReportsError);
    for (const s of ['base/report.json and sft/report.json are not comparable', 'architecture "2 layers × 3 heads', '3 layers × 3 heads', 'task A file sha256', 'seed 7 vs 8', 'statistics ["entropyNorm","resid:entropy"] vs ["entropyNorm","resid:entropy","sink"]', '--adapter']) assert.ok(e.message.includes(s), `${s} in: ${e.message}`);
    assert.ok(!e.message.includes('task B'), 'only what differs');
    return true;
  });
  for (const [edit, re] of [
    [(d: ReportData) => { d.tasks.b.n = 5; }, /task B rows used "8 of 20" vs "5 of 20"/],
    [(d: ReportData) => { d.tasks.b.label = 'conlang'; }, /task B label "Velmic" vs "conlang"/],
    [(d: ReportData) => { d.reproduce.ablation = 'mean'; }, /ablation "zero" vs "mean"/],
    [(d: ReportData) => { d.reproduce.nPerm = 50; }, /nPerm 500 vs 50/],
    [(d: ReportData) => { d.tasks.a.examples = ['another prompt']; }, /task A example prompts/],
    [(d: ReportData) => { d.model.name = 'checkpoint-100'; }, /model "tiny-llama-2x3" vs "checkpoint-100"/],
  ] as const) {
    const x = clone(before);
    edit(x);
    assert.throws(() => diffReports(before, x), re);
  }
  // a full fine-tune's checkpoint folder: another name, the same architecture
  const ckpt = clone(before);
  ckpt.model.name = 'checkpoint-100';
  assert.equal(diffReports(before, ckpt, { allowDifferentModel: true }).after.modelName, 'checkpoint-100');
  // not a report at all
  assert.throws(() => diffReports(before, { ...before, schema: 'v0' as never }, { names: ['a.json', 'b.json'] }), /b\.json: expected schema lab-analysis-report-v1, got "v0"/);
  assert.throws(() => diffReports({ schema: 'lab-analysis-report-v1' } as ReportData, before), /before: the report lacks model, reproduce, tasks, selectivity, ablation/);
});

test('report.json round trip: the diff from the JSON text equals the diff from the data; diff.json round-trips ±∞ and NaN', () => {
  const before = sample();
  Object.assign(row(before, 'entropyNorm', 0, 0), { d: Infinity, ciLow: 2, ciHigh: Infinity });
  before.ablation.a[0] = { ...before.ablation.a[0], mean: NaN, ci: [NaN, NaN], n: 0 };
  const after = clone(before);
  Object.assign(row(after, 'entropyNorm', 0, 0), { d: 1.5, ciLow: 0.5, ciHigh: 2.5 });
  after.selectivity.entropyNorm.pop();
  const direct = diffReports(before, after);
  const viaJson = diffReports(reportFromJson(reportToJson(before)), reportFromJson(reportToJson(after)));
  assert.deepEqual(viaJson, direct);
  assert.equal(direct.top.selectivity[0].deltaD, -Infinity);
  const text = diffToJson(direct);
  assert.ok(text.includes('"$num": "-Infinity"') && text.includes('"$num": "NaN"'), 'non-finite numbers are tagged, not null');
  assert.deepEqual(diffFromJson(text), direct);
});
