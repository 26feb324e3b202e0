// A sweep's results side by side: the lr × rank table (per cell the final training loss, the eval score and
// the seconds of training; the best loss and the best score marked), the loss curves of its runs overlaid
// (d3, ./Charts.tsx) and the table as CSV / JSON. The numbers come from the sweep's record (./sweep.ts);
// the point that is training now shows the live run's step and loss.
import { useEffect, useState } from 'react';
import { schemeTableau10 } from 'd3';
import type { StepLine } from '../../engine/api.ts';
import { formatDuration, useLab } from '../lab.tsx';
import { SeriesChart, pointsOf, type Series } from './Charts.tsx';
import { downloadFiles } from './download.ts';
import { accuracy, bestPoints, fmtLr, sweepCsv, sweepJson, type SweepPoint, type SweepRecord } from './sweep.ts';

/** What the eval score is, in one sentence (the table's caption and the Train page's form say the same). */
export const evalMetricText = (e: SweepRecord['eval']) =>
  e
    ? `exact match of the final answer (after “####”) on the first ${e.n} held-out ${e.task === 'conlang' ? 'Velmic' : e.task} items of the embedded set, greedy, at most ${e.maxNewTokens} new tokens, with the run’s adapter`
    : 'none (the sweep ran without an eval)';

/** The same, short (the sweep's facts on the Runs page; the table's caption has the long one). */
export const evalMetricShort = (e: SweepRecord['eval']) => (e ? `exact match, ${e.n} held-out ${e.task === 'conlang' ? 'Velmic' : e.task} items, greedy, ≤ ${e.maxNewTokens} new tokens` : 'none');

const fmtScore = (p: { eval?: SweepPoint['eval'] }) => {
  const e = p.eval;
  if (!e) return '—';
  if ('error' in e) return 'eval failed';
  return `${e.correct}/${e.n} (${Math.round((100 * e.correct) / e.n)}%)`;
};

