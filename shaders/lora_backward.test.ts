import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { loraBackward } from './lora_backward.ts';
import { loraBackwardRef } from './lora_backward.ref.ts';
import { loraForward } from './lora_forward.ts';
import { loraForwardRef } from './lora_forward.ref.ts';
import { testRuntime, releaseTestRuntime } from '../src/engine/testing/gpu.ts';
import { assertAllClose, allClose, type Tolerance } from '../src/engine/testing/allclose.ts';
import { Rng } from '../src/engine/testing/rng.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';

after(releaseTestRuntime);

// Tolerance: every output is an fp32 matmul-class reduction (over out, N or r) vs float64 →
// 1e-4 relative (CONVENTIONS: matmul 1e-4), plus atol = 1e-6 · max|update|: with random signs an
// element can cancel to ~0, where relative error means nothing, but its absolute error stays
// ~ sqrt(K) · ε32 · |terms| ≲ 1e-6 of the update's scale (K ≤ 1000, ε32 = 6e-8). The atol is taken
// from the update alone (not the pre-filled gradient), so a dropped or doubled update cannot pass.
function tolFor(updated: ArrayLike<number>, before: ArrayLike<number>): Tolerance {
  let m = 0;
  for (let i = 0; i < updated.length; i++) m = Math.max(m, Math.abs(updated[i] - before[i]));
  return { rtol: 1e-4, atol: 1e-6 * m };
}

const SCALE = 2.0; // alpha / r; not 1 so that a lost or doubled scale shows

interface Case { N: number; din: number; r: number; dout: number; withDx: boolean }

/** Random inputs, xa from the float64 forward rounded to f32 (what the kernel would be given). */
function inputs(seed: number, { N, din, r, dout }: Case) {
  const rng = new Rng(seed);
  const x = rng.uniform(N * din, -1, 1); // [N, in]
  const A = rng.uniform(r * din, -0.5, 0.5); // [r, in]
  const B = rng.uniform(dout * r, -0.5, 0.5); // [out, r]
  const dy = rng.uniform(N * dout, -1, 1); // [N, out]
  const xa = Float32Array.from(loraForwardRef(x, A, B, new Float32Array(N * dout), N, din, r, dout, SCALE).xa); // [N, r]
  // gradients hold earlier values: the kernels must add to them (pre-filled, not zero)
  const dA0 = rng.uniform(r * din, -1, 1); // [r, in]
  const dB0 = rng.uniform(dout * r, -1, 1); // [out, r]
  const dx0 = rng.uniform(N * din, -1, 1); // [N, in]
  return { x, A, B, dy, xa, dA0, dB0, dx0 };
}

async function check(rt: Runtime, seed: number, c: Case): Promise<void> {
  const { N, din, r, dout, withDx } = c;
  const v = inputs(seed, c);
  const dA = rt.upload(v.dA0, [r, din]);
  const dB = rt.upload(v.dB0, [dout, r]);
  const dx = withDx ? rt.upload(v.dx0, [N, din]) : null;
  loraBackward(rt, rt.upload(v.x, [N, din]), rt.upload(v.A, [r, din]), rt.upload(v.B, [dout, r]), rt.upload(v.xa, [N, r]), rt.upload(v.dy, [N, dout]), SCALE, { dA, dB, dx });
  const ref = loraBackwardRef(v.x, v.A, v.B, v.xa, v.dy, N, din, r, dout, SCALE, { dA0: v.dA0, dB0: v.dB0, dx0: withDx ? v.dx0 : null });
  const name = `N=${N} in=${din} r=${r} out=${dout}${withDx ? '' : ' dx=null'}`;
  assertAllClose(await rt.read(dB), ref.dB, tolFor(ref.dB, v.dB0), `dB ${name}`);
  assertAllClose(await rt.read(dA), ref.dA, tolFor(ref.dA, v.dA0), `dA ${name}`);
  if (dx) assertAllClose(await rt.read(dx), ref.dx!, tolFor(ref.dx!, v.dx0), `dx ${name}`);
}

test('lora_backward: ranks 1, 4, 16, 33, 128 on sizes that are not multiples of 16; grads accumulate', async () => {
  const rt = await testRuntime();
  await check(rt, 1, { N: 7, din: 5, r: 1, dout: 5, withDx: true });
  await check(rt, 2, { N: 1, din: 64, r: 4, dout: 100, withDx: true });
  await check(rt, 3, { N: 130, din: 100, r: 16, dout: 64, withDx: true });
  await check(rt, 4, { N: 7, din: 100, r: 33, dout: 5, withDx: true });
  await check(rt, 5, { N: 17, din: 5, r: 128, dout: 33, withDx: true });
});

