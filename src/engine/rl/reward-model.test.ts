// The reward model (./reward-model.ts) on its own terms and on a tiny checkpoint:
//   1. TRL's Bradley–Terry loss and the MSE, with their gradients, against float64 formulas and
//      central differences (huge margins stay finite; a tie is not a right answer);
//   2. the head AdamW against torch's equations (shaders/adamw.ref.ts), decay on v only;
//   3. the step's gradient into the LoRA (and full) parameters against central differences of the
//      host loss computed from graph.hidden, along the gradient; the head's gradient likewise;
//   4. training on separable synthetic pairs (chosen completions hold a token the rejected never do)
//      drives train and held-out pair accuracy up;
//   5. saved files → readRewardModel → scoreTexts give the training path's rewards; bad files are
//      refused naming the file.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { testRuntime, releaseTestRuntime } from '../testing/gpu.ts';
import { makeTinyCheckpoint } from '../model/checkpoint-fixtures.ts';
import { loadModel } from '../model/load.ts';
import { Rng } from '../testing/rng.ts';
import { Trainer, type OptimConfig } from '../train/trainer.ts';
import { LORA_TARGETS } from '../train/graph.ts';
import { loraDims, writeAdapter, type LoraConfig } from '../train/adapter.ts';
import { adapterTensors } from '../train/state-files.ts';
import { writeSafetensors } from '../model/safetensors.ts';
import { adamwRef } from '../../../shaders/adamw.ref.ts';
import {
  REWARD_HEAD_FILE, REWARD_MODEL_FILE, bradleyTerryLoss, evaluateRewardModel, headAdamW, initRewardHead, objectiveOf, pooledHidden, readRewardModel,
  regressionLoss, rewardBatch, rewardHeadFile, rewardModelStep, rewardOf, scoreTexts, type RewardBatch, type RewardHead, type RewardModelJson, type RewardObjective,
} from './reward-model.ts';

after(releaseTestRuntime);

const OPT0: OptimConfig = { lr: 0, schedule: 'constant', warmupSteps: 0, totalSteps: 1, weightDecay: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, maxGradNorm: 0 };
const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol * (1 + Math.abs(b)), `${what}: ${a} vs ${b}`);

test('Bradley–Terry loss and dL/dr: float64 formulas, central differences, huge margins, ties', () => {
  const rng = new Rng(5);
  const rc = Float64Array.from(rng.normal(7, 2)), rr = Float64Array.from(rng.normal(7, 2));
  const bt = bradleyTerryLoss(rc, rr);
  const naive = (c: ArrayLike<number>, r: ArrayLike<number>) => Array.from(c, (x, i) => -Math.log(1 / (1 + Math.exp(-(x - r[i]))))).reduce((a, b) => a + b, 0) / c.length;
  close(bt.loss, naive(rc, rr), 1e-12, 'loss');
  const h = 1e-5;
  for (let i = 0; i < 7; i++) {
    const sig = 1 / (1 + Math.exp(rc[i] - rr[i])); // σ(rr − rc)
    close(bt.dChosen[i], -sig / 7, 1e-12, `dChosen[${i}] formula`);
    for (const [arr, d, name] of [[rc, bt.dChosen, 'chosen'], [rr, bt.dRejected, 'rejected']] as const) {
      const p = Float64Array.from(arr), m = Float64Array.from(arr);
      p[i] += h;
      m[i] -= h;
      const fd = name === 'chosen' ? (naive(p, rr) - naive(m, rr)) / (2 * h) : (naive(rc, p) - naive(rc, m)) / (2 * h);
      assert.ok(Math.abs(fd - d[i]) < 1e-8, `d${name}[${i}] ${d[i]} vs central difference ${fd}`);
    }
  }
  assert.equal(bt.accuracy, Array.from(rc).filter((x, i) => x > rr[i]).length / 7);
  // ±1000: exact limits, no NaN; a tie is loss log 2, gradient −1/2 per pair, and not counted right
  const big = bradleyTerryLoss([1000, -1000, 0.5], [0, 0, 0.5]);
  close(big.loss, (0 + 1000 + Math.LN2) / 3, 1e-12, 'loss at ±1000 and a tie');
  assert.deepEqual([...big.dChosen].map((x) => +x.toFixed(12)), [-0, -1 / 3, -1 / 6].map((x) => +x.toFixed(12)));
  assert.equal(big.accuracy, 1 / 3);
});

