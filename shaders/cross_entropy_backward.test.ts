import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { crossEntropyForward } from './cross_entropy_forward.ts';
import { crossEntropyBackward } from './cross_entropy_backward.ts';
import { crossEntropyBackwardRef } from './cross_entropy_backward.ref.ts';
import { IGNORE_INDEX } from './cross_entropy_forward.ref.ts';
import { testRuntime, releaseTestRuntime } from '../src/engine/testing/gpu.ts';
import { assertAllClose, allClose } from '../src/engine/testing/allclose.ts';
import { Rng } from '../src/engine/testing/rng.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';

after(releaseTestRuntime);

// dlogits: 1e-5 relative + 1e-7 absolute (task). p = exp(x − lse): lse's rounding (≤ 1.9e-6 relative
// for |lse| < 64, the one-read path) plus exp's error (WGSL: 3 + 2|x| ulp) stay below 1e-5 relative
// for the probabilities that matter; tiny probabilities (e^-30) fall under the absolute floor.
const TOL = { rtol: 1e-5, atol: 1e-7 };

/** forward + backward on the GPU, dlogits read back */
async function grad(rt: Runtime, logits: Float32Array, targets: Int32Array, N: number, V: number, gradScale?: number): Promise<Float32Array> {
  const tl = rt.upload(logits, [N, V]), tt = rt.upload(targets, [N]);
  const f = crossEntropyForward(rt, tl, tt);
  return (await rt.read(crossEntropyBackward(rt, tl, tt, f.lse, f.count, { gradScale }))) as Float32Array;
}

test('cross_entropy_backward matches float64: V = 1, 7, 1000; ignored rows; gradScale 1 and 0.37', async () => {
  const rt = await testRuntime();
  const rng = new Rng(21);
  for (const [N, V] of [[1, 1], [3, 1], [5, 7], [300, 7], [13, 1000], [2, 257]]) {
    for (const gs of [1, 0.37]) {
      const logits = rng.normal(N * V, 2);
      const targets = rng.ints(N, 0, V);
      for (let i = 1; i < N; i += 4) targets[i] = IGNORE_INDEX;
      const d = await grad(rt, logits, targets, N, V, gs === 1 ? undefined : gs);
      assertAllClose(d, crossEntropyBackwardRef(logits, targets, N, V, gs), TOL, `N=${N} V=${V} gradScale=${gs}`);
    }
  }
});

test('cross_entropy_backward at V = 151936 (two rows): gradient rows sum to 0', async () => {
  const rt = await testRuntime();
  const rng = new Rng(22);
  const N = 2, V = 151936;
  const logits = rng.normal(N * V, 3);
  const targets = new Int32Array([rng.int(0, V), 0]);
  const d = await grad(rt, logits, targets, N, V);
  assertAllClose(d, crossEntropyBackwardRef(logits, targets, N, V), TOL, 'V=151936');
  // Σ_j (p_j − onehot_j) / count = 0 per row (independent of the reference)
  for (let i = 0; i < N; i++) {
    let s = 0;
    for (let j = 0; j < V; j++) s += d[i * V + j];
    assert.ok(Math.abs(s) < 1e-5, `row ${i} sums to ${s}`);
  }
});

test('cross_entropy_backward: huge logits (±1e30, all-equal at 1e30, |lse| ≥ 64 path) stay exact', async () => {
  const rt = await testRuntime();
  const rng = new Rng(23);
  const V = 1000;
  const N = 6;
  const logits = new Float32Array(N * V);
  logits.fill(1e30, 0, V); // row 0: all equal at 1e30 → p = 1/V (lse rounds to 1e30: needs the exact path)
  logits.fill(-1e30, V, 2 * V); // row 1: one live logit, the target → gradient 0
  logits[V + 9] = 1e30;
  logits.fill(-1e30, 2 * V, 3 * V); // row 2: one live logit, not the target → +1/count there, −1/count at t
  logits[2 * V + 9] = 1e30;
  logits.set(rng.normal(V, 40), 3 * V); // row 3: |lse| ≈ 100+ → exact path on ordinary data
  logits.set(rng.normal(V, 2).map((x) => x - 500), 4 * V); // row 4: shifted by −500
  logits.fill(-3.402823e38, 5 * V, 6 * V); // row 5: masked except two entries
  logits[5 * V + 0] = 1;
  logits[5 * V + 1] = 2;
  const targets = new Int32Array([3, 9, 10, 17, 500, 1]);
  const d = await grad(rt, logits, targets, N, V, 2);
  assertAllClose(d, crossEntropyBackwardRef(logits, targets, N, V, 2), TOL, 'huge');
  const c = 2 / N; // gradScale / count
  assertAllClose([d[0], d[3]], [c / V, c * (1 / V - 1)], TOL, 'all-equal 1e30 row, closed form');
  assertAllClose([d[2 * V + 9], d[2 * V + 10], d[2 * V + 11]], [c, -c, 0], TOL, 'one live logit row, closed form');
});

test('cross_entropy_backward: all rows ignored → all zeros (not NaN); ignored rows overwrite garbage (V = 7 and 8)', async () => {
  const rt = await testRuntime();
  for (const V of [7, 8]) {
    const N = 9;
    const logits = new Rng(24).normal(N * V);
    const targets = new Int32Array(N).fill(IGNORE_INDEX);
    const tl = rt.upload(logits, [N, V]), tt = rt.upload(targets, [N]);
    const f = crossEntropyForward(rt, tl, tt);
    const out = rt.upload(new Float32Array(N * V).fill(NaN), [N, V]); // stale contents must be overwritten
    const d = await rt.read(crossEntropyBackward(rt, tl, tt, f.lse, f.count, { out }));
    assert.deepEqual(Array.from(d), new Array(N * V).fill(0));
  }
});

test('cross_entropy_backward: an out-of-range target gives a NaN gradient row; other rows exact (V = 7 and 8: scalar and vec4 rows)', async () => {
  const rt = await testRuntime();
  for (const V of [7, 8]) {
    const N = 4;
    const logits = new Rng(25).normal(N * V);
    const targets = new Int32Array([2, V, IGNORE_INDEX, 6]); // row 1 invalid (counted: count = 3)
    const d = await grad(rt, logits, targets, N, V);
    const ref = crossEntropyBackwardRef(logits, targets, N, V);
    assert.ok(d.subarray(V, 2 * V).every(Number.isNaN), 'row 1 is NaN');
    for (const i of [0, 2, 3]) assertAllClose(d.subarray(i * V, (i + 1) * V), ref.subarray(i * V, (i + 1) * V), TOL, `row ${i}`);
    assert.equal(allClose(d, ref, TOL).ok, false); // NaN never passes
  }
});
