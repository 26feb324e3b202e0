// GRPO steps on lab-micro (the lab's 75 k-parameter model, its tokenizer): the mean reward rises over
// a few steps; μ = 2 and β = 0.1 run the off-policy iteration and the reference (adapter off); the
// step's prompts are a seeded, stateless shuffle; settings that cannot work are refused.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { testRuntime, releaseTestRuntime } from '../testing/gpu.ts';
import { dirSource } from '../model/checkpoint.ts';
import { loadModel } from '../model/load.ts';
import { Trainer, type OptimConfig } from '../train/trainer.ts';
import { LORA_TARGETS } from '../train/graph.ts';
import { qaPrompt } from '../train/data.ts';
import { ARM_SETS, grpoSettingsProblem, grpoStep, promptRepeats, stepPrompts, TRL_GRPO_DEFAULTS, type GrpoEnv, type GrpoSettings } from './grpo.ts';
import { sequenceLogprobs } from './rollout.ts';
import { assertAllClose } from '../testing/allclose.ts';

after(releaseTestRuntime);

const micro = new URL('../../../models/lab-micro/', import.meta.url).pathname;
const OPT: OptimConfig = { lr: 2e-2, schedule: 'constant', warmupSteps: 0, totalSteps: 100, weightDecay: 0, beta1: 0.9, beta2: 0.99, eps: 1e-8, maxGradNorm: 1 };
const S: GrpoSettings = { groupSize: 8, promptsPerStep: 1, maxNewTokens: 12, temperature: 1, beta: 0, epsilon: 0.2, loss: 'dapo', mu: 1, scaleRewards: 'group', seed: 1 };

/** A reward the micro model can climb in a few steps: the share of digits among the output's non-space characters. */
const digits = (s: string) => {
  const t = s.replace(/\s/g, '');
  return t.length ? [...t].filter((c) => c >= '0' && c <= '9').length / t.length : 0;
};

async function setup() {
  const rt = await testRuntime();
  const { model, tokenizer } = await loadModel(rt, dirSource(micro));
  const tok = tokenizer!;
  const trainer = Trainer.lora(rt, model, { r: 8, alpha: 16, targets: LORA_TARGETS, seed: 0 }, OPT);
  const env: GrpoEnv = {
    model, trainer, decode: (ids) => tok.decode(ids, { skipSpecialTokens: true }),
    reward: (ss) => ss.map((s) => ({ total: digits(s.output), parts: { digits: digits(s.output) } })),
  };
  const item = { line: 1, prompt: 'q', ids: tok.encode(qaPrompt('How many apples are left if Sam has 12 apples and eats 5?'), { addSpecialTokens: true }) };
  return { rt, model, trainer, env, item };
}

test('GRPO raises the mean reward within a few steps (lab-micro, LoRA, G = 8)', async () => {
  const { trainer, env, item } = await setup();
  const rewards: number[] = [];
  for (let step = 0; step < 7; step++) {
    const r = await grpoStep(env, [item], step, S);
    rewards.push(r.stats.reward);
    assert.equal(r.samples[0].completions.length, 8);
    assert.ok(Math.abs(r.samples[0].completions.reduce((a, c) => a + c.advantage, 0)) < 1e-9, 'advantages sum to 0 in a group');
    assert.equal(r.stats.kl, null, 'β = 0: no reference computed');
  }
  const first = (rewards[0] + rewards[1]) / 2, last = (rewards[5] + rewards[6]) / 2;
  assert.ok(last > first + 0.3, `mean reward ${rewards.map((r) => r.toFixed(2)).join(' → ')}: expected a clear rise`);
  assert.equal(trainer.step, 7);
  trainer.dispose();
});

test('μ = 2 and β = 0.1: two optimizer steps per batch, a finite KL to the adapter-off reference, the model left without adapter', async () => {
  const { model, trainer, env, item } = await setup();
  trainer.optim = { ...OPT, lr: 1e-4 }; // a small step: the KL after it stays small
  const r1 = await grpoStep(env, [item, item], 0, { ...S, mu: 2, beta: 0.1, loss: 'grpo', groupSize: 4 });
  assert.equal(trainer.step, 2);
  // reported from the second iteration: after one update from B = 0 (policy = reference)
  assert.ok(r1.stats.kl !== null && r1.stats.kl > 0 && r1.stats.kl < 1e-2, `KL after one small update ${r1.stats.kl}`);
  const r2 = await grpoStep(env, [item], 1, { ...S, mu: 2, beta: 0.1, groupSize: 4 });
  assert.ok(r2.stats.kl !== null && r2.stats.kl > 0, `KL after an update ${r2.stats.kl}`);
  assert.ok(Number.isFinite(r2.stats.loss) && r2.stats.clip_frac >= 0 && r2.stats.clip_frac <= 1);
  assert.equal(r1.samples.length, 2, 'one sample record per group');
  assert.equal(model.adapter, null, 'the rollouts switch the adapter off again');
  trainer.dispose();
});

