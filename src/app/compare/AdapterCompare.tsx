// Adapter on/off: the same prompts through the base model and through a LoRA adapter (a finished
// run of the run store, or the active one). For the head opened large, per side: base, adapter
// (the page's attention scale) and adapter − base (RdBu, symmetric around 0, one domain for both
// sides, blue = the adapter attends more); and per head the change of each statistic. Each map's
// wrapper carries the exact numbers it drew as the JS property `labValues` (Cell[][]).
import { useEffect, useMemo, useState, type ReactNode } from 'react';
import { Heatmap } from '../Heatmap.tsx';
import { ErrorBox } from '../lab.tsx';
import type { ModelSummary, RunRecord } from '../../engine/engine.ts';
import type { AdapterCompareRun, AdapterCompareState } from '../compareSlice.ts';
import { adapterChoices, statDeltaRows } from './adapters.ts';
import { diffScale, type ColorScale } from './colors.ts';
import { diffCells, maxAbsCell, viewPattern, type Cell } from './transform.ts';
import { Legend } from './Legend.tsx';
import { StatGrid } from './StatMaps.tsx';
import { useWidth } from './HeadDetail.tsx';
import { SIDE_LABEL, SIDES, type Side } from './prompts.ts';
import type { HeadRef } from './HeadGrid.tsx';
import './extra.css';

type Kind = 'base' | 'adapter' | 'diff';
const KIND_LABEL: Record<Kind, string> = { base: 'Base model', adapter: 'With the adapter', diff: 'Adapter − base' };

export interface AdapterCompareProps {
  summary?: ModelSummary;
  runs: RunRecord[];
  runsStatus: string;
  refreshRuns(): void;
  state: AdapterCompareState;
  /** the state's run when it belongs to the loaded model (else undefined) */
  run?: AdapterCompareRun;
  /** the prompts changed since the run */
  stale: boolean;
  at: HeadRef;
  hideSink: boolean;
  scale: ColorScale;
  attentionLegend: ReactNode;
  /** another job of the page runs, or the model is not ready */
  disabled: boolean;
  onRun(runId: string): void;
}

const mb = (b: number) => `${(b / 1e6).toFixed(b < 1e7 ? 1 : 0)} MB`;

export function AdapterCompare({ summary, runs, runsStatus, refreshRuns, state, run, stale, at, hideSink, scale, attentionLegend, disabled, onRun }: AdapterCompareProps) {
  const choices = useMemo(() => adapterChoices(runs, summary?.adapter ?? null), [runs, summary?.adapter]);
  const [picked, setPicked] = useState('');
  // the pick: what the user chose if it is still offered, else the active adapter's run, else the newest run
  const pick = choices.find((c) => c.runId === picked && picked) ?? choices.find((c) => c.active && c.runId) ?? choices.find((c) => c.runId);
  const running = state.status === 'running';
  const importedActive = choices.find((c) => c.active && !c.runId);
  const can = !!summary && !!pick?.runId && !disabled && !running && !importedActive;
  // base → adapter → base, or adapter → base → adapter; a third when another adapter is active
  const reloads = !summary?.adapter || choices.find((c) => c.active)?.runId === pick?.runId ? 2 : 3;

  return (
    <section className="panel adapter-cmp" aria-labelledby="adapter-cmp-h" data-testid="compare-adapter" data-status={state.status}>
      <h2 id="adapter-cmp-h">Adapter on/off: base model vs a LoRA adapter</h2>
      <p className="muted small">
        Both prompts are inspected with the base model and with the adapter merged into the weights; afterwards the adapter you had (
        <strong>{summary?.adapter?.name ?? 'base'}</strong>) is set again. Each switch reloads the weights from the model’s source
        {summary ? ` (${mb(summary.weightBytes)} here)` : ''}: quick for the small embedded models, seconds or more for big ones.
      </p>
      <div className="controls">
        <label className="inline-label">
          Adapter
          <select value={pick?.runId ?? ''} onChange={(e) => setPicked(e.target.value)} disabled={running || choices.length === 0} data-testid="compare-adapter-pick">
            {choices.length === 0 ? <option value="">{runsStatus === 'loading' ? 'reading the run store…' : 'no finished LoRA run yet'}</option> : null}
            {choices.map((c) => (
              <option key={c.runId ?? 'imported'} value={c.runId ?? ''} disabled={!c.runId}>
                {c.label}
              </option>
            ))}
          </select>
        </label>
        <button type="button" className="secondary small-btn" onClick={refreshRuns} disabled={running} data-testid="compare-adapter-refresh" title="Read the run store again">
          Refresh list
        </button>
        <button type="button" disabled={!can} onClick={() => pick?.runId && onRun(pick.runId)} data-testid="compare-adapter-run">
          {running ? 'Comparing…' : 'Compare base vs adapter'}
        </button>
        <span className="muted small" aria-live="polite" data-testid="compare-adapter-status">
          {running
            ? state.phase
            : choices.length === 0 && runsStatus !== 'loading'
              ? 'Train a LoRA run on the Train page (a few steps suffice), or import an adapter on the Runs page.'
              : importedActive
                ? 'The active adapter was imported from files the page does not keep, so it could not be set again afterwards: switch to the base model (Runs page) to compare.'
                : run
                  ? `${run.switches} reloads, ${(run.ms / 1000).toFixed(1)} s; active again: ${run.restored ?? 'base'}${stale ? ' · the prompts changed since: compare again to update' : ''}`
                  : can
                    ? `${reloads} weight reloads`
                    : ''}
        </span>
      </div>
      {state.status === 'error' && state.error ? <ErrorBox title="Could not compare base and adapter" error={state.error} testid="compare-adapter-error" /> : null}
      {run ? <AdapterViews run={run} at={at} hideSink={hideSink} scale={scale} attentionLegend={attentionLegend} /> : null}
    </section>
  );
}

