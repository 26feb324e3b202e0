import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { attentionGather, attentionSoftmaxBackward, attentionExplicitBackward } from './attention_explicit_backward.ts';
import { attentionGatherRef, softmaxBackwardRef, explicitBackwardRef } from './attention_explicit_backward.ref.ts';
import { attentionScoresRef, attentionPatternRef, attentionApplyRef, type ExplicitDims } from './attention_explicit.ref.ts';
import { testRuntime, releaseTestRuntime } from '../src/engine/testing/gpu.ts';
import type { Tensor } from '../src/engine/gpu/tensor.ts';
import { addScale } from './add_scale.ts';
import { assertAllClose } from '../src/engine/testing/allclose.ts';
import { Rng } from '../src/engine/testing/rng.ts';

after(releaseTestRuntime);
// Tolerances vs float64, each kernel fed the very fp32 inputs it got: gather sums G·T ≤ 12 products of terms |m| ≤ 3,
// |x| ≤ 5 (≤ 12·2^-24·15 ≈ 1e-5 absolute); the softmax's backward is a S ≤ 7 term dot and one product a row (a few
// ulps of p·|dp|). The whole backward chains these with explicit's own kernels: 2e-5 absolute + 1e-4 relative.
const GATHER_TOL = { atol: 2e-5, rtol: 1e-5 };
const SOFTMAX_TOL = { atol: 1e-6, rtol: 1e-5 };
const CHAIN_TOL = { atol: 2e-5, rtol: 1e-4 };

const DIMS: ExplicitDims = { B: 2, T: 6, S: 6, H: 4, Hkv: 2, D: 8 };
const f64 = (a: ArrayLike<number>) => Float64Array.from(a);

test('gather: a kv head sums its query heads\' m · x over the queries (GQA, scale, zeros skipped)', async () => {
  const rt = await testRuntime();
  const rng = new Rng(3);
  const { B, T, S, H, Hkv, D } = { ...DIMS, S: 7 };
  const m = rng.normal(B * H * T * S).map((x, i) => (i % 5 === 0 ? 0 : x)); // [B, H, T, S] with exact zeros
  const x = rng.normal(B * T * H * D); // [B, T, H, D]
  for (const [hkv, scale] of [[Hkv, 1], [1, 0.35], [H, -2]] as const) {
    const dims = { B, T, S, H, Hkv: hkv, D };
    const mt = rt.upload(m, [B, H, T, S], 'f32', 'm'), xt = rt.upload(x, [B, T, H, D], 'f32', 'x');
    const out = attentionGather(rt, mt, xt, hkv, scale);
    assert.deepEqual(out.shape, [B, S, hkv, D]);
    assertAllClose(f64((await rt.read(out)) as Float32Array), attentionGatherRef(m, x, dims, scale), GATHER_TOL, `gather Hkv=${hkv}`);
    for (const t of [mt, xt, out]) t.dispose();
  }
  const bad = rt.upload(new Float32Array(24), [1, 2, 3, 4], 'f32', 'bad'); // m: H 2, T 3
  assert.throws(() => attentionGather(rt, bad, bad.reshape([1, 3, 2, 4]), 3), /H=2 is not a multiple of Hkv=3/);
  assert.throws(() => attentionGather(rt, bad, bad, 1), /x bad\[1,2,3,4\]:f32 does not match m/);
  assert.throws(() => attentionGather(rt, bad, rt.upload(new Float32Array(6), [1, 2, 3], 'f32', 'x3'), 1), /x must be f32 \[B, T, H, D\]/);
  bad.dispose();
});

test('softmax backward: ds = p · (dp − Σ p·dp) per row; invisible keys and empty rows give exact zeros', async () => {
  const rt = await testRuntime();
  const rng = new Rng(5);
  const { B, H, T, S } = DIMS;
  const scores = attentionScoresRef(rng.normal(B * T * H * DIMS.D), rng.normal(B * S * DIMS.Hkv * DIMS.D), DIMS);
  const p = Float32Array.from(attentionPatternRef(scores, DIMS)); // causal: zeros past the diagonal
  p.fill(0, 2 * S, 3 * S); // a row that sees nothing
  const dp = rng.normal(B * H * T * S, 2);
  const pt = rt.upload(p, [B, H, T, S], 'f32', 'p'), dpt = rt.upload(dp, [B, H, T, S], 'f32', 'dp');
  const ds = (await rt.read(attentionSoftmaxBackward(rt, pt, dpt))) as Float32Array;
  assertAllClose(f64(ds), softmaxBackwardRef(p, dp, S), SOFTMAX_TOL, 'ds');
  p.forEach((x, i) => { if (x === 0) assert.equal(ds[i], 0, `ds[${i}] where p = 0`); });
  // each row's ds sums to 0 (the softmax's outputs sum to 1 whatever the scores)
  for (let r = 0; r < B * H * T; r++) assert.ok(Math.abs(ds.slice(r * S, (r + 1) * S).reduce((a, b) => a + b, 0)) < 1e-5, `row ${r}`);
  assert.throws(() => attentionSoftmaxBackward(rt, pt, rt.upload(new Float32Array(B * H * T * (S - 1)), [B, H, T, S - 1], 'f32', 'short')), /dp .* does not match p/);
});

