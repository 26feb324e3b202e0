// GRPO on the Train page, as data (no React): the form's starting config, the two presets (TRL's
// GRPOConfig defaults and the user's pipeline: engine/rl/grpo.ts, the same constants `lab grpo
// --preset trl|user` uses), the rewards a run accepts with a line on each, what the loaded model's
// context allows, the per-field validation and the config handed to Engine.train. The engine's
// checks (grpoSettingsProblem, checkSftConfig in grpo-run.ts) stay the authority; these say the same
// things under the field they concern, before a run starts.
import type { GrpoConfig, LoraTarget } from '../../engine/api.ts';
import { ARM_SETS, TRL_GRPO_DEFAULTS, USER_GRPO_PRESET } from '../../engine/rl/grpo.ts';
import { LOSS_TYPES } from '../../engine/rl/objective.ts';
import { MAX_GROUP, MIN_GROUP } from '../../engine/rl/rollout.ts';
import { validateConfig, type FieldKey } from './validate.ts';

export { ARM_SETS, LOSS_TYPES, MAX_GROUP, MIN_GROUP };

/** The group size nearest `g` that the arm set's A arms divide (A … 16). */
export const fitArmsGroup = (g: number, arms: keyof typeof ARM_SETS): number => {
  const A = ARM_SETS[arms].length;
  return Math.min(Math.floor(MAX_GROUP / A) * A, Math.max(A, Math.round(g / A) * A));
};

/**
 * The reward names of GRPO_REWARD_NAMES (engine/rl/grpo-run.ts), in its order, with a line each. A copy:
 * grpo-run.ts brings the trainer with it, which the page's bundle does not need; grpoConfig.test.ts
 * checks the two lists are equal.
 */
export const GRPO_REWARDS: { name: string; hint: string }[] = [
  { name: 'gsm8k', hint: 'the final number after “####” equals the reference’s (GSM8K’s rule)' },
  { name: 'gsm8k-format', hint: 'the <reasoning>/<answer> format recipe (correctness 2, integer, strict and soft format 0.5 each)' },
  { name: 'exact', hint: 'the final answer (after the last “####”) equals the reference’s: what lab eval counts' },
  { name: 'chrf', hint: 'chrF against the reference, on sacrebleu’s 0–100 scale (a weight of 0.01 puts it on 0–1)' },
  { name: 'chrf++', hint: 'chrF++ (character and word n-grams), 0–100 like chrF' },
  { name: 'stoney-rubric', hint: 'the rl_task rubric: 0.6 exact + 0.3 character F1 + 0.1 verification pattern' },
  { name: 'steps', hint: 'partial credit for the worked steps: F1 of the reasoning’s clauses against the reference’s (beside exact: exact:1,steps:0.5)' },
  { name: 'regime-w', hint: 'Regime W made per trajectory: scores each completion against its group' },
  { name: 'reward-model', hint: 'a learned reward model (the files lab reward-model wrote), scoring through this base model with its own adapter' },
];

/** The learned reward's name (REWARD_MODEL in grpo-run.ts): its files travel with the request, not in the config. */
export const REWARD_MODEL = 'reward-model';
export const usesRewardModel = (c: GrpoConfig) => c.rewards.some((r) => r.name === REWARD_MODEL);

