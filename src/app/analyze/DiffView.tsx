// Before/after: the current report against the pinned one, head by head (./diff.ts → the engine's
// diffReports). The counts of what changed; a layer × head map of Cohen's d before | after | Δd for one
// statistic (the one of the largest |Δd| first) and of the Δ ablation effect per task; the two ranked
// lists (selectivity by |Δd|, ablation effect by |Δ|, apart: their units differ) with the engine's
// plain-English line for each; what Δ is and is not (report-diff.ts's own account); diff.json (every
// pair, not only the ranked ones) and diff.txt. Reports that cannot be compared get the engine's
// refusal, which names every difference.
import { useMemo, useState } from 'react';
import type { ReportData } from '../../engine/api.ts';
import { diffToJson, formatDiff, type CausalChange, type ReportDiff, type SelectivityChange } from '../../engine/analysis/report-diff.ts';
import { fmt, fmtP, statText } from '../../engine/analysis/report-figures.ts';
import type { HeadEffect } from '../../engine/analysis/report-data.ts';
import { downloadFiles } from '../train/download.ts';
import { reportTerms } from '../../engine/analysis/report-terms.ts';
import { ablationDiffFigure, compareReports, selectivityDiffFigures, topStat } from './diff.ts';

const enc = new TextEncoder();
/** The files, with the terms both reports inherit (a diff is made from them). */
const save = (files: Record<string, string>, reports: ReportData[]) => {
  const bytes = Object.fromEntries(Object.entries(files).map(([k, v]) => [k, enc.encode(v)]));
  const terms = reportTerms(reports);
  if (terms) bytes['governance.json'] = enc.encode(JSON.stringify(terms, null, 1));
  downloadFiles(bytes, Object.keys(bytes));
};
const signed = (x: number) => (x > 0 ? '+' : '') + fmt(x);
const head = (x: { layer: number; head: number }) => `L${x.layer}H${x.head}`;
/** The "CIs disjoint" cell: null when a side has no bootstrap CI (no resamples, or a CI of n/a). */
const Disjoint = ({ v }: { v: boolean | null }) =>
  v === null ? <span className="muted" title="no bootstrap CI on one side (no resamples, or n/a)">—</span> : v ? <strong className="disjoint">disjoint</strong> : <span className="muted">overlap</span>;

/** An SVG string of heatmapFigure (every text in it escaped), inline so its cells keep their hover titles. */
function Svg({ svg, testid, name }: { svg: string; testid: string; name: string }) {
  return <div className="diff-map" data-testid={testid} data-name={name} dangerouslySetInnerHTML={{ __html: svg }} />;
}

function SelRow({ c, i, alpha }: { c: SelectivityChange; i: number; alpha: number }) {
  const side = (r: SelectivityChange['before']) => (r ? <span className={r.q < alpha ? 'sig' : undefined}>{fmt(r.d)} <span className="muted">(q {fmtP(r.q)})</span></span> : <span className="muted">no data</span>);
  return (
    <tr data-testid="analyze-diff-sel-row" data-head={head(c)} data-stat={c.stat} data-delta={c.deltaD}>
      <td className="num">{i + 1}</td>
      <td>{head(c)}</td>
      <td title={statText(c.stat)}>{c.stat}</td>
      <td className="num">{side(c.before)}</td>
      <td className="num">{side(c.after)}</td>
      <td className="num">
        <strong>{signed(c.deltaD)}</strong>
      </td>
      <td>
        <Disjoint v={c.ciDisjoint} />
      </td>
    </tr>
  );
}

function CausalRow({ c, i }: { c: CausalChange; i: number }) {
  const side = (e: HeadEffect | null) => (e ? <>{fmt(e.mean)} <span className="muted">[{fmt(e.ci[0])}, {fmt(e.ci[1])}]</span></> : <span className="muted">no data</span>);
  return (
    <tr data-testid="analyze-diff-causal-row" data-head={head(c)} data-task={c.task} data-delta={c.delta}>
      <td className="num">{i + 1}</td>
      <td>{head(c)}</td>
      <td>{c.label}</td>
      <td className="num">{side(c.before)}</td>
      <td className="num">{side(c.after)}</td>
      <td className="num">
        <strong>{signed(c.delta)}</strong>
      </td>
      <td>
        <Disjoint v={c.ciDisjoint} />
      </td>
    </tr>
  );
}

function Lines({ lines, testid }: { lines: string[]; testid: string }) {
  return (
    <details className="diff-lines" open data-testid={testid}>
      <summary>In words</summary>
      <ol>
        {lines.map((l, i) => (
          <li key={i}>{l}</li>
        ))}
      </ol>
    </details>
  );
}

