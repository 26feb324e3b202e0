// The Evaluate page kept across reloads, in a database of its own whose name carries the schema version
// (idb-keyval creates its object store only with a new database: src/engine/hub/store.ts): 'eval:table',
// the last table (with its items and provenance), and 'eval:form', the page's inputs (a picked file's
// text and manifest included). Each entry is versioned on its own; one of another schema, or whose
// parts are not what this version writes, is dropped, never half-applied. Without IndexedDB nothing is kept.
import { createStore, type UseStore } from 'idb-keyval';
import type { EvalTable } from '../../engine/api.ts';
import { EVAL_METRICS } from '../../rewards/metrics.ts';
import { isObj, kvOf, type Kv } from '../kept.ts';
import type { EvalForm } from './form.ts';

export const EVAL_DB = 'stoney-eval-v1';
export const TABLE_KEY = 'eval:table';
export const FORM_KEY = 'eval:form';

let idb: UseStore | null = null;
const defaultKv = (): Kv | null => kvOf(typeof indexedDB === 'undefined' ? null : (idb ??= createStore(EVAL_DB, 'eval')));

/** Why a stored form is not this version's, or null. */
export function formProblem(v: unknown): string | null {
  if (!isObj(v)) return 'not an object';
  const d = v.data;
  if (!isObj(d)) return 'data';
  if (d.kind === 'embedded') {
    if (!['arithmetic', 'conlang'].includes(d.task as string) || typeof d.n !== 'number' || typeof d.seed !== 'number') return 'data';
    if (d.split !== undefined && d.split !== 'heldout' && d.split !== 'rl') return 'data';
  } else if (d.kind === 'file') {
    if (typeof d.name !== 'string' || typeof d.text !== 'string' || typeof d.rows !== 'number') return 'data';
    const m = d.manifest;
    if (m !== null && !(isObj(m) && typeof m.name === 'string' && typeof m.text === 'string' && typeof m.path === 'string')) return 'manifest';
  } else return 'data';
  if (!(EVAL_METRICS as readonly unknown[]).includes(v.metric)) return 'metric';
  if (typeof v.base !== 'boolean' || !Array.isArray(v.runIds) || !v.runIds.every((x) => typeof x === 'string')) return 'models';
  for (const k of ['maxNewTokens', 'batch', 'seed']) if (typeof v[k] !== 'number') return k;
  if (v.limit !== undefined && typeof v.limit !== 'number') return 'limit';
  return null;
}

const isTable = (v: unknown): v is EvalTable => isObj(v) && v.schema === 'lab-eval-table-v1' && Array.isArray(v.rows) && isObj(v.provenance);

export async function saveTable(table: EvalTable, kv: Kv | null = defaultKv()): Promise<void> {
  await kv?.set(TABLE_KEY, { schema: 'lab-eval-kept-v1', savedAt: new Date().toISOString(), table });
}

/** The kept table, or null (none, or not this version's: dropped). */
export async function loadTable(kv: Kv | null = defaultKv()): Promise<EvalTable | null> {
  const v = await kv?.get(TABLE_KEY);
  if (v === undefined || v === null) return null;
  if (!isObj(v) || v.schema !== 'lab-eval-kept-v1' || !isTable(v.table)) {
    await kv?.del(TABLE_KEY);
    return null;
  }
  return v.table;
}

export async function clearTable(kv: Kv | null = defaultKv()): Promise<void> {
  await kv?.del(TABLE_KEY);
}

export async function saveForm(form: EvalForm, kv: Kv | null = defaultKv()): Promise<void> {
  await kv?.set(FORM_KEY, { schema: 'lab-eval-form-v1', form });
}

export async function loadForm(kv: Kv | null = defaultKv()): Promise<EvalForm | null> {
  const v = await kv?.get(FORM_KEY);
  if (v === undefined || v === null) return null;
  if (!isObj(v) || v.schema !== 'lab-eval-form-v1' || formProblem(v.form)) {
    await kv?.del(FORM_KEY);
    return null;
  }
  return v.form as unknown as EvalForm;
}
