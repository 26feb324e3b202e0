// One GRPO run, the same in the browser worker and the CLI (LocalEngine.train calls it for a config
// of kind 'grpo'; `lab grpo` is a flag parser around that call): the governance gate, the prompts,
// the LoRA or full trainer, resume, the step loop with pause / resume / cancel, and what it keeps in
// the RunStore: the run record, metrics.jsonl (one line per GRPO step), samples.jsonl (each step's
// groups: prompt, completions, rewards, advantages), checkpoints and the result (a PEFT adapter, or
// an HF checkpoint for full training) — the layout and the checkpoint files of an SFT run.
//
// Exact resume: the step's prompts (stepPrompts) and rollout seeds (rolloutSeed) are functions of
// (seed, step), and a checkpoint holds the parameters and AdamW moments, so a resumed run samples and
// updates as the uninterrupted run would.
import { TrainingError } from '../errors.ts';
import type { GrpoConfig, GrpoStepLine, TrainData, TrainProgress, TrainRequest, TrainResult } from '../api.ts';
import { REWARDS, GROUP_REWARDS, combineGroupRewards, type WeightedAnyReward } from '../../rewards/index.ts';
import type { LoraConfig } from '../train/adapter.ts';
import type { Trainer, OptimConfig } from '../train/trainer.ts';
import { runLoop } from '../train/loop.ts';
import type { TrainerStateJson } from '../train/state-files.ts';
import { checkSftConfig } from '../train/run.ts';
import type { RunContext, RunControl } from '../train/run-context.ts';
import { acceptRows, gatedData, makeTrainer, resumeFrom } from '../train/run-setup.ts';
import { ARM_SETS, grpoSettingsProblem, grpoStep, stepPrompts, promptRepeats, type GrpoEnv } from './grpo.ts';
import { readRewardModel, scoreTexts, type RewardModel } from './reward-model.ts';
import { keepRewardModel, resumeRewardModel } from './reward-model-keep.ts';
import { armsSeeSystem, loadGrpoData } from './grpo-data.ts';

/** The learned reward model's name in a config's rewards (its files come with the request: TrainRequest.rewardModel; a run keeps them, ./reward-model-keep.ts). */
export const REWARD_MODEL = 'reward-model';

/** Reward names a run accepts (per-sample and group rewards, and a learned reward model). */
export const GRPO_REWARD_NAMES: readonly string[] = [...Object.keys(REWARDS), ...Object.keys(GROUP_REWARDS), REWARD_MODEL];

/** The rewards of a config, resolved (the learned reward model apart); TrainingError('invalid') for an unknown name or a bad weight. */
export function resolveRewards(specs: GrpoConfig['rewards']): WeightedAnyReward[] {
  if (specs.length === 0) throw new TrainingError('invalid', `GRPO needs at least one reward (${GRPO_REWARD_NAMES.join(', ')})`);
  return specs.filter((r) => r.name !== REWARD_MODEL).map(({ name, weight }) => {
    if (!Number.isFinite(weight)) throw new TrainingError('invalid', `reward ${name}: the weight must be a finite number, got ${weight}`);
    if (name in REWARDS) return { name, weight, fn: REWARDS[name as keyof typeof REWARDS] };
    if (name in GROUP_REWARDS) return { name, weight, group: GROUP_REWARDS[name as keyof typeof GROUP_REWARDS] };
    throw new TrainingError('invalid', `unknown reward "${name}" (rewards: ${GRPO_REWARD_NAMES.join(', ')})`);
  });
}

const optimOf = (c: GrpoConfig): OptimConfig => ({
  lr: c.lr, schedule: c.lrSchedule, warmupSteps: c.warmupSteps, totalSteps: c.steps * c.grpo.mu, weightDecay: c.weightDecay,
  beta1: c.betas[0], beta2: c.betas[1], eps: c.eps, maxGradNorm: c.maxGradNorm, recompute: c.recompute,
});