/** Σ dz · z of the explicit forward with its edits, in float64 (central differences of it check the reference). */
function forwardDot(q: Float64Array, k: Float64Array, v: Float64Array, dz: ArrayLike<number>, dims: ExplicitDims, editS: (s: Float64Array) => void, editP: (p: Float64Array) => void): number {
  const s = attentionScoresRef(q, k, dims);
  editS(s);
  const p = attentionPatternRef(s, dims);
  editP(p);
  return attentionApplyRef(p, v, dims).reduce((a, z, i) => a + z * dz[i], 0);
}

test('the whole backward with edited scores and pattern: the float64 reference equals central differences, the kernels equal it', async () => {
  const rt = await testRuntime();
  const rng = new Rng(9);
  const { B, T, H, Hkv, D } = DIMS;
  const q = rng.normal(B * T * H * D), k = rng.normal(B * T * Hkv * D), v = rng.normal(B * T * Hkv * D), dz = rng.normal(B * T * H * D);
  // the edits (linear, so their backward is the same map): every score doubled (a temperature), and head 2's
  // pattern zeroed past query 2 (a pattern whose rows no longer sum to 1)
  const editS = (t: Float64Array) => t.forEach((x, i) => (t[i] = 2 * x));
  const zeroed = (b: number, i: number) => ((b * H + 2) * T + i) * T;
  const editP = (t: Float64Array) => {
    for (let b = 0; b < B; b++) for (let i = 3; i < T; i++) t.fill(0, zeroed(b, i), zeroed(b, i) + T);
  };
  // the reference against central differences of Σ dz · z
  const s = attentionScoresRef(q, k, DIMS);
  editS(s);
  const p = attentionPatternRef(s, DIMS);
  const pz = Float64Array.from(p);
  editP(pz);
  const ref = explicitBackwardRef(q, k, v, p, pz, dz, DIMS, { editDp: editP, editDs: editS });
  const h = 1e-6;
  for (const [name, x, g] of [['q', q, ref.dq], ['k', k, ref.dk], ['v', v, ref.dv]] as const) {
    const base = f64(x);
    for (const at of [0, 7, x.length - 3]) {
      const plus = Float64Array.from(base), minus = Float64Array.from(base);
      plus[at] += h;
      minus[at] -= h;
      const args = (t: Float64Array): [Float64Array, Float64Array, Float64Array] => [name === 'q' ? t : f64(q), name === 'k' ? t : f64(k), name === 'v' ? t : f64(v)];
      const fd = (forwardDot(...args(plus), dz, DIMS, editS, editP) - forwardDot(...args(minus), dz, DIMS, editS, editP)) / (2 * h);
      assert.ok(Math.abs(fd - g[at]) <= 1e-6 + 1e-5 * Math.abs(g[at]), `d${name}[${at}]: central difference ${fd}, reference ${g[at]}`);
    }
  }
  // the kernels, fed the same fp32 inputs, and the hooks' backwards as onDp / onDs
  const up = (a: ArrayLike<number>, shape: number[], label: string) => rt.upload(Float32Array.from(a), shape, 'f32', label);
  const [qt, kt, vt, dzt] = [up(q, [B, T, H, D], 'q'), up(k, [B, T, Hkv, D], 'k'), up(v, [B, T, Hkv, D], 'v'), up(dz, [B, T, H, D], 'dz')];
  const pt = up(p, [B, H, T, T], 'p'), pzt = up(pz, [B, H, T, T], 'pz');
  const double = (t: Tensor) => {
    const d = addScale(rt, t, 2, null, 0);
    rt.copy(d, 0, t, 0, t.numel);
    d.dispose();
  };
  const zeroRows = (t: Tensor) => {
    const z = rt.zeros([T], 'f32', 'zeros');
    for (let b = 0; b < B; b++) for (let i = 3; i < T; i++) rt.copy(z, 0, t, zeroed(b, i), T);
    z.dispose();
  };
  const got = attentionExplicitBackward(rt, qt, kt, vt, pt, pzt, dzt, { onDp: zeroRows, onDs: double, scale: 1 / Math.sqrt(D) });
  assertAllClose(f64((await rt.read(got.dq)) as Float32Array), ref.dq, CHAIN_TOL, 'dq');
  assertAllClose(f64((await rt.read(got.dk)) as Float32Array), ref.dk, CHAIN_TOL, 'dk');
  assertAllClose(f64((await rt.read(got.dv)) as Float32Array), ref.dv, CHAIN_TOL, 'dv');
});
