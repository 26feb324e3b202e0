// The Analyze page (issue 12, the browser side of the report): which attention heads the loaded model
// uses for one prompt set against another (by default the embedded arithmetic problems vs the Velmic
// puzzles), and which of them the answer needs. Engine.analyzeReport computes what `lab analyze
// report` does (head statistics and each head's selectivity with bootstrap CIs and permutation tests,
// the logit lens at the final answer, the all-heads ablation sweep); the page shows its progress by
// phase, lets it be cancelled, and renders the report with the engine's renderReport in a sandboxed
// iframe, with its downloads. The last report stays in the store and in IndexedDB (./analyzeSlice.ts).
// Along a run (./analyze/AlongRun.tsx): the report at each checkpoint of a stored run and the series across them.
// Before/after (./analyze/BeforeAfter.tsx): a report pinned as "before" and the current one's diff
// against it — which heads changed selectivity or causal effect with an adapter or another checkpoint.
import { useEffect, useRef } from 'react';
import { ErrorBox, useLab } from './lab.tsx';
import { NumField } from './train/NumField.tsx';
import { SetPicker } from './analyze/SetPicker.tsx';
import { RunProgress } from './analyze/RunProgress.tsx';
import { ReportView } from './analyze/ReportView.tsx';
import { AdapterLine } from './analyze/AdapterLine.tsx';
import { BeforeAfter } from './analyze/BeforeAfter.tsx';
import { AlongRun } from './analyze/AlongRun.tsx';
import { setProblem, settingsProblems, SET_KEYS, type AnalyzeSettings } from './analyze/sets.ts';
import './train/train.css'; // NumField's styles
import './analyze/analyze.css';

