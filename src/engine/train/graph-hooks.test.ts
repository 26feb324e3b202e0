// Hook points in the training graph (graph-hooks.ts): what it captures equals what the inference
// forward captures at the same names (one hook definition for both), a recomputed block reports
// once, and written points train right — the gradient with a head zero-ablated at hook_z, a steering
// vector added at hook_resid_mid, ln2's output halved, a head of q zeroed and k halved before RoPE, o_proj's and
// down_proj's outputs halved (hook_attn_out, hook_mlp_out), the scores doubled and a head's pattern cut (attention in
// explicit steps, with their backward) matches
// central differences of the loss of that edited forward; without the ablation's backward (its gradient
// mask) it does not.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { testRuntime, releaseTestRuntime } from '../testing/gpu.ts';
import { makeTinyCheckpoint } from '../model/checkpoint-fixtures.ts';
import { loadModel } from '../model/load.ts';
import type { LlamaModel } from '../model/llama.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { HOOKS, type HookFn } from '../model/hooks.ts';
import { addScale } from '../../../shaders/add_scale.ts';
import { Rng } from '../testing/rng.ts';
import { Trainer, type OptimConfig } from './trainer.ts';
import { LORA_TARGETS } from './graph.ts';
import type { Runtime } from '../gpu/runtime.ts';
import type { MicroBatch } from './graph.ts';
import { trainHookNames, type GraphHooks, type TrainHook } from './graph-hooks.ts';

after(releaseTestRuntime);

const OPT: OptimConfig = { lr: 0, schedule: 'constant', warmupSteps: 0, totalSteps: 1, weightDecay: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, maxGradNorm: 0 };
const IDS = [3, 17, 12, 5, 29, 23, 8, 1, 14];
const T = IDS.length;

async function setup(seed: number) {
  const rt = await testRuntime();
  const { model } = await loadModel(rt, makeTinyCheckpoint({}, seed, 'f32'), { tokenizer: false });
  const labels = new Int32Array(T).fill(-100);
  for (let t = 2; t < T - 1; t++) labels[t] = IDS[t + 1];
  const mb: MicroBatch = { ids: Int32Array.from(IDS), labels, B: 1, T };
  return { rt, model, mb, counted: labels.filter((x) => x !== -100).length };
}
const read = async (m: LlamaModel, t: Tensor) => Float64Array.from((await m.rt.read(t)) as Float32Array);

