// The Compare page, the heart of the lab: a language prompt (a Velmic puzzle, left) and a math
// prompt (an arithmetic problem, right) through the same model, every layer's attention
// blocks.{l}.attn.hook_pattern [head, query, key] as a layer × head grid per side on one shared
// colour scale, one head opened large for both, the per-head statistics of both and their
// difference, and exports (figure as PNG/SVG, numbers as JSON).
//
// The values drawn are the engine's (InspectResult), unchanged unless "hide the first-token sink"
// is on: then key 0 is hidden and each row renormalised (./compare/transform.ts). Each small map's
// canvas carries the exact numbers it drew (`labValues`), and window.__labCompare holds the last
// run's InspectResults (src/main.tsx), for tests and scripts.
//
// Below the grids: adapter on/off (./compare/AdapterCompare.tsx: the selected head with the base
// model, with a LoRA adapter and their difference, and the change of each statistic per head) and
// token-by-token generation (./compare/GenStepper.tsx: a prompt continued greedily, then the rows
// of the new tokens stepped through). Both use the head opened large and the page's colour scale.
import { useEffect, useMemo, useRef, useState } from 'react';
import { ErrorBox, useLab } from './lab.tsx';
import { modelKey } from './verifySlice.ts';
import { attentionScale, colorTable, type ScaleKind } from './compare/colors.ts';
import { viewPattern, type Cell } from './compare/transform.ts';
import { SIDE_LABEL, SIDES, type Side } from './compare/prompts.ts';
import { PromptEditor } from './compare/PromptEditor.tsx';
import { HeadGrid, type HeadRef } from './compare/HeadGrid.tsx';
import { HeadDetail, TokenStrip } from './compare/HeadDetail.tsx';
import { Legend } from './compare/Legend.tsx';
import { StatMaps } from './compare/StatMaps.tsx';
import { ExportBar } from './compare/ExportBar.tsx';
import { compareTerms } from './compare/adapters.ts';
import { AdapterCompare } from './compare/AdapterCompare.tsx';
import { GenStepper } from './compare/GenStepper.tsx';
import type { GenSideRun } from './compareSlice.ts';

