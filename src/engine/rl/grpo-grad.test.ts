// The GRPO gradient through the training graph (graph.ts's policy head + shaders/policy_logit_grad)
// against two independent derivations on a tiny checkpoint:
//   1. the chain rule on the already-proven SFT graph: d L / d θ = Σ_i g_i · ∇θ logp_i with g_i =
//      d L / d logp_i from grpoObjective (float64) and ∇θ logp_i = −(the SFT gradient of token i alone);
//   2. central finite differences of the host objective (float64 over the graph's forward log-probs)
//      along the gradient, at temperature 0.7 (the 1/T chain through the logits), LoRA and full.
// Off-policy ratios on both sides of the clip range, β = 0.1 with a reference, ε_high ≠ ε.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { testRuntime, releaseTestRuntime } from '../testing/gpu.ts';
import { makeTinyCheckpoint } from '../model/checkpoint-fixtures.ts';
import { loadModel } from '../model/load.ts';
import { Rng } from '../testing/rng.ts';
import { Trainer, type OptimConfig } from '../train/trainer.ts';
import { LORA_TARGETS, type MicroBatch } from '../train/graph.ts';
import { loraDims } from '../train/adapter.ts';
import { grpoObjective } from './objective.ts';
import type { Runtime } from '../gpu/runtime.ts';

after(releaseTestRuntime);

const OPT: OptimConfig = { lr: 0, schedule: 'constant', warmupSteps: 0, totalSteps: 1, weightDecay: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, maxGradNorm: 0 };
const B = 3, T = 9, P0 = 4; // rows, positions, prompt length (labels at P0 − 1 .. T − 2)
const EPS = 0.2, EPS_HIGH = 0.28, BETA = 0.1;

async function setup(mode: 'lora' | 'full', seed: number) {
  const rt = await testRuntime();
  const { model } = await loadModel(rt, makeTinyCheckpoint({}, seed, 'f32'), { tokenizer: false });
  const rng = new Rng(seed + 100);
  const cfg = model.cfg;
  const tr = mode === 'full'
    ? Trainer.full(rt, model, OPT)
    : Trainer.lora(rt, model, {
        r: 4, alpha: 8, targets: LORA_TARGETS, seed,
        // B ≠ 0 so that both A and B get gradients
        init: (_l, t) => {
          const d = loraDims(t, cfg);
          return { A: rng.normal(4 * d.in, 0.2), B: rng.normal(d.out * 4, 0.2) };
        },
      }, OPT);
  const ids = rng.ints(B * T, 0, cfg.d_vocab);
  const labels = new Int32Array(B * T).fill(-100);
  const lens = [5, 3, 4]; // completion tokens per row
  for (let b = 0; b < B; b++) for (let t = 0; t < lens[b]; t++) labels[b * T + P0 - 1 + t] = ids[b * T + P0 + t];
  const mb: MicroBatch = { ids, labels, B, T };
  return { rt, model, tr, rng, mb };
}

const readAll = async (rt: Runtime, ts: { numel: number }[] & Parameters<Runtime['read']>[0][]) => {
  const out: Float64Array[] = [];
  for (const t of ts) out.push(Float64Array.from((await rt.read(t)) as Float32Array));
  return out;
};

/** The row inputs [N, 4] and the objective's numbers for the host side. */
function inputs(mb: MicroBatch, logp: Float64Array, rng: Rng) {
  const N = B * T;
  const mask = new Float64Array(N), old = new Float64Array(N), ref = new Float64Array(N);
  const adv = Float64Array.from([0.9, -1.3, 0.4]);
  for (let i = 0; i < N; i++) {
    if (mb.labels[i] === -100) continue;
    mask[i] = 1;
    // ratios from e^-0.6 to e^0.6: inside and outside [1 − ε, 1 + ε_high], away from the edges
    const shift = [-0.6, -0.05, 0.22, 0.5][i % 4]; // r = 1.25 is clipped by ε = 0.2 but not by ε_high = 0.28
    old[i] = logp[i] - shift;
    ref[i] = logp[i] + (rng.next() - 0.5);
  }
  const total = mask.reduce((a, b) => a + b, 0);
  const rows = new Float32Array(N * 4);
  for (let i = 0; i < N; i++) if (mask[i]) rows.set([old[i], ref[i], adv[Math.floor(i / T)], 1 / total], i * 4);
  // the objective on [B, T] with dapo weights 1/total: its loss and d loss / d logp are what the kernel's weights encode
  const objective = (lp: Float64Array) => grpoObjective({ G: B, T, logp: lp, oldLogp: old, refLogp: ref, mask, advantages: adv }, { epsilon: EPS, epsilonHigh: EPS_HIGH, beta: BETA });
  return { rows, objective, mask };
}

async function logpOf(tr: Trainer, mb: MicroBatch, temperature: number, lora = true): Promise<Float64Array> {
  const nll = tr.graph.nll(mb, lora ? tr.lora : null, temperature);
  const v = Float64Array.from((await tr.rt.read(nll)) as Float32Array, (x) => -x);
  nll.dispose();
  return v;
}

