// FileSources for the browser (see FileSource in ./model/checkpoint.ts):
//
//   filesSource(files)   a checkpoint folder the user picked (<input webkitdirectory>) or dropped:
//                        File objects, read lazily with Blob.slice(range).arrayBuffer(), so only the
//                        bytes asked for are read from disk (headers, then one tensor at a time)
//   urlSource(baseUrl)   a folder served over HTTP by the app's own origin (e.g. ./models/<name>/):
//                        size by HEAD (small .json/.jinja files by one GET, kept for the read),
//                        reads with HTTP Range; a 404 means "missing" (size null), and so does an
//                        HTML page sent for a file that is not one: a single-page-app fallback (vite
//                        dev and preview, most static hosts set up for SPAs) answers every unknown
//                        path with index.html, 200 text/html, which must not become a chat template
//
// Both work in a Web Worker (Files and Blobs are structured-cloneable) and in Node ≥ 20 (Blob,
// File and fetch are globals there), which is how the engine tests use them.

import type { FileSource } from './model/checkpoint.ts';
import { CheckpointError } from './model/safetensors.ts';

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
 * Files a checkpoint folder cannot do without, as far as the URL source can tell from the name:
 * config.json, tokenizer.json and the shards a safetensors index lists. An HTML answer to one of
 * these is an error that names the file and the likely cause; an HTML answer to any other file
 * (chat_template.jinja, generation_config.json, tokenizer_config.json, model.safetensors of a
 * sharded checkpoint, model.safetensors.index.json of a single-file one, model.onnx, ...) means
 * "missing", as a 404 does, since the loader only probes for those.
 */
export const requiredUrlFile = (path: string): boolean =>
  path === 'config.json' || path === 'tokenizer.json' || (path.endsWith('.safetensors') && path !== 'model.safetensors');

/** Small text files whose size is found by reading them (one GET instead of HEAD then GET), so their body can be checked too. */
const SNIFFED = /\.(json|jinja)$/i;

/** An HTML page sent for `path`, which is not an .html file: by Content-Type. */
function htmlAnswer(path: string, res: Response): boolean {
  return !/\.html?$/i.test(path) && /^\s*text\/html\b/i.test(res.headers.get('content-type') ?? '');
}

/** Bytes that start like an HTML page (after a BOM and blanks): `<!doctype html` or `<html`. */
export function looksLikeHtml(bytes: Uint8Array): boolean {
  const head = new TextDecoder().decode(bytes.subarray(0, 64)).replace(/^\uFEFF/, '').trimStart();
  return /^<(!doctype\s+html|html)[\s>]/i.test(head);
}

/**
 * A FileSource over `${baseUrl}${path}`. Relative base URLs resolve against the page (or the
 * worker's) location. Ranged reads send `Range: bytes=a-(b-1)`; a server that ignores Range (200)
 * is answered from the whole file, which is then held for the following slices.
 *
 * A 404 is a missing file (size null). So is an HTML page sent for a file that is not .html
 * (Content-Type text/html, or a .json/.jinja body that starts `<!doctype html` / `<html`): the
 * single-page-app fallback of the server, not the file. For the files `required` names (default
 * requiredUrlFile) that answer is an error saying so; reading such a file is always that error.
 */
export function urlSource(
  baseUrl: string,
  opts: { fetchImpl?: Fetch; signal?: AbortSignal; required?: (path: string) => boolean } = {},
): FileSource & { release(): void } {
  const here = (globalThis as { location?: { href: string } }).location?.href;
  const base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`, here).href;
  const fetchImpl: Fetch = opts.fetchImpl ?? ((...a) => globalThis.fetch(...a));
  const required = opts.required ?? requiredUrlFile;
  const held = new Map<string, Uint8Array>();
  const url = (path: string) => {
    if (!path || path.startsWith('/') || path.split('/').some((p) => p === '..' || p === '.' || p === '')) throw new Error(`bad path ${JSON.stringify(path)}`);
    return new URL(path.split('/').map(encodeURIComponent).join('/'), base).href;
  };
  const fail = (path: string, res: Response) => new Error(`${base}${path}: HTTP ${res.status} ${res.statusText}`.trim());
  const htmlPage = (path: string) =>
    new CheckpointError(url(path), 'the server answered this file with an HTML page: the file is missing (a single-page-app fallback?)');
  /** An HTML answer to `path`: null (missing), or the error for a required file. */
  const missing = async (path: string, res: Response): Promise<null> => {
    await res.body?.cancel().catch(() => undefined);
    if (required(path)) throw htmlPage(path);
    return null;
  };

  return {
    name: base,
    release() {
      held.clear();
    },
    async size(path) {
      const h = held.get(path);
      if (h) return h.byteLength;
      if (SNIFFED.test(path)) {
        // a small text file: read it now (the loader reads it next anyway), and look at the body too
        const res = await fetchImpl(url(path), { signal: opts.signal });
        if (res.status === 404) return null;
        if (!res.ok) throw fail(path, res);
        if (htmlAnswer(path, res)) return missing(path, res);
        const whole = new Uint8Array(await res.arrayBuffer());
        if (looksLikeHtml(whole)) {
          if (required(path)) throw htmlPage(path);
          return null;
        }
        held.set(path, whole);
        return whole.byteLength;
      }
      const res = await fetchImpl(url(path), { method: 'HEAD', signal: opts.signal });
      if (res.status === 404) return null;
      if (!res.ok) throw fail(path, res);
      if (htmlAnswer(path, res)) return missing(path, res);
      const len = res.headers.get('content-length');
      if (len !== null && !res.headers.get('content-encoding')) return Number(len);
      // no length (chunked or compressed): ask for one byte, the Content-Range says the total
      const probe = await fetchImpl(url(path), { headers: { Range: 'bytes=0-0' }, signal: opts.signal });
      if (probe.status === 404) return null;
      if (probe.ok && htmlAnswer(path, probe)) return missing(path, probe);
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
      if (htmlAnswer(path, res)) {
        await res.body?.cancel().catch(() => undefined);
        throw htmlPage(path);
      }
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (SNIFFED.test(path) && (!range || range[0] === 0) && looksLikeHtml(bytes)) throw htmlPage(path);
      if (!range || res.status === 206) return bytes;
      // 200 to a ranged request: the server sent the whole file; keep it for the next slices
      held.set(path, bytes);
      return bytes.slice(range[0], Math.min(range[1], bytes.byteLength));
    },
  };
}
