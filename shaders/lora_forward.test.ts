import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { loraForward } from './lora_forward.ts';
import { loraForwardRef } from './lora_forward.ref.ts';
import { testRuntime, releaseTestRuntime } from '../src/engine/testing/gpu.ts';
import { assertAllClose, allClose, type Tolerance } from '../src/engine/testing/allclose.ts';
import { Rng } from '../src/engine/testing/rng.ts';

after(releaseTestRuntime);

// Tolerance: fp32 matmul-class reductions vs float64 → 1e-4 relative (CONVENTIONS: matmul 1e-4).
// Plus atol = 1e-6 · max|ref|: with random signs an element can cancel to ~0, where relative error
// is meaningless; its absolute error is still ~ sqrt(K) · ε32 · |terms| ≲ 1e-6 of the tensor's scale
// (K ≤ 1000 here, ε32 = 6e-8).
function tol(ref: ArrayLike<number>): Tolerance {
  let m = 0;
  for (let i = 0; i < ref.length; i++) m = Math.max(m, Math.abs(ref[i]));
  return { rtol: 1e-4, atol: 1e-6 * m };
}

const SCALE = 2.0; // alpha / r as PEFT defines it; not 1 so that a lost scale shows

async function check(seed: number, N: number, din: number, r: number, dout: number): Promise<void> {
  const rt = await testRuntime();
  const rng = new Rng(seed);
  const x = rng.uniform(N * din, -1, 1); // [N, in]
  const A = rng.uniform(r * din, -0.5, 0.5); // [r, in]
  const B = rng.uniform(dout * r, -0.5, 0.5); // [out, r]
  const y0 = rng.uniform(N * dout, -1, 1); // [N, out]: the base layer's output, must be kept
  const ty = rt.upload(y0, [N, dout]);
  const tx = rt.upload(x, [N, din]), tA = rt.upload(A, [r, din]), tB = rt.upload(B, [dout, r]);
  // xa comes from the pool: hand it a buffer full of NaN first, so a stage 1 that read its
  // output before overwriting it (accumulate) would show
  rt.upload(new Float32Array(N * r).fill(NaN), [N, r]).dispose();
  const { xa } = loraForward(rt, tx, tA, tB, ty, SCALE);
  const ref = loraForwardRef(x, A, B, y0, N, din, r, dout, SCALE);
  const name = `N=${N} in=${din} r=${r} out=${dout}`;
  assertAllClose(await rt.read(xa), ref.xa, tol(ref.xa), `xa ${name}`);
  // y's tolerance is scaled by the adapter term alone, so a y that skipped the update cannot pass
  const delta = ref.y.map((v, i) => v - y0[i]);
  const t = tol(delta);
  assertAllClose(await rt.read(ty), ref.y, { rtol: t.rtol, atol: t.atol + 1e-7 }, `y ${name}`);
}

test('lora_forward: ranks 1, 4, 16, 33, 128 on sizes that are not multiples of 16', async () => {
  await check(1, 7, 5, 1, 5);
  await check(2, 1, 64, 4, 100);
  await check(3, 130, 100, 16, 64);
  await check(4, 7, 100, 33, 5);
  await check(5, 17, 5, 128, 33);
});

test('lora_forward: long reduction over in (1000) and long N (1000) with small dims', async () => {
  await check(6, 3, 1000, 4, 7);
  await check(7, 1000, 5, 4, 3);
});

test('lora_forward: y keeps its contents and NaN in y propagates (a broken kernel cannot pass)', async () => {
  const rt = await testRuntime();
  const rng = new Rng(8);
  const [N, din, r, dout] = [3, 5, 2, 4];
  const x = rng.uniform(N * din), A = rng.uniform(r * din), B = new Float32Array(dout * r); // B = 0: y unchanged
  const y0 = rng.uniform(N * dout);
  y0[5] = NaN;
  const ty = rt.upload(y0, [N, dout]);
  loraForward(rt, rt.upload(x, [N, din]), rt.upload(A, [r, din]), rt.upload(B, [dout, r]), ty, SCALE);
  const out = await rt.read(ty);
  assert.ok(Number.isNaN(out[5]));
  const rest = Array.from(y0).filter((_, i) => i !== 5);
  assertAllClose(Array.from(out).filter((_, i) => i !== 5), rest, { atol: 0, rtol: 0 }, 'y with B = 0');
  assert.equal(allClose(out, y0, { atol: 1, rtol: 1 }).ok, false);
});

test('lora_forward: guards reject bad shapes and dropout != 0', async () => {
  const rt = await testRuntime();
  const x = rt.zeros([3, 5]), A = rt.zeros([2, 5]), B = rt.zeros([4, 2]), y = rt.zeros([3, 4]);
  assert.throws(() => loraForward(rt, x, A, B, y, 1, { dropout: 0.1 }), /dropout/);
  assert.throws(() => loraForward(rt, x, rt.zeros([2, 6]), B, y, 1), /lora_forward A/);
  assert.throws(() => loraForward(rt, x, A, rt.zeros([4, 3]), y, 1), /lora_forward B/);
  assert.throws(() => loraForward(rt, x, A, B, rt.zeros([3, 5]), 1), /lora_forward y/);
  loraForward(rt, x, A, B, y, 1, { dropout: 0 }).xa.dispose();
});
