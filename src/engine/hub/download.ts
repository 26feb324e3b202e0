// Streaming HTTP downloads for Hub files: progress (smoothed speed + ETA), resume with Range /
// If-Range, retries with backoff, cancellation with AbortSignal, and errors that say what to do.
//
// Resume protocol (RFC 9110 §14):
//   request   Range: bytes=N-            (N = bytes already held)
//             If-Range: "<etag>"         (strong ETags only: "send the rest only if unchanged")
//   answers   206 + Content-Range: bytes N-(M-1)/M, same ETag  → append
//             200                                              → the server ignored the range or the
//                                                                file changed: drop the prefix, restart
//             416 + Content-Range: bytes */M                   → M == N: the prefix is the whole file
// The access token goes out as `Authorization: Bearer` only when the URL's origin is the Hub
// endpoint's origin (fetch itself drops it on a cross-origin redirect to the CDN).

import { HubError, cancelledError, networkError, statusError, describeHubUrl, type ResumeState } from './errors.ts';

export const HF_ENDPOINT = 'https://huggingface.co';

export interface DownloadProgress {
  file: string;
  /** bytes held so far (including resumed ones); never decreases except on a clean restart from 0 */
  bytes: number;
  /** the file size, or null while unknown (no Content-Length, or a compressed body) */
  total: number | null;
  /** smoothed speed (exponential moving average, time constant ~2 s) */
  bytesPerSec: number;
  /** seconds left at the smoothed speed; null while unknown; 0 when done */
  etaSec: number | null;
}

export interface FetchOptions {
  token?: string;
  /** origin that may see the token; default https://huggingface.co */
  endpoint?: string;
  signal?: AbortSignal;
  fetchImpl?: typeof fetch;
  /** retries for dropped connections and 408/429/5xx answers; default 4 */
  retries?: number;
  /** first backoff delay, doubled each retry; default 500 ms */
  retryDelayMs?: number;
}

export interface DownloadOptions extends FetchOptions {
  onProgress?: (p: DownloadProgress) => void;
  resumeFrom?: ResumeState;
  /** name shown in progress; default the file part of the URL */
  file?: string;
  /** minimum time between progress calls; default 100 ms (the last call is always made) */
  progressIntervalMs?: number;
  /** called (and awaited) with the bytes so far each time another `checkpointBytes` (default 64 MiB) arrived */
  onCheckpoint?: (state: ResumeState) => void | Promise<void>;
  checkpointBytes?: number;
  /** send If-Range on resume (default true); the 206's ETag is compared either way */
  ifRange?: boolean;
}

export interface DownloadResult {
  data: Uint8Array;
  etag: string | null;
  /** true when bytes from `resumeFrom` or a 206 answer were kept */
  resumed: boolean;
  /** HTTP requests made */
  requests: number;
}

const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/** Headers for a request to `url`: the token only for the Hub endpoint's origin. */
export function authHeaders(url: string, opts: FetchOptions): Record<string, string> {
  if (!opts.token) return {};
  const same = new URL(url).origin === new URL(opts.endpoint ?? HF_ENDPOINT).origin;
  return same ? { Authorization: `Bearer ${opts.token}` } : {};
}

/** Waits `ms`, rejecting early with the signal's abort. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => (signal?.removeEventListener('abort', onAbort), resolve()), ms);
    const onAbort = () => (clearTimeout(t), reject(signal!.reason));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** "bytes a-b/M" → {start, end (inclusive), total (null for *)}; "bytes * /M" → start -1. */
export function parseContentRange(v: string | null): { start: number; end: number; total: number | null } | null {
  if (!v) return null;
  const m = /^bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)$/i.exec(v.trim());
  if (!m) return null;
  const total = m[3] === '*' ? null : Number(m[3]);
  return m[1] === undefined ? { start: -1, end: -1, total } : { start: Number(m[1]), end: Number(m[2]), total };
}

/** Content-Length when it is the size of the decoded body (not for gzip/br answers). */
function bodyLength(res: Response): number | null {
  const enc = res.headers.get('content-encoding');
  if (enc && enc !== 'identity') return null;
  const n = Number(res.headers.get('content-length') ?? NaN);
  return Number.isSafeInteger(n) && n >= 0 ? n : null;
}