export function ComparePage() {
  const summary = useLab((s) => s.model.summary);
  const modelStatus = useLab((s) => s.model.status);
  const c = useLab((s) => s.compare);
  const setPrompt = useLab((s) => s.setComparePrompt);
  const runCompare = useLab((s) => s.runCompare);
  const adapterName = useLab((s) => s.model.summary?.adapter?.name) ?? 'base';
  const device = useLab((s) => s.adapter.info?.description || s.adapter.info?.architecture);
  const [hideSink, setHideSink] = useState(false);
  const [scaleKind, setScaleKind] = useState<ScaleKind>('sqrt');
  const [at, setAt] = useState<HeadRef>({ layer: 0, head: 0 });
  const runs = useLab((s) => s.runs);
  const refreshRuns = useLab((s) => s.refreshRuns);
  const adapterBusy = useLab((s) => s.adapterBusy);
  const runAdapterCompare = useLab((s) => s.runAdapterCompare);
  const generateSide = useLab((s) => s.generateSide);
  const cancelGenerate = useLab((s) => s.cancelGenerate);
  // the adapters to offer come from the run store: read it on each visit
  useEffect(() => void refreshRuns(), [refreshRuns]);

  const key = modelKey(summary);
  const run = c.run && c.run.modelKey === key ? c.run : undefined; // a result of another model is not shown
  const running = c.status === 'running';
  const adapterRunning = c.adapterCmp.status === 'running';
  const genRunning = SIDES.some((s) => c.gen[s].status === 'running');
  // one engine job of the page at a time (an adapter switch in between would change the weights under it)
  const jobBusy = running || adapterRunning || genRunning || adapterBusy;
  const canRun = !!summary && modelStatus !== 'loading' && !jobBusy && SIDES.every((s) => c.prompts[s].text.trim());
  const adapterRun = c.adapterCmp.run && c.adapterCmp.run.modelKey === key ? c.adapterCmp.run : undefined;
  const genRuns = {} as Record<Side, GenSideRun | undefined>;
  for (const s of SIDES) {
    const g = c.gen[s].run;
    genRuns[s] = g && g.modelKey === key && g.prompt.text === c.prompts[s].text ? g : undefined;
  }
  // the landing view: compare the prompts as soon as a model is there (once per model load and visit)
  const autoFor = useRef<string | undefined>(undefined);
  useEffect(() => {
    if (!key || modelStatus !== 'ready' || run || c.status === 'running' || autoFor.current === key) return;
    autoFor.current = key;
    void runCompare();
  }, [key, modelStatus, run, c.status, runCompare]);

  const L = run?.left.result.layers.length ?? summary?.n_layers ?? 0;
  const H = run?.left.result.n_heads ?? summary?.n_heads ?? 0;
  const cur = { layer: Math.min(at.layer, Math.max(L - 1, 0)), head: Math.min(at.head, Math.max(H - 1, 0)) };
  const scale = useMemo(() => attentionScale(scaleKind), [scaleKind]);
  const table = useMemo(() => colorTable(scale), [scale]);
  const views = useMemo(() => {
    if (!run) return undefined;
    const v = {} as Record<Side, Cell[][][][]>;
    for (const s of SIDES) v[s] = run[s].result.layers.map((ly) => ly.pattern.map((p) => viewPattern(p, hideSink)));
    return v;
  }, [run, hideSink]);
  const stale = run && SIDES.some((s) => run[s].prompt.text !== c.prompts[s].text);
  const legend = <Legend scale={scale} label={`Attention probability${hideSink ? ' (sink hidden, rows renormalised)' : ''}`} width={260} testid="compare-legend" />;

  return (
    <div className="compare-page" data-testid="compare-page" data-status={c.status}>
      <section className="panel" aria-labelledby="compare-h">
        <h2 id="compare-h">Compare: a language prompt and a math prompt</h2>
        <p className="muted">
          Both prompts go through the same model{summary ? <> (<strong>{summary.name}</strong>, adapter <strong>{adapterName}</strong>)</> : null}; every layer’s attention
          pattern <code>blocks.{'{l}'}.attn.hook_pattern</code> is drawn per head, on one colour scale for both.
        </p>
        {!summary ? <p className="notice">{modelStatus === 'loading' ? 'Loading the model…' : <>No model is loaded yet: load one on the <a href="#/models">Models</a> page.</>}</p> : null}
        <form className="compare-form" onSubmit={(e) => (e.preventDefault(), canRun && void runCompare())}>
          <div className="prompt-pair">
            {SIDES.map((s) => (
              <PromptEditor key={s} side={s} prompt={c.prompts[s]} tokens={run && !stale ? run[s].result.tokens.length : undefined} disabled={running} onChange={(p) => setPrompt(s, p)} />
            ))}
          </div>
          <div className="controls">
            <button type="submit" disabled={!canRun} data-testid="compare-run">
              {running ? 'Running…' : run ? 'Run again' : 'Run both prompts'}
            </button>
            <label className="check">
              <input type="checkbox" checked={hideSink} onChange={(e) => setHideSink(e.target.checked)} data-testid="compare-sink" />
              Hide the first-token sink (column 0) and renormalise rows
            </label>
            <label className="inline-label">
              Colour scale
              <select value={scaleKind} onChange={(e) => setScaleKind(e.target.value as ScaleKind)} data-testid="compare-scale">
                <option value="sqrt">square root (shows small values)</option>
                <option value="linear">linear</option>
              </select>
            </label>
            <span className="muted small" aria-live="polite" data-testid="compare-status">
              {running ? 'running both prompts through the model…' : stale ? 'The prompts changed since this run: run again to update.' : run ? `inspected in ${(run.left.result.ms + run.right.result.ms).toFixed(0)} ms` : ''}
            </span>
          </div>
        </form>
        {c.status === 'error' && c.error ? <ErrorBox title="Could not compare the prompts" error={c.error} testid="compare-error" /> : null}
      </section>

      <section className="panel" aria-label="Attention per layer and head">
        <div className="grid-head">
          {legend}
          <span className="muted small">Click a map (or focus one and use the arrow keys) to open that head large for both prompts.</span>
        </div>
        <div className="compare-grids">
          {SIDES.map((s) => (
            <div key={s} className="compare-side">
              <HeadGrid
                side={s}
                title={`${SIDE_LABEL[s]}${run ? ` · ${run[s].result.tokens.length} tokens` : ''}`}
                L={L}
                H={H}
                status={running ? 'running' : run ? 'done' : 'idle'}
                views={views?.[s]}
                table={table}
                hideSink={hideSink}
                selected={cur}
                onSelect={setAt}
              />
              {run ? <TokenStrip result={run[s].result} side={s} /> : null}
            </div>
          ))}
        </div>
        {run && views ? <HeadDetail at={cur} results={{ left: run.left.result, right: run.right.result }} views={views} scale={scale} legend={legend} /> : null}
      </section>

      <AdapterCompare
        summary={summary}
        runs={runs.list}
        runsStatus={runs.status}
        refreshRuns={() => void refreshRuns()}
        state={c.adapterCmp}
        run={adapterRun}
        stale={!!adapterRun && SIDES.some((s) => adapterRun[s].prompt.text !== c.prompts[s].text)}
        at={cur}
        hideSink={hideSink}
        scale={scale}
        attentionLegend={legend}
        disabled={!summary || modelStatus !== 'ready' || jobBusy}
        onRun={(id) => void runAdapterCompare(id)}
      />

      <GenStepper
        gen={c.gen}
        runs={genRuns}
        at={cur}
        onSelect={setAt}
        hideSink={hideSink}
        scale={scale}
        disabled={!summary || modelStatus !== 'ready' || jobBusy}
        onGenerate={(s, n) => void generateSide(s, n)}
        onCancel={cancelGenerate}
      />

      {run ? (
        <section className="panel">
          <StatMaps left={run.left.result} right={run.right.result} />
          <ExportBar
            run={run}
            view={{ hideSink, scale: scaleKind }}
            device={device}
            extra={{ adapterRun, gen: genRuns }}
            terms={compareTerms(
              [{ name: run.adapter, terms: run.adapterTerms }, adapterRun?.adapter, ...SIDES.map((s) => genRuns[s] && { name: genRuns[s].adapter, terms: genRuns[s].adapterTerms })],
              runs.list,
            )}
          />
        </section>
      ) : null}
    </div>
  );
}
