// One GRPO step on the GPU (issue 11, item 2): rollouts of each prompt's group with the policy being
// trained, rewards, group-normalised advantages, the reference log-probs (adapter off) when β ≠ 0,
// then μ optimizer steps of the clipped objective through the training graph (graph.ts's policy
// head: the objective's d loss / d logp becomes d loss / d logits in shaders/policy_logit_grad.ts).
//
// Legend: P prompts in the step, G completions per prompt (a group), T0_j prompt tokens of prompt j,
// T_j completion width of group j (its longest completion), Tmax = max_j T_j, L_j = T0_j + T_j.
//
// Semantics follow TRL's GRPOTrainer (see objective.ts): the step's P·G completions form the batch;
// advantages are normalised within each group; the loss normalisation (grpo / dapo / dr_grpo) runs over
// the whole batch (dr_grpo divides by P·G · maxNewTokens, TRL's max_completion_length); log-probs are
// log_softmax(logits / temperature); the first of μ iterations is on-policy (ratio exactly 1, TRL's
// old_per_token_logps = per_token_logps.detach()), later ones use the first iteration's log-probs as
// old. The reference policy is the same weights with the LoRA adapter switched off (no second copy of
// the model), so β ≠ 0 needs LoRA: full-parameter training would need a copy of the base weights.
// One GRPO step = one rollout batch and μ optimizer steps (trainer.step advances by μ).
import type { LlamaModel } from '../model/llama.ts';
import type { Trainer, PolicyMicroBatch } from '../train/trainer.ts';
import { hash32 } from '../util/hash32.ts';
import { Rng } from '../util/rng.ts';
import type { CombinedReward, Sample } from '../../rewards/types.ts';
import { REGIME_W_ARMS } from '../../rewards/regime-w.ts';
import { rolloutRows, sequenceSeeds, toRollout, MAX_GROUP, MIN_GROUP, type Rollout, type RolloutRow } from './rollout.ts';
import { groupAdvantages, grpoObjective, normalisationWeights, LOSS_TYPES, type LossType, type ObjectiveResult, type ScaleRewards } from './objective.ts';

export interface GrpoSettings {
  /** G: completions per prompt (2..16) */
  groupSize: number;
  /** P: prompts per step */
  promptsPerStep: number;
  maxNewTokens: number;
  temperature: number;
  topP?: number;
  topK?: number;
  /** β: k3 KL to the reference (adapter off) */
  beta: number;
  /** ε and ε_high of the clipped ratio */
  epsilon: number;
  epsilonHigh?: number;
  loss: LossType;
  /** μ: optimizer steps per rollout batch */
  mu: number;
  scaleRewards: ScaleRewards;
  seed: number;
  /**
   * Arms: member g of each group is sampled with arm g mod A's system prompt and temperature (the
   * `temperature` setting is then unused). 'regime-w': the 8 arms of the Regime W reward (4 precise and
   * 4 reflective system prompts at T 0.2-0.5, rewards/regime-w.ts); G must be a multiple of 8.
   */
  arms?: ArmSetName;
}

/** A sampling arm: a system prompt and a temperature. */
export interface GrpoArm {
  id: string;
  system: string;
  temperature: number;
}

/** The named arm sets a run may sample with. */
export const ARM_SETS = { 'regime-w': REGIME_W_ARMS } as const satisfies Record<string, readonly GrpoArm[]>;
export type ArmSetName = keyof typeof ARM_SETS;

/** TRL's current GRPOConfig defaults (loss dapo, β 0, ε 0.2, 8 generations, rewards scaled per group, lr 1e-6, max completion 256). */
export const TRL_GRPO_DEFAULTS: GrpoSettings & { lr: number } = {
  groupSize: 8, promptsPerStep: 1, maxNewTokens: 256, temperature: 1, beta: 0, epsilon: 0.2, loss: 'dapo', mu: 1, scaleRewards: 'group', seed: 0, lr: 1e-6,
};

/** The user's pipeline (their GRPO instructions: group 16, KL 0.1, lr 2e-5, max length 256). */
export const USER_GRPO_PRESET: Partial<GrpoSettings> & { lr: number } = { groupSize: 16, beta: 0.1, lr: 2e-5, maxNewTokens: 256 };

