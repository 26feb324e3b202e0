// Everything that crosses the engine's boundary, in one module (CONVENTIONS §11, §16): the Engine
// interface the UI, the CLI and the worker talk to, the plain-data types of its requests and
// results (they cross the worker boundary by structured clone), and the typed errors with their
// wire form. Two implementations: LocalEngine (./engine.ts, in the calling thread: the CLI, tests,
// and inside the browser worker) and WorkerEngine (workers/worker-engine.ts, a proxy in the page).
// Nothing here imports React or workers/.

import type { AdapterSummary, GpuErrorKind } from './gpu/device.ts';
import type { KernelPrefs } from './gpu/kernel-prefs.ts';
import type { HubErrorCode } from './hub/errors.ts';
import type { TrainingDecision } from './train/governance.ts';
import type { ExecutionContext, Progress, SelfCheckReport } from './selfcheck.ts';
import type {
  GenerateProgress,
  GenerateRequest,
  GenerateResult,
  InspectRequest,
  InspectResult,
  LoadProgress,
  ModelSourceSpec,
  ModelSummary,
  AdapterSpec,
} from './session.ts';
import type { VerifyOnnxProgress, VerifyOnnxRequest, VerifyOnnxResult } from './verify.ts';
import type { LoraTarget } from './train/adapter.ts';
import type { LrScheduleName } from './train/schedule.ts';
import type { RowProblem } from './train/data.ts';
import type { GrpoGroupSample, GrpoSettings, GrpoStepStats } from './rl/grpo.ts';
import type { ReportData } from './analysis/report-data.ts';
import type { LoadedRows } from './data/dataset.ts';
import type { DownloadProgress } from './hub/download.ts';
import type { EvaluateRequest, EvaluateProgress, EvalTable } from './eval/evaluate.ts';
export type { GrpoGroupSample, GrpoSettings, GrpoStepStats };

export type { GpuErrorKind, HubErrorCode, TrainingDecision, ExecutionContext, Progress, SelfCheckReport, RowProblem, LoraTarget, LrScheduleName };
export type { GenerateProgress, GenerateRequest, GenerateResult, InspectRequest, InspectResult, LoadProgress, ModelSourceSpec, ModelSummary, AdapterSpec };
export type { HeadStats, InspectLayer, InspectToken } from './session.ts';
export type { VerifyBackend, VerifyOnnxProgress, VerifyOnnxRequest, VerifyOnnxResult } from './verify.ts';

// ---- errors: ./errors.ts (a leaf module, so the engine's modules import them without a cycle) ----

export * from './errors.ts';

// ---- adapter, cache ----------------------------------------------------------------------------

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

/** Bytes the run store holds for one run, by kind (the storage view). */
export interface RunUsage {
  runId: string;
  checkpoints: number;
  result: number;
  /** metrics, the kept data, governance terms, the tokenized-rows cache */
  other: number;
}

// ---- training ----------------------------------------------------------------------------------

/** Every `lab sft` option, as data: the page edits these, the CLI parses them from flags. */
export interface SftConfig {
  /** every weight trainable (full fine-tuning) instead of LoRA */
  full: boolean;
  /** LoRA settings (ignored when full); an adapterInit's own settings must agree */
  lora: { r: number; alpha: number; dropout: number; targets: LoraTarget[]; layers?: number[] | null };
  steps: number;
  lr: number;
  lrSchedule: LrScheduleName;
  warmupSteps: number;
  weightDecay: number;
  betas: [number, number];
  eps: number;
  /** 0 = no clipping */
  maxGradNorm: number;
  batchSize: number;
  gradAccum: number;
  seed: number;
  /** a checkpoint every n optimizer steps; 0 = none (a stop or cancel still writes one) */
  checkpointEvery: number;
  /** recompute block activations in the backward (less memory) */
  recompute: boolean;
}

/**
 * A GRPO run (rl/grpo.ts): the trainer settings of SftConfig (`steps` counts GRPO steps, each one
 * rollout batch and `grpo.mu` optimizer steps; batchSize is the prompts per step, gradAccum 1) plus
 * the GRPO settings and the rewards with their weights (names of src/rewards' registries).
 */
export interface GrpoConfig extends SftConfig {
  kind: 'grpo';
  grpo: GrpoSettings;
  rewards: { name: string; weight: number }[];
}

export const isGrpoConfig = (c: SftConfig): c is GrpoConfig => (c as Partial<GrpoConfig>).kind === 'grpo';

