// The Evaluate page (#/evaluate, issue 13 item 4): the user's comparison table — the base model vs its
// SFT, GRPO and DPO adapters — on one set, with 95% CIs, a chart, CSV/JSON downloads and provenance.
// Engine.evaluate computes it (the code `lab eval --adapters` runs): every chosen model answers the same
// rows greedily, one after another on the one loaded base (each run's adapter applied unmerged), and each
// is scored with the chosen metric. The page picks the data (an embedded held-out set or a file), the
// metric and the models (the base and the finished runs, listed as the Runs page lists them), shows the
// progress (model i of n, rows, ETA) with Cancel, and keeps the last table across reloads
// (../evaluateSlice.ts).
import { useEffect, useRef } from 'react';
import { useNow } from '../useNow.ts';
import { EVAL_METRICS, type EvalMetric } from '../../rewards/metrics.ts';
import { ErrorBox, formatDuration, useLab } from '../lab.tsx';
import { NumField } from '../train/NumField.tsx';
import { DataChooser } from './DataChooser.tsx';
import { EvalResult } from './EvalResult.tsx';
import { KIND_COLOR } from './EvalChart.tsx';
import { formProblems, kindLabel, METRIC_TEXT, runProblem, type EvalForm } from './form.ts';
import type { EvaluateState } from '../evaluateSlice.ts';
import '../train/train.css'; // NumField's and the form's styles
import '../analyze/analyze.css';
import './evaluate.css';

