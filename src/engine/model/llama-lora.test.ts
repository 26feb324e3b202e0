// The unmerged LoRA adapter of LlamaModel (model.adapter, what GRPO rollouts sample from) against
// the same adapter merged into the weights on the host (loadModel's `adapter`, W + scale·B·A), on
// models/lab-micro: logits on the unfused (> FUSED_MAX_ROWS rows) and fused-decode (≤ 16 rows)
// paths, greedy generation through the KV cache, hooks that include the adapter's share, and
// `adapter = null` giving the base model back bit for bit (the GRPO reference policy).
//
// Legend: B batch, T positions, C = d_model, V = d_vocab, r = LoRA rank.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testRuntime, releaseTestRuntime } from '../testing/gpu.ts';
import { assertAllClose } from '../testing/allclose.ts';
import { Rng } from '../testing/rng.ts';
import type { Runtime } from '../gpu/runtime.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { dirSource } from './checkpoint.ts';
import { loadModel } from './load.ts';
import { generate } from './generate.ts';
import { FUSED_MAX_ROWS, HOOKS, type InferenceLora, type LlamaModel } from './llama.ts';
import { adapterModules, adapterSlots, writeAdapter, LORA_TARGETS, type AdapterTensors, type LoraConfig } from '../train/adapter.ts';
import { stackedRows } from './block-adapters.ts';
import type { LoraState } from '../train/graph.ts';

after(releaseTestRuntime);

const MICRO = dirSource(join(fileURLToPath(new URL('../../../', import.meta.url)), 'models', 'lab-micro')); // C 48, H 2, Hkv 1, D 24, F 128, 2 layers, V 512

// Merged and unmerged differ only in fp32 rounding order: W + scale·B·A rounded once on the host vs
// x Wᵀ and scale·(x Aᵀ) Bᵀ summed on the GPU; through 2 blocks, logits of O(1..10) agree to ~1e-5
// relative (the whole-model bound of llama.test.ts is 1e-4).
const MERGE_TOL = { atol: 1e-4, rtol: 1e-4 };
// a hook's sum rule holds up to the one rounding of add()
const SUM_TOL = { atol: 1e-6, rtol: 1e-6 };
// With hooks the adapter adds into the projection before it joins the residual; without, into the
// residual after the base matmul: another rounding order (~1 ulp of the stream per add), which the
// later layers carry to a few 1e-6 on the logits (seen: worst 3.1e-6), so 1e-5 rather than 1e-6.
const HOOK_TOL = { atol: 1e-5, rtol: 1e-5 };

// Two adapters, each on a subset of the 2 layers: all seven targets on layer 1 (every unfused path);
// v_proj and down_proj only on layer 0 (ln1 + q|k|v unfused with one window, the MLP's fused path kept).
const ALL: LoraConfig = { r: 4, alpha: 8, dropout: 0, targets: [...LORA_TARGETS], layers: [1] };
const SOME: LoraConfig = { r: 4, alpha: 8, dropout: 0, targets: ['v_proj', 'down_proj'], layers: [0] };

// A compile-time check: the trainer's LoraState is an InferenceLora (model.adapter = trainer.lora).
const _fromTrainer = (s: LoraState): InferenceLora => s;
void _fromTrainer;

/** Seeded A [r, in] and B [out, r] for every adapted module, N(0, 0.15²): B non-zero so the adapter matters. */
function randomAdapter(cfg: LoraConfig, model: LlamaModel, seed: number): AdapterTensors {
  const rng = new Rng(seed);
  return new Map(adapterModules(cfg, model.cfg).map((x) => [x.key, { A: rng.normal(cfg.r * x.in, 0.15), B: rng.normal(x.out * cfg.r, 0.15) }]));
}

/** The adapter on the GPU as model.adapter takes it (slots[layer][target]). */
function upload(rt: Runtime, cfg: LoraConfig, tensors: AdapterTensors, model: LlamaModel): InferenceLora & { all: Tensor[] } {
  const slots: Partial<Record<(typeof LORA_TARGETS)[number], { A: Tensor; B: Tensor }>>[] = Array.from({ length: model.cfg.n_layers }, () => ({}));
  const all: Tensor[] = [];
  for (const { l, t, key, in: nIn, out } of adapterModules(cfg, model.cfg)) {
    const p = tensors.get(key)!;
    const A = rt.upload(p.A, [cfg.r, nIn], 'f32', `lora.${key}.A`); // [r, in]
    const B = rt.upload(p.B, [out, cfg.r], 'f32', `lora.${key}.B`); // [out, r]
    slots[l][t] = { A, B };
    all.push(A, B);
  }
  return { scale: cfg.alpha / cfg.r, slots, all };
}

