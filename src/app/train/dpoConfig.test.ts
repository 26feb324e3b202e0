// The DPO form's data and the store's DPO half, without a browser: the preset is TRL's DPOConfig
// defaults, the inline validation agrees with the engine's checks (dpoSettingsProblem, checkSftConfig:
// a config the form passes, the engine takes; what it refuses, the engine refuses), the request config is
// LoRA without dropout or accumulation, and the train slice sends a DpoConfig and puts a stored DPO run's
// config back in its form on resume (what survives a reload is the run record). A fake Engine records the calls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DpoConfig, Engine, ModelSummary, RunRecord, TrainProgress, TrainRequest } from '../../engine/api.ts';
import { dpoSettingsProblem } from '../../engine/rl/dpo.ts';
import { checkSftConfig } from '../../engine/train/run.ts';
import { createTrainSlice, type TrainSlice } from '../trainSlice.ts';
import type { ModelSlice } from '../modelSlice.ts';
import { BASE_DPO_CONFIG, TRL_DPO_DEFAULTS, dpoNotes, dpoRequestConfig, validateDpo } from './dpoConfig.ts';

const c = (patch: Partial<DpoConfig['dpo']>, top: Partial<DpoConfig> = {}): DpoConfig => ({ ...BASE_DPO_CONFIG, ...top, dpo: { ...BASE_DPO_CONFIG.dpo, ...patch } });

test('the form starts at TRL’s DPO defaults (β 0.1, label smoothing 0, lr 1e-6), LoRA without dropout, 1 pair a step', () => {
  assert.deepEqual([TRL_DPO_DEFAULTS.beta, TRL_DPO_DEFAULTS.labelSmoothing, TRL_DPO_DEFAULTS.lr], [0.1, 0, 1e-6]);
  assert.deepEqual([BASE_DPO_CONFIG.kind, BASE_DPO_CONFIG.dpo.beta, BASE_DPO_CONFIG.dpo.labelSmoothing, BASE_DPO_CONFIG.lr], ['dpo', 0.1, 0, 1e-6]);
  assert.deepEqual([BASE_DPO_CONFIG.full, BASE_DPO_CONFIG.lora.dropout, BASE_DPO_CONFIG.gradAccum, BASE_DPO_CONFIG.batchSize], [false, 0, 1, 1]);
  assert.deepEqual(validateDpo(BASE_DPO_CONFIG), {}, 'the defaults pass');
});

test('validation: β > 0, label smoothing in [0, 0.5), pairs per step ≥ 1, the trainer’s and LoRA’s rules; the engine agrees', () => {
  for (const beta of [0, -1, NaN, Infinity]) assert.match(validateDpo(c({ beta })).beta ?? '', /> 0/, `β ${beta}`);
  for (const labelSmoothing of [-0.1, 0.5, 0.7, NaN]) assert.match(validateDpo(c({ labelSmoothing })).labelSmoothing ?? '', /\[0, 0\.5\)/, `ls ${labelSmoothing}`);
  assert.equal(validateDpo(c({ labelSmoothing: 0.49 })).labelSmoothing, undefined);
  assert.match(validateDpo(c({}, { batchSize: 0 })).batchSize ?? '', /pairs per step/);
  assert.match(validateDpo(c({}, { steps: 0 })).steps ?? '', /≥ 1/);
  assert.match(validateDpo(c({}, { lr: NaN })).lr ?? '', /≥ 0/);
  assert.match(validateDpo(c({}, { checkpointEvery: -1 })).checkpointEvery ?? '', /≥ 0/);
  assert.match(validateDpo(c({}, { lora: { ...BASE_DPO_CONFIG.lora, targets: [] } })).targets ?? '', /at least one/);
  assert.match(validateDpo(c({}, { lora: { ...BASE_DPO_CONFIG.lora, r: 0 } })).r ?? '', /≥ 1/);
  // every refusal of the engine's DPO settings check is one of the form's, and the other way round
  const cases: DpoConfig['dpo'][] = [{ beta: 0, labelSmoothing: 0 }, { beta: -0.5, labelSmoothing: 0 }, { beta: NaN, labelSmoothing: 0 }, { beta: 0.1, labelSmoothing: 0.5 }, { beta: 0.1, labelSmoothing: -0.01 }, { beta: 0.1, labelSmoothing: 0.2 }, { beta: 2, labelSmoothing: 0 }];
  for (const s of cases) {
    const form = validateDpo(c(s));
    const engine = dpoSettingsProblem(dpoRequestConfig(c(s)).dpo, false);
    assert.equal(!!(form.beta || form.labelSmoothing), !!engine, `${JSON.stringify(s)}: form ${JSON.stringify(form)}, engine ${engine}`);
  }
});

test('the request config: LoRA only (full refused by the engine is never sent), no dropout, no accumulation, `lab dpo`’s key order', () => {
  const req = dpoRequestConfig(c({ beta: 0.2 }, { full: true, gradAccum: 4, batchSize: 3, lora: { ...BASE_DPO_CONFIG.lora, dropout: 0.1 } }));
  assert.deepEqual([req.kind, req.full, req.gradAccum, req.batchSize, req.lora.dropout], ['dpo', false, 1, 3, 0]);
  assert.deepEqual(Object.keys(req.dpo), ['beta', 'labelSmoothing']);
  assert.equal(dpoSettingsProblem(req.dpo, req.full), null);
  assert.doesNotThrow(() => checkSftConfig(req));
  assert.match(dpoSettingsProblem(req.dpo, true) ?? '', /DPO needs LoRA/, 'the engine refuses full DPO; the form never offers it');
  assert.ok(dpoNotes(c({}, { steps: 12, batchSize: 1 }), { rows: 6 }).some((n) => /over the 6 pairs 2\.0 times/.test(n)));
});