test('lora_backward: dx = null skips the input gradient', async () => {
  const rt = await testRuntime();
  await check(rt, 6, { N: 7, din: 64, r: 4, dout: 5, withDx: false });
  await check(rt, 7, { N: 130, din: 5, r: 33, dout: 100, withDx: false });
});

test('lora_backward: long N (1000) reduction for dA and dB with small dims', async () => {
  const rt = await testRuntime();
  await check(rt, 8, { N: 1000, din: 5, r: 4, dout: 7, withDx: true });
  await check(rt, 9, { N: 1000, din: 20, r: 1, dout: 3, withDx: false });
});

test('lora forward + backward chained on the GPU; temporaries from a NaN-poisoned pool are never read', async () => {
  const rt = await testRuntime();
  const [N, din, r, dout] = [9, 20, 4, 6];
  const v = inputs(10, { N, din, r, dout, withDx: true });
  const x = rt.upload(v.x, [N, din]), A = rt.upload(v.A, [r, din]), B = rt.upload(v.B, [dout, r]);
  // xa and dxa come from the pool: hand it buffers full of NaN first, so a kernel that read its
  // "overwrite" output before writing it would leak NaN into the results
  rt.upload(new Float32Array(N * r).fill(NaN), [N, r]).dispose();
  const y = rt.upload(new Float32Array(N * dout), [N, dout]);
  const { xa } = loraForward(rt, x, A, B, y, SCALE); // [N, r]
  rt.upload(new Float32Array(N * r).fill(NaN), [N, r]).dispose();
  const dA = rt.upload(v.dA0, [r, din]), dB = rt.upload(v.dB0, [dout, r]), dx = rt.upload(v.dx0, [N, din]);
  loraBackward(rt, x, A, B, xa, rt.upload(v.dy, [N, dout]), SCALE, { dA, dB, dx });
  const ref = loraBackwardRef(v.x, v.A, v.B, v.xa, v.dy, N, din, r, dout, SCALE, { dA0: v.dA0, dB0: v.dB0, dx0: v.dx0 });
  assertAllClose(await rt.read(dB), ref.dB, tolFor(ref.dB, v.dB0), 'dB chained');
  assertAllClose(await rt.read(dA), ref.dA, tolFor(ref.dA, v.dA0), 'dA chained');
  assertAllClose(await rt.read(dx), ref.dx!, tolFor(ref.dx!, v.dx0), 'dx chained');
  xa.dispose();
});

/**
 * dy is a wider [N, stride] (the fused q|k|v gradient) of which the adapter reads columns
 * offset..offset+out. The window holds the case's dy; outside it holds `fill` (random, NaN or 1e30).
 * Returns the three gradients read back, after checking them against the reference.
 */
async function checkWindow(rt: Runtime, seed: number, c: Case, stride: number, offset: number, fill: 'random' | number): Promise<ArrayLike<number>[]> {
  const { N, din, r, dout, withDx } = c;
  const v = inputs(seed, c);
  const rng = new Rng(seed + 1000);
  const wide = rng.uniform(N * stride, -1, 1); // [N, stride]
  for (let n = 0; n < N; n++)
    for (let col = 0; col < stride; col++) {
      const inWindow = col >= offset && col < offset + dout;
      if (inWindow) wide[n * stride + col] = v.dy[n * dout + col - offset]; // the case's dy [N, out]
      else if (fill !== 'random') wide[n * stride + col] = fill;
    }
  const dA = rt.upload(v.dA0, [r, din]);
  const dB = rt.upload(v.dB0, [dout, r]);
  const dx = withDx ? rt.upload(v.dx0, [N, din]) : null;
  const dyCols = { offset, stride };
  loraBackward(rt, rt.upload(v.x, [N, din]), rt.upload(v.A, [r, din]), rt.upload(v.B, [dout, r]), rt.upload(v.xa, [N, r]), rt.upload(wide, [N, stride]), SCALE, { dA, dB, dx }, { dyCols });
  const ref = loraBackwardRef(v.x, v.A, v.B, v.xa, wide, N, din, r, dout, SCALE, { dA0: v.dA0, dB0: v.dB0, dx0: withDx ? v.dx0 : null }, dyCols);
  const name = `N=${N} in=${din} r=${r} out=${dout} window ${offset}..${offset + dout} of ${stride}, outside = ${fill}`;
  // same tolerance as check(): matmul 1e-4 relative, atol from the update alone; NaN never passes
  const gB = await rt.read(dB), gA = await rt.read(dA);
  assertAllClose(gB, ref.dB, tolFor(ref.dB, v.dB0), `dB ${name}`);
  assertAllClose(gA, ref.dA, tolFor(ref.dA, v.dA0), `dA ${name}`);
  const out = [gB, gA];
  if (dx) {
    const gx = await rt.read(dx);
    assertAllClose(gx, ref.dx!, tolFor(ref.dx!, v.dx0), `dx ${name}`);
    out.push(gx);
  }
  return out;
}