/** What a resume must agree on: anything that changes the samples or the updates. */
function resumeMismatch(s: TrainerStateJson, c: GrpoConfig, sha256: string, lora: LoraConfig | null): string | null {
  const o = s.optim as Partial<OptimConfig>;
  const now = optimOf(c);
  const checks: [string, unknown, unknown][] = [
    ['kind', s.kind ?? 'sft', 'grpo'],
    ['mode', s.mode, c.full ? 'full' : 'lora'],
    ['data (sha256)', s.data.sha256, sha256],
    ['seed', s.seed, c.seed],
    ['GRPO settings', JSON.stringify(s.grpo), JSON.stringify({ ...c.grpo, rewards: c.rewards })],
    ...(['lr', 'schedule', 'warmupSteps', 'weightDecay', 'beta1', 'beta2', 'eps', 'maxGradNorm'] as const).map((k): [string, unknown, unknown] => [k, o[k], now[k]]),
  ];
  if (lora && s.lora) {
    checks.push(['LoRA rank', s.lora.r, lora.r], ['LoRA alpha', s.lora.alpha, lora.alpha], ['LoRA targets', [...s.lora.targets].sort().join(','), [...lora.targets].sort().join(',')]);
  }
  for (const [field, was, now2] of checks) if (was !== now2) return `${field}: the checkpoint has ${String(was)}, this run ${String(now2)}`;
  return null;
}

export async function runGrpo(ctx: RunContext, request: TrainRequest & { config: GrpoConfig }, control: RunControl, onProgress?: (p: TrainProgress) => void, signal?: AbortSignal): Promise<TrainResult> {
  const { store, model, rt } = ctx;
  const c = request.config;
  checkSftConfig({ ...c, batchSize: c.grpo.promptsPerStep, gradAccum: 1 });
  const problem = grpoSettingsProblem(c.grpo, c.full);
  if (problem) throw new TrainingError('invalid', problem);
  if (c.lora.dropout && !c.full) throw new TrainingError('invalid', 'GRPO runs without LoRA dropout (the rollouts and the update must see the same policy): set it to 0');
  const rewards = resolveRewards(c.rewards);
  const tok = ctx.tokenizer;
  if (!tok) throw new TrainingError('invalid', 'GRPO needs the model\'s tokenizer (the rewards read text)');
  const rmSpec = c.rewards.find((r) => r.name === REWARD_MODEL);
  let rm: { model: RewardModel; weight: number } | null = null;
  // a resume scores with the reward model the run started with: the one given (checked against the run's record) or the one kept with it
  const rmFiles = rmSpec && request.resume ? await resumeRewardModel(store, request.runId, request.rewardModel) : request.rewardModel;
  if (rmSpec) {
    if (!rmFiles) {
      throw new TrainingError(
        'invalid',
        request.resume
          ? 'this run scores with a learned reward model whose files are not kept with it: give them again (lab grpo --reward reward-model=<dir>; on the Train page, Rewards → reward-model)'
          : 'the reward "reward-model" needs the reward model\'s files (lab grpo --reward reward-model=<dir>; on the Train page, Rewards → reward-model)',
      );
    }
    // it scores through the same base weights with its own adapter: full-parameter training would move them under it
    if (c.full) throw new TrainingError('invalid', 'a learned reward model scores with the base weights and its own adapter; full-parameter GRPO changes those weights: train LoRA, or leave the reward model out');
    try {
      rm = { model: await readRewardModel(rmFiles, 'reward model'), weight: rmSpec.weight };
    } catch (e) {
      throw new TrainingError('invalid', (e as Error).message);
    }
    if (rm.model.info.d_model !== model.cfg.d_model) throw new TrainingError('invalid', `the reward model was trained on ${rm.model.info.base_model} (d_model ${rm.model.info.d_model}); this model has d_model ${model.cfg.d_model}: it needs the same base model`);
    if (!rm.model.adapter) throw new TrainingError('invalid', 'the reward model has no adapter: a full-parameter reward model is its own model and cannot score through the policy\'s base weights');
  }
  const { data, sha256 } = await gatedData(store, request, 'prompts');
  if (rmFiles && rm && !request.resume) await keepRewardModel(store, request.runId, rmFiles);
  const t0 = performance.now();
  const arms = c.grpo.arms ? ARM_SETS[c.grpo.arms] : null;
  const { items, problems } = loadGrpoData(data.text, tok, { file: data.name, nCtx: model.cfg.n_ctx, maxNewTokens: c.grpo.maxNewTokens, systems: arms?.map((a) => a.system) });
  if (arms && !armsSeeSystem(tok)) onProgress?.({ kind: 'warning', message: `the ${c.grpo.arms} arms' system prompts need a chat template, which this model's tokenizer lacks: its arms differ by temperature only (${arms.map((a) => a.temperature).join(', ')})` });
  await acceptRows(store, request, data, items.length, problems, performance.now() - t0, 'prompt', onProgress);
  const repeats = items.length ? promptRepeats(items.length, c.steps, c.grpo.promptsPerStep) : null;
  if (repeats) onProgress?.({ kind: 'warning', message: repeats });
  const { trainer, lora } = await makeTrainer(rt, model, request, optimOf(c));
  try {
    const resumed = await resumeFrom(store, request, trainer, c.steps * c.grpo.mu, (state) => resumeMismatch(state, c, sha256, lora));
    const resumedFrom = resumed?.where ?? null;
    if (resumed) {
      // the samples of steps trained again after this checkpoint go (as the metrics lines do)
      const at = resumed.state.step / c.grpo.mu;
      const kept = await store.readFile(request.runId, 'samples.jsonl');
      if (kept) await store.setLines(request.runId, 'samples.jsonl', new TextDecoder().decode(kept).split('\n').filter((l) => l.trim() !== '' && (JSON.parse(l) as { step: number }).step <= at));
    }
    return await loop(ctx, { ...request, data }, c, control, trainer, lora, { items, sha256, rewards, rm, resumedFrom }, onProgress, signal);
  } finally {
    trainer.dispose();
    model.adapter = null;
  }
}

