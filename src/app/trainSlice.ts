// The training half of the lab's state: the run forms (SFT: presets and every `lab sft` option; GRPO:
// the `lab grpo` settings, ./train/grpoConfig.ts; DPO: `lab dpo`'s, ./train/dpoConfig.ts) and which one is in use, the data choice with its
// governance decision, the live run (metrics per step, pause / resume /
// cancel, ETA), the stored runs (IndexedDB, through the engine), adapter export / import and
// the active adapter. Like the rest of the store it talks to the Engine only: the run itself is
// src/engine/train/run.ts (SFT), src/engine/rl/grpo-run.ts (GRPO) or src/engine/rl/dpo-run.ts (DPO) in the worker, the same code
// `lab sft` / `lab grpo` run. What survives a reload: the forms and the data choice (./train/persist.ts,
// IndexedDB, put back by restoreTrainForms unless the user has already changed something) and each run's
// record in the engine's run store, config included: resumeRun puts it back in its form.
import { isDpoConfig, isGrpoConfig, type DpoConfig, type DpoSettings, type Engine, type GrpoConfig, type GrpoGroupSample, type GrpoSettings, type RowProblem, type RunRecord, type RunUsage, type SftConfig, type StepLine, type TrainProgress, type TrainRequest, type TrainingDecision } from '../engine/api.ts';
import { getTask, toSftJsonl, type TaskName } from '../tasks/index.ts';
import { decideUpload, EMBEDDED_DECISION as embeddedDecision } from '../engine/train/governance.ts';
import { errorView, type ErrorView } from './errors.ts';
import type { ModelSlice } from './modelSlice.ts';
import { BASE_DPO_CONFIG, dpoRequestConfig, withTrlDefaults } from './train/dpoConfig.ts';
import { loadTrainForms, saveTrainForms, type TrainForms } from './train/persist.ts';
import { later, type Kv } from './kept.ts';
import { BASE_GRPO_CONFIG, GRPO_PRESETS, fitNewTokens, grpoRequestConfig, usesRewardModel } from './train/grpoConfig.ts';

/** The user's pipelines, one click away (their instructions and the Looper-Math baseline), and a quick run that suits the embedded model. */
export const PRESETS: { id: string; label: string; patch: Partial<SftConfig> & { lora?: SftConfig['lora'] } }[] = [
  {
    id: 'quick',
    label: 'Quick look (LoRA r 8 on q/k/v/o, lr 1e-3, 20 steps of 1 row): suits the small embedded models, a few seconds a step even on a CPU WebGPU',
    patch: { full: false, lora: { r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] }, lr: 1e-3, steps: 20, batchSize: 1, gradAccum: 1, lrSchedule: 'linear', warmupSteps: 0, checkpointEvery: 5 },
  },
  {
    id: 'stoney',
    label: 'Stoney instructions (LoRA r 16, α 32, dropout 0.05, q/k/v/o, lr 2e-4)',
    patch: { full: false, lora: { r: 16, alpha: 32, dropout: 0.05, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] }, lr: 2e-4 },
  },
  {
    id: 'looper-math',
    label: 'Looper-Math baseline (LoRA r 64, α 16, dropout 0.05, all seven linear targets, lr 5e-5)',
    patch: { full: false, lora: { r: 64, alpha: 16, dropout: 0.05, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] }, lr: 5e-5 },
  },
];

export const BASE_CONFIG: SftConfig = {
  full: false, lora: { r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] }, steps: 20, lr: 1e-3, lrSchedule: 'linear', warmupSteps: 0,
  weightDecay: 0, betas: [0.9, 0.999], eps: 1e-8, maxGradNorm: 1, batchSize: 1, gradAccum: 1, seed: 0, checkpointEvery: 5, recompute: false,
};

/** Where the rows come from: an embedded task set (generated here, the project's own synthetic data) or a file the user picked. */
export type DataChoice =
  | { kind: 'embedded'; task: TaskName; n: number; seed: number; /** train (absent: kept forms of before) or rl: prompts the SFT never saw, for GRPO */ split?: 'train' | 'rl' }
  | { kind: 'file'; name: string; text: string; manifest: { name: string; text: string; path: string } | null };

export type TrainKind = 'sft' | 'grpo' | 'dpo';

/** Which form a run's config belongs to. */
export const kindOf = (c: SftConfig): TrainKind => (isGrpoConfig(c) ? 'grpo' : isDpoConfig(c) ? 'dpo' : 'sft');

