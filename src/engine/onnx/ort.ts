// An independent cross-check of the lab's engine: the same checkpoint exported to ONNX (by
// tools/golden/export_onnx.py, from transformers) and run by onnxruntime-web. This is what the lab's
// "verify against ONNX Runtime" action calls; it also holds the timing helper for a same-browser
// benchmark against ORT's WebGPU execution provider.
//
// The ONNX graph (see tools/golden/README.md): input "input_ids" int64 [B, T] (no attention mask: every
// position is a real token, positions 0..T-1), output "logits" float32 [B, T, V].
//
// Worker-safe: onnxruntime-web is imported on first use, and the Node-only modules (node:module,
// node:url) only inside the Node branch, through variable specifiers so bundlers never resolve them
// for the browser build (the same pattern as checkpoint.ts's dirSource).
import type * as Ort from 'onnxruntime-web';
import type { LlamaModel } from '../model/llama.ts';

export type OrtModule = typeof Ort;
export type OrtSession = Ort.InferenceSession;

export interface OrtOptions {
  /** ORT execution providers, in order of preference. Default ['wasm'] (CPU); in a browser ['webgpu'] runs on the GPU. */
  executionProviders?: ('wasm' | 'cpu' | 'webgpu')[];
}

/** Thrown for bad inputs and for an ONNX model that does not fit (names, shapes, vocab). */
export class OnnxCheckError extends Error {
  override name = 'OnnxCheckError';
}

let ortPromise: Promise<OrtModule> | null = null;

const isNode = (): boolean =>
  typeof process !== 'undefined' && typeof process.versions === 'object' && process.versions !== null && !!process.versions.node;

/**
 * onnxruntime-web, configured once. In Node: the wasm backend with its files read from the package's
 * dist/ folder (no network), one thread (no worker threads: safe in CI and in test runners). In a
 * browser the bundler's default locations are kept; the thread count is left to ORT.
 */
export function loadOrt(): Promise<OrtModule> {
  ortPromise ??= (async () => {
    const ort = (await import('onnxruntime-web')) as OrtModule;
    if (isNode()) {
      ort.env.wasm.numThreads = 1;
      ort.env.wasm.proxy = false;
      try {
        // dist/ort.node.min.js is the package's "main": its folder holds the .wasm / .mjs files
        const moduleName = 'node:module';
        const urlName = 'node:url';
        const { createRequire } = (await import(/* @vite-ignore */ moduleName)) as typeof import('node:module');
        const { pathToFileURL } = (await import(/* @vite-ignore */ urlName)) as typeof import('node:url');
        const main = createRequire(import.meta.url).resolve('onnxruntime-web'); // .../onnxruntime-web/dist/ort.node.min.js
        ort.env.wasm.wasmPaths = pathToFileURL(main.replace(/[^/\\]+$/, '')).href; // file:///.../dist/
      } catch {
        // bundled elsewhere (e.g. a single-file CLI): keep ORT's own default, which finds its files beside itself
      }
    }
    return ort;
  })();
  return ortPromise;
}

/** One session for repeated runs (benchmarks); release it with `session.release()`. */
export async function createOrtSession(onnxBytes: Uint8Array, opts: OrtOptions = {}): Promise<OrtSession> {
  const ort = await loadOrt();
  const session = await ort.InferenceSession.create(onnxBytes, {
    executionProviders: opts.executionProviders ?? ['wasm'],
    graphOptimizationLevel: 'all',
  });
  if (!session.inputNames.includes('input_ids') || !session.outputNames.includes('logits')) {
    const names = `inputs [${session.inputNames.join(', ')}], outputs [${session.outputNames.join(', ')}]`;
    await session.release();
    throw new OnnxCheckError(`ONNX model: expected input "input_ids" and output "logits", found ${names} (export it with tools/golden/export_onnx.py)`);
  }
  return session;
}

