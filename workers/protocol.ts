// The one worker protocol (CONVENTIONS §11). Every message between the page and the engine worker
// has one of the shapes below; `Requests` maps each request type to its payload and its result, so
// the compiler checks each pair on both sides (WorkerEngine in ./worker-engine.ts posts them,
// serveEngine in ./serve.ts answers them).
//
//   page → worker   { type, id, payload }                       one request
//   worker → page   { id, kind: 'progress', progress }           zero or more, while it runs
//                   { id, kind: 'result', result }               then exactly one of these two
//                   { id, kind: 'error', error: { name, kind?, message } }
//
// A request is cancelled by another request: { type: 'cancel', payload: { target: id } }; the
// cancelled request then ends with an error named 'CancelledError'.
//
// Model requests: loadModel (one model at a time; a new load replaces the old one once its size
// check passed), generate (tokens stream as progress), inspect (attention patterns of the asked
// layers only, with per-head statistics computed in the worker), unloadModel, and the Hub cache's
// usage / purge. A Hub access token travels inside the loadModel payload and is kept in the
// worker's memory for that load only: nothing stores it.

import type {
  KernelPrefs,
  DatasetProgress,
  ManifestCheck,
  DatasetRequest,
  LoadedRows,
  AdapterInfo,
  AnalyzeProgress,
  GrpoGroupSample,
  AnalyzeRequest,
  ReportData,
  CacheUsage,
  GenerateProgress,
  GenerateRequest,
  GenerateResult,
  InspectRequest,
  InspectResult,
  LoadProgress,
  ModelSourceSpec,
  ModelSummary,
  AdapterSpec,
  Progress,
  RunRecord,
  RunStatus,
  RunUsage,
  SelfCheckReport,
  StepLine,
  TrainControl,
  TrainProgress,
  TrainRequest,
  TrainResult,
  VerifyOnnxProgress,
  VerifyOnnxRequest,
  VerifyOnnxResult,
  WireError,
  EvaluateProgress,
  EvaluateRequest,
  EvalTable,
} from '../src/engine/api.ts';

// errors cross as WireError; the conversions live with the error classes (src/engine/api.ts)
export { toWireError, fromWireError, type WireError } from '../src/engine/api.ts';

