// swiglu_forward + swiglu_backward vs float64 references.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { swigluForward, swigluForwardFused } from './swiglu_forward.ts';
import { swigluForwardRef } from './swiglu_forward.ref.ts';
import { swigluBackward, swigluBackwardFused } from './swiglu_backward.ts';
import { swigluBackwardRef } from './swiglu_backward.ref.ts';
import { testRuntime, releaseTestRuntime } from '../src/engine/testing/gpu.ts';
import { assertAllClose, allClose } from '../src/engine/testing/allclose.ts';
import { Rng } from '../src/engine/testing/rng.ts';

after(releaseTestRuntime);

// fp32 elementwise vs float64: exp(−|g|) is accurate to ~|g|·2^-24 relative (its argument rounds), plus a
// few roundings → ≲ 2e-6 relative where |value| > atol; 1e-5 relative + atol 1e-6 (values that underflow,
// e.g. silu(−100) ≈ −4e-42, and dgate near its zero at g ≈ −1.28 where 1 + g·(1 − s) cancels).
const TOL = { atol: 1e-6, rtol: 1e-5 };

// |g| up to 1e4 (exp(1e4) overflows f32 and f64), the f32 exp limits ±88, 0 and −0, dgate's zero at −1.2785
const EDGE = [1e4, -1e4, 100, -100, 88.7, -88.7, 87, -87, 30, -30, 17, -17, 0, -0, -1.2785, 1e-30, -1e-30, 3e38, -3e38];

function inputs(rng: Rng, n: number): { g: Float32Array; up: Float32Array; dout: Float32Array } {
  const g = rng.normal(n, 3), up = rng.normal(n), dout = rng.normal(n);
  const at = Math.max(0, n - EDGE.length); // edge values in the last, partial workgroup
  g.set(EDGE.slice(0, n - at), at);
  // |up|, |dout| < 1 there, so that g·up with g = 3e38 stays finite in f32 (as the f64 reference is)
  up.set(rng.uniform(n - at), at);
  dout.set(rng.uniform(n - at), at);
  return { g, up, dout };
}

test('swiglu_forward matches float64, incl. |g| = 1e4 and the exp overflow edges', async () => {
  const rt = await testRuntime();
  const rng = new Rng(31);
  for (const [N, F] of [[1, 1], [3, 257], [7, 1000], [2, 5000], [1, 19]]) {
    const { g, up } = inputs(rng, N * F);
    const out = await rt.read(swigluForward(rt, rt.upload(g, [N, F]), rt.upload(up, [N, F])));
    assertAllClose(out, swigluForwardRef(g, up), TOL, `swiglu N=${N} F=${F}`);
  }
});

test('swiglu_backward matches float64 and central differences of the forward reference', async () => {
  const rt = await testRuntime();
  const rng = new Rng(32);
  for (const [N, F] of [[1, 1], [3, 257], [7, 1000], [1, 19]]) {
    const { g, up, dout } = inputs(rng, N * F);
    const sh = [N, F];
    const { dgate, dup } = swigluBackward(rt, rt.upload(g, sh), rt.upload(up, sh), rt.upload(dout, sh));
    const ref = swigluBackwardRef(g, up, dout);
    assertAllClose(await rt.read(dgate), ref.dgate, TOL, `dgate N=${N} F=${F}`);
    assertAllClose(await rt.read(dup), ref.dup, TOL, `dup N=${N} F=${F}`);
  }
  // the reference's derivative formula, checked numerically in float64 on ordinary values
  const h = 1e-6;
  for (const g of [-6, -1.2785, -0.3, 0, 0.7, 4]) {
    const f = (x: number) => swigluForwardRef([x], [1.5])[0];
    const { dgate, dup } = swigluBackwardRef([g], [1.5], [1]);
    assert.ok(Math.abs((f(g + h) - f(g - h)) / (2 * h) - dgate[0]) < 1e-8, `dgate(${g})`);
    assert.ok(Math.abs(swigluForwardRef([g], [1])[0] - dup[0]) < 1e-15, `dup(${g})`);
  }
});

test('swiglu: no NaN from |g| = 1e4; NaN inputs propagate and fail the comparison', async () => {
  const rt = await testRuntime();
  const g = new Float32Array([1e4, -1e4, NaN, 2]), up = new Float32Array([1, 1, 1, NaN]);
  const out = await rt.read(swigluForward(rt, rt.upload(g, [4]), rt.upload(up, [4])));
  assert.equal(out[0], 1e4);
  assert.ok(out[1] === 0); // −0
  assert.ok(Number.isNaN(out[2]) && Number.isNaN(out[3]));
  assert.equal(allClose(out, [1e4, 0, 0, 0], TOL).ok, false);
  const { dgate } = swigluBackward(rt, rt.upload(g, [4]), rt.upload(up, [4]), rt.upload(new Float32Array([1, 1, 1, 1]), [4]));
  const dg = await rt.read(dgate);
  assert.deepEqual([dg[0], Math.abs(dg[1])], [1, 0]);
  assert.throws(() => swigluForward(rt, rt.upload(g, [4]), rt.upload(up, [2, 2])), /shapes differ/);
});

test('swiglu fused: gate | up as the column halves of gu [N, 2F] give, bit for bit, what the halves apart give (forward and backward)', async () => {
  const rt = await testRuntime();
  const [N, F] = [7, 37]; // odd: rows and columns not multiples of anything
  const rng = new Rng(11);
  const { g, up, dout } = inputs(rng, N * F);
  const gu = new Float32Array(N * 2 * F); // [N, 2F]: row r = gate[r, :] | up[r, :]
  for (let r = 0; r < N; r++) {
    gu.set(g.subarray(r * F, (r + 1) * F), r * 2 * F);
    gu.set(up.subarray(r * F, (r + 1) * F), r * 2 * F + F);
  }
  const [tg, tu, td, tgu] = [rt.upload(g, [N, F]), rt.upload(up, [N, F]), rt.upload(dout, [N, F]), rt.upload(gu, [N, 2 * F])];
  assert.deepEqual(await rt.read(swigluForwardFused(rt, tgu)), await rt.read(swigluForward(rt, tg, tu)), 'forward');
  const apart = swigluBackward(rt, tg, tu, td);
  const [dg, du, dgu] = await Promise.all([rt.read(apart.dgate), rt.read(apart.dup), rt.read(swigluBackwardFused(rt, tgu, td))]);
  const want = new Float32Array(N * 2 * F);
  for (let r = 0; r < N; r++) {
    want.set(dg.subarray(r * F, (r + 1) * F) as Float32Array, r * 2 * F);
    want.set(du.subarray(r * F, (r + 1) * F) as Float32Array, r * 2 * F + F);
  }
  assert.deepEqual(dgu, want, 'backward: dgate | dup side by side');
  assert.throws(() => swigluForwardFused(rt, rt.empty([N, 2 * F + 1])), /\[N, 2F\]/);
  assert.throws(() => swigluBackwardFused(rt, tgu, rt.empty([N, F + 1])), /dout/);
});
