// The Train page's forms across a reload (./persist.ts through the train slice): what the user set — the
// form shown, GRPO settings, the data choice, a picked file with its manifest, the reward model's files —
// comes back in a new slice over the same store; a change made before the kept forms arrive is not
// overwritten; an entry of another version is dropped, not half-applied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Engine } from '../../engine/api.ts';
import type { ModelSlice } from '../modelSlice.ts';
import { createTrainSlice, dataOf, type TrainSlice } from '../trainSlice.ts';
import { generateArithmetic } from '../../tasks/arithmetic.ts';
import { toSftJsonl } from '../../tasks/index.ts';
import { FORMS_KEY, formsProblem, loadTrainForms } from './persist.ts';
import type { Kv } from '../kept.ts';
import { memoryKv } from '../kept.testlib.ts';


type S = TrainSlice & ModelSlice;
function slice(kv: Kv) {
  const engine = { async listRuns() { return []; } } as unknown as Engine;
  let state = { model: { status: 'idle' } } as unknown as S;
  const set = (p: Partial<S>) => void (state = { ...state, ...p });
  state = { ...state, ...createTrainSlice<S>(engine, set, () => state, { formsKv: kv }) };
  return () => state;
}

test('the forms and the data choice come back after a reload, file, manifest and reward-model files included', async () => {
  const kv = memoryKv();
  const s = slice(kv);
  s().setTrainKind('grpo');
  s().setGrpoSettings({ groupSize: 4, promptsPerStep: 2 });
  s().setTrainConfig({ lr: 3e-4 });
  const manifest = { name: 'SOURCE_MANIFEST.yml', text: 'sources: []\n', path: 'rows.jsonl' };
  s().setTrainData({ kind: 'file', name: 'rows.jsonl', text: '{"question":"â","answer":"#### 1"}\n', manifest });
  s().setGrpoRewardModel({ 'reward_model.json': new Uint8Array([123, 125]) });
  await s().flushTrainForms();
  assert.equal(formsProblem(kv.map.get(FORMS_KEY)), null);

  const back = slice(kv);
  assert.equal(back().trainKind, 'sft', 'a new page starts at the defaults');
  await back().restoreTrainForms();
  assert.equal(back().trainKind, 'grpo');
  assert.deepEqual([back().grpoConfig.grpo.groupSize, back().grpoConfig.grpo.promptsPerStep, back().grpoPreset], [4, 2, 'custom']);
  assert.equal(back().trainConfig.lr, 3e-4);
  assert.deepEqual(back().trainData, { kind: 'file', name: 'rows.jsonl', text: '{"question":"â","answer":"#### 1"}\n', manifest });
  assert.deepEqual(back().trainDecision, s().trainDecision, 'the governance decision is made again for the restored data');
  assert.deepEqual([...(back().grpoRewardModel?.files['reward_model.json'] ?? [])], [123, 125]);

  // an embedded choice: task, rows and seed
  back().setTrainData({ kind: 'embedded', task: 'conlang', n: 37, seed: 5 });
  await back().flushTrainForms();
  const third = slice(kv);
  await third().restoreTrainForms();
  assert.deepEqual(third().trainData, { kind: 'embedded', task: 'conlang', n: 37, seed: 5 });
  assert.equal(third().trainDecision.allowed, true);

  // and its split: rl rows (prompts the SFT never saw) come back as rl rows
  third().setTrainData({ kind: 'embedded', task: 'arithmetic', n: 3, seed: 2, split: 'rl' });
  await third().flushTrainForms();
  const fourth = slice(kv);
  await fourth().restoreTrainForms();
  assert.deepEqual(fourth().trainData, { kind: 'embedded', task: 'arithmetic', n: 3, seed: 2, split: 'rl' });
  const rows = dataOf(fourth().trainData);
  assert.equal(rows.name, 'arithmetic-rl-n3-seed2.jsonl');
  assert.equal(rows.text, toSftJsonl(generateArithmetic('rl', 3, 2)));
  assert.notEqual(rows.text, dataOf({ kind: 'embedded', task: 'arithmetic', n: 3, seed: 2 }).text, 'rl rows are not train rows');
  const kept = kv.map.get(FORMS_KEY) as { trainData: Record<string, unknown> };
  assert.equal(formsProblem({ ...kept, trainData: { ...kept.trainData, split: 'heldout' } }), 'the data choice', 'the test split is never training data');
});

test('a change made before the kept forms arrive wins; a kept entry of another version is dropped', async () => {
  const kv = memoryKv();
  const s = slice(kv);
  s().setTrainKind('dpo');
  await s().flushTrainForms();
  const next = slice(kv);
  next().setTrainData({ kind: 'embedded', task: 'conlang', n: 3, seed: 0 }); // the user was quicker
  await next().restoreTrainForms();
  assert.equal(next().trainKind, 'sft', 'not overwritten by the kept forms');
  assert.deepEqual(next().trainData, { kind: 'embedded', task: 'conlang', n: 3, seed: 0 });

  kv.map.set(FORMS_KEY, { schema: 'lab-train-forms-v0', trainKind: 'grpo' });
  assert.equal(await loadTrainForms(kv), null);
  assert.equal(kv.map.has(FORMS_KEY), false, 'dropped');
  kv.map.set(FORMS_KEY, { ...(structuredClone(kv.map.get(FORMS_KEY)) as object), schema: 'lab-train-forms-v1', trainKind: 'ppo' });
  assert.match(formsProblem(kv.map.get(FORMS_KEY)) ?? '', /trainKind/);
  const last = slice(kv);
  await last().restoreTrainForms();
  assert.equal(last().trainKind, 'sft');
});

test('a store that refuses the write: the page says the settings could not be kept', async () => {
  const kv = memoryKv();
  kv.set = async () => {
    throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
  };
  const s = slice(kv);
  s().setTrainKind('grpo');
  await s().flushTrainForms();
  assert.match(s().trainFormsError ?? '', /could not be kept for the next visit: .*quota/i);
});
