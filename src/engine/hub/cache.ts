// Cache of Hub files on a BlobStore (IndexedDB in the browser), so a second visit loads offline and
// a reload resumes an interrupted download.
//
// Layout, schema 1 (HUB_CACHE_SCHEMA):
//   "<repo>@<revision>/<path>"        CacheMeta: size, total, complete, sha256, etag, savedAt, one
//                                     SHA-256 per chunk (and `missing` for a remembered 404)
//   "<repo>@<revision>/<path>\n<i>"   chunk i: bytes [i·chunkSize, (i+1)·chunkSize) of the file
// Bytes live in chunks (default 64 MiB) so no single IndexedDB value is huge, a partial download
// can be saved by appending chunks, and list()/usage() read only the small meta values. Chunks
// are written before their meta, so a crash leaves at worst unreferenced chunks (purge drops them).
// "\n" cannot occur in a repo, revision or file name, so chunk keys never collide with file keys.
//
// Every read verifies each chunk's SHA-256; a mismatch (or a missing chunk, or another schema)
// deletes the entry and reports a miss, so the caller downloads the file again.

import type { BlobStore } from './store.ts';
import type { ResumeState } from './errors.ts';

export const HUB_CACHE_SCHEMA = 1;
export const DEFAULT_CHUNK_BYTES = 64 << 20;

export interface CacheMeta {
  schema: typeof HUB_CACHE_SCHEMA;
  repo: string;
  revision: string;
  path: string;
  /** bytes held (the whole file when complete, else the prefix received) */
  size: number;
  /** full file size when known */
  total: number | null;
  complete: boolean;
  /** the Hub answered 404 for this file (remembered so an offline visit knows it is absent) */
  missing: boolean;
  /** hex SHA-256 of the whole file (complete entries) */
  sha256: string | null;
  etag: string | null;
  chunkSize: number;
  /** hex SHA-256 of each chunk, in order */
  chunks: string[];
  /** Date.now() of the last write */
  savedAt: number;
}

export interface CachedFile {
  meta: CacheMeta;
  /** the file (complete) or its prefix (partial); empty for a missing marker */
  data: Uint8Array;
}

/** One cached file as `list()` shows it: its key and the metadata a user needs to see. */
export interface CacheListing extends Pick<CacheMeta, 'repo' | 'revision' | 'path' | 'size' | 'total' | 'complete' | 'savedAt'> {
  key: string;
}

export const cacheKey = (repo: string, revision: string, path: string): string => `${repo}@${revision}/${path}`;
const chunkKey = (key: string, i: number): string => `${key}\n${i}`;

/** Hex SHA-256 (crypto.subtle: browsers in secure contexts, Node >= 20). */
export async function sha256Hex(data: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>));
  let s = '';
  for (const b of d) s += b.toString(16).padStart(2, '0');
  return s;
}

/** Copies bytes [a, b) out of a list of parts (their concatenation), into a compact new array. */
function sliceParts(parts: Uint8Array[], a: number, b: number): Uint8Array {
  const out = new Uint8Array(b - a);
  let at = 0; // file offset of the current part
  for (const p of parts) {
    const lo = Math.max(a, at), hi = Math.min(b, at + p.byteLength);
    if (hi > lo) out.set(p.subarray(lo - at, hi - at), lo - a);
    at += p.byteLength;
    if (at >= b) break;
  }
  return out;
}

function isMeta(v: unknown): v is CacheMeta {
  const m = v as CacheMeta;
  return typeof m === 'object' && m !== null && m.schema === HUB_CACHE_SCHEMA && typeof m.size === 'number' && Array.isArray(m.chunks) && typeof m.chunkSize === 'number';
}

export class HubCache {
  readonly chunkSize: number;
  constructor(readonly store: BlobStore, opts: { chunkSize?: number } = {}) {
    this.chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_BYTES;
  }

  /** The meta value of `key`, or undefined (absent, or written by another schema). */
  async meta(key: string): Promise<CacheMeta | undefined> {
    const v = await this.store.get(key);
    return isMeta(v) ? v : undefined;
  }