function Diff({ diff, same, none, pinned, report }: { diff: ReportDiff; same: boolean; none: boolean; pinned: ReportData; report: ReportData }) {
  const [stat, setStat] = useState(() => topStat(diff));
  const shownStat = diff.stats.includes(stat) ? stat : topStat(diff);
  const selFig = useMemo(() => selectivityDiffFigures(diff, shownStat), [diff, shownStat]);
  const ablFig = useMemo(() => ablationDiffFigure(diff), [diff]);
  const s = diff.summary;
  const [A, B] = [diff.tasks.a.label, diff.tasks.b.label];
  return (
    <>
      <p className="diff-summary" data-testid="analyze-diff-summary">
        <strong>Selectivity:</strong> {s.selectivity.changed} of {s.selectivity.pairs} head-statistic pairs changed; {s.selectivity.becameSignificant} became significant (q &lt; {diff.alpha}),{' '}
        {s.selectivity.lostSignificance} lost it; {s.selectivity.ciDisjoint} with disjoint CIs.
        <br />
        <strong>Ablation:</strong> {s.causal.changed} of {s.causal.pairs} head-task effects changed; {s.causal.ciDisjoint} with disjoint CIs.
      </p>
      {same ? (
        <p className="notice" data-testid="analyze-diff-same">
          The current report is the pinned one itself, so nothing can differ. Switch the adapter (or checkpoint) above and run again with the same sets and settings.
        </p>
      ) : null}
      {none ? (
        <p className="notice" role="status" data-testid="analyze-diff-none">
          No change: every head’s d, q and ablation effect is the same in both reports.
        </p>
      ) : null}
      <p className="muted small diff-caveat" data-testid="analyze-diff-caveat">
        <strong>Δ is a point difference, not a test.</strong> report.json keeps no per-prompt values, and the proper test — a paired bootstrap or permutation over the same
        prompts under both weights — needs them. “CIs disjoint”: the two 95% bootstrap CIs, each from its own report’s resamples, do not overlap — a conservative
        indicator, not a test of the difference (the same prompts feed both reports). A head can cross q &lt; {diff.alpha} by a small change near the threshold, and
        the top of a ranking of many noisy differences is large partly by chance. Selectivity (Δd, in pooled SDs) and ablation (Δ, in nats) are ranked apart.
      </p>

      <h3>Selectivity: which heads changed how differently they attend on {A} and {B}</h3>
      <div className="controls diff-map-controls">
        <label className="inline-label">
          Map of
          <select value={shownStat} onChange={(e) => setStat(e.target.value)} data-testid="analyze-diff-stat">
            {diff.stats.map((x) => (
              <option key={x} value={x}>
                {x}
              </option>
            ))}
          </select>
        </label>
        <span className="muted small">{statText(shownStat)}</span>
      </div>
      <div className="diff-maps">
        <Svg svg={selFig.delta.svg} testid="analyze-diff-sel-map" name={selFig.delta.name} />
        <Svg svg={selFig.sides.svg} testid="analyze-diff-sel-sides" name={selFig.sides.name} />
      </div>
      {diff.top.selectivity.length ? (
        <>
          <table className="results diff-table" data-testid="analyze-diff-sel">
            <caption>
              The {diff.top.selectivity.length} head-statistic pairs with the largest |Δd| (Cohen’s d of {A} vs {B}; positive: higher on {A}). Bold: q &lt; {diff.alpha}.
            </caption>
            <thead>
              <tr>
                <th className="num">#</th>
                <th>Head</th>
                <th>Statistic</th>
                <th className="num">Before d (q)</th>
                <th className="num">After d (q)</th>
                <th className="num">Δd</th>
                <th>The two 95% CIs</th>
              </tr>
            </thead>
            <tbody>
              {diff.top.selectivity.map((c, i) => (
                <SelRow key={`${c.stat}.${c.layer}.${c.head}`} c={c} i={i} alpha={diff.alpha} />
              ))}
            </tbody>
          </table>
          <Lines lines={diff.top.selectivity.map((c) => c.line)} testid="analyze-diff-sel-lines" />
        </>
      ) : (
        <p className="muted" data-testid="analyze-diff-sel-empty">
          No head-statistic pair changed its d.
        </p>
      )}

      <h3>Ablation: which heads changed how much the answer needs them</h3>
      <Svg svg={ablFig.svg} testid="analyze-diff-abl-map" name={ablFig.name} />
      {diff.top.causal.length ? (
        <>
          <table className="results diff-table" data-testid="analyze-diff-causal">
            <caption>
              The {diff.top.causal.length} head-task pairs with the largest |Δ| of the ablation effect (mean change of the answer’s log-prob when the head is ablated, nats;
              negative: the head helps the answer).
            </caption>
            <thead>
              <tr>
                <th className="num">#</th>
                <th>Head</th>
                <th>Task</th>
                <th className="num">Before [95% CI]</th>
                <th className="num">After [95% CI]</th>
                <th className="num">Δ</th>
                <th>The two 95% CIs</th>
              </tr>
            </thead>
            <tbody>
              {diff.top.causal.map((c, i) => (
                <CausalRow key={`${c.task}.${c.layer}.${c.head}`} c={c} i={i} />
              ))}
            </tbody>
          </table>
          <Lines lines={diff.top.causal.map((c) => c.line)} testid="analyze-diff-causal-lines" />
        </>
      ) : (
        <p className="muted" data-testid="analyze-diff-causal-empty">
          No head’s ablation effect changed.
        </p>
      )}

      <div className="export-bar">
        <span className="muted small">Download:</span>
        <button type="button" className="secondary small-btn" onClick={() => save({ 'diff.json': diffToJson(diff) }, [pinned, report])} data-testid="analyze-diff-download-json">
          diff.json
        </button>
        <button type="button" className="secondary small-btn" onClick={() => save({ 'diff.txt': formatDiff(diff) + '\n' }, [pinned, report])} data-testid="analyze-diff-download-txt">
          diff.txt
        </button>
        <button type="button" className="link small" onClick={() => save({ [selFig.delta.name]: selFig.delta.svg }, [pinned, report])} data-testid="analyze-diff-download-sel-svg">
          {selFig.delta.name}
        </button>
        <button type="button" className="link small" onClick={() => save({ [selFig.sides.name]: selFig.sides.svg }, [pinned, report])} data-testid="analyze-diff-download-sides-svg">
          {selFig.sides.name}
        </button>
        <button type="button" className="link small" onClick={() => save({ [ablFig.name]: ablFig.svg }, [pinned, report])} data-testid="analyze-diff-download-abl-svg">
          {ablFig.name}
        </button>
        <span className="muted small">diff.json holds every pair (as `lab analyze diff` writes it), not only the ranked ones.</span>
      </div>
    </>
  );
}

