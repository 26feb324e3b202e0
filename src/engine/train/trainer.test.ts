// The optimizer loop on tiny checkpoints: training lowers the loss (LoRA and full), a run resumed
// from exported state reproduces the uninterrupted losses bit for bit, and a NaN stops the run
// before any update.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { testRuntime, releaseTestRuntime } from '../testing/gpu.ts';
import { makeTinyCheckpoint } from '../model/checkpoint-fixtures.ts';
import { loadModel } from '../model/load.ts';
import { Rng } from '../testing/rng.ts';
import { Trainer, NonFiniteError, type OptimConfig } from './trainer.ts';
import { LORA_TARGETS, type MicroBatch } from './graph.ts';

after(releaseTestRuntime);

const OPT: OptimConfig = { lr: 1e-2, schedule: 'constant', warmupSteps: 0, totalSteps: 50, weightDecay: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, maxGradNorm: 1 };

/** Four fixed rows of a repeating pattern the model can learn, two micro-batches of 2 rows. */
function steps(V: number): MicroBatch[] {
  const rng = new Rng(5);
  const mbs: MicroBatch[] = [];
  for (let m = 0; m < 2; m++) {
    const T = 10;
    const ids = new Int32Array(2 * T);
    const labels = new Int32Array(2 * T).fill(-100);
    for (let b = 0; b < 2; b++) {
      const start = rng.int(0, V);
      for (let t = 0; t < T; t++) ids[b * T + t] = (start + 3 * t) % V; // next = this + 3 (mod V)
      for (let t = 1; t < T - 1; t++) labels[b * T + t] = ids[b * T + t + 1];
    }
    mbs.push({ ids, labels, B: 2, T });
  }
  return mbs;
}

async function fresh(seed = 21) {
  const rt = await testRuntime();
  const { model } = await loadModel(rt, makeTinyCheckpoint({}, seed, 'f32'), { tokenizer: false });
  return { rt, model };
}

test('LoRA (r 4, all seven targets): 50 steps lower the loss; the base model is untouched', async () => {
  const { rt, model } = await fresh();
  const before = await rt.read(model.w.blocks[0].wqkv);
  const tr = Trainer.lora(rt, model, { r: 4, alpha: 8, targets: LORA_TARGETS, seed: 1 }, OPT);
  const mbs = steps(model.cfg.d_vocab);
  const losses: number[] = [];
  for (let i = 0; i < 49; i++) losses.push((await tr.trainStep(mbs)).loss);
  const m = await tr.trainStep(mbs);
  losses.push(m.loss);
  assert.ok(losses[49] < 0.5 * losses[0], `loss ${losses[0]} → ${losses[49]}: expected at least halved`);
  // the CPU times: the update after the read is part of the step's record
  assert.ok(m.recordMs > 0 && m.updateMs > 0 && m.updateMs <= m.recordMs, `recordMs ${m.recordMs}, updateMs ${m.updateMs}`);
  assert.deepEqual(await rt.read(model.w.blocks[0].wqkv), before, 'base weights must stay frozen');
  tr.dispose();
});

test('full-parameter training: 30 steps lower the loss', async () => {
  const { rt, model } = await fresh(22);
  const tr = Trainer.full(rt, model, { ...OPT, lr: 3e-3 });
  const mbs = steps(model.cfg.d_vocab);
  const first = (await tr.trainStep(mbs)).loss;
  let last = first;
  for (let i = 1; i < 30; i++) last = (await tr.trainStep(mbs)).loss;
  assert.ok(last < 0.5 * first, `loss ${first} → ${last}: expected at least halved`);
  tr.dispose();
});

test('resume from exported state reproduces the uninterrupted losses exactly (linear schedule with warmup)', async () => {
  const optim: OptimConfig = { ...OPT, schedule: 'linear', warmupSteps: 2, totalSteps: 6 };
  const mbs = steps(32);
  const run = async (n: number, from?: { step: number; state: Awaited<ReturnType<Trainer['exportState']>> }) => {
    const { rt, model } = await fresh(23);
    const tr = Trainer.lora(rt, model, { r: 2, alpha: 4, targets: ['q_proj', 'v_proj', 'down_proj'], seed: 3 }, optim);
    if (from) tr.importState(from.step, from.state, 'test checkpoint');
    const losses: number[] = [];
    for (let i = 0; i < n; i++) losses.push((await tr.trainStep(mbs)).loss);
    const state = await tr.exportState();
    tr.dispose();
    return { losses, state, step: tr.step };
  };
  const straight = await run(6);
  const half = await run(3);
  const rest = await run(3, { step: half.step, state: half.state });
  assert.deepEqual([...half.losses, ...rest.losses], straight.losses);
});

test('a NaN loss stops the step with NonFiniteError before any parameter changes', async () => {
  const { rt, model } = await fresh(24);
  const tr = Trainer.lora(rt, model, { r: 2, alpha: 2, targets: ['o_proj'], seed: 4 }, OPT);
  const mbs = steps(model.cfg.d_vocab);
  await tr.trainStep(mbs);
  const state = await tr.exportState();
  const poisoned = new Map(state.params);
  const name = [...poisoned.keys()].find((k) => k.endsWith('lora_B.weight'))!;
  poisoned.set(name, new Float32Array(poisoned.get(name)!.length).fill(NaN));
  tr.importState(1, { ...state, params: poisoned }, 'test');
  await assert.rejects(tr.trainStep(mbs), (e: unknown) => e instanceof NonFiniteError && /step 2: loss is NaN/.test(e.message));
  assert.equal(tr.step, 1, 'the failed step is not counted');
  const after = await tr.exportState();
  for (const [k, v] of state.m) assert.deepEqual(after.m.get(k), v, `${k}: AdamW state changed by a failed step`);
  tr.dispose();
});

test('LoRA over frozen bf16 base weights trains exactly like over the same values in f32', async () => {
  const rt = await testRuntime();
  const half = makeTinyCheckpoint({}, 25, 'bf16');
  const widened = makeTinyCheckpoint(half.configJson, 1, 'f32', { values: half.weights }); // the bf16 values, stored f32
  const losses: number[][] = [];
  for (const ck of [half, widened]) {
    const { model } = await loadModel(rt, ck, { tokenizer: false });
    const tr = Trainer.lora(rt, model, { r: 4, alpha: 8, targets: LORA_TARGETS, seed: 2, dropout: 0.1 }, OPT);
    const mbs = steps(model.cfg.d_vocab);
    const l: number[] = [];
    for (let i = 0; i < 5; i++) l.push((await tr.trainStep(mbs)).loss);
    losses.push(l);
    tr.dispose();
  }
  assert.equal(losses[0].length, 5);
  // the same math on the same values; only the unpacking differs: fp32-exact → 1e-5 relative
  for (let i = 0; i < 5; i++) assert.ok(Math.abs(losses[0][i] - losses[1][i]) <= 1e-5 * losses[1][i], `step ${i + 1}: bf16 ${losses[0][i]} vs f32 ${losses[1][i]}`);
});