const QKVO: LoraTarget[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj'];
const { lr: trlLr, ...TRL_SETTINGS } = TRL_GRPO_DEFAULTS;
const { lr: userLr, ...USER_SETTINGS } = USER_GRPO_PRESET;

export interface GrpoPreset {
  id: 'trl' | 'user';
  label: string;
  /** what it sets, for the button's title */
  detail: string;
  settings: GrpoConfig['grpo'];
  lr: number;
}

/** The two presets, one click each. The user's pipeline sits over the TRL defaults, as in `lab grpo --preset user`. */
export const GRPO_PRESETS: GrpoPreset[] = [
  { id: 'trl', label: 'TRL defaults', detail: 'TRL’s GRPOConfig: loss dapo, β 0, ε 0.2, G 8, 1 prompt a step, μ 1, lr 1e-6, 256 new tokens', settings: { ...TRL_SETTINGS }, lr: trlLr },
  { id: 'user', label: 'User pipeline', detail: 'the user’s GRPO instructions: G 16, β 0.1 (KL), lr 2e-5, 256 new tokens; the rest as TRL', settings: { ...TRL_SETTINGS, ...USER_SETTINGS }, lr: userLr },
];

/**
 * Where the form starts: the TRL defaults for GRPO (with max new tokens fitted to the model when one
 * loads), the trainer settings TRL uses (linear schedule, no warm-up or weight decay, clip 1), a LoRA
 * r 8 on q/k/v/o without dropout, and the `exact` reward, which scores the embedded task sets.
 */
export const BASE_GRPO_CONFIG: GrpoConfig = {
  kind: 'grpo', full: false, lora: { r: 8, alpha: 16, dropout: 0, targets: QKVO }, steps: 20, lr: trlLr, lrSchedule: 'linear', warmupSteps: 0,
  weightDecay: 0, betas: [0.9, 0.999], eps: 1e-8, maxGradNorm: 1, batchSize: TRL_SETTINGS.promptsPerStep, gradAccum: 1, seed: 0, checkpointEvery: 5, recompute: false,
  grpo: { ...TRL_SETTINGS }, rewards: [{ name: 'exact', weight: 1 }],
};

/**
 * New tokens that leave room for the prompts in a context of nCtx: at most half of it (a prompt of the
 * embedded sets is ≤ 98 tokens on lab-micro's vocabulary, so 128 of its 256 keeps every arithmetic row).
 */
export const fitNewTokens = (want: number, nCtx: number | undefined): number => (nCtx ? Math.max(1, Math.min(want, Math.floor(nCtx / 2))) : want);

/**
 * The config Engine.train gets: the batch is the step's prompts, no accumulation, no LoRA dropout, one
 * seed for both; the GRPO settings in `lab grpo`'s key order with unset options left out (a resume
 * compares them as JSON text, so a checkpoint made here resumes under `lab grpo --resume` too).
 */
export function grpoRequestConfig(c: GrpoConfig): GrpoConfig {
  const s = { ...c.grpo, seed: c.seed };
  const order: (keyof GrpoConfig['grpo'])[] = ['groupSize', 'promptsPerStep', 'maxNewTokens', 'temperature', 'topP', 'topK', 'beta', 'epsilon', 'epsilonHigh', 'loss', 'mu', 'scaleRewards', 'seed', 'arms'];
  const g = Object.fromEntries(order.filter((k) => s[k] !== undefined).map((k) => [k, s[k]])) as unknown as GrpoConfig['grpo'];
  return { ...c, batchSize: c.grpo.promptsPerStep, gradAccum: 1, lora: { ...c.lora, dropout: 0 }, grpo: g, rewards: c.rewards.map((r) => ({ ...r })) };
}

export type GrpoFieldKey = FieldKey | 'groupSize' | 'promptsPerStep' | 'maxNewTokens' | 'temperature' | 'topP' | 'topK' | 'beta' | 'epsilon' | 'epsilonHigh' | 'mu' | 'rewards';
export type GrpoErrors = Partial<Record<GrpoFieldKey, string>>;

const posInt = (v: number) => Number.isInteger(v) && v >= 1;
const num = (v: number) => Number.isFinite(v);

/**
 * One message per field; `nCtx` is the loaded model's context (max new tokens must leave room for a
 * prompt), `rewardModel` whether a reward model's files were picked.
 */
export function validateGrpo(c: GrpoConfig, ctx: { nCtx?: number; rewardModel?: boolean } = {}): GrpoErrors {
  const req = grpoRequestConfig(c);
  // the trainer's settings as SFT checks them (batch size and accumulation are set from the prompts per step)
  const e: GrpoErrors = validateConfig(req);
  for (const k of ['batchSize', 'gradAccum', 'dropout'] as const) delete e[k];
  const s = c.grpo;
  const need = (ok: boolean, k: GrpoFieldKey, msg: string) => {
    if (!ok && !e[k]) e[k] = msg;
  };
  need(Number.isInteger(s.groupSize) && s.groupSize >= MIN_GROUP && s.groupSize <= MAX_GROUP, 'groupSize', `a whole number ${MIN_GROUP} … ${MAX_GROUP} (one decode batch)`);
  need(posInt(s.promptsPerStep), 'promptsPerStep', 'a whole number ≥ 1');
  need(posInt(s.maxNewTokens), 'maxNewTokens', 'a whole number ≥ 1');
  if (ctx.nCtx) need(!posInt(s.maxNewTokens) || s.maxNewTokens < ctx.nCtx, 'maxNewTokens', `less than the model’s context of ${ctx.nCtx} tokens, with room for the prompt (try ${fitNewTokens(256, ctx.nCtx)})`);
  need(num(s.temperature) && s.temperature > 0, 'temperature', 'a number > 0 (1 = the model’s distribution)');
  if (s.arms) need(s.groupSize % ARM_SETS[s.arms].length === 0, 'groupSize', `a multiple of ${ARM_SETS[s.arms].length}: each member samples with one of the ${s.arms} arms in turn (try ${fitArmsGroup(s.groupSize, s.arms)})`);
  if (s.topP !== undefined) need(num(s.topP) && s.topP > 0 && s.topP <= 1, 'topP', 'in (0, 1], or empty for none');
  if (s.topK !== undefined) need(Number.isInteger(s.topK) && s.topK >= 0, 'topK', 'a whole number ≥ 0 (0 = none), or empty');
  need(num(s.beta) && s.beta >= 0, 'beta', 'a number ≥ 0 (0 = no KL term)');
  need(!(c.full && s.beta > 0), 'beta', 'β > 0 needs LoRA: the reference policy is the model with its adapter off, and full training has no adapter. Set β to 0 or train a LoRA adapter.');
  need(num(s.epsilon) && s.epsilon >= 0 && s.epsilon < 1, 'epsilon', 'in [0, 1), e.g. 0.2');
  if (s.epsilonHigh !== undefined) need(num(s.epsilonHigh) && s.epsilonHigh >= 0, 'epsilonHigh', 'a number ≥ 0 (DAPO: 0.28), or empty for ε');
  need(posInt(s.mu), 'mu', 'a whole number ≥ 1');
  need(c.rewards.length > 0, 'rewards', 'pick at least one reward');
  const bad = c.rewards.find((r) => !num(r.weight));
  if (bad) need(false, 'rewards', `the weight of ${bad.name} must be a number`);
  if (usesRewardModel(c)) {
    need(!c.full, 'rewards', 'a learned reward model scores through the base weights with its own adapter, which full training moves: train LoRA, or leave it out');
    need(!!ctx.rewardModel, 'rewards', 'reward-model: pick the files lab reward-model wrote (reward_model.json, reward_head.safetensors and its adapter files)');
  }
  return e;
}

/** Notes that are not errors: settings that work but may surprise. */
export function grpoNotes(c: GrpoConfig, ctx: { nCtx?: number; rows?: number }): string[] {
  const s = c.grpo;
  const notes: string[] = [];
  if (c.full) notes.push('Full fine-tuning trains every weight and keeps AdamW state for each: memory and checkpoints are ~3× the model.');
  if (s.beta === 0) notes.push('β = 0: no KL term and no reference pass (TRL’s default); the KL chart is left out.');
  if (s.arms) notes.push(`Arms ${s.arms}: member g of each group samples with arm g mod ${ARM_SETS[s.arms].length}’s system prompt and temperature (${ARM_SETS[s.arms].map((a) => a.temperature).join(', ')}); the temperature field is unused. A model without a chat template does not see the system prompts.`);
  if (s.mu === 1) notes.push('μ = 1: each batch is used once, on-policy, so the ratio is exactly 1 and the clip fraction stays 0.');
  if (ctx.nCtx && posInt(s.maxNewTokens) && s.maxNewTokens < ctx.nCtx) notes.push(`Prompts longer than ${ctx.nCtx - s.maxNewTokens} tokens (the context of ${ctx.nCtx} less ${s.maxNewTokens} new tokens) are skipped; the data report lists them.`);
  if (c.checkpointEvery === 0) notes.push('No periodic checkpoints: only a cancel or pause-and-cancel writes one; a closed tab loses the run.');
  if (ctx.rows !== undefined && posInt(c.steps) && posInt(s.promptsPerStep)) {
    const epochs = (c.steps * s.promptsPerStep) / Math.max(1, ctx.rows);
    if (epochs > 1) notes.push(`${c.steps} steps of ${s.promptsPerStep} prompts go over the ${ctx.rows} rows ${epochs.toFixed(1)} times.`);
  }
  if (posInt(s.groupSize) && posInt(s.promptsPerStep) && posInt(s.maxNewTokens)) {
    notes.push(`Each step samples ${s.promptsPerStep * s.groupSize} completions (${s.promptsPerStep} prompt${s.promptsPerStep > 1 ? 's' : ''} × G ${s.groupSize}) of up to ${s.maxNewTokens} tokens, then makes ${s.mu} optimizer step${s.mu > 1 ? 's' : ''}.`);
  }
  return notes;
}
