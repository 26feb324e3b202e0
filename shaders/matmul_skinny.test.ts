// matmul_skinny against its float64 reference: both layouts of B, ragged M and n (rows and columns past the end are
// computed from clamped loads and never stored), alpha, accumulate, K from one vec4 to many lane rounds; and its errors.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { matmulSkinny, skinnyApplies, SKINNY_MAX_N } from './matmul_skinny.ts';
import { matmulSkinnyRef, matmulSkinnyBlocksRef } from './matmul_skinny.ref.ts';
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

test('matmul_skinny: A a column window of a wider matrix (dy·B from the fused q|k|v gradient), C a window of a wider output', async () => {
  const rt = await testRuntime();
  const rng = new Rng(12);
  for (const c of [
    { M: 37, lda: 160, offset: 96, K: 32, n: 16, transB: false }, // the v window of a [N, 160] gradient
    { M: 9, lda: 24, offset: 0, K: 16, n: 5, transB: true, accumulate: true }, // the first window
  ]) {
    const name = `M${c.M} a[${c.lda}] columns ${c.offset}..${c.offset + c.K}`;
    const a = rng.uniform(c.M * c.lda);
    const b = rng.uniform(c.n * c.K);
    const c0 = rng.uniform(c.M * c.n);
    const win = Float64Array.from({ length: c.M * c.K }, (_, i) => a[Math.floor(i / c.K) * c.lda + c.offset + (i % c.K)]);
    const at = rt.upload(a, [c.M, c.lda]);
    const bt = rt.upload(b, c.transB ? [c.n, c.K] : [c.K, c.n]);
    const out = c.accumulate ? rt.upload(c0, [c.M, c.n]) : undefined;
    const got = matmulSkinny(rt, at, bt, { transB: c.transB, aCols: { offset: c.offset, width: c.K }, out, accumulate: c.accumulate });
    const ref = matmulSkinnyRef(win, b, c.M, c.n, c.K, { transB: c.transB, accumulateInto: c.accumulate ? c0 : undefined });
    assertAllClose((await rt.read(got)) as Float32Array, ref, { rtol: 1e-5, atol: 1e-5 * Math.sqrt(c.K) }, name);
    for (const t of [at, bt, got]) t.dispose();
  }
  // C into a window of a wider output (stacked adapters): the columns around it untouched
  {
    const [M, K, n, stride, off] = [13, 24, 4, 12, 4];
    const a = rng.uniform(M * K), b = rng.uniform(K * n), o0 = rng.uniform(M * stride);
    const got = matmulSkinny(rt, rt.upload(a, [M, K]), rt.upload(b, [K, n]), { out: rt.upload(o0, [M, stride]), outCols: { offset: off, stride }, accumulate: true });
    const inner = matmulSkinnyRef(a, b, M, n, K, { accumulateInto: Float64Array.from({ length: M * n }, (_, i) => o0[Math.floor(i / n) * stride + off + (i % n)]) });
    const want = Float64Array.from(o0);
    for (let i = 0; i < M * n; i++) want[Math.floor(i / n) * stride + off + (i % n)] = inner[i];
    assertAllClose((await rt.read(got)) as Float32Array, want, { rtol: 1e-5, atol: 1e-5 * Math.sqrt(K) }, 'output window');
    assert.throws(() => matmulSkinny(rt, rt.zeros([M, K]), rt.zeros([K, n]), { outCols: { offset: 0, stride } }), /outCols needs out/);
    assert.throws(() => matmulSkinny(rt, rt.zeros([M, K]), rt.zeros([K, n]), { out: rt.zeros([M, stride]), outCols: { offset: 10, stride } }), /outCols: window 10\.\.14 does not fit in stride 12/);
  }
  const a = rt.zeros([4, 12]), b = rt.zeros([8, 2]);
  assert.throws(() => matmulSkinny(rt, a, b, { aCols: { offset: 2, width: 8 } }), /columns 2\.\.10 must fit/);
  assert.throws(() => matmulSkinny(rt, a, b, { aCols: { offset: 8, width: 8 } }), /columns 8\.\.16 must fit/);
  for (const t of [a, b]) t.dispose();
});

test('matmul_skinny: K in blocks, column block t of C summing over block t of K (the dy·B of q, k, v from dqkv)', async () => {
  const rt = await testRuntime();
  const rng = new Rng(13);
  for (const { M, lda, offset, r, blocks, K } of [
    { M: 21, lda: 96, offset: 0, r: 4, blocks: [0, 64, 80], K: 96 }, // q 64, k 16, v 16
    { M: 6, lda: 44, offset: 4, r: 5, blocks: [0, 24], K: 40 }, // two blocks of a window
  ]) {
    const k = blocks.length;
    const a = rng.uniform(M * lda), b = rng.uniform(K * r), o0 = rng.uniform(M * k * r);
    const want = matmulSkinnyBlocksRef(a, b, M, lda, offset, K, r, blocks, { alpha: 0.5, accumulateInto: o0 });
    const got = matmulSkinny(rt, rt.upload(a, [M, lda]), rt.upload(b, [K, r]), { alpha: 0.5, aCols: { offset, width: K }, blocks, out: rt.upload(o0, [M, k * r]), accumulate: true });
    assertAllClose((await rt.read(got)) as Float32Array, want, { rtol: 1e-5, atol: 1e-5 * Math.sqrt(K) }, `blocks ${blocks.join('|')} r ${r}`);
  }
  const [a, b] = [rt.zeros([4, 32]), rt.zeros([32, 4])];
  assert.throws(() => matmulSkinny(rt, a, b, { blocks: [0, 6] }), /multiples of 4/);
  assert.throws(() => matmulSkinny(rt, a, rt.zeros([4, 32]), { blocks: [0, 16], transB: true }), /not transB/);
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
