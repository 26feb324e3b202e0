// The run's settings: a preset, then every `lab sft` option, each with its validation message.
// The common ones are in view; the optimizer's finer settings sit in a <details>.
import type { LrScheduleName } from '../../engine/api.ts';
import { useLab } from '../lab.tsx';
import { PRESETS } from '../trainSlice.ts';
import { LoraFields } from './LoraFields.tsx';
import { NumField } from './NumField.tsx';
import type { FieldErrors } from './validate.ts';

const SCHEDULES: LrScheduleName[] = ['constant', 'linear', 'cosine'];

export function ConfigForm({ errors, disabled }: { errors: FieldErrors; disabled: boolean }) {
  const c = useLab((s) => s.trainConfig);
  const preset = useLab((s) => s.trainPreset);
  const setConfig = useLab((s) => s.setTrainConfig);
  const applyPreset = useLab((s) => s.applyPreset);
  const f = (label: string, key: keyof FieldErrors, value: number, onChange: (v: number) => void, hint?: string) => (
    <NumField label={label} value={value} onChange={onChange} error={errors[key]} hint={hint} testid={`cfg-${key}`} disabled={disabled} />
  );
  return (
    <fieldset className="train-config" disabled={disabled} data-testid="train-config">
      <legend>Settings</legend>
      <label className="block">
        <span>Preset</span>
        <select value={preset} onChange={(e) => applyPreset(e.target.value)} data-testid="train-preset">
          {PRESETS.map((p) => (
            <option key={p.id} value={p.id}>
              {p.label}
            </option>
          ))}
          <option value="custom" disabled>
            Custom (edited)
          </option>
        </select>
      </label>

      <LoraFields config={c} onChange={setConfig} errors={errors} disabled={disabled} prefix="cfg" />

      <div className="controls">
        {f('Steps', 'steps', c.steps, (steps) => setConfig({ steps }), 'optimizer steps')}
        {f('Learning rate', 'lr', c.lr, (lr) => setConfig({ lr }))}
        <label className="field">
          <span>Schedule</span>
          <select value={c.lrSchedule} onChange={(e) => setConfig({ lrSchedule: e.target.value as LrScheduleName })} data-testid="cfg-schedule">
            {SCHEDULES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        {f('Warm-up steps', 'warmupSteps', c.warmupSteps, (warmupSteps) => setConfig({ warmupSteps }))}
        {f('Batch size', 'batchSize', c.batchSize, (batchSize) => setConfig({ batchSize }), 'rows per micro-batch')}
        {f('Grad. accumulation', 'gradAccum', c.gradAccum, (gradAccum) => setConfig({ gradAccum }), 'micro-batches per step')}
        {f('Checkpoint every', 'checkpointEvery', c.checkpointEvery, (checkpointEvery) => setConfig({ checkpointEvery }), 'steps (0 = on stop only)')}
      </div>

      <details className="more-settings" data-testid="train-more">
        <summary data-testid="train-more-summary">Optimizer and memory (AdamW: weight decay, betas, eps, clipping; seed; recompute)</summary>
        <div className="controls">
          {f('Weight decay', 'weightDecay', c.weightDecay, (weightDecay) => setConfig({ weightDecay }))}
          {f('β1', 'beta1', c.betas[0], (b) => setConfig({ betas: [b, c.betas[1]] }))}
          {f('β2', 'beta2', c.betas[1], (b) => setConfig({ betas: [c.betas[0], b] }))}
          {f('eps', 'eps', c.eps, (eps) => setConfig({ eps }))}
          {f('Max grad norm', 'maxGradNorm', c.maxGradNorm, (maxGradNorm) => setConfig({ maxGradNorm }), '0 = no clipping')}
          {f('Seed', 'seed', c.seed, (seed) => setConfig({ seed }), 'shuffle, LoRA init, dropout')}
          <label className="check">
            <input type="checkbox" checked={c.recompute} onChange={(e) => setConfig({ recompute: e.target.checked })} data-testid="cfg-recompute" />
            Recompute activations in the backward (less memory, slower)
          </label>
        </div>
      </details>
    </fieldset>
  );
}
