// What a dataset file holds (engine/data/dataset.ts inspectRows): rows per record format, with a box
// per format when the user picks which rows to use, rows dropped and why, and the reason for each
// unusable line (the first 20, then all on request).
import { useState } from 'react';
import type { DatasetReport } from '../../engine/data/dataset.ts';
import { SCHEMA_TEXT, type RecordSchema } from '../../engine/data/records.ts';

export function ReportView({ report, use, onUse }: { report: DatasetReport; use?: readonly RecordSchema[]; onUse?: (use: RecordSchema[]) => void }) {
  const [all, setAll] = useState(false);
  const found = Object.keys(report.counts) as RecordSchema[];
  const shown = all ? report.problems : report.problems.slice(0, 20);
  return (
    <div className="data-report" data-testid="data-report" data-mixed={String(report.mixed)}>
      <p className="small">
        <strong>{report.file}</strong> ({report.format}): {report.rows} rows
        {report.dropped.count ? ` · ${report.dropped.count} dropped` : ''}
        {report.problems.length ? ` · ${report.problems.length} unusable` : ''}
      </p>
      {found.length ? (
        <ul className="data-formats">
          {found.map((s) => (
            <li key={s} data-testid={`data-format-${s}`}>
              {onUse ? (
                <label className="check">
                  <input type="checkbox" checked={use?.includes(s) ?? false} onChange={(e) => onUse(e.target.checked ? [...(use ?? []), s] : (use ?? []).filter((x) => x !== s))} data-testid={`data-use-${s}`} />{' '}
                  <strong>{report.counts[s]}</strong> {SCHEMA_TEXT[s]}
                </label>
              ) : (
                <>
                  <strong>{report.counts[s]}</strong> {SCHEMA_TEXT[s]}
                </>
              )}
            </li>
          ))}
        </ul>
      ) : (
        <p className="bad small">No usable rows.</p>
      )}
      {report.mixed ? <p className="small" role="note">This file mixes record formats: choose which rows to use.</p> : null}
      {Object.entries(report.dropped.reasons).map(([why, n]) => (
        <p key={why} className="small muted">
          dropped {n}: {why}
        </p>
      ))}
      {shown.length ? (
        <ul className="data-problems small" data-testid="data-problems">
          {shown.map((p) => (
            <li key={p.line + p.message}>{p.message}</li>
          ))}
        </ul>
      ) : null}
      {report.problems.length > shown.length ? (
        <button type="button" className="linkish" onClick={() => setAll(true)}>
          show all {report.problems.length} unusable rows
        </button>
      ) : null}
    </div>
  );
}
