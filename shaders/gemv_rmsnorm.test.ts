// gemv_rmsnorm (RMSNorm folded into 1..3 projections) against its float64 reference and against the
// unfused rmsnorm_forward → matmul on the GPU. Pipelines are few (each takes a second or more to
// compile on lavapipe): the three entry points at 16 rows x 64 lanes x 3 columns (every M ≤ 16, edge
// rows clamped), and the decode plan 1 row x 256 lanes x 4 columns (long rows, row blocks when M > 1).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { gemvRmsnorm, gemvRmsnormLayout, planGemvNorm, type GemvRmsnormOptions, type GemvSegment } from './gemv_rmsnorm.ts';
import { gemvRmsnormRef, rmsnormRowsRef, toLayoutRef } from './gemv_rmsnorm.ref.ts';
import { rmsnormForward } from './rmsnorm_forward.ts';
import { matmul } from './matmul_forward.ts';
import { tolFor, maxAbs } from './matmul_forward.check.ts';
import { testRuntime, releaseTestRuntime } from '../src/engine/testing/gpu.ts';
import { assertAllClose } from '../src/engine/testing/allclose.ts';
import { Rng } from '../src/engine/testing/rng.ts';
import { toHalfBits, fromHalfBits } from '../src/engine/gpu/half.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import type { Tensor } from '../src/engine/gpu/tensor.ts';

after(releaseTestRuntime);

// Tolerance (matmul class, tolFor in matmul_forward.check.ts): rtol 1e-4 + atol 1e-5·sqrt(K)·max|h|·max|W|
// (+1e-6·max|bias|), h = x·rstd·g the normalised input. The kernel sums a K-term fp32 dot product in
// another order than the reference (lane strides, then a tree) and applies rstd after the sum instead of
// to each term: a random walk of ~6e-8·sqrt(K) of that scale, ~100x inside the bound; a wrong index,
// row, rstd or a lost term is off by O(1) of it. rstd itself (a K-term Σx², inverseSqrt ≤ 2 ulp) is
// ~1e-6 relative: inside rtol.
const T16: GemvRmsnormOptions = { rows: 16, lanes: 64 };    // 3 columns per workgroup
const DECODE: GemvRmsnormOptions = { rows: 1, lanes: 256 }; // 4 columns per workgroup

type Half = 'f32' | 'f16' | 'bf16';
interface Case {
  M: number;
  K: number;
  Ns: number[];
  w?: Half;        // dtype of the weights
  g?: Half;        // dtype of the norm weight
  bias?: boolean;
  eps?: number;
  layout?: 'rows' | 'blocks';
}

/** An f32 or half tensor of `v`, and the f32 values the kernel will see (rounded to the half). */
function upload(rt: Runtime, v: Float32Array, shape: number[], dtype: Half): { t: Tensor; values: Float32Array } {
  if (dtype === 'f32') return { t: rt.upload(v, shape), values: v };
  const bits = toHalfBits(v, dtype);
  return { t: rt.upload(bits, shape, dtype), values: fromHalfBits(bits, dtype) };
}

/** The 'rows' order [M, ΣN] of an output in any layout. */
function fromLayout(got: ArrayLike<number>, M: number, Ns: readonly number[], segments: readonly GemvSegment[]): Float32Array {
  const N = Ns.reduce((a, b) => a + b, 0);
  const rows = new Float32Array(M * N); // [M, N]
  let col0 = 0;
  Ns.forEach((ns, s) => {
    for (let m = 0; m < M; m++) for (let n = 0; n < ns; n++) rows[m * N + col0 + n] = got[segments[s].offset + m * segments[s].rowStride + n];
    col0 += ns;
  });
  return rows;
}

/** Seeded inputs: rows of different magnitudes (rstd differs per row), signed g, W ~ U(-1, 1). */
function inputs(rng: Rng, M: number, K: number, Ns: number[]) {
  const x = rng.uniform(M * K, -2, 2); // [M, K]
  for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) x[m * K + k] *= 10 ** ((m % 3) - 1);
  return { x, g: rng.uniform(K, -1.5, 1.5), Ws: Ns.map((n) => rng.uniform(n * K)), bias: rng.uniform(Ns.reduce((a, b) => a + b, 0), -2, 2) };
}

