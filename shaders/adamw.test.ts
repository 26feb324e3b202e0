import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { adamwStep, type AdamWHyper } from './adamw.ts';
import { adamwRef, type AdamWState } from './adamw.ref.ts';
import { gradNormClip } from './grad_norm.ts';
import { gradNormClipRef } from './grad_norm.ref.ts';
import { testRuntime, releaseTestRuntime } from '../src/engine/testing/gpu.ts';
import { assertAllClose } from '../src/engine/testing/allclose.ts';
import { Rng } from '../src/engine/testing/rng.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import type { Tensor } from '../src/engine/gpu/tensor.ts';

after(releaseTestRuntime);

const G_STD = 1e-2; // gradient scale used below
// p: 1e-6 relative (task), plus 1e-6·lr absolute: an update of size ~lr computed in f32 carries
// about lr·(a few ulp) of error, which a parameter near 0 cannot hide under 1e-6 relative.
// What holds (f32 as torch: p is rounded twice a step, by the decay and by the update, ≤ 1 ulp
// ≈ 1.2e-7 relative per step): after 1 step the worst seen is 1.3e-7 relative (n = 70001); after
// 10 steps 4.5e-7 here (n = 4099, several seeds) and 1.04e-6 once at n = 70001 — the bound
// grows ~linearly with the step count, so 1e-6 is tight beyond ~10 steps on large tensors.
const pTol = (lr: number) => ({ rtol: 1e-6, atol: 1e-6 * lr });
// m, v: 1e-6 relative, with absolute floors at 1e-6 of their scale (G_STD, G_STD²): a moment that
// nearly cancels (gradients of changing sign) keeps f32 rounding of the larger terms it was made of.
const M_TOL = { rtol: 1e-6, atol: 1e-6 * G_STD };
const V_TOL = { rtol: 1e-6, atol: 1e-6 * G_STD * G_STD };

const HP: AdamWHyper = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, step: 1 };

interface Gpu { p: Tensor; m: Tensor; v: Tensor }

function init(rt: Runtime, rng: Rng, n: number): { gpu: Gpu; ref: AdamWState } {
  const p = rng.normal(n, 0.5);
  return {
    gpu: { p: rt.upload(p, [n]), m: rt.zeros([n]), v: rt.zeros([n]) },
    ref: { p: Float64Array.from(p), m: new Float64Array(n), v: new Float64Array(n) },
  };
}

async function compare(rt: Runtime, gpu: Gpu, ref: AdamWState, lr: number, name: string): Promise<void> {
  assertAllClose(await rt.read(gpu.p), ref.p, pTol(lr), `${name} p`);
  assertAllClose(await rt.read(gpu.m), ref.m, M_TOL, `${name} m`);
  assertAllClose(await rt.read(gpu.v), ref.v, V_TOL, `${name} v`);
}

test('adamw: one step matches torch.optim.AdamW equations in float64 (n = 1, 1000, 70001; wd 0 and 0.1)', async () => {
  const rt = await testRuntime();
  const rng = new Rng(41);
  for (const n of [1, 1000, 70001]) {
    for (const weightDecay of [0, 0.1]) {
      const { gpu, ref } = init(rt, rng, n);
      const g = rng.normal(n, G_STD);
      const hp = { ...HP, weightDecay };
      adamwStep(rt, gpu.p, rt.upload(g, [n]), gpu.m, gpu.v, null, hp);
      await compare(rt, gpu, adamwRef(ref.p, g, ref.m, ref.v, 1, hp), hp.lr, `n=${n} wd=${weightDecay}`);
    }
  }
});

test('adamw: 10 steps with an lr schedule (warmup + cosine) and fresh gradients track float64', async () => {
  const rt = await testRuntime();
  const rng = new Rng(42);
  const n = 4099;
  let { gpu, ref } = init(rt, rng, n);
  for (let t = 1; t <= 10; t++) {
    const lr = 2e-3 * Math.min(1, t / 3) * 0.5 * (1 + Math.cos((Math.PI * t) / 10));
    const hp = { ...HP, lr, step: t };
    const g = rng.normal(n, G_STD);
    const before = await rt.read(gpu.p);
    adamwStep(rt, gpu.p, rt.upload(g, [n]), gpu.m, gpu.v, null, hp);
    ref = adamwRef(ref.p, g, ref.m, ref.v, 1, hp);
    await compare(rt, gpu, ref, 2e-3, `step ${t} lr=${lr.toExponential(3)}`); // atol from the schedule's peak lr
    // the schedule ends at lr = 0 (cos π = −1): that step must leave p bit-identical
    if (t === 10) assert.deepEqual(Array.from(await rt.read(gpu.p)), Array.from(before), 'lr = 0 at step 10');
  }
});

