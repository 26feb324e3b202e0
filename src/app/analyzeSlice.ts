// The Analyze page's state: two prompt sets (./analyze/sets.ts), the report's settings, the run in
// flight (its phase, how far, since when: the page shows a bar and an ETA) and the last report. The
// report is Engine.analyzeReport's ReportData on the loaded model and its active adapter; it is kept
// here and in IndexedDB (./analyze/persist.ts), so a reload shows it again, as it shows the sets and settings. One run at a time; Cancel
// aborts it (the engine answers CancelledError) and leaves the last report as it was.
// Before/after: a report can be pinned as "before" (kept in IndexedDB too, until unpinned or replaced);
// with `comparing` on, the page shows the current report's diff against it (./analyze/diff.ts, derived
// from the two reports, so it follows each new run: pin the base model's report, switch the adapter,
// run again; or pin checkpoint A's and run with checkpoint B's).
import type { AnalyzeProgress, AnalyzeRequest, Engine, ModelSummary, ReportData, RunRecord } from '../engine/api.ts';
import { reportTerms, type ReportTerms } from '../engine/analysis/report-terms.ts';
import { buildTrajectory, checkpointSteps, type Trajectory } from '../engine/analysis/trajectory.ts';
import { runIdOfActive } from './compare/adapters.ts';
import { errorView, type ErrorView } from './errors.ts';
import { analysisSet, DEFAULT_SETTINGS, defaultSets, setProblem, settingsProblems, SET_KEYS, type AnalyzeSettings, type SetChoice, type SetKey } from './analyze/sets.ts';
import { clearPinnedReport, loadInputs, loadLastReport, loadPinnedReport, saveInputs, saveLastReport, savePinnedReport } from './analyze/persist.ts';
import { later, type Kv } from './kept.ts';

export type AnalyzePhase = AnalyzeProgress['phase'];
/** The engine's phases, in the order it runs them. */
export const PHASES: readonly AnalyzePhase[] = ['head statistics', 'selectivity', 'logit lens', 'ablation sweep'];

export interface AnalyzeRunProgress {
  /** 'preparing': the sets are being made, nothing from the engine yet */
  phase: AnalyzePhase | 'preparing';
  done: number;
  total: number;
  /** Date.now() at the start of the run and of the current phase (the previous phase's last report) */
  startedAt: number;
  phaseStartedAt: number;
  /** Date.now() of the engine's last report */
  lastAt: number;
  /** the phases the engine reported, in order */
  seen: AnalyzePhase[];
  /** Date.now() when it finished, failed or was cancelled */
  endedAt?: number;
}

export interface AnalyzeState {
  status: 'idle' | 'running' | 'done' | 'cancelled' | 'error';
  sets: Record<SetKey, SetChoice>;
  settings: AnalyzeSettings;
  progress?: AnalyzeRunProgress;
  /** Cancel was pressed: the engine stops at its next check (after the batch or head in flight) */
  cancelling?: boolean;
  /** the last report: of this session's last finished run, or the one kept from before a reload */
  report?: ReportData;
  /** where the report came from */
  reportFrom?: 'run' | 'saved';
  /** the report could not be kept in IndexedDB (it is still shown) */
  saveError?: string;
  error?: ErrorView;
  /** the report pinned as "before", and when it was pinned (ISO) */
  pinned?: ReportData;
  pinnedAt?: string;
  /** the pinned report could not be kept, read or forgotten in IndexedDB */
  pinError?: string;
  /** the diff of the current report against the pinned one is shown */
  comparing: boolean;
  /** compare reports of differently named model folders of one architecture (full fine-tune checkpoints) */
  allowDifferentModel: boolean;
  /** the report along a stored run: the base model, then each chosen checkpoint's adapter */
  along: AlongState;
}

export interface AlongState {
  status: 'idle' | 'running' | 'done' | 'cancelled' | 'error';
  runId?: string;
  /** the points' steps (0 = the base model), and how many are done */
  steps: number[];
  done: number;
  /** the point in flight and its report's progress */
  step?: number;
  phase?: string;
  phaseDone?: number;
  phaseTotal?: number;
  trajectory?: Trajectory;
  /** what the trajectory inherits from the sets and the run's data (its download's governance.json); null: nothing */
  terms?: ReportTerms | null;
  /** the adapter put back at the end (or why it could not be) */
  restored?: string;
  error?: ErrorView;
}

