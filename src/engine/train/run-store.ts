// Where training runs keep what must survive a reload or a crash: the run record, its metrics
// lines, its checkpoints (each written whole or not at all) and its result. One interface, three
// homes: IndexedDB in the browser, a folder per run for the CLI
// (src/cli/dir-run-store.ts: the --out layout of `lab sft`), and memory (tests, Node by default);
// the first and the last are one implementation (KvRunStore) over the Hub cache's BlobStore.
// The training loop (./run.ts) only talks to this interface, so the page and the CLI train alike.
import type { RunRecord, StepLine } from '../api.ts';
import { IdbBlobStore, MemoryBlobStore, type BlobStore } from '../hub/store.ts';

export type Files = Map<string, Uint8Array>;

export interface RunStore {
  /** For messages: where run `id` (or its checkpoint at `step`) is kept, e.g. a folder path. */
  where(id: string, step?: number): string;
  get(id: string): Promise<RunRecord | null>;
  put(rec: RunRecord): Promise<void>;
  list(): Promise<RunRecord[]>;
  /** What already holds run `id`'s place (files or records), for the refusal of a new run there; [] when free. */
  occupied(id: string): Promise<string[]>;
  metrics(id: string): Promise<StepLine[]>;
  /** Replaces the metrics (a resume from an older checkpoint drops the steps trained again). */
  setMetrics(id: string, lines: StepLine[]): Promise<void>;
  appendMetrics(id: string, line: StepLine): Promise<void>;
  /** Stores a checkpoint atomically (all files or none); returns where() it went. */
  saveCheckpoint(id: string, step: number, files: Files): Promise<string>;
  readCheckpoint(id: string, step: number): Promise<Files>;
  /** Steps with a stored checkpoint, ascending (from what is stored, not from the record). */
  checkpoints(id: string): Promise<number[]>;
  saveResult(id: string, files: Files): Promise<string>;
  readResult(id: string): Promise<Files | null>;
  /** Extra files kept beside the run (governance.json, data.jsonl); overwritten. */
  saveFile(id: string, name: string, bytes: Uint8Array): Promise<void>;
  readFile(id: string, name: string): Promise<Uint8Array | null>;
  /** Appends a line to an extra file (GRPO's samples.jsonl). */
  appendLine(id: string, name: string, line: string): Promise<void>;
  /** Replaces an appended file's lines (a resume from an older checkpoint drops the steps trained again). */
  setLines(id: string, name: string, lines: string[]): Promise<void>;
  /** Keep a copy of the run's data (data.jsonl), so a resume needs only the run (the browser); the CLI reads its --data again. */
  keepsData?: boolean;
  delete(id: string): Promise<void>;
  /** Tokenized rows of a data file (row-cache.ts), so a resumed run skips the tokenizer; optional. */
  readRowCache?(id: string, key: string): Promise<Uint8Array | null>;
  writeRowCache?(id: string, key: string, bytes: Uint8Array): Promise<void>;
  /** Cache only data of at least this many rows (small files tokenize in seconds). */
  rowCacheMinRows?: number;
  /** Bytes stored per run, by kind (the storage view); optional. */
  usage?(): Promise<Map<string, { checkpoints: number; result: number; other: number }>>;
}

/** Key-value layout of a run store (schema lab-runs-v1; the IndexedDB database name carries the version):
 *   run/<id>                 RunRecord
 *   metrics/<id>/<chunk>     StepLine[] of steps chunk·256+1 .. (chunk+1)·256
 *   ckpt/<id>/<step>         { files: Map<name, bytes> }: one value, so one IndexedDB write: whole or nothing
 *   result/<id>              Map<name, bytes>
 *   file/<id>/<name>         bytes (governance.json)
 *   lines/<id>/<name>/<k>    string[]: lines 64·k+1 .. of an appended file (samples.jsonl)
 *   rows/<id>                { key, bytes }: the tokenized-rows cache of the run's data
 */
export const RUNS_DB_NAME = 'stoney-runs-v1';
const CHUNK = 256;
const LINE_CHUNK = 64;

/** A run store over any BlobStore: IndexedDB in the browser (runs survive reloads), memory in Node and tests. */
export class KvRunStore implements RunStore {
  rowCacheMinRows = 10_000;
  keepsData = true;
  constructor(private readonly kv: BlobStore) {}

