import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { addScale, add } from './add_scale.ts';
import { addScaleRef } from './add_scale.ref.ts';
import { testRuntime, releaseTestRuntime } from '../src/engine/testing/gpu.ts';
import { assertAllClose, allClose } from '../src/engine/testing/allclose.ts';
import { Rng } from '../src/engine/testing/rng.ts';

after(releaseTestRuntime);
// fp32 elementwise vs float64: one rounding per op → a few ulp
const TOL = { atol: 1e-6, rtol: 1e-6 };

test('add_scale matches float64 on sizes that are not multiples of 256', async () => {
  const rt = await testRuntime();
  const rng = new Rng(1);
  for (const n of [1, 255, 257, 1000, 70_001]) {
    const a = rng.uniform(n, -3, 3), b = rng.uniform(n, -3, 3);
    const ta = rt.upload(a, [n]), tb = rt.upload(b, [n]);
    const out = await rt.read(addScale(rt, ta, 0.5, tb, -2));
    assertAllClose(out, addScaleRef(a, 0.5, b, -2), TOL, `add_scale n=${n}`);
  }
});

test('add_scale: beta = 0 ignores NaN in b; fp32 overflow to Inf is reported, not passed', async () => {
  const rt = await testRuntime();
  const a = new Float32Array([1, -2, 3e38, 0]);
  const b = new Float32Array([NaN, NaN, NaN, NaN]);
  const out = await rt.read(addScale(rt, rt.upload(a, [4]), 2, rt.upload(b, [4]), 0));
  assertAllClose(out.subarray(0, 2), addScaleRef(a, 2, b, 0).subarray(0, 2), TOL, 'beta=0');
  assert.equal(out[3], 0);
  // 2 * 3e38 overflows fp32; float64 keeps 6e38: the comparison must fail at exactly that index
  assert.equal(out[2], Infinity);
  const r = allClose(out, addScaleRef(a, 2, b, 0), TOL);
  assert.equal(r.ok, false);
  assert.equal(r.worstIndex, 2);
});

test('add: NaN in an input propagates and fails the comparison (a broken kernel cannot pass)', async () => {
  const rt = await testRuntime();
  const a = new Float32Array([1, NaN]), b = new Float32Array([1, 1]);
  const out = await rt.read(add(rt, rt.upload(a, [2]), rt.upload(b, [2])));
  assert.ok(Number.isNaN(out[1]));
  assert.equal(allClose(out, [2, 2], TOL).ok, false);
});
