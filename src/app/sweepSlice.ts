// Sweeps in the lab's state: a grid of learning rate × LoRA rank run one point after another through the
// train slice's own trainRequest (the same Engine.train in the worker, the same live view, checkpoints and
// run store as Start), each finished point scored (./train/sweepEval.ts), with pause / resume / cancel over
// the whole sweep, progress and ETA, and the sweep's record kept in IndexedDB (./train/sweepPersist.ts) at
// every change, so a reload finds the plan, which runs belong to it and where it stopped, and Continue
// resumes the interrupted run from its checkpoint and runs the rest. The grid logic is ./train/sweep.ts.
import type { Engine, ModelSummary, RunRecord, StepLine, TrainRequest } from '../engine/api.ts';
import { errorView, type ErrorView } from './errors.ts';
import type { Kv } from './kept.ts';
import type { ModelSlice } from './modelSlice.ts';
import { dataOf, type TrainSlice } from './trainSlice.ts';
import { checkSweepForm, continuation, DEFAULT_SWEEP_FORM, interruptedNow, newSweepId, planSweep, pointConfig, resultOf, type PointAction, type SweepForm, type SweepRecord } from './train/sweep.ts';
import { evalPoint, SweepRestoreError } from './train/sweepEval.ts';
import { defaultSweepKv, deleteSweepRecord, loadSweepForm, loadSweeps, saveSweep, saveSweepForm } from './train/sweepPersist.ts';
import { validateConfig } from './train/validate.ts';
import { later } from './kept.ts';

/** The sweep this page is running. */
export interface SweepActive {
  id: string;
  /** the point in work (0-based) */
  index: number;
  phase: 'starting' | 'training' | 'evaluating' | 'waiting';
  /** asked to pause: the run pauses after its step in flight; between points the sweep waits */
  paused: boolean;
  stopping: boolean;
  evalDone: number;
  evalTotal: number;
}

export interface SweepSlice {
  sweepForm: SweepForm;
  sweeps: { status: 'idle' | 'loading' | 'ready' | 'error'; list: SweepRecord[] };
  sweepActive: SweepActive | null;
  /** why the sweep could not start or stopped, or why its record could not be kept */
  sweepError?: ErrorView;
  /** seconds per step measured on an earlier run of this model and batch (the estimate before a start) */
  sweepStepEstimate: { secPerStep: number; from: string } | null;
  setSweepForm(patch: Partial<SweepForm>): void;
  /** reads the kept sweeps (once a page); one kept as running that this page is not running is marked interrupted */
  restoreSweeps(): Promise<void>;
  estimateSweepStep(): Promise<void>;
  startSweep(): Promise<void>;
  /** finishes a stopped sweep: the interrupted run resumes from its checkpoint, then the points not run yet */
  continueSweep(id: string): Promise<void>;
  pauseSweep(): Promise<void>;
  resumeSweep(): Promise<void>;
  /** the current run stops after its step (checkpointed), the rest are not started */
  cancelSweep(): void;
  /** deletes the sweep's record and its runs */
  deleteSweep(id: string): Promise<void>;
  /** each point's metrics lines (for the loss overlay) */
  sweepMetrics(id: string): Promise<Record<string, StepLine[]>>;
}

type S = SweepSlice & TrainSlice & ModelSlice;

const ACTIVE_LIVE = ['starting', 'running', 'paused', 'stopping'];

