// gemv_swiglu (ln2 + gate + up + SwiGLU in one dispatch) against its float64 reference and against
// the unfused rmsnorm_forward → matmul (gate, up) → swiglu_forward on the GPU. Few pipelines (each
// takes a second or more on lavapipe): the three entry points at 16 rows x 64 lanes x 1 column, and
// the decode plan 1 row x 256 lanes x 2 columns.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { gemvSwiglu, type GemvSwigluOptions } from './gemv_swiglu.ts';
import { gemvSwigluRef } from './gemv_swiglu.ref.ts';
import { rmsnormRowsRef } from './gemv_rmsnorm.ref.ts';
import { planGemvNorm } from './gemv_rmsnorm.ts';
import { rmsnormForward } from './rmsnorm_forward.ts';
import { matmul } from './matmul_forward.ts';
import { swigluForward } from './swiglu_forward.ts';
import { tolFor, maxAbs } from './matmul_forward.check.ts';
import { testRuntime, releaseTestRuntime } from '../src/engine/testing/gpu.ts';
import { assertAllClose, type Tolerance } from '../src/engine/testing/allclose.ts';
import { Rng } from '../src/engine/testing/rng.ts';
import { toHalfBits, fromHalfBits } from '../src/engine/gpu/half.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import type { Tensor } from '../src/engine/gpu/tensor.ts';

after(releaseTestRuntime);

// Tolerance: gate and up are matmuls, each within the matmul tolerance of float64 (tolFor in
// matmul_forward.check.ts: A = 1e-5·sqrt(K)·max|h|·max|W|, plus 1e-4 relative; see gemv_rmsnorm.test.ts
// for why that holds with rstd applied after the sum). act = silu(gate)·up then moves by at most
// |silu'|·|up|·Δgate + |silu(gate)|·Δup + Δgate·Δup, |silu'| ≤ 1.1: that bound, taken at the largest
// |up|, |silu(gate)|, |gate|, is the atol (an absolute bound: the dot-product error is set by the
// scale of the terms, not by the value, and silu(gate)/gate → 0 for gate ≪ 0 would make a relative
// one meaningless); plus rtol 1e-4 for silu and the product's own roundings. A wrong index, row or
// norm is off by O(1) of max|silu(gate)·up|, ~1000x above it.
function tolAct(K: number, scale: number, ref: { gate: Float64Array; up: Float64Array }): Tolerance {
  const A = tolFor(K, scale).atol;
  const dg = A + 1e-4 * maxAbs(ref.gate), du = A + 1e-4 * maxAbs(ref.up);
  const silu = ref.gate.map((a) => a / (1 + Math.exp(-a)));
  return { atol: 1.1 * maxAbs(ref.up) * dg + maxAbs(silu) * du + dg * du, rtol: 1e-4 };
}

const T16: GemvSwigluOptions = { rows: 16, lanes: 64 };    // 1 column per workgroup
const DECODE: GemvSwigluOptions = { rows: 1, lanes: 256 }; // 2 columns per workgroup

type Half = 'f32' | 'f16' | 'bf16';
interface Case {
  M: number;
  K: number;
  F: number;
  w?: Half;              // dtype of Wg and Wu
  g?: Half | 'none';     // dtype of the norm weight; 'none': no norm (h = x)
  eps?: number;
  mag?: number;          // x ~ U(-mag, mag) (rows also scaled by 0.1, 1, 10)
}

function upload(rt: Runtime, v: Float32Array, shape: number[], dtype: Half): { t: Tensor; values: Float32Array } {
  if (dtype === 'f32') return { t: rt.upload(v, shape), values: v };
  const bits = toHalfBits(v, dtype);
  return { t: rt.upload(bits, shape, dtype), values: fromHalfBits(bits, dtype) };
}

function inputs(rng: Rng, M: number, K: number, F: number, mag = 2) {
  const x = rng.uniform(M * K, -mag, mag); // [M, K], rows of different magnitudes
  for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) x[m * K + k] *= 10 ** ((m % 3) - 1);
  return { x, g: rng.uniform(K, -1.5, 1.5), Wg: rng.uniform(F * K), Wu: rng.uniform(F * K) };
}