/** The train slice over a fake engine: train() reports a start and a DPO step and resolves. */
function slice(records: RunRecord[] = []) {
  const reqs: TrainRequest[] = [];
  const engine = {
    async train(req: TrainRequest, on?: (p: TrainProgress) => void) {
      reqs.push(req);
      on?.({ kind: 'start', firstStep: 1, totalSteps: req.config.steps, tensors: 1, trainable: 1, description: '' });
      const line = { step: 1, epoch: 0, loss: 0.69, grad_norm: 1, lr: 1e-6, rewards_chosen: 0.01, rewards_rejected: -0.01, accuracy: 1, margin: 0.02, logps_chosen: -5, logps_rejected: -9, tokens: 10, trained_tokens: 6, tokens_per_s: 0, step_s: 0, elapsed_s: 0 };
      on?.({ kind: 'step', line, etaSec: 0, totalSteps: req.config.steps } as TrainProgress);
      return { runId: req.runId, steps: req.config.steps, lastLoss: 0.69, where: '', files: [] };
    },
    async listRuns() {
      return records;
    },
    async runMetrics() {
      return [];
    },
    async runSamples() {
      return [];
    },
  } as unknown as Engine;
  type S = TrainSlice & ModelSlice;
  let state = { model: { status: 'ready', summary: { name: 'lab-micro', n_ctx: 256 } as ModelSummary } } as unknown as S;
  const set = (p: Partial<S>) => void (state = { ...state, ...p });
  state = { ...state, ...createTrainSlice<S>(engine, set, () => state) };
  state.refreshRuns = async () => undefined;
  return { s: () => state, reqs };
}

test('the slice: DPO mode edits and the TRL preset, starts a DpoConfig run on the picked file; a stored DPO run resumes in the DPO form', async () => {
  const { s, reqs } = slice();
  s().setTrainKind('dpo');
  assert.equal(s().dpoPreset, 'trl');
  s().setDpoSettings({ beta: 0.5, labelSmoothing: 0.1 });
  s().setDpoConfig({ lr: 1e-3, steps: 3, batchSize: 2 });
  assert.deepEqual([s().dpoPreset, s().dpoConfig.dpo.beta, s().dpoConfig.lr], ['custom', 0.5, 1e-3]);
  s().applyDpoPreset();
  assert.deepEqual([s().dpoPreset, s().dpoConfig.dpo.beta, s().dpoConfig.dpo.labelSmoothing, s().dpoConfig.lr, s().dpoConfig.steps, s().dpoConfig.batchSize], ['trl', 0.1, 0, 1e-6, 3, 2], 'the preset sets β, ls and lr; steps and pairs stay');
  const manifest = { name: 'SOURCE_MANIFEST.yml', path: 'data/pairs.jsonl', text: 'schema_version: "1.0"\nrecords:\n  - {source_id: t, path_glob: "data/*.jsonl", data_type: text, origin: test, rights_holder: project, permission_status: approved_for_training, license: MIT, allowed_uses: [training], prohibited_uses: [], contains_sensitive_content: false, review_contact: none, notes: "synthetic"}\n' };
  const text = '{"prompt":"1+1?","chosen":"#### 2","rejected":"I do not know."}\n';
  s().setTrainData({ kind: 'file', name: 'pairs.jsonl', text, manifest: null });
  assert.equal(s().trainDecision.allowed, false, 'a picked file without a manifest: default-deny');
  s().setTrainData({ kind: 'file', name: 'pairs.jsonl', text, manifest });
  assert.equal(s().trainDecision.allowed, true, s().trainDecision.reason);
  await s().startTraining();
  const sent = reqs[0].config as DpoConfig;
  assert.deepEqual([sent.kind, sent.full, sent.batchSize, sent.gradAccum, sent.lora.dropout, sent.dpo.beta], ['dpo', false, 2, 1, 0, 0.1]);
  assert.equal(reqs[0].data?.governance.allowed, true);
  assert.deepEqual([s().live.kind, s().live.status, s().live.lines.length], ['dpo', 'done', 1]);
  assert.match(s().live.message ?? '', /Finished 3 DPO steps/);

  // a reload: the form is back at its defaults in SFT mode; the run record holds the DPO config
  const rec = { schema: 'lab-run-v1', id: 'run-d', name: 'd', kind: 'dpo', status: 'cancelled', createdAt: 0, updatedAt: 0, model: 'lab-micro', config: sent, data: { name: 'pairs.jsonl', sha256: '', rows: 1 }, governance: { allowed: true, reason: '' }, step: 1, lastLoss: 0, checkpoints: [1], hasResult: false } as unknown as RunRecord;
  const after = slice([rec]);
  assert.equal(after.s().trainKind, 'sft');
  await after.s().resumeRun('run-d');
  assert.equal(after.s().trainKind, 'dpo');
  assert.deepEqual(after.s().dpoConfig, sent);
  assert.equal(after.s().dpoPreset, 'custom');
  assert.deepEqual(after.reqs[0].resume, { step: 1 });
  assert.equal(after.reqs[0].config, sent, 'the resume sends the stored DpoConfig as it is');
  assert.equal(after.s().live.kind, 'dpo');
});
