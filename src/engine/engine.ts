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
import { fromWireError, type Payload, type Port, type Reply, type RequestType, type Result } from '../../workers/protocol.ts';

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

export interface Engine {
  adapterInfo(): Promise<AdapterInfo>;
  /** Runs the kernel self-check; rejects with CancelledError when `signal` aborts. */
  selfCheck(opts?: SelfCheckRequest, onProgress?: (p: Progress) => void, signal?: AbortSignal): Promise<SelfCheckReport>;
  /** Frees the GPU device (LocalEngine) or ends the worker (WorkerEngine). */
  dispose(): void;
}

// ---- in-thread ---------------------------------------------------------------------------------

export interface LocalEngineOptions {
  acquire?: AcquireOptions;
  /** replaces the self-check registry (tests) */
  cases?: readonly SelfCheckCase[];
}

export class LocalEngine implements Engine {
  private rt: Promise<Runtime> | null = null;
  // requests run one after another on the one device
  private queue: Promise<unknown> = Promise.resolve();

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

  dispose(): void {
    const rt = this.rt;
    this.rt = null;
    rt?.then((r) => r.destroy(), () => undefined);
  }
}

// ---- worker proxy ------------------------------------------------------------------------------

interface Pending {
  resolve: (value: never) => void;
  reject: (e: Error) => void;
  onProgress?: (p: Progress) => void;
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
      p.onProgress?.(reply.progress);
      return;
    }
    this.pending.delete(reply.id);
    if (reply.kind === 'result') p.resolve(reply.result as never);
    else p.reject(fromWireError(reply.error));
  }

  private request<K extends RequestType>(type: K, payload: Payload<K>, onProgress?: (p: Progress) => void, signal?: AbortSignal): Promise<Result<K>> {
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

  dispose(): void {
    this.fail(new CancelledError('The engine was disposed.'));
    this.port.terminate?.();
  }
}
