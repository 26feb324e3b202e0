// The Evaluate page's state: the form (./evaluate/form.ts: data, metric, which models, settings), the
// evaluation in flight (model i of n, rows answered, since when: the page shows a bar and the ETA the
// engine estimates) and the last table. The table is Engine.evaluate's EvalTable — the code `lab eval
// --adapters` runs — on the loaded model with finished runs' adapters applied in turn; it is kept here
// and in IndexedDB (./evaluate/persist.ts), so a reload shows it again, as it shows the form. One
// evaluation at a time; Cancel aborts it (the engine answers CancelledError within a generation step)
// and leaves the last table as it was.
import type { EvaluateProgress, Engine, EvalTable, ModelSummary, RunRecord } from '../engine/api.ts';
import { errorView, type ErrorView } from './errors.ts';
import { later, type Kv } from './kept.ts';
import { DEFAULT_FORM, evalRequest, formProblems, runProblem, type EvalForm } from './evaluate/form.ts';
import { clearTable, loadForm, loadTable, saveForm, saveTable } from './evaluate/persist.ts';

export interface EvalRunProgress extends EvaluateProgress {
  /** Date.now() at the start, at the engine's last report, and when it ended */
  startedAt: number;
  lastAt: number;
  endedAt?: number;
}

export interface EvaluateState {
  status: 'idle' | 'running' | 'done' | 'cancelled' | 'error';
  form: EvalForm;
  progress?: EvalRunProgress;
  /** Cancel was pressed: the engine stops within the generation step in flight */
  cancelling?: boolean;
  /** the last table: this session's last finished evaluation, or the one kept from before a reload */
  table?: EvalTable;
  tableFrom?: 'run' | 'saved';
  /** the table or the form could not be kept in (or read from) IndexedDB */
  saveError?: string;
  error?: ErrorView;
}

export interface EvaluateSlice {
  evaluation: EvaluateState;
  setEvalForm(patch: Partial<EvalForm>): void;
  /** evaluates the form's models on its data; the table replaces the last one */
  runEvaluate(): Promise<void>;
  cancelEvaluate(): void;
  /** reads the kept table and form from IndexedDB, unless this session already has (or changed) them */
  restoreEvaluation(): Promise<void>;
  /** forgets the table, here and in IndexedDB */
  clearEvaluation(): Promise<void>;
}

type Set<S> = (partial: Partial<S>) => void;
type Needs = EvaluateSlice & {
  model: { status: string; summary?: ModelSummary };
  adapterBusy: boolean;
  runs: { status: string; list: RunRecord[] };
};

export function createEvaluateSlice<S extends Needs>(engine: Engine, set: Set<S>, get: () => S, opts: { kv?: Kv | null } = {}): EvaluateSlice {
  let ctl: AbortController | null = null;
  // `touched`: the form changed since the page opened, so the kept one no longer replaces it
  let touched = false;
  let restoring: Promise<void> | null = null;
  const setE = (patch: Partial<EvaluateState>) => set({ evaluation: { ...get().evaluation, ...patch } } as Partial<S>);
  // undefined: IndexedDB (persist.ts's default); tests give a Map-backed Kv or null
  const kv = opts.kv;
  const keeper = later(() => saveForm(get().evaluation.form, kv).catch((e) => setE({ saveError: `The form could not be kept for the next visit: ${errorView(e).message}` })));
  const ended = (): EvalRunProgress | undefined => {
    const p = get().evaluation.progress;
    return p && { ...p, endedAt: Date.now() };
  };

  return {
    evaluation: { status: 'idle', form: { ...DEFAULT_FORM } },

    setEvalForm(patch) {
      touched = true;
      setE({ form: { ...get().evaluation.form, ...patch } });
      keeper.schedule();
    },

    async runEvaluate() {
      if (ctl) return; // one at a time
      const { summary, status } = get().model;
      let form = get().evaluation.form;
      const fail = (message: string) => setE({ status: 'error', error: errorView(new Error(message)) });
      if (!summary) return fail(status === 'loading' ? 'The model is still loading: evaluate once it is ready.' : 'No model is loaded: load one on the Models page first.');
      if (get().adapterBusy) return fail('The adapter is being switched: evaluate once the header shows the new one.');
      // the chosen runs as listed now: one deleted since it was ticked (it is no longer shown) is dropped
      const { list: runs, status: runsStatus } = get().runs;
      if (form.runIds.length && runsStatus !== 'ready') return fail('The stored runs are still being read: evaluate again in a moment.');
      if (form.runIds.some((id) => !runs.some((r) => r.id === id))) {
        form = { ...form, runIds: form.runIds.filter((id) => runs.some((r) => r.id === id)) };
        get().setEvalForm({ runIds: form.runIds });
      }
      const bad = Object.entries(formProblems(form)).map(([k, v]) => `${k}: ${v}`);
      if (bad.length) return fail(`Fix the inputs first: ${bad.join('; ')}.`);
      for (const id of form.runIds) {
        const r = runs.find((x) => x.id === id)!;
        const why = runProblem(r, summary);
        if (why) return fail(`Run ${r.name} (${r.id}) cannot be evaluated here: ${why}.`);
      }
      if (summary.adapter && form.runIds.length) {
        return fail(`The adapter “${summary.adapter.name}” is active (merged into the weights): switch to the base model first, so that the base row is the base model and each run's adapter is applied to it alone.`);
      }
      const c = (ctl = new AbortController());
      const t0 = Date.now();
      const models = (form.base ? 1 : 0) + form.runIds.length;
      setE({ status: 'running', error: undefined, cancelling: false, progress: { phase: 'adapter', model: 0, models, label: '', done: 0, total: 0, etaSec: null, startedAt: t0, lastAt: t0 } });
      try {
        const table = await engine.evaluate(evalRequest(form), (p) => setE({ progress: { ...get().evaluation.progress!, ...p, lastAt: Date.now() } }), c.signal);
        setE({ status: 'done', table, tableFrom: 'run', saveError: undefined, cancelling: false, progress: ended() });
        await saveTable(table, kv).catch((e) => setE({ saveError: `The table could not be kept for the next visit: ${errorView(e).message}` }));
      } catch (e) {
        const error = errorView(e);
        setE({ status: error.name === 'CancelledError' || c.signal.aborted ? 'cancelled' : 'error', error, cancelling: false, progress: ended() });
      } finally {
        ctl = null;
      }
    },

    cancelEvaluate() {
      if (!ctl || ctl.signal.aborted) return;
      ctl.abort();
      setE({ cancelling: true });
    },

    restoreEvaluation() {
      restoring ??= (async () => {
        try {
          const t = await loadTable(kv);
          if (t && !get().evaluation.table) setE({ table: t, tableFrom: 'saved' });
        } catch (e) {
          setE({ saveError: `The kept table could not be read: ${errorView(e).message}` });
        }
        try {
          const f = await loadForm(kv);
          if (f && !touched && !ctl) setE({ form: { ...DEFAULT_FORM, ...f } });
        } catch (e) {
          setE({ saveError: `The form of the last visit could not be read: ${errorView(e).message}` });
        }
      })();
      return restoring;
    },

    async clearEvaluation() {
      setE({ table: undefined, tableFrom: undefined, progress: get().evaluation.status === 'running' ? get().evaluation.progress : undefined });
      await clearTable(kv).catch((e) => setE({ saveError: `The table could not be forgotten in IndexedDB (it comes back on reload): ${errorView(e).message}` }));
    },
  };
}
