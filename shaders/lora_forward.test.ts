import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { loraForward, loraForwardBlocks } from './lora_forward.ts';
import { loraForwardRef, loraForwardBlocksRef } from './lora_forward.ref.ts';
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

/** Splits a row-major [N, stride] array into the window's values and everything outside it. */
function splitWindow(a: ArrayLike<number>, N: number, stride: number, offset: number, width: number): { inside: number[]; outside: number[] } {
  const inside: number[] = [], outside: number[] = [];
  for (let n = 0; n < N; n++)
    for (let c = 0; c < stride; c++) (c >= offset && c < offset + width ? inside : outside).push(a[n * stride + c]);
  return { inside, outside };
}

/**
 * The adapter adds into columns offset..offset+out of a wider y [N, stride] (q|k|v fused). Outside
 * the window y must be bit-for-bit its input: checked with atol = rtol = 0. With `poison`, the
 * outside columns hold NaN (so a kernel whose accumulate read C at a wrong column shows NaN in the
 * window) and are checked by NaN-ness instead.
 */
async function checkWindow(seed: number, N: number, din: number, r: number, dout: number, stride: number, offset: number, poison = false): Promise<void> {
  const rt = await testRuntime();
  const rng = new Rng(seed);
  const x = rng.uniform(N * din, -1, 1); // [N, in]
  const A = rng.uniform(r * din, -0.5, 0.5); // [r, in]
  const B = rng.uniform(dout * r, -0.5, 0.5); // [out, r]
  const y0 = rng.uniform(N * stride, -1, 1); // [N, stride]: the fused projection's output
  if (poison) for (let n = 0; n < N; n++) for (let c = 0; c < stride; c++) if (c < offset || c >= offset + dout) y0[n * stride + c] = NaN;
  const ty = rt.upload(y0, [N, stride]);
  const { xa } = loraForward(rt, rt.upload(x, [N, din]), rt.upload(A, [r, din]), rt.upload(B, [dout, r]), ty, SCALE, { yCols: { offset, stride } });
  const ref = loraForwardRef(x, A, B, y0, N, din, r, dout, SCALE, { offset, stride });
  const name = `N=${N} in=${din} r=${r} out=${dout} window ${offset}..${offset + dout} of ${stride}${poison ? ' (NaN outside)' : ''}`;
  assertAllClose(await rt.read(xa), ref.xa, tol(ref.xa), `xa ${name}`);
  const got = splitWindow(await rt.read(ty), N, stride, offset, dout);
  const want = splitWindow(ref.y, N, stride, offset, dout);
  const before = splitWindow(y0, N, stride, offset, dout);
  // inside: same tolerance as check() (matmul 1e-4, atol from the adapter term alone)
  const t = tol(want.inside.map((v, i) => v - before.inside[i]));
  assertAllClose(got.inside, want.inside, { rtol: t.rtol, atol: t.atol + 1e-7 }, `y window ${name}`);
  // outside: untouched, exactly (the kernel neither reads nor writes there)
  if (poison) assert.ok(got.outside.every(Number.isNaN), `y outside the window kept its NaN: ${name}`);
  else assertAllClose(got.outside, before.outside, { atol: 0, rtol: 0 }, `y outside window ${name}`);
  xa.dispose();
}

test('lora_forward: yCols window in the middle of a wider y (stride 3·out+5, offset out+2); outside untouched', async () => {
  await checkWindow(11, 7, 5, 1, 5, 3 * 5 + 5, 5 + 2);
  await checkWindow(12, 37, 20, 4, 19, 3 * 19 + 5, 19 + 2);
  await checkWindow(13, 21, 9, 33, 40, 3 * 40 + 5, 40 + 2, true);
});

test('lora_forward: yCols window at the start (offset 0) and at the end (offset = stride − out) of a row', async () => {
  await checkWindow(14, 9, 6, 3, 7, 30, 0);
  await checkWindow(15, 9, 6, 3, 7, 30, 23, true);
  await checkWindow(16, 5, 4, 2, 3, 3, 0); // stride = out: the default layout, passed explicitly
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
  // column windows: y must be [N, stride] and the window must fit in it
  const wide = rt.zeros([3, 11]);
  assert.throws(() => loraForward(rt, x, A, B, wide, 1), /lora_forward y/); // no yCols: y must be [N, out]
  assert.throws(() => loraForward(rt, x, A, B, wide, 1, { yCols: { offset: 8, stride: 11 } }), /does not fit/);
  assert.throws(() => loraForward(rt, x, A, B, wide, 1, { yCols: { offset: 2, stride: 12 } }), /lora_forward y/);
  assert.throws(() => loraForward(rt, x, A, B, wide, 1, { yCols: { offset: -1, stride: 11 } }), /yCols/);
  assert.throws(() => loraForward(rt, x, A, B, wide, 1, { yCols: { offset: 1.5, stride: 11 } }), /yCols/);
  loraForward(rt, x, A, B, wide, 1, { yCols: { offset: 7, stride: 11 } }).xa.dispose(); // last fitting offset
});

