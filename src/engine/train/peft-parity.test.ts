// Training parity with PEFT + torch.optim.AdamW, on fixtures made by tools/golden/make_sft_fixtures.py
// on the GPU machine (models/fixtures/sft/<model>/, see its reference.json): the loss and every LoRA
// gradient, one AdamW step with clipping, twenty steps of a linear-warmup schedule with gradient
// accumulation, and the full-parameter gradients and step.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { testRuntime, releaseTestRuntime } from '../testing/gpu.ts';
import { dirSource } from '../model/checkpoint.ts';
import { loadModel } from '../model/load.ts';
import { readSafetensors } from '../model/safetensors.ts';
import { readAdapter, loraKey } from './adapter.ts';
import { parseSftJsonl } from './data.ts';
import { DataCursor, makeMicroBatch } from './batches.ts';
import { Trainer, type OptimConfig } from './trainer.ts';
import { fullModelFile } from './state-files.ts';
import type { LoraTarget } from './graph.ts';

after(releaseTestRuntime);

const root = new URL('../../../', import.meta.url).pathname;

interface Ref {
  pad_token_id: number;
  hyperparameters: {
    lora: { r: number; lora_alpha: number };
    step1: { lr: number; weight_decay: number; betas: number[]; eps: number };
    train20: { lr: number; weight_decay: number; betas: number[]; eps: number; steps: number; batch_size: number; grad_accum: number; warmup_steps: number; max_grad_norm: number };
    full: { lr: number; weight_decay: number; betas: number[]; eps: number };
  };
  batch: { rows: number[] };
  grads: { loss: number; norm: number };
  step1: { max_norm: number };
  train20: { step: number; loss: number; grad_norm: number; lr: number }[];
  full: { loss: number; norm: number; max_norm: number };
}

const f32s = (file: string): Map<string, Float32Array> => {
  const m = new Map<string, Float32Array>();
  for (const [name, { data }] of readSafetensors(readFileSync(file), file)) m.set(name, new Float32Array(Uint8Array.from(data).buffer));
  return m;
};

/**
 * |got − want| ≤ rel · max|want| + 1e-7 (+ slack(i)) elementwise (a tensor-relative bound: gradients have zeros).
 */
function close(got: Float32Array, want: Float32Array, rel: number, what: string, slack: (i: number) => number = () => 0): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let m = 0;
  for (const v of want) m = Math.max(m, Math.abs(v));
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= rel * m + 1e-7 + slack(i))) assert.fail(`${what}[${i}]: ${got[i]} vs PEFT/torch ${want[i]} (max |ref| ${m}, rel ${rel}, slack ${slack(i)})`);
  }
}

/**
 * Parameters after AdamW's first step: `close` at 1e-4, except where PEFT's gradient is not zero but lies within the
 * gradient check's own bound of zero (1e-4 · max|g| + 1e-7). There the first step, lr · g / (|g| + eps), takes its
 * size and sign from rounding (a gradient of 1e-7 against eps 1e-8: a 4 % change in g from a different summation order
 * moves the parameter by 5e-5), so only the step's range is checked: |got − want| ≤ 2 · lr. That is, of the LoRA step,
 * 6 of llama-gqa's 13 440 values and 3 of qwen2-tied's 5 888; of the full-parameter step, 253 of 167 744 and 260 of
 * 53 120 (most in the embeddings' rows of tokens the batch barely reaches; qwen2-tied's layer-1 k_proj.bias[3], with a
 * gradient of 4e-8 against 1e-2, moved by 2.8e-5 when gate|up became one product). Every other value, exact zeros
 * included, keeps the 1e-4 bound.
 */
function closeStep(got: Float32Array, want: Float32Array, grad: Float32Array, lr: number, what: string): void {
  let mg = 0;
  for (const v of grad) mg = Math.max(mg, Math.abs(v));
  close(got, want, 1e-4, what, (i) => (grad[i] !== 0 && Math.abs(grad[i]) <= 1e-4 * mg + 1e-7 ? 2 * lr : 0));
}

async function setup(name: string) {
  const dir = join(root, 'models/fixtures', name);
  const sft = join(root, 'models/fixtures/sft', name);
  const ref = JSON.parse(readFileSync(join(sft, 'reference.json'), 'utf8')) as Ref;
  const rt = await testRuntime();
  const { model } = await loadModel(rt, dirSource(dir), { tokenizer: false });
  const init = await readAdapter(dirSource(join(sft, 'lora-init')), model.cfg);
  const data = parseSftJsonl(readFileSync(join(sft, 'rows.jsonl'), 'utf8'), null, { file: 'rows.jsonl', maxLength: model.cfg.n_ctx, vocabSize: model.cfg.d_vocab });
  assert.equal(data.problems.length, 0);
  const loraTrainer = (o: OptimConfig) =>
    Trainer.lora(rt, model, { r: init.cfg.r, alpha: init.cfg.alpha, targets: init.cfg.targets as LoraTarget[], init: (l, t) => init.tensors.get(loraKey(l, t)) }, o);
  const mb = makeMicroBatch(ref.batch.rows.map((i) => data.examples[i]), ref.pad_token_id);
  return { dir, sft, ref, rt, model, data, loraTrainer, mb };
}

const optim = (h: { lr: number; weight_decay: number; betas: number[]; eps: number }, maxGradNorm: number, extra: Partial<OptimConfig> = {}): OptimConfig => ({
  lr: h.lr, schedule: 'constant', warmupSteps: 0, totalSteps: 1, weightDecay: h.weight_decay, beta1: h.betas[0], beta2: h.betas[1], eps: h.eps, maxGradNorm, ...extra,
});

