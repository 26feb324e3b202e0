// The Train page's forms kept across reloads: which form is shown (SFT, GRPO, DPO), each form's settings
// and preset, the data choice (an embedded set's task, rows and seed, or a picked file's name, text and
// manifest) and the reward model's picked files. One versioned entry, 'train:forms', in a database of its
// own (idb-keyval makes its object store only with a new database: src/engine/hub/store.ts). An entry of
// another schema, or one whose parts are not what this version writes, is dropped, never half-applied.
// Without IndexedDB (Node) nothing is kept. The runs themselves live in the engine's run store.
import { createStore, type UseStore } from 'idb-keyval';
import { isDpoConfig, isGrpoConfig, type SftConfig } from '../../engine/api.ts';
import { isObj, kvOf, type Kv } from '../kept.ts';
import type { TrainSlice } from '../trainSlice.ts';

export const TRAIN_FORMS_DB = 'stoney-train-forms-v1';
export const FORMS_KEY = 'train:forms';

/** The slice's form fields, as kept. */
export type TrainForms = Pick<TrainSlice, 'trainKind' | 'trainConfig' | 'trainPreset' | 'grpoConfig' | 'grpoPreset' | 'dpoConfig' | 'dpoPreset' | 'trainData' | 'grpoRewardModel'>;

interface Saved extends TrainForms {
  schema: 'lab-train-forms-v1';
  savedAt: string;
}

let idb: UseStore | null = null;
const defaultKv = (): Kv | null => kvOf(typeof indexedDB === 'undefined' ? null : (idb ??= createStore(TRAIN_FORMS_DB, 'forms')));

const isSft = (c: unknown): c is SftConfig => isObj(c) && typeof c.steps === 'number' && typeof c.lr === 'number' && typeof c.full === 'boolean' && isObj(c.lora);

/** Why a stored entry is not a TrainForms of this version, or null when it is. */
export function formsProblem(v: unknown): string | null {
  if (!isObj(v) || v.schema !== 'lab-train-forms-v1') return 'another schema';
  if (!['sft', 'grpo', 'dpo'].includes(v.trainKind as string)) return 'trainKind';
  if (!isSft(v.trainConfig) || typeof v.trainPreset !== 'string') return 'the SFT form';
  if (!isSft(v.grpoConfig) || !isGrpoConfig(v.grpoConfig) || !['trl', 'user', 'custom'].includes(v.grpoPreset as string)) return 'the GRPO form';
  if (!isSft(v.dpoConfig) || !isDpoConfig(v.dpoConfig) || !['trl', 'custom'].includes(v.dpoPreset as string)) return 'the DPO form';
  const d = v.trainData;
  if (!isObj(d)) return 'the data choice';
  if (d.kind === 'embedded') {
    if (!['arithmetic', 'conlang'].includes(d.task as string) || typeof d.n !== 'number' || typeof d.seed !== 'number') return 'the data choice';
    if (d.split !== undefined && d.split !== 'train' && d.split !== 'rl') return 'the data choice';
  } else if (d.kind === 'file') {
    if (typeof d.name !== 'string' || typeof d.text !== 'string') return 'the data choice';
    const m = d.manifest;
    if (m !== null && !(isObj(m) && typeof m.name === 'string' && typeof m.text === 'string' && typeof m.path === 'string')) return 'the data manifest';
  } else return 'the data choice';
  const rm = v.grpoRewardModel;
  if (rm !== null && !(isObj(rm) && isObj(rm.files) && Object.values(rm.files).every((b) => b instanceof Uint8Array))) return 'the reward model files';
  return null;
}

/** Keeps the forms (replacing what was kept). */
export async function saveTrainForms(forms: TrainForms, kv: Kv | null = defaultKv()): Promise<void> {
  if (!kv) return;
  const saved: Saved = { schema: 'lab-train-forms-v1', savedAt: new Date().toISOString(), ...forms };
  await kv.set(FORMS_KEY, saved);
}

/** The kept forms, or null (none, or not this version's: dropped). */
export async function loadTrainForms(kv: Kv | null = defaultKv()): Promise<TrainForms | null> {
  if (!kv) return null;
  const v = await kv.get(FORMS_KEY);
  if (v === undefined) return null;
  if (formsProblem(v)) {
    await kv.del(FORMS_KEY);
    return null;
  }
  const { schema: _s, savedAt: _a, ...forms } = v as Saved;
  return forms;
}
