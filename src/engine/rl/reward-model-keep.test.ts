// The reward model a GRPO run keeps (./reward-model-keep.ts): a store that keeps data (the browser's) gives the
// files back for a resume that names none; a folder store (the CLI's) keeps the record only; other files, a
// missing or altered kept file are refused with the run's place and the digests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KvRunStore } from '../train/run-store.ts';
import { MemoryBlobStore } from '../hub/store.ts';
import { TrainingError } from '../errors.ts';
import { KEPT_RM_RECORD, keepRewardModel, resumeRewardModel, rewardModelRecord } from './reward-model-keep.ts';

const files = { 'reward_model.json': new TextEncoder().encode('{"schema":"lab-reward-model-v1"}'), 'adapter_model.safetensors': new Uint8Array([1, 2, 3, 4, 5]) };
const other = { ...files, 'adapter_model.safetensors': new Uint8Array([1, 2, 3, 4, 6]) };

test('the record: one digest over the files in name order, the same for the same files whatever their order', async () => {
  const a = await rewardModelRecord(files, true);
  const b = await rewardModelRecord({ 'adapter_model.safetensors': files['adapter_model.safetensors'], 'reward_model.json': files['reward_model.json'] }, true);
  assert.equal(a.sha256, b.sha256);
  assert.deepEqual(a.files.map((f) => [f.name, f.bytes]), [['adapter_model.safetensors', 5], ['reward_model.json', 32]]);
  assert.notEqual((await rewardModelRecord(other, true)).sha256, a.sha256);
});

test('a store that keeps data: a resume that names no files gets the kept ones back, byte for byte; the same files given pass, others are refused', async () => {
  const store = new KvRunStore(new MemoryBlobStore());
  await keepRewardModel(store, 'r1', files);
  const back = await resumeRewardModel(store, 'r1', undefined);
  assert.deepEqual(Object.keys(back ?? {}).sort(), Object.keys(files).sort());
  for (const [k, v] of Object.entries(files)) assert.deepEqual(back?.[k], v);
  assert.equal(await resumeRewardModel(store, 'r1', files), files);
  await assert.rejects(resumeRewardModel(store, 'r1', other), (e: Error) => e instanceof TrainingError && e.kind === 'resume-mismatch' && /reward model .* is not the one given/.test(e.message));
  // a kept file altered or lost: refused, saying to pick the files again
  await store.saveFile('r1', 'reward-model/adapter_model.safetensors', new Uint8Array([9, 9, 9, 9, 9]));
  await assert.rejects(resumeRewardModel(store, 'r1', undefined), /do not match their record .*pick the reward model's files again/);
  await store.saveFile('r1', 'reward-model/adapter_model.safetensors', new Uint8Array([1]));
  await assert.rejects(resumeRewardModel(store, 'r1', undefined), /adapter_model.safetensors is missing or cut short/);
  // a run with no record (made before runs kept them): the given files are used as they are, none gives null
  assert.equal(await resumeRewardModel(store, 'old', undefined), null);
  assert.equal(await resumeRewardModel(store, 'old', other), other);
  // deleting the run deletes what it kept
  await store.delete('r1');
  assert.equal(await store.readFile('r1', KEPT_RM_RECORD), null);
  assert.equal(await store.readFile('r1', 'reward-model/reward_model.json'), null);
});

test('a store that does not keep data (the CLI folder): the record only; a resume needs the files and checks them', async () => {
  const store = new KvRunStore(new MemoryBlobStore());
  store.keepsData = false;
  await keepRewardModel(store, 'c1', files);
  const rec = JSON.parse(new TextDecoder().decode((await store.readFile('c1', KEPT_RM_RECORD))!)) as { kept: boolean; files: unknown[] };
  assert.equal(rec.kept, false);
  assert.equal(rec.files.length, 2);
  assert.equal(await store.readFile('c1', 'reward-model/reward_model.json'), null, 'no bytes kept');
  assert.equal(await resumeRewardModel(store, 'c1', undefined), null);
  assert.equal(await resumeRewardModel(store, 'c1', files), files);
  await assert.rejects(resumeRewardModel(store, 'c1', other), /digest/);
  await store.saveFile('c1', KEPT_RM_RECORD, new TextEncoder().encode('{'));
  await assert.rejects(resumeRewardModel(store, 'c1', files), /reward-model.json is not JSON/);
});
