// Hook points and interventions on a tiny checkpoint, each against what it must equal by construction
// (host float64 arithmetic on captured tensors and the weights, or another run's outputs):
// every point captured leaves the logits unchanged; ln1.hook_normalized is rmsnorm(resid_pre); the logit
// lens's last row is the model's log-softmax and its first row the unembedded embedding; zero ablation
// removes exactly z_h · W_O[:, h]ᵀ from hook_attn_out; mean ablation uses the reference set's mean; patching
// a whole residual stream reproduces the source run, one position changes only that row at the last layer.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { testRuntime, releaseTestRuntime } from '../testing/gpu.ts';
import { makeTinyCheckpoint } from '../model/checkpoint-fixtures.ts';
import { loadModel } from '../model/load.ts';
import type { LlamaModel } from '../model/llama.ts';
import { HOOKS, hookNames } from '../model/hooks.ts';
import { ablateHead, logitLens, logitsWith, logSoftmax, meanHeadZ, patchActivation } from './interventions.ts';

after(releaseTestRuntime);

let loaded: Promise<LlamaModel> | null = null;
const model = () => (loaded ??= testRuntime().then(async (rt) => (await loadModel(rt, makeTinyCheckpoint({}, 7, 'f32'), { tokenizer: false })).model));
const IDS = [3, 17, 12, 5, 29, 23, 8];
const SRC = [11, 4, 30, 2, 27, 31, 9];
const TOL = 1e-5;

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
const read = async (m: LlamaModel, t: Parameters<LlamaModel['rt']['read']>[0]) => Float64Array.from((await m.rt.read(t)) as Float32Array);

test('capturing every hook point leaves the logits as they were; ln1.hook_normalized = rmsnorm(resid_pre) · w', async () => {
  const m = await model();
  const plain = await logitsWith(m, IDS);
  const all = await logitsWith(m, IDS, undefined, new Set(hookNames(m.cfg.n_layers)));
  assert.ok(maxDiff(plain.logits, all.logits) < TOL, 'logits');
  const { d_model: C, n_heads: H, d_head: D, d_mlp: F } = m.cfg;
  const T = IDS.length;
  const shapes: Record<string, number[]> = { [HOOKS.z(1)]: [1, T, H, D], [HOOKS.mlpPost(0)]: [1, T, F], [HOOKS.pattern(0)]: [1, H, T, T], [HOOKS.ln2(1)]: [1, T, C] };
  for (const [n, s] of Object.entries(shapes)) assert.deepEqual(all.captures.get(n)!.shape, s, n);
  const pre = await read(m, all.captures.get(HOOKS.residPre(1))!);
  const h = await read(m, all.captures.get(HOOKS.ln1(1))!);
  const g = await read(m, m.w.blocks[1].ln1);
  for (let t = 0; t < T; t++) {
    let ss = 0;
    for (let c = 0; c < C; c++) ss += pre[t * C + c] ** 2;
    const r = 1 / Math.sqrt(ss / C + m.cfg.rms_norm_eps);
    for (let c = 0; c < C; c++) assert.ok(Math.abs(h[t * C + c] - pre[t * C + c] * r * g[c]) < 1e-5, `ln1 [${t}, ${c}]`);
  }
  for (const t of new Set(all.captures.values())) t.dispose();
});

test('logit lens: the last row is the model\'s own log-probabilities, the first the unembedded embedding', async () => {
  const m = await model();
  const target = 12;
  const lens = await logitLens(m, IDS, target);
  assert.equal(lens.length, m.cfg.n_layers + 1);
  const V = m.cfg.d_vocab, C = m.cfg.d_model, T = IDS.length;
  const { logits } = await logitsWith(m, IDS);
  const own = Array.from({ length: T }, (_, t) => logSoftmax(logits.subarray(t * V, (t + 1) * V))[target]);
  assert.ok(maxDiff(lens[m.cfg.n_layers], own) < TOL, 'last row');
  const E = await read(m, m.w.embed), U = await read(m, m.w.unembed), g = await read(m, m.w.lnFinal);
  const first = IDS.map((id) => {
    const x = E.subarray(id * C, (id + 1) * C);
    const r = 1 / Math.sqrt(x.reduce((a, v) => a + v * v, 0) / C + m.cfg.rms_norm_eps);
    const row = Array.from({ length: V }, (_, v) => x.reduce((a, xc, c) => a + xc * r * g[c] * U[v * C + c], 0));
    return logSoftmax(row)[target];
  });
  assert.ok(maxDiff(lens[0], first) < 1e-4, 'first row');
});