/**
 * Received bytes: one preallocated buffer when the size is known (no copy at the end), else a
 * list of chunks concatenated once. parts() gives views for a ResumeState.
 */
class ByteSink {
  private buf: Uint8Array | null = null;
  private chunks: Uint8Array[] = [];
  bytes = 0;
  constructor(initial: Uint8Array[] = []) {
    for (const c of initial) this.push(c);
  }
  reset(): void {
    this.buf = null;
    this.chunks = [];
    this.bytes = 0;
  }
  /** Switch to one buffer of `total` bytes, copying what is held. */
  reserve(total: number): void {
    if (this.buf || total < this.bytes) return;
    const buf = new Uint8Array(total);
    let at = 0;
    for (const c of this.chunks) (buf.set(c, at), (at += c.byteLength));
    this.buf = buf;
    this.chunks = [];
  }
  push(c: Uint8Array): void {
    if (this.buf && this.bytes + c.byteLength > this.buf.byteLength) {
      this.chunks = [this.buf.subarray(0, this.bytes)]; // more than announced: fall back to a list
      this.buf = null;
    }
    if (this.buf) this.buf.set(c, this.bytes);
    else this.chunks.push(c);
    this.bytes += c.byteLength;
  }
  parts(): Uint8Array[] {
    return this.buf ? (this.bytes ? [this.buf.subarray(0, this.bytes)] : []) : [...this.chunks];
  }
  finish(): Uint8Array {
    if (this.buf && this.bytes === this.buf.byteLength) return this.buf;
    const parts = this.parts();
    if (parts.length === 1 && parts[0].byteLength === parts[0].buffer.byteLength) return parts[0];
    const out = new Uint8Array(this.bytes);
    let at = 0;
    for (const c of parts) (out.set(c, at), (at += c.byteLength));
    return out;
  }
}

/** Smoothed transfer rate: EMA of bytes/s with weight 1 - exp(-dt/tau) per sample. */
export class RateMeter {
  private t: number | null = null;
  private b = 0;
  rate = 0;
  constructor(private tauSec = 2) {}
  /** `bytes` = bytes received in this session so far; `now` in ms. */
  update(bytes: number, now: number): number {
    if (this.t === null) return ((this.t = now), (this.b = bytes), this.rate);
    const dt = (now - this.t) / 1000;
    if (dt <= 0.02) return this.rate; // too short an interval to measure; keep accumulating
    const inst = (bytes - this.b) / dt;
    this.rate = this.rate === 0 ? inst : this.rate + (1 - Math.exp(-dt / this.tauSec)) * (inst - this.rate);
    this.t = now;
    this.b = bytes;
    return this.rate;
  }
}

/**
 * Downloads `url` into memory. Throws HubError: 'auth' (401/403), 'not-found' (404), 'network'
 * (after retries; `partial` set), 'cancelled' (signal; `partial` set), 'http' (other statuses).
 */