  where(id: string, step?: number): string {
    return step === undefined ? `run ${id}` : `run ${id}, checkpoint ${step}`;
  }
  async get(id: string) {
    return ((await this.kv.get(`run/${id}`)) as RunRecord | undefined) ?? null;
  }
  async put(rec: RunRecord) {
    await this.kv.set(`run/${rec.id}`, rec);
  }
  async list() {
    const out: RunRecord[] = [];
    for (const k of await this.kv.keys()) if (k.startsWith('run/')) out.push((await this.kv.get(k)) as RunRecord);
    return out.sort((a, b) => b.createdAt - a.createdAt);
  }
  private async keysOf(prefix: string): Promise<string[]> {
    return (await this.kv.keys()).filter((k) => k.startsWith(prefix));
  }
  async occupied(id: string) {
    return (await this.kv.keys()).filter((k) => k === `run/${id}` || k === `result/${id}` || k.startsWith(`ckpt/${id}/`));
  }
  async metrics(id: string) {
    const chunks = (await this.keysOf(`metrics/${id}/`)).map((k) => Number(k.slice(k.lastIndexOf('/') + 1))).sort((a, b) => a - b);
    const out: StepLine[] = [];
    for (const c of chunks) out.push(...((await this.kv.get(`metrics/${id}/${c}`)) as StepLine[]));
    return out.sort((a, b) => a.step - b.step);
  }
  async setMetrics(id: string, lines: StepLine[]) {
    for (const k of await this.keysOf(`metrics/${id}/`)) await this.kv.del(k);
    const by = new Map<number, StepLine[]>();
    for (const l of lines) {
      const c = Math.floor((l.step - 1) / CHUNK);
      by.set(c, [...(by.get(c) ?? []), l]);
    }
    for (const [c, ls] of by) await this.kv.set(`metrics/${id}/${c}`, ls);
  }
  async appendMetrics(id: string, line: StepLine) {
    const key = `metrics/${id}/${Math.floor((line.step - 1) / CHUNK)}`;
    const have = ((await this.kv.get(key)) as StepLine[] | undefined) ?? [];
    await this.kv.set(key, [...have.filter((l) => l.step !== line.step), line]);
  }
  async saveCheckpoint(id: string, step: number, files: Files) {
    await this.kv.set(`ckpt/${id}/${step}`, { files });
    return this.where(id, step);
  }
  async readCheckpoint(id: string, step: number) {
    const v = (await this.kv.get(`ckpt/${id}/${step}`)) as { files: Files } | undefined;
    if (!v) throw new Error(`${this.where(id, step)}: no such checkpoint`);
    return v.files;
  }
  async checkpoints(id: string) {
    return (await this.keysOf(`ckpt/${id}/`)).map((k) => Number(k.slice(k.lastIndexOf('/') + 1))).sort((a, b) => a - b);
  }
  async saveResult(id: string, files: Files) {
    await this.kv.set(`result/${id}`, files);
    return this.where(id);
  }
  async readResult(id: string) {
    return ((await this.kv.get(`result/${id}`)) as Files | undefined) ?? null;
  }
  async saveFile(id: string, name: string, bytes: Uint8Array) {
    await this.kv.set(`file/${id}/${name}`, bytes);
  }
  async readFile(id: string, name: string) {
    const whole = (await this.kv.get(`file/${id}/${name}`)) as Uint8Array | undefined;
    if (whole) return whole;
    // lines appended by appendLine: LINE_CHUNK lines per value, so an append rewrites one small value
    const prefix = `lines/${id}/${name}/`;
    const chunks = (await this.keysOf(prefix)).map((k) => Number(k.slice(prefix.length))).sort((a, b) => a - b);
    if (chunks.length === 0) return null;
    let text = '';
    for (const c of chunks) text += ((await this.kv.get(`${prefix}${c}`)) as string[]).map((l) => `${l}\n`).join('');
    return new TextEncoder().encode(text);
  }
  async setLines(id: string, name: string, lines: string[]) {
    for (const k of await this.keysOf(`lines/${id}/${name}/`)) await this.kv.del(k);
    await this.kv.del(`file/${id}/${name}`);
    for (let c = 0; c * LINE_CHUNK < lines.length; c++) await this.kv.set(`lines/${id}/${name}/${c}`, lines.slice(c * LINE_CHUNK, (c + 1) * LINE_CHUNK));
  }
  async appendLine(id: string, name: string, line: string) {
    const prefix = `lines/${id}/${name}/`;
    const chunks = (await this.keysOf(prefix)).map((k) => Number(k.slice(prefix.length)));
    const last = chunks.length ? Math.max(...chunks) : 0;
    const cur = ((await this.kv.get(`${prefix}${last}`)) as string[] | undefined) ?? [];
    if (cur.length >= LINE_CHUNK) await this.kv.set(`${prefix}${last + 1}`, [line]);
    else await this.kv.set(`${prefix}${last}`, [...cur, line]);
  }
  async delete(id: string) {
    const mine = (k: string) => k === `run/${id}` || k === `result/${id}` || k === `rows/${id}` || [`metrics/${id}/`, `ckpt/${id}/`, `file/${id}/`, `lines/${id}/`].some((p) => k.startsWith(p));
    for (const k of (await this.kv.keys()).filter(mine)) await this.kv.del(k);
  }
  async readRowCache(id: string, key: string) {
    const c = (await this.kv.get(`rows/${id}`)) as { key: string; bytes: Uint8Array } | undefined;
    return c && c.key === key ? c.bytes : null;
  }
  async writeRowCache(id: string, key: string, bytes: Uint8Array) {
    await this.kv.set(`rows/${id}`, { key, bytes });
  }
  /** Bytes stored per run (the storage view), by kind. */
  async usage(): Promise<Map<string, { checkpoints: number; result: number; other: number }>> {
    const out = new Map<string, { checkpoints: number; result: number; other: number }>();
    for (const k of await this.kv.keys()) {
      const [kind, id] = k.split('/');
      const u = out.get(id) ?? { checkpoints: 0, result: 0, other: 0 };
      const n = sizeOf(await this.kv.get(k));
      if (kind === 'ckpt') u.checkpoints += n;
      else if (kind === 'result') u.result += n;
      else u.other += n;
      out.set(id, u);
    }
    return out;
  }
}

/** Bytes of the byte arrays inside a stored value (records and metrics count as small). */
function sizeOf(v: unknown): number {
  if (v instanceof Uint8Array) return v.byteLength;
  if (typeof v === 'string') return v.length;
  if (v instanceof Map) return [...v.values()].reduce((a: number, x) => a + sizeOf(x), 0);
  if (v && typeof v === 'object') return Object.values(v).reduce((a: number, x) => a + sizeOf(x), 0);
  return 0;
}

/** The default run store: IndexedDB where it exists (the browser), else memory (nothing persists). */
export function defaultRunStore(): KvRunStore {
  return new KvRunStore(typeof indexedDB !== 'undefined' ? new IdbBlobStore(RUNS_DB_NAME, 'runs') : new MemoryBlobStore());
}