test('lora_forward: xa a window of a wider [N, stride] (adapters stacked on one input), y a window too', async () => {
  const rt = await testRuntime();
  const rng = new Rng(21);
  const [N, din, r, dout, yStride, yOff] = [37, 20, 4, 19, 45, 7];
  const [xaStride, xaOff] = [3 * r + 1, r]; // the middle adapter of three, one spare column
  const x = rng.uniform(N * din, -1, 1), A = rng.uniform(r * din, -0.5, 0.5), B = rng.uniform(dout * r, -0.5, 0.5);
  const y0 = rng.uniform(N * yStride, -1, 1);
  const ref = loraForwardRef(x, A, B, y0, N, din, r, dout, SCALE, { offset: yOff, stride: yStride });
  // the stacked x·Aᵀ: this adapter's columns hold its xa, the others NaN (a read outside the window would show)
  const wide = new Float32Array(N * xaStride).fill(NaN);
  for (let n = 0; n < N; n++) for (let j = 0; j < r; j++) wide[n * xaStride + xaOff + j] = ref.xa[n * r + j];
  const ty = rt.upload(y0, [N, yStride]);
  const txa = rt.upload(wide, [N, xaStride]);
  const out = loraForward(rt, rt.upload(x, [N, din]), rt.upload(A, [r, din]), rt.upload(B, [dout, r]), ty, SCALE, { yCols: { offset: yOff, stride: yStride }, xa: txa, xaCols: { offset: xaOff, stride: xaStride } });
  assert.equal(out.xa, txa);
  const got = splitWindow(await rt.read(ty), N, yStride, yOff, dout);
  const want = splitWindow(ref.y, N, yStride, yOff, dout);
  const before = splitWindow(y0, N, yStride, yOff, dout);
  const t = tol(want.inside.map((v, i) => v - before.inside[i]));
  assertAllClose(got.inside, want.inside, { rtol: t.rtol, atol: t.atol + 1e-7 }, 'y window from an xa window');
  assertAllClose(got.outside, before.outside, { atol: 0, rtol: 0 }, 'y outside its window');
  const x2 = rt.zeros([N, din]), A2 = rt.zeros([r, din]), B2 = rt.zeros([dout, r]);
  assert.throws(() => loraForward(rt, x2, A2, B2, ty, 1, { yCols: { offset: yOff, stride: yStride }, xaCols: { offset: 0, stride: 8 } }), /xaCols needs xa/);
  assert.throws(() => loraForward(rt, x2, A2, B2, ty, 1, { yCols: { offset: yOff, stride: yStride }, xa: txa, xaCols: { offset: 2 * r + 2, stride: xaStride } }), /xaCols/);
});

test('lora_forward blocks: q|k|v adapters into their windows of one y in one dispatch, against float64', async () => {
  const rt = await testRuntime();
  const rng = new Rng(22);
  for (const { N, r, starts, W } of [
    { N: 37, r: 4, starts: [0, 32, 48], W: 64 }, // q 32 wide, k and v 16
    { N: 5, r: 3, starts: [0, 16], W: 40 }, // two blocks, the last ragged (40 = 2.5 tiles)
  ]) {
    const k = starts.length;
    const xa = rng.uniform(N * k * r, -1, 1), B = rng.uniform(W * r, -0.5, 0.5), y0 = rng.uniform(N * W, -1, 1);
    const want = loraForwardBlocksRef(xa, B, y0, N, W, r, SCALE, starts);
    const ty = rt.upload(y0, [N, W]);
    loraForwardBlocks(rt, rt.upload(xa, [N, k * r]), rt.upload(B, [W, r]), ty, SCALE, starts);
    const t = tol(want.map((v, i) => v - y0[i]));
    assertAllClose(await rt.read(ty), want, { rtol: t.rtol, atol: t.atol + 1e-7 }, `blocks ${starts.join('|')} of ${W}, r ${r}`);
  }
  const [xa, B, y] = [rt.zeros([4, 8]), rt.zeros([48, 4]), rt.zeros([4, 48])];
  assert.throws(() => loraForwardBlocks(rt, xa, B, y, 1, [0, 24]), /multiples of 16/);
  assert.throws(() => loraForwardBlocks(rt, xa, B, y, 1, [0, 16, 32]), /need xa \[N, 12\]/);
  assert.throws(() => loraForwardBlocks(rt, xa, B, rt.zeros([4, 40]), 1, [0, 16]), /blocks y/);
});
