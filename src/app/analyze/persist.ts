// The last analysis report, kept across reloads: one IndexedDB entry ('analysis:last') in a database
// of its own, whose name carries the schema version (idb-keyval creates its object store only with a
// new database, as src/engine/hub/store.ts explains). Without IndexedDB (Node) nothing is kept.
import { createStore, del, get, set, type UseStore } from 'idb-keyval';
import type { ReportData } from '../../engine/api.ts';

export const ANALYSIS_DB = 'stoney-analysis-v1';
export const LAST_KEY = 'analysis:last';

interface Saved {
  schema: 'lab-analysis-last-v1';
  savedAt: string;
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