/** Base model with the adapter unmerged (model.adapter still null), and the same adapter merged at load. */
async function setup(cfg: LoraConfig, seed: number) {
  const rt = await testRuntime();
  const { model } = await loadModel(rt, MICRO, { tokenizer: false });
  const tensors = randomAdapter(cfg, model, seed);
  const { model: merged } = await loadModel(rt, MICRO, { tokenizer: false, adapter: writeAdapter(cfg, tensors, model.cfg, null) });
  const adapter = upload(rt, cfg, tensors, model);
  const dispose = () => {
    for (const t of [...adapter.all, ...model.w.all, ...merged.w.all]) t.dispose();
  };
  return { rt, model, merged, adapter, dispose };
}

/** Seeded token ids [B, T] in the vocabulary. */
const randomIds = (B: number, T: number, V: number, seed: number) => new Rng(seed).ints(B * T, 0, V);

/** Logits [B, T, V] of a forward over ids [B, T] (all positions), read back. */
async function logitsOf(model: LlamaModel, ids: Int32Array, B: number, T: number): Promise<Float32Array> {
  const { rt } = model;
  const idsT = rt.upload(ids, [B, T], 'i32', 'ids');
  const { logits } = model.forward(idsT, { logits: 'all' }); // [B, T, V]
  idsT.dispose();
  const out = (await rt.read(logits!)) as Float32Array;
  logits!.dispose();
  return out;
}

const bitsEqual = (a: Float32Array, b: Float32Array, what: string) =>
  assert.ok(a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0, `${what}: not bitwise equal`);

/** Largest |a − b| (to show the adapter changes the logits at all). */
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

// [B, T] shapes: B·T = 2·12 = 24 rows takes the unfused path, 3·4 = 12 rows the fused decode kernels
const SHAPES: [number, number][] = [[2, 12], [3, 4]];

for (const [name, cfg, seed] of [['all seven targets on layer 1', ALL, 11], ['v_proj + down_proj on layer 0', SOME, 12]] as const) {
  test(`unmerged adapter (${name}) gives the merged model's logits; adapter = null gives the base logits bit for bit`, async () => {
    const { model, merged, adapter, dispose } = await setup(cfg, seed);
    const V = model.cfg.d_vocab;
    for (const [B, T] of SHAPES) {
      const label = `[${B}, ${T}] (${B * T <= FUSED_MAX_ROWS ? 'fused' : 'unfused'} rows)`;
      const ids = randomIds(B, T, V, 100 + B);
      const base = await logitsOf(model, ids, B, T);
      model.adapter = adapter;
      const withLora = await logitsOf(model, ids, B, T);
      const want = await logitsOf(merged, ids, B, T);
      assertAllClose(withLora, want, MERGE_TOL, `${name} ${label} logits vs merged`);
      assert.ok(maxDiff(want, base) > 1e-2, `${label}: the adapter moves the logits (max change ${maxDiff(want, base)})`);
      model.adapter = null;
      bitsEqual(await logitsOf(model, ids, B, T), base, `${label} adapter off again`);
    }
    dispose();
  });
}

test('greedy generate (batch 3, left-padded, KV-cache decode) with the unmerged adapter picks the merged model\'s tokens', async () => {
  const { model, merged, adapter, dispose } = await setup(ALL, 21);
  const V = model.cfg.d_vocab;
  const rng = new Rng(5);
  const prompts = [7, 3, 11].map((n) => Array.from(rng.ints(n, 0, V))); // T0 = 11: prefill 33 rows (unfused), decode 3 rows (fused path off)
  const opts = { maxNewTokens: 10, sampling: { kind: 'greedy' } as const, ignoreEos: true };
  const plain = await generate(model, prompts, opts);
  model.adapter = adapter;
  const got = await generate(model, prompts, opts);
  const want = await generate(merged, prompts, opts);
  assert.deepEqual(got, want);
  assert.notDeepEqual(got, plain, 'the adapter changes what is generated');
  model.adapter = null;
  assert.deepEqual(await generate(model, prompts, opts), plain, 'adapter off: the base model\'s tokens again');
  dispose();
});