/** The first bad setting, as a message; null when all are usable. */
export function grpoSettingsProblem(s: GrpoSettings, full: boolean): string | null {
  if (!(Number.isInteger(s.groupSize) && s.groupSize >= MIN_GROUP && s.groupSize <= MAX_GROUP)) return `group size must be an integer in ${MIN_GROUP}..${MAX_GROUP}, got ${s.groupSize}`;
  if (!(Number.isInteger(s.promptsPerStep) && s.promptsPerStep >= 1)) return `prompts per step must be a positive integer, got ${s.promptsPerStep}`;
  if (!(Number.isInteger(s.maxNewTokens) && s.maxNewTokens >= 1)) return `max new tokens must be a positive integer, got ${s.maxNewTokens}`;
  if (!(s.temperature > 0 && Number.isFinite(s.temperature))) return `temperature must be > 0, got ${s.temperature}`;
  if (!(s.beta >= 0 && Number.isFinite(s.beta))) return `beta must be >= 0, got ${s.beta}`;
  if (!(s.epsilon >= 0 && s.epsilon < 1)) return `epsilon must be in [0, 1), got ${s.epsilon}`;
  if (s.epsilonHigh !== undefined && !(s.epsilonHigh >= 0 && Number.isFinite(s.epsilonHigh))) return `epsilon-high must be >= 0, got ${s.epsilonHigh}`;
  if (!LOSS_TYPES.includes(s.loss)) return `loss must be one of ${LOSS_TYPES.join(', ')}, got ${s.loss}`;
  if (!(Number.isInteger(s.mu) && s.mu >= 1)) return `mu must be a positive integer, got ${s.mu}`;
  if (s.scaleRewards !== 'group' && s.scaleRewards !== 'none') return `scale-rewards must be group or none, got ${s.scaleRewards}`;
  if (s.arms !== undefined) {
    if (!(s.arms in ARM_SETS)) return `arms must be one of ${Object.keys(ARM_SETS).join(', ')}, got ${String(s.arms)}`;
    const A = ARM_SETS[s.arms].length;
    if (s.groupSize % A !== 0) return `the ${s.arms} arms are ${A}: the group size must be a multiple of ${A} (each member samples with arm g mod ${A}), got ${s.groupSize}`;
  }
  if (full && s.beta !== 0) return 'beta > 0 needs LoRA: the reference policy is the model with the adapter off, and full-parameter training has no adapter to switch off (it would need a second copy of the model)';
  return null;
}

/** A prompt of the data, tokenized, with what its completions are judged against. */
export interface GrpoItem {
  /** 1-based line of the data file */
  line: number;
  /** the prompt as the reward sees it (the question / task prompt, not the template) */
  prompt: string;
  ids: number[];
  reference?: string;
  task?: Sample['task'];
  /** [A][T0_a] the prompt rendered with each arm's system prompt (settings.arms); `ids` without arms */
  armIds?: number[][];
}

/** What a step needs of the engine. */
export interface GrpoEnv {
  model: LlamaModel;
  trainer: Trainer;
  decode: (ids: number[]) => string;
  /** rewards of one group's samples (per-sample and group rewards combined with their weights; a learned reward model is async) */
  reward: (samples: readonly Sample[], item: GrpoItem) => CombinedReward[] | Promise<CombinedReward[]>;
  /** EOS ids that end a completion; default the model config's */
  eosTokenIds?: number[];
}

export interface GrpoCompletion {
  /** the arm that sampled it (settings.arms) */
  arm?: string;
  text: string;
  tokens: number;
  reward: number;
  rewards: Record<string, number>;
  advantage: number;
}

export interface GrpoGroupSample {
  step: number;
  line: number;
  prompt: string;
  reference?: string;
  completions: GrpoCompletion[];
}

