// A training step and a forward under each kernel preference (Runtime.kernelPrefs: attention rows vs
// flash, matmul vec4 vs tiled) give the same loss, logits and gradients. The default kernels are held to
// float64 and transformers/PEFT references by graph.test.ts, llama.test.ts and trainer.test.ts; those
// models are too small for the other kernels to be picked (T < 32, matmuls of <= 16 rows or < 32
// columns), so this model is big enough that they are: 48 positions, d_model 64, d_head 16, d_mlp 128.
// Tolerance: the kernels sum in other orders, so fp32 rounding differs: 1e-4 of the largest value of
// each tensor (1e-5 relative on the loss).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { testRuntime, releaseTestRuntime, logDispatches } from '../testing/gpu.ts';
import { makeTinyCheckpoint } from '../model/checkpoint-fixtures.ts';
import { loadModel } from '../model/load.ts';
import { Rng } from '../testing/rng.ts';
import { assertAllClose } from '../testing/allclose.ts';
import { DEFAULT_KERNEL_PREFS, type KernelPrefs } from '../gpu/kernel-prefs.ts';
import { TrainGraph, LORA_TARGETS, type LoraState, type MicroBatch } from './graph.ts';

after(releaseTestRuntime);

const CONFIG = { vocab_size: 96, hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 128, max_position_embeddings: 64 };
const [B, T] = [2, 48];

function batch(V: number): MicroBatch {
  const rng = new Rng(3);
  const ids = rng.ints(B * T, 0, V);
  const labels = new Int32Array(B * T).fill(-100);
  for (let b = 0; b < B; b++) for (let t = 4; t < T - 1; t++) labels[b * T + t] = ids[b * T + t + 1];
  return { ids, labels, B, T };
}

const maxAbs = (x: Float32Array) => x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/** Runs a LoRA step (loss, every LoRA gradient) and a base-model forward under given kernel preferences. */
async function stepRunner() {
  const rt = await testRuntime();
  const ckpt = makeTinyCheckpoint(CONFIG, 21, 'f32');
  const { model } = await loadModel(rt, ckpt, { tokenizer: false });
  const cfg = model.cfg;
  const mb = batch(cfg.d_vocab);
  const counted = mb.labels.filter((t) => t !== -100).length;
  const dims = (t: string): [number, number] => {
    const { d_model: C, n_heads: H, n_kv_heads: Hkv, d_head: D, d_mlp: F } = cfg;
    return ({ q_proj: [C, H * D], k_proj: [C, Hkv * D], v_proj: [C, Hkv * D], o_proj: [H * D, C], gate_proj: [C, F], up_proj: [C, F], down_proj: [F, C] } as Record<string, [number, number]>)[t];
  };
  const rng = new Rng(22);
  const host = LORA_TARGETS.map((t) => {
    const [din, dout] = dims(t);
    return { t, A: rng.normal(16 * din, 0.2), B: rng.normal(dout * 16, 0.2), din, dout };
  });
  const run = async (prefs: KernelPrefs) => {
    rt.kernelPrefs = prefs;
    const lora: LoraState = { scale: 2, slots: [] };
    for (let l = 0; l < cfg.n_layers; l++) {
      lora.slots.push({});
      for (const h of host) lora.slots[l][h.t] = { A: rt.upload(h.A, [16, h.din]), B: rt.upload(h.B, [h.dout, 16]), dA: rt.zeros([16, h.din]), dB: rt.zeros([h.dout, 16]) };
    }
    const graph = new TrainGraph(rt, cfg, model.w);
    const loss = (await rt.read(graph.step(mb, rt.zeros([1]), lora, null, { gradScale: 1 / counted })))[0];
    const grads: Float32Array[] = [];
    for (const slots of lora.slots) for (const h of host) grads.push((await rt.read(slots[h.t]!.dA)) as Float32Array, (await rt.read(slots[h.t]!.dB)) as Float32Array);
    const logits = (await rt.read(model.forward(rt.upload(mb.ids, [B, T], 'i32')).logits!)) as Float32Array; // the base model's forward
    return { loss, grads, logits };
  };
  return { rt, run, host };
}

const close = (got: Float32Array, want: Float32Array, rel: number, what: string) => assertAllClose(got, want, { atol: rel * maxAbs(want) + 1e-7, rtol: 0 }, what);