test('the training graph captures what the inference forward captures, under the same names; a recomputed block reports once', async () => {
  const { rt, model, mb } = await setup(5);
  const tr = Trainer.full(rt, model, OPT);
  const names = trainHookNames(model.cfg.n_layers);
  const got = new Map<string, Tensor[]>();
  const hooks: GraphHooks = { capture: new Set(names), onCapture: (n, t) => got.set(n, [...(got.get(n) ?? []), t]) };
  tr.graph.hidden(mb, null, hooks).dispose();
  const idsT = rt.upload(mb.ids, [1, T], 'i32', 'ids');
  const inf = model.forward(idsT, { capture: new Set(names), logits: 'none' });
  idsT.dispose();
  for (const n of names) {
    const a = await read(model, got.get(n)![0]), b = await read(model, inf.captures.get(n)!);
    assert.equal(a.length, b.length, n);
    let worst = 0, scale = 0;
    for (let i = 0; i < a.length; i++) {
      worst = Math.max(worst, Math.abs(a[i] - b[i]));
      scale = Math.max(scale, Math.abs(b[i]));
    }
    assert.ok(worst <= 1e-5 * Math.max(scale, 1), `${n}: training vs inference capture differ by ${worst} (scale ${scale})`);
  }
  for (const ts of got.values()) ts.forEach((t) => t.dispose());
  for (const t of new Set(inf.captures.values())) t.dispose();
  // a step with recompute: each point reported once, though the blocks run twice
  got.clear();
  tr.graph.step(mb, rt.zeros([1], 'f32', 'loss'), null, tr.full, { gradScale: 1, recompute: true, hooks }).dispose();
  for (const n of names) assert.equal(got.get(n)?.length, 1, `${n} reported once`);
  for (const ts of got.values()) ts.forEach((t) => t.dispose());
  // nothing left behind: the same step (with and without recompute) and forward again, their outputs freed
  const again = async () => {
    for (const recompute of [false, true]) tr.graph.step(mb, rt.zeros([1], 'f32', 'loss'), null, tr.full, { gradScale: 1, recompute, hooks }).dispose();
    tr.graph.hidden(mb, null, hooks).dispose();
    tr.graph.nll(mb, null, 1).dispose();
    for (const ts of got.values()) ts.forEach((t) => t.dispose());
    got.clear();
    await rt.sync();
    return rt.pool.snapshot().inUse;
  };
  const inUse = await again();
  assert.equal(await again(), inUse, 'GPU buffers left in use by the training graph');
  // captures of nll's forward reach the receiver alive: they leave nll's and hidden's scopes
  got.clear();
  tr.graph.nll(mb, null, 1, undefined, hooks).dispose();
  assert.ok(names.every((n) => (got.get(n)?.length ?? 0) > 0), 'every point captured by nll');
  for (const ts of got.values()) for (const t of ts) assert.doesNotThrow(() => t.assertLive(), `${t.label}: freed before the receiver got it`);
  for (const ts of got.values()) ts.forEach((t) => t.dispose());
  got.clear();
  // a hook that throws half-way through a step: its tensors are freed all the same (the step's scope)
  const loss = rt.zeros([1], 'f32', 'loss');
  const failing: GraphHooks = { edit: new Map([[HOOKS.z(1), { forward: () => { throw new Error('hook failed'); } }]]) };
  assert.throws(() => tr.graph.step(mb, loss, null, tr.full, { gradScale: 1, hooks: failing }), /hook failed/);
  loss.dispose();
  await rt.sync();
  assert.equal(rt.pool.snapshot().inUse, inUse, 'GPU buffers left in use after a failed step');
  assert.throws(() => tr.graph.hidden(mb, null, { capture: new Set(['blocks.0.attn.hook_result']), onCapture: () => {} }), /no hook point "blocks\.0\.attn\.hook_result" in the training graph/);
  tr.dispose();
});

test('written hook points train right: the gradient of an edited forward matches its central differences, and needs the edit\'s backward', async () => {
  await checkEdits(9, (rt, model) => Trainer.full(rt, model, OPT));
});

test('the same with LoRA on every target: the q/k adapters read the edited pre-RoPE gradient', async () => {
  await checkEdits(11, (rt, model) => Trainer.lora(rt, model, { r: 4, alpha: 8, targets: LORA_TARGETS, seed: 3 }, OPT));
});

/**
 * Central differences of the loss under `hooked`'s edits: the gradient the step computes with them (gradOf), the
 * loss's directional derivative along a direction (fdAlong), and the check that an edit's backward matters: along
 * δ = (the gradient without that backward) − g, the loss changes as g says, not as the gradient without it does.
 */
