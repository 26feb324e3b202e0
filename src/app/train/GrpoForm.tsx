// The GRPO form: two presets (TRL's defaults, the user's pipeline), what is trained (the SFT form's
// LoRA / full piece), the group and sampling settings, the objective (β, ε, ε_high, loss type, μ),
// the trainer's (steps, lr, seed, checkpoints), the rewards with their weights, and the rarer
// settings in a <details>. Every value is `lab grpo`'s; each field shows its validation message.
import type { GrpoSettings, LrScheduleName } from '../../engine/api.ts';
import { useLab } from '../lab.tsx';
import { ARM_SETS, GRPO_PRESETS, GRPO_REWARDS, LOSS_TYPES, MAX_GROUP, MIN_GROUP, REWARD_MODEL, fitArmsGroup, type GrpoErrors, type GrpoFieldKey } from './grpoConfig.ts';
import { LoraFields } from './LoraFields.tsx';
import { NumField } from './NumField.tsx';

const LOSS_HINTS: Record<string, string> = {
  grpo: 'grpo: each completion’s token mean, then the batch mean (the original GRPO)',
  dapo: 'dapo: one mean over every token of the batch (TRL’s default)',
  dr_grpo: 'dr_grpo: the sum over tokens ÷ (completions × max new tokens), no length bias',
};
const SCHEDULES: LrScheduleName[] = ['constant', 'linear', 'cosine'];

