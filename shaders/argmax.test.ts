import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { argmax } from './argmax.ts';
import { argmaxRef } from './argmax.ref.ts';
import { testRuntime, releaseTestRuntime } from '../src/engine/testing/gpu.ts';
import { Rng } from '../src/engine/testing/rng.ts';

after(releaseTestRuntime);
// An index, not a value: exact equality with the reference (no tolerance).

test('argmax matches the reference on rows of 1, 255, 257 and 151936 values', async () => {
  const rt = await testRuntime();
  const rng = new Rng(4);
  for (const [rows, V] of [[1, 1], [3, 255], [5, 257], [2, 151936]]) {
    const x = rng.normal(rows * V, 3);
    const got = await rt.read(argmax(rt, rt.upload(x, [rows, V])));
    assert.deepEqual(Array.from(got), Array.from(argmaxRef(x, V)), `rows=${rows} V=${V}`);
  }
});

test('argmax: ties go to the first index (torch.argmax), huge and -huge values, NaN skipped', async () => {
  const rt = await testRuntime();
  const V = 1000;
  const x = new Float32Array(4 * V).fill(-1);
  x[0 * V + 700] = 5; x[0 * V + 300] = 5; x[0 * V + 999] = 5; // tie: 300
  x.fill(-3.4e38, 1 * V, 2 * V); x[1 * V + 512] = -3.3e38; // all hugely negative
  x[2 * V + 17] = 3.4e38; x[2 * V + 3] = NaN; // NaN skipped
  x.fill(NaN, 3 * V, 4 * V); // all NaN → 0
  const got = await rt.read(argmax(rt, rt.upload(x, [4, V])));
  assert.deepEqual(Array.from(got), [300, 512, 17, 0]);
  assert.deepEqual(Array.from(argmaxRef(x, V)), [300, 512, 17, 0]);
});
