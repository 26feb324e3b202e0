// The live run: Start / Pause / Resume / Cancel, the progress bar (step n/N, ETA), the data
// report, the charts (a GRPO run's own, ./GrpoCharts.tsx, and its latest completions; a DPO run's,
// ./DpoCharts.tsx), checkpoints,
// how it ended, and for a finished LoRA run its adapter (use it now, download it). Every value comes
// from the store's `live` run, fed by the engine's progress.
import { useState } from 'react';
import { isDpoConfig, isGrpoConfig, type GrpoStepLine } from '../../engine/api.ts';
import type { DpoStepLine } from '../../engine/rl/dpo.ts';
import { ErrorBox, formatDuration, useLab } from '../lab.tsx';
import type { LiveRun as Live } from '../trainSlice.ts';
import { TrainCharts } from './Charts.tsx';
import { DpoCharts } from './DpoCharts.tsx';
import { GrpoCharts } from './GrpoCharts.tsx';
import { GrpoSamples } from './GrpoSamples.tsx';
import { ADAPTER_DOWNLOAD, downloadFiles } from './download.ts';
import { errorHelp } from './errorHelp.ts';

const ACTIVE: Live['status'][] = ['starting', 'running', 'paused', 'stopping'];
export const isActive = (s: Live['status']) => ACTIVE.includes(s);

/** Start (with why not, when it cannot), and the controls of a run in progress. */
export function RunControls({ blocked }: { blocked: string | null }) {
  const live = useLab((s) => s.live);
  const start = useLab((s) => s.startTraining);
  const pause = useLab((s) => s.pauseTraining);
  const resume = useLab((s) => s.resumeTraining);
  const cancel = useLab((s) => s.cancelTraining);
  const kind = useLab((s) => s.trainKind);
  const active = isActive(live.status);
  return (
    <div className="actions train-actions">
      <button type="button" disabled={active || !!blocked} onClick={() => void start()} data-testid="train-start" aria-describedby={blocked ? 'train-blocked' : undefined}>
        {kind === 'grpo' ? 'Start GRPO' : kind === 'dpo' ? 'Start DPO' : 'Start training'}
      </button>
      <button type="button" className="secondary" disabled={live.status !== 'running'} onClick={() => void pause()} data-testid="train-pause">
        Pause
      </button>
      <button type="button" className="secondary" disabled={live.status !== 'paused'} onClick={() => void resume()} data-testid="train-resume">
        Resume
      </button>
      <button type="button" className="secondary" disabled={!active || live.status === 'stopping'} onClick={cancel} data-testid="train-cancel">
        Cancel
      </button>
      {blocked && !active ? (
        <span id="train-blocked" className="bad small" data-testid="train-blocked">
          {blocked}
        </span>
      ) : null}
    </div>
  );
}

export function LiveRunView() {
  const live = useLab((s) => s.live);
  if (live.status === 'idle') return null;
  const step = live.lines.at(-1)?.step ?? 0;
  const total = Math.max(1, live.totalSteps);
  const last = live.lines.at(-1);
  const eta = live.status === 'running' && live.etaSec !== null ? `ETA ${formatDuration(live.etaSec)}` : '';
  const text = `step ${step}/${live.totalSteps}${eta ? ` · ${eta}` : ''}`;
  return (
    <section className="panel live-run" data-testid="train-live" data-status={live.status} data-run-id={live.runId ?? ''} aria-labelledby="live-h">
      <h2 id="live-h">
        Run <code>{live.runId}</code> <span className={`run-status st-${live.status}`}>{live.status}</span>
      </h2>
      <div className="progress train-progress-row">
        <div
          className="bar"
          role="progressbar"
          aria-label="Training progress"
          aria-valuemin={0}
          aria-valuemax={live.totalSteps}
          aria-valuenow={step}
          aria-valuetext={text}
          data-testid="train-progress"
          data-step={step}
          data-total={live.totalSteps}
        >
          <span style={{ width: `${(100 * step) / total}%` }} />
        </div>
        <span data-testid="train-progress-text">{text}</span>
        {last ? (
          <span className="muted small" data-testid="train-last">
            {live.kind === 'grpo' ? grpoLast(last as GrpoStepLine) : live.kind === 'dpo' ? dpoLast(last as DpoStepLine) : `loss ${last.loss.toFixed(4)} · ${last.step_s.toFixed(1)} s/step · ${Math.round(last.tokens_per_s)} tok/s`}
          </span>
        ) : null}
      </div>
      {live.kind === 'grpo' ? (
        <>
          <GrpoCharts lines={live.lines} totalSteps={live.totalSteps} config={live.config && isGrpoConfig(live.config) ? live.config : undefined} />
          <GrpoSamples samples={live.samples} steps={live.lines.length} />
        </>
      ) : live.kind === 'dpo' ? (
        <DpoCharts lines={live.lines} totalSteps={live.totalSteps} beta={live.config && isDpoConfig(live.config) ? live.config.dpo.beta : undefined} />
      ) : (
        <TrainCharts lines={live.lines} totalSteps={live.totalSteps} />
      )}
      <DataReport live={live} />
      {live.checkpoints.length ? (
        <p className="small" data-testid="train-checkpoints">
          Checkpoints stored: {live.checkpoints.map((s) => `step ${s}`).join(', ')}
        </p>
      ) : null}
      {live.warnings.map((w, i) => (
        <p key={i} className="warnings" data-testid="train-warning">
          {w}
        </p>
      ))}
      {live.message ? (
        <p className={live.status === 'done' ? 'summary ok' : 'summary'} data-testid="train-message" role="status">
          {live.message}
          {live.status === 'cancelled' ? ' Resume it from the Runs page.' : ''}
        </p>
      ) : null}
      {live.error ? <TrainErrorBox error={live.error} /> : null}
      {live.status === 'done' && live.runId ? <AdapterActions runId={live.runId} full={live.full} /> : null}
    </section>
  );
}