test('stepPrompts: every item once per epoch, the same for the same seed and step, new order per epoch', () => {
  const n = 7, P = 3;
  const seen: number[][] = [[], [], []];
  for (let step = 0; step < 7; step++) for (const p of stepPrompts(n, step, P, 5)) seen[p.epoch].push(p.index);
  assert.deepEqual([...seen[0]].sort(), [0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual([...seen[1]].sort(), [0, 1, 2, 3, 4, 5, 6]);
  assert.notDeepEqual(seen[0], seen[1]);
  assert.deepEqual(stepPrompts(n, 4, P, 5), stepPrompts(n, 4, P, 5));
  assert.notDeepEqual(stepPrompts(n, 0, P, 5), stepPrompts(n, 0, P, 6));
});

test('promptRepeats: a warning exactly when the run passes over its prompts again, naming the first step that repeats', () => {
  assert.equal(promptRepeats(8000, 1000, 8), null, 'one pass: 8 000 prompts');
  const w = promptRepeats(8000, 5000, 8);
  assert.match(w ?? '', /^5000 steps × 8 prompts = 40000 prompts from 8000 rows: from step 1001 on, prompts repeat \(each about 5\.0 times\)/);
  // the step it names is the first whose prompts include a second epoch's (stepPrompts' own epochs)
  for (const [n, P, steps] of [[7, 3, 5], [8, 4, 3], [10, 4, 4], [5, 1, 6]]) {
    const first = Array.from({ length: steps }, (_, s) => s).find((s) => stepPrompts(n, s, P, 1).some((p) => p.epoch > 0))!;
    assert.match(promptRepeats(n, steps, P) ?? '', new RegExp(`from step ${first + 1} on`), `n ${n}, P ${P}`);
    assert.equal(promptRepeats(n, first, P), null, `n ${n}, P ${P}: ${first} steps do not repeat`);
  }
});

test('settings that cannot work are refused with the reason', () => {
  const ok = { ...TRL_GRPO_DEFAULTS };
  assert.equal(grpoSettingsProblem(ok, false), null);
  assert.match(grpoSettingsProblem({ ...ok, groupSize: 1 }, false)!, /group size/);
  assert.match(grpoSettingsProblem({ ...ok, groupSize: 17 }, false)!, /group size/);
  assert.match(grpoSettingsProblem({ ...ok, beta: 0.1 }, true)!, /needs LoRA/);
  assert.match(grpoSettingsProblem({ ...ok, temperature: 0 }, false)!, /temperature/);
  assert.match(grpoSettingsProblem({ ...ok, loss: 'ppo' as never }, false)!, /loss/);
});

test('a policy micro-batch\'s own temperature is the one its log-probs are taken at (arms sample at several)', async () => {
  const { model, trainer, item } = await setup();
  trainer.optim = { ...OPT, lr: 0 };
  const completion = [40, 41, 42, 43];
  const L = item.ids.length + completion.length;
  const mb = (temperature: number) => {
    const ids = Int32Array.from([...item.ids, ...completion]); // [1, L]
    const labels = new Int32Array(L).fill(-100);
    completion.forEach((t, i) => (labels[item.ids.length - 1 + i] = t));
    const rows = new Float32Array(L * 4);
    for (let i = 0; i < L; i++) rows[i * 4 + 3] = 1;
    return { ids, labels, B: 1, T: L, rows, temperature };
  };
  const m = await trainer.policyStep([mb(0.3), mb(1.7)], { temperature: 1, epsLow: 0.2, epsHigh: 0.2, beta: 0, onPolicy: true }, () => 0);
  for (const [k, T] of [[0, 0.3], [1, 1.7]] as const) {
    const [ref] = await sequenceLogprobs(model, item.ids, [completion], T); // LoRA B = 0: the base model
    const got = Float64Array.from(completion.map((_, i) => m.logp[k][item.ids.length - 1 + i]));
    assertAllClose(got, ref, { atol: 1e-4, rtol: 0 }, `micro-batch at T = ${T}`);
  }
  trainer.dispose();
});

test('arms: member g samples with arm g mod 8 (its prompt and temperature); rows of different prompt lengths train together', async () => {
  const { trainer, env, item } = await setup();
  const arms = ARM_SETS['regime-w'];
  // stand-ins for the arms' rendered prompts: of different lengths, as system prompts make them
  const armIds = arms.map((_, a) => [...item.ids.slice(0, 1), ...new Array<number>(a).fill(item.ids[1]), ...item.ids.slice(1)]);
  const r = await grpoStep(env, [{ ...item, armIds }, { ...item, line: 2, armIds }], 0, { ...S, groupSize: 16, arms: 'regime-w', maxNewTokens: 6 });
  assert.equal(r.samples.length, 2);
  for (const g of r.samples) assert.deepEqual(g.completions.map((c) => c.arm), [...arms, ...arms].map((a) => a.id));
  assert.ok(Number.isFinite(r.stats.loss) && Number.isFinite(r.stats.grad_norm), `loss ${r.stats.loss}, grad norm ${r.stats.grad_norm}`);
  assert.equal(trainer.step, 1);
  await assert.rejects(grpoStep(env, [item], 1, { ...S, groupSize: 8, arms: 'regime-w' }), /0 arm prompts for 8 arms/);
  assert.match(grpoSettingsProblem({ ...S, groupSize: 12, arms: 'regime-w' }, false)!, /multiple of 8/);
  trainer.dispose();
});
