// The profile's own-pass floor and its net-of-floor sums (bench --profile): the floor is a positive time where the
// device has timestamp queries (null where not), and the net sums take the floor once per dispatch, never below 0.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { byKernelNet, passFloorMs } from './profile.ts';
import { testRuntime, releaseTestRuntime } from '../engine/testing/gpu.ts';

after(releaseTestRuntime);

test('byKernelNet: rows summed by kernel across grids, the floor taken once a dispatch, clamped at 0, largest first', () => {
  const rows = [
    { name: 'matmul_forward_vec4 [7,8,4]', ms: 10, count: 100 },
    { name: 'matmul_forward_vec4 [152,8,1]', ms: 6, count: 20 },
    { name: 'rope_kv_write [8,14,4]', ms: 0.5, count: 24 },
  ];
  const got = byKernelNet(rows, 0.025);
  assert.deepEqual(got.map((r) => r.name), ['matmul_forward_vec4', 'rope_kv_write']);
  assert.equal(got[0].count, 120);
  assert.ok(Math.abs(got[0].ms - 16) < 1e-12);
  assert.ok(Math.abs(got[0].net - (16 - 120 * 0.025)) < 1e-12);
  assert.equal(got[1].net, 0); // 0.5 ms over 24 dispatches is below the floor: 0, not negative
  assert.deepEqual(byKernelNet(rows, 0).map((r) => r.net), [16, 0.5]);
});

test('passFloorMs: a positive mean time a dispatch where the device has timestamps, null where not; the profiler is left off', async () => {
  const rt = await testRuntime();
  const floor = await passFloorMs(rt, 8);
  if (!rt.ctx.hasTimestamps) {
    assert.equal(floor, null);
    console.log('# this device has no timestamp queries: the floor is null (checked), its size is not');
    return;
  }
  assert.ok(floor !== null && floor > 0 && floor < 1000, `floor ${floor} ms`);
  assert.deepEqual(await rt.stopProfile(), [], 'passFloorMs stopped its profile');
});