async function fdHarness(rt: Runtime, tr: Trainer, mb: MicroBatch, counted: number, hooked: GraphHooks) {
  const lossOf = async (hooks: GraphHooks | undefined) => {
    const nll = tr.graph.nll(mb, tr.lora, 1, undefined, hooks);
    const v = (await rt.read(nll)) as Float32Array;
    nll.dispose();
    return v.reduce((a, b) => a + b, 0) / counted; // transformers' mean over counted tokens
  };
  const gradOf = async (hooks: GraphHooks) => {
    for (const c of tr.chunks) rt.clear(c.g);
    tr.graph.step(mb, rt.zeros([1], "f32", "loss"), tr.lora, tr.full, { gradScale: 1 / counted, hooks }).dispose();
    const out: Float64Array[] = [];
    for (const c of tr.chunks) out.push(Float64Array.from((await rt.read(c.g)) as Float32Array));
    return out;
  };
  const params: Float64Array[] = [];
  for (const c of tr.chunks) params.push(Float64Array.from((await rt.read(c.p)) as Float32Array));
  /** the edited loss at params + h · dir / |dir| */
  const at = async (dir: Float64Array[], norm: number, h: number) => {
    rt.flush();
    tr.chunks.forEach((c, k) => {
      const v = Float32Array.from(params[k], (p, j) => p + (h * dir[k][j]) / norm);
      rt.device.queue.writeBuffer(c.p.buffer, c.p.byteOffset, v.buffer, 0, v.byteLength);
    });
    return lossOf(hooked);
  };
  const dot = (a: Float64Array[], b: Float64Array[]) => a.reduce((s, x, k) => s + x.reduce((t, v, j) => t + v * b[k][j], 0), 0);
  /** the edited loss's directional derivative along dir (central differences), and |dir| */
  const fdAlong = async (dir: Float64Array[]) => {
    const norm = Math.sqrt(dot(dir, dir));
    const h = 2e-3;
    const fd = ((await at(dir, norm, h)) - (await at(dir, norm, -h))) / (2 * h);
    await at(dir, norm, 0);
    return { fd, norm };
  };
  /** g's own check: along g the loss rises by |g| (3 %) */
  const checkGrad = async (g: Float64Array[], what: string) => {
    const right = await fdAlong(g);
    assert.ok(right.norm > 1e-3, `${what}: gradient norm ${right.norm}`);
    assert.ok(Math.abs(right.fd - right.norm) <= 0.03 * right.norm, `${what}: finite difference ${right.fd} vs |grad| ${right.norm}`);
    return right.norm;
  };
  /** the backward of an edit matters: `without` is hooked minus that backward */
  const checkDelta = async (g: Float64Array[], norm: number, without: GraphHooks, what: string) => {
    const leaky = await gradOf(without);
    const delta = leaky.map((a, k) => a.map((v, j) => v - g[k][j]));
    const along = await fdAlong(delta);
    assert.ok(along.norm > 1e-3 * norm, `${what}: the backward matters: |δ| = ${along.norm}`);
    const masked = dot(g, delta) / along.norm, unmasked = dot(leaky, delta) / along.norm;
    assert.ok(Math.abs(along.fd - masked) <= 0.05 * Math.abs(unmasked - masked), `${what}: along δ: finite difference ${along.fd}, the gradient says ${masked}, without the backward ${unmasked}`);
  };
  return { lossOf, gradOf, checkGrad, checkDelta };
}

const inPlace = (rt: Runtime, act: Tensor, make: () => Tensor) => {
  const v = make();
  rt.copy(v, 0, act, 0, act.numel);
  v.dispose();
};
const scaled = (rt: Runtime, c: number): HookFn => (act) => inPlace(rt, act, () => addScale(rt, act, c, null, 0));