/** Checks that ids is a non-empty rectangle of non-negative integers; returns [B, T]. */
export function idsShape(ids: number[][], vocab?: number): [number, number] {
  const B = ids.length;
  const T = B ? ids[0].length : 0;
  if (!B || !T) throw new OnnxCheckError(`ids: need at least one row of at least one token, got [${B}, ${T}]`);
  for (let b = 0; b < B; b++) {
    if (ids[b].length !== T) throw new OnnxCheckError(`ids: rows must have the same length (no padding: the ONNX graph has no mask); row 0 has ${T}, row ${b} has ${ids[b].length}`);
    for (const id of ids[b])
      if (!Number.isInteger(id) || id < 0 || (vocab !== undefined && id >= vocab))
        throw new OnnxCheckError(`ids: row ${b} holds ${id}, not a token id in [0, ${vocab ?? '∞'})`);
  }
  return [B, T];
}

/** Logits of one session run. ids: [B][T] → Float32Array [B, T, V] (a copy: ORT's buffer is released). */
export async function runOrtLogits(session: OrtSession, ids: number[][]): Promise<{ logits: Float32Array; shape: [number, number, number] }> {
  const ort = await loadOrt();
  const [B, T] = idsShape(ids);
  const input = new ort.Tensor('int64', BigInt64Array.from(ids.flat(), (x) => BigInt(x)), [B, T]); // [B, T] int64
  const out = await session.run({ input_ids: input });
  const y = out.logits;
  try {
    const dims = y.dims.map(Number);
    if (y.type !== 'float32' || dims.length !== 3 || dims[0] !== B || dims[1] !== T)
      throw new OnnxCheckError(`ONNX model: "logits" is ${y.type} [${dims.join(', ')}], expected float32 [${B}, ${T}, V]`);
    const data = (await y.getData()) as Float32Array; // [B, T, V]
    return { logits: Float32Array.from(data), shape: [B, T, dims[2]] };
  } finally {
    for (const t of Object.values(out)) t.dispose();
    input.dispose();
  }
}

/** One-shot: create a session, run ids [B][T], release. Returns logits [B, T, V]. */
export async function ortLogits(onnxBytes: Uint8Array, ids: number[][], opts: OrtOptions = {}): Promise<Float32Array> {
  const session = await createOrtSession(onnxBytes, opts);
  try {
    return (await runOrtLogits(session, ids)).logits; // [B, T, V]
  } finally {
    await session.release();
  }
}

export interface OnnxVerifyReport {
  /** max over all logits of |ours − ort| */
  maxAbsErr: number;
  /** max over positions (b, t) of max_v |ours − ort| / max_v |ort| (per-row relative error) */
  maxRelErr: number;
  /** positions whose argmax (first index on ties) is the same in both */
  argmaxAgree: number;
  /** B·T positions compared */
  positions: number;
  /** where the largest per-row relative error is */
  worst: { b: number; t: number };
  shape: [number, number, number];
  /** ORT's execution providers used (when a session was passed in: whatever it was created with) */
  executionProviders: string[];
  /** both logit tensors [B, T, V], when asked for with returnLogits */
  logits?: { ours: Float32Array; ort: Float32Array };
}

function argmax(x: Float32Array, o: number, V: number): number {
  let best = o;
  for (let i = o + 1; i < o + V; i++) if (x[i] > x[best]) best = i;
  return best - o;
}

/**
 * Compares two logit tensors [B, T, V] (ours, and ORT's as the reference). Pure: used by
 * verifyAgainstOnnx and by tests. NaN anywhere makes the errors NaN (never a pass).
 */
export function compareLogits(ours: Float32Array, ort: Float32Array, shape: [number, number, number]): Omit<OnnxVerifyReport, 'executionProviders' | 'logits'> {
  const [B, T, V] = shape;
  if (ours.length !== B * T * V || ort.length !== B * T * V)
    throw new OnnxCheckError(`compareLogits: lengths ${ours.length} and ${ort.length}, expected ${B}·${T}·${V} = ${B * T * V}`);
  let maxAbsErr = 0, maxRelErr = -1, argmaxAgree = 0;
  let worst = { b: 0, t: 0 };
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++) {
      const o = (b * T + t) * V; // row (b, t) of [B, T, V]
      let rowErr = 0, rowMax = 0;
      for (let v = o; v < o + V; v++) {
        const e = Math.abs(ours[v] - ort[v]);
        // NaN: propagate explicitly (Math.max already does, but `>` comparisons would drop it)
        rowErr = Number.isNaN(e) || Number.isNaN(rowErr) ? NaN : Math.max(rowErr, e);
        rowMax = Math.max(rowMax, Math.abs(ort[v]));
      }
      const rel = rowMax > 0 ? rowErr / rowMax : rowErr === 0 ? 0 : Infinity; // all-zero reference row: any error is infinite relative error
      maxAbsErr = Number.isNaN(rowErr) || Number.isNaN(maxAbsErr) ? NaN : Math.max(maxAbsErr, rowErr);
      // the first NaN row sticks (nothing compares greater than NaN)
      if (Number.isNaN(rel) || rel > maxRelErr) {
        maxRelErr = rel;
        worst = { b, t };
      }
      if (argmax(ours, o, V) === argmax(ort, o, V)) argmaxAgree++;
    }
  return { maxAbsErr, maxRelErr, argmaxAgree, positions: B * T, worst, shape };
}

