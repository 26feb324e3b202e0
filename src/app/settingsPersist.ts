// Device settings kept across reloads: the matmul precision the researcher chose (f32, the default, or f16
// where the GPU has shader-f16). One entry, 'settings:precision', in a database of its own (idb-keyval makes
// its object store only with a new database). Without IndexedDB (Node) nothing is kept.
import { createStore, type UseStore } from 'idb-keyval';
import { kvOf, type Kv } from './kept.ts';

export const SETTINGS_DB = 'stoney-settings-v1';
export const PRECISION_KEY = 'settings:precision';
export type Precision = 'f32' | 'f16';

let idb: UseStore | null = null;
export const defaultSettingsKv = (): Kv | null => kvOf(typeof indexedDB === 'undefined' ? null : (idb ??= createStore(SETTINGS_DB, 'settings')));

/** The kept precision; f32 when none was kept or the entry is not one this version writes. */
export async function loadPrecision(kv: Kv | null = defaultSettingsKv()): Promise<Precision> {
  const v = kv ? await kv.get(PRECISION_KEY).catch(() => undefined) : undefined;
  return v === 'f16' ? 'f16' : 'f32';
}

export async function savePrecision(p: Precision, kv: Kv | null = defaultSettingsKv()): Promise<void> {
  await kv?.set(PRECISION_KEY, p);
}
