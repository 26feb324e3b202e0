// The Train page: supervised fine-tuning (LoRA or full) of the loaded model in the engine worker.
// Settings (a preset, then every `lab sft` option with inline validation), the data (embedded
// task sets or a picked JSONL file with its SOURCE_MANIFEST.yml) and its governance decision,
// then Start / Pause / Resume / Cancel and the live run (./train/LiveRun.tsx): progress, data
// report, d3 charts of loss, gradient norm, learning rate and tokens/s, and the adapter at the end.
// The step runs in the worker, so this page stays responsive while it trains.
import { useMemo } from 'react';
import { formatCount, useLab } from './lab.tsx';
import { ConfigForm } from './train/ConfigForm.tsx';
import { DataPicker } from './train/DataPicker.tsx';
import { LiveRunView, RunControls, TrainErrorBox, isActive } from './train/LiveRun.tsx';
import { configNotes, validateConfig } from './train/validate.ts';
import './train/train.css';

export function TrainPage() {
  const model = useLab((s) => s.model);
  const config = useLab((s) => s.trainConfig);
  const data = useLab((s) => s.trainData);
  const decision = useLab((s) => s.trainDecision);
  const live = useLab((s) => s.live);
  const adapterBusy = useLab((s) => s.adapterBusy);
  const errors = useMemo(() => validateConfig(config), [config]);
  const nErrors = Object.keys(errors).length;
  const active = isActive(live.status);
  const summary = model.summary;
  const rows = data.kind === 'embedded' ? data.n : undefined;
  const notes = configNotes(config, { rows });

  const blocked = !summary
    ? model.status === 'loading'
      ? 'A model is loading…'
      : 'Load a model first (Models page).'
    : model.status === 'loading'
      ? 'A model is loading…'
      : adapterBusy
        ? 'The adapter is being switched…'
        : nErrors
          ? `Fix the ${nErrors === 1 ? 'setting' : `${nErrors} settings`} marked above.`
          : data.kind === 'file' && !data.name
            ? 'Pick a JSONL file (and its SOURCE_MANIFEST.yml).'
            : !decision.allowed
              ? `Refused by the data governance: ${decision.reason}`
              : null;

  return (
    <>
      <section className="panel train-page" data-testid="train-page" aria-labelledby="train-h">
        <h2 id="train-h">Train (supervised fine-tuning)</h2>
        <p className="muted small" data-testid="train-model">
          {summary ? (
            <>
              Trains <strong>{summary.name}</strong> ({formatCount(summary.parameters)} parameters, context {summary.n_ctx} tokens) in the engine worker.
              {summary.adapter ? (
                <span className="warn-inline">
                  {' '}
                  The adapter <strong>{summary.adapter.name}</strong> is merged into its weights: a new run trains on top of it (switch to the base model to train from the base).
                </span>
              ) : null}
            </>
          ) : (
            'No model loaded: load one on the Models page.'
          )}
        </p>
        <div className="train-form">
          <ConfigForm errors={errors} disabled={active} />
          <DataPicker disabled={active} />
        </div>
        {notes.length ? (
          <ul className="notes small muted">
            {notes.map((n) => (
              <li key={n}>{n}</li>
            ))}
          </ul>
        ) : null}
        <RunControls blocked={blocked} />
        {live.status === 'idle' && live.error ? <TrainErrorBox error={live.error} /> : null}
      </section>
      <LiveRunView />
    </>
  );
}
