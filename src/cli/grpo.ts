// `lab grpo`: GRPO on the engine, exactly:
//   npm run lab -- grpo --model <dir> [--adapter-init <dir>] --data <file.jsonl> --reward <name[:weight],...>
//     --group-size G --steps N [--prompts-per-step P] [--beta b] [--epsilon e] [--loss grpo|dapo|dr_grpo]
//     [--mu m] [--max-new-tokens n] [--temperature t] [--lr x] [--seed s] --out <dir>
// and beyond the issue's form: [--preset trl|user] (TRL's GRPOConfig defaults, or the user's pipeline:
// group 16, β 0.1, lr 2e-5, 256 new tokens; explicit flags win) [--epsilon-high e] [--top-p p] [--top-k k]
// [--scale-rewards group|none] [--rank r --alpha a --targets ...] [--full] [--lr-schedule ...]
// [--warmup-steps n] [--weight-decay w] [--max-grad-norm g] [--checkpoint-every n] [--resume <dir>]
// [--manifest <SOURCE_MANIFEST.yml>] [--arms regime-w|none].
//
// `--arms regime-w` samples each group with Regime W's 8 arms (member g: arm g mod 8's system prompt and
// temperature, rl/grpo.ts ARM_SETS; --temperature is then unused and G must be a multiple of 8); it is
// the default when the rewards include regime-w, whose agreement scores compare the arms' answers.
// `--arms none` samples every member alike.
//
// `--steps` counts GRPO steps: each samples G completions for each of P prompts and takes μ optimizer
// steps on them. Writes <out>/metrics.jsonl (one line per step: loss, rewards per reward, KL, clip
// fraction, completion length, tokens/s), <out>/samples.jsonl (prompt, completions, rewards,
// advantages), checkpoints like `lab sft` and, at the end, the PEFT adapter (or model with --full).
// A flag parser around Engine.train; the run is src/engine/rl/grpo-run.ts, the page's worker runs the same.
import { existsSync, statSync } from 'node:fs';
import type { GrpoConfig, GrpoStepLine } from '../engine/api.ts';
import { LOSS_TYPES, type LossType, type ScaleRewards } from '../engine/rl/objective.ts';
import { ARM_SETS, TRL_GRPO_DEFAULTS, USER_GRPO_PRESET, grpoSettingsProblem, type ArmSetName, type GrpoSettings } from '../engine/rl/grpo.ts';
import { GRPO_REWARD_NAMES, REWARD_MODEL } from '../engine/rl/grpo-run.ts';
import { parseArgs, required, num, UsageError } from './args.ts';
import { readDirFiles } from './dir-run-store.ts';
import { configFrom } from './sft.ts';
import { runTrainCommand } from './train-command.ts';

const VALUES = [
  'model', 'data', 'adapter-init', 'reward', 'group-size', 'steps', 'prompts-per-step', 'beta', 'epsilon', 'epsilon-high', 'loss', 'mu',
  'max-new-tokens', 'temperature', 'top-p', 'top-k', 'scale-rewards', 'lr', 'seed', 'out', 'preset', 'rank', 'alpha', 'targets', 'lr-schedule',
  'warmup-steps', 'weight-decay', 'max-grad-norm', 'checkpoint-every', 'resume', 'manifest', 'betas', 'eps', 'arms',
];

/**
 * "--reward gsm8k:1,gsm8k-format:0.5,reward-model=<dir>:0.2" → the rewards with their weights (a name
 * without a weight weighs 1) and the reward model's folder, if one is named.
 */
export function parseRewards(arg: string): { rewards: GrpoConfig['rewards']; rewardModelDir: string | null } {
  let rewardModelDir: string | null = null;
  const rewards = arg.split(',').map((part) => {
    const s = part.trim();
    const at = s.lastIndexOf(':');
    const hasWeight = at > 0 && /^[-+0-9.eE]*$/.test(s.slice(at + 1)); // a ':' inside a folder path is not a weight
    let name = hasWeight ? s.slice(0, at) : s;
    const weight = hasWeight ? Number(s.slice(at + 1)) : 1;
    if (name.startsWith(`${REWARD_MODEL}=`)) {
      if (rewardModelDir !== null) throw new UsageError('--reward: one reward model per run');
      rewardModelDir = name.slice(REWARD_MODEL.length + 1);
      if (!rewardModelDir) throw new UsageError('--reward reward-model=<dir>: the folder lab reward-model wrote');
      name = REWARD_MODEL;
    } else if (name === REWARD_MODEL) throw new UsageError('--reward reward-model=<dir>: name the folder lab reward-model wrote');
    if (!GRPO_REWARD_NAMES.includes(name)) throw new UsageError(`--reward: unknown reward "${name}" (rewards: ${GRPO_REWARD_NAMES.filter((n) => n !== REWARD_MODEL).join(', ')}, ${REWARD_MODEL}=<dir>)`);
    if (!Number.isFinite(weight) || (hasWeight && s.slice(at + 1).trim() === '')) throw new UsageError(`--reward ${s}: the weight after ":" must be a number`);
    return { name, weight };
  });
  return { rewards, rewardModelDir };
}

