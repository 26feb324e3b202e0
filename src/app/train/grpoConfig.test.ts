// The GRPO form's data and the store's GRPO half, without a browser: the reward list equals the
// engine's, the presets are TRL's and the user's, the inline validation agrees with the engine's
// checks (a config the form passes, the engine takes), max new tokens is fitted to the model, and
// the train slice sends a GrpoConfig, keeps a step's samples, and puts a stored GRPO run's config back
// in its form on resume (what survives a reload is the run record). A fake Engine records the calls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Engine, GrpoConfig, ModelSummary, RunRecord, TrainProgress, TrainRequest } from '../../engine/api.ts';
import { GRPO_REWARD_NAMES } from '../../engine/rl/grpo-run.ts';
import { grpoSettingsProblem } from '../../engine/rl/grpo.ts';
import { checkSftConfig } from '../../engine/train/run.ts';
import { createTrainSlice, type TrainSlice } from '../trainSlice.ts';
import type { ModelSlice } from '../modelSlice.ts';
import { BASE_GRPO_CONFIG, GRPO_PRESETS, GRPO_REWARDS, fitArmsGroup, fitNewTokens, grpoNotes, grpoRequestConfig, validateGrpo } from './grpoConfig.ts';

test('the form offers exactly the engine’s rewards, in its order', () => {
  assert.deepEqual(GRPO_REWARDS.map((r) => r.name), [...GRPO_REWARD_NAMES]);
});

test('presets: TRL defaults (dapo, β 0, ε 0.2, G 8, lr 1e-6, 256 new tokens) and the user pipeline (G 16, β 0.1, lr 2e-5, 256)', () => {
  const [trl, user] = GRPO_PRESETS;
  assert.deepEqual([trl.id, trl.settings.loss, trl.settings.beta, trl.settings.epsilon, trl.settings.groupSize, trl.lr, trl.settings.maxNewTokens], ['trl', 'dapo', 0, 0.2, 8, 1e-6, 256]);
  assert.deepEqual([user.id, user.settings.groupSize, user.settings.beta, user.lr, user.settings.maxNewTokens, user.settings.loss], ['user', 16, 0.1, 2e-5, 256, 'dapo']);
});

test('validation: group size range, β > 0 with full refused, max new tokens within the context, a reward needed; what passes, the engine takes', () => {
  const c = (patch: Partial<GrpoConfig['grpo']>, top: Partial<GrpoConfig> = {}): GrpoConfig => ({ ...BASE_GRPO_CONFIG, ...top, grpo: { ...BASE_GRPO_CONFIG.grpo, ...patch } });
  assert.match(validateGrpo(c({ groupSize: 1 })).groupSize ?? '', /2 … 16/);
  assert.match(validateGrpo(c({ groupSize: 17 })).groupSize ?? '', /2 … 16/);
  assert.equal(validateGrpo(c({ groupSize: 16 })).groupSize, undefined);
  assert.match(validateGrpo(c({ beta: 0.1 }, { full: true })).beta ?? '', /β > 0 needs LoRA/);
  assert.equal(validateGrpo(c({ beta: 0.1 })).beta, undefined, 'β > 0 with LoRA is fine');
  assert.match(validateGrpo(c({ maxNewTokens: 256 }), { nCtx: 256 }).maxNewTokens ?? '', /context of 256/);
  assert.match(validateGrpo(c({}, { rewards: [] })).rewards ?? '', /at least one/);
  const rm = c({}, { rewards: [{ name: 'reward-model', weight: 0.5 }] });
  assert.match(validateGrpo(rm).rewards ?? '', /pick the files lab reward-model wrote/);
  assert.equal(validateGrpo(rm, { rewardModel: true }).rewards, undefined);
  assert.match(validateGrpo({ ...rm, full: true, grpo: { ...rm.grpo, beta: 0 } }, { rewardModel: true }).rewards ?? '', /train LoRA/);
  assert.match(validateGrpo(c({ epsilonHigh: NaN })).epsilonHigh ?? '', /≥ 0/);
  assert.equal(validateGrpo(c({ epsilonHigh: undefined })).epsilonHigh, undefined, 'ε high may be left empty');
  assert.deepEqual(validateGrpo(c({ maxNewTokens: fitNewTokens(256, 256) }), { nCtx: 256 }), {}, 'the defaults fitted to lab-micro pass');
  for (const [p, full] of [[c({ beta: 0.1 }, { full: true }), true], [c({ groupSize: 17 }), false]] as const) assert.ok(grpoSettingsProblem(grpoRequestConfig(p).grpo, full), 'the engine refuses what the form refuses');
  const ok = grpoRequestConfig(c({ promptsPerStep: 3, epsilonHigh: undefined }, { seed: 7, batchSize: 1, gradAccum: 4, lora: { ...BASE_GRPO_CONFIG.lora, dropout: 0.1 } }));
  assert.deepEqual([ok.batchSize, ok.gradAccum, ok.lora.dropout, ok.grpo.seed, 'epsilonHigh' in ok.grpo], [3, 1, 0, 7, false]);
  assert.equal(grpoSettingsProblem(ok.grpo, ok.full), null);
  assert.doesNotThrow(() => checkSftConfig(ok));
  // settings set later (ε high, top-p) still go out in `lab grpo`'s key order: a resume compares them as JSON text
  const later = grpoRequestConfig({ ...BASE_GRPO_CONFIG, grpo: { ...BASE_GRPO_CONFIG.grpo, epsilonHigh: 0.28, topP: 0.9 } });
  assert.deepEqual(Object.keys(later.grpo), ['groupSize', 'promptsPerStep', 'maxNewTokens', 'temperature', 'topP', 'beta', 'epsilon', 'epsilonHigh', 'loss', 'mu', 'scaleRewards', 'seed']);
});