/** DPO (rl/dpo.ts): TRL's sigmoid loss against the model with the adapter off; pairs per step = batchSize. */
export interface DpoSettings {
  /** β of the implicit reward (TRL's default 0.1) */
  beta: number;
  /** conservative DPO's label smoothing (TRL's default 0) */
  labelSmoothing: number;
}
export interface DpoConfig extends SftConfig {
  kind: 'dpo';
  dpo: DpoSettings;
}
export const isDpoConfig = (c: SftConfig): c is DpoConfig => (c as Partial<DpoConfig>).kind === 'dpo';

/** A learned reward model (rl/reward-model.ts): a scalar head on the pooled last hidden state. */
export interface RewardModelSettings {
  /** Bradley–Terry on preference pairs, or a regression on ratings */
  objective: 'bradley-terry' | 'regression';
  /** share of the rows held out for the reported accuracy / error, in [0, 0.5] */
  heldOut: number;
}
export interface RewardModelConfig extends SftConfig {
  kind: 'reward-model';
  rewardModel: RewardModelSettings;
}
export const isRewardModelConfig = (c: SftConfig): c is RewardModelConfig => (c as Partial<RewardModelConfig>).kind === 'reward-model';

/** One GRPO step in metrics.jsonl: the SFT line's fields (loss = the objective) and GRPO's own. */
export type GrpoStepLine = StepLine & GrpoStepStats;

/** Training data: JSONL text in one of the row formats (data.ts) and the governance decision for it. */
export interface TrainData {
  /** the file's name, for messages ("rows.jsonl:4: ...") and the run record */
  name: string;
  text: string;
  /**
   * The gate's decision (train/governance.ts: decided from the source manifest by the CLI, from the
   * manifest the user picked or the embedded sets' own terms by the page). The engine refuses a run
   * whose decision is missing or not `allowed`: default-deny.
   */
  governance: TrainingDecision;
}

export interface TrainRequest {
  /** the run's id in the run store (the page: a fresh id; the CLI: its --out folder holds one run) */
  runId: string;
  /** shown in lists; default the data's name */
  name?: string;
  config: SftConfig;
  /** required for a new run; a resume from one of the run's own checkpoints may leave it out (the store kept the data) */
  data?: TrainData;
  /** a PEFT adapter to start from (adapter_config.json + adapter_model.safetensors) */
  adapterInit?: Record<string, Uint8Array>;
  /** GRPO with the reward "reward-model": the files `lab reward-model` wrote (adapter + reward head), on the same base model */
  rewardModel?: Record<string, Uint8Array>;
  /**
   * Continue from a checkpoint: one of this run's (`step`), or checkpoint files given directly (the
   * CLI's --resume <dir>). Data, batch size, seed and optimizer settings must equal the checkpoint's.
   */
  resume?: { step: number } | { files: Record<string, Uint8Array>; where: string };
}

/** One optimizer step, as written to metrics.jsonl (snake_case: the file format). */
export interface StepLine {
  step: number;
  epoch: number;
  loss: number;
  grad_norm: number;
  lr: number;
  /** all positions of the step's micro-batches (padding included), and the trained ones */
  tokens: number;
  trained_tokens: number;
  tokens_per_s: number;
  step_s: number;
  elapsed_s: number;
}

export type TrainProgress =
  | { kind: 'data'; rows: number; problems: RowProblem[]; moreProblems: number; fromCache: boolean; tokenizeMs: number }
  | { kind: 'start'; firstStep: number; totalSteps: number; tensors: number; trainable: number; description: string }
  | { kind: 'step'; line: StepLine; totalSteps: number; etaSec: number }
  | { kind: 'checkpoint'; step: number; where: string }
  | { kind: 'warning'; message: string }
  | { kind: 'paused' | 'resumed'; step: number }
  /** GRPO: the step's groups (prompt, completions with rewards and advantages) */
  | { kind: 'samples'; step: number; samples: GrpoGroupSample[] };

export interface TrainResult {
  runId: string;
  steps: number;
  lastLoss: number | null;
  /** where the result (adapter or model files) was stored */
  where: string;
  files: string[];
}

export type RunStatus = 'running' | 'paused' | 'interrupted' | 'cancelled' | 'failed' | 'done';

/** A run as the run store keeps it (IndexedDB in the browser, run.json in the CLI's --out). */
export interface RunRecord {
  schema: 'lab-run-v1';
  id: string;
  name: string;
  kind: 'sft' | 'grpo' | 'dpo' | 'reward-model';
  /** 'interrupted': it was running when its page closed or reloaded (or its process died) */
  status: RunStatus;
  createdAt: number;
  updatedAt: number;
  model: string;
  config: SftConfig;
  data: { name: string; sha256: string; rows: number };
  governance: TrainingDecision;
  step: number;
  lastLoss: number | null;
  /** steps with a stored checkpoint, ascending */
  checkpoints: number[];
  /** the result (adapter or model) is stored */
  hasResult: boolean;
  error?: string;
  /** set when a source of its data was withdrawn (Engine.applyManifest): the run was stopped, and its adapter, checkpoints and files are refused */
  revoked?: { at: string; reason: string };
  /** the kernels it ran under (precision 'f16': mixed-precision matmuls), as its last start or resume found them */
  kernels?: KernelPrefs;
}