test('regression loss (MSE) and dL/dr against central differences', () => {
  const r = [0.3, -1.2, 2.5, 0], y = [1, -1, 2, 0.25];
  const reg = regressionLoss(r, y);
  const L = (x: number[]) => x.reduce((a, v, i) => a + (v - y[i]) ** 2, 0) / x.length;
  close(reg.loss, L(r), 1e-14, 'loss');
  close(reg.rmse, Math.sqrt(L(r)), 1e-14, 'rmse');
  for (let i = 0; i < r.length; i++) {
    const p = [...r], m = [...r];
    p[i] += 1e-6;
    m[i] -= 1e-6;
    assert.ok(Math.abs((L(p) - L(m)) / 2e-6 - reg.dR[i]) < 1e-8, `dR[${i}]`);
  }
});

test('head AdamW: torch equations, weight decay on v and not on b, clipping by the head\'s own norm', () => {
  const head = initRewardHead(5, 1);
  head.params[5] = 0.7;
  const g = Float64Array.from([0.5, -2, 1, 0, 3, -1.5]);
  const before = { p: Float64Array.from(head.params), m: Float64Array.from(head.expAvg), v: Float64Array.from(head.expAvgSq) };
  const hp = { lr: 0.1, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.5, step: 1 };
  const norm = headAdamW(head, g, { ...hp, maxGradNorm: 1 });
  close(norm, Math.hypot(...g), 1e-14, 'norm');
  const coef = 1 / (norm + 1e-6);
  const v = adamwRef(before.p.subarray(0, 5), g.subarray(0, 5), before.m.subarray(0, 5), before.v.subarray(0, 5), coef, hp);
  const b = adamwRef(before.p.subarray(5), g.subarray(5), before.m.subarray(5), before.v.subarray(5), coef, { ...hp, weightDecay: 0 });
  assert.deepEqual([...head.params], [...v.p, ...b.p]);
  assert.deepEqual([...head.expAvgSq], [...v.v, ...b.v]);
});

/** Random sequences: pairs sharing a prompt, or rated rows; each its own length. */
function pairsOf(rng: Rng, n: number, V: number): number[][][] {
  return Array.from({ length: n }, () => {
    const prompt = [...rng.ints(3 + rng.int(0, 3), 3, V)];
    return [0, 1].map(() => [...prompt, ...rng.ints(2 + rng.int(0, 4), 3, V), 2]);
  });
}

async function setup(mode: 'lora' | 'full', seed: number, optim: OptimConfig = OPT0, bInit = true) {
  const rt = await testRuntime();
  const { model } = await loadModel(rt, makeTinyCheckpoint({}, seed, 'f32'), { tokenizer: false });
  const rng = new Rng(seed + 100);
  const cfg = model.cfg;
  const lora: LoraConfig = { r: 4, alpha: 8, dropout: 0, targets: [...LORA_TARGETS] };
  const tr = mode === 'full'
    ? Trainer.full(rt, model, optim)
    : Trainer.lora(rt, model, {
        r: 4, alpha: 8, targets: LORA_TARGETS, seed,
        // B ≠ 0 (when asked) so that both A and B get gradients
        init: bInit ? (_l, t) => ({ A: rng.normal(4 * loraDims(t, cfg).in, 0.2), B: rng.normal(loraDims(t, cfg).out * 4, 0.2) }) : undefined,
      }, optim);
  return { rt, model, tr, rng, lora };
}

async function hostLoss(tr: Trainer, head: RewardHead, batches: RewardBatch[], objective: RewardObjective): Promise<number> {
  const r: Float64Array[] = [];
  for (const mb of batches) r.push(Float64Array.from(await pooledHidden(tr, mb), (h) => rewardOf(head, h)));
  return objectiveOf(objective, batches, r).loss;
}