test('arms: the group size must be a multiple of the arm count (the same refusal as the engine\'s), the arms go out last as in `lab grpo`', () => {
  const c = (grpo: Partial<GrpoConfig['grpo']>) => ({ ...BASE_GRPO_CONFIG, grpo: { ...BASE_GRPO_CONFIG.grpo, ...grpo } });
  assert.match(validateGrpo(c({ arms: 'regime-w', groupSize: 12 })).groupSize!, /a multiple of 8: .*try 16/);
  assert.ok(grpoSettingsProblem(grpoRequestConfig(c({ arms: 'regime-w', groupSize: 12 })).grpo, false), 'the engine refuses it too');
  assert.equal(validateGrpo(c({ arms: 'regime-w', groupSize: 16 })).groupSize, undefined);
  assert.deepEqual([4, 8, 11, 13, 16].map((g) => fitArmsGroup(g, 'regime-w')), [8, 8, 8, 16, 16]);
  const req = grpoRequestConfig(c({ arms: 'regime-w', groupSize: 8 }));
  assert.equal(Object.keys(req.grpo).at(-1), 'arms');
  assert.ok(grpoNotes(c({ arms: 'regime-w', groupSize: 8 }), {}).some((n) => /Arms regime-w: .*0\.2, 0\.3, 0\.4, 0\.5/.test(n)));
  assert.ok(!('arms' in grpoRequestConfig(c({ arms: undefined })).grpo), 'no arms: the key is left out');
});

test('max new tokens: at most half the context, so the prompts fit (lab-micro 256 → 128, lab-default 512 → 256)', () => {
  assert.deepEqual([fitNewTokens(256, 256), fitNewTokens(256, 512), fitNewTokens(8, 256), fitNewTokens(256, undefined)], [128, 256, 8, 256]);
});