export function AnalyzePage() {
  const summary = useLab((s) => s.model.summary);
  const modelStatus = useLab((s) => s.model.status);
  const adapterBusy = useLab((s) => s.adapterBusy);
  const a = useLab((s) => s.analysis);
  const setSet = useLab((s) => s.setAnalyzeSet);
  const setSettings = useLab((s) => s.setAnalyzeSettings);
  const run = useLab((s) => s.runAnalyze);
  const cancel = useLab((s) => s.cancelAnalyze);
  const restore = useLab((s) => s.restoreAnalysis);
  const refreshRuns = useLab((s) => s.refreshRuns);
  // the kept report (IndexedDB) and the runs whose adapters can be switched to
  useEffect(() => void restore(), [restore]);
  useEffect(() => void refreshRuns(), [refreshRuns]);

  // a run that finishes brings its report into view (the form fills most of a laptop screen), or its
  // comparison with the pinned report when that is on
  const was = useRef(a.status);
  const comparing = a.comparing && !!a.pinned;
  useEffect(() => {
    if (was.current === 'running' && a.status === 'done') document.getElementById(comparing ? 'analyze-ba' : 'analyze-result')?.scrollIntoView({ block: 'start' });
    was.current = a.status;
  }, [a.status, comparing]);

  const s = a.settings;
  const problems = settingsProblems(s);
  const running = a.status === 'running';
  const inputsOk = !Object.keys(problems).length && SET_KEYS.every((k) => !setProblem(a.sets[k]));
  const canRun = !!summary && modelStatus === 'ready' && !adapterBusy && !running && inputsOk;
  const field = <K extends keyof AnalyzeSettings>(k: K) => (v: AnalyzeSettings[K]) => setSettings({ [k]: v } as Partial<AnalyzeSettings>);
  // prompts the run will use: n per set, or all of a smaller file
  const used = (k: (typeof SET_KEYS)[number]) => (a.sets[k].kind === 'file' && a.sets[k].name ? Math.min(s.n, (a.sets[k] as { rows: number }).rows) : s.n);
  const prompts = used('a') + used('b');
  const cost = summary && Number.isInteger(s.n) ? `${prompts} prompts; the ablation sweep runs each of them once per head (${summary.n_layers} × ${summary.n_heads} = ${summary.n_layers * summary.n_heads} heads).` : '';

  return (
    <div className="analyze-page" data-testid="analyze-page" data-status={a.status}>
      <section className="panel" aria-labelledby="analyze-h">
        <h2 id="analyze-h">Analyze: which attention heads the model uses for each task, and which matter</h2>
        <p className="muted">
          Two prompt sets through the loaded model{summary ? <> (<strong>{summary.name}</strong>)</> : null}: per head, how its attention differs between them (Cohen’s <em>d</em>,
          bootstrap CIs, permutation tests with BH q-values, raw and at equal positions), where the final answer forms (logit lens) and how much the answer loses when
          each head is ablated. The same report as <code>lab analyze report</code>.
        </p>
        <AdapterLine disabled={running} />
        {!summary ? (
          <p className="notice" data-testid="analyze-no-model">
            {modelStatus === 'loading' ? 'Loading the model…' : <>No model is loaded yet: load one on the <a href="#/models">Models</a> page.</>}
          </p>
        ) : null}
        <form className="analyze-form" onSubmit={(e) => (e.preventDefault(), canRun && void run())}>
          <div className="analyze-sets">
            {SET_KEYS.map((k) => (
              <SetPicker key={k} which={k} choice={a.sets[k]} onChange={(c) => setSet(k, c)} n={s.n} seed={s.seed} disabled={running} />
            ))}
          </div>
          <fieldset className="analyze-settings" disabled={running}>
            <legend>Settings</legend>
            <div className="controls">
              <NumField label="Prompts per set" value={s.n} onChange={field('n')} testid="analyze-n" error={problems.n} />
              <NumField label="Seed" value={s.seed} onChange={field('seed')} testid="analyze-seed" error={problems.seed} />
              <label className="field">
                <span>Queries</span>
                <select value={s.queries} onChange={(e) => setSettings({ queries: e.target.value as AnalyzeSettings['queries'] })} data-testid="analyze-queries">
                  <option value="answer">answer positions</option>
                  <option value="prompt">prompt positions</option>
                  <option value="all">all positions</option>
                </select>
              </label>
              <label className="field">
                <span>Ablation</span>
                <select value={s.ablation} onChange={(e) => setSettings({ ablation: e.target.value as AnalyzeSettings['ablation'] })} data-testid="analyze-ablation">
                  <option value="zero">zero (head output set to 0)</option>
                  <option value="mean">mean (over the prompt set)</option>
                </select>
              </label>
              <NumField label="Bootstrap resamples" value={s.nBoot} onChange={field('nBoot')} testid="analyze-boot" error={problems.nBoot} />
              <NumField label="Permutations" value={s.nPerm} onChange={field('nPerm')} testid="analyze-perm" error={problems.nPerm} />
            </div>
            {cost ? <p className="muted small">{cost}</p> : null}
          </fieldset>
          <div className="actions">
            <button type="submit" disabled={!canRun} data-testid="analyze-run">
              {running ? 'Running…' : a.report ? 'Run again' : 'Run the analysis'}
            </button>
            <button type="button" className="secondary" disabled={!running || a.cancelling} onClick={cancel} data-testid="analyze-cancel">
              {a.cancelling ? 'Cancelling…' : 'Cancel'}
            </button>
            {running && a.cancelling ? <span className="muted small">the engine stops after the batch or head in flight</span> : null}
            {!inputsOk && !running ? <span className="bad small">Fix the marked inputs to run.</span> : null}
          </div>
        </form>
        {a.progress ? <RunProgress status={a.status} progress={a.progress} /> : null}
        {a.status === 'cancelled' ? (
          <p className="notice" role="status" data-testid="analyze-cancelled">
            Cancelled. {a.report ? 'The report below is the last one that finished.' : 'No report yet.'}
          </p>
        ) : null}
        {a.status === 'error' && a.error ? <ErrorBox title="The analysis did not finish" error={a.error} testid="analyze-error" /> : null}
        {a.saveError ? (
          <p className="muted small" role="status" data-testid="analyze-save-error">
            {a.saveError}
          </p>
        ) : null}
      </section>
      {a.report || a.pinned ? <BeforeAfter running={running} /> : null}
      {summary ? <AlongRun busy={running || adapterBusy || modelStatus !== 'ready'} /> : null}
      {a.report ? (
        <ReportView report={a.report} summary={summary} from={a.reportFrom} running={running} />
      ) : (
        <section className="panel muted" data-testid="analyze-empty">
          No report yet: run the analysis. A finished report stays here (and across reloads) until the next one replaces it.
        </section>
      )}
    </div>
  );
}