export async function downloadFile(url: string, opts: DownloadOptions = {}): Promise<DownloadResult> {
  const fetchImpl = opts.fetchImpl ?? globalThis.fetch.bind(globalThis);
  const { signal, onProgress } = opts;
  const retries = opts.retries ?? 4;
  const delay0 = opts.retryDelayMs ?? 500;
  const interval = opts.progressIntervalMs ?? 100;
  const file = opts.file ?? describeHubUrl(url)?.file ?? url.split('/').pop() ?? url;
  const auth = authHeaders(url, opts);

  const sink = new ByteSink(opts.resumeFrom?.bytes);
  let etag = opts.resumeFrom?.etag ?? null;
  let total = opts.resumeFrom?.total ?? null;
  let resumed = sink.bytes > 0;
  let requests = 0;
  let failures = 0; // consecutive attempts that failed without receiving any byte
  const step = Math.max(1, opts.checkpointBytes ?? 64 << 20);
  let nextCheckpoint = opts.onCheckpoint ? sink.bytes + step : Infinity;
  const meter = new RateMeter();
  let received = 0; // bytes received over the network in this call (for the rate)
  let lastEmit = -Infinity;

  const state = (): ResumeState => ({ bytes: sink.parts(), etag, total });
  const emit = (done: boolean) => {
    if (!onProgress) return;
    const now = performance.now();
    if (!done && now - lastEmit < interval) return;
    lastEmit = now;
    const rate = meter.rate;
    const left = total !== null ? Math.max(0, total - sink.bytes) : null;
    const etaSec = done ? 0 : left !== null && rate > 0 ? left / rate : null;
    onProgress({ file, bytes: sink.bytes, total, bytesPerSec: rate, etaSec });
  };
  // A failed attempt: cancellation wins; else back off and retry, or give up with the prefix kept.
  const fail = async (cause: unknown): Promise<void> => {
    if (signal?.aborted) throw cancelledError(url, state());
    if (cause instanceof HubError && cause.code !== 'network' && cause.code !== 'http') throw cause;
    failures++;
    if (failures > retries) throw cause instanceof HubError ? cause : networkError(url, cause, state());
    try {
      await sleep(delay0 * 2 ** (failures - 1), signal);
    } catch {
      throw cancelledError(url, state());
    }
  };

  if (signal?.aborted) throw cancelledError(url, state());
  for (;;) {
    const start = sink.bytes;
    const headers: Record<string, string> = { ...auth };
    if (start > 0) {
      headers.Range = `bytes=${start}-`;
      if (etag && opts.ifRange !== false && !etag.startsWith('W/')) headers['If-Range'] = etag;
    }
    let res: Response;
    try {
      requests++;
      res = await fetchImpl(url, { headers, signal });
    } catch (e) {
      await fail(e);
      continue;
    }

    if (res.status === 416 && start > 0) {
      // the range starts at or past the end: done if the prefix is exactly the file, else restart
      await res.body?.cancel().catch(() => {});
      const cr = parseContentRange(res.headers.get('content-range'));
      if (cr?.total === start) {
        total = start;
        break;
      }
      (sink.reset(), (etag = null), (total = null), (resumed = false)); // the next request has no Range: no loop
      continue;
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      const err = statusError(res.status, url, { hadToken: 'Authorization' in auth, partial: state() });
      if (RETRY_STATUS.has(res.status)) await fail(err);
      else throw err;
      continue;
    }

    const newEtag = res.headers.get('etag');
    if (res.status === 206) {
      const cr = parseContentRange(res.headers.get('content-range'));
      if (!cr || cr.start !== start || (etag && newEtag && newEtag !== etag)) {
        // a range we did not ask for, or another version of the file: never mix, restart from 0
        await res.body?.cancel().catch(() => {});
        (sink.reset(), (etag = null), (total = null), (resumed = false)); // the next request has no Range: no loop
        continue;
      }
      total = cr.total ?? total;
      resumed = true;
    } else {
      // 200: the whole file from byte 0 (the server ignored Range, or If-Range saw a new version)
      if (start > 0) (sink.reset(), (resumed = false));
      total = bodyLength(res);
    }
    etag = newEtag ?? etag;
    if (total !== null) sink.reserve(total);
    if (!res.body) {
      await fail(new Error('response has no body'));
      continue;
    }

    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        sink.push(value);
        received += value.byteLength;
        failures = 0; // progress was made: the retry budget applies to consecutive failures
        meter.update(received, performance.now());
        emit(false);
        if (sink.bytes >= nextCheckpoint) {
          nextCheckpoint = sink.bytes + step;
          await Promise.resolve(opts.onCheckpoint!(state())).catch(() => {}); // best effort: resume-after-reload only
        }
      }
    } catch (e) {
      reader.cancel().catch(() => {});
      await fail(e);
      continue;
    }
    if (total !== null && sink.bytes < total) {
      await fail(new Error(`connection closed after ${sink.bytes} of ${total} bytes`));
      continue;
    }
    break;
  }
  if (total === null || sink.bytes > total) total = sink.bytes;
  emit(true);
  return { data: sink.finish(), etag, resumed, requests };
}

/**
 * HEAD: whether the file exists (false only for 404), its size (X-Linked-Size, else Content-Length
 * after redirects; null when the server does not say) and its ETag.
 */