/** The train slice over a fake engine: train() reports a data, start, samples and step event and resolves. */
function slice(records: RunRecord[] = []) {
  const reqs: TrainRequest[] = [];
  const engine = {
    async train(req: TrainRequest, on?: (p: TrainProgress) => void) {
      reqs.push(req);
      on?.({ kind: 'start', firstStep: 1, totalSteps: req.config.steps, tensors: 1, trainable: 1, description: '' });
      const completions = [0, 1].map((i) => ({ text: `c${i}`, tokens: 3, reward: i, rewards: { exact: i }, advantage: i ? 0.7 : -0.7 }));
      on?.({ kind: 'samples', step: 1, samples: [{ step: 1, line: 1, prompt: 'q', reference: 'a', completions }] });
      return { runId: req.runId, steps: req.config.steps, lastLoss: 0, where: '', files: [] };
    },
    async listRuns() {
      return records;
    },
    async runMetrics() {
      return [];
    },
    async runSamples(runId: string) {
      const completions = [{ text: 'kept', tokens: 2, reward: 1, rewards: { exact: 1 }, advantage: 0.5 }];
      return [{ step: 1, line: 1, prompt: `stored ${runId}`, completions }];
    },
  } as unknown as Engine;
  type S = TrainSlice & ModelSlice;
  let state = { model: { status: 'ready', summary: { name: 'lab-micro', n_ctx: 256 } as ModelSummary } } as unknown as S;
  const set = (p: Partial<S>) => void (state = { ...state, ...p });
  state = { ...state, ...createTrainSlice<S>(engine, set, () => state) };
  state.refreshRuns = async () => undefined;
  return { s: () => state, reqs };
}

test('the slice: GRPO mode fits the preset to the model, starts a GrpoConfig run, keeps its samples; a stored GRPO run resumes in the GRPO form', async () => {
  const { s, reqs } = slice();
  s().setTrainKind('grpo');
  assert.equal(s().grpoConfig.grpo.maxNewTokens, 128, 'TRL’s 256 fitted to lab-micro’s context');
  assert.match(s().grpoFitNote ?? '', /256 new tokens .* context of 256 tokens; 128 here/);
  s().applyGrpoPreset('user');
  assert.deepEqual([s().grpoPreset, s().grpoConfig.grpo.groupSize, s().grpoConfig.grpo.beta, s().grpoConfig.lr], ['user', 16, 0.1, 2e-5]);
  s().setGrpoSettings({ groupSize: 4, promptsPerStep: 2, maxNewTokens: 8 });
  assert.equal(s().grpoPreset, 'custom');
  s().fitGrpoToModel();
  assert.equal(s().grpoConfig.grpo.maxNewTokens, 8, 'an edited value is left alone');
  await s().startTraining();
  const sent = reqs[0].config as GrpoConfig;
  assert.deepEqual([sent.kind, sent.batchSize, sent.gradAccum, sent.grpo.groupSize, sent.rewards[0].name], ['grpo', 2, 1, 4, 'exact']);
  assert.deepEqual([s().live.kind, s().live.status, s().live.samples?.step, s().live.samples?.samples[0].completions.length], ['grpo', 'done', 1, 2]);

  // a reload: the form is back at its defaults in SFT mode; the run record holds the GRPO config
  const rec = { schema: 'lab-run-v1', id: 'run-g', name: 'g', kind: 'grpo', status: 'cancelled', createdAt: 0, updatedAt: 0, model: 'lab-micro', config: sent, data: { name: 'd', sha256: '', rows: 1 }, governance: { allowed: true, reason: '' }, step: 1, lastLoss: 0, checkpoints: [1], hasResult: false } as unknown as RunRecord;
  const after = slice([rec]);
  assert.equal(after.s().trainKind, 'sft');
  await after.s().resumeRun('run-g');
  assert.equal(after.s().trainKind, 'grpo');
  assert.deepEqual(after.s().grpoConfig, sent);
  assert.deepEqual(after.reqs[0].resume, { step: 1 });
  assert.equal(after.reqs.length, 1);
  assert.equal(after.reqs[0].config, sent, 'the resume sends the stored GrpoConfig as it is');

  // a run scored by a learned reward model: the engine resumes it with the files it kept (none sent); files picked
  // in the form go along, for the engine to check against the run's record
  const rmRec = { ...rec, id: 'run-rm', config: { ...sent, rewards: [{ name: 'reward-model', weight: 1 }] } } as RunRecord;
  const third = slice([rmRec]);
  await third.s().resumeRun('run-rm');
  assert.equal(third.reqs.length, 1);
  assert.equal(third.reqs[0].rewardModel, undefined, 'nothing picked: nothing sent');
  third.s().setGrpoRewardModel({ 'reward_model.json': new Uint8Array([123, 125]) });
  await third.s().resumeRun('run-rm');
  assert.deepEqual(Object.keys(third.reqs[1].rewardModel ?? {}), ['reward_model.json']);
});