async function check(rng: Rng, c: Case, run: GemvSwigluOptions, name: string) {
  const rt = await testRuntime();
  const { M, K, F, w = 'f32', g: gd = 'f32', eps = 1e-6 } = c;
  const inp = inputs(rng, M, K, F, c.mag);
  const g = gd === 'none' ? null : upload(rt, inp.g, [K], gd);
  const Wg = upload(rt, inp.Wg, [F, K], w), Wu = upload(rt, inp.Wu, [F, K], w);
  const norm = g ? { g: g.t, eps } : null;
  const got = await rt.read(gemvSwiglu(rt, rt.upload(inp.x, [M, K]), norm, Wg.t, Wu.t, run));
  const ref = gemvSwigluRef(inp.x, g ? { g: g.values, eps } : null, Wg.values, Wu.values, M, K, F);
  const h = g ? rmsnormRowsRef(inp.x, g.values, M, K, eps) : inp.x;
  const tol = tolAct(K, maxAbs(h) * Math.max(maxAbs(Wg.values), maxAbs(Wu.values)), ref);
  return assertAllClose(got, ref.act, tol, `${name} ${JSON.stringify(c)}`);
}

test('with the norm: M = 1, 2, 5, 16; vec4 (K % 4 == 0) and element path; f32 / bf16 / f16 weights; eps', async () => {
  const rng = new Rng(41);
  for (const M of [1, 2, 5, 16]) {
    await check(rng, { M, K: 20, F: 7 }, T16, 'vec f32');
    await check(rng, { M, K: 13, F: 7, g: 'bf16' }, T16, 'element f32');
    await check(rng, { M, K: 24, F: 7, w: 'bf16', g: 'bf16' }, T16, 'vec bf16');
    await check(rng, { M, K: 9, F: 7, w: 'bf16', g: M === 5 ? 'f16' : 'f32' }, T16, 'element bf16');
  }
  // f16 weights; eps large enough to dominate the small rows (x/10)
  await check(rng, { M: 3, K: 16, F: 5, w: 'f16', g: 'f16', eps: 0.5 }, T16, 'vec f16');
  await check(rng, { M: 4, K: 11, F: 5, w: 'f16', eps: 0.5 }, T16, 'element f16');
});

test('without the norm (h = x): both paths; gates up to ~±1e4 (silu → −0 and → gate, no Inf/NaN)', async () => {
  const rng = new Rng(42);
  await check(rng, { M: 3, K: 20, F: 9, g: 'none' }, T16, 'vec f32 no norm');
  await check(rng, { M: 16, K: 13, F: 9, w: 'bf16', g: 'none' }, T16, 'element bf16 no norm');
  // x up to ±1000 (row 2: ±1e4): |gate| in the thousands
  const r = await check(rng, { M: 3, K: 24, F: 9, g: 'none', mag: 1000 }, T16, 'huge gates');
  assert.ok(Number.isFinite(r.worstAbsErr));
});

test('decode plan (1 row, 256 lanes): K = 896 and 4864 in bf16, row blocks for M = 2', async () => {
  const rng = new Rng(43);
  await check(rng, { M: 1, K: 896, F: 37, w: 'bf16', g: 'bf16' }, DECODE, 'decode');
  await check(rng, { M: 2, K: 896, F: 9, w: 'bf16', g: 'bf16' }, DECODE, 'decode M=2');
  await check(rng, { M: 1, K: 4864, F: 5, w: 'bf16', g: 'bf16' }, DECODE, 'decode K=4864');
  // the default plan for decode shapes is this one
  assert.deepEqual(planGemvNorm(1, 896, 2, 2), { vec: true, rows: 1, lanes: 256, cols: 2, values: 5 });
});

test('more than 65535 column groups (grid1d), tiny K', async () => {
  const rng = new Rng(44);
  await check(rng, { M: 2, K: 3, F: 70_000 }, T16, 'grid1d'); // 1 column a workgroup: a [35000, 2] grid
});

