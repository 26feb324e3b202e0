// LocalEngine: the Engine (./api.ts) in the calling thread, on a Runtime — the CLI, Node tests,
// and inside the browser's engine worker (workers/engine.worker.ts serves it to the page, where
// workers/worker-engine.ts is its proxy). The GPU object is passed in: navigator.gpu or nodeGpu().
// Both implementations give the same results and the same typed errors, so the UI cannot tell
// which it talks to. Nothing here imports React or workers/.

import { Runtime } from './gpu/runtime.ts';
import type { AcquireOptions } from './gpu/device.ts';
import type { KernelPrefs } from './gpu/kernel-prefs.ts';
import { adapterInfoOf, applyKernelPrefs } from './device-info.ts';
import { runSelfCheck, type Progress, type SelfCheckCase, type SelfCheckReport } from './selfcheck.ts';
import { HubCache, defaultBlobStore, type BlobStore, type PlanLimits } from './hub/index.ts';
import { ModelSession } from './session.ts';
import { verifyOnnx, verifySource, withoutToken } from './verify.ts';
import {
  type DatasetProgress,
  type ManifestCheck,
  type DatasetRequest,
  type LoadedRows,
  CancelledError,
  TrainingError,
  type AdapterInfo,
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
  type RunRecord,
  type RunStatus,
  type RunUsage,
  type SelfCheckRequest,
  type StepLine,
  type TrainControl,
  type TrainProgress,
  type TrainRequest,
  type TrainResult,
  type VerifyOnnxProgress,
  type VerifyOnnxRequest,
  type VerifyOnnxResult,
  isGrpoConfig,
  isDpoConfig,
  isRewardModelConfig,
  type AnalysisSet,
  type GrpoGroupSample,
  type AnalyzeProgress,
  type AnalyzeRequest,
  type ReportData,
} from './api.ts';
import { defaultRunStore, type RunStore } from './train/run-store.ts';
import { RunControl, runSft } from './train/run.ts';
import { runGrpo } from './rl/grpo-run.ts';
import { buildReport } from './analysis/build-report.ts';
import { parseTaskRows, sampleRows } from './analysis/task-rows.ts';
import { runDpo } from './rl/dpo-run.ts';
import { runRewardModel } from './rl/reward-model-run.ts';
import { GovernanceError } from './train/governance.ts';
import { listStoredRuns, notRevoked, reviseStoredRuns, storedRunFiles, storedRunSamples, storedRunsUsage } from './train/stored-runs.ts';
import { loadHubDataset, parseHubDatasetRef } from './data/hub-dataset.ts';
import { evaluate, type EvaluateProgress, type EvaluateRequest, type EvalTable } from './eval/evaluate.ts';

// the boundary types, for callers that import them from here
export * from './api.ts';

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
  /** where training runs are kept; default IndexedDB in a browser, memory in Node (the CLI gives its --out folder) */
  runStore?: RunStore;
  /** kernel preferences applied when the runtime is created (the CLI's LAB_KERNELS); creation fails naming what the device lacks */
  kernels?: Partial<KernelPrefs>;
}

export class LocalEngine implements Engine {
  private rt: Promise<Runtime> | null = null;
  // requests run one after another on the one device
  private queue: Promise<unknown> = Promise.resolve();
  private session: ModelSession | null = null;
  private storeInstance: BlobStore | null = null;
  /** where each loaded model came from (without its access token): verifyOnnx reads beside it */
  private sources = new WeakMap<ModelSession, ModelSourceSpec>();
  private runStoreInstance: RunStore | null = null;
  /** the training run in progress (one at a time: it owns the loaded model's weights) */
  private active: { id: string; control: RunControl; revoke: AbortController; revoked?: { at: string; reason: string } } | null = null;

  constructor(
    private readonly gpu: GPU | undefined,
    private readonly opts: LocalEngineOptions = {},
  ) {}