function AdapterViews({ run, at, hideSink, scale, attentionLegend }: { run: AdapterCompareRun; at: HeadRef; hideSink: boolean; scale: ColorScale; attentionLegend: ReactNode }) {
  const [ref, width] = useWidth<HTMLDivElement>();
  const L = run.left.base.layers.length, H = run.left.base.n_heads;
  const cur = { layer: Math.min(at.layer, L - 1), head: Math.min(at.head, H - 1) };
  // the drawn matrices of the selected head: base, adapter (the page's view rule) and their difference
  const maps = useMemo(() => {
    const out = {} as Record<Side, Record<Kind, Cell[][]>>;
    for (const s of SIDES) {
      const base = viewPattern(run[s].base.layers[cur.layer].pattern[cur.head], hideSink);
      const adapter = viewPattern(run[s].adapter.layers[cur.layer].pattern[cur.head], hideSink);
      out[s] = { base, adapter, diff: diffCells(base, adapter) };
    }
    return out;
  }, [run, cur.layer, cur.head, hideSink]);
  const dScale = useMemo(() => diffScale(maxAbsCell(SIDES.map((s) => maps[s].diff))), [maps]);
  const diffLabel = 'Adapter − base (blue: the adapter attends more, red: less)';
  const diffLegend = <Legend scale={dScale} label={diffLabel} width={300} ticks={5} testid="compare-adapter-diff-legend" />;
  const diffLegendSmall = <Legend scale={dScale} label={diffLabel} width={300} ticks={5} />;
  const each = width >= 900 ? Math.floor((width - 32) / 2) : Math.max(260, width);
  const rows = useMemo(() => statDeltaRows({ left: run.left, right: run.right }), [run]);

  return (
    <>
      <h3>
        Layer {cur.layer}, head {cur.head}: base vs <span data-testid="compare-adapter-name">{run.adapter.name}</span>
      </h3>
      <p className="muted small">
        LoRA r {run.adapter.r}, α {run.adapter.alpha} on {run.adapter.targets.join(', ')}. The head is the one opened large above (click a map in the grids to choose another). Hover a
        cell for its value.
      </p>
      <div className="grid-head">
        {attentionLegend}
        {diffLegend}
      </div>
      <div className="adapter-maps" ref={ref}>
        {width > 0
          ? SIDES.map((s) => (
              <div key={s} className="adapter-side">
                <h4>{SIDE_LABEL[s]}</h4>
                {(['base', 'adapter', 'diff'] as Kind[]).map((k) => (
                  <AdapterMap
                    key={k}
                    side={s}
                    kind={k}
                    values={maps[s][k]}
                    tokens={run[s].base.tokens.map((t) => t.text)}
                    title={`${SIDE_LABEL[s]}, layer ${cur.layer}, head ${cur.head}: ${KIND_LABEL[k].toLowerCase()}`}
                    maxWidth={Math.min(each, 560)}
                    color={k === 'diff' ? dScale : scale}
                    legend={k === 'diff' ? diffLegendSmall : <span />}
                    at={cur}
                  />
                ))}
              </div>
            ))
          : null}
      </div>
      <h3>Change of the per-head statistics (adapter − base; rows: layers, columns: heads)</h3>
      <p className="muted small">One symmetric scale per statistic for both prompts: blue = higher with the adapter, red = lower. The first row shows which heads changed at all.</p>
      <div className="stat-table delta-table" data-testid="compare-adapter-stats">
        <span />
        <span className="stat-col">{SIDE_LABEL.left}</span>
        <span className="stat-col">{SIDE_LABEL.right}</span>
        {rows.map((r) => [
          <span key={`${r.key}-name`} className="stat-name" title={r.what}>
            {r.label}
            <Legend scale={r.scale} label="" width={160} ticks={r.key === 'maxAbs' ? 3 : 2} />
          </span>,
          ...SIDES.map((s) => (
            <StatGrid key={`${r.key}-${s}`} m={r.delta[s]} scale={r.scale} testid={`adapter-stat-${r.key}-${s}`} title={`${r.label}, ${SIDE_LABEL[s]}`} fmt={(v) => (r.key === 'maxAbs' ? v.toFixed(4) : (v > 0 ? '+' : '') + v.toFixed(4))} />
          )),
        ])}
      </div>
    </>
  );
}

type LabDiv = HTMLDivElement & { labValues?: Cell[][] };

function AdapterMap({ side, kind, values, tokens, title, maxWidth, color, legend, at }: { side: Side; kind: Kind; values: Cell[][]; tokens: string[]; title: string; maxWidth: number; color: ColorScale; legend: ReactNode; at: HeadRef }) {
  const [el, setEl] = useState<LabDiv | null>(null);
  useEffect(() => {
    if (el) el.labValues = values;
  }, [el, values]);
  return (
    <div ref={setEl} className="adapter-map" data-testid="compare-adapter-map" data-side={side} data-kind={kind} data-layer={at.layer} data-head={at.head}>
      <h5>{KIND_LABEL[kind]}</h5>
      <Heatmap pattern={values} tokens={tokens} title={title} maxWidth={maxWidth} color={color} legend={legend} attrs={{ 'data-side': side, 'data-kind': kind }} />
    </div>
  );
}
