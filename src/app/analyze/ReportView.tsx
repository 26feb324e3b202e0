// The last report: what it was computed on (and a note when the loaded model or adapter is another),
// its downloads (report.html, report.json, each figure as SVG) and the report itself, rendered by the
// engine's renderReport (the same bytes as `lab analyze report`) in a sandboxed iframe that runs no
// script and scrolls inside; ./frame.ts says how it gets its styles under the lab's CSP.
import { useMemo, useState } from 'react';
import type { ModelSummary, ReportData } from '../../engine/api.ts';
import { renderReport } from '../../engine/analysis/report.ts';
import { reportToJson } from '../../engine/analysis/report-data.ts';
import { downloadFiles } from '../train/download.ts';
import { reportTerms } from '../../engine/analysis/report-terms.ts';
import { frameDoc, styleFrame } from './frame.ts';

const enc = new TextEncoder();

/** Why the report does not describe the loaded model, or null when it does. */
export function mismatch(r: ReportData, s: ModelSummary | undefined): string | null {
  const want = `${r.model.name} with ${r.adapter ? `adapter ${r.adapter.name}` : 'the base model'}`;
  if (!s) return `No model is loaded now; this report was computed on ${want}.`;
  const have = `${s.name} with ${s.adapter ? `adapter ${s.adapter.name}` : 'the base model'}`;
  return have === want ? null : `The loaded model is ${have}; this report was computed on ${want}. Run again for a report of the loaded one.`;
}

const when = (iso: string) => {
  const t = Date.parse(iso);
  return Number.isFinite(t) ? new Date(t).toLocaleString() : iso;
};

export function ReportView({ report: r, summary, from, running }: { report: ReportData; summary?: ModelSummary; from?: 'run' | 'saved'; running: boolean }) {
  const rendered = useMemo(() => {
    try {
      return { ...renderReport(r), error: null };
    } catch (e) {
      return { html: '', figures: {} as Record<string, string>, error: (e as Error).message };
    }
  }, [r]);
  const shown = useMemo(() => frameDoc(rendered.html), [rendered.html]);
  // the frame's content is styled (set on load): tests and screenshots wait for it
  const [styled, setStyled] = useState('');
  const differs = mismatch(r, summary);
  const [saveError, setSaveError] = useState('');
  const save = (files: Record<string, string>) => {
    const bytes = Object.fromEntries(Object.entries(files).map(([k, v]) => [k, enc.encode(v)]));
    // a report quotes its prompts and measures its adapter: it carries (and is exported under) the strictest terms of their sources
    const terms = reportTerms([r]);
    if (terms) bytes['governance.json'] = enc.encode(JSON.stringify(terms, null, 1));
    setSaveError('');
    try {
      downloadFiles(bytes, Object.keys(bytes));
    } catch (e) {
      setSaveError((e as Error).message);
    }
  };
  const figs = Object.keys(rendered.figures);
  const t = r.tasks;
  return (
    <section className="panel analyze-result" id="analyze-result" aria-labelledby="analyze-result-h" data-testid="analyze-result" data-from={from ?? ''}>
      <h2 id="analyze-result-h">
        Report: {t.a.label} vs {t.b.label}
      </h2>
      <dl className="facts analyze-facts" data-testid="analyze-report-meta">
        <dt>Computed on</dt>
        <dd data-testid="analyze-report-model">
          {r.model.name} ({r.model.layers} layers × {r.model.heads} heads), {r.adapter ? <>adapter <strong>{r.adapter.name}</strong></> : 'the base model'}
        </dd>
        <dt>When</dt>
        <dd>
          {when(r.createdAt)}
          {from === 'saved' ? <span className="muted"> · kept from an earlier visit</span> : null}
          {running ? <span className="muted"> · a new analysis is running; this one stays until it finishes</span> : null}
        </dd>
        <dt>Sets</dt>
        <dd>
          A = {t.a.label} ({t.a.n} of {t.a.rows}), B = {t.b.label} ({t.b.n} of {t.b.rows}) · seed {r.reproduce.seed} · queries {r.reproduce.queries} · ablation {r.reproduce.ablation} ·{' '}
          {r.reproduce.nBoot} resamples · {r.reproduce.nPerm} permutations
        </dd>
      </dl>
      {differs ? (
        <p className="notice" data-testid="analyze-mismatch">
          {differs}
        </p>
      ) : null}
      {rendered.error ? (
        <p className="bad" role="alert" data-testid="analyze-render-error">
          {rendered.error}
        </p>
      ) : (
        <>
          <div className="export-bar analyze-downloads">
            <span className="muted small">Download:</span>
            <button type="button" className="secondary small-btn" onClick={() => save({ 'report.html': rendered.html })} data-testid="analyze-download-html">
              report.html
            </button>
            <button type="button" className="secondary small-btn" onClick={() => save({ 'report.json': reportToJson(r) })} data-testid="analyze-download-json">
              report.json
            </button>
            <details data-testid="analyze-figures">
              <summary>the {figs.length} figures, each as SVG</summary>
              <div className="fig-list">
                {figs.map((name) => (
                  <button key={name} type="button" className="link small" onClick={() => save({ [name]: rendered.figures[name] })} data-testid="analyze-download-figure" data-name={name}>
                    {name}
                  </button>
                ))}
              </div>
            </details>
          </div>
          {saveError ? (
            <p className="bad small" role="alert" data-testid="analyze-download-refused">
              {saveError}
            </p>
          ) : null}
          <iframe
            className="analyze-frame"
            title={`Analysis report: ${t.a.label} vs ${t.b.label}`}
            sandbox="allow-same-origin"
            srcDoc={shown.srcdoc}
            onLoad={(e) => setStyled(styleFrame(e.currentTarget, shown.css) ? r.createdAt : '')}
            data-styled={styled === r.createdAt ? 'yes' : 'no'}
            data-testid="analyze-report"
            data-heads={r.model.layers * r.model.heads}
            data-layers={r.model.layers}
            data-created={r.createdAt}
          />
        </>
      )}
    </section>
  );
}