async function checkEdits(seed: number, make: (rt: Runtime, model: LlamaModel) => Trainer) {
  const { rt, model, mb, counted } = await setup(seed);
  const { n_heads: H, d_head: D, d_model: C } = model.cfg;
  const tr = make(rt, model);
  const N = mb.B * mb.T;
  const head = 1;
  /** zero (forward) or the gradient (backward) of head `head`'s columns of z [1, T, H, D] */
  const zeroHead: HookFn = (act) => {
    const zeros = rt.zeros([D], 'f32', 'zeros');
    for (let t = 0; t < T; t++) rt.copy(zeros, 0, act, (t * H + head) * D, D);
    zeros.dispose();
  };
  const steer = rt.upload(new Rng(4).normal(N * C, 0.5), [N, C], 'f32', 'steer'); // [N, C]
  const halve = scaled(rt, 0.5);
  const edits = (withMask: boolean) => new Map<string, TrainHook>([
    [HOOKS.z(0), withMask ? { forward: zeroHead, backward: zeroHead } : { forward: zeroHead }],
    [HOOKS.residMid(1), { forward: (act) => inPlace(rt, act, () => addScale(rt, act, 1, steer, 1)) }], // d(x + s)/dx = 1
    [HOOKS.ln2(0), { forward: halve, backward: halve }],
    // before RoPE: a head of q zeroed (its gradient masked), k halved
    [HOOKS.q(1), { forward: zeroHead, backward: zeroHead }],
    [HOOKS.k(0), { forward: halve, backward: halve }],
    // the projections joining the residual: o_proj's output halved, down_proj's output halved
    [HOOKS.attnOut(1), { forward: halve, backward: halve }],
    [HOOKS.mlpOut(0), { forward: halve, backward: halve }],
  ]);
  const hooked = { edit: edits(true) };
  const fd = await fdHarness(rt, tr, mb, counted, hooked);
  const plain = await fd.lossOf(undefined);
  const edited = await fd.lossOf(hooked);
  assert.ok(Math.abs(edited - plain) > 1e-3, `the edits change the loss (${plain} → ${edited})`);
  const g = await fd.gradOf(hooked);
  const norm = await fd.checkGrad(g, 'with the edits');
  // the zero-ablation without its backward leaks gradient (δ) into head 1's q/k/v weights, which the
  // edited loss no longer sees: along δ the loss changes as the masked gradient says, not as the leaky one
  await fd.checkDelta(g, norm, { edit: edits(false) }, 'hook_z\'s mask');
  steer.dispose();
  tr.dispose();
}

test('written scores and pattern train right: attention runs in explicit steps and back, each edit\'s backward where it sits', async () => {
  const { rt, model, mb, counted } = await setup(13);
  const tr = Trainer.full(rt, model, OPT);
  /** head 0's pattern rows past query 4 halved (rows that no longer sum to 1), or their gradient: [1, H, T, T] */
  const cutPattern: HookFn = (act) => {
    const half = addScale(rt, act, 0.5, null, 0);
    rt.copy(half, 5 * T, act, 5 * T, (T - 5) * T);
    half.dispose();
  };
  const double = scaled(rt, 2);
  const scores = (back: boolean): [string, TrainHook] => [HOOKS.attnScores(1), back ? { forward: double, backward: double } : { forward: double }];
  const pattern = (back: boolean): [string, TrainHook] => [HOOKS.pattern(0), back ? { forward: cutPattern, backward: cutPattern } : { forward: cutPattern }];
  const hooked = { edit: new Map([scores(true), pattern(true)]) };
  const fd = await fdHarness(rt, tr, mb, counted, hooked);
  // the explicit steps alone (an edit that changes nothing) give the flash kernels' loss and gradient
  const noop: TrainHook = { forward: () => {}, backward: () => {} };
  const explicitNoop = { edit: new Map([[HOOKS.attnScores(0), noop], [HOOKS.pattern(1), noop]]) };
  assert.ok(Math.abs((await fd.lossOf(explicitNoop)) - (await fd.lossOf(undefined))) < 1e-5, 'explicit steps = the flash kernel');
  const [a, b] = [await fd.gradOf(explicitNoop), await fd.gradOf({})];
  let worst = 0, big = 0;
  a.forEach((x, k) => x.forEach((v, j) => { worst = Math.max(worst, Math.abs(v - b[k][j])); big = Math.max(big, Math.abs(b[k][j])); }));
  assert.ok(worst <= 1e-4 * big, `explicit backward vs flash backward: ${worst} (largest ${big})`);
  const g = await fd.gradOf(hooked);
  const norm = await fd.checkGrad(g, 'scores doubled, pattern cut');
  await fd.checkDelta(g, norm, { edit: new Map([scores(false), pattern(true)]) }, 'the scores\' backward');
  await fd.checkDelta(g, norm, { edit: new Map([scores(true), pattern(false)]) }, 'the pattern\'s backward');
  tr.dispose();
});
