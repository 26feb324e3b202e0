// The DPO form: one preset (TRL's DPOConfig defaults), the LoRA adapter it trains (./LoraFields.tsx
// without the full option and without dropout: the reference is the model with the adapter off), the
// objective (β, label smoothing) and the trainer's settings (steps, lr, pairs per step, seed,
// checkpoints). Every value is `lab dpo`'s; each field shows its validation message (./dpoConfig.ts).
import { useLab } from '../lab.tsx';
import { DPO_PRESET_DETAIL, type DpoErrors, type DpoFieldKey } from './dpoConfig.ts';
import { LoraFields } from './LoraFields.tsx';
import { NumField } from './NumField.tsx';

export function DpoForm({ errors, disabled }: { errors: DpoErrors; disabled: boolean }) {
  const c = useLab((s) => s.dpoConfig);
  const preset = useLab((s) => s.dpoPreset);
  const setConfig = useLab((s) => s.setDpoConfig);
  const setDpo = useLab((s) => s.setDpoSettings);
  const applyPreset = useLab((s) => s.applyDpoPreset);
  const f = (label: string, key: DpoFieldKey, value: number, onChange: (v: number) => void, hint?: string) => (
    <NumField label={label} value={value} onChange={onChange} error={errors[key]} hint={hint} testid={`dpo-${key}`} disabled={disabled} />
  );
  return (
    <fieldset className="train-config" disabled={disabled} data-testid="dpo-form">
      <legend>DPO settings</legend>
      <div className="preset-row" role="group" aria-label="DPO presets">
        <span>Preset</span>
        <button type="button" className={preset === 'trl' ? '' : 'secondary'} aria-pressed={preset === 'trl'} title={DPO_PRESET_DETAIL} onClick={applyPreset} data-testid="dpo-preset-trl">
          TRL defaults
        </button>
        <span className="muted small" data-testid="dpo-preset-state">
          {preset === 'custom' ? 'edited' : DPO_PRESET_DETAIL}
        </span>
      </div>

      <LoraFields
        config={c}
        onChange={setConfig}
        errors={errors}
        disabled={disabled}
        prefix="dpo"
        noFull="DPO trains a LoRA adapter: the reference policy is the model with the adapter off (full training would need a second copy of the model)."
        noDropout="No LoRA dropout in DPO: the reference and policy passes must see the same network."
      />

      <h4 className="form-sub">Objective (sigmoid DPO loss)</h4>
      <div className="controls">
        {f('β', 'beta', c.dpo.beta, (beta) => setDpo({ beta }), 'strength of the implicit reward; > 0 (TRL 0.1)')}
        {f('Label smoothing', 'labelSmoothing', c.dpo.labelSmoothing, (labelSmoothing) => setDpo({ labelSmoothing }), 'conservative DPO, [0, 0.5) (TRL 0)')}
      </div>

      <h4 className="form-sub">Trainer</h4>
      <div className="controls">
        {f('Steps', 'steps', c.steps, (steps) => setConfig({ steps }), 'one optimizer step each')}
        {f('Learning rate', 'lr', c.lr, (lr) => setConfig({ lr }))}
        {f('Pairs per step', 'batchSize', c.batchSize, (batchSize) => setConfig({ batchSize }), 'chosen + rejected each')}
        {f('Seed', 'seed', c.seed, (seed) => setConfig({ seed }), 'pair order, LoRA init')}
        {f('Checkpoint every', 'checkpointEvery', c.checkpointEvery, (checkpointEvery) => setConfig({ checkpointEvery }), 'steps (0 = on stop only)')}
      </div>
    </fieldset>
  );
}
