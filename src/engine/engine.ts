// The Engine interface the UI talks to (CONVENTIONS §11, §14), and its two implementations:
//
//   LocalEngine   runs in the calling thread on a Runtime (Node tests, the CLI, and inside the
//                 browser worker). The GPU object is passed in: navigator.gpu or nodeGpu().
//   WorkerEngine  a proxy that posts the protocol (workers/protocol.ts) to the engine worker.
//
// Both give the same results and the same typed errors (GpuError, CancelledError), so the UI
// cannot tell which it talks to. Nothing here imports React.

import { Runtime } from './gpu/runtime.ts';
import type { AcquireOptions, AdapterSummary } from './gpu/device.ts';
import { CancelledError, executionContext, runSelfCheck, type ExecutionContext, type Progress, type SelfCheckCase, type SelfCheckReport } from './selfcheck.ts';
import { fromWireError, type Payload, type Port, type ProgressOf, type Reply, type RequestType, type Result } from '../../workers/protocol.ts';
import { HubCache, defaultBlobStore, type BlobStore, type PlanLimits } from './hub/index.ts';
import {
  ModelSession,
  type GenerateProgress,
  type GenerateRequest,
  type GenerateResult,
  type InspectRequest,
  type InspectResult,
  type LoadProgress,
  type ModelSourceSpec,
  type ModelSummary,
} from './session.ts';
import { verifyOnnx, verifySource, withoutToken, type VerifyOnnxProgress, type VerifyOnnxRequest, type VerifyOnnxResult } from './verify.ts';

export type { GenerateProgress, GenerateRequest, GenerateResult, InspectRequest, InspectResult, LoadProgress, ModelSourceSpec, ModelSummary };
export type { HeadStats, InspectLayer, InspectToken } from './session.ts';
export type { VerifyBackend, VerifyOnnxProgress, VerifyOnnxRequest, VerifyOnnxResult } from './verify.ts';

/** The adapter summary plus what the device enabled and where the engine runs. */
export interface AdapterInfo extends AdapterSummary {
  where: ExecutionContext;
  /** features the engine's device has turned on (asked for when the adapter offers them) */
  enabled: { shaderF16: boolean; subgroups: boolean; timestampQuery: boolean };
  /** [min, max] subgroup size, where the adapter says */
  subgroupSizes?: [number, number];
}

export interface SelfCheckRequest {
  only?: string[];
}

/** What the Hub cache holds, and the browser's storage estimate for the origin (null where unknown). */
export interface CacheUsage {
  files: number;
  partial: number;
  bytes: number;
  originUsage: number | null;
  originQuota: number | null;
}

export interface Engine {
  adapterInfo(): Promise<AdapterInfo>;
  /** Runs the kernel self-check; rejects with CancelledError when `signal` aborts. */
  selfCheck(opts?: SelfCheckRequest, onProgress?: (p: Progress) => void, signal?: AbortSignal): Promise<SelfCheckReport>;
  /**
   * Loads a model (Hub repo, picked files, or a URL folder), replacing the loaded one. Refuses with
   * HubError('too-large') before any weight is read when it does not fit the device; rejects with
   * CancelledError when `signal` aborts.
   */
  loadModel(source: ModelSourceSpec, onProgress?: (p: LoadProgress) => void, signal?: AbortSignal): Promise<ModelSummary>;
  unloadModel(): Promise<{ unloaded: boolean }>;
  modelInfo(): Promise<ModelSummary | null>;
  /** New tokens for a prompt, streamed through onProgress; CancelledError when `signal` aborts. */
  generate(req: GenerateRequest, onProgress?: (p: GenerateProgress) => void, signal?: AbortSignal): Promise<GenerateResult>;
  /** Tokens and attention patterns of the requested layers, with per-head statistics. */
  inspect(req: InspectRequest, signal?: AbortSignal): Promise<InspectResult>;
  /**
   * Runs the ONNX export beside the loaded model (model.onnx or onnx/model.onnx, read through the
   * model's own source) in onnxruntime-web on the same ids and compares the logits; { found: false }
   * when there is none. CancelledError when `signal` aborts.
   */
  verifyOnnx(req: VerifyOnnxRequest, onProgress?: (p: VerifyOnnxProgress) => void, signal?: AbortSignal): Promise<VerifyOnnxResult>;
  cacheUsage(): Promise<CacheUsage>;
  /** Deletes cached Hub files of `repo`, or all; returns how many files went. */
  clearCache(repo?: string): Promise<{ files: number }>;
  /** Frees the GPU device (LocalEngine) or ends the worker (WorkerEngine). */
  dispose(): void;
}

// ---- in-thread ---------------------------------------------------------------------------------