  /** The runtime, created on first use; a failed creation is retried on the next call. */
  runtime(): Promise<Runtime> {
    if (!this.rt) {
      const kernels = this.opts.kernels;
      const p = Runtime.create(this.gpu, this.opts.acquire).then((rt) => (kernels && applyKernelPrefs(rt, kernels), rt));
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
    return adapterInfoOf(await this.runtime());
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

  private notTraining(what: string): void {
    if (this.active) throw new TrainingError('busy', `${what} is not possible while run ${this.active.id} trains the loaded model: cancel the run first (or wait for it).`);
  }

  loadModel(source: ModelSourceSpec, onProgress?: (p: LoadProgress) => void, signal?: AbortSignal): Promise<ModelSummary> {
    return this.exclusive(async () => {
      this.notTraining('Loading another model');
      if (signal?.aborted) throw new CancelledError('Loading was cancelled before it started.');
      return (await this.replaceSession(source, withoutToken(source), { onProgress, signal })).summary;
    });
  }

  /**
   * Loads `source` (planned against the device's limits first) and makes it the session; the old
   * model goes once the new one passed its size check (no GPU memory for both). `keep` is what
   * verifyOnnx and setAdapter read again later (the source without its access token).
   */
  private async replaceSession(source: ModelSourceSpec, keep: ModelSourceSpec, opts: { onProgress?: (p: LoadProgress) => void; signal?: AbortSignal; adapter?: AdapterSpec | null }): Promise<ModelSession> {
    const rt = await this.runtime();
    const dev = rt.device.limits;
    const limits: PlanLimits = { maxBufferSize: dev.maxBufferSize, maxStorageBufferBindingSize: dev.maxStorageBufferBindingSize, ...this.opts.planLimits };
    const s = await ModelSession.load(rt, source, { store: this.store, limits, memoryBudget: this.opts.memoryBudget, ...opts }, () => {
      this.session?.dispose();
      this.session = null;
    });
    this.session = s;
    this.sources.set(s, keep);
    return s;
  }

  unloadModel(): Promise<{ unloaded: boolean }> {
    return this.exclusive(async () => {
      this.notTraining('Unloading the model');
      const had = !!this.session;
      this.session?.dispose();
      this.session = null;
      return { unloaded: had };
    });
  }

  setKernelPrefs(prefs: Partial<KernelPrefs>): Promise<KernelPrefs> {
    return this.exclusive(async () => {
      this.notTraining('Changing the kernels');
      return applyKernelPrefs(await this.runtime(), prefs);
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

  forward(req: { ids: number[] }): Promise<{ ids: number[]; logits: number[][] }> {
    return this.exclusive(async () => ({ ids: [...req.ids], logits: await this.loaded().logits(req.ids) }));
  }

  analyzeReport(req: AnalyzeRequest, onProgress?: (p: AnalyzeProgress) => void, signal?: AbortSignal): Promise<ReportData> {
    return this.exclusive(async () => {
      this.notTraining('An analysis');
      const s = this.loaded();
      if (!s.tokenizer) throw new Error('the analysis needs the model\'s tokenizer (its prompts are text)');
      const set = (x: AnalysisSet, seed: number) => {
        const rows = parseTaskRows(x.text, x.file);
        if (rows.length < 2) throw new Error(`${x.file}: an analysis needs at least 2 prompts, got ${rows.length}`);
        return { label: x.label, file: x.file, text: x.text, rows: sampleRows(rows, req.n, seed), total: rows.length, provenance: x.provenance ?? null };
      };
      try {
        return await buildReport({
          model: s.model, tokenizer: s.tokenizer, modelName: s.summary.name, adapterName: s.summary.adapter?.name ?? null, adapterTerms: s.summary.adapter?.terms,
          a: set(req.a, req.seed), b: set(req.b, req.seed + 1), seed: req.seed, nBoot: req.nBoot, nPerm: req.nPerm, queries: req.queries, ablation: req.ablation,
          command: `the lab page: ${JSON.stringify({ n: req.n, seed: req.seed, queries: req.queries, ablation: req.ablation, nBoot: req.nBoot, nPerm: req.nPerm })}`, labCommit: null,
        }, { signal, onProgress: (phase, done, total) => onProgress?.({ phase, done, total }) });
      } catch (e) {
        if (signal?.aborted) throw new CancelledError('The analysis was cancelled.');
        throw e;
      }
    });
  }

  evaluate(req: EvaluateRequest, onProgress?: (p: EvaluateProgress) => void, signal?: AbortSignal): Promise<EvalTable> {
    return this.exclusive(async () => {
      this.notTraining('An evaluation');
      if (signal?.aborted) throw new CancelledError('The evaluation was cancelled before it started.');
      const s = this.loaded();
      if (!s.tokenizer) throw new Error(`${s.summary.name} has no tokenizer.json: an evaluation asks questions as text`);
      return evaluate({ rt: await this.runtime(), model: s.model, tokenizer: s.tokenizer, summary: s.summary, store: this.runStore }, req, onProgress, signal);
    });
  }

  setAdapter(adapter: AdapterSpec | { runId: string } | null, onProgress?: (p: LoadProgress) => void): Promise<ModelSummary> {
    return this.exclusive(async () => {
      this.notTraining('Switching the adapter');
      const old = this.loaded();
      let spec: AdapterSpec | null = null;
      if (adapter && 'runId' in adapter) {
        await notRevoked(this.runStore, adapter.runId, 'The adapter');
        const files = await this.runStore.readResult(adapter.runId);
        if (!files || !files.has('adapter_config.json')) throw new TrainingError('invalid', `run ${adapter.runId} has no finished adapter (a full-parameter run, or one that did not finish: export a checkpoint instead)`);
        const rec = await this.runStore.get(adapter.runId);
        spec = { name: rec?.name ? `${rec.name} (run ${adapter.runId})` : `run ${adapter.runId}`, files: Object.fromEntries(files) };
      } else spec = adapter;
      // an adapter brought in from files carries its terms: one made from a withdrawn source is not used
      const terms = spec?.files?.['governance.json'];
      if (terms) {
        const revoked = (JSON.parse(new TextDecoder().decode(terms)) as { revoked?: { reason?: string } }).revoked;
        if (revoked) throw new GovernanceError(`The adapter ${spec!.name} is refused: it was made from a source that was withdrawn (${revoked.reason ?? 'revoked'}); a removal stops downstream work until it is reviewed`);
      }
      // the same source again (Hub files come from the cache), the adapter merged as the weights load
      const source = this.sources.get(old)!;
      return (await this.replaceSession(source, source, { onProgress, adapter: spec })).summary;
    });
  }

  verifyOnnx(req: VerifyOnnxRequest, onProgress?: (p: VerifyOnnxProgress) => void, signal?: AbortSignal): Promise<VerifyOnnxResult> {
    return this.exclusive(async () => {
      if (signal?.aborted) throw new CancelledError('Verification was cancelled before it started.');
      const s = this.loaded();
      const spec = this.sources.get(s)!;
      const { src, whole, release } = verifySource(spec, { store: this.store, token: req.token, signal, onProgress });
      try {
        return await verifyOnnx(s.model, s.tok(), req, { src, whole, onProgress, signal });
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

  async loadDataset(req: DatasetRequest, onProgress?: (p: DatasetProgress) => void, signal?: AbortSignal): Promise<LoadedRows> {
    let at = { file: '', index: 0, count: 1 };
    try {
      return await loadHubDataset(parseHubDatasetRef(req.ref.trim(), req.config?.trim() || undefined, req.split?.trim() || undefined), {
        store: this.store,
        endpoint: req.endpoint,
        token: req.token || undefined,
        signal,
        onFile: (file, index, count) => ((at = { file, index, count }), onProgress?.({ ...at, download: null })),
        onProgress: (download) => onProgress?.({ ...at, download }),
      });
    } catch (e) {
      if (signal?.aborted) throw new CancelledError('The dataset download was cancelled; what arrived is kept for the next try.');
      throw e;
    }
  }

  // ---- training ----

  private get runStore(): RunStore {
    return (this.runStoreInstance ??= this.opts.runStore ?? defaultRunStore());
  }

  async train(req: TrainRequest, onProgress?: (p: TrainProgress) => void, signal?: AbortSignal): Promise<TrainResult> {
    if (signal?.aborted) throw new CancelledError('Training was cancelled before it started.');
    if (this.active) throw new TrainingError('busy', `run ${this.active.id} is training: one run at a time (pause does not free the model; cancel it to start another).`);
    const s = this.session;
    if (!s) throw new TrainingError('no-model', 'No model is loaded: load one first.');
    // an active adapter is merged into the weights: a run on top of it would make an adapter the base model cannot use
    if (s.summary.adapter) throw new TrainingError('invalid', `The adapter "${s.summary.adapter.name}" is active: switch to the base model before training (to go on training an adapter, start from it as the initial adapter).`);
    const prior = await this.runStore.get(req.runId);
    if (prior?.revoked) throw new GovernanceError(`run ${req.runId} was stopped because a source of its data was withdrawn (${prior.revoked.reason}); it cannot be resumed until the source is reviewed`);
    const control = new RunControl();
    const revoke = new AbortController(); // applyManifest stops this run when its data is withdrawn
    this.active = { id: req.runId, control, revoke };
    const callerSignal = signal;
    signal = callerSignal ? AbortSignal.any([callerSignal, revoke.signal]) : revoke.signal;
    try {
      const rt = await this.runtime();
      const ctx = { rt, model: s.model, tokenizer: s.tokenizer, modelName: s.summary.name, modelFiles: s.modelFiles, store: this.runStore, exclusive: <T>(fn: () => Promise<T>) => this.exclusive(fn) };
      if (isGrpoConfig(req.config)) return await runGrpo(ctx, { ...req, config: req.config }, control, onProgress, signal);
      if (isDpoConfig(req.config)) return await runDpo(ctx, { ...req, config: req.config }, control, onProgress, signal);
      if (isRewardModelConfig(req.config)) return await runRewardModel(ctx, { ...req, config: req.config }, control, onProgress, signal);
      return await runSft(ctx, req, control, onProgress, signal);
    } catch (e) {
      if (revoke.signal.aborted) {
        // the run wrote its last record as it stopped: the mark goes back on it
        const rec = await this.runStore.get(req.runId);
        const revoked = this.active?.revoked;
        if (rec && revoked) await this.runStore.put({ ...rec, revoked });
        throw new GovernanceError(String(revoke.signal.reason));
      }
      throw e;
    } finally {
      this.active = null;
    }
  }

  applyManifest(manifest: { name: string; text: string }): Promise<ManifestCheck> {
    return reviseStoredRuns(this.runStore, manifest, (rec, revoked) => {
      if (this.active?.id !== rec.id) return false;
      this.active.revoked = revoked;
      this.active.revoke.abort(`training stopped: the data's terms changed (${revoked.reason}); the run is marked revoked`);
      return true;
    });
  }

  async trainControl(runId: string, action: TrainControl): Promise<{ status: RunStatus; step: number }> {
    const a = this.active;
    if (!a || a.id !== runId) throw new TrainingError('invalid', `run ${runId} is not training${a ? ` (run ${a.id} is)` : ''}`);
    if (action === 'pause') a.control.pause();
    else a.control.resume();
    return { status: a.control.paused ? 'paused' : 'running', step: a.control.step };
  }

  listRuns(): Promise<RunRecord[]> {
    return listStoredRuns(this.runStore, this.active?.id ?? null);
  }

  runMetrics(runId: string): Promise<StepLine[]> {
    return this.runStore.metrics(runId);
  }

  runSamples(runId: string, last: number): Promise<GrpoGroupSample[]> {
    return storedRunSamples(this.runStore, runId, last);
  }

  runFiles(runId: string, which: 'result' | { checkpoint: number }): Promise<Record<string, Uint8Array>> {
    return storedRunFiles(this.runStore, runId, which);
  }

  async deleteRun(runId: string): Promise<{ deleted: boolean }> {
    if (this.active?.id === runId) throw new TrainingError('busy', `run ${runId} is training: cancel it before deleting it`);
    const had = !!(await this.runStore.get(runId)) || (await this.runStore.occupied(runId)).length > 0;
    await this.runStore.delete(runId);
    return { deleted: had };
  }

  runsUsage(): Promise<RunUsage[]> {
    return storedRunsUsage(this.runStore);
  }

  dispose(): void {
    this.session?.dispose();
    this.session = null;
    const rt = this.rt;
    this.rt = null;
    rt?.then((r) => r.destroy(), () => undefined);
  }
}