async function check(rng: Rng, c: Case, run: GemvRmsnormOptions, name: string) {
  const rt = await testRuntime();
  const { M, K, Ns, w = 'f32', g: gd = 'f32', eps = 1e-6, layout = 'rows' } = c;
  const inp = inputs(rng, M, K, Ns);
  const g = upload(rt, inp.g, [K], gd);
  const Ws = inp.Ws.map((v, s) => upload(rt, v, [Ns[s], K], w));
  const bias = c.bias ? rt.upload(inp.bias, [inp.bias.length]) : null;
  const out = gemvRmsnorm(rt, rt.upload(inp.x, [M, K]), g.t, eps, Ws.map((W) => W.t), bias, { ...run, layout });
  const got = await rt.read(out);
  const ref = gemvRmsnormRef(inp.x, g.values, eps, Ws.map((W) => W.values), Ns, M, K, c.bias ? inp.bias : null);
  const h = rmsnormRowsRef(inp.x, g.values, M, K, eps);
  const tol = tolFor(K, maxAbs(h) * Math.max(...Ws.map((W) => maxAbs(W.values))), c.bias ? maxAbs(inp.bias) : 0);
  const { segments, size } = gemvRmsnormLayout(M, Ns, layout);
  assert.equal(got.length, size);
  return assertAllClose(fromLayout(got, M, Ns, segments), ref, tol, `${name} ${JSON.stringify(c)}`);
}

test('q/k/v in one dispatch: M = 1, 2, 5, 16; vec4 (K % 4 == 0) and element path; f32 / bf16 / f16; bias; eps', async () => {
  const rng = new Rng(31);
  // segments of 7, 4, 5 columns: none a multiple of the 3 columns per workgroup
  for (const M of [1, 2, 5, 16]) {
    await check(rng, { M, K: 20, Ns: [7, 4, 5], bias: M % 2 === 0 }, T16, 'vec f32');
    await check(rng, { M, K: 13, Ns: [7, 4, 5], bias: M % 2 === 1, g: 'bf16' }, T16, 'element f32');
    await check(rng, { M, K: 24, Ns: [7, 4, 5], w: 'bf16', g: 'bf16', bias: true }, T16, 'vec bf16');
    await check(rng, { M, K: 9, Ns: [7, 4, 5], w: 'bf16', g: M === 5 ? 'f16' : 'f32' }, T16, 'element bf16');
  }
  // f16 weights on both paths; one and two segments; eps large enough to dominate the small rows (x/10)
  await check(rng, { M: 3, K: 16, Ns: [9], w: 'f16', g: 'f16', eps: 0.5 }, T16, 'vec f16');
  await check(rng, { M: 4, K: 11, Ns: [5, 2], w: 'f16', bias: true, eps: 0.5 }, T16, 'element f16');
});

test('decode plan (1 row, 256 lanes): K = 896 and 4864 in bf16, row blocks for M = 2, blocks layout', async () => {
  const rng = new Rng(32);
  // Qwen2-0.5B-like q/k/v widths scaled down: 3 segments, 4 columns a workgroup, tails of 1..3
  await check(rng, { M: 1, K: 896, Ns: [66, 9, 9], w: 'bf16', g: 'bf16', bias: true }, DECODE, 'decode');
  await check(rng, { M: 2, K: 896, Ns: [13, 6, 7], w: 'bf16', g: 'bf16', bias: true, layout: 'blocks' }, DECODE, 'decode/blocks');
  await check(rng, { M: 1, K: 4864, Ns: [5], w: 'bf16', g: 'bf16' }, DECODE, 'decode K=4864');
  // blocks layout on the 16-row plan: segments start on 64-element boundaries
  await check(rng, { M: 5, K: 20, Ns: [7, 4, 5], bias: true, layout: 'blocks' }, T16, 'blocks');
  const { segments, size } = gemvRmsnormLayout(5, [7, 4, 5], 'blocks');
  assert.deepEqual(segments, [{ offset: 0, rowStride: 7 }, { offset: 64, rowStride: 4 }, { offset: 128, rowStride: 5 }]);
  assert.equal(size, 153);
  // the default plan for decode shapes is this one
  assert.deepEqual(planGemvNorm(1, 896, 1, 4), { vec: true, rows: 1, lanes: 256, cols: 4, values: 5 });
});

test('single W with more than 65535 column groups (grid1d), tiny K: lm_head-like', async () => {
  const rng = new Rng(33);
  // 3 columns a workgroup: 65537 column groups → a [32769, 2] grid whose last group owns nothing
  await check(rng, { M: 1, K: 3, Ns: [3 * 65536 + 1] }, T16, 'grid1d');
});