async function loop(
  ctx: RunContext, req: TrainRequest & { data: TrainData }, c: GrpoConfig, control: RunControl, trainer: Trainer, lora: LoraConfig | null,
  d: { items: ReturnType<typeof loadGrpoData>['items']; sha256: string; rewards: WeightedAnyReward[]; rm: { model: RewardModel; weight: number } | null; resumedFrom: string | null },
  onProgress: ((p: TrainProgress) => void) | undefined, signal: AbortSignal | undefined,
): Promise<TrainResult> {
  const { store, model } = ctx;
  const id = req.runId;
  const mu = c.grpo.mu;
  const P = c.grpo.promptsPerStep;
  const done = () => trainer.step / mu; // GRPO steps done
  const combined = combineGroupRewards(d.rewards);
  const rm = d.rm;
  const env: GrpoEnv = {
    model, trainer, decode: (ids) => ctx.tokenizer!.decode(ids, { skipSpecialTokens: true }),
    reward: async (samples, item) => {
      const out = combined(samples);
      if (!rm) return out;
      // the learned reward model's score of each completion (its adapter in place of the policy's, then back)
      const scores = await scoreTexts(model, rm.model, item.ids, samples.map((s) => s.output), { tokenizer: ctx.tokenizer! });
      return out.map((c, i) => ({ total: c.total + rm.weight * scores[i], parts: { ...c.parts, [REWARD_MODEL]: scores[i] } }));
    },
  };
  const armsDesc = c.grpo.arms ? `, arms ${c.grpo.arms} (${ARM_SETS[c.grpo.arms].length} system prompts × temperatures)` : '';
  const desc = `GRPO, ${c.full ? 'full-parameter' : `LoRA r=${lora!.r} alpha=${lora!.alpha} on ${lora!.targets.join(',')}`}, G=${c.grpo.groupSize}, ${P} prompt${P > 1 ? 's' : ''}/step, β=${c.grpo.beta}, loss ${c.grpo.loss}, μ=${mu}, rewards ${c.rewards.map((r) => `${r.name}:${r.weight}`).join(',')}${armsDesc}`;
  return runLoop({
    ctx, req, control, trainer, kind: 'grpo', data: { name: req.data.name, sha256: d.sha256, rows: d.items.length }, totalSteps: c.steps, done,
    resumedFrom: d.resumedFrom, description: desc, onProgress, signal,
    state: () => ({
      kind: 'grpo', totalSteps: c.steps * mu, cursor: { epoch: Math.floor((done() * P) / d.items.length), index: done() }, mode: c.full ? 'full' : 'lora', lora,
      optim: { ...optimOf(c) }, seed: c.seed, batchSize: P, gradAccum: 1, grpo: { ...c.grpo, rewards: c.rewards },
      data: { file: req.data.name, rows: d.items.length, sha256: d.sha256 }, model: ctx.modelName,
    }),
    step: async () => {
      const step = done();
      const picks = stepPrompts(d.items.length, step, P, c.seed);
      const r = await grpoStep(env, picks.map((p) => d.items[p.index]), step, c.grpo);
      const line: GrpoStepLine = { step: step + 1, epoch: picks[picks.length - 1].epoch, ...r.stats, tokens_per_s: 0, step_s: 0, elapsed_s: 0 };
      return {
        line,
        extra: async () => {
          for (const g of r.samples) await store.appendLine(id, 'samples.jsonl', JSON.stringify(g));
          onProgress?.({ kind: 'samples', step: step + 1, samples: r.samples });
        },
      };
    },
  });
}