for (const name of ['llama-gqa', 'qwen2-tied']) {
  test(`${name}: loss and every LoRA gradient equal PEFT's within 1e-4`, async () => {
    const { sft, ref, rt, loraTrainer, mb } = await setup(name);
    const tr = loraTrainer(optim(ref.hyperparameters.step1, 0));
    const loss = (await rt.read(tr.graph.step(mb, rt.zeros([1]), tr.lora, null, { gradScale: 1 / mb.counted })))[0];
    assert.ok(Math.abs(loss - ref.grads.loss) <= 1e-4 * ref.grads.loss, `loss ${loss} vs PEFT ${ref.grads.loss}`);
    const want = f32s(join(sft, 'grads.safetensors'));
    assert.equal(want.size, tr.params.length);
    for (const p of tr.params) close((await rt.read(p.g)) as Float32Array, want.get(p.name)!, 1e-4, `${name} grad ${p.name}`);
    tr.dispose();
  });

  test(`${name}: one clipped AdamW step from the PEFT init equals torch.optim.AdamW within 1e-4`, async () => {
    const { sft, ref, rt, loraTrainer, mb } = await setup(name);
    const tr = loraTrainer(optim(ref.hyperparameters.step1, ref.step1.max_norm));
    const m = await tr.trainStep([mb]);
    assert.ok(Math.abs(m.gradNorm - ref.grads.norm) <= 1e-4 * ref.grads.norm, `grad norm ${m.gradNorm} vs ${ref.grads.norm}`);
    const want = f32s(join(sft, 'step1.safetensors'));
    const adam = f32s(join(sft, 'step1_adam_state.safetensors'));
    const s = await tr.exportState();
    const grads = f32s(join(sft, 'grads.safetensors'));
    for (const p of tr.params) {
      closeStep(s.params.get(p.name)!, want.get(p.name)!, grads.get(p.name)!, ref.hyperparameters.step1.lr, `${name} step-1 ${p.name}`);
      close(s.m.get(p.name)!, adam.get(`${p.name}.exp_avg`)!, 1e-4, `${name} exp_avg ${p.name}`);
      close(s.v.get(p.name)!, adam.get(`${p.name}.exp_avg_sq`)!, 1e-4, `${name} exp_avg_sq ${p.name}`);
    }
    tr.dispose();
  });

  test(`${name}: twenty steps (batch 2 × accumulation 2, linear warmup 3, clip 1) give PEFT's losses within 1e-3`, async () => {
    const { sft, ref, rt, data, loraTrainer } = await setup(name);
    const h = ref.hyperparameters.train20;
    const tr = loraTrainer(optim(h, h.max_grad_norm, { schedule: 'linear', warmupSteps: h.warmup_steps, totalSteps: h.steps }));
    const cursor = new DataCursor(data.examples, { batchSize: h.batch_size, gradAccum: h.grad_accum, seed: 0, shuffle: false, padId: ref.pad_token_id });
    for (const want of ref.train20) {
      const m = await tr.trainStep(cursor.nextStep().micro);
      assert.ok(Math.abs(m.loss - want.loss) <= 1e-3 * want.loss, `step ${want.step}: loss ${m.loss} vs PEFT ${want.loss}`);
      assert.ok(Math.abs(m.lr - want.lr) <= 1e-6 * h.lr, `step ${want.step}: lr ${m.lr} vs ${want.lr}`);
      assert.ok(Math.abs(m.gradNorm - want.grad_norm) <= 1e-3 * want.grad_norm, `step ${want.step}: grad norm ${m.gradNorm} vs ${want.grad_norm}`);
    }
    const final = f32s(join(sft, 'train20_final.safetensors'));
    const s = await tr.exportState();
    for (const p of tr.params) close(s.params.get(p.name)!, final.get(p.name)!, 1e-3, `${name} after 20 steps ${p.name}`);
    void rt;
    tr.dispose();
  });

  test(`${name}: full-parameter gradients and one AdamW step (no decay on norms) equal torch within 1e-4`, async () => {
    const { sft, ref, rt, model, mb } = await setup(name);
    const tr = Trainer.full(rt, model, optim(ref.hyperparameters.full, ref.full.max_norm));
    const loss = (await rt.read(tr.graph.step(mb, rt.zeros([1]), null, tr.full, { gradScale: 1 / mb.counted })))[0];
    assert.ok(Math.abs(loss - ref.full.loss) <= 1e-4 * ref.full.loss, `loss ${loss} vs torch ${ref.full.loss}`);
    // gradients in HF layout (q/k/v unstacked) through the same writer the checkpoints use
    const grads = new Map<string, Float32Array>();
    for (const p of tr.params) grads.set(p.name, (await rt.read(p.g)) as Float32Array);
    const asHf = (m: Map<string, Float32Array>) => {
      const out = new Map<string, Float32Array>();
      for (const [k, { data }] of readSafetensors(fullModelFile(model.cfg, m), 'lab')) out.set(k, new Float32Array(Uint8Array.from(data).buffer));
      return out;
    };
    const gotG = asHf(grads), wantG = f32s(join(sft, 'full_grads.safetensors'));
    assert.deepEqual([...gotG.keys()].sort(), [...wantG.keys()].sort());
    for (const [k, v] of wantG) close(gotG.get(k)!, v, 1e-4, `${name} full grad ${k}`);
    for (const p of tr.params) rt.clear(p.g);
    await tr.trainStep([mb]);
    const gotP = asHf((await tr.exportState()).params), wantP = f32s(join(sft, 'full_step1.safetensors'));
    // as the LoRA step's: values whose gradient is within rounding of zero take their first step's size from rounding
    for (const [k, v] of wantP) closeStep(gotP.get(k)!, v, wantG.get(k)!, ref.hyperparameters.full.lr, `${name} full step-1 ${k}`);
    tr.dispose();
  });
}
