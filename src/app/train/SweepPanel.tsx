// The Train page's Sweep section (SFT): lists of learning rates and LoRA ranks (the user's 1e-4 / 2e-4 /
// 3e-4 × 8 / 16 / 32 by default), how α follows the rank, the eval score each run gets, the grid's size and
// an estimated time, Start sweep; while it runs, run i of N, the step, the time left over the whole sweep,
// pause / resume / cancel and the table filling in; a sweep that stopped (cancelled, or its page closed)
// says where and offers Continue. Every action is the store's (../sweepSlice.ts); the current run's
// charts are the live run view below, as for a single run.
import { useEffect, useMemo } from 'react';
import { TASKS } from '../../tasks/index.ts';
import { ErrorBox, formatDuration, useLab } from '../lab.tsx';
import { continueBlocker, sweepBlocker } from '../sweepSlice.ts';
import { NumField } from './NumField.tsx';
import { evalMetricText, SweepTable } from './SweepGrid.tsx';
import { checkSweepForm, estimateSec, fmtLr, measuredRates, stoppedAt, sweepEta, type SweepForm, type SweepRecord } from './sweep.ts';
import './sweep.css';

export function SweepPanel() {
  const state = useLab((s) => s);
  const form = state.sweepForm;
  const setForm = state.setSweepForm;
  const { restoreSweeps, estimateSweepStep, refreshRuns } = state;
  const check = useMemo(() => checkSweepForm(form), [form]);
  const c = state.trainConfig;
  const points = check.lrs.length * check.ranks.length;
  const active = state.sweepActive;
  const blocked = sweepBlocker(state);
  const rows = c.batchSize * c.gradAccum;
  const model = state.model.summary?.name;
  useEffect(() => void restoreSweeps(), [restoreSweeps]);
  useEffect(() => void refreshRuns(), [refreshRuns]);
  useEffect(() => void estimateSweepStep(), [estimateSweepStep, model, rows, state.runs.list.length]);

  const rec = active ? state.sweeps.list.find((s) => s.id === active.id) : undefined;
  // the newest sweep that stopped before its end, to continue
  const stopped = !active ? state.sweeps.list.find((s) => ['interrupted', 'cancelled', 'failed'].includes(s.status)) : undefined;
  const est = estimateSec(points, c.steps, state.sweepStepEstimate?.secPerStep ?? null);
  const disabled = !!active;
  const field = (label: string, key: 'lrs' | 'ranks', hint: string) => (
    <label className="field sweep-list">
      <span>{label}</span>
      <input value={form[key]} disabled={disabled} onChange={(e) => setForm({ [key]: e.target.value })} aria-invalid={check.errors[key] ? true : undefined} data-testid={`sweep-${key}`} />
      {check.errors[key] ? (
        <span className="field-error wide" data-testid={`sweep-${key}-error`}>
          {check.errors[key]}
        </span>
      ) : (
        <span className="field-hint wide">{hint}</span>
      )}
    </label>
  );

  return (
    <section className="panel sweep-panel" data-testid="sweep-panel" data-status={active ? (active.paused ? 'paused' : 'running') : 'idle'} aria-labelledby="sweep-h">
      <h2 id="sweep-h">Sweep: learning rate × LoRA rank</h2>
      <p className="small muted">
        One LoRA SFT run per grid point, one after another in the engine worker, each with the settings above (steps, schedule, batch, targets, dropout, seed, data) except its
        learning rate, rank and α. The runs are kept like any other (Runs page: the sweep’s table, loss curves and exports).
      </p>
      <fieldset className="sweep-form" disabled={disabled} aria-label="Sweep settings">
        <div className="controls">
          {field('Learning rates', 'lrs', 'comma- or space-separated, e.g. 1e-4, 2e-4, 3e-4')}
          {field('LoRA ranks', 'ranks', 'whole numbers, e.g. 8, 16, 32')}
        </div>
        <fieldset className="radios" aria-label="LoRA alpha">
          <legend>α per point</legend>
          <label className="check">
            <input type="radio" name="sweep-alpha" checked={form.alpha === 'double'} onChange={() => setForm({ alpha: 'double' })} data-testid="sweep-alpha-double" /> α = 2 × r (the update’s scale α/r
            stays 2 at every rank)
          </label>
          <label className="check">
            <input type="radio" name="sweep-alpha" checked={form.alpha === 'base'} onChange={() => setForm({ alpha: 'base' })} data-testid="sweep-alpha-base" /> α fixed at the form’s {c.lora.alpha}{' '}
            (α/r shrinks as r grows)
          </label>
        </fieldset>
        <div className="controls">
          <label className="field">
            <span>Eval score</span>
            <select value={form.evalTask} onChange={(e) => setForm({ evalTask: e.target.value as SweepForm['evalTask'] })} data-testid="sweep-eval-task">
              {TASKS.map((t) => (
                <option key={t.name} value={t.name}>
                  held-out {t.name === 'conlang' ? 'Velmic' : t.name}
                </option>
              ))}
              <option value="none">none</option>
            </select>
          </label>
          {form.evalTask !== 'none' ? (
            <>
              <NumField label="Items" value={form.evalN} onChange={(evalN) => setForm({ evalN })} error={check.errors.evalN} testid="sweep-eval-n" width="narrow" />
              <NumField label="Max new tokens" value={form.evalMaxNew} onChange={(evalMaxNew) => setForm({ evalMaxNew })} error={check.errors.evalMaxNew} testid="sweep-eval-max-new" width="narrow" />
            </>
          ) : null}
        </div>
        <p className="small muted" data-testid="sweep-eval-metric">
          {form.evalTask === 'none'
            ? 'No eval: the table compares the final training losses only.'
            : `The eval score is the ${evalMetricText({ task: form.evalTask, n: form.evalN, maxNewTokens: form.evalMaxNew })}; the base model is scored once first. The runs compute no held-out loss, so this is each run’s held-out number; with ${form.evalN} items one item is ${Math.round(100 / Math.max(1, form.evalN))} points.`}
        </p>
      </fieldset>
      <p className="sweep-size" data-testid="sweep-size" data-points={points}>
        {check.errors.grid ? (
          <span className="bad" data-testid="sweep-grid-error">
            {check.errors.grid}
          </span>
        ) : (
          <>
            <strong>
              {check.lrs.length} × {check.ranks.length} = {points} run{points === 1 ? '' : 's'}
            </strong>{' '}
            of {c.steps} steps ({points * c.steps} steps){' '}
            <span className="muted" data-testid="sweep-estimate">
              {est !== null
                ? `≈ ${formatDuration(est)} of training at ${state.sweepStepEstimate!.secPerStep.toFixed(2)} s/step (measured on ${state.sweepStepEstimate!.from})${form.evalTask !== 'none' ? `, plus ${points + 1} evals` : ''}`
                : 'time per step not known yet: no earlier run of this model with the same batch to measure from; the ETA shows after the first step'}
            </span>
          </>
        )}
      </p>
      <div className="actions">
        <button type="button" disabled={!!blocked} onClick={() => void state.startSweep()} data-testid="sweep-start" aria-describedby={blocked ? 'sweep-blocked' : undefined}>
          Start sweep
        </button>
        {active ? <SweepControls /> : null}
        {blocked && !active ? (
          <span id="sweep-blocked" className="bad small" data-testid="sweep-blocked">
            {blocked}
          </span>
        ) : null}
      </div>
      {rec && active ? <SweepProgress sweep={rec} /> : null}
      {stopped ? <StoppedSweep sweep={stopped} /> : null}
      {state.sweepError ? <ErrorBox title="The sweep" error={state.sweepError} testid="sweep-error" /> : null}
    </section>
  );
}