export interface LiveRun {
  status: 'idle' | 'starting' | 'running' | 'paused' | 'stopping' | 'done' | 'cancelled' | 'error';
  runId?: string;
  kind: TrainKind;
  /** the run's config as sent to the engine (a GrpoConfig for GRPO, a DpoConfig for DPO) */
  config?: SftConfig;
  /** the run trains every weight (its result is a checkpoint, not an adapter) */
  full: boolean;
  /** the metrics lines; a GRPO run's are GrpoStepLine, a DPO run's DpoStepLine */
  lines: StepLine[];
  /** GRPO: the groups of the latest step (null before the first step of this page's session) */
  samples: { step: number; samples: GrpoGroupSample[] } | null;
  totalSteps: number;
  etaSec: number | null;
  rows?: number;
  problems: RowProblem[];
  moreProblems: number;
  checkpoints: number[];
  warnings: string[];
  /** one line: how it ended (the cancel message names the checkpoint to resume from) */
  message?: string;
  error?: ErrorView;
}

export interface TrainSlice {
  /** which form the Train page shows and Start runs */
  trainKind: TrainKind;
  trainConfig: SftConfig;
  trainPreset: string;
  grpoConfig: GrpoConfig;
  grpoPreset: 'trl' | 'user' | 'custom';
  /** why a preset's max new tokens was lowered for the loaded model (shown under the form) */
  grpoFitNote?: string;
  /** the learned reward model's files, picked for the reward "reward-model" (a run keeps its own copy in the run store) */
  grpoRewardModel: { files: Record<string, Uint8Array> } | null;
  dpoConfig: DpoConfig;
  dpoPreset: 'trl' | 'custom';
  trainData: DataChoice;
  trainDecision: TrainingDecision;
  live: LiveRun;
  runs: { status: 'idle' | 'loading' | 'ready' | 'error'; list: RunRecord[]; error?: ErrorView; busy?: string };
  adapterBusy: boolean;
  adapterError?: ErrorView;
  /** why the forms could not be kept for the next visit (IndexedDB full or refused) */
  trainFormsError?: string;
  /** puts back the forms kept by an earlier visit (once; not over anything the user changed since the page opened) */
  restoreTrainForms(): Promise<void>;
  /** writes the forms now instead of after the short delay that gathers keystrokes */
  flushTrainForms(): Promise<void>;
  setTrainConfig(patch: Partial<SftConfig>): void;
  applyPreset(id: string): void;
  setTrainKind(kind: TrainKind): void;
  /** trainer settings (steps, lr, LoRA, seed, …) and rewards of the GRPO form */
  setGrpoConfig(patch: Partial<GrpoConfig>): void;
  setGrpoSettings(patch: Partial<GrpoSettings>): void;
  applyGrpoPreset(id: 'trl' | 'user'): void;
  setGrpoRewardModel(files: Record<string, Uint8Array> | null): void;
  /** an unedited preset's max new tokens, fitted to the loaded model's context (called when the model changes) */
  fitGrpoToModel(): void;
  /** trainer settings (steps, lr, pairs per step, LoRA, seed, …) and the DPO settings (β, label smoothing) of the DPO form */
  setDpoConfig(patch: Partial<DpoConfig>): void;
  setDpoSettings(patch: Partial<DpoSettings>): void;
  /** TRL's DPOConfig defaults: β 0.1, label smoothing 0, lr 1e-6 */
  applyDpoPreset(): void;
  setTrainData(choice: DataChoice): void;
  startTraining(): Promise<void>;
  pauseTraining(): Promise<void>;
  resumeTraining(): Promise<void>;
  cancelTraining(): void;
  /** Runs one request in the live view, as Start does (a sweep's points: ./sweepSlice.ts); resolves with how it ended ('busy': another run holds the page). */
  trainRequest(req: TrainRequest, before?: StepLine[]): Promise<LiveRun['status'] | 'busy'>;
  /** continues a stored run from its last (or the given) checkpoint, with its own settings and kept data */
  resumeRun(runId: string, step?: number): Promise<void>;
  refreshRuns(): Promise<void>;
  deleteRun(runId: string): Promise<void>;
  /** a run's result or checkpoint files (for download) */
  runFiles(runId: string, which: 'result' | { checkpoint: number }): Promise<Record<string, Uint8Array>>;
  /** bytes stored per run, by kind (checkpoints, result, other) */
  runsUsage(): Promise<RunUsage[]>;
  /** switch the model's adapter: a run's result, imported PEFT files, or null for the base model */
  useAdapter(adapter: { runId: string } | { name: string; files: Record<string, Uint8Array> } | null): Promise<void>;
}

type Set<S> = (partial: Partial<S>) => void;