/** Why a new sweep cannot start now (null: it can). The UI shows the same sentence beside the button. */
export function sweepBlocker(s: S): string | null {
  const summary = s.model.summary;
  if (s.sweepActive) return 'A sweep is running.';
  if (ACTIVE_LIVE.includes(s.live.status)) return 'A run is training: wait for it to end (or cancel it).';
  if (!summary || s.model.status === 'loading') return s.model.status === 'loading' ? 'A model is loading…' : 'Load a model first (Models page).';
  if (s.adapterBusy) return 'The adapter is being switched…';
  if (s.trainKind !== 'sft') return 'A sweep runs LoRA SFT: switch the form to SFT.';
  if (s.trainConfig.full) return 'A rank sweep needs LoRA: untick full fine-tuning.';
  const nBad = Object.keys(validateConfig(s.trainConfig)).filter((k) => k !== 'lr' && k !== 'r' && k !== 'alpha').length;
  if (nBad) return 'Fix the settings marked in the form above.';
  const check = checkSweepForm(s.sweepForm);
  if (Object.keys(check.errors).length) return 'Fix the sweep settings marked above.';
  if (s.sweepForm.evalTask !== 'none' && summary.adapter)
    return `The adapter ${summary.adapter.name} is merged into the model: the eval score swaps each point's adapter in and the base model back, so start from the base model (Runs page → Base model), or set the eval to none.`;
  if (s.trainData.kind === 'file' && !s.trainData.name) return 'Pick a JSONL file (and its SOURCE_MANIFEST.yml).';
  if (!s.trainDecision.allowed) return `Refused by the data governance: ${s.trainDecision.reason}`;
  return null;
}

/** Why a stopped sweep cannot continue now (null: it can). */
export function continueBlocker(s: S, rec: SweepRecord): string | null {
  if (s.sweepActive) return 'A sweep is running.';
  if (ACTIVE_LIVE.includes(s.live.status)) return 'A run is training: wait for it to end (or cancel it).';
  const summary = s.model.summary;
  if (!summary || s.model.status === 'loading') return `Load ${rec.model} first (Models page).`;
  if (summary.name !== rec.model) return `This sweep trained ${rec.model}; ${summary.name} is loaded. Load ${rec.model} to continue it.`;
  if ((summary.adapter?.name ?? null) !== rec.adapter) return `This sweep started from ${rec.adapter ?? 'the base model'}; ${summary.adapter?.name ?? 'the base model'} is active now. Switch back (Runs page) to continue it.`;
  if (s.adapterBusy) return 'The adapter is being switched…';
  return null;
}

class SweepStop extends Error {
  override name = 'SweepError';
}