/** One GRPO step's numbers (metrics.jsonl, snake_case). */
export interface GrpoStepStats {
  loss: number;
  grad_norm: number;
  lr: number;
  /** mean and (unbiased, per group, averaged) std of the combined reward */
  reward: number;
  reward_std: number;
  /** each reward's mean and std over the step's completions, before its weight */
  rewards: Record<string, { mean: number; std: number }>;
  /** masked mean k3 KL to the reference (null when β = 0: no reference is computed) */
  kl: number | null;
  /** share of tokens clipped in the last iteration (0 with μ = 1: the ratio is 1) */
  clip_frac: number;
  completion_length: number;
  completion_length_max: number;
  /** share of completions that ended with EOS before max new tokens */
  terminated: number;
  /** all positions of the step's micro-batches, and the completion tokens trained */
  tokens: number;
  trained_tokens: number;
  /** rollout speed: completion tokens generated per second of sampling */
  rollout_tokens_per_s: number;
  rollout_s: number;
  update_s: number;
}

/** The step's prompts: item k = step·P + i of an endless sequence of seeded shuffles (epoch = k div n). Stateless, so a resume repeats it. */
export function stepPrompts(n: number, step: number, P: number, seed: number): { index: number; epoch: number }[] {
  const out: { index: number; epoch: number }[] = [];
  let permEpoch = -1;
  let perm: number[] = [];
  for (let i = 0; i < P; i++) {
    const k = step * P + i;
    const epoch = Math.floor(k / n);
    if (epoch !== permEpoch) {
      const rng = new Rng(hash32((hash32(seed) + hash32(epoch + 1)) >>> 0));
      perm = Array.from({ length: n }, (_, j) => j);
      for (let j = n - 1; j > 0; j--) {
        const r = Math.floor(rng.next() * (j + 1));
        [perm[j], perm[r]] = [perm[r], perm[j]];
      }
      permEpoch = epoch;
    }
    out.push({ index: perm[k % n], epoch });
  }
  return out;
}

/**
 * A warning when a run of `steps` GRPO steps of P prompts passes over its n prompts more than once (stepPrompts
 * deals a new shuffle each pass), else null. GRPO learns repeated prompts by heart (the embedded model's
 * memorisation check), so the sampled rewards of a second pass overstate what carries to new prompts.
 */
export function promptRepeats(n: number, steps: number, P: number): string | null {
  if (steps * P <= n) return null;
  return `${steps} steps × ${P} prompt${P > 1 ? 's' : ''} = ${steps * P} prompts from ${n} rows: from step ${Math.floor(n / P) + 1} on, prompts repeat ` +
    `(each about ${((steps * P) / n).toFixed(1)} times); the rewards of repeated prompts can rise by recall alone`;
}

/** The rollout seed of prompt j of GRPO step `step`. */
export const rolloutSeed = (seed: number, step: number, j: number): number => hash32((hash32(seed ^ 0x9e3779b9) + hash32(step * 1024 + j)) >>> 0);

const mean = (a: readonly number[]) => a.reduce((x, y) => x + y, 0) / Math.max(a.length, 1);
const std = (a: readonly number[]) => {
  if (a.length < 2) return 0;
  const m = mean(a);
  return Math.sqrt(a.reduce((s, x) => s + (x - m) ** 2, 0) / (a.length - 1));
};

/**
 * One GRPO step over `items` (the step's P prompts); `step` is the 0-based GRPO step (rollout seeds).
 * Returns the stats and one sample record per group.
 */
