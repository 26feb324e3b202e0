// matmul version 'vec4h' (matmul_forward_vec4.wgsl with f16 workgroup tiles: mixed precision) against matmulRef (float64), per element:
//   |got − ref| ≤ (2·u + 1e-6)·|alpha|·Σ_k |a||b|  +  1e-6·(|bias| + |C before|)  +  1e-6·|ref|,   u = 2^-11
// (the kernel's own bound: both operands rounded to f16, products and sums in f32, whose rounding the 1e-6 terms
// cover with room). Each case also checks that f16 rounding really happened (an error far
// above f32's): a kernel that quietly ran in f32 would pass the bound and fail that. Runs only where the device has
// shader-f16 (lavapipe does; the GPU machine's NVIDIA driver through Dawn does not): elsewhere each test says it
// skips, and the last test checks that asking for f16 there fails with a clear error instead.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { matmul, vec4Bk, vec4WorkgroupBytes, type MatmulOptions } from './matmul_forward.ts';
import { matmulRef } from './matmul_forward.ref.ts';
import { testRuntime, releaseTestRuntime, logDispatches } from '../src/engine/testing/gpu.ts';
import { Rng } from '../src/engine/testing/rng.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';

after(releaseTestRuntime);

const U16 = 2 ** -11;
const NO_F16 = 'this device has no shader-f16: the mixed-precision kernel cannot run here (skipped)';

interface Case { M: number; N: number; K: number; transA?: boolean; transB?: boolean; batch?: number; bias?: boolean; alpha?: number; accumulate?: boolean }

/** One vec4h matmul on seeded inputs in [-1, 1] against float64, element by element. */
async function checkHalf(rt: Runtime, rng: Rng, c: Case, run: MatmulOptions, name: string): Promise<void> {
  const { M, N, K, transA = false, transB = false, alpha = 1 } = c;
  const batch = c.batch ?? 1;
  const lead = c.batch === undefined ? [] : [batch];
  const a = rng.uniform(batch * M * K), b = rng.uniform(batch * K * N);
  const bias = c.bias ? rng.uniform(N, -2, 2) : undefined;
  const prev = c.accumulate ? rng.uniform(batch * M * N, -2, 2) : undefined;
  const out = prev ? rt.upload(prev, [...lead, M, N]) : undefined;
  const got = await rt.read(matmul(rt, rt.upload(a, [...lead, ...(transA ? [K, M] : [M, K])]), rt.upload(b, [...lead, ...(transB ? [N, K] : [K, N])]), {
    ...run, transA, transB, alpha, bias: bias && rt.upload(bias, [N]), accumulate: c.accumulate, out,
  }));
  const o = { transA, transB, batch };
  const ref = matmulRef(a, b, M, N, K, { ...o, bias, alpha, accumulateInto: prev });
  const mag = matmulRef(a.map(Math.abs), b.map(Math.abs), M, N, K, o); // Σ_k |a||b| per output
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const n = i % N;
    const extra = 1e-6 * ((bias ? Math.abs(bias[n]) : 0) + (prev ? Math.abs(prev[i]) : 0)) + 1e-6 * Math.abs(ref[i]);
    const bound = (2 * U16 + 1e-6) * Math.abs(alpha) * mag[i] + extra;
    const err = Math.abs(got[i] - ref[i]);
    assert.ok(err <= bound, `${name} ${JSON.stringify(c)}: C[${i}] = ${got[i]}, want ${ref[i]} (error ${err.toExponential(2)} > bound ${bound.toExponential(2)})`);
    if (mag[i] > 0) worst = Math.max(worst, (err - extra > 0 ? err - extra : 0) / (Math.abs(alpha) * mag[i]));
  }
  // f32 would be near 1e-7 of Σ|a||b|; f16 operands alone put ~1e-4 on random inputs of this size
  assert.ok(worst > 1e-5, `${name} ${JSON.stringify(c)}: largest error ${worst.toExponential(2)} of Σ|a||b|: no f16 rounding, did vec4h run?`);
}

const TRANS = [[false, false], [false, true], [true, false], [true, true]] as const;

