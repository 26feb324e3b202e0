// The comparison table the Evaluate page builds: one line per model (the base model, then each run's
// adapter) on the same rows — its kind, the metric's score with its 95% CI (and accuracy, correct / n for
// exact match), the run's data and inherited terms — the chart, the downloads (CSV and JSON, both with
// the provenance) and the provenance itself in words. The items (each question, answer and score) are
// in the JSON; a few of the first model's are shown to make the numbers concrete.
import type { EvalTable } from '../../engine/api.ts';
import { downloadFiles } from '../train/download.ts';
import { EvalChart, KIND_COLOR, rowKind, rowName } from './EvalChart.tsx';
import { dataGovernance, exportStem, tableCsv, tableJson } from './exports.ts';
import { METRIC_TEXT, metricMax } from './form.ts';

const enc = new TextEncoder();

export function EvalResult({ table, from, running, onClear }: { table: EvalTable; from?: 'run' | 'saved'; running: boolean; onClear(): void }) {
  const p = table.provenance;
  const exact = table.metric === 'exact';
  const fmt = (x: number) => (metricMax(table.metric) === 1 ? x.toFixed(3) : x.toFixed(1));
  const stem = exportStem(table);
  const save = (kind: 'csv' | 'json') => downloadFiles({ [`${stem}.${kind}`]: enc.encode(kind === 'csv' ? tableCsv(table) : tableJson(table)) }, [`${stem}.${kind}`]);
  return (
    <section className="panel eval-result" id="eval-result" data-testid="eval-result" data-from={from ?? ''} data-created={p.createdAt} data-metric={table.metric} data-n={table.n} aria-labelledby="eval-result-h">
      <h2 id="eval-result-h">
        {rowsText(table)} on <code>{table.data}</code>
      </h2>
      <p className="muted small">
        {METRIC_TEXT[table.metric]}; {table.n} rows, greedy answers of at most {p.settings.maxNewTokens} new tokens; 95% CI: {p.settings.ci}, seed {p.settings.seed}.{' '}
        {from === 'saved' ? <strong>Kept from an earlier visit ({new Date(p.createdAt).toLocaleString()}).</strong> : `Made ${new Date(p.createdAt).toLocaleString()}.`}
      </p>
      <div className="eval-table-wrap">
        <table className="eval-table" data-testid="eval-table">
          <thead>
            <tr>
              <th scope="col">Model / adapter</th>
              <th scope="col">Kind</th>
              <th scope="col" className="num">
                {table.metric} [95% CI]
              </th>
              {exact ? (
                <>
                  <th scope="col" className="num">Accuracy</th>
                  <th scope="col" className="num">Correct / n</th>
                </>
              ) : (
                <th scope="col" className="num">n</th>
              )}
              <th scope="col">Trained on · inherited terms</th>
            </tr>
          </thead>
          <tbody>
            {table.rows.map((r, i) => {
              const kind = rowKind(r);
              const inh = (r.run?.governance as { inherited?: { sources?: string[]; prohibited_uses?: string[]; contains_sensitive_content?: boolean } } | null)?.inherited;
              return (
                <tr key={i} data-testid="eval-row" data-adapter={r.adapter ?? ''} data-run-id={r.run?.id ?? ''} data-kind={kind} data-score={r.score} data-lo={r.ci95[0]} data-hi={r.ci95[1]} data-n={r.n} data-correct={r.correct ?? ''}>
                  <th scope="row">
                    {rowName(r)}
                    {r.run ? <code className="small muted"> {r.run.id}</code> : null}
                  </th>
                  <td>
                    <span className="eval-kind" style={{ borderColor: KIND_COLOR[kind] ?? '#8a94a6', color: KIND_COLOR[kind] ?? '#8a94a6' }}>
                      {kind}
                    </span>
                  </td>
                  <td className="num">
                    <strong>{fmt(r.score)}</strong> <span className="muted">[{fmt(r.ci95[0])}, {fmt(r.ci95[1])}]</span>
                  </td>
                  {exact ? (
                    <>
                      <td className="num">{((r.accuracy ?? 0) * 100).toFixed(1)}%</td>
                      <td className="num">
                        {r.correct} / {r.n}
                      </td>
                    </>
                  ) : (
                    <td className="num">{r.n}</td>
                  )}
                  <td className="small">
                    {r.run ? (
                      <>
                        {r.run.data.name} ({r.run.data.rows} rows, {r.run.steps} steps) ·{' '}
                        {inh ? `${inh.prohibited_uses?.length ? `no ${inh.prohibited_uses.join(', ')}` : 'no prohibited uses'}${inh.contains_sensitive_content ? '; sensitive' : ''}${inh.sources?.length ? ` (${inh.sources.join(', ')})` : ''}` : 'terms not recorded'}
                      </>
                    ) : r.adapter ? (
                      'an adapter from files'
                    ) : (
                      <span className="muted">the loaded model, no adapter</span>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <EvalChart table={table} />
      <div className="actions eval-exports">
        <button type="button" onClick={() => save('csv')} data-testid="eval-download-csv">
          Download CSV
        </button>
        <button type="button" onClick={() => save('json')} data-testid="eval-download-json">
          Download JSON (with every answer)
        </button>
        <button type="button" className="secondary" disabled={running} onClick={onClear} data-testid="eval-clear">
          Forget this table
        </button>
      </div>
      <h3>Provenance</h3>
      <dl className="facts eval-provenance" data-testid="eval-provenance">
        <dt>Data</dt>
        <dd>
          <code>{p.data.name}</code> ({p.data.used} of {p.data.rows} rows, {p.data.bytes} bytes) · sha256 <code className="small" data-testid="eval-sha256">{p.data.sha256}</code>
        </dd>
        <dt>Its terms</dt>
        <dd data-testid="eval-data-governance">{p.data.source === 'embedded' ? p.data.note : `${dataGovernance(table)}. ${p.data.note}`}</dd>
        <dt>Model</dt>
        <dd>
          {p.model.name} ({p.model.arch}, {p.model.parameters.toLocaleString()} parameters, {p.model.dtype})
        </dd>
        <dt>Made by</dt>
        <dd>
          {p.lab.name} {p.lab.version}, {p.generator}
        </dd>
      </dl>
      <Examples table={table} />
    </section>
  );
}

/** "Base vs SFT vs GRPO" */
function rowsText(t: EvalTable): string {
  return t.rows.map((r) => (rowKind(r) === 'base' ? 'Base' : rowKind(r))).join(' vs ');
}

/** The first few items of every model side by side: the question, the reference, each model's output. */
function Examples({ table }: { table: EvalTable }) {
  const n = Math.min(3, table.n);
  if (!n) return null;
  return (
    <details className="eval-examples">
      <summary>The first {n} rows’ answers</summary>
      {Array.from({ length: n }, (_, k) => {
        const first = table.rows[0].items[k] as { question?: string; prompt?: string; expected?: string; reference?: string };
        return (
          <div key={k} className="eval-example">
            <p className="small">
              <strong>Q:</strong> {first.question ?? first.prompt} <span className="muted">→ {first.expected ?? first.reference}</span>
            </p>
            <ul className="small">
              {table.rows.map((r, i) => {
                const it = r.items[k] as { output: string; correct?: boolean; score?: number };
                return (
                  <li key={i}>
                    <em>{rowName(r)}</em>: <code>{it.output.trim().slice(0, 160) || '∅'}</code> {it.correct !== undefined ? (it.correct ? '✓' : '✗') : it.score !== undefined ? fmtScore(it.score) : ''}
                  </li>
                );
              })}
            </ul>
          </div>
        );
      })}
    </details>
  );
}

const fmtScore = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(3));