export interface AnalyzeSlice {
  analysis: AnalyzeState;
  setAnalyzeSet(key: SetKey, choice: SetChoice): void;
  setAnalyzeSettings(patch: Partial<AnalyzeSettings>): void;
  /** runs the report of both sets on the loaded model; the result replaces the last report */
  runAnalyze(): Promise<void>;
  cancelAnalyze(): void;
  /** reads the kept report, the pinned one and the sets and settings from IndexedDB, unless they are already here (or changed) */
  restoreAnalysis(): Promise<void>;
  /** pins the current report as "before" (replacing a pinned one); the comparison is off until asked for */
  pinAnalysis(): Promise<void>;
  /** forgets the pinned report */
  unpinAnalysis(): Promise<void>;
  /** shows or hides the diff of the current report against the pinned one */
  setAnalyzeCompare(on: boolean): void;
  setAnalyzeAllowDifferentModel(on: boolean): void;
  /**
   * The report for the base model and for each checkpoint of stored run `runId` (every `every`-th, and the
   * last), each with that checkpoint's adapter switched on, then the series across them (trajectory.ts).
   * The adapter active before is switched back on at the end.
   */
  runAlong(runId: string, every: number): Promise<void>;
  cancelAlong(): void;
}

type Set<S> = (partial: Partial<S>) => void;
type Needs = AnalyzeSlice & {
  model: { status: string; summary?: ModelSummary };
  adapterBusy: boolean;
  adapterError?: { message: string };
  runs: { list: RunRecord[] };
  useAdapter(adapter: { runId: string } | { name: string; files: Record<string, Uint8Array> } | null): Promise<void>;
};

/** The checkpoints a trajectory visits (trajectory.ts's checkpointSteps, as `lab analyze checkpoints --every`). */
export const alongSteps = checkpointSteps;

