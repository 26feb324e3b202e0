// The validation session kept on this device (IndexedDB through idb-keyval, in a database of its own whose
// name carries the schema version: idb-keyval makes its object store only with a new database, as
// src/engine/hub/store.ts explains). Nothing here is ever sent anywhere.
//
//   'validate:session'    {schema, sources, items}: written when items are added (rarely)
//   'validate:position'   the item on screen
//   'validate:j:<item>'   one entry per judged item, written on every change (a rating, a keystroke), so a
//                         reload or a crash loses at most the change being written, and a write stays
//                         small however many items the session holds
//
// Unlike the other pages' kept state (./kept.ts), an entry this version cannot read is never deleted: it
// is a speaker's work, so it is left where it is and counted (the page says so), not dropped.
import { clear, createStore, del, get, set, type UseStore } from 'idb-keyval';
import { isObj } from '../kept.ts';
import { RATINGS, type ItemSource, type Judgement, type ValidationItem } from './session.ts';

export const VALIDATE_DB = 'stoney-validate-v1';
export const SESSION_KEY = 'validate:session';
export const POSITION_KEY = 'validate:position';
export const judgementKey = (itemId: string) => `validate:j:${itemId}`;

/** Where the session is kept: an idb-keyval store in a page, a Map in tests (kept.testlib.ts's memoryKv and a clear). */
export interface SessionKv {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
  del(key: string): Promise<void>;
  /** removes every entry (the speaker's "remove everything from this device") */
  clear(): Promise<void>;
}

let idb: UseStore | null = null;
/** The page's store, or null without IndexedDB (Node): then nothing is kept, and the page says so. */
export function defaultSessionKv(): SessionKv | null {
  if (typeof indexedDB === 'undefined') return null;
  const s = (idb ??= createStore(VALIDATE_DB, 'session'));
  return { get: (k) => get(k, s), set: (k, v) => set(k, v, s), del: (k) => del(k, s), clear: () => clear(s) };
}

export interface KeptSession {
  sources: ItemSource[];
  items: ValidationItem[];
  judgements: Record<string, Judgement>;
  position: number;
  /** entries of another version or shape, left in place unread */
  unreadable: number;
}

const isItem = (v: unknown): v is ValidationItem =>
  isObj(v) && typeof v.id === 'string' && typeof v.prompt === 'string' && typeof v.source === 'string' && typeof v.line === 'number' &&
  Array.isArray(v.outputs) && (v.outputs.length === 1 || v.outputs.length === 2) && v.outputs.every((o) => typeof o === 'string');
const isSource = (v: unknown): v is ItemSource => isObj(v) && typeof v.id === 'string' && typeof v.name === 'string' && ['file', 'grpo-samples', 'generated'].includes(v.kind as string);
const isJudgement = (v: unknown): v is Judgement & { schema: string } =>
  isObj(v) && v.schema === 'lab-validate-judgement-v1' && (v.rating === null || RATINGS.includes(v.rating as never)) && (v.choice === null || v.choice === 'A' || v.choice === 'B') &&
  typeof v.correction === 'string' && typeof v.comment === 'string' && typeof v.updatedAt === 'string';

/** Keeps the items and their sources (replacing what was kept). */
export async function saveItems(kv: SessionKv, sources: readonly ItemSource[], items: readonly ValidationItem[]): Promise<void> {
  await kv.set(SESSION_KEY, { schema: 'lab-validate-session-v1', savedAt: new Date().toISOString(), sources, items });
}

export async function saveJudgement(kv: SessionKv, itemId: string, j: Judgement): Promise<void> {
  await kv.set(judgementKey(itemId), { schema: 'lab-validate-judgement-v1', ...j });
}

export async function savePosition(kv: SessionKv, position: number): Promise<void> {
  await kv.set(POSITION_KEY, position);
}

/** What was kept, or an empty session. */
export async function loadSession(kv: SessionKv): Promise<KeptSession> {
  const empty: KeptSession = { sources: [], items: [], judgements: {}, position: 0, unreadable: 0 };
  const v = await kv.get(SESSION_KEY);
  if (v === undefined) return empty;
  if (!isObj(v) || v.schema !== 'lab-validate-session-v1' || !Array.isArray(v.items) || !Array.isArray(v.sources)) return { ...empty, unreadable: 1 };
  const items = v.items.filter(isItem);
  const sources = v.sources.filter(isSource);
  let unreadable = v.items.length - items.length + (v.sources.length - sources.length);
  const judgements: Record<string, Judgement> = {};
  const kept = await Promise.all(items.map((it) => kv.get(judgementKey(it.id))));
  kept.forEach((j, i) => {
    if (j === undefined) return;
    if (!isJudgement(j)) return void unreadable++;
    const { schema: _s, ...rest } = j;
    judgements[items[i].id] = rest;
  });
  const p = await kv.get(POSITION_KEY);
  const position = typeof p === 'number' && Number.isInteger(p) && p >= 0 && p < items.length ? p : 0;
  return { sources, items, judgements, position, unreadable };
}
