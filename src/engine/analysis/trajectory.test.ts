// trajectory.ts on synthetic reports (report-sample.testlib.ts) with known changes: the series are the
// reports' numbers step by step, the head whose ablation effect moves most ranks first with the step of its
// largest change, points come sorted by step, and an incomparable point is refused naming its step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReportData } from './report-data.ts';
import { H, L, sample } from './report-sample.testlib.ts';
import { buildTrajectory, formatTrajectory, trajectoryFromJson, trajectoryToJson } from './trajectory.ts';

const at = (step: number, edit: (r: ReportData) => void = () => {}) => {
  const report = structuredClone(sample());
  report.adapter = step ? { name: `checkpoint-${step}` } : null;
  edit(report);
  return { step, report };
};
const effect = (r: ReportData, t: 'a' | 'b', l: number, h: number) => r.ablation[t].find((e) => e.layer === l && e.head === h)!;

test('series per step and head; the largest move ranks first with its step; JSON round-trips', () => {
  const pts = [
    at(20, (r) => { effect(r, 'b', 1, 2).mean -= 1.5; r.lens.a.logprob[2] = -0.5; }),
    at(0),
    at(10, (r) => { effect(r, 'b', 1, 2).mean -= 3; r.selectivity.entropyNorm[4].d = Infinity; }),
  ];
  const t = buildTrajectory(pts, { top: 3 });
  assert.deepEqual(t.steps, [0, 10, 20], 'sorted by step');
  assert.deepEqual(t.adapters, [null, 'checkpoint-10', 'checkpoint-20']);
  assert.equal(t.heads.length, L * H);
  const h12 = t.heads.find((h) => h.layer === 1 && h.head === 2)!;
  const m = effect(sample(), 'b', 1, 2).mean;
  assert.deepEqual(h12.ablation.b, [m, m - 3, m - 1.5]);
  assert.deepEqual(t.answer.a, [-1, -1, -0.5]);
  assert.equal(t.top.causal[0].layer, 1);
  assert.equal(t.top.causal[0].head, 2);
  assert.equal(t.top.causal[0].atStep, 10);
  assert.ok(Math.abs(t.top.causal[0].maxChange + 3) < 1e-12);
  assert.match(t.top.causal[0].line, /^L1H2 ablation on Velmic: .* \(largest change −?-3\.00 nats at step 10\)$/);
  assert.equal(t.top.causal.length, 1, 'only heads that moved are ranked');
  assert.ok(t.top.selectivity.every((x) => Number.isFinite(x.maxChange)), 'an infinite d is not a change');
  assert.equal(t.changes.length, 2);
  assert.match(formatTrajectory(t), /^tiny-llama-2x3: 3 points \(steps 0, 10, 20\)/);
  const back = trajectoryFromJson(trajectoryToJson(t));
  assert.equal(back.heads[4].selectivity.entropyNorm[1], Infinity, 'non-finite numbers survive the JSON');
});

test('fewer than 2 points, a repeated step and an incomparable point are refused', () => {
  assert.throws(() => buildTrajectory([at(0)]), /at least 2 points/);
  assert.throws(() => buildTrajectory([at(0), at(0)]), /two reports for step 0/);
  assert.throws(() => buildTrajectory([at(0), at(5, (r) => { r.reproduce.seed = 8; })]), /step 0 and step 5 \(checkpoint-5\) are not comparable: seed 7 vs 8/);
});