test('matmul vec4h: every trans combination, both tiles and K steps, edges past the tile and K tails', async (t) => {
  const rt = await testRuntime();
  if (!rt.ctx.hasF16) return t.skip(NO_F16);
  const rng = new Rng(41);
  const runs: [string, MatmulOptions][] = [
    ['vec4h/64/bk8', { version: 'vec4h', tile: 64, bk: 8, specialize: false }],
    ['vec4h/128/bk16', { version: 'vec4h', tile: 128, bk: 16, specialize: false }],
    ['vec4h/128x64', { version: 'vec4h', tile: 128, tileN: 64, specialize: false }],
  ];
  for (const [name, run] of runs) {
    for (const [transA, transB] of TRANS) {
      for (const [M, N, K] of [[4, 4, 4], [132, 20, 68], [8, 132, 36]]) await checkHalf(rt, rng, { M, N, K, transA, transB }, run, name);
    }
  }
});

test('matmul vec4h: batch, bias, alpha, accumulate, split-K over it, and a long K', async (t) => {
  const rt = await testRuntime();
  if (!rt.ctx.hasF16) return t.skip(NO_F16);
  const rng = new Rng(42);
  const run: MatmulOptions = { version: 'vec4h', tile: 64, bk: 16, specialize: false };
  await checkHalf(rt, rng, { M: 20, N: 36, K: 68, batch: 3, transB: true, bias: true, alpha: -0.5 }, run, 'vec4h/batch');
  await checkHalf(rt, rng, { M: 36, N: 20, K: 20, accumulate: true, alpha: 2 }, run, 'vec4h/accumulate');
  const split: MatmulOptions = { version: 'splitk', splitInner: 'vec4h', tile: 64, splits: 3, specialize: false };
  await checkHalf(rt, rng, { M: 40, N: 12, K: 100, transB: true, bias: true }, split, 'vec4h/splitk');
  // 1024 terms: sums in f16 would drift past the bound; f32 accumulation does not
  await checkHalf(rt, rng, { M: 8, N: 8, K: 1024, transB: true }, run, 'vec4h/longK');
});

test("matmul 'auto' under precision f16 runs vec4h where it would run vec4 or naive, and as split-K's first pass", async (t) => {
  const rt = await testRuntime();
  if (!rt.ctx.hasF16) return t.skip(NO_F16);
  const rng = new Rng(43);
  const prefs = rt.kernelPrefs;
  const log = logDispatches(rt);
  const ran = log.names;
  try {
    rt.kernelPrefs = { ...prefs, precision: 'f16' };
    await checkHalf(rt, rng, { M: 40, N: 36, K: 16, accumulate: true, alpha: 0.5 }, {}, 'auto/f16'); // what ran naive: vec4h
    assert.deepEqual(ran, ['matmul_forward_vec4h']);
    ran.length = 0;
    await checkHalf(rt, rng, { M: 36, N: 40, K: 1024, transB: true }, { version: 'splitk', splits: 4, specialize: false }, 'splitk/f16');
    assert.deepEqual(ran, ['matmul_forward_vec4h', 'matmul_forward_splitk4']); // N % 4 == 0: the reduce four columns an invocation
  } finally {
    log.restore();
    rt.kernelPrefs = prefs;
  }
});

test('matmul vec4h: without shader-f16 it fails naming the feature (forced, or through precision f16)', async () => {
  const rt = await testRuntime();
  const ctx = rt.ctx as { hasF16: boolean };
  const had = ctx.hasF16;
  const prefs = rt.kernelPrefs;
  // [40, 16] · [16, 36]: 'auto' would run it naive (K < 32), so vec4 or vec4h (not gemv: M > 16)
  const a = rt.upload(new Float32Array(40 * 16), [40, 16]), b = rt.upload(new Float32Array(16 * 36), [16, 36]);
  try {
    ctx.hasF16 = false; // as on a GPU without the feature
    assert.throws(() => matmul(rt, a, b, { version: 'vec4h' }), /needs the GPU feature shader-f16/);
    rt.kernelPrefs = { ...prefs, precision: 'f16' };
    assert.throws(() => matmul(rt, a, b), /needs the GPU feature shader-f16/);
    rt.kernelPrefs = prefs;
    assert.doesNotThrow(() => matmul(rt, a, b)); // f32 (the default) runs anywhere
    await rt.sync(); // nothing left recorded when the device goes (NVIDIA's driver aborted the process at exit)
  } finally {
    ctx.hasF16 = had;
    rt.kernelPrefs = prefs;
  }
});

test('matmul vec4h: its f16 tiles fit 16-deep K steps at tile 128 within WebGPU default 16 KiB (f32 needs 8-deep there)', () => {
  assert.equal(vec4WorkgroupBytes(128, 16, 128, 8), 8448);
  assert.equal(vec4Bk(16384, 128, 128, 8), 16);
  assert.equal(vec4Bk(16384, 128), 8);
});