  /**
   * The cached file or prefix, checksum-verified; null on a miss. A corrupt entry (a chunk whose
   * SHA-256 differs, a missing chunk, another schema) is deleted and reported via `onCorrupt`.
   */
  async load(repo: string, revision: string, path: string, onCorrupt?: (why: string) => void): Promise<CachedFile | null> {
    const key = cacheKey(repo, revision, path);
    const raw = await this.store.get(key);
    if (raw === undefined) return null;
    const corrupt = async (why: string) => {
      await this.del(key);
      onCorrupt?.(`${key}: ${why}; the cached copy was deleted`);
      return null;
    };
    if (!isMeta(raw)) return corrupt(`cache entry has an unknown schema (expected ${HUB_CACHE_SCHEMA})`);
    const meta = raw;
    if (meta.missing) return { meta, data: new Uint8Array(0) };
    const data = new Uint8Array(meta.size);
    let at = 0;
    for (let i = 0; i < meta.chunks.length; i++) {
      const c = await this.store.get(chunkKey(key, i));
      if (!(c instanceof Uint8Array)) return corrupt(`chunk ${i} is missing`);
      if ((await sha256Hex(c)) !== meta.chunks[i]) return corrupt(`chunk ${i} fails its SHA-256 check`);
      if (at + c.byteLength > data.byteLength) return corrupt('chunks hold more bytes than recorded');
      data.set(c, at);
      at += c.byteLength;
    }
    if (at !== meta.size) return corrupt(`chunks hold ${at} bytes, ${meta.size} recorded`);
    return { meta, data };
  }

  /**
   * Bytes [a, b) of a complete cached file, reading and verifying only the chunks that hold them
   * (a safetensors header costs one chunk, not the file). null on a miss; corrupt → deleted, null.
   */
  async loadRange(repo: string, revision: string, path: string, a: number, b: number, onCorrupt?: (why: string) => void): Promise<Uint8Array | null> {
    const key = cacheKey(repo, revision, path);
    const meta = await this.meta(key);
    if (!meta || !meta.complete || meta.missing) return null;
    b = Math.min(b, meta.size);
    const out = new Uint8Array(Math.max(0, b - a));
    const C = meta.chunkSize;
    for (let i = Math.floor(a / C); i * C < b; i++) {
      const c = await this.store.get(chunkKey(key, i));
      if (!(c instanceof Uint8Array) || (await sha256Hex(c)) !== meta.chunks[i]) {
        await this.del(key);
        onCorrupt?.(`${key}: chunk ${i} is missing or fails its SHA-256 check; the cached copy was deleted`);
        return null;
      }
      const lo = Math.max(a, i * C), hi = Math.min(b, i * C + c.byteLength);
      if (hi > lo) out.set(c.subarray(lo - i * C, hi - i * C), lo - a);
    }
    return out;
  }

  /** Stores a complete file (replacing any partial). `sha256` of the whole file if already known. */
  async saveComplete(repo: string, revision: string, path: string, data: Uint8Array, etag: string | null, sha256?: string): Promise<CacheMeta> {
    const key = cacheKey(repo, revision, path);
    const old = await this.meta(key);
    const meta = await this.writeChunks(key, { repo, revision, path }, [data], data.byteLength, etag, old, 0);
    meta.complete = true;
    meta.total = data.byteLength;
    meta.sha256 = sha256 ?? (await sha256Hex(data));
    await this.store.set(key, meta);
    return meta;
  }

  /**
   * Stores the prefix of an unfinished download. Full chunks already stored for the same ETag
   * are kept (only new bytes are written), so checkpointing a long download costs O(size).
   */
  async savePartial(repo: string, revision: string, path: string, state: ResumeState): Promise<CacheMeta> {
    const key = cacheKey(repo, revision, path);
    const size = state.bytes.reduce((a, b) => a + b.byteLength, 0);
    const old = await this.meta(key);
    const reuse = old && !old.complete && !old.missing && old.etag === (state.etag ?? null) && old.chunkSize === this.chunkSize && old.size <= size;
    // keep stored chunks that are full (the last one may be short and is rewritten)
    const keep = reuse ? Math.floor(old.size / this.chunkSize) : 0;
    const meta = await this.writeChunks(key, { repo, revision, path }, state.bytes, size, state.etag ?? null, old, keep);
    meta.total = state.total ?? null;
    await this.store.set(key, meta);
    return meta;
  }

