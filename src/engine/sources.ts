// FileSources for the browser (see FileSource in ./model/checkpoint.ts):
//
//   filesSource(files)   a checkpoint folder the user picked (<input webkitdirectory>) or dropped:
//                        File objects, read lazily with Blob.slice(range).arrayBuffer(), so only the
//                        bytes asked for are read from disk (headers, then one tensor at a time)
//   urlSource(baseUrl)   a folder served over HTTP by the app's own origin (e.g. ./models/<name>/):
//                        size by HEAD, reads with HTTP Range; a 404 means "missing" (size null)
//
// Both work in a Web Worker (Files and Blobs are structured-cloneable) and in Node ≥ 20 (Blob,
// File and fetch are globals there), which is how the engine tests use them.

import type { FileSource } from './model/checkpoint.ts';

/** The path of a picked file inside its folder: webkitRelativePath (browsers), else its name. */
function relativePathOf(f: Blob): string {
  const rel = (f as File & { webkitRelativePath?: string }).webkitRelativePath;
  if (rel) return rel;
  return (f as File).name ?? '';
}

/**
 * Drops the folder the user picked from every path ("llama-gqa/config.json" → "config.json") when
 * all paths share that first segment, repeatedly (a picked "models/" holding only "llama-gqa/"
 * loses both); backslashes (Windows drops) become '/'.
 */
export function stripCommonFolder(paths: string[]): string[] {
  const norm = paths.map((p) => p.replace(/\\/g, '/').replace(/^\/+/, ''));
  if (norm.length === 0 || norm.some((p) => !p.includes('/'))) return norm;
  const top = norm[0].slice(0, norm[0].indexOf('/') + 1);
  return norm.every((p) => p.startsWith(top)) ? stripCommonFolder(norm.map((p) => p.slice(top.length))) : norm;
}

export interface FilesSourceOptions {
  /** the path of each file inside the checkpoint folder (same order as `files`); default from webkitRelativePath / name */
  paths?: string[];
  /** for messages; default the picked folder's name, or "local files" */
  name?: string;
}

/**
 * A FileSource over picked or dropped files. `paths` matters where the File's own path is lost:
 * structured clone keeps a File's name but not webkitRelativePath, and Node clones a File as a
 * plain Blob, so the page computes the paths and sends them beside the files.
 */
export function filesSource(files: Blob[], opts: FilesSourceOptions = {}): FileSource {
  const raw = opts.paths ?? files.map(relativePathOf);
  if (raw.length !== files.length) throw new Error(`filesSource: ${files.length} files but ${raw.length} paths`);
  // a nested pick keeps its sub-folders; only the one folder that was picked is dropped
  const folder = raw[0]?.includes('/') ? raw[0].replace(/\\/g, '/').split('/')[0] : '';
  const byPath = new Map<string, Blob>();
  stripCommonFolder(raw).forEach((p, i) => byPath.set(p, files[i]));
  return {
    name: opts.name ?? (folder || 'local files'),
    async list() {
      return [...byPath.keys()].sort();
    },
    async size(path) {
      return byPath.get(path)?.size ?? null;
    },
    async read(path, range) {
      const f = byPath.get(path);
      if (!f) throw new Error(`${path} is not among the chosen files`);
      const part = range ? f.slice(range[0], Math.min(range[1], f.size)) : f;
      return new Uint8Array(await part.arrayBuffer());
    },
  };
}

/** `fetch` as the URL source uses it (tests may pass their own). */
type Fetch = typeof fetch;

/**
 * A FileSource over `${baseUrl}${path}`. Relative base URLs resolve against the page (or the
 * worker's) location. Ranged reads send `Range: bytes=a-(b-1)`; a server that ignores Range (200)
 * is answered from the whole file, which is then held for the following slices.
 */
export function urlSource(baseUrl: string, opts: { fetchImpl?: Fetch; signal?: AbortSignal } = {}): FileSource & { release(): void } {
  const here = (globalThis as { location?: { href: string } }).location?.href;
  const base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`, here).href;
  const fetchImpl: Fetch = opts.fetchImpl ?? ((...a) => globalThis.fetch(...a));
  const held = new Map<string, Uint8Array>();
  const url = (path: string) => {
    if (!path || path.startsWith('/') || path.split('/').some((p) => p === '..' || p === '.' || p === '')) throw new Error(`bad path ${JSON.stringify(path)}`);
    return new URL(path.split('/').map(encodeURIComponent).join('/'), base).href;
  };
  const fail = (path: string, res: Response) => new Error(`${base}${path}: HTTP ${res.status} ${res.statusText}`.trim());

  return {
    name: base,
    release() {
      held.clear();
    },
    async size(path) {
      const h = held.get(path);
      if (h) return h.byteLength;
      const res = await fetchImpl(url(path), { method: 'HEAD', signal: opts.signal });
      if (res.status === 404) return null;
      if (!res.ok) throw fail(path, res);
      const len = res.headers.get('content-length');
      if (len !== null && !res.headers.get('content-encoding')) return Number(len);
      // no length (chunked or compressed): ask for one byte, the Content-Range says the total
      const probe = await fetchImpl(url(path), { headers: { Range: 'bytes=0-0' }, signal: opts.signal });
      if (probe.status === 404) return null;
      const cr = /\/(\d+)\s*$/.exec(probe.headers.get('content-range') ?? '');
      if (probe.status === 206 && cr) {
        await probe.body?.cancel();
        return Number(cr[1]);
      }
      if (!probe.ok) throw fail(path, probe);
      const whole = new Uint8Array(await probe.arrayBuffer());
      held.set(path, whole);
      return whole.byteLength;
    },
    async read(path, range) {
      const h = held.get(path);
      if (h) return range ? h.slice(range[0], Math.min(range[1], h.byteLength)) : h;
      if (range && range[1] <= range[0]) return new Uint8Array(0);
      const headers: Record<string, string> = range ? { Range: `bytes=${range[0]}-${range[1] - 1}` } : {};
      const res = await fetchImpl(url(path), { headers, signal: opts.signal });
      if (res.status === 404) throw new Error(`${base}${path}: not found (HTTP 404)`);
      if (!res.ok) throw fail(path, res);
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (!range || res.status === 206) return bytes;
      // 200 to a ranged request: the server sent the whole file; keep it for the next slices
      held.set(path, bytes);
      return bytes.slice(range[0], Math.min(range[1], bytes.byteLength));
    },
  };
}
