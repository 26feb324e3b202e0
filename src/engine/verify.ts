// "Verify against ONNX Runtime" for the loaded model (LocalEngine.verifyOnnx): the ONNX export that
// sits beside the checkpoint is read through the model's own FileSource (a Hub file goes through
// the HubCache like the weights), run by onnxruntime-web on the same token ids as the lab's engine,
// and the logits are compared (ORT as the reference; compareLogits in ./onnx/ort.ts).
//
//   found      model.onnx, else onnx/model.onnx (the layout of Hub repos exported with optimum /
//              transformers.js); nothing there → { found: false, looked }
//   download   whole file; progress 'download onnx' with bytes; cancellable between reads
//   ort        session on the chosen execution provider ('wasm' or 'webgpu'), one run
//   compare    the engine's forward (logits at every position, read back), compareLogits, then the
//              timings: median of `reps` runs of each side on the same ids (first runs are warm-ups)
//
// Exports from torch.onnx (tools/golden/export_onnx.py) take only input_ids [B, T] int64; those of
// optimum also take attention_mask, position_ids and an (empty) KV cache past_key_values.{l}.{key,value}
// [B, n_kv, 0, d_head], and sometimes use_cache_branch: all are filled here for a fresh prompt.
// A graph whose weights live in an external file (<name>_data, models over 2 GB) gets that file too.
import { dirSource } from './model/checkpoint.ts';
import type * as Ort from 'onnxruntime-web';
import type { FileSource } from './model/checkpoint.ts';
import type { LlamaModel } from './model/llama.ts';
import type { LabTokenizer } from './model/tokenizer.ts';
import { fromHalfBits } from './gpu/half.ts';
import { compareLogits, idsShape, loadOrt, OnnxCheckError, type OrtModule, type OrtSession } from './onnx/ort.ts';
import { CancelledError } from './selfcheck.ts';
import { hubSource, type BlobStore } from './hub/index.ts';
import { filesSource, urlSource } from './sources.ts';
import type { ModelSourceSpec } from './session.ts';

/** Where the ONNX export is looked for, in this order (paths inside the model's folder or repo). */
export const ONNX_CANDIDATES = ['model.onnx', 'onnx/model.onnx'];
/** The default prompt: a short fixed sentence (≤ 32 tokens with any tokenizer worth the name). */
export const VERIFY_DEFAULT_TEXT = 'The quick brown fox jumps over the lazy dog.';
export const VERIFY_MAX_TOKENS = 32;

export type VerifyBackend = 'wasm' | 'webgpu';

export interface VerifyOnnxRequest {
  /** the prompt (tokenized with the model's tokenizer, special tokens added); default VERIFY_DEFAULT_TEXT */
  text?: string;
  /** the prompt is cut to this many tokens; default 32 */
  maxTokens?: number;
  /** ORT's execution provider: 'wasm' (CPU) or 'webgpu' (ORT's own GPU device) */
  backend: VerifyBackend;
  /** timed runs of each side (after one untimed run); default 3 */
  reps?: number;
  /** Hub access token for a gated repo's ONNX file (the load's token is not kept) */
  token?: string;
}

export interface VerifyOnnxProgress {
  phase: 'download onnx' | 'ort' | 'compare';
  /** bytes of the ONNX file read so far, and its size (0 outside the download) */
  bytes: number;
  total: number;
  /** the ONNX file's path */
  file: string;
  /** what happens now, in words */
  detail: string;
}

export type VerifyOnnxResult =
  | { found: false; looked: string[] }
  | {
      found: true;
      /** the ONNX file used and its size (plus its external data file, if any) */
      file: string;
      onnxBytes: number;
      backend: VerifyBackend;
      /** max |ours − ort| over all logits */
      maxAbsErr: number;
      /** max over positions of max_v |ours − ort| / max_v |ort| */
      maxRelErr: number;
      /** positions whose argmax agrees, of `positions` (= tokens: one row) */
      argmaxAgree: number;
      positions: number;
      /** position (token index) of the largest relative error */
      worst: number;
      ids: number[];
      /** median wall-clock ms of one forward over `ids`, logits read back to the CPU included */
      msOurs: number;
      msOrt: number;
      reps: number;
    };

export interface VerifyContext {
  /** the loaded model's FileSource */
  src: FileSource;
  /** read the file whole (Hub: goes through the cache, progress comes from the source) rather than in ranged chunks */
  whole?: boolean;
  onProgress?: (p: VerifyOnnxProgress) => void;
  signal?: AbortSignal;
}

