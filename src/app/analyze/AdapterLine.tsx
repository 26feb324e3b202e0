// The adapter the analysis runs with (the one merged into the loaded weights, as the header shows), a
// picker to switch it (the store's useAdapter, as the Runs page does: base model or a finished LoRA
// run) and how to compare before/after training: pin one report, switch, run again (./BeforeAfter.tsx).
import { useMemo } from 'react';
import { ErrorBox, useLab } from '../lab.tsx';
import { adapterChoices } from '../compare/adapters.ts';

export function AdapterLine({ disabled }: { disabled: boolean }) {
  const summary = useLab((s) => s.model.summary);
  const runs = useLab((s) => s.runs.list);
  const busy = useLab((s) => s.adapterBusy);
  const error = useLab((s) => s.adapterError);
  const useAdapter = useLab((s) => s.useAdapter);
  const choices = useMemo(() => adapterChoices(runs, summary?.adapter ?? null), [runs, summary?.adapter]);
  const active = choices.find((c) => c.active);
  const value = !summary?.adapter ? '' : (active?.runId ?? 'imported');
  return (
    <div className="analyze-adapter" data-testid="analyze-adapter" data-active={summary?.adapter?.name ?? ''}>
      <div className="controls">
        <span>
          Active adapter: <strong data-testid="analyze-adapter-name">{summary ? (summary.adapter?.name ?? 'base model') : '—'}</strong>
        </span>
        <label className="inline-label">
          Switch to
          <select
            value={value}
            disabled={!summary || disabled || busy}
            onChange={(e) => void useAdapter(e.target.value ? { runId: e.target.value } : null)}
            data-testid="analyze-adapter-pick"
          >
            <option value="">base model (no adapter)</option>
            {choices.map((c) => (
              <option key={c.runId ?? 'imported'} value={c.runId ?? 'imported'} disabled={!c.runId}>
                {c.label}
              </option>
            ))}
          </select>
        </label>
        {busy ? <span className="muted small">switching… (the weights reload)</span> : null}
      </div>
      <p className="muted small" data-testid="analyze-before-after">
        Before/after training: run the report with the base model (or one checkpoint’s adapter), pin it as “before”, switch the adapter (here or on the Runs
        page) and run again with the same sets and settings, then compare with the pinned report: which heads changed. Attention patterns with the adapter on
        and off: the <a href="#/compare">Compare</a> page.
      </p>
      {error ? <ErrorBox title="Could not switch the adapter" error={error} testid="analyze-adapter-error" /> : null}
    </div>
  );
}