  /** Remembers that the file does not exist at this revision. */
  async saveMissing(repo: string, revision: string, path: string): Promise<void> {
    const key = cacheKey(repo, revision, path);
    await this.del(key);
    const meta: CacheMeta = { schema: HUB_CACHE_SCHEMA, repo, revision, path, size: 0, total: 0, complete: true, missing: true, sha256: null, etag: null, chunkSize: this.chunkSize, chunks: [], savedAt: Date.now() };
    await this.store.set(key, meta);
  }

  /** Writes chunks `keep`.. of `parts` (size bytes), drops stale chunks of `old`; returns a fresh meta. */
  private async writeChunks(key: string, ids: { repo: string; revision: string; path: string }, parts: Uint8Array[], size: number, etag: string | null, old: CacheMeta | undefined, keep: number): Promise<CacheMeta> {
    const C = this.chunkSize;
    const n = Math.ceil(size / C);
    const shas = old ? old.chunks.slice(0, keep) : [];
    for (let i = keep; i < n; i++) {
      const bytes = sliceParts(parts, i * C, Math.min(size, (i + 1) * C)); // compact copy: IndexedDB would clone a view's whole buffer
      shas.push(await sha256Hex(bytes));
      await this.store.set(chunkKey(key, i), bytes);
    }
    for (let i = n; old && i < old.chunks.length; i++) await this.store.del(chunkKey(key, i));
    return { schema: HUB_CACHE_SCHEMA, ...ids, size, total: null, complete: false, missing: false, sha256: null, etag, chunkSize: C, chunks: shas, savedAt: Date.now() };
  }

  /** Deletes one file's entry and chunks. */
  async del(key: string): Promise<void> {
    const prefix = `${key}\n`;
    for (const k of await this.store.keys()) if (k.startsWith(prefix)) await this.store.del(k);
    await this.store.del(key);
  }

  /** Deletes every cached file of `repo` (all revisions), or everything; returns files deleted. */
  async purge(repo?: string): Promise<number> {
    const prefix = repo === undefined ? '' : `${repo}@`; // '@' cannot occur in a repo name
    let files = 0;
    for (const k of await this.store.keys()) {
      if (!k.startsWith(prefix)) continue;
      if (!k.includes('\n')) files++;
      await this.store.del(k);
    }
    return files;
  }

  /** Cached files (complete and partial; 404 markers left out), sorted by key. */
  async list(): Promise<CacheListing[]> {
    const out: CacheListing[] = [];
    for (const key of (await this.store.keys()).filter((k) => !k.includes('\n')).sort()) {
      const m = await this.meta(key);
      if (!m || m.missing) continue;
      out.push({ key, repo: m.repo, revision: m.revision, path: m.path, size: m.size, total: m.total, complete: m.complete, savedAt: m.savedAt });
    }
    return out;
  }

  /** Bytes held by this cache, and the browser's estimate for the whole origin where available. */
  async usage(): Promise<{ files: number; partial: number; bytes: number; originUsage: number | null; originQuota: number | null }> {
    const l = await this.list();
    let originUsage: number | null = null, originQuota: number | null = null;
    const storage = (globalThis as { navigator?: { storage?: StorageManager } }).navigator?.storage;
    if (storage?.estimate) {
      try {
        const e = await storage.estimate();
        (originUsage = e.usage ?? null), (originQuota = e.quota ?? null);
      } catch {
        /* not allowed here (opaque origin); leave null */
      }
    }
    return { files: l.length, partial: l.filter((e) => !e.complete).length, bytes: l.reduce((a, e) => a + e.size, 0), originUsage, originQuota };
  }
}
