// `lab dpo`: DPO on preference pairs on the engine, exactly:
//   npm run lab -- dpo --model <dir> --data <pairs.jsonl> [--beta b] [--label-smoothing s] [--adapter-init <dir>]
//     [--rank r --alpha a --targets ...] --steps N [--lr x] [--batch-size pairs] [--seed s]
//     [--checkpoint-every n] [--resume <dir>] [--manifest <SOURCE_MANIFEST.yml>] --out <dir>
// and beyond the form: [--lr-schedule ...] [--warmup-steps n] [--weight-decay w] [--betas b1,b2]
// [--eps e] [--max-grad-norm g] [--recompute].
//
// Rows are {"prompt", "chosen", "rejected"}; the loss is TRL's sigmoid DPO loss (src/engine/rl/dpo.ts)
// against the model with the adapter off, so DPO trains a LoRA adapter only (--full is refused: it
// would need a second copy of the model). Defaults are TRL's DPOConfig: β 0.1, label smoothing 0,
// lr 1e-6; one pair per step. `--steps` counts optimizer steps, each on --batch-size pairs. Writes
// <out>/metrics.jsonl (loss, grad norm, lr, rewards_chosen / rewards_rejected, accuracy, margin, per step),
// checkpoints like `lab sft` and, at the end, the PEFT adapter. A flag parser around Engine.train; the
// run is src/engine/rl/dpo-run.ts, the page's worker runs the same.
import { existsSync, statSync } from 'node:fs';
import type { DpoConfig, DpoSettings } from '../engine/api.ts';
import { TRL_DPO_DEFAULTS, dpoSettingsProblem, type DpoStepLine } from '../engine/rl/dpo.ts';
import { parseArgs, required, num, UsageError } from './args.ts';
import { configFrom } from './sft.ts';
import { runTrainCommand } from './train-command.ts';

const VALUES = [
  'model', 'data', 'beta', 'label-smoothing', 'adapter-init', 'rank', 'alpha', 'targets', 'steps', 'lr', 'batch-size', 'seed',
  'checkpoint-every', 'resume', 'manifest', 'out', 'lr-schedule', 'warmup-steps', 'weight-decay', 'betas', 'eps', 'max-grad-norm',
];

export async function dpoCommand(argv: string[]): Promise<void> {
  const p = parseArgs(argv, { values: VALUES, flags: ['full', 'recompute'] });
  const need = (k: string) => required(p, k);
  const dpo: DpoSettings = { beta: num(p, 'beta', TRL_DPO_DEFAULTS.beta), labelSmoothing: num(p, 'label-smoothing', TRL_DPO_DEFAULTS.labelSmoothing) };
  const full = p.flags.has('full');
  const problem = dpoSettingsProblem(dpo, full);
  if (problem) throw new UsageError(problem);
  const modelDir = need('model'), dataFile = need('data'), out = need('out');
  if (!existsSync(modelDir) || !statSync(modelDir).isDirectory()) throw new UsageError(`model folder ${modelDir} does not exist`);
  if (!existsSync(dataFile)) throw new UsageError(`data file ${dataFile} does not exist`);
  const steps = num(p, 'steps');
  const lr = num(p, 'lr', TRL_DPO_DEFAULTS.lr);
  // the trainer's settings as lab sft parses them (--batch-size = pairs per step, no accumulation, no dropout)
  const { config: sft, adapterInit } = await configFrom(p, modelDir, false, steps, lr);
  const config: DpoConfig = { ...sft, lora: { ...sft.lora, dropout: 0 }, gradAccum: 1, kind: 'dpo', dpo };
  await runTrainCommand({
    cmd: 'dpo', modelDir, dataFile, out, manifest: p.values.get('manifest'), resumeDir: p.values.get('resume'), config, adapterInit, rows: 'pairs',
    stepText: (line) => {
      const l = line as DpoStepLine;
      return `loss ${l.loss.toFixed(4)} · rewards chosen ${l.rewards_chosen.toFixed(4)} rejected ${l.rewards_rejected.toFixed(4)} · margin ${l.margin.toFixed(4)} · accuracy ${l.accuracy.toFixed(2)} · grad norm ${l.grad_norm.toFixed(3)}`;
    },
    doneText: () => `adapter and metrics.jsonl in ${out}`,
  });
}
