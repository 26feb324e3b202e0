// matmul_skinny against its float64 reference: both layouts of B, ragged M and n (rows and columns past the end are
// computed from clamped loads and never stored), alpha, accumulate, K from one vec4 to many lane rounds; and its errors.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { matmulSkinny, skinnyApplies, SKINNY_MAX_N } from './matmul_skinny.ts';
import { matmulSkinnyRef } from './matmul_skinny.ref.ts';
import { testRuntime, releaseTestRuntime, logDispatches } from '../src/engine/testing/gpu.ts';
import { Rng } from '../src/engine/testing/rng.ts';
import { assertAllClose } from '../src/engine/testing/allclose.ts';

after(releaseTestRuntime);

const CASES: { M: number; n: number; K: number; transB: boolean; alpha?: number; accumulate?: boolean }[] = [
  { M: 64, n: 16, K: 256, transB: true }, // LoRA x·Aᵀ: whole tiles
  { M: 37, n: 16, K: 96, transB: true, alpha: 0.5 }, // ragged M
  { M: 9, n: 5, K: 4, transB: true }, // one vec4 of K, a partial column tile
  { M: 50, n: 40, K: 300, transB: true, accumulate: true, alpha: -2 }, // three column tiles, the last partial
  { M: 64, n: 16, K: 512, transB: false, alpha: 2 }, // LoRA dy·B: B [K, r]
  { M: 23, n: 8, K: 132, transB: false, accumulate: true }, // ragged rows and columns, accumulate
  { M: 5, n: 64, K: 64, transB: false }, // four column tiles
];

test('matmul_skinny: C = alpha · A · op(B) (+ C) against the float64 reference', async () => {
  const rt = await testRuntime();
  const rng = new Rng(11);
  for (const c of CASES) {
    const name = `M${c.M} n${c.n} K${c.K}${c.transB ? ' transB' : ''}${c.accumulate ? ' accumulate' : ''}`;
    const a = rng.uniform(c.M * c.K);
    const b = rng.uniform(c.n * c.K);
    const c0 = rng.uniform(c.M * c.n);
    const at = rt.upload(a, [c.M, c.K]);
    const bt = rt.upload(b, c.transB ? [c.n, c.K] : [c.K, c.n]);
    const out = c.accumulate ? rt.upload(c0, [c.M, c.n]) : undefined;
    const log = logDispatches(rt);
    const got = matmulSkinny(rt, at, bt, { transB: c.transB, alpha: c.alpha, out, accumulate: c.accumulate });
    log.restore();
    assert.deepEqual(log.names, ['matmul_skinny'], `${name}: one dispatch`);
    const ref = matmulSkinnyRef(a, b, c.M, c.n, c.K, { transB: c.transB, alpha: c.alpha, accumulateInto: c.accumulate ? c0 : undefined });
    // f32 sums of K products of |x| < 1: error ≲ K · 2^-24 · Σ|a||b|
    assertAllClose((await rt.read(got)) as Float32Array, ref, { rtol: 1e-5, atol: 1e-5 * Math.sqrt(c.K) }, name);
    for (const t of [at, bt, got]) t.dispose();
  }
});

test('matmul_skinny: where it applies, and clear errors for shapes it cannot run', async () => {
  assert.equal(skinnyApplies(1024, 16, 896), true);
  assert.equal(skinnyApplies(1024, SKINNY_MAX_N + 1, 896), false);
  assert.equal(skinnyApplies(1024, 16, 30), false); // K not a multiple of 4
  const rt = await testRuntime();
  const a = rt.zeros([8, 6]);
  const b = rt.zeros([4, 6]);
  assert.throws(() => matmulSkinny(rt, a, b, { transB: true }), /K = 6 must be a positive multiple of 4/);
  const a2 = rt.zeros([8, 8]);
  assert.throws(() => matmulSkinny(rt, a2, b, { transB: true }), /matmul_skinny b \(transB\): expected shape \[4, 8\]/);
  const b2 = rt.zeros([8, 4]);
  assert.throws(() => matmulSkinny(rt, a2, b2, { accumulate: true }), /accumulate needs out/);
  for (const t of [a, b, a2, b2]) t.dispose();
});
