// Export buttons: the figure as PNG or SVG, the numbers as JSON. Files are made in the page and
// saved through a download link; nothing is sent anywhere.
import { useState } from 'react';
import type { CompareRun } from '../compareSlice.ts';
import { compareJson, download, figurePng, figureSvg, type ExportExtra, type ViewSettings } from './exports.ts';
import { exportProblem } from '../../engine/train/governance.ts';
import type { CompareTerms } from './adapters.ts';

const stem = (run: CompareRun) => `compare-${run.model.replace(/[^\w.-]+/g, '_')}-${run.at.replace(/[:.]/g, '-')}`;

/** `terms`: what the export inherits from the runs whose adapters made it (compareTerms); null when none. */
export function ExportBar({ run, view, device, extra, terms }: { run: CompareRun; view: ViewSettings; device?: string; extra?: ExportExtra; terms: CompareTerms | null }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const act = (f: () => Promise<void> | void) => async () => {
    setBusy(true);
    setError('');
    try {
      const why = exportProblem(terms);
      if (why) throw new Error(`Not exported: ${why}.`);
      await f();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="export-bar" role="group" aria-label="Export this comparison">
      <span className="muted small">Export:</span>
      <button type="button" className="secondary small-btn" disabled={busy} data-testid="compare-export-png" onClick={act(async () => download(`${stem(run)}.png`, await figurePng(figureSvg(run, view))))}>
        Figure (PNG)
      </button>
      <button type="button" className="secondary small-btn" disabled={busy} data-testid="compare-export-svg" onClick={act(() => download(`${stem(run)}.svg`, new Blob([figureSvg(run, view)], { type: 'image/svg+xml' })))}>
        Figure (SVG)
      </button>
      <button type="button" className="secondary small-btn" disabled={busy} data-testid="compare-export-json" onClick={act(() => download(`${stem(run)}.json`, new Blob([compareJson(run, view, device, extra, terms)], { type: 'application/json' })))}>
        Numbers (JSON)
      </button>
      {error ? (
        <span role="alert" className="bad small">
          {error}
        </span>
      ) : null}
    </div>
  );
}
