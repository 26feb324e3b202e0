// lrAt against values worked out by hand from transformers' lambdas (optimization.py). Values are
// exact dyadic fractions or cosines of simple angles, so they are compared with a 1e-15 relative
// tolerance (a few float64 ulps; only the cosine's last bit may differ between libms).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lrAt, lrLambda, warmupStepsFromRatio, type LrScheduleOptions } from './schedule.ts';

const close = (got: number, want: number, what: string) =>
  assert.ok(Math.abs(got - want) <= 1e-15 * Math.abs(want) + 1e-18, `${what}: got ${got}, want ${want}`);

const lrs = (opts: LrScheduleOptions, n: number) => Array.from({ length: n }, (_, i) => lrAt(i, opts));

test('constant with warmup 2: 0, lr/2, then lr', () => {
  const o: LrScheduleOptions = { lr: 1e-3, schedule: 'constant', warmupSteps: 2, totalSteps: 10 };
  assert.deepEqual(lrs(o, 5), [0, 5e-4, 1e-3, 1e-3, 1e-3]);
  assert.equal(lrAt(50, o), 1e-3, 'constant past the end');
  const none = { ...o, warmupSteps: 0 };
  assert.deepEqual(lrs(none, 3), [1e-3, 1e-3, 1e-3], 'no warmup: lr from step 0');
});

test('linear, warmup 2, total 10: ramp then (10 - step) / 8', () => {
  const o: LrScheduleOptions = { lr: 2, schedule: 'linear', warmupSteps: 2, totalSteps: 10 };
  // step:     0  1  2  3      4    5      6    7      8    9      10  11
  const want = [0, 1, 2, 1.75, 1.5, 1.25, 1.0, 0.75, 0.5, 0.25, 0, 0];
  lrs(o, 12).forEach((v, i) => close(v, want[i], `step ${i}`));
  // no warmup: step 0 already at full lr; the last step (9 of 10) at lr/10
  const n: LrScheduleOptions = { lr: 1, schedule: 'linear', warmupSteps: 0, totalSteps: 10 };
  close(lrAt(0, n), 1, 'step 0');
  close(lrAt(9, n), 0.1, 'step 9');
});

test('linear: warmup longer than the run decays to 0 right after warmup, never negative', () => {
  const o: LrScheduleOptions = { lr: 1, schedule: 'linear', warmupSteps: 8, totalSteps: 5 };
  close(lrAt(4, o), 0.5, 'still warming up at step 4');
  close(lrAt(8, o), 0, 'max(0, (5 - 8) / max(1, -3)) = 0');
  close(lrAt(20, o), 0, 'stays 0');
});

test('cosine (num_cycles 0.5), warmup 1, total 5: 0, then 1, cos²-shaped decay', () => {
  const o: LrScheduleOptions = { lr: 1, schedule: 'cosine', warmupSteps: 1, totalSteps: 5 };
  // progress = (step - 1) / 4 → 0.5 · (1 + cos(π · progress))
  const want = [0, 1, 0.5 * (1 + Math.SQRT1_2), 0.5, 0.5 * (1 - Math.SQRT1_2), 0];
  lrs(o, 6).forEach((v, i) => close(v, want[i], `step ${i}`));
  assert.ok(lrAt(5, o) >= 0 && lrAt(5, o) < 1e-16, 'step 5 = end: 0.5·(1 + cos π) ≈ 0, clamped at 0');
  // transformers' cosine is not clamped after the end: progress 1.25 gives 0.5·(1 − cos(π/4))
  close(lrAt(6, o), 0.5 * (1 - Math.SQRT1_2), 'step 6 past the end rises, as in transformers');
});

test('cosine without warmup: full lr at step 0, half at the midpoint', () => {
  const o: LrScheduleOptions = { lr: 3e-4, schedule: 'cosine', warmupSteps: 0, totalSteps: 100 };
  close(lrAt(0, o), 3e-4, 'step 0');
  close(lrAt(50, o), 1.5e-4, 'step 50');
  close(lrLambda(25, o), 0.5 * (1 + Math.SQRT1_2), 'step 25');
});

test('warmup 1 reaches full lr at step 1; warmup uses max(1, warmup)', () => {
  for (const schedule of ['constant', 'linear', 'cosine'] as const) {
    const o: LrScheduleOptions = { lr: 1, schedule, warmupSteps: 1, totalSteps: 3 };
    assert.equal(lrAt(0, o), 0, `${schedule} step 0`);
    assert.equal(lrAt(1, o), 1, `${schedule} step 1`);
  }
});

test('warmupStepsFromRatio = ceil(total · ratio)', () => {
  assert.equal(warmupStepsFromRatio(0.1, 95), 10); // 9.5 → 10
  assert.equal(warmupStepsFromRatio(0, 95), 0);
  assert.equal(warmupStepsFromRatio(0.03, 100), 3);
  assert.throws(() => warmupStepsFromRatio(1.5, 10), /warmup ratio must be in \[0, 1\], got 1.5/);
});

test('argument validation: clear errors', () => {
  const ok: LrScheduleOptions = { lr: 1e-3, schedule: 'linear', warmupSteps: 2, totalSteps: 10 };
  const bad: [Partial<LrScheduleOptions> | { schedule: string }, RegExp][] = [
    [{ warmupSteps: -1 }, /warmupSteps must be an integer >= 0, got -1/],
    [{ warmupSteps: 1.5 }, /warmupSteps must be an integer >= 0, got 1.5/],
    [{ totalSteps: 0 }, /totalSteps must be an integer >= 1, got 0/],
    [{ totalSteps: NaN }, /totalSteps must be an integer >= 1, got NaN/],
    [{ schedule: 'cosine_with_restarts' }, /unknown schedule "cosine_with_restarts" \(known: constant, linear, cosine\)/],
    [{ lr: -1e-3 }, /lr must be a finite number >= 0, got -0.001/],
    [{ lr: Infinity }, /lr must be a finite number >= 0, got Infinity/],
  ];
  for (const [change, re] of bad) assert.throws(() => lrAt(0, { ...ok, ...change } as LrScheduleOptions), re, JSON.stringify(change));
  assert.throws(() => lrAt(-1, ok), /step must be an integer >= 0 \(0-based optimizer step\), got -1/);
  assert.throws(() => lrAt(0.5, ok), /step must be an integer >= 0/);
});