export function SweepTable({ sweep }: { sweep: SweepRecord }) {
  const live = useLab((s) => s.live);
  const best = bestPoints(sweep);
  const at = (i: number, j: number) => i * sweep.ranks.length + j;
  return (
    <div className="sweep-results">
      {/* above the table, not its <caption>: a caption is only as wide as a 2 × 2 table */}
      <p className="small muted sweep-legend" id={`${sweep.id}-legend`}>
        Rows: learning rate; columns: LoRA rank (α {sweep.alphaRule === 'double' ? '= 2 × r' : `fixed at ${sweep.base.lora.alpha}`}). Each cell: the last step’s training loss, the eval
        score, the time in training steps. ★ marks the lowest loss and the highest score. Eval: {evalMetricText(sweep.eval)}.
      </p>
      <div className="table-scroll sweep-table-wrap">
        <table className="sweep-table" data-testid="sweep-table" data-sweep-id={sweep.id} aria-describedby={`${sweep.id}-legend`}>
          <caption className="visually-hidden">Sweep {sweep.id}: final loss, eval score and time per learning rate and rank</caption>
          <thead>
            <tr>
              <th scope="col">lr \ r</th>
              {sweep.ranks.map((r) => (
                <th key={r} scope="col">
                  r {r}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {sweep.lrs.map((lr, i) => (
              <tr key={lr}>
                <th scope="row">{fmtLr(lr)}</th>
                {sweep.ranks.map((_, j) => {
                  const k = at(i, j);
                  const p = sweep.points[k];
                  const isLive = live.runId === p.runId && p.status === 'running';
                  const step = isLive ? (live.lines.at(-1)?.step ?? 0) : p.stepsDone;
                  const bestLoss = best.loss.includes(k);
                  const bestScore = best.score.includes(k);
                  return (
                    <td
                      key={p.runId}
                      className={`sweep-cell st-${p.status}${bestLoss ? ' best-loss' : ''}${bestScore ? ' best-score' : ''}`}
                      data-testid="sweep-cell"
                      data-run-id={p.runId}
                      data-lr={p.lr}
                      data-r={p.r}
                      data-status={p.status}
                      data-final-loss={p.finalLoss ?? ''}
                      data-eval={accuracy(p.eval) ?? ''}
                      data-best-loss={bestLoss}
                      data-best-score={bestScore}
                    >
                      {p.status === 'done' || (p.status === 'failed' && p.finalLoss !== undefined) ? (
                        <>
                          <span className="loss" title={p.tailLoss != null ? `mean of the last 5 steps: ${p.tailLoss.toFixed(4)}` : undefined}>
                            {p.status === 'failed' ? 'diverged' : `loss ${p.finalLoss?.toFixed(4) ?? '—'}`}
                            {bestLoss ? ' ★' : ''}
                          </span>
                          <span className="score" title={p.eval && 'error' in p.eval ? p.eval.error : undefined}>
                            eval {fmtScore(p)}
                            {bestScore ? ' ★' : ''}
                          </span>
                          <span className="muted">{p.trainSec !== undefined ? formatDuration(p.trainSec) : ''}</span>
                        </>
                      ) : (
                        <span className="muted" title={p.error}>
                          {isLive ? `${live.status === 'paused' ? 'paused' : 'training'} · step ${step}/${sweep.base.steps}` : p.status === 'pending' ? 'not run yet' : `${p.status}${step ? ` at step ${step}` : ''}`}
                        </span>
                      )}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {sweep.eval ? (
        <p className="small muted sweep-base-eval" data-testid="sweep-base-eval">
          The model before any point: eval {fmtScore({ eval: sweep.baseEval })}.
        </p>
      ) : null}
    </div>
  );
}

/** The loss curves of the sweep's runs on one chart (colour per point; dashed after the tenth). */
export function SweepLossChart({ sweep }: { sweep: SweepRecord }) {
  const sweepMetrics = useLab((s) => s.sweepMetrics);
  const live = useLab((s) => s.live);
  const [lines, setLines] = useState<Record<string, StepLine[]>>({});
  // re-read when a point finishes (the record changes), not on every live step: the live run's lines are below
  useEffect(() => {
    let on = true;
    void sweepMetrics(sweep.id).then((m) => on && setLines(m));
    return () => void (on = false);
  }, [sweep.id, sweep.updatedAt, sweepMetrics]);
  const series: Series[] = sweep.points
    .map((p, k) => {
      const ls = live.runId === p.runId && p.status === 'running' ? live.lines : (lines[p.runId] ?? []);
      return { name: `lr=${fmtLr(p.lr)} r=${p.r}`, color: schemeTableau10[k % 10], dashed: k >= 10, pts: pointsOf(ls, (l) => l.loss) };
    })
    .filter((s) => s.pts.length);
  return (
    <div className="sweep-chart" data-testid="sweep-loss-chart-wrap" data-series={series.length}>
      <SeriesChart testid="sweep-loss-chart" title="Training loss of each run" fmt="auto" series={series} totalSteps={sweep.base.steps} floor0 note="no steps yet" />
    </div>
  );
}

/** The table as CSV (one row per point) or JSON (with the sweep's settings and the eval metric named). */
export function SweepExports({ sweep }: { sweep: SweepRecord }) {
  const [note, setNote] = useState('');
  const save = (kind: 'csv' | 'json') => {
    const name = `${sweep.id}.${kind}`;
    const text = kind === 'csv' ? sweepCsv(sweep) : sweepJson(sweep);
    setNote(`Saved ${downloadFiles({ [name]: new TextEncoder().encode(text) }, [name]).join(', ')}.`);
  };
  return (
    <span className="sweep-exports">
      <button type="button" className="secondary small-btn" onClick={() => save('csv')} data-testid="sweep-export-csv">
        Table as CSV
      </button>
      <button type="button" className="secondary small-btn" onClick={() => save('json')} data-testid="sweep-export-json">
        Sweep as JSON
      </button>
      {note ? <span className="small muted">{note}</span> : null}
    </span>
  );
}
