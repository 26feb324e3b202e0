// The Runs page's sweeps: each sweep kept in this browser as one group — its settings (model, data, the base
// config, how α follows r, the eval metric), where it stopped with Continue, the lr × rank table side by side,
// the loss curves of its runs overlaid, CSV / JSON of the table, delete — and its runs (the Runs page's own
// items, handed in as `renderRun`, so they keep Resume, Use adapter, downloads and delete).
import { useEffect, useState, type ReactNode } from 'react';
import type { RunRecord } from '../../engine/api.ts';
import { useLab } from '../lab.tsx';
import { continueBlocker } from '../sweepSlice.ts';
import { SweepExports, SweepLossChart, SweepTable, evalMetricShort } from './SweepGrid.tsx';
import { fmtLr, stoppedAt, type SweepRecord } from './sweep.ts';
import './sweep.css';

/** The run ids that belong to a kept sweep (the Runs page lists them in their sweep, not again below). */
export function useSweepRunIds(): Set<string> {
  const list = useLab((s) => s.sweeps.list);
  return new Set(list.flatMap((s) => s.points.map((p) => p.runId)));
}

export function SweepsPanel({ renderRun }: { renderRun: (run: RunRecord) => ReactNode }) {
  const sweeps = useLab((s) => s.sweeps);
  const restore = useLab((s) => s.restoreSweeps);
  useEffect(() => void restore(), [restore]);
  if (!sweeps.list.length) return null;
  return (
    <section className="panel" data-testid="sweeps" aria-labelledby="sweeps-h">
      <h2 id="sweeps-h">Sweeps</h2>
      <p className="muted small">Grids of learning rate × LoRA rank started on the Train page, newest first; each run of a sweep is listed under it.</p>
      <ul className="sweep-list-runs">
        {sweeps.list.map((s) => (
          <SweepItem key={s.id} sweep={s} renderRun={renderRun} />
        ))}
      </ul>
    </section>
  );
}

function SweepItem({ sweep, renderRun }: { sweep: SweepRecord; renderRun: (run: RunRecord) => ReactNode }) {
  const state = useLab((s) => s);
  const [confirm, setConfirm] = useState(false);
  const isActive = state.sweepActive?.id === sweep.id;
  // in the grid's order (lr-major), not the store's newest-first
  const runs = sweep.points.map((p) => state.runs.list.find((r) => r.id === p.runId)).filter((r): r is RunRecord => !!r);
  const stopped = !isActive && ['interrupted', 'cancelled', 'failed'].includes(sweep.status);
  const where = stopped ? stoppedAt(sweep, state.runs.list) : null;
  const why = stopped ? continueBlocker(state, sweep) : null;
  const done = sweep.points.filter((p) => p.status === 'done').length;
  const b = sweep.base;
  const cont = () => {
    void state.continueSweep(sweep.id);
    location.hash = '#/train';
  };
  return (
    <li className="sweep-item" data-testid="sweep-item" data-sweep-id={sweep.id} data-status={isActive ? 'running' : sweep.status}>
      <div className="run-head">
        <span className="run-kind k-sweep">SWEEP</span>
        <h3>
          lr {sweep.lrs.map(fmtLr).join(' / ')} × r {sweep.ranks.join(' / ')}
        </h3>
        <span className={`run-status st-${isActive ? 'running' : sweep.status}`} data-testid="sweep-status">
          {isActive ? 'running (live)' : sweep.status}
        </span>
        <code className="small muted">{sweep.id}</code>
      </div>
      <dl className="facts cols small">
        <div>
          <dt>Runs</dt>
          <dd>
            {done}/{sweep.points.length} finished
          </dd>
        </div>
        <div>
          <dt>Model</dt>
          <dd>
            {sweep.model}
            {sweep.adapter ? ` + ${sweep.adapter}` : ''}
          </dd>
        </div>
        <div>
          <dt>Data</dt>
          <dd>{sweep.dataName}</dd>
        </div>
        <div>
          <dt>Each run</dt>
          <dd>
            {b.steps} steps, {b.lrSchedule} lr, batch {b.batchSize}×{b.gradAccum}, LoRA on {b.lora.targets.map((x) => x.replace('_proj', '')).join('/')}, dropout {b.lora.dropout}, α{' '}
            {sweep.alphaRule === 'double' ? '= 2 × r' : `fixed ${b.lora.alpha}`}, seed {b.seed}
          </dd>
        </div>
        <div>
          <dt>Eval score</dt>
          <dd data-testid="sweep-metric">{evalMetricShort(sweep.eval)}</dd>
        </div>
        <div>
          <dt>Started</dt>
          <dd>{new Date(sweep.createdAt).toLocaleString()}</dd>
        </div>
      </dl>
      {sweep.message ? <p className="small">{sweep.message}</p> : null}
      {where ? (
        <div className="actions">
          <span className="small" data-testid="sweep-item-where">
            {where.text}
          </span>
          {where.remaining ? (
            <button type="button" disabled={!!why} onClick={cont} data-testid="sweep-item-continue" title={why ?? undefined}>
              Continue sweep
            </button>
          ) : null}
          {why && where.remaining ? <span className="bad small">{why}</span> : null}
        </div>
      ) : null}
      <div className="sweep-body">
        <SweepTable sweep={sweep} />
        <SweepLossChart sweep={sweep} />
      </div>
      <div className="actions">
        <SweepExports sweep={sweep} />
        {confirm ? (
          <span className="confirm" role="group" aria-label="Confirm delete">
            Delete this sweep and its {runs.length} run{runs.length === 1 ? '' : 's'} (checkpoints and adapters)?
            <button type="button" className="danger small-btn" onClick={() => void state.deleteSweep(sweep.id).then(() => setConfirm(false))} data-testid="sweep-delete-confirm">
              Delete
            </button>
            <button type="button" className="secondary small-btn" onClick={() => setConfirm(false)}>
              Keep
            </button>
          </span>
        ) : (
          <button type="button" className="secondary small-btn" disabled={isActive} onClick={() => setConfirm(true)} data-testid="sweep-delete">
            Delete sweep…
          </button>
        )}
      </div>
      <details data-testid="sweep-runs">
        <summary>
          Its {runs.length} run{runs.length === 1 ? '' : 's'} (resume, adapters, checkpoints)
        </summary>
        <ul className="run-list">{runs.map(renderRun)}</ul>
      </details>
    </li>
  );
}