/** What an updated manifest did to the stored runs (Engine.applyManifest). */
export interface ManifestCheck {
  /** runs whose data that manifest's records govern */
  checked: number;
  /** runs now refused by it: stopped if training, marked revoked */
  revoked: { runId: string; name: string; reason: string; wasTraining: boolean }[];
}

export type TrainControl = 'pause' | 'resume';

// ---- analysis ------------------------------------------------------------------------------------

/** One prompt set of an analysis: a JSONL text of task items or {question, answer} rows. */
export interface AnalysisSet {
  label: string;
  /** the file's name (for the report) and its text */
  file: string;
  text: string;
  /** its provenance record, when it has one (the report carries it; derived results inherit its terms) */
  provenance?: Record<string, unknown> | null;
}

/** The report of two prompt sets on the loaded model (with its active adapter). */
export interface AnalyzeRequest {
  a: AnalysisSet;
  b: AnalysisSet;
  /** prompts per set (a seeded sample when the file has more) */
  n: number;
  seed: number;
  queries: 'answer' | 'prompt' | 'all';
  ablation: 'zero' | 'mean';
  nBoot: number;
  nPerm: number;
}

export interface AnalyzeProgress {
  phase: 'head statistics' | 'selectivity' | 'logit lens' | 'ablation sweep';
  done: number;
  total: number;
}

export type { ReportData } from './analysis/report-data.ts';

// ---- evaluation ------------------------------------------------------------------------------------

// the base vs SFT vs RL table on one set (eval/evaluate.ts: what `lab eval --adapters` writes)
export type { EvalData, EvalModelSpec, EvaluateRequest, EvaluateProgress, EvalTable, EvalProvenance, EvalModelResult, EvalRunInfo, EvalMetric } from './eval/evaluate.ts';

// the kernel families and precision requests run under (Engine.setKernelPrefs)
export type { KernelPrefs } from './gpu/kernel-prefs.ts';

// ---- the interface -----------------------------------------------------------------------------

export interface Engine {
  adapterInfo(): Promise<AdapterInfo>;
  /** Runs the kernel self-check; rejects with CancelledError when `signal` aborts. */
  selfCheck(opts?: SelfCheckRequest, onProgress?: (p: Progress) => void, signal?: AbortSignal): Promise<SelfCheckReport>;
  /**
   * Loads a model (Hub repo, picked files, a URL folder, or a folder on disk in Node), replacing the
   * loaded one. Refuses with HubError('too-large') before any weight is read when it does not fit the
   * device; rejects with CancelledError when `signal` aborts, TrainingError('busy') during a run.
   */
  loadModel(source: ModelSourceSpec, onProgress?: (p: LoadProgress) => void, signal?: AbortSignal): Promise<ModelSummary>;
  unloadModel(): Promise<{ unloaded: boolean }>;
  /**
   * The kernel preferences every later request runs under (Runtime.kernelPrefs), e.g. { precision: 'f16' } for
   * mixed-precision matmuls; returns them all. Rejects naming shader-f16 where the device lacks it, and
   * TrainingError('busy') while a training run is in progress (its numbers would change mid-run).
   */
  setKernelPrefs(prefs: Partial<KernelPrefs>): Promise<KernelPrefs>;
  modelInfo(): Promise<ModelSummary | null>;
  /** New tokens for a prompt, streamed through onProgress; CancelledError when `signal` aborts. */
  generate(req: GenerateRequest, onProgress?: (p: GenerateProgress) => void, signal?: AbortSignal): Promise<GenerateResult>;
  /** Tokens and attention patterns of the requested layers, with per-head statistics. */
  inspect(req: InspectRequest, signal?: AbortSignal): Promise<InspectResult>;
  /** Logits [pos][vocab] of token ids, with the active adapter (what `lab forward` writes). */
  forward(req: { ids: number[] }): Promise<{ ids: number[]; logits: number[][] }>;
  /**
   * Switches the active adapter: a PEFT adapter's files, a finished run's result (`runId`), or null
   * for the base model. The weights are reloaded from the model's source with the adapter merged,
   * exactly as `lab forward --adapter` does. The summary's `adapter` says which is active.
   */
  setAdapter(adapter: AdapterSpec | { runId: string } | null, onProgress?: (p: LoadProgress) => void): Promise<ModelSummary>;
  /**
   * Runs the ONNX export beside the loaded model (model.onnx or onnx/model.onnx, read through the
   * model's own source) in onnxruntime-web on the same ids and compares the logits; { found: false }
   * when there is none. CancelledError when `signal` aborts.
   */
  verifyOnnx(req: VerifyOnnxRequest, onProgress?: (p: VerifyOnnxProgress) => void, signal?: AbortSignal): Promise<VerifyOnnxResult>;
  cacheUsage(): Promise<CacheUsage>;
  /** Deletes cached Hub files of `repo`, or all; returns how many files went. */
  clearCache(repo?: string): Promise<{ files: number }>;
  /**
   * A Hub dataset's rows (engine/data/hub-dataset.ts): one file, or a split's Parquet files; downloaded
   * with progress and resume into the Hub cache, so a second visit works offline. CancelledError when
   * `signal` aborts (what arrived is kept for the next try).
   */
  loadDataset(req: DatasetRequest, onProgress?: (p: DatasetProgress) => void, signal?: AbortSignal): Promise<LoadedRows>;