test('adamw: lr = 0 leaves p bit-identical; zero grads give exactly p·(1 − lr·wd)', async () => {
  const rt = await testRuntime();
  const rng = new Rng(43);
  const n = 300;
  const p = rng.normal(n);
  const tp = rt.upload(p, [n]);
  adamwStep(rt, tp, rt.upload(rng.normal(n), [n]), rt.zeros([n]), rt.zeros([n]), null, { ...HP, lr: 0, step: 5 });
  assert.deepEqual(Array.from(await rt.read(tp)), Array.from(p), 'lr = 0');
  // g = 0, m = v = 0: m/denom = 0/eps = 0, so only the decoupled decay acts
  const tp2 = rt.upload(p, [n]);
  adamwStep(rt, tp2, rt.zeros([n]), rt.zeros([n]), rt.zeros([n]), null, { ...HP, lr: 0.01, weightDecay: 0.1 });
  const f = Math.fround(1 - 0.01 * 0.1);
  assert.deepEqual(Array.from(await rt.read(tp2)), Array.from(p, (x) => Math.fround(x * f)), 'pure weight decay');
});

test('adamw: the clip coefficient is read from the GPU ([1] tensor, or gradNormClip\'s [norm, coef])', async () => {
  const rt = await testRuntime();
  const rng = new Rng(44);
  const n = 1000;
  const g = rng.normal(n, 1); // norm ≈ 31.6 → clipped to 1
  const tg = rt.upload(g, [n]);
  // [1] coefficient
  {
    const { gpu, ref } = init(rt, rng, n);
    adamwStep(rt, gpu.p, tg, gpu.m, gpu.v, rt.upload(new Float32Array([0.25]), [1]), HP);
    const r = adamwRef(ref.p, g, ref.m, ref.v, 0.25, HP);
    await compare(rt, gpu, r, HP.lr, 'clip [1]');
    // and independently of the reference: m = (1 − β1)·0.25·g after one step from m = 0
    assertAllClose(await rt.read(gpu.m), Array.from(g, (x) => 0.1 * 0.25 * x), M_TOL, 'clip [1] m = 0.025·g');
  }
  // [norm, coef] from gradNormClip, coefficient well below 1
  {
    const { gpu, ref } = init(rt, rng, n);
    const clip = gradNormClip(rt, [tg], 1.0);
    const [, coef] = gradNormClipRef([g], 1.0);
    assert.ok(coef < 0.05, `coef ${coef}`);
    adamwStep(rt, gpu.p, tg, gpu.m, gpu.v, clip, { ...HP, step: 3 });
    const r = adamwRef(ref.p, g, ref.m, ref.v, coef, { ...HP, step: 3 });
    assertAllClose(await rt.read(gpu.p), r.p, pTol(HP.lr), 'gradNormClip p');
    // the coefficient comes from an f32 norm (1e-5 relative): m, v carry it linearly / squared
    assertAllClose(await rt.read(gpu.m), r.m, { rtol: 2e-5, atol: 0 }, 'gradNormClip m');
    assertAllClose(await rt.read(gpu.v), r.v, { rtol: 4e-5, atol: 0 }, 'gradNormClip v');
  }
});

test('adamw: torch\'s other lerp branch (beta1 < 0.5) and a NaN gradient stays in its element', async () => {
  const rt = await testRuntime();
  const rng = new Rng(45);
  const n = 513;
  let { gpu, ref } = init(rt, rng, n);
  const hp = { ...HP, beta1: 0.3, beta2: 0.95 };
  for (let t = 1; t <= 3; t++) {
    const g = rng.normal(n, G_STD);
    adamwStep(rt, gpu.p, rt.upload(g, [n]), gpu.m, gpu.v, null, { ...hp, step: t });
    ref = adamwRef(ref.p, g, ref.m, ref.v, 1, { ...hp, step: t });
  }
  await compare(rt, gpu, ref, HP.lr, 'beta1=0.3');
  const g = rng.normal(n, G_STD);
  g[77] = NaN;
  adamwStep(rt, gpu.p, rt.upload(g, [n]), gpu.m, gpu.v, null, { ...hp, step: 4 });
  const p = await rt.read(gpu.p);
  assert.ok(Number.isNaN(p[77]), 'NaN gradient → NaN parameter');
  assert.equal(p.filter(Number.isNaN).length, 1, 'only that element');
});
