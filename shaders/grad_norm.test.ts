import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { gradNormClip, partialsFor } from './grad_norm.ts';
import { gradNormClipRef } from './grad_norm.ref.ts';
import { testRuntime, releaseTestRuntime } from '../src/engine/testing/gpu.ts';
import { assertAllClose, allClose } from '../src/engine/testing/allclose.ts';
import { Rng } from '../src/engine/testing/rng.ts';

after(releaseTestRuntime);

// norm and coef: 1e-5 relative (task). Σ g² of non-negative terms in f32 with blocked + tree
// summation: relative error ≲ (16 + n/(stride·16) + 8 + finalize) ulp ≈ 3e-6 worst case; sqrt halves it.
const TOL = { rtol: 1e-5, atol: 0 };

test('grad_norm matches float64 over tensors of sizes 1, 1000, 70000 (and clip coefficients)', async () => {
  const rt = await testRuntime();
  const rng = new Rng(31);
  const host = [rng.normal(1, 2), rng.normal(1000, 0.01), rng.normal(70000, 1e-3)];
  const grads = [rt.upload(host[0], [1]), rt.upload(host[1], [10, 100]), rt.upload(host[2], [70000])];
  for (const maxNorm of [0, 1e6, 1.0, 0.01]) {
    const got = await rt.read(gradNormClip(rt, grads, maxNorm));
    const ref = gradNormClipRef(host, maxNorm);
    assertAllClose(got, ref, TOL, `maxNorm=${maxNorm}`);
    if (maxNorm === 0 || maxNorm === 1e6) assert.equal(got[1], 1, 'no clipping → coef exactly 1');
  }
  // each size alone, too (a single partial for n = 1)
  for (let k = 0; k < 3; k++) {
    assertAllClose(await rt.read(gradNormClip(rt, [grads[k]], 0.5)), gradNormClipRef([host[k]], 0.5), TOL, `tensor ${k} alone`);
  }
});

test('grad_norm: a tensor past the 1024-partial cap (grid-stride loop) and deterministic repeats', async () => {
  const rt = await testRuntime();
  const rng = new Rng(32);
  const n = 1024 * 256 * 16 + 12345; // > 1024 workgroups' worth of one pass
  assert.equal(partialsFor(n), 1024);
  const big = rng.uniform(n, -1, 1);
  const small = rng.normal(257);
  const grads = [rt.upload(small, [257]), rt.upload(big, [n])];
  const a = await rt.read(gradNormClip(rt, grads, 1));
  const b = await rt.read(gradNormClip(rt, grads, 1));
  assertAllClose(a, gradNormClipRef([small, big], 1), TOL, 'big');
  assert.deepEqual(Array.from(a), Array.from(b), 'bitwise identical on a repeat');
});

test('grad_norm: NaN and Inf gradients give a NaN / Inf norm (coef NaN / 0 when clipping, 1 when not)', async () => {
  const rt = await testRuntime();
  const rng = new Rng(33);
  const ok = rng.normal(1000);
  const withNaN = rng.normal(70000);
  withNaN[54321] = NaN;
  const withInf = rng.normal(1000);
  withInf[7] = -Infinity;
  const tOk = rt.upload(ok, [1000]);

  const nanClip = await rt.read(gradNormClip(rt, [tOk, rt.upload(withNaN, [70000])], 1));
  assert.ok(Number.isNaN(nanClip[0]) && Number.isNaN(nanClip[1]), `NaN grads → [${nanClip}]`);
  const nanOff = await rt.read(gradNormClip(rt, [rt.upload(withNaN, [70000])], 0));
  assert.ok(Number.isNaN(nanOff[0]) && nanOff[1] === 1, `NaN grads, no clipping → [${nanOff}]`);

  const infClip = await rt.read(gradNormClip(rt, [tOk, rt.upload(withInf, [1000])], 1));
  assert.deepEqual(Array.from(infClip), [Infinity, 0], 'Inf grads → [Inf, 0] as torch');
  assert.equal(allClose(nanClip, gradNormClipRef([ok, withNaN], 1), TOL).ok, false); // NaN never passes
});

test('grad_norm: an empty list gives [0, 1]; all-zero grads give [0, 1]', async () => {
  const rt = await testRuntime();
  assert.deepEqual(Array.from(await rt.read(gradNormClip(rt, [], 1))), [0, 1]);
  const z = rt.zeros([300]);
  assert.deepEqual(Array.from(await rt.read(gradNormClip(rt, [z], 1))), [0, 1]);
});