/** The JSONL rows and the governance decision of a data choice. */
export function dataOf(choice: DataChoice): { name: string; text: string; decision: TrainingDecision } {
  if (choice.kind === 'embedded') {
    if (!(Number.isInteger(choice.n) && choice.n >= 1 && choice.n <= 100_000 && Number.isInteger(choice.seed) && choice.seed >= 0)) {
      const reason = `embedded ${choice.task} set: the number of rows must be a whole number 1…100000 and the seed a whole number ≥ 0`;
      return { name: `${choice.task}.jsonl`, text: '', decision: { ...embeddedDecision(choice.task), allowed: false, reason } };
    }
    const split = choice.split ?? 'train';
    const items = getTask(choice.task).generate(split, choice.n, choice.seed);
    return { name: `${choice.task}-${split}-n${choice.n}-seed${choice.seed}.jsonl`, text: toSftJsonl(items), decision: embeddedDecision(choice.task) };
  }
  return { name: choice.name, text: choice.text, decision: decideUpload({ name: choice.name, text: choice.text, manifest: choice.manifest }) };
}

const idleRun = (): LiveRun => ({ status: 'idle', kind: 'sft', full: false, lines: [], samples: null, totalSteps: 0, etaSec: null, problems: [], moreProblems: 0, checkpoints: [], warnings: [] });
const newRunId = () => `run-${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)}-${Math.random().toString(36).slice(2, 6)}`;