export async function headFile(url: string, opts: FetchOptions = {}): Promise<{ exists: boolean; size: number | null; etag: string | null }> {
  const fetchImpl = opts.fetchImpl ?? globalThis.fetch.bind(globalThis);
  const auth = authHeaders(url, opts);
  const retries = opts.retries ?? 4;
  for (let attempt = 0; ; attempt++) {
    let res: Response;
    try {
      res = await fetchImpl(url, { method: 'HEAD', headers: auth, signal: opts.signal });
    } catch (e) {
      if (opts.signal?.aborted) throw cancelledError(url, null);
      if (attempt >= retries) throw networkError(url, e, null);
      await sleep((opts.retryDelayMs ?? 500) * 2 ** attempt, opts.signal).catch(() => {
        throw cancelledError(url, null);
      });
      continue;
    }
    if (res.status === 404) return { exists: false, size: null, etag: null };
    if (!res.ok) {
      if (!RETRY_STATUS.has(res.status) || attempt >= retries) throw statusError(res.status, url, { hadToken: 'Authorization' in auth });
      await sleep((opts.retryDelayMs ?? 500) * 2 ** attempt, opts.signal).catch(() => {
        throw cancelledError(url, null);
      });
      continue;
    }
    // X-Linked-Size: the Hub's size of an LFS file (present when the redirect was not followed)
    const linked = Number(res.headers.get('x-linked-size') ?? NaN);
    const size = Number.isSafeInteger(linked) && linked >= 0 ? linked : bodyLength(res);
    return { exists: true, size, etag: res.headers.get('x-linked-etag') ?? res.headers.get('etag') };
  }
}

/**
 * Bytes [begin, end) of `url` with one Range request. A server that ignores Range (200) is read
 * only up to `end` and then cut off, so a header read never pulls a whole weight file.
 */
export async function fetchRange(url: string, range: [number, number], opts: FetchOptions = {}): Promise<Uint8Array> {
  const [begin, end] = range;
  if (!(Number.isSafeInteger(begin) && Number.isSafeInteger(end) && 0 <= begin && begin <= end)) {
    throw new HubError('invalid', `bad byte range [${begin}, ${end}) for ${url}`);
  }
  if (begin === end) return new Uint8Array(0);
  const fetchImpl = opts.fetchImpl ?? globalThis.fetch.bind(globalThis);
  const headers = { ...authHeaders(url, opts), Range: `bytes=${begin}-${end - 1}` };
  const retries = opts.retries ?? 4;
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await fetchImpl(url, { headers, signal: opts.signal });
      if (!res.ok) {
        await res.body?.cancel().catch(() => {});
        const err = statusError(res.status, url, { hadToken: 'Authorization' in headers });
        if (!RETRY_STATUS.has(res.status)) throw err;
        throw Object.assign(err, { retry: true });
      }
      const skip = res.status === 206 ? 0 : begin; // 200 starts at byte 0
      if (res.status === 206) {
        const cr = parseContentRange(res.headers.get('content-range'));
        if (cr && cr.start !== begin) throw new HubError('http', `${url}: server sent bytes from ${cr.start}, asked for ${begin}`);
      }
      const out = new Uint8Array(end - begin);
      let at = 0; // bytes of the body seen so far
      const reader = res.body!.getReader();
      while (at < skip + out.length) {
        const { done, value } = await reader.read();
        if (done) break;
        const lo = Math.max(0, skip - at), hi = Math.min(value.length, skip + out.length - at);
        if (hi > lo) out.set(value.subarray(lo, hi), at + lo - skip);
        at += value.length;
      }
      await reader.cancel().catch(() => {});
      const got = Math.max(0, Math.min(at - skip, out.length));
      if (got < out.length) throw new HubError('http', `${describeHubUrl(url)?.file ?? url}: asked for bytes [${begin}, ${end}), the file ends at ${begin + got}`);
      return out;
    } catch (e) {
      if (opts.signal?.aborted) throw cancelledError(url, null);
      if (e instanceof HubError && !(e as { retry?: boolean }).retry) throw e;
      if (attempt >= retries) throw e instanceof HubError ? e : networkError(url, e, null);
      await sleep((opts.retryDelayMs ?? 500) * 2 ** attempt, opts.signal).catch(() => {
        throw cancelledError(url, null);
      });
    }
  }
}