export function EvaluatePage() {
  const summary = useLab((s) => s.model.summary);
  const modelStatus = useLab((s) => s.model.status);
  const adapterBusy = useLab((s) => s.adapterBusy);
  const e = useLab((s) => s.evaluation);
  const setForm = useLab((s) => s.setEvalForm);
  const run = useLab((s) => s.runEvaluate);
  const cancel = useLab((s) => s.cancelEvaluate);
  const restore = useLab((s) => s.restoreEvaluation);
  const clear = useLab((s) => s.clearEvaluation);
  const refreshRuns = useLab((s) => s.refreshRuns);
  useEffect(() => void restore(), [restore]);
  useEffect(() => void refreshRuns(), [refreshRuns]);
  // a finished evaluation brings its table into view
  const was = useRef(e.status);
  useEffect(() => {
    if (was.current === 'running' && e.status === 'done') document.getElementById('eval-result')?.scrollIntoView({ block: 'start' });
    was.current = e.status;
  }, [e.status]);

  const f = e.form;
  const problems = formProblems(f);
  const running = e.status === 'running';
  const canRun = !!summary && modelStatus === 'ready' && !adapterBusy && !running && !Object.keys(problems).length;
  const field = <K extends keyof EvalForm>(k: K) => (v: EvalForm[K]) => setForm({ [k]: v } as Partial<EvalForm>);

  return (
    <div className="evaluate-page" data-testid="evaluate-page" data-status={e.status}>
      <section className="panel" aria-labelledby="eval-h">
        <h2 id="eval-h">Evaluate: the base model and its adapters on the same set</h2>
        <p className="muted">
          Each chosen model answers the same rows{summary ? <> with <strong>{summary.name}</strong> as the base</> : null}, greedily; each is scored with one metric and a
          95% bootstrap confidence interval. The same numbers as <code>lab eval --adapters</code>.
        </p>
        {!summary ? (
          <p className="notice" data-testid="eval-no-model">
            {modelStatus === 'loading' ? 'Loading the model…' : <>No model is loaded yet: load one on the <a href="#/models">Models</a> page.</>}
          </p>
        ) : null}
        {summary?.adapter ? <ActiveAdapter name={summary.adapter.name} disabled={running || adapterBusy} /> : null}
        <form className="eval-form" onSubmit={(ev) => (ev.preventDefault(), canRun && void run())}>
          <fieldset className="eval-fields" disabled={running}>
            <DataChooser choice={f.data} onChange={(data) => setForm({ data })} errors={problems} />
            <Models form={f} onChange={setForm} error={problems.models} />
            <fieldset className="eval-box">
              <legend>Metric and settings</legend>
              <div className="controls">
                <label className="field grow">
                  <span>Metric</span>
                  <select value={f.metric} onChange={(ev) => setForm({ metric: ev.target.value as EvalMetric })} data-testid="eval-metric">
                    {EVAL_METRICS.map((m) => (
                      <option key={m} value={m} title={METRIC_TEXT[m]}>
                        {m}
                      </option>
                    ))}
                  </select>
                </label>
                <NumField label="New tokens at most" value={f.maxNewTokens} onChange={field('maxNewTokens')} testid="eval-max-new" error={problems.maxNewTokens} />
                <NumField label="Batch" value={f.batch} onChange={field('batch')} testid="eval-batch" error={problems.batch} />
                <NumField optional label="First rows only" value={f.limit} onChange={field('limit')} testid="eval-limit" error={problems.limit} placeholder="all" />
                <NumField label="Bootstrap seed" value={f.seed} onChange={field('seed')} testid="eval-seed" error={problems.seed} />
              </div>
              <p className="muted small" data-testid="eval-metric-text">
                {f.metric}: {METRIC_TEXT[f.metric]}.
              </p>
            </fieldset>
          </fieldset>
          <div className="actions">
            <button type="submit" disabled={!canRun} data-testid="eval-run">
              {running ? 'Evaluating…' : e.table ? 'Evaluate again' : 'Evaluate'}
            </button>
            <button type="button" className="secondary" disabled={!running || e.cancelling} onClick={cancel} data-testid="eval-cancel">
              {e.cancelling ? 'Cancelling…' : 'Cancel'}
            </button>
            {Object.keys(problems).length && !running ? <span className="bad small">Fix the marked inputs to evaluate.</span> : null}
          </div>
        </form>
        {e.progress ? <EvalProgress state={e} /> : null}
        {e.status === 'cancelled' ? (
          <p className="notice" role="status" data-testid="eval-cancelled">
            Cancelled. {e.table ? 'The table below is the last one that finished.' : 'No table yet.'}
          </p>
        ) : null}
        {e.status === 'error' && e.error ? <ErrorBox title="The evaluation did not finish" error={e.error} testid="eval-error" /> : null}
        {e.saveError ? (
          <p className="muted small" role="status" data-testid="eval-save-error">
            {e.saveError}
          </p>
        ) : null}
      </section>
      {e.table ? (
        <EvalResult table={e.table} from={e.tableFrom} running={running} onClear={() => void clear()} />
      ) : (
        <section className="panel muted" data-testid="eval-empty">
          No table yet: choose the models and evaluate. A finished table stays here (and across reloads) until the next one replaces it.
        </section>
      )}
    </div>
  );
}

/** A merged adapter is active: the base row would not be the base model. One click switches back. */
function ActiveAdapter({ name, disabled }: { name: string; disabled: boolean }) {
  const useAdapter = useLab((s) => s.useAdapter);
  return (
    <p className="notice" data-testid="eval-active-adapter">
      The adapter <strong>{name}</strong> is merged into the loaded weights: the base row would be that adapter, and runs’ adapters cannot be applied on it.{' '}
      <button type="button" className="secondary" disabled={disabled} onClick={() => void useAdapter(null)} data-testid="eval-use-base">
        Use the base model
      </button>
    </p>
  );
}