function SweepControls() {
  const a = useLab((s) => s.sweepActive)!;
  const pause = useLab((s) => s.pauseSweep);
  const resume = useLab((s) => s.resumeSweep);
  const cancel = useLab((s) => s.cancelSweep);
  return (
    <>
      <button type="button" className="secondary" disabled={a.paused || a.stopping} onClick={() => void pause()} data-testid="sweep-pause">
        Pause sweep
      </button>
      <button type="button" className="secondary" disabled={!a.paused || a.stopping} onClick={() => void resume()} data-testid="sweep-resume">
        Resume sweep
      </button>
      <button type="button" className="secondary" disabled={a.stopping} onClick={cancel} data-testid="sweep-cancel">
        Cancel sweep
      </button>
    </>
  );
}

/** Run i of N, the step, the time left over the whole sweep, and the table as it fills. */
function SweepProgress({ sweep }: { sweep: SweepRecord }) {
  const a = useLab((s) => s.sweepActive)!;
  const live = useLab((s) => s.live);
  const estimate = useLab((s) => s.sweepStepEstimate);
  const p = sweep.points[a.index];
  const liveHere = live.runId === p.runId;
  const step = liveHere ? (live.lines.at(-1)?.step ?? 0) : 0;
  const rates = measuredRates(sweep, liveHere ? live.lines : [], a.index);
  const eta = sweepEta(sweep, { index: a.index, step }, { secPerStep: rates.secPerStep ?? estimate?.secPerStep ?? null, secPerEval: rates.secPerEval });
  const total = sweep.points.length * sweep.base.steps;
  const doneSteps = sweep.points.reduce((n, q, i) => n + (i === a.index ? step : q.status === 'done' || q.status === 'failed' ? sweep.base.steps : 0), 0);
  const what =
    a.phase === 'evaluating'
      ? `scoring${a.index === 0 && !sweep.baseEval ? ' the base model' : ''} · item ${a.evalDone}/${a.evalTotal}`
      : a.phase === 'waiting'
        ? 'paused between runs'
        : `step ${step}/${sweep.base.steps}${liveHere && live.status === 'paused' ? ' (paused)' : ''}`;
  const text = `run ${a.index + 1} of ${sweep.points.length} (lr=${fmtLr(p.lr)} r=${p.r}) · ${what}${a.stopping ? ' · stopping' : ''} · ${eta.sec !== null ? `ETA ${formatDuration(eta.sec)}${eta.evalsUnknown ? ' + evals' : ''}` : 'ETA after the first step'}`;
  return (
    <div className="sweep-progress" data-testid="sweep-progress" data-run-index={a.index + 1} data-runs={sweep.points.length} data-phase={a.phase} data-step={step}>
      <div className="progress">
        <div className="bar" role="progressbar" aria-label="Sweep progress" aria-valuemin={0} aria-valuemax={total} aria-valuenow={doneSteps} aria-valuetext={text}>
          <span style={{ width: `${(100 * doneSteps) / Math.max(1, total)}%` }} />
        </div>
        <span data-testid="sweep-progress-text">{text}</span>
      </div>
      <SweepTable sweep={sweep} />
    </div>
  );
}