test('zero ablation removes exactly z_h · W_O[:, h]ᵀ from hook_attn_out; mean ablation uses the set\'s mean', async () => {
  const m = await model();
  const { n_heads: H, d_head: D, d_model: C } = m.cfg;
  const T = IDS.length, l = 1, h = 2;
  const cap = new Set([HOOKS.z(l), HOOKS.attnOut(l)]);
  const base = await logitsWith(m, IDS, undefined, cap);
  const z = await read(m, base.captures.get(HOOKS.z(l))!);
  const out = await read(m, base.captures.get(HOOKS.attnOut(l))!);
  const Wo = await read(m, m.w.blocks[l].wo); // [C, H·D]
  // the ablated run, its attn_out captured through a second capture of the same run
  const values = new Float32Array(D);
  const ablated = await ablateHead(m, IDS, l, h);
  assert.ok(maxDiff(ablated, base.logits) > 1e-4, 'ablation changes the logits');
  const { rt } = m;
  const zeros = rt.upload(new Float32Array(T * D), [T, D], 'f32', 'zeros');
  const got = await logitsWith(m, IDS, new Map([[HOOKS.z(l), (act) => { for (let t = 0; t < T; t++) rt.copy(zeros, t * D, act, (t * H + h) * D, D); }]]), new Set([HOOKS.attnOut(l)]));
  zeros.dispose();
  assert.ok(maxDiff(got.logits, ablated) < TOL, 'ablateHead = the hand-written hook');
  const outAbl = await read(m, got.captures.get(HOOKS.attnOut(l))!);
  for (let t = 0; t < T; t++)
    for (let c = 0; c < C; c++) {
      let contrib = 0;
      for (let d = 0; d < D; d++) contrib += z[(t * H + h) * D + d] * Wo[c * H * D + h * D + d];
      assert.ok(Math.abs(outAbl[t * C + c] - (out[t * C + c] - contrib)) < 1e-5, `attn_out [${t}, ${c}]`);
    }
  // mean ablation: the mean over a reference set equals the host mean of the captured z
  const mean = await meanHeadZ(m, [IDS, SRC], l, h);
  const z2 = await read(m, (await logitsWith(m, SRC, undefined, new Set([HOOKS.z(l)]))).captures.get(HOOKS.z(l))!);
  for (let d = 0; d < D; d++) {
    let s = 0;
    for (let t = 0; t < T; t++) s += z[(t * H + h) * D + d] + z2[(t * H + h) * D + d];
    values[d] = s / (2 * T);
  }
  assert.ok(maxDiff(mean, values) < 1e-6, 'mean of z');
  assert.ok(maxDiff(await ablateHead(m, IDS, l, h, mean), ablated) > 1e-5, 'mean ablation differs from zero ablation');
  await assert.rejects(ablateHead(m, IDS, 9, 0), /layers 0\.\./);
});

test('patching: a whole residual stream reproduces the source run; one position at the last layer changes only that row', async () => {
  const m = await model();
  const V = m.cfg.d_vocab, T = IDS.length, L = m.cfg.n_layers;
  const src = (await logitsWith(m, SRC)).logits;
  const base = (await logitsWith(m, IDS)).logits;
  const whole = await patchActivation(m, IDS, SRC, HOOKS.residPre(1), 'all');
  assert.ok(maxDiff(whole, src) < TOL, 'resid_pre.1 patched everywhere = the source run');
  const p = 3;
  const one = await patchActivation(m, IDS, SRC, HOOKS.residPost(L - 1), p);
  for (let t = 0; t < T; t++) {
    const row = (a: Float32Array) => a.subarray(t * V, (t + 1) * V);
    assert.ok(maxDiff(row(one), row(t === p ? src : base)) < TOL, `row ${t}`);
  }
  // hook_z patched everywhere: the attention output of the source, on the target's residual
  const zp = await patchActivation(m, IDS, SRC, HOOKS.z(0), 'all');
  assert.ok(maxDiff(zp, base) > 1e-4 && maxDiff(zp, src) > 1e-4, 'a z patch is neither run');
  await assert.rejects(patchActivation(m, IDS, SRC.slice(0, 2), HOOKS.residPre(0), 4), /past the source prompt/);
  await assert.rejects(patchActivation(m, IDS, SRC, HOOKS.rotK(0), 1), /read but not written/);
  await assert.rejects(patchActivation(m, IDS, SRC, 'blocks.0.hook_nothing', 1), /no hook point/);
});
