// The analysis reports kept across reloads, in a database of their own whose name carries the schema
// version (idb-keyval creates its object store only with a new database, as src/engine/hub/store.ts
// explains): 'analysis:last', the last report, 'analysis:pinned', the report pinned as "before"
// for the before/after comparison, and 'analysis:inputs', the page's two sets (a picked file's text
// included) and settings. Each entry is versioned on its own; an entry of another schema is
// dropped. Without IndexedDB (Node) nothing is kept.
import { createStore, del, get, set, type UseStore } from 'idb-keyval';
import type { ReportData } from '../../engine/api.ts';
import type { AnalyzeSettings, SetChoice, SetKey } from './sets.ts';
import { isObj, kvOf, type Kv } from '../kept.ts';

export const ANALYSIS_DB = 'stoney-analysis-v1';
export const LAST_KEY = 'analysis:last';
export const PINNED_KEY = 'analysis:pinned';
export const INPUTS_KEY = 'analysis:inputs';

interface Saved {
  schema: 'lab-analysis-last-v1';
  savedAt: string;
  report: ReportData;
}

interface Pinned {
  schema: 'lab-analysis-pinned-v1';
  /** when it was pinned (the report's own createdAt says when it was computed) */
  pinnedAt: string;
  report: ReportData;
}

let db: UseStore | null = null;
const store = (): UseStore | null => (typeof indexedDB === 'undefined' ? null : (db ??= createStore(ANALYSIS_DB, 'reports')));

/** Keeps `report` as the last one (replacing the one before). */
export async function saveLastReport(report: ReportData): Promise<void> {
  const s = store();
  if (!s) return;
  const saved: Saved = { schema: 'lab-analysis-last-v1', savedAt: new Date().toISOString(), report };
  await set(LAST_KEY, saved, s);
}

/** The kept report, or null (none, or one of another schema: it is dropped). */
export async function loadLastReport(): Promise<ReportData | null> {
  const s = store();
  if (!s) return null;
  const v = (await get(LAST_KEY, s)) as Partial<Saved> | undefined;
  if (!v) return null;
  if (v.schema !== 'lab-analysis-last-v1' || v.report?.schema !== 'lab-analysis-report-v1') {
    await del(LAST_KEY, s);
    return null;
  }
  return v.report;
}

/** Keeps `report` as the pinned "before" (replacing the one pinned before). */
export async function savePinnedReport(report: ReportData, pinnedAt: string): Promise<void> {
  const s = store();
  if (!s) return;
  const pinned: Pinned = { schema: 'lab-analysis-pinned-v1', pinnedAt, report };
  await set(PINNED_KEY, pinned, s);
}

/** The pinned report and when it was pinned, or null (none, or one of another schema: it is dropped). */
export async function loadPinnedReport(): Promise<{ report: ReportData; pinnedAt: string } | null> {
  const s = store();
  if (!s) return null;
  const v = (await get(PINNED_KEY, s)) as Partial<Pinned> | undefined;
  if (!v) return null;
  if (v.schema !== 'lab-analysis-pinned-v1' || v.report?.schema !== 'lab-analysis-report-v1' || typeof v.pinnedAt !== 'string') {
    await del(PINNED_KEY, s);
    return null;
  }
  return { report: v.report, pinnedAt: v.pinnedAt };
}

/** Forgets the pinned report. */
export async function clearPinnedReport(): Promise<void> {
  const s = store();
  if (s) await del(PINNED_KEY, s);
}

/** The page's inputs as kept: both sets and the settings. */
export interface AnalyzeInputs {
  sets: Record<SetKey, SetChoice>;
  settings: AnalyzeSettings;
}

const defaultKv = (): Kv | null => kvOf(store());

function isSet(c: unknown): c is SetChoice {
  if (!isObj(c) || typeof c.label !== 'string') return false;
  if (c.kind === 'embedded') return c.task === 'arithmetic' || c.task === 'conlang';
  return c.kind === 'file' && typeof c.name === 'string' && typeof c.text === 'string' && typeof c.rows === 'number';
}
function isSettings(s: unknown): s is AnalyzeSettings {
  return isObj(s) && ['n', 'seed', 'nBoot', 'nPerm'].every((k) => typeof s[k] === 'number') && typeof s.queries === 'string' && typeof s.ablation === 'string';
}

/** Keeps the page's inputs (replacing what was kept). */
export async function saveInputs(inputs: AnalyzeInputs, kv: Kv | null = defaultKv()): Promise<void> {
  if (kv) await kv.set(INPUTS_KEY, { schema: 'lab-analysis-inputs-v1', savedAt: new Date().toISOString(), ...inputs });
}

/** The kept inputs, or null (none, or not this version's: dropped). */
export async function loadInputs(kv: Kv | null = defaultKv()): Promise<AnalyzeInputs | null> {
  if (!kv) return null;
  const v = await kv.get(INPUTS_KEY);
  if (v === undefined) return null;
  if (!isObj(v) || v.schema !== 'lab-analysis-inputs-v1' || !isObj(v.sets) || !isSet(v.sets.a) || !isSet(v.sets.b) || !isSettings(v.settings)) {
    await kv.del(INPUTS_KEY);
    return null;
  }
  return { sets: { a: v.sets.a, b: v.sets.b }, settings: v.settings };
}