/** The spec as the engine keeps it beside the loaded model: without the access token (never stored). */
export function withoutToken(spec: ModelSourceSpec): ModelSourceSpec {
  if (spec.kind !== 'hub') return spec;
  const { token: _token, ...rest } = spec;
  return rest;
}

/**
 * The loaded model's source opened again for its ONNX file: the same Hub repo@revision (through the
 * HubCache, whole-file reads, download progress as 'download onnx'), picked files, or URL folder.
 */
export function verifySource(
  spec: ModelSourceSpec,
  opts: { store: BlobStore; token?: string; signal?: AbortSignal; onProgress?: (p: VerifyOnnxProgress) => void },
): { src: FileSource; whole: boolean; release: () => void } {
  if (spec.kind === 'hub') {
    const hub = hubSource(spec.repo, spec.revision || 'main', {
      store: opts.store,
      token: opts.token || undefined,
      endpoint: spec.endpoint,
      signal: opts.signal,
      onProgress: (p) => opts.onProgress?.({ phase: 'download onnx', bytes: p.bytes, total: p.total ?? 0, file: p.file, detail: `downloading ${p.file}` }),
    });
    return { src: hub, whole: true, release: () => hub.release() };
  }
  if (spec.kind === 'files') return { src: filesSource(spec.files, { paths: spec.paths, name: spec.name }), whole: false, release: () => {} };
  if (spec.kind === 'dir') return { src: dirSource(spec.path), whole: false, release: () => {} };
  const u = urlSource(spec.baseUrl, { signal: opts.signal });
  return { src: u, whole: false, release: () => u.release() };
}

const CHUNK = 4 * 2 ** 20; // ranged reads of 4 MiB: progress and cancel between them

const isNode = (): boolean => typeof process !== 'undefined' && !!process.versions?.node;

/**
 * onnxruntime-web, set up for this browser build: the .wasm binary is a Vite asset of our own origin
 * (./ort-assets.ts; never a CDN), one thread unless the page is cross-origin isolated. Node keeps
 * loadOrt's own setup (the package's dist/ folder).
 */