/** A GRPO step in one line: reward, its spread, how long the step took and where the time went. */
const grpoLast = (l: GrpoStepLine) =>
  `reward ${Number(l.reward).toFixed(3)} ± ${Number(l.reward_std).toFixed(3)} · ${l.step_s.toFixed(1)} s/step (rollouts ${Number(l.rollout_s).toFixed(1)} s, ${Math.round(l.rollout_tokens_per_s)} tok/s; update ${Number(l.update_s).toFixed(1)} s)`;

/** A DPO step in one line: loss, margin, accuracy, how long the step took. */
const dpoLast = (l: DpoStepLine) =>
  `loss ${Number(l.loss).toFixed(4)} · margin ${Number(l.margin).toFixed(4)} · accuracy ${Math.round(100 * Number(l.accuracy))}% · ${Number(l.step_s).toFixed(1)} s/step`;

export function TrainErrorBox({ error }: { error: Live['error'] & object }) {
  const help = errorHelp(error);
  return (
    <>
      <ErrorBox title={error.name === 'GovernanceError' ? 'Training refused' : 'The run stopped'} error={error} testid="train-error" />
      {help ? (
        <p className="error-help" data-testid="train-error-help">
          {help}
        </p>
      ) : null}
    </>
  );
}

function DataReport({ live }: { live: Live }) {
  if (live.rows === undefined) return null;
  const n = live.problems.length + live.moreProblems;
  return (
    <div className="data-report" data-testid="train-data-report" data-rows={live.rows} data-problems={n}>
      <p className="small">
        <strong>{live.rows}</strong> rows to train on{n ? `; ${n} line${n === 1 ? '' : 's'} skipped:` : '; every line usable.'}
      </p>
      {n ? (
        <pre className="problems" data-testid="train-problems">
          {live.problems.map((p) => p.message).join('\n')}
          {live.moreProblems ? `\n… and ${live.moreProblems} more` : ''}
        </pre>
      ) : null}
    </div>
  );
}

/** A finished LoRA run's adapter: switch the model to it, or save its two PEFT files. */
export function AdapterActions({ runId, full }: { runId: string; full: boolean }) {
  const activeName = useLab((s) => s.model.summary?.adapter?.name ?? null);
  const busy = useLab((s) => s.adapterBusy);
  const err = useLab((s) => s.adapterError);
  const useAdapter = useLab((s) => s.useAdapter);
  const runFiles = useLab((s) => s.runFiles);
  const [saved, setSaved] = useState('');
  const [dlError, setDlError] = useState('');
  if (full) return <p className="small muted">A full fine-tune’s result is a whole checkpoint: download it from the Runs page.</p>;
  const download = async () => {
    setDlError('');
    try {
      const files = await runFiles(runId, 'result');
      setSaved(downloadFiles(files, ADAPTER_DOWNLOAD).join(', '));
    } catch (e) {
      setDlError((e as Error).message);
    }
  };
  return (
    <div className="adapter-actions" data-testid="train-adapter-actions">
      <h3>The adapter</h3>
      <div className="actions">
        <button type="button" disabled={busy} onClick={() => void useAdapter({ runId })} data-testid="train-use-adapter">
          Use this adapter
        </button>
        <button type="button" className="secondary" onClick={() => void download()} data-testid="train-download-adapter">
          Download adapter
        </button>
        <button type="button" className="secondary" disabled={busy || activeName === null} onClick={() => void useAdapter(null)} data-testid="train-use-base">
          Base model
        </button>
        <span className="small muted" data-testid="train-active-adapter">
          {busy ? 'switching…' : `active: ${activeName ?? 'base'}`}
        </span>
      </div>
      {saved ? <p className="small muted">Saved {saved}.</p> : null}
      {dlError ? <p className="bad small">{dlError}</p> : null}
      {err ? <ErrorBox title="Could not switch the adapter" error={err} testid="adapter-switch-error" /> : null}
    </div>
  );
}