for (const [mode, objective] of [['lora', 'bradley-terry'], ['full', 'regression']] as const) {
  test(`the step's gradient into the ${mode} parameters and the head matches central differences of the host loss (${objective})`, async () => {
    const { rt, tr, rng, model } = await setup(mode, mode === 'lora' ? 11 : 12);
    const C = model.cfg.d_model;
    const head = initRewardHead(C, 4);
    head.params.set(Float64Array.from(rng.normal(C, 1 / Math.sqrt(C))));
    head.params[C] = 0.3;
    const seqs = pairsOf(rng, 3, model.cfg.d_vocab);
    const batches = objective === 'bradley-terry'
      ? seqs.map((p) => rewardBatch(p, 0))
      : [rewardBatch([seqs[0][0], seqs[1][1], seqs[2][0]], 0, [1, -0.5, 2]), rewardBatch([seqs[0][1], seqs[2][1]], 0, [0.25, -1])];
    const L0 = await hostLoss(tr, head, batches, objective);
    const headBefore = Float64Array.from(head.params);
    const m = await rewardModelStep(tr, head, batches, objective); // lr 0: nothing moves
    close(m.loss, L0, 1e-12, 'the step\'s loss is the host loss of pass 1');
    assert.deepEqual([...head.params], [...headBefore], 'lr 0 leaves the head');
    const grads: Float64Array[] = [];
    for (const c of tr.chunks) grads.push(Float64Array.from((await rt.read(c.g)) as Float32Array));
    const norm = Math.sqrt(grads.reduce((a, g) => a + g.reduce((s, x) => s + x * x, 0), 0));
    close(m.gradNorm, norm, 1e-4, 'reported norm');
    assert.ok(norm > 1e-4, `gradient norm ${norm}`);
    const params: Float64Array[] = [];
    for (const c of tr.chunks) params.push(Float64Array.from((await rt.read(c.p)) as Float32Array));
    const lossAt = async (h: number) => {
      rt.flush();
      tr.chunks.forEach((c, k) => {
        const v = Float32Array.from(params[k], (p, j) => p + (h * grads[k][j]) / norm);
        rt.device.queue.writeBuffer(c.p.buffer, c.p.byteOffset, v.buffer, 0, v.byteLength);
      });
      return hostLoss(tr, head, batches, objective);
    };
    const h = 2e-3;
    const fd = ((await lossAt(h)) - (await lossAt(-h))) / (2 * h); // directional derivative along grad / |grad| = |grad|
    assert.ok(Math.abs(fd - norm) <= 5e-3 * norm, `finite difference ${fd} vs |grad| ${norm}`);
    await lossAt(0);
    // the head: its gradient's norm against central differences per coordinate (h fixed, float64)
    const hs = [] as Float64Array[][];
    for (const mb of batches) hs.push(await pooledHidden(tr, mb));
    const Lh = (p: Float64Array) => objectiveOf(objective, batches, hs.map((rows) => Float64Array.from(rows, (x) => rewardOf({ ...head, params: p }, x)))).loss;
    let hn = 0;
    for (let i = 0; i <= C; i++) {
      const p = Float64Array.from(head.params), q = Float64Array.from(head.params);
      p[i] += 1e-6;
      q[i] -= 1e-6;
      hn += ((Lh(p) - Lh(q)) / 2e-6) ** 2;
    }
    close(m.headGradNorm, Math.sqrt(hn), 1e-4, 'head gradient norm');
    if (objective === 'bradley-terry') assert.ok(Math.abs((Lh(Float64Array.from(head.params, (x, i) => (i === C ? x + 1 : x))) - L0)) < 1e-12, 'b does not change a Bradley–Terry loss');
    tr.dispose();
  });
}

/** Pairs whose chosen completion holds token 7 somewhere and whose rejected one never does. */
function separable(rng: Rng, n: number, V: number): number[][][] {
  const tok = () => {
    let t = 7;
    while (t === 7) t = rng.int(3, V);
    return t;
  };
  return Array.from({ length: n }, () => {
    const prompt = Array.from({ length: 3 }, tok);
    const chosen = Array.from({ length: 4 }, tok);
    chosen[rng.int(0, 4)] = 7;
    return [[...prompt, ...chosen, 2], [...prompt, ...Array.from({ length: 4 }, tok), 2]];
  });
}