test('NaN in x stays in its row; out is overwritten', async () => {
  const rt = await testRuntime();
  const rng = new Rng(45);
  const [M, K, F] = [5, 24, 7];
  const inp = inputs(rng, M, K, F);
  inp.x[2 * K + 7] = NaN; // row 2
  const out = rt.upload(new Float32Array(M * F).fill(NaN), [M, F]);
  const W = [rt.upload(inp.Wg, [F, K]), rt.upload(inp.Wu, [F, K])];
  const got = await rt.read(gemvSwiglu(rt, rt.upload(inp.x, [M, K]), { g: rt.upload(inp.g, [K]), eps: 1e-6 }, W[0], W[1], { ...T16, out }));
  const ref = gemvSwigluRef(inp.x, { g: inp.g, eps: 1e-6 }, inp.Wg, inp.Wu, M, K, F);
  const keep = (a: ArrayLike<number>) => Float64Array.from(a).filter((v) => !Number.isNaN(v));
  const h = keep(rmsnormRowsRef(inp.x, inp.g, M, K, 1e-6)); // rows but row 2
  const tol = tolAct(K, maxAbs(h) * Math.max(maxAbs(inp.Wg), maxAbs(inp.Wu)), { gate: keep(ref.gate), up: keep(ref.up) });
  for (let m = 0; m < M; m++) {
    const row = got.subarray(m * F, (m + 1) * F);
    if (m === 2) assert.ok(row.every((v) => Number.isNaN(v)), `row 2 should be NaN: ${row}`);
    else assertAllClose(row, ref.act.subarray(m * F, (m + 1) * F), tol, `row ${m}`);
  }
});

test('equals the unfused rmsnorm_forward → matmul gate, up → swiglu_forward on the GPU: bf16, M = 2, K = 896', async () => {
  const rt = await testRuntime();
  const rng = new Rng(46);
  const [M, K, F] = [2, 896, 24];
  const inp = inputs(rng, M, K, F);
  const g = upload(rt, inp.g, [K], 'bf16');
  const Wg = upload(rt, inp.Wg, [F, K], 'bf16'), Wu = upload(rt, inp.Wu, [F, K], 'bf16');
  const x = rt.upload(inp.x, [M, K]);
  const fused = await rt.read(gemvSwiglu(rt, x, { g: g.t, eps: 1e-6 }, Wg.t, Wu.t)); // default plan
  const { y } = rmsnormForward(rt, x, g.t, 1e-6); // [M, K]
  const gate = matmul(rt, y, Wg.t, { transB: true, version: 'gemv' }); // [M, F]
  const up = matmul(rt, y, Wu.t, { transB: true, version: 'gemv' }); // [M, F]
  const unfused = await rt.read(swigluForward(rt, gate, up)); // [M, F]
  const ref = gemvSwigluRef(inp.x, { g: g.values, eps: 1e-6 }, Wg.values, Wu.values, M, K, F);
  const h = rmsnormRowsRef(inp.x, g.values, M, K, 1e-6);
  // two fp32 computations, each within tolAct of float64: twice that bound between them
  const tol = tolAct(K, maxAbs(h) * Math.max(maxAbs(Wg.values), maxAbs(Wu.values)), ref);
  assertAllClose(fused, unfused, { atol: 2 * tol.atol, rtol: 2 * tol.rtol }, 'fused vs unfused');
});

test('guards: shapes, dtypes, aliasing', async () => {
  const rt = await testRuntime();
  const x = rt.empty([2, 8]), g = rt.empty([8]), W = rt.empty([8, 8]);
  assert.throws(() => gemvSwiglu(rt, x, { g: rt.empty([7]), eps: 1e-6 }, W, W), /g must be \[8\]/);
  assert.throws(() => gemvSwiglu(rt, x, { g, eps: NaN }, W, W), /eps/);
  assert.throws(() => gemvSwiglu(rt, x, null, rt.empty([8, 7]), W), /Wg must be \[F, 8\]/);
  assert.throws(() => gemvSwiglu(rt, x, null, W, rt.empty([8, 8], 'bf16')), /Wu must match/);
  assert.throws(() => gemvSwiglu(rt, x, null, W, rt.empty([4, 8])), /Wu must match/);
  assert.throws(() => gemvSwiglu(rt, x, null, W, W, { out: x }), /share a buffer/);
  assert.throws(() => gemvSwiglu(rt, x, null, W, W, { out: rt.empty([2, 4]) }), /out must be f32 \[2,8\]/);
});