/** Runs one windowed case with random, NaN and 1e30 outside the window: all three must give the same bits. */
async function checkWindowPoisoned(rt: Runtime, seed: number, c: Case, stride: number, offset: number): Promise<void> {
  const clean = await checkWindow(rt, seed, c, stride, offset, 'random');
  for (const fill of [NaN, 1e30]) {
    const poisoned = await checkWindow(rt, seed, c, stride, offset, fill);
    // tolerance 0: columns outside the window must not be read at all, and the kernels are deterministic
    poisoned.forEach((g, i) => assertAllClose(g, clean[i], { atol: 0, rtol: 0 }, `grad ${i} with ${fill} outside the window`));
  }
}

test('lora_backward: dyCols window in the middle of a wider dy (stride 3·out+5, offset out+2); NaN / 1e30 outside change nothing', async () => {
  const rt = await testRuntime();
  await checkWindowPoisoned(rt, 12, { N: 7, din: 5, r: 1, dout: 5, withDx: true }, 3 * 5 + 5, 5 + 2);
  await checkWindowPoisoned(rt, 13, { N: 37, din: 20, r: 4, dout: 19, withDx: true }, 3 * 19 + 5, 19 + 2);
  await checkWindowPoisoned(rt, 14, { N: 21, din: 9, r: 33, dout: 40, withDx: false }, 3 * 40 + 5, 40 + 2);
});

test('lora_backward: dyCols window at the start (offset 0) and at the end (offset = stride − out)', async () => {
  const rt = await testRuntime();
  await checkWindowPoisoned(rt, 15, { N: 9, din: 6, r: 3, dout: 7, withDx: true }, 30, 0);
  await checkWindowPoisoned(rt, 16, { N: 9, din: 6, r: 3, dout: 7, withDx: true }, 30, 23);
});

test('lora forward (yCols) + backward (dyCols) chained on a fused q|k|v-shaped row', async () => {
  const rt = await testRuntime();
  // q|k|v of H = 2, Hkv = 1, D = 3: stride (H + 2Hkv)·D = 12; an adapter on k_proj owns cols 6..9
  const [N, din, r, dout, stride, offset] = [5, 8, 2, 3, 12, 6];
  const v = inputs(17, { N, din, r, dout, withDx: true });
  const x = rt.upload(v.x, [N, din]), A = rt.upload(v.A, [r, din]), B = rt.upload(v.B, [dout, r]);
  const y0 = new Rng(18).uniform(N * stride); // [N, stride]
  const y = rt.upload(y0, [N, stride]);
  const { xa } = loraForward(rt, x, A, B, y, SCALE, { yCols: { offset, stride } }); // xa [N, r]
  const fref = loraForwardRef(v.x, v.A, v.B, y0, N, din, r, dout, SCALE, { offset, stride });
  assertAllClose(await rt.read(y), fref.y, { rtol: 1e-4, atol: 1e-6 }, 'y chained window'); // matmul 1e-4; |y| ≲ 2
  const dyWide = new Rng(19).uniform(N * stride); // [N, stride]
  const dA = rt.upload(v.dA0, [r, din]), dB = rt.upload(v.dB0, [dout, r]), dx = rt.upload(v.dx0, [N, din]);
  loraBackward(rt, x, A, B, xa, rt.upload(dyWide, [N, stride]), SCALE, { dA, dB, dx }, { dyCols: { offset, stride } });
  const ref = loraBackwardRef(v.x, v.A, v.B, await rt.read(xa), dyWide, N, din, r, dout, SCALE, { dA0: v.dA0, dB0: v.dB0, dx0: v.dx0 }, { offset, stride });
  assertAllClose(await rt.read(dB), ref.dB, tolFor(ref.dB, v.dB0), 'dB chained window');
  assertAllClose(await rt.read(dA), ref.dA, tolFor(ref.dA, v.dA0), 'dA chained window');
  assertAllClose(await rt.read(dx), ref.dx!, tolFor(ref.dx!, v.dx0), 'dx chained window');
  xa.dispose();
});