test('training on separable pairs drives train and held-out pair accuracy up; saved files score as the training path', async () => {
  const optim: OptimConfig = { ...OPT0, lr: 2e-2, totalSteps: 30, maxGradNorm: 1 };
  const { tr, rng, model, lora } = await setup('lora', 21, optim, false);
  const C = model.cfg.d_model;
  const head = initRewardHead(C, 21);
  const train = separable(rng, 24, model.cfg.d_vocab).map((p) => rewardBatch(p, 0));
  const held = separable(rng, 16, model.cfg.d_vocab).map((p) => rewardBatch(p, 0));
  const before = { train: (await evaluateRewardModel(tr, head, train, 'bradley-terry')).accuracy!, held: (await evaluateRewardModel(tr, head, held, 'bradley-terry')).accuracy! };
  for (let s = 0; s < 30; s++) await rewardModelStep(tr, head, [0, 1, 2, 3].map((j) => train[(s * 4 + j) % train.length]), 'bradley-terry');
  const ev = await evaluateRewardModel(tr, head, held, 'bradley-terry');
  const after = { train: (await evaluateRewardModel(tr, head, train, 'bradley-terry')).accuracy!, held: ev.accuracy! };
  assert.ok(after.train >= 0.9 && after.train >= before.train + 0.25, `train accuracy ${before.train} → ${after.train}`);
  assert.ok(after.held >= 0.8 && after.held >= before.held + 0.25, `held-out accuracy ${before.held} → ${after.held}`);

  // the trained model as files, read back and scored in pure TS: the training path's rewards
  const s = await tr.exportState();
  const info: RewardModelJson = { schema: 'lab-reward-model-v1', objective: 'bradley-terry', base_model: 'tiny', d_model: C, pooling: 'last', mode: 'lora', held_out: 0.4, train_rows: 24, heldout_rows: 16, step: 30, heldout_step: 30, heldout_accuracy: after.held };
  const files = new Map<string, Uint8Array>(Object.entries(writeAdapter(lora, adapterTensors(model.cfg, lora, s.params), model.cfg, 'tiny')));
  files.set(REWARD_HEAD_FILE, rewardHeadFile(head));
  files.set(REWARD_MODEL_FILE, new TextEncoder().encode(JSON.stringify(info)));
  const rm = await readRewardModel(files, 'rm');
  const prompt = held[0].ids.slice(0, 3);
  const completions = [held[0], held[1], held[2]].flatMap((mb) => [0, 1].map((b) => [...mb.ids.slice(b * mb.T + 3, mb.last[b] + 1)]));
  const sentinel = tr.lora;
  model.adapter = sentinel;
  const got = await scoreTexts(model, rm, [...prompt], completions, { batchRows: 4 });
  assert.equal(model.adapter, sentinel, 'the previous adapter is restored');
  model.adapter = null;
  const want = await evaluateRewardModel(tr, head, completions.map((c) => rewardBatch([[...prompt, ...c]], 0, [0])), 'regression');
  got.forEach((r, i) => close(r, want.rewards[i][0], 1e-4, `score ${i}`));
  // a pair of the held-out set scores as pass 1 did (its own prompt)
  close(got[0], ev.rewards[0][0], 1e-4, 'held-out pair 0, chosen');

  // bad files are refused, naming the file
  const without = new Map(files);
  without.delete(REWARD_MODEL_FILE);
  await assert.rejects(readRewardModel(without, 'rm'), /rm\/reward_model\.json: missing/);
  const badHead = new Map(files);
  badHead.set(REWARD_HEAD_FILE, writeSafetensors([{ name: 'v', dtype: 'F32', shape: [3], data: new Uint8Array(12) }], {}));
  await assert.rejects(readRewardModel(badHead, 'rm'), /rm\/reward_head\.safetensors: tensor 'v': expected F32 \[16\]/);
  const noAdapter = new Map(files);
  noAdapter.delete('adapter_model.safetensors');
  await assert.rejects(readRewardModel(noAdapter, 'rm'), /rm\/adapter_model\.safetensors: missing/);
  tr.dispose();
});
