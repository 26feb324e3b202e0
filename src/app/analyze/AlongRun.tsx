// Along a run on the Analyze page (issue 12, item 5: "on each checkpoint of a run"): pick a stored LoRA run
// of the loaded model, and the report is made for the base model and for each chosen checkpoint's adapter
// (the store's runAlong), with the same sets and settings as the report above; then the series across them
// (src/engine/analysis/trajectory.ts, what `lab analyze checkpoints` writes): the answer's log-prob per step
// and task, and the heads whose ablation effect or selectivity moved most. trajectory.json downloads.
import { useMemo, useState } from 'react';
import { trajectoryToJson, type Trajectory } from '../../engine/analysis/trajectory.ts';
import type { ReportTerms } from '../../engine/analysis/report-terms.ts';
import { ErrorBox, useLab } from '../lab.tsx';
import { NumField } from '../train/NumField.tsx';
import { downloadFiles } from '../train/download.ts';
import { alongSteps } from '../analyzeSlice.ts';

const fmt = (x: number) => (Number.isFinite(x) ? (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(2)) : String(x));

export function AlongRun({ busy }: { busy: boolean }) {
  const summary = useLab((s) => s.model.summary);
  const runs = useLab((s) => s.runs.list);
  const along = useLab((s) => s.analysis.along);
  const runAlong = useLab((s) => s.runAlong);
  const cancel = useLab((s) => s.cancelAlong);
  const choices = useMemo(() => runs.filter((r) => !r.config.full && r.checkpoints.length > 0 && r.model === summary?.name), [runs, summary?.name]);
  const [pick, setPick] = useState('');
  const [every, setEvery] = useState(1);
  const runId = pick || choices[0]?.id || '';
  const rec = choices.find((r) => r.id === runId);
  const running = along.status === 'running';
  const steps = rec && Number.isInteger(every) && every >= 1 ? alongSteps(rec.checkpoints, every) : [];
  return (
    <section className="panel analyze-along" aria-labelledby="analyze-along-h" data-testid="analyze-along" data-status={along.status}>
      <h2 id="analyze-along-h">Along a run</h2>
      <p className="muted">
        The report for the base model and for each checkpoint of a stored run (its adapter switched on in turn), with the sets and settings above; then how the answer’s
        log-probability and each head’s causal effect and selectivity change from step to step. The adapter active now is switched back on at the end.
      </p>
      {!choices.length ? (
        <p className="muted small" data-testid="analyze-along-none">
          No stored LoRA run of {summary?.name ?? 'the loaded model'} has checkpoints: train one on the Train page with checkpoints every few steps.
        </p>
      ) : (
        <div className="controls">
          <label className="field">
            <span>Run</span>
            <select value={runId} disabled={running || busy} onChange={(e) => setPick(e.target.value)} data-testid="analyze-along-run">
              {choices.map((r) => (
                <option key={r.id} value={r.id}>
                  {r.name} · run {r.id} · checkpoints {r.checkpoints.join(', ')}
                </option>
              ))}
            </select>
          </label>
          <NumField label="Every k-th checkpoint" value={every} onChange={setEvery} testid="analyze-along-every" error={Number.isInteger(every) && every >= 1 ? undefined : 'a whole number ≥ 1'} />
          <div className="actions">
            {running ? (
              <button type="button" onClick={cancel} data-testid="analyze-along-cancel">
                Cancel
              </button>
            ) : (
              <button type="button" disabled={busy || !steps.length} onClick={() => void runAlong(runId, every)} data-testid="analyze-along-start">
                Analyse {steps.length + 1} points (base, step{steps.length === 1 ? '' : 's'} {steps.join(', ')})
              </button>
            )}
          </div>
        </div>
      )}
      {running ? (
        <p className="small" role="status" data-testid="analyze-along-progress">
          Point {Math.min(along.done + 1, along.steps.length)} of {along.steps.length} ({along.step === 0 ? 'the base model' : `checkpoint ${along.step}`}): {along.phase ?? 'starting'}
          {along.phaseTotal ? ` ${along.phaseDone}/${along.phaseTotal}` : ''}
        </p>
      ) : null}
      {(along.status === 'error' || along.status === 'cancelled') && along.error ? (
        <ErrorBox title={along.status === 'cancelled' ? 'Cancelled' : 'The analysis along the run did not finish'} error={along.error} testid="analyze-along-error" />
      ) : null}
      {along.restored && !running ? (
        <p className="muted small" data-testid="analyze-along-restored">
          {along.restored}
        </p>
      ) : null}
      {along.status === 'done' && along.trajectory ? <TrajectoryView t={along.trajectory} terms={along.terms ?? null} /> : null}
    </section>
  );
}

function TrajectoryView({ t, terms }: { t: Trajectory; terms: ReportTerms | null }) {
  const [error, setError] = useState('');
  const download = () => {
    const enc = new TextEncoder();
    setError('');
    try {
      // made from the run's checkpoints and the sets: it carries (and is exported under) their terms
      downloadFiles({ 'trajectory.json': enc.encode(trajectoryToJson(t)), ...(terms ? { 'governance.json': enc.encode(JSON.stringify(terms, null, 1)) } : {}) }, ['trajectory.json', 'governance.json']);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <div data-testid="analyze-trajectory" data-steps={t.steps.join(',')}>
      <table className="small" data-testid="analyze-trajectory-answer">
        <caption>Mean log-probability of the final answer’s tokens (the model’s own, after the last block)</caption>
        <thead>
          <tr>
            <th>step</th>
            <th>adapter</th>
            <th>{t.tasks.a.label}</th>
            <th>{t.tasks.b.label}</th>
          </tr>
        </thead>
        <tbody>
          {t.steps.map((s, i) => (
            <tr key={s}>
              <td>{s}</td>
              <td>{t.adapters[i] ?? 'base model'}</td>
              <td>{fmt(t.answer.a[i])}</td>
              <td>{fmt(t.answer.b[i])}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Heads whose causal effect moved most</h3>
      <ol className="small" data-testid="analyze-trajectory-causal">
        {t.top.causal.slice(0, 8).map((h) => (
          <li key={`${h.layer}.${h.head}.${h.what}`}>{h.line}</li>
        ))}
      </ol>
      <h3>Heads whose selectivity moved most</h3>
      <ol className="small" data-testid="analyze-trajectory-selectivity">
        {t.top.selectivity.slice(0, 8).map((h) => (
          <li key={`${h.layer}.${h.head}.${h.what}`}>{h.line}</li>
        ))}
      </ol>
      <p className="small muted">
        {t.changes.map((c) => `step ${c.step}: ${c.causal.ciDisjoint} of ${c.causal.pairs} ablation effects and ${c.selectivity.ciDisjoint} of ${c.selectivity.pairs} selectivities beyond their 95% CIs`).join(' · ')}
      </p>
      <button type="button" onClick={download} data-testid="analyze-trajectory-download">
        Download trajectory.json
      </button>
      {error ? (
        <p role="alert" className="bad small" data-testid="analyze-trajectory-download-error">
          {error}
        </p>
      ) : null}
    </div>
  );
}