export function createTrainSlice<S extends TrainSlice & ModelSlice>(engine: Engine, set: Set<S>, get: () => S, opts: { formsKv?: Kv | null } = {}): TrainSlice {
  let running: AbortController | null = null;
  const setS0 = (p: Partial<TrainSlice>) => set(p as Partial<S>);

  // the forms, kept (./train/persist.ts) a moment after the last change; `touched`: the user changed something
  // since the page opened, so the kept forms no longer replace the ones shown
  let touched = false;
  let restoring: Promise<void> | null = null;
  const formsOf = (): TrainForms => {
    const s = get();
    return { trainKind: s.trainKind, trainConfig: s.trainConfig, trainPreset: s.trainPreset, grpoConfig: s.grpoConfig, grpoPreset: s.grpoPreset, dpoConfig: s.dpoConfig, dpoPreset: s.dpoPreset, trainData: s.trainData, grpoRewardModel: s.grpoRewardModel };
  };
  const keeper = later(async () => {
    try {
      await saveTrainForms(formsOf(), opts.formsKv);
      if (get().trainFormsError) setS0({ trainFormsError: undefined });
    } catch (e) {
      setS0({ trainFormsError: `The Train page's settings could not be kept for the next visit: ${errorView(e).message}` });
    }
  });
  const FORM_KEYS = ['trainKind', 'trainConfig', 'trainPreset', 'grpoConfig', 'grpoPreset', 'dpoConfig', 'dpoPreset', 'trainData', 'grpoRewardModel'];
  /** sets state; a change to a form marks it touched and keeps it a moment later */
  const setS = (p: Partial<TrainSlice>, user = true) => {
    setS0(p);
    if (!Object.keys(p).some((k) => FORM_KEYS.includes(k))) return;
    if (user) touched = true;
    keeper.schedule();
  };
  const patchLive = (p: Partial<LiveRun>) => setS({ live: { ...get().live, ...p } });
  const initialData: DataChoice = { kind: 'embedded', task: 'arithmetic', n: 200, seed: 0 };

  const onProgress = (p: TrainProgress) => {
    const live = get().live;
    if (p.kind === 'data') patchLive({ rows: p.rows, problems: p.problems, moreProblems: p.moreProblems });
    else if (p.kind === 'start') patchLive({ status: 'running', totalSteps: p.totalSteps });
    else if (p.kind === 'step') patchLive({ lines: [...live.lines.filter((l) => l.step < p.line.step), p.line], etaSec: p.etaSec, totalSteps: p.totalSteps });
    else if (p.kind === 'checkpoint') patchLive({ checkpoints: [...live.checkpoints.filter((s) => s !== p.step), p.step] });
    else if (p.kind === 'paused') patchLive({ status: 'paused' });
    else if (p.kind === 'resumed') patchLive({ status: 'running' });
    else if (p.kind === 'warning') patchLive({ warnings: [...live.warnings, p.message] });
    else if (p.kind === 'samples') patchLive({ samples: { step: p.step, samples: p.samples } });
  };

  /** The GRPO form's config with an unedited preset's max new tokens fitted to the loaded model, and the note saying so. */
  const fitted = (c: GrpoConfig, presetId: TrainSlice['grpoPreset']): Pick<TrainSlice, 'grpoConfig' | 'grpoFitNote'> => {
    const preset = GRPO_PRESETS.find((p) => p.id === presetId);
    const summary = get().model.summary;
    if (!preset || !summary) return { grpoConfig: c, grpoFitNote: undefined };
    const want = preset.settings.maxNewTokens;
    const fit = fitNewTokens(want, summary.n_ctx);
    const note = fit < want ? `${preset.label}: ${want} new tokens leave no room for a prompt in ${summary.name}’s context of ${summary.n_ctx} tokens; ${fit} here.` : undefined;
    return { grpoConfig: { ...c, grpo: { ...c.grpo, maxNewTokens: fit } }, grpoFitNote: note };
  };

  /** The reward model's files for a GRPO config that scores with one. */
  const rewardModelOf = (c: SftConfig): Pick<TrainRequest, 'rewardModel'> => {
    const rm = get().grpoRewardModel;
    return isGrpoConfig(c) && usesRewardModel(c) && rm ? { rewardModel: rm.files } : {};
  };

  /** Runs one train request to its end, keeping the live view and the run list current. */
  const run = async (req: TrainRequest, before: StepLine[], samples: LiveRun['samples'] = null): Promise<LiveRun['status'] | 'busy'> => {
    if (running) return 'busy';
    const ctl = (running = new AbortController());
    const kind = kindOf(req.config);
    setS({ live: { ...idleRun(), status: 'starting', runId: req.runId, kind, config: req.config, full: req.config.full, lines: before, samples, totalSteps: req.config.steps } });
    try {
      const res = await engine.train(req, onProgress, ctl.signal);
      patchLive({ status: 'done', message: `Finished ${res.steps} ${kind === 'sft' ? '' : `${kind.toUpperCase()} `}steps; the ${req.config.full ? 'model' : 'adapter'} is stored with the run.` });
    } catch (e) {
      const error = errorView(e);
      if (error.name === 'CancelledError') patchLive({ status: 'cancelled', message: error.message });
      else patchLive({ status: 'error', error });
    } finally {
      running = null;
      void get().refreshRuns();
    }
    return get().live.status;
  };

  return {
    trainKind: 'sft',
    grpoConfig: BASE_GRPO_CONFIG,
    grpoPreset: 'trl',
    grpoRewardModel: null,
    dpoConfig: BASE_DPO_CONFIG,
    dpoPreset: 'trl',
    trainConfig: BASE_CONFIG,
    trainPreset: 'quick',
    trainData: initialData,
    trainDecision: dataOf(initialData).decision,
    live: idleRun(),
    runs: { status: 'idle', list: [] },
    adapterBusy: false,

    restoreTrainForms() {
      restoring ??= (async () => {
        try {
          const f = await loadTrainForms(opts.formsKv);
          const busy = ['starting', 'running', 'paused', 'stopping'].includes(get().live.status);
          if (!f || touched || busy) return;
          setS({ ...f, trainDecision: dataOf(f.trainData).decision, grpoFitNote: undefined }, false);
          get().fitGrpoToModel();
        } catch (e) {
          setS0({ trainFormsError: `The Train page's settings of the last visit could not be read: ${errorView(e).message}` });
        }
      })();
      return restoring;
    },
    flushTrainForms() {
      return keeper.flush();
    },

    setTrainConfig(patch) {
      setS({ trainConfig: { ...get().trainConfig, ...patch }, trainPreset: 'custom' });
    },
    applyPreset(id) {
      const p = PRESETS.find((x) => x.id === id);
      if (p) setS({ trainConfig: { ...get().trainConfig, ...p.patch }, trainPreset: id });
    },
    setTrainKind(kind) {
      setS({ trainKind: kind });
      if (kind === 'grpo') get().fitGrpoToModel();
    },
    setGrpoConfig(patch) {
      setS({ grpoConfig: { ...get().grpoConfig, ...patch }, grpoPreset: 'custom', grpoFitNote: undefined });
    },
    setGrpoSettings(patch) {
      const c = get().grpoConfig;
      setS({ grpoConfig: { ...c, grpo: { ...c.grpo, ...patch } }, grpoPreset: 'custom', grpoFitNote: undefined });
    },
    applyGrpoPreset(id) {
      const p = GRPO_PRESETS.find((x) => x.id === id);
      const c = get().grpoConfig;
      if (p) setS({ ...fitted({ ...c, lr: p.lr, batchSize: p.settings.promptsPerStep, grpo: { ...p.settings, seed: c.seed } }, id), grpoPreset: id });
    },
    setGrpoRewardModel(files) {
      setS({ grpoRewardModel: files ? { files } : null });
    },
    fitGrpoToModel() {
      const { grpoConfig, grpoPreset } = get();
      if (grpoPreset !== 'custom') setS(fitted(grpoConfig, grpoPreset), false);
    },
    setDpoConfig(patch) {
      setS({ dpoConfig: { ...get().dpoConfig, ...patch }, dpoPreset: 'custom' });
    },
    setDpoSettings(patch) {
      const c = get().dpoConfig;
      setS({ dpoConfig: { ...c, dpo: { ...c.dpo, ...patch } }, dpoPreset: 'custom' });
    },
    applyDpoPreset() {
      setS({ dpoConfig: withTrlDefaults(get().dpoConfig), dpoPreset: 'trl' });
    },
    setTrainData(choice) {
      setS({ trainData: choice, trainDecision: dataOf(choice).decision });
    },

    async startTraining() {
      const { name, text, decision } = dataOf(get().trainData);
      setS({ trainDecision: decision });
      const kind = get().trainKind;
      const config = kind === 'grpo' ? grpoRequestConfig(get().grpoConfig) : kind === 'dpo' ? dpoRequestConfig(get().dpoConfig) : get().trainConfig;
      const req: TrainRequest = { runId: newRunId(), name, config, data: { name, text, governance: decision }, ...rewardModelOf(config) };
      await run(req, []);
    },
    async pauseTraining() {
      const id = get().live.runId;
      if (id && running) await engine.trainControl(id, 'pause').catch(() => undefined);
    },
    async resumeTraining() {
      const id = get().live.runId;
      if (id && running) await engine.trainControl(id, 'resume').catch(() => undefined);
    },
    trainRequest(req, before = []) {
      return run(req, before);
    },
    cancelTraining() {
      if (running) {
        patchLive({ status: 'stopping' });
        running.abort();
      }
    },

    async resumeRun(runId, step) {
      try {
        const rec = (await engine.listRuns()).find((r) => r.id === runId);
        if (!rec) throw new Error(`Run ${runId} is not stored any more.`);
        const at = step ?? rec.checkpoints.at(-1);
        if (at === undefined) throw new Error(`Run ${rec.name} has no checkpoint to resume from: start it again instead.`);
        const before = (await engine.runMetrics(runId)).filter((l) => l.step <= at);
        // the run's own settings back in their form (a GRPO run's record holds its GrpoConfig, a DPO run's its DpoConfig)
        if (isGrpoConfig(rec.config)) setS({ trainKind: 'grpo', grpoConfig: rec.config, grpoPreset: 'custom', grpoFitNote: undefined });
        else if (isDpoConfig(rec.config)) setS({ trainKind: 'dpo', dpoConfig: rec.config, dpoPreset: 'custom' });
        else setS({ trainKind: 'sft', trainConfig: rec.config, trainPreset: 'custom' });
        // a run that scores with a learned reward model kept its files (src/engine/rl/reward-model-keep.ts); files picked
        // in the form go along and must be the same model, or the engine refuses the resume and names both
        // a GRPO run's completions of the checkpoint's step, read back from the run store
        const kept = isGrpoConfig(rec.config) ? (await engine.runSamples(runId, rec.config.grpo.promptsPerStep)).filter((g) => g.step === at) : [];
        await run({ runId, config: rec.config, resume: { step: at }, ...rewardModelOf(rec.config) }, before, kept.length ? { step: at, samples: kept } : null);
      } catch (e) {
        patchLive({ status: 'error', error: errorView(e) });
      }
    },

    async refreshRuns() {
      setS({ runs: { ...get().runs, status: 'loading' } });
      try {
        setS({ runs: { status: 'ready', list: await engine.listRuns() } });
      } catch (e) {
        setS({ runs: { ...get().runs, status: 'error', error: errorView(e) } });
      }
    },
    async deleteRun(runId) {
      setS({ runs: { ...get().runs, busy: runId } });
      try {
        await engine.deleteRun(runId);
      } catch (e) {
        setS({ runs: { ...get().runs, error: errorView(e) } });
      }
      setS({ runs: { ...get().runs, busy: undefined } });
      await get().refreshRuns();
    },
    runFiles(runId, which) {
      return engine.runFiles(runId, which);
    },
    runsUsage() {
      return engine.runsUsage();
    },

    async useAdapter(adapter) {
      if (get().adapterBusy) return;
      setS({ adapterBusy: true, adapterError: undefined });
      try {
        const summary = await engine.setAdapter(adapter);
        set({ model: { ...get().model, status: 'ready', summary } } as Partial<S>);
      } catch (e) {
        setS({ adapterError: errorView(e) });
      } finally {
        setS({ adapterBusy: false });
      }
    },
  };
}