  /**
   * SFT (LoRA or full) on the loaded model. Progress carries each step's metrics; checkpoints go to
   * the run store, whole or not at all. Aborting `signal` stops after the step in flight, writes a
   * checkpoint of it and rejects with CancelledError naming it. Other requests (inspect, generate)
   * run between steps. GovernanceError when the data's decision does not allow training.
   */
  train(req: TrainRequest, onProgress?: (p: TrainProgress) => void, signal?: AbortSignal): Promise<TrainResult>;
  /** Pauses (after the step in flight) or resumes the active run `runId`. */
  trainControl(runId: string, action: TrainControl): Promise<{ status: RunStatus; step: number }>;
  /** Runs in the run store, newest first; a run that was running when its page closed is 'interrupted'. */
  listRuns(): Promise<RunRecord[]>;
  /**
   * Decides every stored run's data again under an updated manifest ({name, text}: the user picked it):
   * a run whose source it now refuses (removed_pending_review, restricted, approval withdrawn) is stopped
   * if it is training and marked revoked; its files, adapter and resume are refused from then on.
   */
  applyManifest(manifest: { name: string; text: string }): Promise<ManifestCheck>;
  /** The metrics lines of a run, in step order. */
  runMetrics(runId: string): Promise<StepLine[]>;
  /** A GRPO run's last `last` sample records (samples.jsonl: prompt, completions, rewards, advantages), oldest first; [] for other runs. */
  runSamples(runId: string, last: number): Promise<GrpoGroupSample[]>;
  /** A run's stored files: its result ('result': the PEFT adapter or model) or one checkpoint. */
  runFiles(runId: string, which: 'result' | { checkpoint: number }): Promise<Record<string, Uint8Array>>;
  /** Deletes a run and everything stored for it (not while it is active). */
  deleteRun(runId: string): Promise<{ deleted: boolean }>;
  /** Bytes stored per run, by kind ([] where the store cannot tell, e.g. the CLI's folder). */
  runsUsage(): Promise<RunUsage[]>;

  /**
   * The interpretability report of two prompt sets on the loaded model and its active adapter (head
   * selectivity, the logit lens at the final answer, the ablation sweep): what `lab analyze report`
   * computes. Render it with analysis/report.ts. CancelledError when `signal` aborts.
   */
  analyzeReport(req: AnalyzeRequest, onProgress?: (p: AnalyzeProgress) => void, signal?: AbortSignal): Promise<ReportData>;

  /**
   * The loaded model (`'base'`) and adapters on it (finished runs' by id, or PEFT files), each answering the
   * same rows greedily, scored with one metric with a 95% bootstrap CI: what `lab eval --adapters` computes,
   * with the data's, model's and runs' provenance. Progress per batch (model i of n, rows, ETA);
   * CancelledError when `signal` aborts; TrainingError('invalid') naming a run whose adapter does not fit.
   */
  evaluate(req: EvaluateRequest, onProgress?: (p: EvaluateProgress) => void, signal?: AbortSignal): Promise<EvalTable>;

  /** Frees the GPU device (LocalEngine) or ends the worker (WorkerEngine). */
  dispose(): void;
}

/** A Hub dataset to load: `ref` is hf://datasets/{owner}/{name}[@rev][/file]; config and split name a Parquet split. */
export interface DatasetRequest {
  ref: string;
  config?: string;
  split?: string;
  /** default https://huggingface.co (the tests' stand-in: ?hubEndpoint=) */
  endpoint?: string;
  /** for a gated dataset; kept in memory only, sent only to the endpoint */
  token?: string;
}

/** Which file of the dataset is downloading, and how far it is. */
export interface DatasetProgress {
  file: string;
  index: number;
  count: number;
  download: DownloadProgress | null;
}
export type { LoadedRows };