export function createSweepSlice<T extends S>(engine: Engine, set: (p: Partial<T>) => void, get: () => T, opts: { kv?: Kv | null } = {}): SweepSlice {
  const kv = opts.kv === undefined ? defaultSweepKv() : opts.kv;
  const setS = (p: Partial<SweepSlice>) => set(p as Partial<T>);
  // what the running sweep is asked to do; `wake` ends a wait between points
  let ctl: { cancel: boolean; paused: boolean; evalAbort: AbortController | null; wake: (() => void) | null } | null = null;
  /** the running sweep's record (drive's own copy: every change goes through commit) */
  let current: SweepRecord | null = null;
  let restoring: Promise<void> | null = null;
  let writes: Promise<void> = Promise.resolve();
  const formKeeper = later(() => saveSweepForm(get().sweepForm, kv).catch(() => undefined));
  let formTouched = false;

  const patchActive = (p: Partial<SweepActive>) => {
    const a = get().sweepActive;
    if (a) setS({ sweepActive: { ...a, ...p } });
  };
  /** The record into the state (a fresh copy, so views re-render) and, in order, into IndexedDB. */
  const commit = (rec: SweepRecord): Promise<void> => {
    rec.updatedAt = Date.now();
    const snap = structuredClone(rec);
    const list = get().sweeps.list;
    setS({ sweeps: { ...get().sweeps, list: list.some((s) => s.id === snap.id) ? list.map((s) => (s.id === snap.id ? snap : s)) : [snap, ...list] } });
    writes = writes.then(() =>
      saveSweep(snap, kv).catch((e) => setS({ sweepError: { name: 'SweepStoreError', message: `The sweep's progress could not be kept for a reload: ${errorView(e).message}` } })),
    );
    return writes;
  };
  const setSummary = (summary: ModelSummary) => set({ model: { ...get().model, status: 'ready', summary } } as Partial<T>);
  const waitWhilePaused = async () => {
    while (ctl && ctl.paused && !ctl.cancel) {
      patchActive({ phase: 'waiting' });
      await new Promise<void>((ok) => ctl && (ctl.wake = ok));
    }
  };

  /** The eval of one run (or of the model as loaded), recorded; a failure to score is a result, not a stop. */
  const score = async (rec: SweepRecord, runId: string | null) => {
    const spec = rec.eval!;
    const abort = new AbortController();
    ctl!.evalAbort = abort;
    patchActive({ phase: 'evaluating', evalDone: 0, evalTotal: spec.n });
    set({ adapterBusy: true } as Partial<T>);
    try {
      return await evalPoint(engine, { runId, spec, chatTemplate: !!get().model.summary?.chatTemplate, signal: abort.signal, onSummary: setSummary, onItem: (d, t) => patchActive({ evalDone: d, evalTotal: t }) });
    } catch (e) {
      if (e instanceof SweepRestoreError || ctl!.cancel) throw e;
      return { error: errorView(e).message };
    } finally {
      ctl!.evalAbort = null;
      set({ adapterBusy: false } as Partial<T>);
    }
  };

  /** Works through `plan` point by point until the end, a cancel or an error that is not the point's own. */
  const drive = async (rec: SweepRecord, plan: PointAction[]) => {
    ctl = { cancel: false, paused: false, evalAbort: null, wake: null };
    current = rec;
    const first = Math.max(0, plan.findIndex((a) => a.kind !== 'skip'));
    setS({ sweepActive: { id: rec.id, index: first, phase: 'starting', paused: false, stopping: false, evalDone: 0, evalTotal: 0 }, sweepError: undefined });
    rec.status = 'running';
    rec.message = undefined;
    await commit(rec);
    try {
      if (rec.eval && !rec.baseEval) {
        rec.baseEval = await score(rec, null);
        await commit(rec);
      }
      for (let i = 0; i < plan.length && !ctl.cancel; i++) {
        const a = plan[i];
        if (a.kind === 'skip') continue;
        await waitWhilePaused();
        if (ctl.cancel) break;
        const p = rec.points[i];
        const summary = get().model.summary;
        if (summary?.name !== rec.model || (summary.adapter?.name ?? null) !== rec.adapter)
          throw new SweepStop(`The model changed during the sweep (${summary ? `${summary.name}${summary.adapter ? ` with ${summary.adapter.name}` : ''}` : 'none'} instead of ${rec.model}${rec.adapter ? ` with ${rec.adapter}` : ''}): stopped before run ${i + 1}. Load it again, then Continue.`);
        patchActive({ index: i, phase: 'training' });
        if (a.kind !== 'eval') {
          if (a.kind === 'restart') await engine.deleteRun(p.runId);
          const config = pointConfig(rec.base, p);
          let req: TrainRequest;
          let before: StepLine[] = [];
          if (a.kind === 'resume') {
            req = { runId: p.runId, config, resume: { step: a.step } };
            before = (await engine.runMetrics(p.runId)).filter((l) => l.step <= a.step);
          } else {
            const { name, text, decision } = dataOf(rec.data);
            req = { runId: p.runId, name: p.name, config, data: { name, text, governance: decision } };
          }
          p.status = 'running';
          await commit(rec);
          const outcome = await get().trainRequest(req, before);
          Object.assign(p, resultOf(await engine.runMetrics(p.runId).catch(() => [])));
          if (outcome === 'busy') {
            p.status = 'pending';
            throw new SweepStop(`Another run is training in this page: the sweep stopped before run ${i + 1}. Continue it when that run ends.`);
          }
          if (outcome === 'cancelled') {
            p.status = 'cancelled';
            ctl.cancel = true; // the run's own Cancel stops the sweep too
            break;
          }
          if (outcome !== 'done') {
            const err = get().live.error ?? { name: 'Error', message: `the run ended as ${outcome}` };
            // a diverged point (non-finite loss at a high lr) is a result of the sweep; anything else stops it
            if (err.kind !== 'non-finite') {
              p.status = 'interrupted';
              throw new SweepStop(`Run ${i + 1} (${p.name}) stopped: ${err.message}`);
            }
            p.status = 'failed';
            p.error = err.message;
            await commit(rec);
            continue;
          }
          p.status = 'done';
          p.error = undefined;
          await commit(rec);
        } else {
          // a run that finished before the page closed, not scored yet: its numbers from the run store
          Object.assign(p, resultOf(await engine.runMetrics(p.runId)));
          p.status = 'done';
        }
        if (rec.eval && !p.eval) {
          p.eval = await score(rec, p.runId);
          await commit(rec);
        }
      }
      const left = rec.points.filter((p) => p.status !== 'done' && p.status !== 'failed').length;
      rec.status = ctl.cancel ? 'cancelled' : 'done';
      rec.message = ctl.cancel ? `Cancelled; ${left} point${left === 1 ? '' : 's'} not finished. Continue runs them (the cancelled run resumes from its checkpoint).` : undefined;
    } catch (e) {
      const err = errorView(e);
      if (ctl.cancel && err.name === 'CancelledError') {
        rec.status = 'cancelled';
        rec.message = 'Cancelled during an eval; Continue scores that run and runs the rest.';
      } else {
        rec.status = 'failed';
        rec.message = err.message;
        setS({ sweepError: err });
      }
    } finally {
      await commit(rec);
      ctl = null;
      current = null;
      setS({ sweepActive: null });
      void get().refreshRuns();
    }
  };

  /**
   * Points whose run finished after the record's last write (the page closed between the two) are done,
   * with their numbers from the run store.
   */
  const syncFromRuns = async (rec: SweepRecord, runs: RunRecord[]) => {
    for (const p of rec.points) {
      const run = runs.find((r) => r.id === p.runId);
      if (run?.status === 'done' && run.hasResult && p.status !== 'done') Object.assign(p, { status: 'done' as const }, resultOf(await engine.runMetrics(p.runId)));
      else if (run && p.status === 'running') p.status = 'interrupted';
    }
  };

  return {
    sweepForm: DEFAULT_SWEEP_FORM,
    sweeps: { status: 'idle', list: [] },
    sweepActive: null,
    sweepStepEstimate: null,

    setSweepForm(patch) {
      formTouched = true;
      setS({ sweepForm: { ...get().sweepForm, ...patch } });
      formKeeper.schedule();
    },

    restoreSweeps() {
      restoring ??= (async () => {
        setS({ sweeps: { ...get().sweeps, status: 'loading' } });
        try {
          const form = await loadSweepForm(kv);
          if (form && !formTouched) setS({ sweepForm: form });
          const list = await loadSweeps(kv);
          const activeId = get().sweepActive?.id ?? null;
          // the page that ran these is gone: say so in the record, as the run store does for its runs
          const stale = list.filter((x) => interruptedNow(x, activeId));
          const runs = stale.length ? await engine.listRuns() : [];
          for (const s of stale) {
            s.status = 'interrupted';
            await syncFromRuns(s, runs);
            for (const p of s.points) if (p.status === 'running') p.status = 'interrupted';
            s.message = 'The page closed or reloaded during this sweep.';
            await saveSweep(s, kv);
          }
          const mine = get().sweeps.list.filter((s) => !list.some((x) => x.id === s.id));
          setS({ sweeps: { status: 'ready', list: [...mine, ...list] } });
        } catch (e) {
          setS({ sweeps: { ...get().sweeps, status: 'error' }, sweepError: { name: 'SweepStoreError', message: `The kept sweeps could not be read: ${errorView(e).message}` } });
        }
      })();
      return restoring;
    },

    async estimateSweepStep() {
      const s = get();
      const model = s.model.summary?.name;
      const rows = s.trainConfig.batchSize * s.trainConfig.gradAccum;
      try {
        const runs: RunRecord[] = s.runs.list.length ? s.runs.list : await engine.listRuns();
        const like = runs.find((r) => r.model === model && r.kind === 'sft' && !r.config.full && r.config.batchSize * r.config.gradAccum === rows && r.step >= 2);
        if (!like) return setS({ sweepStepEstimate: null });
        // the first step pays for pipeline compilation: the median of the others
        const secs = (await engine.runMetrics(like.id)).slice(1).map((l) => l.step_s).filter((x) => x > 0).sort((a, b) => a - b);
        setS({ sweepStepEstimate: secs.length ? { secPerStep: secs[Math.floor(secs.length / 2)], from: like.name } : null });
      } catch {
        setS({ sweepStepEstimate: null });
      }
    },

    async startSweep() {
      const why = sweepBlocker(get());
      if (why) return setS({ sweepError: { name: 'SweepError', message: why } });
      const s = get();
      const check = checkSweepForm(s.sweepForm);
      const f = s.sweepForm;
      const rec = planSweep({
        id: newSweepId(),
        now: Date.now(),
        model: s.model.summary!.name,
        adapter: s.model.summary!.adapter?.name ?? null,
        base: s.trainConfig,
        data: s.trainData,
        dataName: dataOf(s.trainData).name,
        lrs: check.lrs,
        ranks: check.ranks,
        alphaRule: f.alpha,
        eval: f.evalTask === 'none' ? null : { task: f.evalTask, n: f.evalN, maxNewTokens: f.evalMaxNew },
      });
      await drive(rec, rec.points.map(() => ({ kind: 'start' })));
    },

    async continueSweep(id) {
      await get().restoreSweeps();
      const rec = structuredClone(get().sweeps.list.find((s) => s.id === id));
      if (!rec) return setS({ sweepError: { name: 'SweepError', message: `Sweep ${id} is not kept any more.` } });
      const why = continueBlocker(get(), rec);
      if (why) return setS({ sweepError: { name: 'SweepError', message: why } });
      try {
        const runs = await engine.listRuns();
        await syncFromRuns(rec, runs);
        await drive(rec, continuation(rec, runs));
      } catch (e) {
        setS({ sweepError: errorView(e) });
      }
    },

    async pauseSweep() {
      if (!ctl) return;
      ctl.paused = true;
      patchActive({ paused: true });
      if (current) {
        current.status = 'paused';
        await commit(current);
      }
      if (get().live.status === 'running') await get().pauseTraining();
    },

    async resumeSweep() {
      if (!ctl) return;
      ctl.paused = false;
      patchActive({ paused: false, phase: get().live.status === 'paused' ? 'training' : get().sweepActive!.phase });
      if (current) {
        current.status = 'running';
        await commit(current);
      }
      ctl.wake?.();
      if (get().live.status === 'paused') await get().resumeTraining();
    },

    cancelSweep() {
      if (!ctl) return;
      ctl.cancel = true;
      patchActive({ stopping: true });
      ctl.evalAbort?.abort();
      ctl.wake?.();
      if (ACTIVE_LIVE.includes(get().live.status)) get().cancelTraining();
    },

    async deleteSweep(id) {
      if (get().sweepActive?.id === id) return;
      const rec = get().sweeps.list.find((s) => s.id === id);
      try {
        for (const p of rec?.points ?? []) await engine.deleteRun(p.runId).catch(() => undefined);
        await deleteSweepRecord(id, kv);
        setS({ sweeps: { ...get().sweeps, list: get().sweeps.list.filter((s) => s.id !== id) } });
      } catch (e) {
        setS({ sweepError: errorView(e) });
      }
      await get().refreshRuns();
    },

    async sweepMetrics(id) {
      const rec = get().sweeps.list.find((s) => s.id === id);
      const out: Record<string, StepLine[]> = {};
      for (const p of rec?.points ?? []) if (p.status !== 'pending') out[p.runId] = await engine.runMetrics(p.runId).catch(() => []);
      return out;
    },
  };
}
