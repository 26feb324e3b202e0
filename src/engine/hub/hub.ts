// A FileSource over a Hugging Face Hub repo at one revision, backed by the HubCache.
//
//   size(path)          cache meta (offline) → else HEAD (X-Linked-Size, else Content-Length after
//                       redirects); a 404 is remembered in the cache so an offline visit knows it
//   read(path)          whole file: cache (checksum-verified) → else download (resuming a cached
//                       partial), verify against the Hub's SHA-256 ETag when it is one, store
//   read(path, [0, n))  a prefix (safetensors header) of a file not fully cached: one HTTP Range
//                       request (never the whole file), or the cache's first chunk(s) when cached
//   read(path, [a, b))  any other range (a tensor): the whole file is fetched once as above and
//                       held in memory for the following slices; release() drops it
//
// Revisions: files are cached per `repo@revision`. A branch name ('main') is cached as it was at
// download time; pin a commit SHA for reproducible runs, or purge() to pick up a new version.
// The token is kept in this closure only (never stored) and sent only to the Hub endpoint.

import type { FileSource } from '../model/checkpoint.ts';
import { HubError, describeHubUrl } from './errors.ts';
import { HF_ENDPOINT, downloadFile, fetchRange, headFile, type DownloadProgress, type FetchOptions } from './download.ts';
import { HubCache, cacheKey, sha256Hex } from './cache.ts';
import type { BlobStore } from './store.ts';

/** Model repos live at the endpoint's root, dataset repos under /datasets/ (their URLs and cache keys). */
export type RepoType = 'model' | 'dataset';
const repoPrefix = (t: RepoType) => (t === 'dataset' ? 'datasets/' : '');

/** `${endpoint}/[datasets/]${repo}/resolve/${revision}/${file}`, each part percent-encoded. */
export function hubFileUrl(repo: string, revision: string, file: string, endpoint: string = HF_ENDPOINT, repoType: RepoType = 'model'): string {
  checkRepo(repo);
  if (!revision || /[\n\0]/.test(revision)) throw new HubError('invalid', `bad revision ${JSON.stringify(revision)}`);
  checkPath(file);
  const enc = (p: string) => p.split('/').map(encodeURIComponent).join('/');
  // the revision is one path segment: a '/' in it (refs/pr/1) is encoded as %2F, as the Hub expects
  return `${endpoint.replace(/\/+$/, '')}/${repoPrefix(repoType)}${enc(repo)}/resolve/${encodeURIComponent(revision)}/${enc(file)}`;
}

/** Repo ids: "name" or "owner/name", letters, digits, '-', '_', '.'. */
function checkRepo(repo: string): void {
  if (!/^[\w.-]+(\/[\w.-]+)?$/.test(repo) || repo.split('/').some((p) => p === '.' || p === '..')) {
    throw new HubError('invalid', `bad repo id ${JSON.stringify(repo)}; expected "owner/name", e.g. "HuggingFaceTB/SmolLM2-135M"`);
  }
}

/** File paths inside a repo: relative, no '..', no empty segments. */
function checkPath(path: string): void {
  if (!path || path.startsWith('/') || /[\n\0\\]/.test(path) || path.split('/').some((p) => p === '' || p === '.' || p === '..')) {
    throw new HubError('invalid', `bad file path ${JSON.stringify(path)}; expected a relative path inside the repo`);
  }
}

/** Prefix reads up to this size (8-byte length + the largest safetensors header) use HTTP Range. */
const PREFIX_LIMIT = 8 + 100_000_000;

export interface HubSourceOptions {
  /** where files are cached: IdbBlobStore in the browser, MemoryBlobStore in tests */
  store: BlobStore;
  /** access token for gated/private repos; kept in memory only, sent only to `endpoint` */
  token?: string;
  onProgress?: (p: DownloadProgress) => void;
  /** cancels the current downloads; what was received is cached, the next read resumes */
  signal?: AbortSignal;
  fetchImpl?: typeof fetch;
  /** default https://huggingface.co */
  endpoint?: string;
  /** cache chunk size (default 64 MiB); partial downloads are checkpointed every chunk */
  chunkSize?: number;
  /** things worth telling the user that do not stop the load (corrupt cache entry, cache full) */
  onWarning?: (message: string) => void;
  /** retry tuning (tests) */
  retries?: number;
  retryDelayMs?: number;
  progressIntervalMs?: number;
  /** 'dataset': the repo is a dataset (URLs under /datasets/, cached apart from a model of the same name) */
  repoType?: RepoType;
  /** where a path is fetched from, when it is not a resolve URL (the parquet listing API: hub-dataset.ts) */
  urlFor?: (path: string) => string;
}

export interface HubSource extends FileSource {
  repo: string;
  revision: string;
  cache: HubCache;
  /** Drops files held in memory for ranged reads (call after loadCheckpoint). */
  release(path?: string): void;
}