export async function grpoStep(env: GrpoEnv, items: readonly GrpoItem[], step: number, s: GrpoSettings, signal?: AbortSignal): Promise<{ stats: GrpoStepStats; samples: GrpoGroupSample[] }> {
  const { model, trainer } = env;
  const G = s.groupSize;
  const P = items.length;
  const eos = env.eosTokenIds ?? model.cfg.eos_token_ids;
  const eosSet = new Set(eos);

  // ---- rollouts with the current policy (the adapter on; full training: the weights are the policy) ----
  const t0 = performance.now();
  const arms: readonly GrpoArm[] | null = s.arms ? ARM_SETS[s.arms] : null;
  // member g of group j: row j·G + g, its prompt and temperature (arm g mod A), its seed (as `rollouts` with the group's seed)
  const members: RolloutRow[] = items.flatMap((it, j) => {
    if (arms && it.armIds?.length !== arms.length) throw new Error(`grpo: prompt of line ${it.line} has ${it.armIds?.length ?? 0} arm prompts for ${arms.length} arms`);
    return sequenceSeeds(rolloutSeed(s.seed, step, j), G).map((seed, g) => (arms ? { ids: it.armIds![g % arms.length], temperature: arms[g % arms.length].temperature, seed } : { ids: it.ids, temperature: s.temperature, seed }));
  });
  let rolls: Rollout[];
  model.adapter = trainer.lora;
  try {
    // all P groups in one batched generate (a small model's decode is bound by dispatches, not rows)
    const out = await rolloutRows(model, members, { maxNewTokens: s.maxNewTokens, topP: s.topP, topK: s.topK, eosTokenIds: eos, signal });
    rolls = items.map((_, j) => toRollout(out.slice(j * G, (j + 1) * G), eos[0] ?? 0));
  } finally {
    model.adapter = null;
  }
  const rolloutS = (performance.now() - t0) / 1000;

  // ---- rewards and advantages, per group ----
  const samples: GrpoGroupSample[] = [];
  const allRewards: number[] = [];
  const parts: Record<string, number[]> = {};
  const advantages = new Float64Array(P * G); // [P·G]
  const groupStd: number[] = [];
  for (let j = 0; j < P; j++) {
    const r = rolls[j];
    const texts = r.tokens.map((row, g) => env.decode(row.slice(0, r.lengths[g]).filter((id) => !eosSet.has(id))));
    const scored = await env.reward(texts.map((output) => ({ output, reference: items[j].reference, prompt: items[j].prompt, task: items[j].task })), items[j]);
    const totals = scored.map((c) => c.total);
    const adv = groupAdvantages(totals, s.scaleRewards);
    advantages.set(adv, j * G);
    allRewards.push(...totals);
    groupStd.push(std(totals));
    for (const c of scored) for (const [k, v] of Object.entries(c.parts)) (parts[k] ??= []).push(v);
    samples.push({
      step: step + 1, line: items[j].line, prompt: items[j].prompt, reference: items[j].reference,
      completions: texts.map((text, g) => ({ ...(arms ? { arm: arms[g % arms.length].id } : {}), text, tokens: r.lengths[g], reward: totals[g], rewards: scored[g].parts, advantage: adv[g] })),
    });
  }

  // ---- the batch: [P·G, Tmax] host arrays; micro-batches of ≤ G rows of one temperature ----
  // Without arms every row has the same temperature and micro-batch j is group j. With arms, a
  // micro-batch holds one arm's rows (its temperature) across groups; a row's prompt may differ in
  // length from its neighbours' (right padding, labels -100 past its own completion).
  const Tmax = Math.max(...rolls.map((r) => r.tokens[0].length));
  const rowsAll = P * G;
  const mask = new Float64Array(rowsAll * Tmax); // [P·G, Tmax]
  rolls.forEach((r, j) => r.mask.forEach((m, g) => m.forEach((v, t) => (mask[(j * G + g) * Tmax + t] = v))));
  const weights = normalisationWeights(mask, rowsAll, Tmax, s.loss, s.maxNewTokens); // [P·G, Tmax]
  const pad = eos[0] ?? 0;
  const byTemp = new Map<number, number[]>(); // temperature → rows j·G + g, in order
  members.forEach((m, row) => byTemp.set(m.temperature, [...(byTemp.get(m.temperature) ?? []), row]));
  const batches: { temperature: number; rows: number[] }[] = [];
  for (const [temperature, rows] of byTemp) for (let k = 0; k < rows.length; k += G) batches.push({ temperature, rows: rows.slice(k, k + G) });
  const T0 = (row: number) => members[row].ids.length;
  const width = (row: number) => rolls[Math.floor(row / G)].tokens[0].length; // T_j of the row's group
  const at = (row: number, t: number) => rolls[Math.floor(row / G)].mask[row % G][t]; // completion position t counts
  const micro: PolicyMicroBatch[] = batches.map(({ temperature, rows: rs }) => {
    const L = Math.max(...rs.map((row) => T0(row) + width(row)));
    const B = rs.length;
    const ids = new Int32Array(B * L).fill(pad); // [B, L]
    const labels = new Int32Array(B * L).fill(-100); // [B, L] completion token t is the label at T0 − 1 + t
    const rows = new Float32Array(B * L * 4); // [B, L, 4] old, ref, advantage, weight
    rs.forEach((row, b) => {
      const toks = rolls[Math.floor(row / G)].tokens[row % G];
      ids.set(members[row].ids, b * L);
      ids.set(toks, b * L + T0(row));
      for (let t = 0; t < width(row); t++) {
        if (!at(row, t)) continue;
        const p = b * L + T0(row) - 1 + t;
        labels[p] = toks[t];
        rows[p * 4 + 2] = advantages[row];
        rows[p * 4 + 3] = weights[row * Tmax + t];
      }
    });
    return { ids, labels, B, T: L, rows, temperature };
  });
  /** scatters per-position values of micro-batch m ([B·L]) into a [P·G, Tmax] array */
  const gather = (m: number, perPos: ArrayLike<number>, into: Float64Array, sign = 1) => {
    const L = micro[m].T;
    batches[m].rows.forEach((row, b) => {
      for (let t = 0; t < width(row); t++) if (at(row, t)) into[row * Tmax + t] = sign * perPos[b * L + T0(row) - 1 + t];
    });
  };

  /** writes a [P·G, Tmax] array into field `k` of the micro-batches' rows (0 old, 1 ref) */
  const scatter = (from: Float64Array, k: number) => {
    micro.forEach((mb, m) => batches[m].rows.forEach((row, b) => {
      for (let t = 0; t < width(row); t++) if (at(row, t)) mb.rows[(b * mb.T + T0(row) - 1 + t) * 4 + k] = from[row * Tmax + t];
    }));
  };

  // ---- the reference: the same weights, adapter off ----
  const t1 = performance.now();
  let refLogp: Float64Array | undefined;
  if (s.beta !== 0) {
    refLogp = new Float64Array(rowsAll * Tmax);
    for (let m = 0; m < micro.length; m++) {
      const nll = trainer.graph.nll(micro[m], null, batches[m].temperature); // [B·L]
      gather(m, (await trainer.rt.read(nll)) as Float32Array, refLogp, -1);
      nll.dispose();
    }
    scatter(refLogp, 1);
  }

  // ---- μ optimizer steps on this batch ----
  const logp = new Float64Array(rowsAll * Tmax);
  let old: Float64Array | null = null;
  let obj: ObjectiveResult | null = null;
  let m: Awaited<ReturnType<Trainer['policyStep']>> | null = null;
  for (let it = 0; it < s.mu; it++) {
    const onPolicy = it === 0;
    m = await trainer.policyStep(micro, { temperature: s.temperature, epsLow: s.epsilon, epsHigh: s.epsilonHigh ?? s.epsilon, beta: s.beta, onPolicy }, (host) => {
      logp.fill(0);
      host.forEach((h, m) => gather(m, h, logp));
      obj = grpoObjective({ G: rowsAll, T: Tmax, logp, oldLogp: old ?? logp, refLogp, mask, advantages }, { epsilon: s.epsilon, epsilonHigh: s.epsilonHigh, beta: s.beta, maxCompletionLength: s.maxNewTokens });
      return obj.loss[s.loss];
    });
    if (onPolicy && s.mu > 1) {
      old = Float64Array.from(logp); // the first iteration's log-probs: π_old of the later ones
      scatter(old, 0);
    }
  }
  const updateS = (performance.now() - t1) / 1000;
  const res = obj as unknown as ObjectiveResult;
  const lengths = rolls.flatMap((r) => r.lengths);
  const generated = lengths.reduce((a, b) => a + b, 0);
  const terminated = rolls.flatMap((r) => r.tokens.map((row, g) => (r.lengths[g] > 0 && eosSet.has(row[r.lengths[g] - 1]) ? 1 : 0)));
  const stats: GrpoStepStats = {
    loss: m!.loss, grad_norm: m!.gradNorm, lr: m!.lr,
    reward: mean(allRewards), reward_std: mean(groupStd),
    rewards: Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, { mean: mean(v), std: std(v) }])),
    kl: refLogp ? res.metrics.klMean : null,
    clip_frac: res.metrics.clipFrac,
    completion_length: mean(lengths), completion_length_max: Math.max(...lengths), terminated: mean(terminated),
    tokens: m!.tokens, trained_tokens: res.metrics.tokens,
    rollout_tokens_per_s: generated / rolloutS, rollout_s: rolloutS, update_s: updateS,
  };
  return { stats, samples };
}