/** A sweep that stopped before its end: where, and Continue. */
function StoppedSweep({ sweep }: { sweep: SweepRecord }) {
  const state = useLab((s) => s);
  const where = stoppedAt(sweep, state.runs.list);
  const why = continueBlocker(state, sweep);
  // the run list refreshes often ('loading' in between): once read, its last list is good enough to say where
  const known = state.runs.status === 'ready' || state.runs.list.length > 0;
  return (
    <div className="sweep-stopped" data-testid="sweep-stopped" data-sweep-id={sweep.id} data-status={sweep.status}>
      <p>
        <strong>Sweep {sweep.id}</strong> <span className={`run-status st-${sweep.status}`}>{sweep.status}</span> {sweep.message ? <span>{sweep.message} </span> : null}
        <span data-testid="sweep-stopped-where">{known ? where.text : 'Reading the run store…'}</span>
      </p>
      <div className="actions">
        <button type="button" disabled={!!why || where.remaining === 0 || !known} onClick={() => void state.continueSweep(sweep.id)} data-testid="sweep-continue">
          Continue sweep ({where.remaining} point{where.remaining === 1 ? '' : 's'})
        </button>
        <a href="#/runs">Its table on the Runs page</a>
        {why ? <span className="bad small">{why}</span> : null}
      </div>
    </div>
  );
}