/** The base model and the stored runs: those that can make a row are ticked on or off; the others say why not. */
function Models({ form, onChange, error }: { form: EvalForm; onChange(p: Partial<EvalForm>): void; error?: string }) {
  const runs = useLab((s) => s.runs);
  const summary = useLab((s) => s.model.summary);
  const toggle = (id: string, on: boolean) => {
    // keep the runs in the list's order, so the table's rows follow it
    const ids = new Set(form.runIds);
    if (on) ids.add(id);
    else ids.delete(id);
    onChange({ runIds: runs.list.map((r) => r.id).filter((x) => ids.has(x)).concat([...ids].filter((x) => !runs.list.some((r) => r.id === x))) });
  };
  const usable = runs.list.filter((r) => !runProblem(r, summary));
  return (
    <fieldset className="eval-box eval-models" data-testid="eval-models">
      <legend>Models</legend>
      <ul>
        <li>
          <label className="check">
            <input type="checkbox" checked={form.base} onChange={(ev) => onChange({ base: ev.target.checked })} data-testid="eval-base" />
            <span className="eval-kind" style={{ borderColor: KIND_COLOR.base, color: KIND_COLOR.base }}>
              base
            </span>{' '}
            {summary?.name ?? 'the loaded model'}
          </label>
        </li>
        {runs.list.map((r) => {
          const why = runProblem(r, summary);
          const kind = kindLabel(r.kind);
          return (
            <li key={r.id} data-testid="eval-run-option" data-run-id={r.id} data-usable={String(!why)}>
              <label className={`check${why ? ' muted' : ''}`} title={why ?? undefined}>
                <input type="checkbox" disabled={!!why} checked={!why && form.runIds.includes(r.id)} onChange={(ev) => toggle(r.id, ev.target.checked)} data-testid="eval-run-check" />
                <span className="eval-kind" style={{ borderColor: KIND_COLOR[kind] ?? '#8a94a6', color: KIND_COLOR[kind] ?? '#8a94a6' }}>
                  {kind}
                </span>{' '}
                {r.name} <code className="small">{r.id}</code> <span className="small muted">· {r.data.name}, {r.step} steps{why ? ` — ${why}` : ''}</span>
              </label>
            </li>
          );
        })}
      </ul>
      {runs.status === 'ready' && !runs.list.length ? <p className="muted small">No runs yet: train an adapter on the Train page; finished runs appear here.</p> : null}
      {runs.list.length && !usable.length ? <p className="muted small">None of the stored runs has an adapter for this model yet.</p> : null}
      {error ? (
        <p className="bad small" data-testid="eval-models-error">
          {error}
        </p>
      ) : null}
    </fieldset>
  );
}

/** A duration in whole seconds (formatDuration rounds the seconds part alone: 239.6 s would read "3 min 60 s"). */
const secs = (s: number) => formatDuration(Math.round(s));

/** Model i of n, rows answered, the time so far and the engine's estimate of the time left. */
function EvalProgress({ state }: { state: EvaluateState }) {
  const p = state.progress!;
  const running = state.status === 'running';
  // the time so far ticks between the engine's reports (a batch of long answers takes a while)
  const now = useNow(running);
  const all = Math.max(1, p.models * p.total);
  const done = p.model * p.total + p.done;
  return (
    <div className="eval-progress" data-testid="eval-progress" data-status={state.status} data-model={p.model} data-done={p.done} aria-live="polite">
      {running ? (
        <div className="progress">
          <progress value={p.total ? done : 0} max={all} aria-label={`${done} of ${all} answers`} />
          <span>
            {p.label ? (
              <>
                Model {p.model + 1} of {p.models}: <strong>{p.label}</strong> — {p.done} / {p.total} rows
              </>
            ) : (
              'Making the rows and reading the adapters…'
            )}
          </span>
          <span className="muted small" data-testid="eval-eta">
            {secs((Math.max(now, p.lastAt) - p.startedAt) / 1000)} so far{p.etaSec !== null ? ` · about ${secs(p.etaSec)} left` : ''}
          </span>
        </div>
      ) : (
        <p className="muted small">
          {state.status === 'done' ? 'Finished' : state.status === 'cancelled' ? `Cancelled at model ${p.model + 1} of ${p.models}` : state.status === 'error' ? 'Stopped' : ''}
          {p.endedAt ? ` after ${secs((p.endedAt - p.startedAt) / 1000)}.` : null}
        </p>
      )}
    </div>
  );
}