export interface LocalEngineOptions {
  acquire?: AcquireOptions;
  /** replaces the self-check registry (tests) */
  cases?: readonly SelfCheckCase[];
  /** where Hub files are cached; default IndexedDB in a browser, memory in Node */
  store?: BlobStore;
  /** replaces the device's buffer limits in the pre-download check (tests: tiny fake limits) */
  planLimits?: Partial<PlanLimits>;
  /** refuse models whose weights exceed this many bytes */
  memoryBudget?: number;
}

export class LocalEngine implements Engine {
  private rt: Promise<Runtime> | null = null;
  // requests run one after another on the one device
  private queue: Promise<unknown> = Promise.resolve();
  private session: ModelSession | null = null;
  private storeInstance: BlobStore | null = null;
  /** where each loaded model came from (without its access token): verifyOnnx reads beside it */
  private sources = new WeakMap<ModelSession, ModelSourceSpec>();

  constructor(
    private readonly gpu: GPU | undefined,
    private readonly opts: LocalEngineOptions = {},
  ) {}

  /** The runtime, created on first use; a failed creation is retried on the next call. */
  runtime(): Promise<Runtime> {
    if (!this.rt) {
      const p = Runtime.create(this.gpu, this.opts.acquire);
      this.rt = p;
      p.catch(() => {
        if (this.rt === p) this.rt = null;
      });
    }
    return this.rt;
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  async adapterInfo(): Promise<AdapterInfo> {
    const rt = await this.runtime();
    const { ctx } = rt;
    const info = (ctx.adapter as GPUAdapter & { info?: GPUAdapterInfo }).info;
    const min = info?.subgroupMinSize, max = info?.subgroupMaxSize;
    return {
      ...ctx.summary,
      where: executionContext(),
      enabled: { shaderF16: ctx.hasF16, subgroups: ctx.hasSubgroups, timestampQuery: ctx.hasTimestamps },
      ...(min && max ? { subgroupSizes: [min, max] as [number, number] } : {}),
    };
  }

  selfCheck(opts: SelfCheckRequest = {}, onProgress?: (p: Progress) => void, signal?: AbortSignal): Promise<SelfCheckReport> {
    return this.exclusive(async () => runSelfCheck(await this.runtime(), { only: opts.only, onProgress, signal, cases: this.opts.cases }));
  }

  private get store(): BlobStore {
    return (this.storeInstance ??= this.opts.store ?? defaultBlobStore());
  }

  private loaded(): ModelSession {
    if (!this.session) throw new Error('No model is loaded: load one in the Model panel first.');
    return this.session;
  }

  loadModel(source: ModelSourceSpec, onProgress?: (p: LoadProgress) => void, signal?: AbortSignal): Promise<ModelSummary> {
    return this.exclusive(async () => {
      if (signal?.aborted) throw new CancelledError('Loading was cancelled before it started.');
      const rt = await this.runtime();
      const dev = rt.device.limits;
      const limits: PlanLimits = { maxBufferSize: dev.maxBufferSize, maxStorageBufferBindingSize: dev.maxStorageBufferBindingSize, ...this.opts.planLimits };
      // the old model goes once the new one passed its size check (no GPU memory for both)
      const s = await ModelSession.load(rt, source, { store: this.store, limits, memoryBudget: this.opts.memoryBudget, onProgress, signal }, () => {
        this.session?.dispose();
        this.session = null;
      });
      this.session = s;
      this.sources.set(s, withoutToken(source));
      return s.summary;
    });
  }

  unloadModel(): Promise<{ unloaded: boolean }> {
    return this.exclusive(async () => {
      const had = !!this.session;
      this.session?.dispose();
      this.session = null;
      return { unloaded: had };
    });
  }

  async modelInfo(): Promise<ModelSummary | null> {
    return this.session?.summary ?? null;
  }

  generate(req: GenerateRequest, onProgress?: (p: GenerateProgress) => void, signal?: AbortSignal): Promise<GenerateResult> {
    return this.exclusive(async () => {
      if (signal?.aborted) throw new CancelledError('Generation was cancelled before it started.');
      return this.loaded().generate(req, onProgress, signal);
    });
  }

  inspect(req: InspectRequest, signal?: AbortSignal): Promise<InspectResult> {
    return this.exclusive(async () => this.loaded().inspect(req, signal));
  }

  verifyOnnx(req: VerifyOnnxRequest, onProgress?: (p: VerifyOnnxProgress) => void, signal?: AbortSignal): Promise<VerifyOnnxResult> {
    return this.exclusive(async () => {
      if (signal?.aborted) throw new CancelledError('Verification was cancelled before it started.');
      const s = this.loaded();
      const spec = this.sources.get(s)!;
      const { src, whole, release } = verifySource(spec, { store: this.store, token: req.token, signal, onProgress });
      try {
        return await verifyOnnx(s.model, s.tokenizer, req, { src, whole, onProgress, signal });
      } catch (e) {
        if (signal?.aborted && !(e instanceof CancelledError)) throw new CancelledError('Verification was cancelled.');
        throw e;
      } finally {
        release();
      }
    });
  }

  async cacheUsage(): Promise<CacheUsage> {
    return new HubCache(this.store).usage();
  }

  async clearCache(repo?: string): Promise<{ files: number }> {
    return { files: await new HubCache(this.store).purge(repo) };
  }

  dispose(): void {
    this.session?.dispose();
    this.session = null;
    const rt = this.rt;
    this.rt = null;
    rt?.then((r) => r.destroy(), () => undefined);
  }
}

// ---- worker proxy ------------------------------------------------------------------------------

interface Pending {
  resolve: (value: never) => void;
  reject: (e: Error) => void;
  onProgress?: (p: never) => void;
}

export class WorkerEngine implements Engine {
  private nextId = 1;
  private pending = new Map<number, Pending>();
  /** set when the worker failed (e.g. its script did not load): every later request rejects with it */
  private broken: Error | null = null;

