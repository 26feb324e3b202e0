// The Analyze page's before/after, its pure parts (./diff.ts), on synthetic reports of 2 layers × 2 heads:
// a report against itself is "the same" with nothing changed; one changed head is ranked first and drawn
// in the Δd panel with its line as the hover text; reports of another n are refused with the difference
// named and without the CLI's advice; another model folder is refused unless allowed; the ablation map
// has a panel per task.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReportData } from '../../engine/api.ts';
import { esc } from '../../engine/analysis/report-figures.ts';
import { ablationDiffFigure, compareReports, DELTA_D_MIN_RANGE, pageMessage, selectivityDiffFigures, topStat } from './diff.ts';

const L = 2, H = 2;
const heads = Array.from({ length: L * H }, (_, i) => ({ layer: Math.floor(i / H), head: i % H }));
const rows = (k: number) => heads.map((h, i) => {
  const d = 0.1 * (i + k);
  return { ...h, nA: 3, nB: 3, meanA: 0.5, meanB: 0.4, sdPooled: 0.1, d, ciLow: d - 0.4, ciHigh: d + 0.4, p: 0.4, q: 0.6, pHolm: 1 };
});
const sample = (): ReportData => ({
  schema: 'lab-analysis-report-v1',
  createdAt: '2026-12-05T08:00:00.000Z',
  reproduce: { command: 'the lab page', seed: 0, nBoot: 50, nPerm: 50, queries: 'answer', ablation: 'zero', labCommit: null },
  model: { name: 'lab-micro', layers: L, heads: H, dModel: 48, vocab: 512 },
  adapter: null,
  tasks: {
    a: { label: 'arithmetic', file: 'arithmetic-heldout-n3-seed0.jsonl', n: 3, rows: 3, sha256: 'aa'.repeat(32), provenance: null, examples: ['1+1?'] },
    b: { label: 'Velmic', file: 'conlang-heldout-n3-seed0.jsonl', n: 3, rows: 3, sha256: 'bb'.repeat(32), provenance: null, examples: ['tor?'] },
  },
  selectivity: { entropyNorm: rows(1), 'resid:entropy': rows(2) },
  lens: { a: { logprob: [-5, -3, -1], logprobCi: [[-5, -5], [-3, -3], [-1, -1]], rank: [50, 3, 0], n: 3 }, b: { logprob: [-6, -4, -2], logprobCi: [[-6, -6], [-4, -4], [-2, -2]], rank: [60, 5, 1], n: 3 } },
  ablation: { a: heads.map((h) => ({ ...h, mean: -0.1, ci: [-0.2, 0] as [number, number], n: 3 })), b: heads.map((h) => ({ ...h, mean: -0.2, ci: [-0.3, -0.1] as [number, number], n: 3 })) },
  seconds: { heads: 1 },
});

test('a report against itself: the same report, nothing changed, nothing ranked', () => {
  const r = sample();
  const c = compareReports(r, structuredClone(r));
  assert.ok(c.ok);
  assert.equal(c.same, true);
  assert.equal(c.none, true);
  assert.deepEqual(c.diff.top, { selectivity: [], causal: [] });
  assert.equal(topStat(c.diff), 'entropyNorm', 'nothing ranked: the first statistic');
});

test('one head changed: ranked first, drawn in the Δd panel with its line; the ablation map has a panel per task', () => {
  const before = sample(), after = structuredClone(before);
  after.createdAt = '2026-12-05T09:00:00.000Z';
  after.adapter = { name: 'sft (run r1)' };
  Object.assign(after.selectivity['resid:entropy'][3], { d: 2.5, ciLow: 2.0, ciHigh: 3.0, q: 0.01 });
  after.ablation.b[1] = { ...after.ablation.b[1], mean: 0.4, ci: [0.3, 0.5] };
  const c = compareReports(before, after);
  assert.ok(c.ok);
  assert.deepEqual([c.same, c.none], [false, false]);
  const first = c.diff.top.selectivity[0];
  assert.deepEqual([first.stat, first.layer, first.head, first.ciDisjoint, first.significantAfter], ['resid:entropy', 1, 1, true, true]);
  assert.equal(topStat(c.diff), 'resid:entropy');
  const { delta, sides } = selectivityDiffFigures(c.diff, 'resid:entropy');
  assert.deepEqual([delta.name, sides.name], ['diff-selectivity-resid-entropy.svg', 'diff-selectivity-resid-entropy-d.svg']);
  assert.ok(delta.svg.includes(`<title>${esc(first.line)}</title>`), 'the changed head carries its line');
  for (const t of ['before', 'after']) assert.ok(sides.svg.includes(`>${t}</text>`), `panel ${t}`);
  // Δd has its own scale: the bar ends at the largest |Δd| (2), d's at the largest |d| (2.5)
  assert.ok(delta.svg.includes('>2</text>') && !delta.svg.includes('>3</text>'), 'Δd bar up to 2');
  assert.ok(sides.svg.includes('>2</text>'));
  const abl = ablationDiffFigure(c.diff);
  assert.ok(abl.svg.includes('>arithmetic</text>') && abl.svg.includes('>Velmic</text>'));
  assert.equal(c.diff.top.causal[0].task, 'b');
  assert.ok(Math.abs(c.diff.top.causal[0].delta - 0.6) < 1e-12);
});

test('another n is refused with the difference named, without the CLI advice; another model folder only when allowed', () => {
  const before = sample(), after = structuredClone(before);
  after.tasks.a.n = 2;
  const c = compareReports(before, after);
  assert.ok(!c.ok);
  assert.equal(c.incomparable, true);
  assert.match(c.message, /^the pinned report and the current report are not comparable: task A rows used "3 of 3" vs "2 of 3"\.$/);
  assert.doesNotMatch(c.message, /--adapter|lab analyze report/);

  const other = structuredClone(before);
  other.model.name = 'lab-micro-full-step-10';
  const m = compareReports(before, other);
  assert.ok(!m.ok && m.incomparable);
  assert.match(m.message, /model "lab-micro" vs "lab-micro-full-step-10"/);
  const allowed = compareReports(before, other, { allowDifferentModel: true });
  assert.ok(allowed.ok && allowed.none);

  const broken = { ...before, ablation: undefined } as unknown as ReportData;
  const b = compareReports(broken, before);
  assert.ok(!b.ok);
  assert.equal(b.incomparable, false);
  assert.match(b.message, /lacks ablation/);
});

test('pageMessage leaves a message without the CLI sentence as it is', () => {
  assert.equal(pageMessage('x and y are not comparable: seed 0 vs 1.'), 'x and y are not comparable: seed 0 vs 1.');
  assert.equal(pageMessage('a: b. Make both with the same `lab analyze report` arguments, changing only --adapter.'), 'a: b.');
});

test('a tiny Δd stays pale: the Δd scale is at least DELTA_D_MIN_RANGE wide', () => {
  const before = sample(), after = structuredClone(before);
  after.createdAt = '2026-12-05T09:00:00.000Z';
  after.selectivity.entropyNorm[0].d += 0.01;
  const c = compareReports(before, after);
  assert.ok(c.ok);
  const { delta } = selectivityDiffFigures(c.diff, 'entropyNorm');
  assert.ok(delta.svg.includes(`>${DELTA_D_MIN_RANGE}</text>`), 'the bar reaches the minimum range, not 0.01');
});
