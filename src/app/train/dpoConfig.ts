// DPO on the Train page, as data (no React): the form's starting config, the one preset (TRL's
// DPOConfig defaults: engine/rl/dpo.ts TRL_DPO_DEFAULTS, the constants `lab dpo` uses), the per-field
// validation and the config handed to Engine.train. The engine's checks (dpoSettingsProblem, the
// gradient accumulation / LoRA dropout rules of runDpo and checkSftConfig) stay the authority; these
// say the same things under the field they concern, before a run starts.
import type { DpoConfig, LoraTarget } from '../../engine/api.ts';
import { TRL_DPO_DEFAULTS } from '../../engine/rl/dpo.ts';
import { validateConfig, type FieldKey } from './validate.ts';

export { TRL_DPO_DEFAULTS };

const QKVO: LoraTarget[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj'];
const { lr: trlLr, ...TRL_SETTINGS } = TRL_DPO_DEFAULTS;

/** What the preset button sets (its title). */
export const DPO_PRESET_DETAIL = 'TRL’s DPOConfig: sigmoid loss, β 0.1, label smoothing 0, lr 1e-6';

/**
 * Where the form starts: TRL's DPO defaults (β 0.1, label smoothing 0, lr 1e-6), the trainer settings
 * TRL uses (linear schedule, no warm-up or weight decay, clip 1), one pair a step, and a LoRA r 8 on
 * q/k/v/o without dropout (DPO is LoRA only: the reference is the model with the adapter off).
 */
export const BASE_DPO_CONFIG: DpoConfig = {
  kind: 'dpo', full: false, lora: { r: 8, alpha: 16, dropout: 0, targets: QKVO }, steps: 20, lr: trlLr, lrSchedule: 'linear', warmupSteps: 0,
  weightDecay: 0, betas: [0.9, 0.999], eps: 1e-8, maxGradNorm: 1, batchSize: 1, gradAccum: 1, seed: 0, checkpointEvery: 5, recompute: false,
  dpo: { ...TRL_SETTINGS },
};

/** The TRL preset applied to a config: β, label smoothing and lr; the rest is left as it is. */
export const withTrlDefaults = (c: DpoConfig): DpoConfig => ({ ...c, lr: trlLr, dpo: { ...TRL_SETTINGS } });

/**
 * The config Engine.train gets: LoRA (never full), no accumulation, no LoRA dropout; the DPO settings
 * in `lab dpo`'s key order (beta, labelSmoothing: a resume compares them as JSON text).
 */
export function dpoRequestConfig(c: DpoConfig): DpoConfig {
  return { ...c, kind: 'dpo', full: false, gradAccum: 1, lora: { ...c.lora, dropout: 0 }, dpo: { beta: c.dpo.beta, labelSmoothing: c.dpo.labelSmoothing } };
}

export type DpoFieldKey = FieldKey | 'beta' | 'labelSmoothing';
export type DpoErrors = Partial<Record<DpoFieldKey, string>>;

const posInt = (v: number) => Number.isInteger(v) && v >= 1;

/** One message per field, the engine's rules (dpoSettingsProblem) said under the field they concern. */
export function validateDpo(c: DpoConfig): DpoErrors {
  const req = dpoRequestConfig(c);
  // the trainer's settings as SFT checks them (accumulation and dropout are fixed for DPO)
  const e: DpoErrors = validateConfig(req);
  for (const k of ['gradAccum', 'dropout'] as const) delete e[k];
  if (e.batchSize) e.batchSize = 'a whole number ≥ 1 (pairs per step)';
  const s = c.dpo;
  const need = (ok: boolean, k: DpoFieldKey, msg: string) => {
    if (!ok && !e[k]) e[k] = msg;
  };
  need(Number.isFinite(s.beta) && s.beta > 0, 'beta', 'a number > 0 (TRL: 0.1)');
  need(s.labelSmoothing >= 0 && s.labelSmoothing < 0.5, 'labelSmoothing', 'in [0, 0.5): the probability that a preference is flipped (0 = plain DPO)');
  return e;
}

/** Notes that are not errors: settings that work but may surprise. */
export function dpoNotes(c: DpoConfig, ctx: { rows?: number }): string[] {
  const notes: string[] = [];
  notes.push('DPO trains on {"prompt", "chosen", "rejected"} pairs from a picked JSONL file (with its SOURCE_MANIFEST.yml); the embedded task sets are not pairs.');
  if (c.checkpointEvery === 0) notes.push('No periodic checkpoints: only a cancel or pause-and-cancel writes one; a closed tab loses the run.');
  if (ctx.rows !== undefined && posInt(c.steps) && posInt(c.batchSize)) {
    const epochs = (c.steps * c.batchSize) / Math.max(1, ctx.rows);
    if (epochs > 1) notes.push(`${c.steps} steps of ${c.batchSize} pairs go over the ${ctx.rows} pairs ${epochs.toFixed(1)} times.`);
  }
  if (posInt(c.batchSize)) notes.push(`Each step runs ${2 * c.batchSize} sequences twice (reference with the adapter off, then the policy) and makes one optimizer step.`);
  return notes;
}