/** The diff of `report` (after) against `pinned` (before), or the reason there is none. */
export function DiffView({ pinned, report, allowDifferentModel, onAllowDifferentModel }: { pinned: ReportData; report: ReportData; allowDifferentModel: boolean; onAllowDifferentModel: (on: boolean) => void }) {
  const cmp = useMemo(() => compareReports(pinned, report, { allowDifferentModel }), [pinned, report, allowDifferentModel]);
  const modelDiffers = pinned.model.name !== report.model.name;
  return (
    <div
      className="analyze-diff"
      id="analyze-diff"
      data-testid="analyze-diff"
      data-state={cmp.ok ? 'ok' : cmp.incomparable ? 'incomparable' : 'error'}
      data-same={cmp.ok && cmp.same ? 'yes' : 'no'}
      data-none={cmp.ok && cmp.none ? 'yes' : 'no'}
      data-before={pinned.createdAt}
      data-after={report.createdAt}
    >
      {modelDiffers || allowDifferentModel ? (
        <label className="check">
          <input type="checkbox" checked={allowDifferentModel} onChange={(e) => onAllowDifferentModel(e.target.checked)} data-testid="analyze-diff-allow-model" />
          compare reports of differently named model folders of one architecture (a full fine-tune’s checkpoints)
        </label>
      ) : null}
      {cmp.ok ? (
        // keyed by the pair: a new pair opens its map on its own top statistic
        <Diff key={`${pinned.createdAt}|${report.createdAt}`} diff={cmp.diff} same={cmp.same} none={cmp.none} pinned={pinned} report={report} />
      ) : (
        <div className="error" role="alert" data-testid="analyze-diff-error">
          <strong>{cmp.incomparable ? 'These two reports cannot be compared' : 'The comparison failed'}</strong>
          <p data-testid="analyze-diff-error-message">{cmp.message}</p>
          {cmp.incomparable ? (
            <p className="muted">
              Only the weights may differ. Run again with the pinned report’s sets and settings (listed above), changing only the adapter or checkpoint — or pin the
              current report instead.
            </p>
          ) : null}
        </div>
      )}
    </div>
  );
}