/** The policy head's gradient (every chunk, flattened per chunk) and its log-probs. */
async function policyGrad(tr: Trainer, mb: MicroBatch, rows: Float32Array, temperature: number) {
  const { rt } = tr;
  for (const c of tr.chunks) rt.clear(c.g);
  const N = B * T;
  const rowsT = rt.upload(rows, [N, 4], 'f32', 'rows');
  const logp = rt.zeros([N], 'f32', 'logp');
  const none = tr.graph.step(mb, rt.zeros([1], 'f32', 'loss'), tr.lora, tr.full, {
    gradScale: 1, policy: { temperature, rows: rowsT, logp, epsLow: EPS, epsHigh: EPS_HIGH, beta: BETA, onPolicy: false },
  });
  none.dispose();
  rowsT.dispose();
  const grads = await readAll(rt, tr.chunks.map((c) => c.g));
  const lp = Float64Array.from((await rt.read(logp)) as Float32Array);
  logp.dispose();
  return { grads, logp: lp };
}

const dot = (a: Float64Array[], b: Float64Array[]) => a.reduce((s, x, k) => s + x.reduce((t, v, i) => t + v * b[k][i], 0), 0);

test('GRPO gradient = Σ g_i ∇logp_i built from single-token SFT gradients (LoRA, T = 1)', async () => {
  const { rt, tr, rng, mb } = await setup('lora', 31);
  const logp0 = await logpOf(tr, mb, 1);
  const { rows, objective } = inputs(mb, logp0, rng);
  const got = await policyGrad(tr, mb, rows, 1);
  // the head's log-probs are the forward's
  for (let i = 0; i < B * T; i++) if (mb.labels[i] !== -100) assert.ok(Math.abs(got.logp[i] - logp0[i]) < 1e-5, `logp[${i}] ${got.logp[i]} vs ${logp0[i]}`);
  const g = objective(got.logp).grad.dapo; // [B·T] d L / d logp
  const clipped = [...g].filter((v, i) => mb.labels[i] !== -100 && Math.abs(v) < 1e-12).length;
  assert.ok(clipped === 0 || clipped < B * T, 'some tokens keep a gradient');
  // expected = −Σ_i g_i · (SFT gradient of token i alone, gradScale 1)
  const expected = tr.chunks.map((c) => new Float64Array(c.g.numel));
  for (let i = 0; i < B * T; i++) {
    if (mb.labels[i] === -100) continue;
    const one = new Int32Array(B * T).fill(-100);
    one[i] = mb.labels[i];
    for (const c of tr.chunks) rt.clear(c.g);
    tr.graph.step({ ...mb, labels: one }, rt.zeros([1], 'f32', 'loss'), tr.lora, null, { gradScale: 1 }).dispose();
    const gi = await readAll(rt, tr.chunks.map((c) => c.g));
    gi.forEach((arr, k) => arr.forEach((v, j) => (expected[k][j] -= g[i] * v)));
  }
  let maxAbs = 0, maxErr = 0;
  expected.forEach((e, k) => e.forEach((v, j) => {
    maxAbs = Math.max(maxAbs, Math.abs(v));
    maxErr = Math.max(maxErr, Math.abs(v - got.grads[k][j]));
  }));
  assert.ok(maxAbs > 1e-4, `the gradient is not trivially zero (max ${maxAbs})`);
  assert.ok(maxErr <= 2e-3 * maxAbs, `max |policy grad − chain rule| = ${maxErr} (max |grad| ${maxAbs})`);
  tr.dispose();
});

for (const mode of ['lora', 'full'] as const) {
  test(`GRPO gradient matches central differences of the float64 objective (${mode}, T = 0.7)`, async () => {
    const { rt, tr, rng, mb } = await setup(mode, mode === 'lora' ? 41 : 42);
    const temp = 0.7;
    const logp0 = await logpOf(tr, mb, temp, mode === 'lora');
    const { rows, objective } = inputs(mb, logp0, rng);
    const got = await policyGrad(tr, mb, rows, temp);
    const norm = Math.sqrt(dot(got.grads, got.grads));
    assert.ok(norm > 1e-4, `gradient norm ${norm}`);
    const params = await readAll(rt, tr.chunks.map((c) => c.p));
    const lossAt = async (h: number) => {
      rt.flush();
      tr.chunks.forEach((c, k) => {
        const v = Float32Array.from(params[k], (p, j) => p + (h * got.grads[k][j]) / norm);
        rt.device.queue.writeBuffer(c.p.buffer, c.p.byteOffset, v.buffer, 0, v.byteLength);
      });
      return objective(await logpOf(tr, mb, temp, mode === 'lora')).loss.dapo;
    };
    const h = 2e-3;
    const fd = ((await lossAt(h)) - (await lossAt(-h))) / (2 * h); // directional derivative along grad / |grad| = |grad|
    assert.ok(Math.abs(fd - norm) <= 0.03 * norm, `finite difference ${fd} vs |grad| ${norm}`);
    await lossAt(0);
    tr.dispose();
  });
}