export function createAnalyzeSlice<S extends Needs>(engine: Engine, set: Set<S>, get: () => S, opts: { inputsKv?: Kv | null } = {}): AnalyzeSlice {
  let ctl: AbortController | null = null;
  // the sets and settings, kept a moment after the last change (./analyze/persist.ts); `touched`: changed since the page opened
  let touched = false;
  const keeper = later(() => {
    const { sets, settings } = get().analysis;
    return saveInputs({ sets, settings }, opts.inputsKv).catch((e) => setA({ saveError: `The sets and settings could not be kept for the next visit: ${errorView(e).message}` }));
  });
  const keepInputs = () => {
    touched = true;
    keeper.schedule();
  };
  let restoring: Promise<void> | null = null;
  const setA = (patch: Partial<AnalyzeState>) => set({ analysis: { ...get().analysis, ...patch } } as Partial<S>);
  let alongCtl: AbortController | null = null;
  const setAlong = (patch: Partial<AlongState>) => setA({ along: { ...get().analysis.along, ...patch } });
  /** The engine's request for the page's two sets and settings. */
  const requestOf = async (a: AnalyzeState): Promise<AnalyzeRequest> => {
    const s = a.settings;
    const [sa, sb] = await Promise.all([analysisSet(a.sets.a, s), analysisSet(a.sets.b, s)]);
    return { a: sa, b: sb, n: s.n, seed: s.seed, queries: s.queries, ablation: s.ablation, nBoot: s.nBoot, nPerm: s.nPerm };
  };
  /** Switches the adapter through the store (the header follows); throws what the switch reported. */
  const switchAdapter = async (adapter: Parameters<Needs['useAdapter']>[0]) => {
    await get().useAdapter(adapter);
    const e = get().adapterError;
    if (e) throw new Error(`switching the adapter failed: ${e.message}`);
  };
  const ended = (): AnalyzeRunProgress | undefined => {
    const p = get().analysis.progress;
    return p && { ...p, endedAt: Date.now() };
  };

  return {
    analysis: { status: 'idle', sets: defaultSets(), settings: { ...DEFAULT_SETTINGS }, comparing: false, allowDifferentModel: false, along: { status: 'idle', steps: [], done: 0 } },

    setAnalyzeSet(key, choice) {
      setA({ sets: { ...get().analysis.sets, [key]: choice } });
      keepInputs();
    },

    setAnalyzeSettings(patch) {
      setA({ settings: { ...get().analysis.settings, ...patch } });
      keepInputs();
    },

    async runAnalyze() {
      if (ctl) return; // one at a time
      const { summary, status } = get().model;
      const a = get().analysis;
      const fail = (message: string) => setA({ status: 'error', error: errorView(new Error(message)) });
      if (alongCtl) return fail('The analysis along a run is in progress: wait for it, or cancel it.');
      if (!summary) return fail(status === 'loading' ? 'The model is still loading: run the analysis once it is ready.' : 'No model is loaded: load one on the Models page first.');
      if (get().adapterBusy) return fail('The adapter is being switched: run the analysis once the header shows the new one.');
      const bad = Object.entries(settingsProblems(a.settings)).map(([k, v]) => `${k}: ${v}`);
      const setBad = SET_KEYS.flatMap((k) => (setProblem(a.sets[k]) ? [`set ${k.toUpperCase()}: ${setProblem(a.sets[k])}`] : []));
      if (bad.length || setBad.length) return fail(`Fix the inputs first: ${[...setBad, ...bad].join('; ')}.`);
      const c = (ctl = new AbortController());
      const t0 = Date.now();
      setA({ status: 'running', error: undefined, cancelling: false, progress: { phase: 'preparing', done: 0, total: 1, startedAt: t0, phaseStartedAt: t0, lastAt: t0, seen: [] } });
      try {
        const req = await requestOf(a);
        const onProgress = (p: AnalyzeProgress) => {
          const prev = get().analysis.progress!;
          const fresh = p.phase !== prev.phase;
          // a phase's first report comes after its first step: it began when the previous phase last reported
          const phaseStartedAt = fresh ? prev.lastAt : prev.phaseStartedAt;
          setA({ progress: { ...prev, phase: p.phase, done: p.done, total: p.total, phaseStartedAt, lastAt: Date.now(), seen: fresh && !prev.seen.includes(p.phase) ? [...prev.seen, p.phase] : prev.seen } });
        };
        const report = await engine.analyzeReport(req, onProgress, c.signal);
        setA({ status: 'done', report, reportFrom: 'run', saveError: undefined, cancelling: false, progress: ended() });
        await saveLastReport(report).catch((e) => setA({ saveError: `The report could not be kept for the next visit: ${errorView(e).message}` }));
      } catch (e) {
        const error = errorView(e);
        setA({ status: error.name === 'CancelledError' || c.signal.aborted ? 'cancelled' : 'error', error, cancelling: false, progress: ended() });
      } finally {
        ctl = null;
      }
    },

    cancelAnalyze() {
      if (!ctl || ctl.signal.aborted) return;
      ctl.abort();
      setA({ cancelling: true });
    },

    restoreAnalysis() {
      restoring ??= (async () => {
        const last = (async () => {
          try {
            const report = await loadLastReport();
            if (report && !get().analysis.report) setA({ report, reportFrom: 'saved' });
          } catch (e) {
            setA({ saveError: `The kept report could not be read: ${errorView(e).message}` });
          }
        })();
        const pinned = (async () => {
          try {
            const p = await loadPinnedReport();
            if (p && !get().analysis.pinned) setA({ pinned: p.report, pinnedAt: p.pinnedAt });
          } catch (e) {
            setA({ pinError: `The pinned report could not be read: ${errorView(e).message}` });
          }
        })();
        const inputs = (async () => {
          try {
            const k = await loadInputs(opts.inputsKv);
            if (k && !touched && !ctl) setA({ sets: k.sets, settings: { ...DEFAULT_SETTINGS, ...k.settings } });
          } catch (e) {
            setA({ saveError: `The sets and settings of the last visit could not be read: ${errorView(e).message}` });
          }
        })();
        await Promise.all([last, pinned, inputs]);
      })();
      return restoring;
    },

    async pinAnalysis() {
      const report = get().analysis.report;
      if (!report) return;
      const pinnedAt = new Date().toISOString();
      setA({ pinned: report, pinnedAt, pinError: undefined, comparing: false });
      await savePinnedReport(report, pinnedAt).catch((e) => setA({ pinError: `The pinned report could not be kept for the next visit: ${errorView(e).message}` }));
    },

    async unpinAnalysis() {
      setA({ pinned: undefined, pinnedAt: undefined, pinError: undefined, comparing: false });
      await clearPinnedReport().catch((e) => setA({ pinError: `The pinned report could not be forgotten in IndexedDB (it comes back on reload): ${errorView(e).message}` }));
    },

    setAnalyzeCompare(on) {
      setA({ comparing: on && !!get().analysis.pinned });
    },

    setAnalyzeAllowDifferentModel(on) {
      setA({ allowDifferentModel: on });
    },

    async runAlong(runId, every) {
      if (alongCtl || ctl) return; // one analysis at a time
      const fail = (message: string) => setAlong({ status: 'error', runId, error: errorView(new Error(message)) });
      const { summary } = get().model;
      if (!summary) return fail('No model is loaded: load the model the run trained, then analyse it.');
      const rec = get().runs.list.find((r) => r.id === runId);
      if (!rec) return fail(`Run ${runId} is not stored any more.`);
      if (rec.config.full) return fail(`Run ${rec.name} trained every weight: its checkpoints are whole models, which the page does not load as adapters (use lab analyze checkpoints).`);
      if (rec.model !== summary.name) return fail(`Run ${rec.name} trained ${rec.model}; the loaded model is ${summary.name}.`);
      if (!Number.isInteger(every) || every < 1) return fail('"Every" must be a whole number ≥ 1.');
      const steps = alongSteps(rec.checkpoints, every);
      if (!steps.length) return fail(`Run ${rec.name} has no checkpoints (train with checkpoints every few steps).`);
      const a = get().analysis;
      const bad = Object.entries(settingsProblems(a.settings)).map(([k, v]) => `${k}: ${v}`);
      const setBad = SET_KEYS.flatMap((k) => (setProblem(a.sets[k]) ? [`set ${k.toUpperCase()}: ${setProblem(a.sets[k])}`] : []));
      if (bad.length || setBad.length) return fail(`Fix the inputs first: ${[...setBad, ...bad].join('; ')}.`);
      // the adapter to put back: a stored run's result, or the base model (imported files cannot be re-read)
      const before = summary.adapter?.name ?? null;
      const beforeRun = runIdOfActive(before, get().runs.list);
      const c = (alongCtl = new AbortController());
      const all = [0, ...steps];
      setAlong({ status: 'running', runId, steps: all, done: 0, step: 0, trajectory: undefined, terms: undefined, error: undefined, restored: undefined });
      const points: { step: number; report: ReportData }[] = [];
      try {
        const req = await requestOf(a);
        for (const step of all) {
          if (c.signal.aborted) throw Object.assign(new Error('Cancelled between points.'), { name: 'CancelledError' });
          setAlong({ step, phase: 'switching the adapter', phaseDone: 0, phaseTotal: 1 });
          await switchAdapter(step === 0 ? null : { name: `${rec.name} · checkpoint ${step}`, files: await engine.runFiles(runId, { checkpoint: step }) });
          const report = await engine.analyzeReport(req, (p) => setAlong({ phase: p.phase, phaseDone: p.done, phaseTotal: p.total }), c.signal);
          points.push({ step, report });
          setAlong({ done: points.length });
        }
        setAlong({ status: 'done', trajectory: buildTrajectory(points, { top: 10 }), terms: reportTerms(points.map((p) => p.report)), step: undefined });
      } catch (e) {
        const error = errorView(e);
        setAlong({ status: error.name === 'CancelledError' || c.signal.aborted ? 'cancelled' : 'error', error, step: undefined });
      } finally {
        alongCtl = null;
        try {
          await switchAdapter(beforeRun ? { runId: beforeRun } : null);
          setAlong({ restored: beforeRun ? `The adapter of run ${beforeRun} is active again.` : before ? `The adapter ${before} was imported: the base model is active now (import it again to go on with it).` : 'The base model is active again.' });
        } catch (e) {
          setAlong({ restored: `The adapter active before could not be switched back on: ${errorView(e).message}` });
        }
      }
    },

    cancelAlong() {
      alongCtl?.abort();
    },
  };
}
