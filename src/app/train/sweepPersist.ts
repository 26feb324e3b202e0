// Sweeps kept across reloads: each sweep's record (its plan, the run ids that belong to it, each point's
// results and the sweep's status) under 'sweep:<id>', an index of the ids under 'sweeps:index', and the
// Sweep section's form under 'sweeps:form', in a database of its own (idb-keyval makes its object store
// only with a new database, as ./persist.ts explains). Each record is written whole (one put), so a reload
// finds the last state, never half of one. An entry that is not this version's is dropped, not
// half-applied. The runs themselves (metrics, checkpoints, adapters) are in the engine's run store.
import { createStore, type UseStore } from 'idb-keyval';
import { isObj, kvOf, type Kv } from '../kept.ts';
import { DEFAULT_SWEEP_FORM, type SweepForm, type SweepRecord } from './sweep.ts';

export const SWEEPS_DB = 'stoney-train-sweeps-v1';
export const INDEX_KEY = 'sweeps:index';
export const FORM_KEY = 'sweeps:form';
const recordKey = (id: string) => `sweep:${id}`;

let idb: UseStore | null = null;
export const defaultSweepKv = (): Kv | null => kvOf(typeof indexedDB === 'undefined' ? null : (idb ??= createStore(SWEEPS_DB, 'sweeps')));

const POINT_STATUS = ['pending', 'running', 'done', 'cancelled', 'interrupted', 'failed'];
const SWEEP_STATUS = ['running', 'paused', 'done', 'cancelled', 'interrupted', 'failed'];
const nums = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'number');

/** Why an entry is not a SweepRecord of this version, or null when it is. */
export function sweepProblem(v: unknown): string | null {
  if (!isObj(v) || v.schema !== 'lab-sweep-v1') return 'another schema';
  if (typeof v.id !== 'string' || typeof v.model !== 'string' || typeof v.createdAt !== 'number') return 'id, model or time';
  if (!SWEEP_STATUS.includes(v.status as string)) return 'status';
  const b = v.base;
  if (!isObj(b) || typeof b.steps !== 'number' || !isObj(b.lora)) return 'the base config';
  if (!isObj(v.data) || !['embedded', 'file'].includes(v.data.kind as string)) return 'the data choice';
  if (!nums(v.lrs) || !nums(v.ranks) || !['double', 'base'].includes(v.alphaRule as string)) return 'the grid';
  if (v.eval !== null && !(isObj(v.eval) && typeof v.eval.n === 'number' && typeof v.eval.task === 'string')) return 'the eval settings';
  const pts = v.points;
  if (!Array.isArray(pts) || pts.length !== (v.lrs as number[]).length * (v.ranks as number[]).length) return 'the points';
  for (const p of pts) if (!isObj(p) || typeof p.runId !== 'string' || typeof p.lr !== 'number' || typeof p.r !== 'number' || !POINT_STATUS.includes(p.status as string)) return 'a point';
  return null;
}

/** Writes one sweep's record (replacing it) and adds its id to the index. */
export async function saveSweep(s: SweepRecord, kv: Kv | null = defaultSweepKv()): Promise<void> {
  if (!kv) return;
  await kv.set(recordKey(s.id), s);
  const ids = await readIndex(kv);
  if (!ids.includes(s.id)) await kv.set(INDEX_KEY, [...ids, s.id]);
}

async function readIndex(kv: Kv): Promise<string[]> {
  const v = await kv.get(INDEX_KEY);
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** Every kept sweep, newest first; entries of another version (or missing) leave the index. */
export async function loadSweeps(kv: Kv | null = defaultSweepKv()): Promise<SweepRecord[]> {
  if (!kv) return [];
  const ids = await readIndex(kv);
  const out: SweepRecord[] = [];
  const keep: string[] = [];
  for (const id of ids) {
    const v = await kv.get(recordKey(id));
    if (v !== undefined && !sweepProblem(v)) {
      out.push(v as SweepRecord);
      keep.push(id);
    } else if (v !== undefined) await kv.del(recordKey(id));
  }
  if (keep.length !== ids.length) await kv.set(INDEX_KEY, keep);
  return out.sort((a, b) => b.createdAt - a.createdAt);
}

export async function deleteSweepRecord(id: string, kv: Kv | null = defaultSweepKv()): Promise<void> {
  if (!kv) return;
  await kv.del(recordKey(id));
  await kv.set(INDEX_KEY, (await readIndex(kv)).filter((x) => x !== id));
}

export async function saveSweepForm(f: SweepForm, kv: Kv | null = defaultSweepKv()): Promise<void> {
  if (kv) await kv.set(FORM_KEY, { schema: 'lab-sweep-form-v1', ...f });
}

/** The kept form, or null; a field of the wrong type takes its default. */
export async function loadSweepForm(kv: Kv | null = defaultSweepKv()): Promise<SweepForm | null> {
  const v = kv ? await kv.get(FORM_KEY) : undefined;
  if (!isObj(v) || v.schema !== 'lab-sweep-form-v1') return null;
  const d = DEFAULT_SWEEP_FORM;
  return {
    lrs: typeof v.lrs === 'string' ? v.lrs : d.lrs,
    ranks: typeof v.ranks === 'string' ? v.ranks : d.ranks,
    alpha: v.alpha === 'base' ? 'base' : 'double',
    evalTask: ['arithmetic', 'conlang', 'none'].includes(v.evalTask as string) ? (v.evalTask as SweepForm['evalTask']) : d.evalTask,
    evalN: typeof v.evalN === 'number' ? v.evalN : d.evalN,
    evalMaxNew: typeof v.evalMaxNew === 'number' ? v.evalMaxNew : d.evalMaxNew,
  };
}