export async function grpoCommand(argv: string[]): Promise<void> {
  const p = parseArgs(argv, { values: VALUES, flags: ['full', 'recompute'] });
  const need = (k: string) => required(p, k);
  const modelDir = need('model'), dataFile = need('data'), out = need('out');
  const { rewards, rewardModelDir } = parseRewards(need('reward'));
  if (rewardModelDir !== null && !existsSync(rewardModelDir)) throw new UsageError(`--reward reward-model=${rewardModelDir}: the folder does not exist`);
  const preset = p.values.get('preset') ?? 'trl';
  if (preset !== 'trl' && preset !== 'user') throw new UsageError(`--preset must be trl or user, got ${preset}`);
  const base = { ...TRL_GRPO_DEFAULTS, ...(preset === 'user' ? USER_GRPO_PRESET : {}) };
  if (!existsSync(modelDir) || !statSync(modelDir).isDirectory()) throw new UsageError(`model folder ${modelDir} does not exist`);
  if (!existsSync(dataFile)) throw new UsageError(`data file ${dataFile} does not exist`);
  const full = p.flags.has('full');
  if (full && (p.values.has('adapter-init') || p.values.has('rank') || p.values.has('targets'))) throw new UsageError('--full trains every weight: --adapter-init, --rank and --targets do not apply');
  const loss = (p.values.get('loss') ?? base.loss) as LossType;
  if (!LOSS_TYPES.includes(loss)) throw new UsageError(`--loss must be one of ${LOSS_TYPES.join(', ')}, got ${loss}`);
  const scaleRewards = (p.values.get('scale-rewards') ?? base.scaleRewards) as ScaleRewards;
  const grpo: GrpoSettings = {
    groupSize: num(p, 'group-size', base.groupSize), promptsPerStep: num(p, 'prompts-per-step', base.promptsPerStep),
    maxNewTokens: num(p, 'max-new-tokens', base.maxNewTokens), temperature: num(p, 'temperature', base.temperature),
    topP: p.values.has('top-p') ? num(p, 'top-p') : undefined, topK: p.values.has('top-k') ? num(p, 'top-k') : undefined,
    beta: num(p, 'beta', base.beta), epsilon: num(p, 'epsilon', base.epsilon), epsilonHigh: p.values.has('epsilon-high') ? num(p, 'epsilon-high') : undefined,
    loss, mu: num(p, 'mu', base.mu), scaleRewards, seed: num(p, 'seed', 0),
  };
  const arms = p.values.get('arms') ?? (rewards.some((r) => r.name === 'regime-w') ? 'regime-w' : 'none');
  if (arms !== 'none') {
    if (!(arms in ARM_SETS)) throw new UsageError(`--arms must be ${Object.keys(ARM_SETS).join(', ')} or none, got ${arms}`);
    grpo.arms = arms as ArmSetName;
    const A = ARM_SETS[grpo.arms].length;
    if (grpo.groupSize % A !== 0) throw new UsageError(`--arms ${arms}: its ${A} arms need a group size that is a multiple of ${A}, got ${grpo.groupSize}${p.values.has('arms') ? '' : ` (the regime-w reward samples with them by default; --arms none samples every member at --temperature)`}`);
    if (p.values.has('temperature')) console.error(`lab grpo: --temperature is unused with --arms ${arms}: each arm has its own (${ARM_SETS[grpo.arms].map((a) => a.temperature).join(', ')})`);
  }
  const problem = grpoSettingsProblem(grpo, full);
  if (problem) throw new UsageError(problem);
  const steps = num(p, 'steps');
  const lr = num(p, 'lr', base.lr);
  // the trainer's settings as lab sft parses them (one prompt batch per step, no accumulation)
  const { config: sft, adapterInit } = await configFrom(p, modelDir, full, steps, lr);
  const config: GrpoConfig = { ...sft, lora: { ...sft.lora, dropout: 0 }, batchSize: grpo.promptsPerStep, gradAccum: 1, kind: 'grpo', grpo, rewards };
  await runTrainCommand({
    cmd: 'grpo', modelDir, dataFile, out, manifest: p.values.get('manifest'), resumeDir: p.values.get('resume'), config, adapterInit, rows: 'prompts',
    extra: rewardModelDir !== null ? { rewardModel: Object.fromEntries(readDirFiles(rewardModelDir)) } : undefined,
    stepText: (line) => {
      const l = line as GrpoStepLine;
      const kl = l.kl === null || l.kl === undefined ? '' : ` · kl ${l.kl.toFixed(4)}`;
      return `reward ${l.reward.toFixed(3)} ± ${l.reward_std.toFixed(3)}${kl} · loss ${l.loss.toFixed(4)} · len ${l.completion_length.toFixed(1)} · clip ${l.clip_frac.toFixed(3)} · ${Math.round(l.rollout_tokens_per_s)} rollout tok/s`;
    },
    doneText: () => `${full ? 'model' : 'adapter'}, metrics.jsonl and samples.jsonl in ${out}`,
  });
}