export interface Requests {
  /** the adapter the engine runs on, and what the device enabled */
  adapterInfo: { payload: void; result: AdapterInfo; progress: never };
  /** run the kernel self-check (all registered cases, or `only` these) */
  selfCheck: { payload: { only?: string[] }; result: SelfCheckReport; progress: Progress };
  /** plan (refuse what does not fit the device), download/read, upload; replaces the loaded model */
  loadModel: { payload: { source: ModelSourceSpec }; result: ModelSummary; progress: LoadProgress };
  /** frees the loaded model's GPU memory; `unloaded` is false when none was loaded */
  unloadModel: { payload: void; result: { unloaded: boolean }; progress: never };
  /** kernel preferences for later requests (e.g. mixed-precision matmuls); all of them back */
  setKernelPrefs: { payload: Partial<KernelPrefs>; result: KernelPrefs; progress: never };
  /** the summary of the loaded model, or null */
  modelInfo: { payload: void; result: ModelSummary | null; progress: never };
  /** text or chat messages → new tokens, one progress reply per token */
  generate: { payload: GenerateRequest; result: GenerateResult; progress: GenerateProgress };
  /** text → tokens + attention patterns [head][query][key] of the asked layers + per-head statistics */
  inspect: { payload: InspectRequest; result: InspectResult; progress: never };
  /** the ONNX export beside the loaded model run in onnxruntime-web and compared (phases 'download onnx', 'ort', 'compare') */
  verifyOnnx: { payload: VerifyOnnxRequest; result: VerifyOnnxResult; progress: VerifyOnnxProgress };
  /** bytes held by the Hub cache (IndexedDB) */
  cacheUsage: { payload: void; result: CacheUsage; progress: never };
  /** deletes cached Hub files (of `repo`, or all); returns how many */
  clearCache: { payload: { repo?: string }; result: { files: number }; progress: never };
  /** decides every stored run's data again under an updated manifest: refused runs are stopped and marked revoked */
  applyManifest: { payload: { name: string; text: string }; result: ManifestCheck; progress: never };
  /** a Hub dataset's rows (one file, or a split's Parquet files), through the Hub cache */
  loadDataset: { payload: DatasetRequest; result: LoadedRows; progress: DatasetProgress };
  /** logits [pos][vocab] of token ids, with the active adapter */
  forward: { payload: { ids: number[] }; result: { ids: number[]; logits: number[][] }; progress: never };
  /** reloads the weights with a PEFT adapter (files, or a finished run's) merged, or without one (null) */
  setAdapter: { payload: { adapter: AdapterSpec | { runId: string } | null }; result: ModelSummary; progress: LoadProgress };
  /** the interpretability report of two prompt sets on the loaded model (progress per phase) */
  analyzeReport: { payload: AnalyzeRequest; result: ReportData; progress: AnalyzeProgress };
  /** the base vs adapters table on one set (progress per batch: model i of n, rows, ETA) */
  evaluate: { payload: EvaluateRequest; result: EvalTable; progress: EvaluateProgress };
  /** SFT on the loaded model; one progress reply per step (and data, checkpoint, pause events) */
  train: { payload: TrainRequest; result: TrainResult; progress: TrainProgress };
  /** pause or resume the active run */
  trainControl: { payload: { runId: string; action: TrainControl }; result: { status: RunStatus; step: number }; progress: never };
  /** the run store's runs (IndexedDB), newest first */
  listRuns: { payload: void; result: RunRecord[]; progress: never };
  runMetrics: { payload: { runId: string }; result: StepLine[]; progress: never };
  /** a GRPO run's last sample records */
  runSamples: { payload: { runId: string; last: number }; result: GrpoGroupSample[]; progress: never };
  /** a run's result files (PEFT adapter / model) or one checkpoint's */
  runFiles: { payload: { runId: string; which: 'result' | { checkpoint: number } }; result: Record<string, Uint8Array>; progress: never };
  deleteRun: { payload: { runId: string }; result: { deleted: boolean }; progress: never };
  /** bytes stored per run, by kind */
  runsUsage: { payload: void; result: RunUsage[]; progress: never };
  /** cancel the running request `target`; `cancelled` is false when it had already ended */
  cancel: { payload: { target: number }; result: { cancelled: boolean }; progress: never };
}

export type RequestType = keyof Requests;
export type Payload<T extends RequestType> = Requests[T]['payload'];
export type Result<T extends RequestType> = Requests[T]['result'];
/** What a request's progress replies carry (never: it sends none). */
export type ProgressOf<T extends RequestType> = Requests[T] extends { progress: infer P } ? P : never;

/** A request; `Request` alone is the union over all types (narrow on `type`). */
export type Request<T extends RequestType = RequestType> = {
  [K in T]: { type: K; id: number; payload: Payload<K> };
}[T];

export type Reply<T extends RequestType = RequestType> =
  | { id: number; kind: 'result'; result: Result<T> }
  | { id: number; kind: 'error'; error: WireError }
  | { id: number; kind: 'progress'; progress: ProgressOf<T> };

/**
 * What a Worker, a worker's global scope and a MessagePort all offer: enough to carry the
 * protocol. `start` exists on MessagePort only; `terminate` on Worker only.
 */
export interface Port {
  postMessage(message: unknown): void;
  addEventListener(type: 'message' | 'messageerror' | 'error', listener: (ev: Event) => void): void;
  start?(): void;
  terminate?(): void;
}

export function isRequest(x: unknown): x is Request {
  const r = x as Partial<Request> | null;
  return !!r && typeof r === 'object' && typeof r.id === 'number' && typeof r.type === 'string';
}