export function GrpoForm({ errors, disabled, nCtx }: { errors: GrpoErrors; disabled: boolean; nCtx?: number }) {
  const c = useLab((s) => s.grpoConfig);
  const preset = useLab((s) => s.grpoPreset);
  const fitNote = useLab((s) => s.grpoFitNote);
  const setConfig = useLab((s) => s.setGrpoConfig);
  const setGrpo = useLab((s) => s.setGrpoSettings);
  const applyPreset = useLab((s) => s.applyGrpoPreset);
  const g = c.grpo;
  const f = (label: string, key: GrpoFieldKey, value: number, onChange: (v: number) => void, hint?: string) => (
    <NumField label={label} value={value} onChange={onChange} error={errors[key]} hint={hint} testid={`grpo-${key}`} disabled={disabled} />
  );
  const opt = (label: string, key: keyof GrpoSettings & GrpoFieldKey, value: number | undefined, placeholder: string, hint?: string) => (
    <NumField optional label={label} value={value} onChange={(v) => setGrpo({ [key]: v })} error={errors[key]} hint={hint} placeholder={placeholder} testid={`grpo-${key}`} disabled={disabled} width="narrow" />
  );
  const reward = (name: string) => c.rewards.find((r) => r.name === name);
  const toggleReward = (name: string, on: boolean) => {
    const rewards = on ? GRPO_REWARDS.filter((r) => r.name === name || reward(r.name)).map((r) => reward(r.name) ?? { name, weight: 1 }) : c.rewards.filter((r) => r.name !== name);
    // Regime W compares the answers of its arms (as `lab grpo` does, its reward brings its arms; the select below turns them off)
    if (name === 'regime-w') setConfig({ rewards, grpo: on ? { ...g, arms: 'regime-w', groupSize: fitArmsGroup(g.groupSize, 'regime-w') } : { ...g, arms: undefined } });
    else setConfig({ rewards });
  };
  const setArms = (v: string) => {
    const arms = v === 'none' ? undefined : (v as keyof typeof ARM_SETS);
    setGrpo(arms ? { arms, groupSize: fitArmsGroup(g.groupSize, arms) } : { arms: undefined });
  };
  const setWeight = (name: string, weight: number) => setConfig({ rewards: c.rewards.map((r) => (r.name === name ? { ...r, weight } : r)) });

  return (
    <fieldset className="train-config" disabled={disabled} data-testid="grpo-form">
      <legend>GRPO settings</legend>
      <div className="preset-row" role="group" aria-label="GRPO presets">
        <span>Preset</span>
        {GRPO_PRESETS.map((p) => (
          <button key={p.id} type="button" className={preset === p.id ? '' : 'secondary'} aria-pressed={preset === p.id} title={p.detail} onClick={() => applyPreset(p.id)} data-testid={`grpo-preset-${p.id}`}>
            {p.label}
          </button>
        ))}
        <span className="muted small" data-testid="grpo-preset-state">
          {preset === 'custom' ? 'edited' : GRPO_PRESETS.find((p) => p.id === preset)?.detail}
        </span>
      </div>
      {fitNote ? (
        <p className="field-hint wide" data-testid="grpo-fit-note">
          {fitNote}
        </p>
      ) : null}

      <LoraFields config={c} onChange={setConfig} errors={errors} disabled={disabled} prefix="grpo" noDropout="No LoRA dropout in GRPO: the rollouts and the update must see the same policy." />

      <h4 className="form-sub">Groups and sampling</h4>
      <div className="controls">
        {f('Group size G', 'groupSize', g.groupSize, (groupSize) => setGrpo({ groupSize }), `completions per prompt, ${MIN_GROUP}…${MAX_GROUP}`)}
        {f('Prompts per step', 'promptsPerStep', g.promptsPerStep, (promptsPerStep) => setConfig({ batchSize: promptsPerStep, grpo: { ...g, promptsPerStep } }))}
        {f('Steps', 'steps', c.steps, (steps) => setConfig({ steps }), 'GRPO steps (each: rollouts, then μ updates)')}
        {f('Max new tokens', 'maxNewTokens', g.maxNewTokens, (maxNewTokens) => setGrpo({ maxNewTokens }), nCtx ? `prompt + these ≤ ${nCtx} (the context)` : undefined)}
        {g.arms ? (
          <NumField label="Temperature" value={g.temperature} onChange={(temperature) => setGrpo({ temperature })} hint="unused: each arm has its own" testid="grpo-temperature" disabled />
        ) : (
          f('Temperature', 'temperature', g.temperature, (temperature) => setGrpo({ temperature }))
        )}
        <label className="field">
          <span>Arms</span>
          <select value={g.arms ?? 'none'} onChange={(e) => setArms(e.target.value)} data-testid="grpo-arms">
            <option value="none">none (every member alike)</option>
            {Object.entries(ARM_SETS).map(([id, arms]) => (
              <option key={id} value={id}>
                {id} ({arms.length} system prompts × temperatures {arms.map((a) => a.temperature).filter((t, i, all) => all.indexOf(t) === i).join('/')})
              </option>
            ))}
          </select>
          <span className="field-hint">{g.arms ? 'member g samples with arm g mod 8' : 'sampling arms, as in the Regime W pipeline'}</span>
        </label>
      </div>

      <h4 className="form-sub">Objective</h4>
      <div className="controls">
        {f('β (KL)', 'beta', g.beta, (beta) => setGrpo({ beta }), '0 = no reference pass')}
        {f('ε (clip)', 'epsilon', g.epsilon, (epsilon) => setGrpo({ epsilon }))}
        {opt('ε high', 'epsilonHigh', g.epsilonHigh, '= ε', 'upper clip (DAPO 0.28)')}
        <label className="field">
          <span>Loss type</span>
          <select value={g.loss} onChange={(e) => setGrpo({ loss: e.target.value as GrpoSettings['loss'] })} data-testid="grpo-loss" title={LOSS_HINTS[g.loss]}>
            {LOSS_TYPES.map((l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </select>
          <span className="field-hint">{LOSS_HINTS[g.loss]}</span>
        </label>
        {f('μ (updates per batch)', 'mu', g.mu, (mu) => setGrpo({ mu }))}
      </div>

      <h4 className="form-sub">Trainer</h4>
      <div className="controls">
        {f('Learning rate', 'lr', c.lr, (lr) => setConfig({ lr }))}
        {f('Seed', 'seed', c.seed, (seed) => setConfig({ seed, grpo: { ...g, seed } }), 'prompts, rollouts, LoRA init')}
        {f('Checkpoint every', 'checkpointEvery', c.checkpointEvery, (checkpointEvery) => setConfig({ checkpointEvery }), 'steps (0 = on stop only)')}
      </div>

      <fieldset className="rewards" data-testid="grpo-rewards" aria-describedby="grpo-rewards-msg">
        <legend>Rewards (summed with their weights)</legend>
        {GRPO_REWARDS.map((r) => {
          const on = reward(r.name);
          return (
            <div key={r.name} className="reward-row">
              <label className="check" title={r.hint}>
                <input type="checkbox" checked={!!on} onChange={(e) => toggleReward(r.name, e.target.checked)} data-testid={`grpo-reward-${r.name}`} />
                <code>{r.name}</code>
              </label>
              {on ? (
                <NumField label="weight" value={on.weight} onChange={(w) => setWeight(r.name, w)} testid={`grpo-reward-weight-${r.name}`} disabled={disabled} width="narrow" error={Number.isFinite(on.weight) ? undefined : 'a number'} />
              ) : null}
              <span className="muted small">{r.hint}</span>
              {on && r.name === REWARD_MODEL ? <RewardModelFiles disabled={disabled} /> : null}
            </div>
          );
        })}
        {errors.rewards ? (
          <span id="grpo-rewards-msg" className="field-error wide" data-testid="grpo-rewards-error">
            {errors.rewards}
          </span>
        ) : null}
      </fieldset>

      <details className="more-settings" data-testid="grpo-more">
        <summary>Sampling filters, reward scaling and the optimizer (top-p, top-k, scale rewards, schedule, warm-up, weight decay, clipping)</summary>
        <div className="controls">
          {opt('top-p', 'topP', g.topP, 'none')}
          {opt('top-k', 'topK', g.topK, 'none')}
          <label className="field">
            <span>Scale rewards</span>
            <select value={g.scaleRewards} onChange={(e) => setGrpo({ scaleRewards: e.target.value as GrpoSettings['scaleRewards'] })} data-testid="grpo-scaleRewards">
              <option value="group">group (÷ the group’s std)</option>
              <option value="none">none (Dr. GRPO)</option>
            </select>
          </label>
          <label className="field">
            <span>Schedule</span>
            <select value={c.lrSchedule} onChange={(e) => setConfig({ lrSchedule: e.target.value as LrScheduleName })} data-testid="grpo-schedule">
              {SCHEDULES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
          {f('Warm-up steps', 'warmupSteps', c.warmupSteps, (warmupSteps) => setConfig({ warmupSteps }), 'optimizer steps (μ a GRPO step)')}
          {f('Weight decay', 'weightDecay', c.weightDecay, (weightDecay) => setConfig({ weightDecay }))}
          {f('Max grad norm', 'maxGradNorm', c.maxGradNorm, (maxGradNorm) => setConfig({ maxGradNorm }), '0 = no clipping')}
        </div>
      </details>
    </fieldset>
  );
}

/** The learned reward model's files (the folder `lab reward-model` wrote), read into memory for the run's request. */
function RewardModelFiles({ disabled }: { disabled: boolean }) {
  const picked = useLab((s) => s.grpoRewardModel);
  const setFiles = useLab((s) => s.setGrpoRewardModel);
  const take = async (list: FileList | null) => {
    if (!list?.length) return setFiles(null);
    const files: Record<string, Uint8Array> = {};
    for (const f of Array.from(list)) files[f.name] = new Uint8Array(await f.arrayBuffer());
    setFiles(files);
  };
  return (
    <label className="field reward-model-files">
      <span>its files</span>
      <input type="file" multiple accept=".json,.safetensors" disabled={disabled} onChange={(e) => void take(e.target.files)} data-testid="grpo-reward-model-files" />
      <span className="field-hint wide">
        {picked ? `picked: ${Object.keys(picked.files).sort().join(', ')} (kept in this page only: a resume after a reload needs them again)` : 'reward_model.json, reward_head.safetensors, adapter_config.json, adapter_model.safetensors'}
      </span>
    </label>
  );
}