test('a LoRA step and a base-model forward give the same numbers under attention=rows,matmul=vec4 as under the defaults', async () => {
  const { rt, run, host } = await stepRunner();
  const saved = { ...rt.kernelPrefs };
  try {
    const base = await run({ ...DEFAULT_KERNEL_PREFS, attention: 'flash', matmul: 'tiled' });
    const other = await run({ ...DEFAULT_KERNEL_PREFS, attention: 'rows', matmul: 'vec4' });
    assert.ok(Number.isFinite(base.loss) && base.loss > 0, `loss ${base.loss}`);
    assert.ok(Math.abs(other.loss - base.loss) <= 1e-5 * base.loss, `loss ${other.loss} (rows, vec4) vs ${base.loss} (flash, tiled)`);
    close(other.logits, base.logits, 1e-4, 'logits');
    assert.equal(other.grads.length, base.grads.length);
    base.grads.forEach((g, i) => {
      assert.ok(maxAbs(g) > 0, `gradient ${i} is all zeros`);
      close(other.grads[i], g, 1e-4, `LoRA gradient ${i} (layer ${Math.floor(i / 14)}, ${host[Math.floor(i / 2) % 7].t} ${i % 2 ? 'dB' : 'dA'})`);
    });
  } finally {
    rt.kernelPrefs = saved;
  }
});

// Mixed precision (precision f16: every vec4 matmul as vec4h, operands rounded to f16) against the f32 defaults.
// Measured on lavapipe: loss 6e-5 relative, logits 6e-4 and LoRA gradients 3.5e-2 of their largest value (the
// gradients sum over tokens with much cancellation, so each matmul's 2u·Σ|a||b|, u = 2^-11, is large against
// the sum). Held to about twice that: loss 2e-4, logits 2e-3, gradients 8e-2. A wrong kernel or a lost term is
// off by O(1); an f32 kernel would give f32's loss to the last bit, which the test rules out.
test('a LoRA step and a forward in mixed precision (precision=f16) stay within f16 rounding of f32', async (t) => {
  const { rt, run, host } = await stepRunner();
  if (!rt.ctx.hasF16) return t.skip('this device has no shader-f16: mixed precision cannot run here (skipped)');
  const saved = { ...rt.kernelPrefs };
  try {
    const f32 = await run({ ...DEFAULT_KERNEL_PREFS });
    const f16 = await run({ ...DEFAULT_KERNEL_PREFS, precision: 'f16' });
    assert.ok(Math.abs(f16.loss - f32.loss) <= 2e-4 * f32.loss, `loss ${f16.loss} (f16) vs ${f32.loss} (f32)`);
    assert.ok(f16.loss !== f32.loss, 'the f16 step gave the f32 loss exactly: did vec4h run?');
    close(f16.logits, f32.logits, 2e-3, 'logits (f16)');
    f32.grads.forEach((g, i) => close(f16.grads[i], g, 8e-2, `LoRA gradient ${i} (f16; ${host[Math.floor(i / 2) % 7].t} ${i % 2 ? 'dB' : 'dA'})`));
  } finally {
    rt.kernelPrefs = saved;
  }
});

// Where matmul adds the adapters' terms (lowrank: their own kernels after each product, the split-K reduce, and also
// the vec4 kernel's K steps): the same sums in other places, so the same numbers to fp32 rounding; and the terms'
// own kernels run only where the preference leaves them (this model's products are vec4, none split-K: graph.test.ts
// holds the reduce's fold).
test('a LoRA step gives the same numbers with the adapters\' terms folded into the products (lowrank=reduce|all) as apart (none)', async () => {
  const { rt, run, host } = await stepRunner();
  const saved = { ...rt.kernelPrefs };
  const apart = (names: string[]) => names.filter((n) => n === 'lora_forward' || n === 'matmul_short_k').length;
  try {
    const log = logDispatches(rt);
    const none = await run({ ...DEFAULT_KERNEL_PREFS, lowrank: 'none' });
    const nNone = apart(log.names.splice(0));
    const reduce = await run({ ...DEFAULT_KERNEL_PREFS, lowrank: 'reduce' });
    const nReduce = apart(log.names.splice(0));
    const all = await run({ ...DEFAULT_KERNEL_PREFS, lowrank: 'all' });
    const nAll = apart(log.names.splice(0));
    log.restore();
    assert.ok(nNone >= nReduce && nReduce >= nAll && nNone > nAll, `the terms' own dispatches: none ${nNone}, reduce ${nReduce}, all ${nAll}`);
    for (const [name, r] of [['reduce', reduce], ['all', all]] as const) {
      assert.ok(Math.abs(r.loss - none.loss) <= 1e-5 * none.loss, `loss ${r.loss} (${name}) vs ${none.loss} (none)`);
      none.grads.forEach((g, i) => close(r.grads[i], g, 1e-4, `LoRA gradient ${i} (${name}; ${host[Math.floor(i / 2) % 7].t} ${i % 2 ? 'dB' : 'dA'})`));
    }
  } finally {
    rt.kernelPrefs = saved;
  }
});
