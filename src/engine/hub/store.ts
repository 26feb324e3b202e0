// Key-value storage behind the Hub file cache: one small interface, two implementations.
//
//   BlobStore          get / set / del / keys over string keys; values are structured-cloneable
//   MemoryBlobStore    a Map (Node tests, or a browser without IndexedDB); nothing survives a reload
//   IdbBlobStore       IndexedDB through idb-keyval (browser); survives reloads, works offline
//
// Schema versioning: the IndexedDB database name carries the schema version (`stoney-hub-v1`),
// because idb-keyval opens a database without a version number and creates its one object store
// only when the database is new. A schema change therefore means a new database name; the old one
// is left for the browser (or `deleteDatabase`) to drop. Entries also carry `schema` (cache.ts),
// so a reader can refuse values written by another version even within one database.

import { createStore, get, set, del, keys, type UseStore } from 'idb-keyval';
import { HubError } from './errors.ts';

/** Minimal async key-value store. Values must survive the structured clone algorithm. */
export interface BlobStore {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
  del(key: string): Promise<void>;
  keys(): Promise<string[]>;
}

/**
 * In-memory store (Node tests). Values are structured-cloned on the way in and out, as IndexedDB
 * does, so a caller mutating what it stored or read cannot change the stored copy.
 */
export class MemoryBlobStore implements BlobStore {
  readonly map = new Map<string, unknown>();
  async get(key: string): Promise<unknown> {
    const v = this.map.get(key);
    return v === undefined ? undefined : structuredClone(v);
  }
  async set(key: string, value: unknown): Promise<void> {
    this.map.set(key, structuredClone(value));
  }
  async del(key: string): Promise<void> {
    this.map.delete(key);
  }
  async keys(): Promise<string[]> {
    return [...this.map.keys()];
  }
}

/** Current schema version of the IndexedDB layout; part of the database name. */
export const HUB_DB_SCHEMA = 1;
export const HUB_DB_NAME = `stoney-hub-v${HUB_DB_SCHEMA}`;
export const HUB_DB_STORE = 'files';

/**
 * IndexedDB store (browser). Opening is lazy: constructing one never touches IndexedDB, so the
 * class can be imported and built anywhere; the first call fails with a clear HubError where
 * IndexedDB does not exist (Node) or is blocked (some private-browsing modes).
 */
export class IdbBlobStore implements BlobStore {
  private use: UseStore | null = null;
  constructor(readonly dbName: string = HUB_DB_NAME, readonly storeName: string = HUB_DB_STORE) {}

  private store(): UseStore {
    if (this.use) return this.use;
    if (typeof indexedDB === 'undefined') {
      throw new HubError('storage', 'IndexedDB is not available here, so downloaded model files cannot be cached; use MemoryBlobStore (Node) or a browser with storage enabled');
    }
    this.use = createStore(this.dbName, this.storeName);
    return this.use;
  }

  private async wrap<T>(what: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (e) {
      if (e instanceof HubError) throw e;
      const name = (e as { name?: string })?.name;
      // QuotaExceededError: the origin's storage quota is spent; say how to make room
      const hint = name === 'QuotaExceededError'
        ? 'the browser storage quota is full; purge cached models (Settings → storage) or free disk space'
        : 'browser storage failed (private browsing, or storage disabled for this site?)';
      throw new HubError('storage', `IndexedDB ${what} failed: ${hint} (${(e as Error)?.message ?? e})`, { cause: e });
    }
  }

  get(key: string): Promise<unknown> {
    return this.wrap('read', async () => get(key, this.store()));
  }
  set(key: string, value: unknown): Promise<void> {
    return this.wrap('write', async () => set(key, value, this.store()));
  }
  del(key: string): Promise<void> {
    return this.wrap('delete', async () => del(key, this.store()));
  }
  keys(): Promise<string[]> {
    return this.wrap('listing', async () => (await keys(this.store())).filter((k): k is string => typeof k === 'string'));
  }
}

/** The store to use by default: IndexedDB where it exists, else memory (nothing persists). */
export function defaultBlobStore(): BlobStore {
  return typeof indexedDB !== 'undefined' ? new IdbBlobStore() : new MemoryBlobStore();
}