  /** `port`: a module Worker running workers/engine.worker.ts, or a MessagePort served by serveEngine. */
  constructor(private readonly port: Port) {
    port.addEventListener('message', (ev) => this.onReply((ev as MessageEvent).data as Reply));
    port.addEventListener('error', (ev) => {
      const msg = (ev as ErrorEvent).message;
      this.fail(new Error(`The engine worker failed${msg ? `: ${msg}` : ' to start (see the browser console)'}. Reload the page to retry.`));
    });
    port.addEventListener('messageerror', () => this.fail(new Error('The engine worker sent a message that could not be read.')));
    port.start?.();
  }

  private fail(e: Error): void {
    this.broken = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  private onReply(reply: Reply): void {
    const p = this.pending.get(reply?.id);
    if (!p) return;
    if (reply.kind === 'progress') {
      p.onProgress?.(reply.progress as never);
      return;
    }
    this.pending.delete(reply.id);
    if (reply.kind === 'result') p.resolve(reply.result as never);
    else p.reject(fromWireError(reply.error));
  }

  private request<K extends RequestType>(type: K, payload: Payload<K>, onProgress?: (p: ProgressOf<K>) => void, signal?: AbortSignal): Promise<Result<K>> {
    if (this.broken) return Promise.reject(this.broken);
    if (signal?.aborted) return Promise.reject(new CancelledError(`${type} was cancelled before it started.`));
    const id = this.nextId++;
    return new Promise<Result<K>>((resolve, reject) => {
      // on abort, ask the worker to stop; the request then ends with its CancelledError reply
      const onAbort = () => void this.request('cancel', { target: id }).catch(() => undefined);
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => signal?.removeEventListener('abort', onAbort);
      this.pending.set(id, {
        resolve: ((v: Result<K>) => (done(), resolve(v))) as (value: never) => void,
        reject: (e) => (done(), reject(e)),
        onProgress,
      });
      this.port.postMessage({ type, id, payload });
    });
  }

  adapterInfo(): Promise<AdapterInfo> {
    return this.request('adapterInfo', undefined);
  }

  selfCheck(opts: SelfCheckRequest = {}, onProgress?: (p: Progress) => void, signal?: AbortSignal): Promise<SelfCheckReport> {
    return this.request('selfCheck', { only: opts.only }, onProgress, signal);
  }

  loadModel(source: ModelSourceSpec, onProgress?: (p: LoadProgress) => void, signal?: AbortSignal): Promise<ModelSummary> {
    return this.request('loadModel', { source }, onProgress, signal);
  }

  unloadModel(): Promise<{ unloaded: boolean }> {
    return this.request('unloadModel', undefined);
  }

  modelInfo(): Promise<ModelSummary | null> {
    return this.request('modelInfo', undefined);
  }

  generate(req: GenerateRequest, onProgress?: (p: GenerateProgress) => void, signal?: AbortSignal): Promise<GenerateResult> {
    return this.request('generate', req, onProgress, signal);
  }

  inspect(req: InspectRequest, signal?: AbortSignal): Promise<InspectResult> {
    return this.request('inspect', req, undefined, signal);
  }

  verifyOnnx(req: VerifyOnnxRequest, onProgress?: (p: VerifyOnnxProgress) => void, signal?: AbortSignal): Promise<VerifyOnnxResult> {
    return this.request('verifyOnnx', req, onProgress, signal);
  }

  cacheUsage(): Promise<CacheUsage> {
    return this.request('cacheUsage', undefined);
  }

  clearCache(repo?: string): Promise<{ files: number }> {
    return this.request('clearCache', { repo });
  }

  dispose(): void {
    this.fail(new CancelledError('The engine was disposed.'));
    this.port.terminate?.();
  }
}
