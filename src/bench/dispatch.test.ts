// bench -- dispatch: every case runs, one submit for its n dispatches, and the runtime's flush setting is restored.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { testRuntime, releaseTestRuntime } from '../engine/testing/gpu.ts';
import { measureDispatches, DISPATCH_MAX_N } from './dispatch.ts';

after(releaseTestRuntime);

test('measureDispatches: thirteen cases, GPU and CPU time an iteration, one submit each, flush setting restored', async () => {
  const rt = await testRuntime();
  const every = rt.autoFlushEvery;
  const submits = rt.submitCount;
  const rows = await measureDispatches(rt, { n: 3, rows: 8, cols: 12, rank: 4 });
  assert.equal(rows.length, 13);
  assert.ok(rows.some((r) => r.name.includes('matmul_short_k')) && rows.some((r) => r.name.includes('vec4 matmul')));
  assert.deepEqual(rows.slice(0, 9).map((r) => r.dispatches), [1, 1, 1, 1, 1, 1, 3, 1, 1]); // q, k, v apart: three a round
  // the weight gradients four at a time: matmul_atb one dispatch each; split-K (where it splits) adds a reduce
  const grads = rows.slice(9);
  assert.deepEqual(grads.map((r) => r.name.includes('matmul_atb')), [false, true, false, true]);
  for (const r of grads) assert.ok(r.name.includes('matmul_atb') ? r.dispatches === 4 : r.dispatches >= 4 && r.dispatches <= 5, `${r.name}: ${r.dispatches}`);
  for (const r of rows) assert.ok(r.gpuUs > 0 && r.cpuUs > 0 && Number.isFinite(r.gpuUs), `${r.name}: ${r.gpuUs} / ${r.cpuUs}`);
  // two reps of thirteen cases, each rep one sync before and one after its dispatches
  assert.ok(rt.submitCount - submits <= 2 * 13 * 2, `${rt.submitCount - submits} submits`);
  assert.equal(rt.autoFlushEvery, every);
  await assert.rejects(measureDispatches(rt, { n: DISPATCH_MAX_N + 1, rows: 8, cols: 12, rank: 4 }), /--n must be 1\.\.4000/);
  await assert.rejects(measureDispatches(rt, { n: 2, rows: 8, cols: 10, rank: 4 }), /--cols must be a multiple of 4/);
});