test('NaN in x stays in its row; a zero row gives the bias; out is overwritten; rows agree on every plan', async () => {
  const rt = await testRuntime();
  const rng = new Rng(34);
  const [M, K, Ns] = [5, 24, [7, 4, 5]];
  const inp = inputs(rng, M, K, Ns);
  inp.x[3 * K + 5] = NaN; // row 3
  inp.x.fill(0, 1 * K, 2 * K); // row 1: rstd = 1/sqrt(eps), y = bias
  const N = 16;
  const out = rt.upload(new Float32Array(M * N).fill(NaN), [M, N]);
  const Ws = inp.Ws.map((v, s) => rt.upload(v, [Ns[s], K]));
  const got = await rt.read(gemvRmsnorm(rt, rt.upload(inp.x, [M, K]), rt.upload(inp.g, [K]), 1e-6, Ws, rt.upload(inp.bias, [N]), { ...T16, out }));
  const ref = gemvRmsnormRef(inp.x, inp.g, 1e-6, inp.Ws, Ns, M, K, inp.bias);
  const h = rmsnormRowsRef(inp.x, inp.g, M, K, 1e-6).filter((v) => !Number.isNaN(v)); // rows but row 3
  const tol = tolFor(K, maxAbs(h) * Math.max(...inp.Ws.map(maxAbs)), maxAbs(inp.bias));
  for (let m = 0; m < M; m++) {
    const row = got.subarray(m * N, (m + 1) * N);
    if (m === 3) assert.ok(row.every((v) => Number.isNaN(v)), `row 3 should be NaN: ${row}`);
    else assertAllClose(row, ref.subarray(m * N, (m + 1) * N), tol, `row ${m}`);
  }
  assert.deepEqual(Array.from(got.subarray(N, 2 * N)), Array.from(inp.bias));
});

test('equals the unfused rmsnorm_forward → matmul (gemv) on the GPU: bf16 q/k/v with bias, M = 2, K = 896', async () => {
  const rt = await testRuntime();
  const rng = new Rng(35);
  const [M, K, Ns] = [2, 896, [24, 8, 8]];
  const inp = inputs(rng, M, K, Ns);
  const g = upload(rt, inp.g, [K], 'bf16');
  const Ws = inp.Ws.map((v, s) => upload(rt, v, [Ns[s], K], 'bf16'));
  const bias = rt.upload(inp.bias, [40]);
  const x = rt.upload(inp.x, [M, K]);
  const fused = await rt.read(gemvRmsnorm(rt, x, g.t, 1e-6, Ws.map((W) => W.t), bias)); // default plan
  const { y } = rmsnormForward(rt, x, g.t, 1e-6); // [M, K]
  const col0 = [0, Ns[0], Ns[0] + Ns[1]]; // first column of each segment
  const unfused = new Float32Array(M * 40); // [M, 40]
  for (let s = 0; s < 3; s++) {
    const b = rt.upload(inp.bias.slice(col0[s], col0[s] + Ns[s]), [Ns[s]]);
    const p = await rt.read(matmul(rt, y, Ws[s].t, { transB: true, version: 'gemv', bias: b })); // [M, N_s]
    for (let m = 0; m < M; m++) unfused.set(p.subarray(m * Ns[s], (m + 1) * Ns[s]), m * 40 + col0[s]);
  }
  const h = rmsnormRowsRef(inp.x, g.values, M, K, 1e-6);
  // two fp32 kernels, each within the matmul tolerance of float64: twice that bound between them
  const tol = tolFor(K, maxAbs(h) * Math.max(...Ws.map((W) => maxAbs(W.values))), maxAbs(inp.bias));
  assertAllClose(fused, unfused, { atol: 2 * tol.atol, rtol: 2 * tol.rtol }, 'fused vs unfused');
});

test('guards: shapes, dtypes, weight count, aliasing, fit of the plan', async () => {
  const rt = await testRuntime();
  const x = rt.empty([2, 8]), g = rt.empty([8]), W = rt.empty([4, 8]), W8 = rt.empty([8, 8]);
  assert.throws(() => gemvRmsnorm(rt, x, rt.empty([7]), 1e-6, [W], null), /g must be \[8\]/);
  assert.throws(() => gemvRmsnorm(rt, x, g, 1e-6, [rt.empty([4, 7])], null), /weights must be \[N, 8\]/);
  assert.throws(() => gemvRmsnorm(rt, x, g, 1e-6, [W, W, W, W], null), /1 to 3 weights/);
  assert.throws(() => gemvRmsnorm(rt, x, g, 1e-6, [W, rt.empty([4, 8], 'bf16')], null), /one dtype/);
  assert.throws(() => gemvRmsnorm(rt, x, g, 1e-6, [W], rt.empty([5])), /bias must be f32 \[4\]/);
  assert.throws(() => gemvRmsnorm(rt, x, g, -1, [W], null), /eps/);
  assert.throws(() => gemvRmsnorm(rt, x, g, 1e-6, [W8], null, { out: x }), /share a buffer/);
  assert.throws(() => planGemvNorm(16, 800, 1, 4, { rows: 16, lanes: 256 }), /do not fit/);
});