export async function verifyOrt(): Promise<OrtModule> {
  const ort = await loadOrt();
  if (!isNode() && !ort.env.wasm.wasmPaths) {
    const { ORT_WASM_URL } = await import('./ort-assets.ts');
    ort.env.wasm.wasmPaths = { wasm: new URL(ORT_WASM_URL, (globalThis as { location?: { href: string } }).location?.href).href };
    if (!(globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated) ort.env.wasm.numThreads = 1;
  }
  return ort;
}

/** The first of ONNX_CANDIDATES the source has, with its size; null when none. */
export async function findOnnx(src: FileSource): Promise<{ path: string; size: number } | null> {
  for (const path of ONNX_CANDIDATES) {
    const size = await src.size(path);
    if (size !== null) return { path, size };
  }
  return null;
}

/** The whole file, in ranged chunks (progress, cancel between reads) or in one read. */
async function readAll(ctx: VerifyContext, path: string, size: number, report: (bytes: number) => void): Promise<Uint8Array> {
  const check = () => {
    if (ctx.signal?.aborted) throw new CancelledError('Verification was cancelled.');
  };
  check();
  if (ctx.whole) {
    const data = await ctx.src.read(path);
    check();
    report(data.byteLength);
    return data;
  }
  const out = new Uint8Array(size);
  for (let a = 0; a < size; a += CHUNK) {
    const part = await ctx.src.read(path, [a, Math.min(size, a + CHUNK)]);
    check();
    out.set(part.subarray(0, Math.min(part.byteLength, size - a)), a);
    report(Math.min(size, a + CHUNK));
  }
  return out;
}

/** An ORT session on `backend`; a graph that needs its external data file gets it (read through `fetchData`). */
async function openSession(ort: OrtModule, bytes: Uint8Array, backend: VerifyBackend, dataName: string, fetchData: () => Promise<Uint8Array | null>): Promise<OrtSession> {
  // log level 'error': ORT's warnings (e.g. "some nodes were not assigned to the preferred execution
  // providers", normal under webgpu: shape ops stay on the CPU) would reach the console as errors
  const opts: Ort.InferenceSession.SessionOptions = { executionProviders: [backend], graphOptimizationLevel: 'all', logSeverityLevel: 3 };
  let session: OrtSession;
  try {
    session = await ort.InferenceSession.create(bytes, opts);
  } catch (e) {
    // weights in <name>_data: only asked for when the graph says so (no probe, no 404, for the usual case)
    if (!/external|_data/i.test(String((e as Error)?.message ?? e))) throw e;
    const data = await fetchData();
    if (!data) throw e;
    session = await ort.InferenceSession.create(bytes, { ...opts, externalData: [{ path: dataName, data }] });
  }
  if (!session.inputNames.includes('input_ids') || !session.outputNames.includes('logits')) {
    const names = `inputs [${session.inputNames.join(', ')}], outputs [${session.outputNames.join(', ')}]`;
    await session.release();
    throw new OnnxCheckError(`ONNX model: expected input "input_ids" and output "logits", found ${names}`);
  }
  return session;
}

/** An integer tensor of the input's declared type (int64 unless it says int32). */
function intTensor(ort: OrtModule, type: string | undefined, values: number[], dims: number[]): Ort.Tensor {
  if (type === 'int32') return new ort.Tensor('int32', Int32Array.from(values), dims);
  return new ort.Tensor('int64', BigInt64Array.from(values, (x) => BigInt(x)), dims);
}

/** Feeds for one fresh prompt ids [B][T]: every input the graph declares, or a clear error. */
export function onnxFeeds(ort: OrtModule, session: OrtSession, ids: number[][], kv: { n_kv_heads: number; d_head: number }): Record<string, Ort.Tensor> {
  const [B, T] = idsShape(ids);
  const types = new Map<string, string>();
  for (const m of session.inputMetadata ?? []) if (m.isTensor) types.set(m.name, m.type);
  const feeds: Record<string, Ort.Tensor> = {};
  for (const name of session.inputNames) {
    const type = types.get(name);
    if (name === 'input_ids') feeds[name] = intTensor(ort, type, ids.flat(), [B, T]); // [B, T]
    else if (name === 'attention_mask') feeds[name] = intTensor(ort, type, new Array<number>(B * T).fill(1), [B, T]); // [B, T], all real tokens
    else if (name === 'position_ids') feeds[name] = intTensor(ort, type, ids.flatMap((r) => r.map((_, t) => t)), [B, T]); // [B, T] = 0..T-1
    else if (/^past_key_values\.\d+\.(key|value)$/.test(name)) {
      // an empty cache [B, n_kv, 0, d_head]: the prompt is the whole sequence
      const dims = [B, kv.n_kv_heads, 0, kv.d_head];
      feeds[name] = type === 'float16' ? new ort.Tensor('float16', new Uint16Array(0), dims) : new ort.Tensor('float32', new Float32Array(0), dims);
    } else if (name === 'use_cache_branch') feeds[name] = new ort.Tensor('bool', new Uint8Array([0]), [1]);
    else throw new OnnxCheckError(`ONNX model: input "${name}" is not one the lab can fill (input_ids, attention_mask, position_ids, past_key_values.*, use_cache_branch)`);
  }
  return feeds;
}

/** ORT's logits for ids [B][T] → Float32Array [B, T, V] (float16 outputs are widened). */
export async function runOnnxLogits(ort: OrtModule, session: OrtSession, ids: number[][], kv: { n_kv_heads: number; d_head: number }, V: number): Promise<Float32Array> {
  const [B, T] = idsShape(ids, V);
  const feeds = onnxFeeds(ort, session, ids, kv);
  let out: Ort.InferenceSession.ReturnType | null = null;
  try {
    out = await session.run(feeds, ['logits']);
    const y = out.logits;
    const dims = y.dims.map(Number);
    if ((y.type !== 'float32' && y.type !== 'float16') || dims.length !== 3 || dims[0] !== B || dims[1] !== T)
      throw new OnnxCheckError(`ONNX model: "logits" is ${y.type} [${dims.join(', ')}], expected float32 [${B}, ${T}, V]`);
    if (dims[2] !== V) throw new OnnxCheckError(`ONNX model has vocab ${dims[2]}, the loaded model ${V}: not the same checkpoint`);
    const data = await y.getData(); // [B, T, V]
    return data instanceof Uint16Array ? fromHalfBits(data, 'f16') : Float32Array.from(data as ArrayLike<number>);
  } finally {
    for (const t of Object.values(out ?? {})) t.dispose();
    for (const t of Object.values(feeds)) t.dispose();
  }
}

/** The engine's logits for ids [B][T] at every position, read back: Float32Array [B, T, V]. */
export async function engineLogits(model: LlamaModel, ids: number[][]): Promise<Float32Array> {
  const [B, T] = idsShape(ids, model.cfg.d_vocab);
  const rt = model.rt;
  const idsGpu = rt.upload(Int32Array.from(ids.flat()), [B, T], 'i32', 'verify_ids'); // [B, T]
  const { logits, captures } = model.forward(idsGpu, { logits: 'all' }); // logits [B, T, V]
  idsGpu.dispose();
  for (const c of captures.values()) c.dispose();
  try {
    return (await rt.read(logits!)) as Float32Array; // [B, T, V]
  } finally {
    logits!.dispose();
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

async function timeIt(reps: number, run: () => Promise<unknown>, check: () => void): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    check();
    const t0 = performance.now();
    await run();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

/** The whole action on a loaded model: find, read, run both, compare, time. */
export async function verifyOnnx(model: LlamaModel, tokenizer: LabTokenizer, req: VerifyOnnxRequest, ctx: VerifyContext): Promise<VerifyOnnxResult> {
  const { signal, onProgress } = ctx;
  const check = () => {
    if (signal?.aborted) throw new CancelledError('Verification was cancelled.');
  };
  if (req.backend !== 'wasm' && req.backend !== 'webgpu') throw new Error(`backend must be 'wasm' or 'webgpu', got ${JSON.stringify(req.backend)}`);
  check();
  const found = await findOnnx(ctx.src);
  if (!found) return { found: false, looked: [...ONNX_CANDIDATES] };
  const { path, size } = found;
  const cfg = model.cfg;

  // the prompt first: a bad one costs no download
  const maxTokens = Math.max(1, Math.min(Math.floor(req.maxTokens ?? VERIFY_MAX_TOKENS), cfg.n_ctx));
  const ids = tokenizer.encode(req.text ?? VERIFY_DEFAULT_TEXT, { addSpecialTokens: true }).slice(0, maxTokens);
  if (ids.length === 0) throw new Error('The prompt is empty: type some text first.');
  const bad = ids.find((id) => id >= cfg.d_vocab);
  if (bad !== undefined) throw new Error(`The tokenizer gives id ${bad}, outside the model's vocabulary of ${cfg.d_vocab}.`);
  const rows = [ids]; // [B=1][T]

  const send = (phase: VerifyOnnxProgress['phase'], detail: string, bytes = 0, total = 0) => onProgress?.({ phase, bytes, total, file: path, detail });
  send('download onnx', `reading ${path}`, 0, size);
  const bytes = await readAll(ctx, path, size, (b) => send('download onnx', `reading ${path}`, b, size));
  check();

  send('ort', `creating an ONNX Runtime session (${req.backend})`);
  const ort = await verifyOrt();
  const dataPath = `${path}_data`;
  let dataBytes = 0;
  const session = await openSession(ort, bytes, req.backend, dataPath.split('/').pop()!, async () => {
    const n = await ctx.src.size(dataPath);
    if (n === null) return null;
    send('download onnx', `reading ${dataPath}`, 0, n);
    const d = await readAll(ctx, dataPath, n, (b) => send('download onnx', `reading ${dataPath}`, b, n));
    dataBytes = n;
    return d;
  });
  const reps = Math.max(1, Math.min(20, Math.floor(req.reps ?? 3)));
  try {
    check();
    send('ort', `running ONNX Runtime (${req.backend}) on ${ids.length} tokens`);
    const kv = { n_kv_heads: cfg.n_kv_heads, d_head: cfg.d_head };
    const theirs = await runOnnxLogits(ort, session, rows, kv, cfg.d_vocab); // [1, T, V]
    check();
    send('compare', `running this lab's forward on ${ids.length} tokens`);
    const ours = await engineLogits(model, rows); // [1, T, V]
    const cmp = compareLogits(ours, theirs, [1, ids.length, cfg.d_vocab]);
    send('compare', `timing ${reps} runs of each`);
    const msOurs = await timeIt(reps, () => engineLogits(model, rows), check);
    const msOrt = await timeIt(reps, () => runOnnxLogits(ort, session, rows, kv, cfg.d_vocab), check);
    return {
      found: true,
      file: path,
      onnxBytes: size + dataBytes,
      backend: req.backend,
      maxAbsErr: cmp.maxAbsErr,
      maxRelErr: cmp.maxRelErr,
      argmaxAgree: cmp.argmaxAgree,
      positions: cmp.positions,
      worst: cmp.worst.t,
      ids,
      msOurs,
      msOrt,
      reps,
    };
  } finally {
    await session.release().catch(() => undefined);
  }
}