test('hook_attn_out / hook_mlp_out include the adapter (resid_mid − resid_pre = attn_out, and equal the merged model\'s)', async () => {
  const { model, merged, adapter, dispose } = await setup(ALL, 31);
  const { rt } = model;
  const L = model.cfg.n_layers;
  const names: string[] = [];
  for (let l = 0; l < L; l++) names.push(HOOKS.residPre(l), HOOKS.attnOut(l), HOOKS.residMid(l), HOOKS.mlpOut(l), HOOKS.residPost(l));
  for (const [B, T] of SHAPES) {
    const ids = randomIds(B, T, model.cfg.d_vocab, 200 + B);
    const run = async (m: LlamaModel, capture: ReadonlySet<string>) => {
      const idsT = rt.upload(ids, [B, T], 'i32', 'ids');
      const r = m.forward(idsT, { capture, logits: 'all' });
      idsT.dispose();
      const read = async (t: Tensor) => ((await rt.read(t)) as Float32Array);
      const caps = new Map<string, Float32Array>();
      for (const [k, t] of r.captures) caps.set(k, await read(t));
      for (const t of new Set(r.captures.values())) t.dispose(); // resid_post(l) is resid_pre(l + 1): one tensor
      const logits = await read(r.logits!);
      r.logits!.dispose();
      return { logits, caps };
    };
    model.adapter = adapter;
    const got = await run(model, new Set(names));
    const plain = await run(model, new Set()); // in-place residual adds, adapter added into the stream
    const want = await run(merged, new Set(names));
    model.adapter = null;
    assertAllClose(got.logits, plain.logits, HOOK_TOL, `[${B}, ${T}] logits with and without hooks`);
    for (let l = 0; l < L; l++) {
      const [pre, attn, mid, mlp, post] = [HOOKS.residPre(l), HOOKS.attnOut(l), HOOKS.residMid(l), HOOKS.mlpOut(l), HOOKS.residPost(l)].map((n) => got.caps.get(n)!);
      assertAllClose(mid, Array.from(pre, (v, i) => v + attn[i]), SUM_TOL, `[${B}, ${T}] resid_mid ${l} = resid_pre + attn_out`);
      assertAllClose(post, Array.from(mid, (v, i) => v + mlp[i]), SUM_TOL, `[${B}, ${T}] resid_post ${l} = resid_mid + mlp_out`);
      for (const n of [HOOKS.attnOut(l), HOOKS.mlpOut(l), HOOKS.residPost(l)]) assertAllClose(got.caps.get(n)!, want.caps.get(n)!, MERGE_TOL, `[${B}, ${T}] ${n} vs merged`);
    }
  }
  dispose();
});

test('adapterSlots packs each layer as a trainer does (q|k|v and gate|up share their x·Aᵀ) and gives the merged logits', async () => {
  const { rt, model, merged, dispose } = await setup(ALL, 13);
  const tensors = randomAdapter(ALL, model, 13); // the same seed: the adapter merged into `merged`
  const { lora, tensors: owned } = adapterSlots(rt, { cfg: ALL, tensors }, model.cfg);
  const s = lora.slots[1];
  assert.ok(stackedRows([s.q_proj!.A, s.k_proj!.A, s.v_proj!.A]), 'q|k|v A factors back to back');
  assert.ok(stackedRows([s.gate_proj!.A, s.up_proj!.A]), 'gate|up A factors back to back');
  assert.equal(owned.length, 1, 'one buffer for the one adapted layer');
  const V = model.cfg.d_vocab;
  for (const [B, T] of SHAPES) {
    const ids = randomIds(B, T, V, 200 + B);
    model.adapter = lora;
    const got = await logitsOf(model, ids, B, T);
    model.adapter = null;
    assertAllClose(got, await logitsOf(merged, ids, B, T), MERGE_TOL, `packed adapter [${B}, ${T}] logits vs merged`);
  }
  for (const t of owned) t.dispose();
  dispose();
});
