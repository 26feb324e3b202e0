// A GRPO run that scores with a learned reward model keeps a record of that model with the run, so a
// resume scores with the same one:
//   reward-model.json                       { schema, sha256, files: [{ name, bytes, sha256 }], kept }
//   reward-model/<file name>                the files themselves, where the store keeps the run's data
//                                           (store.keepsData: the browser), so a page resume needs nothing picked again
// The CLI's folder store keeps the record only (its resume reads --reward reward-model=<dir> again); either way
// a resume with other reward-model files is refused, naming both digests.
import { TrainingError } from '../errors.ts';
import type { RunStore } from '../train/run-store.ts';
import { sha256Hex } from '../util/sha256.ts';

export const KEPT_RM_RECORD = 'reward-model.json';
const KEPT_RM_DIR = 'reward-model/';

interface KeptRewardModel {
  schema: 'lab-kept-reward-model-v1';
  /** one digest of all files: SHA-256 of "name sha256\n" lines in name order */
  sha256: string;
  files: { name: string; bytes: number; sha256: string }[];
  /** the files' bytes are stored with the run (not only this record) */
  kept: boolean;
}

/** The record of a set of reward-model files (no bytes). */
export async function rewardModelRecord(files: Record<string, Uint8Array>, kept: boolean): Promise<KeptRewardModel> {
  const names = Object.keys(files).sort();
  const list = await Promise.all(names.map(async (name) => ({ name, bytes: files[name].byteLength, sha256: await sha256Hex(files[name]) })));
  return { schema: 'lab-kept-reward-model-v1', sha256: await sha256Hex(list.map((f) => `${f.name} ${f.sha256}\n`).join('')), files: list, kept };
}

/** Keeps the reward model of a new run: its record always, its files where the store keeps data. */
export async function keepRewardModel(store: RunStore, runId: string, files: Record<string, Uint8Array>): Promise<void> {
  const kept = !!store.keepsData;
  if (kept) for (const [name, bytes] of Object.entries(files)) await store.saveFile(runId, KEPT_RM_DIR + name, bytes);
  // the record last: a record that says "kept" means every file is there
  const rec = await rewardModelRecord(files, kept);
  await store.saveFile(runId, KEPT_RM_RECORD, new TextEncoder().encode(JSON.stringify(rec, null, 1)));
}

async function readRecord(store: RunStore, runId: string): Promise<KeptRewardModel | null> {
  const bytes = await store.readFile(runId, KEPT_RM_RECORD);
  if (!bytes) return null;
  let rec: Partial<KeptRewardModel>;
  try {
    rec = JSON.parse(new TextDecoder().decode(bytes)) as Partial<KeptRewardModel>;
  } catch (e) {
    throw new TrainingError('invalid', `${store.where(runId)}: ${KEPT_RM_RECORD} is not JSON (${(e as Error).message})`);
  }
  if (rec.schema !== 'lab-kept-reward-model-v1' || typeof rec.sha256 !== 'string' || !Array.isArray(rec.files)) {
    throw new TrainingError('invalid', `${store.where(runId)}: ${KEPT_RM_RECORD} is not a lab-kept-reward-model-v1 record`);
  }
  return rec as KeptRewardModel;
}

/**
 * The reward model a resumed run scores with: the files given (checked against the run's record, when it
 * has one), else the files kept with the run. Null when neither exists (the caller says what to pick).
 */
export async function resumeRewardModel(store: RunStore, runId: string, given: Record<string, Uint8Array> | undefined): Promise<Record<string, Uint8Array> | null> {
  const rec = await readRecord(store, runId);
  if (given) {
    if (rec) {
      const now = await rewardModelRecord(given, false);
      if (now.sha256 !== rec.sha256) {
        throw new TrainingError(
          'resume-mismatch',
          `cannot resume ${store.where(runId)}: its reward model (files ${rec.files.map((f) => f.name).join(', ')}, digest ${rec.sha256.slice(0, 12)}) is not the one given (${now.files.map((f) => f.name).join(', ')}, digest ${now.sha256.slice(0, 12)}). Resume with the reward model the run started with, or start a new run.`,
        );
      }
    }
    return given;
  }
  if (!rec?.kept) return null;
  const files: Record<string, Uint8Array> = {};
  for (const f of rec.files) {
    const bytes = await store.readFile(runId, KEPT_RM_DIR + f.name);
    if (!bytes || bytes.byteLength !== f.bytes) throw new TrainingError('invalid', `${store.where(runId)}: the kept reward-model file ${f.name} is missing or cut short: pick the reward model's files again to resume`);
    files[f.name] = bytes;
  }
  const back = await rewardModelRecord(files, true);
  if (back.sha256 !== rec.sha256) throw new TrainingError('invalid', `${store.where(runId)}: the kept reward-model files do not match their record (digest ${back.sha256.slice(0, 12)}, recorded ${rec.sha256.slice(0, 12)}): pick the reward model's files again to resume`);
  return files;
}
