// The benchmarks' small statistics: the upper median, warmUp's two floors (runs and wall time), and timed's warm-up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { median, timed, warmUp } from './stats.ts';

test('median is the upper middle value', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 3);
});

test('warmUp runs at least minRuns times and for at least minMs', async () => {
  let runs = 0;
  const quick = async () => void runs++;
  assert.equal(await warmUp(quick, 3, 0), 3);
  assert.equal(runs, 3);
  const t0 = performance.now();
  const n = await warmUp(() => new Promise((r) => setTimeout(r, 5)), 1, 60);
  assert.ok(performance.now() - t0 >= 60, 'ran for the minimum time');
  assert.ok(n >= 2, `more than one run to fill 60 ms of 5 ms runs (${n})`);
});

test('timed: two warm-up runs (more to fill warmMs), then reps timed runs', async () => {
  let runs = 0;
  const ms = await timed(3, async () => void runs++);
  assert.equal(runs, 5);
  assert.ok(ms >= 0);
  runs = 0;
  await timed(3, () => new Promise((r) => setTimeout(() => r(runs++), 5)), 40);
  assert.ok(runs >= 3 + 3, `warm-up ran until 40 ms had passed (${runs} runs in all)`);
});