export function hubSource(name: string, revision: string, opts: HubSourceOptions): HubSource {
  checkRepo(name);
  const repoType = opts.repoType ?? 'model';
  const repo = `${repoPrefix(repoType)}${name}`; // the cache's key and the name in messages
  const endpoint = opts.endpoint ?? HF_ENDPOINT;
  const cache = new HubCache(opts.store, { chunkSize: opts.chunkSize });
  const net: FetchOptions = { token: opts.token, endpoint, signal: opts.signal, fetchImpl: opts.fetchImpl, retries: opts.retries, retryDelayMs: opts.retryDelayMs };
  const url = (path: string) => opts.urlFor?.(path) ?? hubFileUrl(name, revision, path, endpoint, repoType);
  const warn = (m: string) => opts.onWarning?.(m);
  const held = new Map<string, Uint8Array>(); // whole files kept for ranged reads
  const sizes = new Map<string, number | null>(); // HEAD answers of this session
  const inflight = new Map<string, Promise<Uint8Array>>();

  /** The whole file: verified cache hit, or a (resumed) download that is then cached. */
  async function whole(path: string): Promise<Uint8Array> {
    const hit = await cache.load(repo, revision, path, warn);
    if (hit?.meta.missing) throw new HubError('not-found', `file not found in ${repo}@${revision}: ${path} (remembered from an earlier visit; purge the cache to check again)`, { status: 404 });
    if (hit?.meta.complete) return hit.data;
    const resumeFrom = hit && hit.data.byteLength > 0 ? { bytes: [hit.data], etag: hit.meta.etag, total: hit.meta.total } : undefined;
    let res;
    try {
      res = await downloadFile(url(path), {
        ...net,
        file: path,
        resumeFrom,
        onProgress: opts.onProgress,
        progressIntervalMs: opts.progressIntervalMs,
        checkpointBytes: cache.chunkSize,
        onCheckpoint: (s) => cache.savePartial(repo, revision, path, s).then(() => {}),
      });
    } catch (e) {
      const partial = (e as HubError).partial;
      if (partial && partial.bytes.length) await cache.savePartial(repo, revision, path, partial).catch(() => {});
      if ((e as HubError).code === 'not-found') await cache.saveMissing(repo, revision, path).catch(() => {});
      throw e;
    }
    const sha = await sha256Hex(res.data);
    // LFS files: the Hub's (and its CDN's) ETag is the file's SHA-256; check the bytes against it
    const tag = res.etag?.replace(/^W\//, '').replace(/"/g, '').toLowerCase() ?? '';
    if (/^[0-9a-f]{64}$/.test(tag) && tag !== sha) {
      await cache.del(cacheKey(repo, revision, path));
      throw new HubError('checksum', `${repo}@${revision}/${path}: downloaded bytes do not match the Hub's SHA-256 (${tag.slice(0, 12)}…); they were discarded, try again`);
    }
    try {
      await cache.saveComplete(repo, revision, path, res.data, res.etag, sha);
    } catch (e) {
      warn(`${repo}@${revision}/${path} was loaded but not cached (${(e as Error).message}); the next visit downloads it again`);
    }
    return res.data;
  }

  const wholeOnce = (path: string): Promise<Uint8Array> => {
    let p = inflight.get(path);
    if (!p) {
      p = whole(path).finally(() => inflight.delete(path));
      inflight.set(path, p);
    }
    return p;
  };

  return {
    name: `${repo}@${revision}`,
    repo,
    revision,
    cache,
    release(path?: string) {
      if (path === undefined) held.clear();
      else held.delete(path);
    },

    async size(path: string): Promise<number | null> {
      checkPath(path);
      const h = held.get(path);
      if (h) return h.byteLength;
      if (sizes.has(path)) return sizes.get(path)!;
      const m = await cache.meta(cacheKey(repo, revision, path));
      if (m?.missing) return null;
      if (m?.complete) return m.size;
      const { exists, size } = await headFile(url(path), net);
      if (!exists) await cache.saveMissing(repo, revision, path).catch(() => {});
      else if (size === null) throw new HubError('http', `${repo}@${revision}/${path}: the server did not say how big the file is (no Content-Length)`);
      sizes.set(path, size);
      return size;
    },

    async read(path: string, range?: [number, number]): Promise<Uint8Array> {
      checkPath(path);
      const h = held.get(path);
      if (!range) return h ?? (await wholeOnce(path));
      const [a, b] = range;
      if (h) return h.slice(a, Math.min(b, h.byteLength));
      const m = await cache.meta(cacheKey(repo, revision, path));
      if (a === 0 && b <= PREFIX_LIMIT) {
        // a header: from the cache's first chunks when the file is cached, else one Range request
        if (m?.complete && !m.missing) {
          const r = await cache.loadRange(repo, revision, path, a, b, warn);
          if (r) return r;
        }
        return fetchRange(url(path), range, net);
      }
      const data = await wholeOnce(path);
      held.set(path, data);
      return data.slice(a, Math.min(b, data.byteLength)); // an owned copy: the loader may view it as f32/u16
    },
  };
}

export { describeHubUrl };
