// Before/after training on the Analyze page (issue 12, item 5): pin a report as "before" (the base
// model's, or checkpoint A's adapter), switch the adapter, run again with the same sets and settings,
// and compare: the current report's diff against the pinned one (./DiffView.tsx). The pinned report is
// kept in IndexedDB (./persist.ts) until it is unpinned or another is pinned; the diff follows each new
// run while the comparison is on.
import type { ReportData } from '../../engine/api.ts';
import { reportToJson } from '../../engine/analysis/report-data.ts';
import { useLab } from '../lab.tsx';
import { downloadFiles } from '../train/download.ts';
import { DiffView } from './DiffView.tsx';

const when = (iso: string) => {
  const t = Date.parse(iso);
  return Number.isFinite(t) ? new Date(t).toLocaleString() : iso;
};
/** What a report was computed on and with what: the parts that must match for a comparison, and the adapter. */
const weights = (r: ReportData) => (
  <>
    {r.model.name}, {r.adapter ? <>adapter <strong>{r.adapter.name}</strong></> : <strong>base model</strong>}
  </>
);
const inputs = (r: ReportData) => {
  const t = r.tasks, p = r.reproduce;
  return `A = ${t.a.label} (${t.a.n} of ${t.a.rows}), B = ${t.b.label} (${t.b.n} of ${t.b.rows}) · seed ${p.seed} · queries ${p.queries} · ablation ${p.ablation} · ${p.nBoot} resamples · ${p.nPerm} permutations`;
};

export function BeforeAfter({ running }: { running: boolean }) {
  const a = useLab((s) => s.analysis);
  const pin = useLab((s) => s.pinAnalysis);
  const unpin = useLab((s) => s.unpinAnalysis);
  const setCompare = useLab((s) => s.setAnalyzeCompare);
  const setAllow = useLab((s) => s.setAnalyzeAllowDifferentModel);
  const { pinned, report } = a;
  const samePair = !!pinned && !!report && pinned.createdAt === report.createdAt;
  return (
    <section className="panel analyze-before-after" id="analyze-ba" aria-labelledby="analyze-ba-h" data-testid="analyze-pin-panel" data-pinned={pinned?.createdAt ?? ''} data-comparing={a.comparing ? 'yes' : 'no'}>
      <h2 id="analyze-ba-h">Before/after training</h2>
      {!pinned ? (
        <>
          <p className="muted">
            Pin a report as “before” (the base model’s, or the adapter of one checkpoint), switch the adapter above, run again with the same sets and settings, and compare:
            which heads changed task selectivity or causal effect after SFT, GRPO or DPO. The pinned report stays across reloads.
          </p>
          <div className="actions">
            <button type="button" disabled={!report || running} onClick={() => void pin()} data-testid="analyze-pin">
              Pin the report below as “before”
            </button>
            {!report ? <span className="muted small">run the analysis first</span> : null}
          </div>
        </>
      ) : (
        <>
          <dl className="facts analyze-facts" data-testid="analyze-pinned-meta">
            <dt>Before (pinned)</dt>
            <dd data-testid="analyze-pinned-model">
              {weights(pinned)} · computed {when(pinned.createdAt)}
              {a.pinnedAt ? <span className="muted"> · pinned {when(a.pinnedAt)}</span> : null}
              <div className="muted small">{inputs(pinned)}</div>
            </dd>
            <dt>After (current)</dt>
            <dd data-testid="analyze-current-model">
              {report ? (
                <>
                  {weights(report)} · computed {when(report.createdAt)}
                  {samePair ? <span className="muted"> · the pinned report itself</span> : null}
                  <div className="muted small">{inputs(report)}</div>
                </>
              ) : (
                <span className="muted">no report yet: run the analysis</span>
              )}
            </dd>
          </dl>
          <div className="actions">
            <button
              type="button"
              disabled={!report}
              onClick={() => setCompare(!a.comparing)}
              aria-expanded={a.comparing}
              aria-controls="analyze-diff"
              data-testid="analyze-compare"
            >
              {a.comparing ? 'Hide the comparison' : 'Compare with pinned'}
            </button>
            <button type="button" className="secondary" disabled={!report || samePair || running} onClick={() => void pin()} data-testid="analyze-repin">
              Pin the current report instead
            </button>
            <button type="button" className="secondary" onClick={() => void unpin()} data-testid="analyze-unpin">
              Unpin
            </button>
            <button
              type="button"
              className="link small"
              onClick={() => downloadFiles({ 'report-before.json': new TextEncoder().encode(reportToJson(pinned)) }, ['report-before.json'])}
              data-testid="analyze-pinned-download"
            >
              report-before.json
            </button>
          </div>
          {running && a.comparing ? <p className="muted small">A new analysis is running; the comparison shows the current report until it finishes.</p> : null}
          {a.comparing && report ? <DiffView pinned={pinned} report={report} allowDifferentModel={a.allowDifferentModel} onAllowDifferentModel={setAllow} /> : null}
        </>
      )}
      {a.pinError ? (
        <p className="muted small" role="status" data-testid="analyze-pin-error">
          {a.pinError}
        </p>
      ) : null}
    </section>
  );
}