test('lora_backward: NaN in dy propagates to the gradients (a broken kernel cannot pass)', async () => {
  const rt = await testRuntime();
  const c = { N: 3, din: 5, r: 2, dout: 4, withDx: true };
  const v = inputs(11, c);
  v.dy[1] = NaN; // dy[0, 1]: reaches all of dB's row 1, dxa's row 0, hence all of dA and dx's row 0
  const dA = rt.upload(v.dA0, [2, 5]), dB = rt.upload(v.dB0, [4, 2]), dx = rt.upload(v.dx0, [3, 5]);
  loraBackward(rt, rt.upload(v.x, [3, 5]), rt.upload(v.A, [2, 5]), rt.upload(v.B, [4, 2]), rt.upload(v.xa, [3, 2]), rt.upload(v.dy, [3, 4]), SCALE, { dA, dB, dx });
  const ref = loraBackwardRef(v.x, v.A, v.B, v.xa, v.dy, 3, 5, 2, 4, SCALE, { dA0: v.dA0, dB0: v.dB0, dx0: v.dx0 });
  const gA = await rt.read(dA), gB = await rt.read(dB), gx = await rt.read(dx);
  assert.ok(Number.isNaN(gB[2]) && Number.isNaN(gB[3]) && Number.isNaN(gA[0]) && Number.isNaN(gx[0]));
  assert.ok(!Number.isNaN(gx[5]), 'dx row 1 does not see dy row 0');
  assert.equal(allClose(gA, ref.dA, { atol: 1, rtol: 1 }).ok, false);
});

test('lora_backward: guards reject bad shapes and aliased outputs', async () => {
  const rt = await testRuntime();
  const x = rt.zeros([3, 5]), A = rt.zeros([2, 5]), B = rt.zeros([4, 2]), xa = rt.zeros([3, 2]), dy = rt.zeros([3, 4]);
  const dA = rt.zeros([2, 5]), dB = rt.zeros([4, 2]);
  assert.throws(() => loraBackward(rt, x, A, B, xa, rt.zeros([3, 5]), 1, { dA, dB, dx: null }), /lora_backward dy/);
  assert.throws(() => loraBackward(rt, x, A, B, rt.zeros([3, 3]), dy, 1, { dA, dB, dx: null }), /lora_backward xa/);
  assert.throws(() => loraBackward(rt, x, A, B, xa, dy, 1, { dA: rt.zeros([5, 2]), dB, dx: null }), /lora_backward dA/);
  assert.throws(() => loraBackward(rt, x, A, B, xa, dy, 1, { dA, dB: rt.zeros([2, 4]), dx: null }), /lora_backward dB/);
  assert.throws(() => loraBackward(rt, x, A, B, xa, dy, 1, { dA, dB, dx: rt.zeros([3, 4]) }), /lora_backward dx/);
  assert.throws(() => loraBackward(rt, x, A, B, xa, dy, 1, { dA, dB, dx: x }), /alias/);
  // column windows of dy: dy must be [N, stride] and the window must fit in it
  const wide = rt.zeros([3, 10]);
  assert.throws(() => loraBackward(rt, x, A, B, xa, wide, 1, { dA, dB, dx: null }), /lora_backward dy/);
  assert.throws(() => loraBackward(rt, x, A, B, xa, wide, 1, { dA, dB, dx: null }, { dyCols: { offset: 7, stride: 10 } }), /does not fit/);
  assert.throws(() => loraBackward(rt, x, A, B, xa, wide, 1, { dA, dB, dx: null }, { dyCols: { offset: 0, stride: 9 } }), /lora_backward dy/);
  assert.throws(() => loraBackward(rt, x, A, B, xa, wide, 1, { dA, dB, dx: null }, { dyCols: { offset: 0.5, stride: 10 } }), /dyCols/);
  loraBackward(rt, x, A, B, xa, wide, 1, { dA, dB, dx: null }, { dyCols: { offset: 6, stride: 10 } }); // last fitting offset
});
