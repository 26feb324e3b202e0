// The benchmarks' small statistics: the upper median, and warmUp's two floors (runs and wall time).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { median, warmUp } from './stats.ts';

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
