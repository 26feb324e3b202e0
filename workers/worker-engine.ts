// WorkerEngine: the Engine (src/engine/api.ts) as a proxy in the page. It posts the protocol
// (./protocol.ts) to the engine worker (./engine.worker.ts), where a LocalEngine answers; progress
// replies reach the callbacks, typed errors are rebuilt, an AbortSignal becomes a `cancel` request.

import {
  type KernelPrefs,
  type DatasetProgress,
  type ManifestCheck,
  type DatasetRequest,
  type LoadedRows,
  CancelledError,
  fromWireError,
  type AdapterInfo,
  type AnalyzeProgress,
  type GrpoGroupSample,
  type AnalyzeRequest,
  type ReportData,
  type CacheUsage,
  type Engine,
  type GenerateProgress,
  type GenerateRequest,
  type GenerateResult,
  type InspectRequest,
  type InspectResult,
  type LoadProgress,
  type ModelSourceSpec,
  type ModelSummary,
  type AdapterSpec,
  type Progress,
  type RunRecord,
  type RunStatus,
  type RunUsage,
  type SelfCheckReport,
  type SelfCheckRequest,
  type StepLine,
  type TrainControl,
  type TrainProgress,
  type TrainRequest,
  type TrainResult,
  type VerifyOnnxProgress,
  type VerifyOnnxRequest,
  type VerifyOnnxResult,
  type EvaluateProgress,
  type EvaluateRequest,
  type EvalTable,
} from '../src/engine/api.ts';
import type { Payload, Port, ProgressOf, Reply, RequestType, Result } from './protocol.ts';

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

  setKernelPrefs(prefs: Partial<KernelPrefs>): Promise<KernelPrefs> {
    return this.request('setKernelPrefs', prefs);
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

  applyManifest(manifest: { name: string; text: string }): Promise<ManifestCheck> {
    return this.request('applyManifest', manifest);
  }

  loadDataset(req: DatasetRequest, onProgress?: (p: DatasetProgress) => void, signal?: AbortSignal): Promise<LoadedRows> {
    return this.request('loadDataset', req, onProgress, signal);
  }

  forward(req: { ids: number[] }): Promise<{ ids: number[]; logits: number[][] }> {
    return this.request('forward', req);
  }

  setAdapter(adapter: AdapterSpec | { runId: string } | null, onProgress?: (p: LoadProgress) => void): Promise<ModelSummary> {
    return this.request('setAdapter', { adapter }, onProgress);
  }

  analyzeReport(req: AnalyzeRequest, onProgress?: (p: AnalyzeProgress) => void, signal?: AbortSignal): Promise<ReportData> {
    return this.request('analyzeReport', req, onProgress, signal);
  }

  evaluate(req: EvaluateRequest, onProgress?: (p: EvaluateProgress) => void, signal?: AbortSignal): Promise<EvalTable> {
    return this.request('evaluate', req, onProgress, signal);
  }

  train(req: TrainRequest, onProgress?: (p: TrainProgress) => void, signal?: AbortSignal): Promise<TrainResult> {
    return this.request('train', req, onProgress, signal);
  }

  trainControl(runId: string, action: TrainControl): Promise<{ status: RunStatus; step: number }> {
    return this.request('trainControl', { runId, action });
  }

  listRuns(): Promise<RunRecord[]> {
    return this.request('listRuns', undefined);
  }

  runSamples(runId: string, last: number): Promise<GrpoGroupSample[]> {
    return this.request('runSamples', { runId, last });
  }

  runMetrics(runId: string): Promise<StepLine[]> {
    return this.request('runMetrics', { runId });
  }

  runFiles(runId: string, which: 'result' | { checkpoint: number }): Promise<Record<string, Uint8Array>> {
    return this.request('runFiles', { runId, which });
  }

  deleteRun(runId: string): Promise<{ deleted: boolean }> {
    return this.request('deleteRun', { runId });
  }

  runsUsage(): Promise<RunUsage[]> {
    return this.request('runsUsage', undefined);
  }

  dispose(): void {
    this.fail(new CancelledError('The engine was disposed.'));
    this.port.terminate?.();
  }
}
