// The Train page: supervised fine-tuning, GRPO (LoRA or full) or DPO (LoRA) of the loaded model in the
// engine worker, one switch between them. Settings (SFT: a preset, then every `lab sft` option; GRPO:
// ./train/GrpoForm.tsx, `lab grpo`'s settings and rewards; DPO: ./train/DpoForm.tsx, `lab dpo`'s;
// inline validation), the data (embedded task sets or a picked JSONL file with its
// SOURCE_MANIFEST.yml; DPO's pairs only from a picked file) and its governance decision,
// then Start / Pause / Resume / Cancel and the live run (./train/LiveRun.tsx): progress, data
// report, d3 charts (SFT: loss, gradient norm, learning rate, tokens/s; GRPO: reward, KL, completion
// length, clip fraction, loss, and the latest step's completions; DPO: loss, margin, accuracy, rewards),
// and the adapter at the end.
// The step runs in the worker, so this page stays responsive while it trains.
import { useEffect, useMemo } from 'react';
import { formatCount, useLab } from './lab.tsx';
import { ConfigForm } from './train/ConfigForm.tsx';
import { DataPicker } from './train/DataPicker.tsx';
import { DpoForm } from './train/DpoForm.tsx';
import { dpoNotes, validateDpo } from './train/dpoConfig.ts';
import { GrpoForm } from './train/GrpoForm.tsx';
import { grpoNotes, validateGrpo } from './train/grpoConfig.ts';
import { LiveRunView, RunControls, TrainErrorBox, isActive } from './train/LiveRun.tsx';
import { configNotes, validateConfig } from './train/validate.ts';
import { SweepPanel } from './train/SweepPanel.tsx';
import './train/train.css';

export function TrainPage() {
  const model = useLab((s) => s.model);
  const kind = useLab((s) => s.trainKind);
  const setKind = useLab((s) => s.setTrainKind);
  const fitGrpo = useLab((s) => s.fitGrpoToModel);
  const restoreForms = useLab((s) => s.restoreTrainForms);
  const formsError = useLab((s) => s.trainFormsError);
  const config = useLab((s) => s.trainConfig);
  const grpo = useLab((s) => s.grpoConfig);
  const dpo = useLab((s) => s.dpoConfig);
  const data = useLab((s) => s.trainData);
  const decision = useLab((s) => s.trainDecision);
  const live = useLab((s) => s.live);
  const adapterBusy = useLab((s) => s.adapterBusy);
  const active = isActive(live.status);
  const summary = model.summary;
  const nCtx = summary?.n_ctx;
  const errors = useMemo(() => validateConfig(config), [config]);
  const rewardModel = useLab((s) => !!s.grpoRewardModel);
  const grpoErrors = useMemo(() => validateGrpo(grpo, { nCtx, rewardModel }), [grpo, nCtx, rewardModel]);
  const dpoErrors = useMemo(() => validateDpo(dpo), [dpo]);
  const nErrors = Object.keys(kind === 'grpo' ? grpoErrors : kind === 'dpo' ? dpoErrors : errors).length;
  const rows = data.kind === 'embedded' ? data.n : undefined;
  const fileLines = data.kind === 'file' && data.text ? data.text.split('\n').filter((l) => l.trim()).length : undefined;
  const notes = kind === 'grpo' ? grpoNotes(grpo, { nCtx, rows }) : kind === 'dpo' ? dpoNotes(dpo, { rows: fileLines }) : configNotes(config, { rows });
  // an unedited GRPO preset's max new tokens follows the loaded model's context
  useEffect(() => fitGrpo(), [nCtx, fitGrpo]);
  // the forms and data choice of the last visit (./train/persist.ts)
  useEffect(() => void restoreForms(), [restoreForms]);

  // a sweep runs its points through the same live run: no other Start until it ends (./train/SweepPanel.tsx)
  const sweeping = useLab((s) => !!s.sweepActive);
  const blocked = sweeping
    ? 'A sweep is running (the Sweep section below): pause or cancel it there.'
    : !summary
    ? model.status === 'loading'
      ? 'A model is loading…'
      : 'Load a model first (Models page).'
    : model.status === 'loading'
      ? 'A model is loading…'
      : adapterBusy
        ? 'The adapter is being switched…'
        : nErrors
          ? `Fix the ${nErrors === 1 ? 'setting' : `${nErrors} settings`} marked above.`
          : kind === 'dpo' && data.kind === 'embedded'
            ? 'DPO trains on {"prompt", "chosen", "rejected"} pairs, which the embedded task sets are not: pick a JSONL file of pairs (and its SOURCE_MANIFEST.yml).'
            : data.kind === 'file' && !data.name
            ? 'Pick a JSONL file (and its SOURCE_MANIFEST.yml).'
            : !decision.allowed
              ? `Refused by the data governance: ${decision.reason}`
              : null;

  return (
    <>
      <section className="panel train-page" data-testid="train-page" aria-labelledby="train-h">
        <div className="train-head">
          <h2 id="train-h">Train {kind === 'grpo' ? '(GRPO: group-relative policy optimization)' : kind === 'dpo' ? '(DPO: direct preference optimization)' : '(supervised fine-tuning)'}</h2>
          <fieldset className="mode-switch" disabled={active} aria-label="Training method">
            <label className={kind === 'sft' ? 'on' : ''}>
              <input type="radio" name="train-kind" checked={kind === 'sft'} onChange={() => setKind('sft')} data-testid="sft-mode" /> SFT
            </label>
            <label className={kind === 'grpo' ? 'on' : ''}>
              <input type="radio" name="train-kind" checked={kind === 'grpo'} onChange={() => setKind('grpo')} data-testid="grpo-mode" /> GRPO
            </label>
            <label className={kind === 'dpo' ? 'on' : ''}>
              <input type="radio" name="train-kind" checked={kind === 'dpo'} onChange={() => setKind('dpo')} data-testid="dpo-mode" /> DPO
            </label>
          </fieldset>
        </div>
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
        {kind === 'grpo' ? (
          <p className="small muted" data-testid="grpo-intro">
            Each step samples G completions of each prompt with the policy being trained, scores them with the rewards below, and moves the policy towards the completions
            that beat their group’s mean (the advantage). Prompts come from the data’s questions, rl_task prompts or chat turns; the reference answer is what the rewards compare to.
          </p>
        ) : null}
        {kind === 'dpo' ? (
          <p className="small muted" data-testid="dpo-intro">
            Each step takes pairs of a prompt with a chosen and a rejected completion and raises the chosen one’s log-probability relative to the rejected one’s, measured
            against the model with the adapter off (the reference). The data is a JSONL file of {'{"prompt", "chosen", "rejected"}'} rows, governed by its SOURCE_MANIFEST.yml.
          </p>
        ) : null}
        <div className="train-form">
          {kind === 'grpo' ? <GrpoForm errors={grpoErrors} disabled={active} nCtx={nCtx} /> : kind === 'dpo' ? <DpoForm errors={dpoErrors} disabled={active} /> : <ConfigForm errors={errors} disabled={active} />}
          <DataPicker disabled={active} />
        </div>
        {notes.length ? (
          <ul className="notes small muted">
            {notes.map((n) => (
              <li key={n}>{n}</li>
            ))}
          </ul>
        ) : null}
        {formsError ? (
          <p className="small warn-inline" data-testid="train-forms-error">
            {formsError}
          </p>
        ) : null}
        <RunControls blocked={blocked} />
        {live.status === 'idle' && live.error ? <TrainErrorBox error={live.error} /> : null}
      </section>
      {kind === 'sft' ? <SweepPanel /> : null}
      <LiveRunView />
    </>
  );
}
