// A training step's blocks replayed (Runtime.replayable, gpu/replay.ts) give the same numbers as the step run
// in full, bit for bit: LoRA and full-parameter, with recomputation, new data every step, a shape change in the
// middle, and a pool trimmed between steps so that every log is made again.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { testRuntime, releaseTestRuntime } from '../testing/gpu.ts';
import { makeTinyCheckpoint } from '../model/checkpoint-fixtures.ts';
import { loadModel } from '../model/load.ts';
import { Rng } from '../testing/rng.ts';
import { Trainer, type OptimConfig } from './trainer.ts';
import { LORA_TARGETS, type MicroBatch } from './graph.ts';
import type { Runtime } from '../gpu/runtime.ts';

after(releaseTestRuntime);

const OPT: OptimConfig = { lr: 1e-2, schedule: 'constant', warmupSteps: 0, totalSteps: 50, weightDecay: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, maxGradNorm: 1 };

/** Step `s`'s two micro-batches of [2, T]: new random ids and labels every step (some rows unlabelled). */
function batch(s: number, V: number, T = 8): MicroBatch[] {
  const rng = new Rng(100 + s);
  return [0, 1].map(() => {
    const ids = new Int32Array(2 * T).map(() => rng.int(0, V));
    const labels = new Int32Array(2 * T).map((_, i) => (i % T === 0 || rng.int(0, 4) === 0 ? -100 : rng.int(0, V)));
    return { ids, labels, B: 2, T };
  });
}

type Make = (rt: Runtime, model: Awaited<ReturnType<typeof loadModel>>['model']) => Trainer;

/** Losses and gradient norms of `n` steps, then the trained parameters; `between` runs after each step. */
async function run(replay: boolean, make: Make, n: number, shapeOf: (s: number) => number = () => 8, between?: (rt: Runtime, s: number, tr: Trainer) => void) {
  const rt = await testRuntime();
  rt.replayOn = replay;
  try {
    const { model } = await loadModel(rt, makeTinyCheckpoint({}, 31, 'f32'), { tokenizer: false });
    const tr = make(rt, model);
    const trace: number[] = [];
    for (let s = 0; s < n; s++) {
      const m = await tr.trainStep(batch(s, model.cfg.d_vocab, shapeOf(s)));
      trace.push(m.loss, m.gradNorm);
      between?.(rt, s, tr);
    }
    const { params } = await tr.exportState();
    const stats = tr.graph.replayStats;
    tr.dispose();
    return { trace, params, stats };
  } finally {
    rt.replayOn = true;
  }
}

async function same(make: Make, n: number, shapeOf?: (s: number) => number, between?: (rt: Runtime, s: number, tr: Trainer) => void) {
  const off = await run(false, make, n, shapeOf);
  const on = await run(true, make, n, shapeOf, between);
  assert.deepEqual(off.stats, { replays: 0, captures: 0, lastBroken: null }, 'replay off: nothing logged');
  assert.deepEqual(on.trace, off.trace, 'losses and gradient norms, step by step');
  assert.deepEqual(on.params, off.params, 'trained parameters');
  return on.stats;
}

const lora: Make = (rt, model) => Trainer.lora(rt, model, { r: 4, alpha: 8, targets: LORA_TARGETS, seed: 1 }, OPT);

test('LoRA, all seven targets: 6 steps replayed give the same losses, norms and adapter as run in full', async () => {
  const stats = await same(lora, 6);
  const perStep = 2 * 2 * 2; // micro-batches × blocks (2) × forward and backward
  assert.ok(stats.replays >= 3 * perStep, `replays ${stats.replays}: expected most blocks from step 3 on`);
  assert.ok(stats.captures <= 3 * perStep, `captures ${stats.captures}`);
});

test('full-parameter training with recomputation: replayed = run in full', async () => {
  const stats = await same((rt, model) => Trainer.full(rt, model, { ...OPT, lr: 3e-3, recompute: true }), 5);
  assert.ok(stats.replays > 0, 'the recomputed forwards and the backwards replay too');
});

test('a new shape in the middle is logged under its own key; the old one replays again after it', async () => {
  const stats = await same(lora, 7, (s) => (s === 3 ? 12 : 8));
  assert.ok(stats.replays > 0 && stats.captures > 0);
});

test('the pool trimmed between steps (its free buffers destroyed): every log is made again, same numbers', async () => {
  const captures: number[] = [];
  await same(lora, 6, undefined, (rt, s, tr) => {
    captures.push(tr.graph.replayStats.captures);
    if (s === 2) rt.pool.trim();
  });
  assert.equal(captures[2], captures[1], 'step 3 replayed every block');
  assert.equal(captures[3] - captures[2], 2 * 2 * 2, 'after the trim: each micro-batch × block × part logged again');
  assert.equal(captures[5], captures[3], 'then replayed again');
});

test('dropout on the adapters: every step draws new masks, so nothing is replayed (and the numbers are the same)', async () => {
  const stats = await same((rt, model) => Trainer.lora(rt, model, { r: 4, alpha: 8, targets: ['q_proj', 'v_proj'], seed: 1, dropout: 0.1 }, OPT), 3);
  assert.deepEqual(stats, { replays: 0, captures: 0, lastBroken: null });
});