/**
 * Runs the lab's engine and onnxruntime-web on the same ids [B][T] (unpadded rows, positions 0..T-1)
 * and compares the logits (ORT as the reference). `onnx` is the ONNX file of the same checkpoint
 * (exported by tools/golden/export_onnx.py), or a session made from it by createOrtSession (kept open:
 * the caller releases it). For the lab's "verify against ONNX Runtime" action.
 */
export async function verifyAgainstOnnx(
  model: LlamaModel,
  onnx: Uint8Array | OrtSession,
  ids: number[][],
  opts: OrtOptions & { returnLogits?: boolean } = {},
): Promise<OnnxVerifyReport> {
  const V = model.cfg.d_vocab;
  const [B, T] = idsShape(ids, V);
  const own = onnx instanceof Uint8Array;
  const executionProviders = own ? (opts.executionProviders ?? ['wasm']) : [];
  const session = own ? await createOrtSession(onnx, { executionProviders }) : onnx;
  let ort: Float32Array;
  try {
    const r = await runOrtLogits(session, ids); // [B, T, V']
    if (r.shape[2] !== V) throw new OnnxCheckError(`ONNX model has vocab ${r.shape[2]}, the loaded model ${V}: not the same checkpoint`);
    ort = r.logits;
  } finally {
    if (own) await session.release();
  }
  // the engine: the same ids as i32 on the GPU, logits at every position, no mask, default positions
  const rt = model.rt;
  const idsGpu = rt.upload(Int32Array.from(ids.flat()), [B, T], 'i32', 'onnx_verify_ids'); // [B, T]
  const { logits, captures } = model.forward(idsGpu, { logits: 'all' }); // logits [B, T, V]
  idsGpu.dispose();
  for (const c of captures.values()) c.dispose();
  let ours: Float32Array;
  try {
    ours = (await rt.read(logits!)) as Float32Array; // [B, T, V]
  } finally {
    logits!.dispose();
  }
  const report: OnnxVerifyReport = { ...compareLogits(ours, ort, [B, T, V]), executionProviders };
  if (opts.returnLogits) report.logits = { ours, ort };
  return report;
}

export interface OrtTiming {
  /** median wall-clock milliseconds of one session.run (logits copied back to the CPU included) */
  msMedian: number;
  ms: number[];
  /** B·T / median seconds: prefill tokens per second */
  tokPerS: number;
}

/**
 * Wall-clock timing of `reps` forwards of one session on ids [B][T], after `warmup` untimed runs
 * (shader compilation and buffer setup happen in the first ones). Each run ends when ORT has copied
 * the logits to the CPU, which waits for the GPU under the WebGPU provider, so the timed span is
 * complete; to compare, time the lab's forward the same way (logits read back included).
 */
export async function timeOrtForward(session: OrtSession, ids: number[][], reps: number, opts: { warmup?: number } = {}): Promise<OrtTiming> {
  const [B, T] = idsShape(ids);
  const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());
  for (let i = 0; i < (opts.warmup ?? 2); i++) await runOrtLogits(session, ids);
  const ms: number[] = [];
  for (let i = 0; i < Math.max(1, reps); i++) {
    const t0 = now();
    await runOrtLogits(session, ids);
    ms.push(now() - t0);
  }
  const sorted = [...ms].sort((a, b) => a - b);
  const n = sorted.length;
  const msMedian = n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  return { msMedian, ms, tokPerS: (B * T) / (msMedian / 1000) };
}
