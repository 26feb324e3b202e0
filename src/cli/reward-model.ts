// `lab reward-model`: a learned reward model (a scalar head on the last token's final hidden state,
// LoRA or every weight under it), exactly:
//   npm run lab -- reward-model --model <dir> --data <pairs.jsonl> [--objective bradley-terry|regression]
//     [--held-out 0.1] [--adapter-init <dir>] [--rank r --alpha a --targets ...] [--full] --steps N [--lr x]
//     [--batch-size b] [--seed s] [--checkpoint-every n] [--resume <dir>] [--manifest ...] --out <dir>
// and lab sft's optimizer flags ([--lr-schedule ...] [--warmup-steps n] [--weight-decay w] [--betas b1,b2]
// [--eps e] [--max-grad-norm g] [--recompute]). Defaults are TRL's RewardConfig: lr 1e-4, 8 rows per step.
//
// Rows: {"prompt","chosen","rejected"} (Bradley–Terry) or {"prompt","completion","rating"} (regression).
// Writes <out>/metrics.jsonl (loss, accuracy or RMSE per step; held-out numbers every --checkpoint-every
// steps and at the end), checkpoints and, at the end, the PEFT adapter (or model with --full) with
// reward_head.safetensors and reward_model.json; prints the held-out pair accuracy (or RMSE).
// A flag parser around Engine.train; the run is src/engine/rl/reward-model-run.ts, the page's worker runs the same.
import { existsSync, statSync } from 'node:fs';
import type { RewardModelConfig } from '../engine/api.ts';
import { REWARD_OBJECTIVES, type RewardObjective } from '../engine/rl/reward-model.ts';
import type { RewardModelStepLine } from '../engine/rl/reward-model-run.ts';
import { parseArgs, required, num, UsageError } from './args.ts';
import { configFrom } from './sft.ts';
import { runTrainCommand } from './train-command.ts';

const VALUES = [
  'model', 'data', 'objective', 'held-out', 'adapter-init', 'rank', 'alpha', 'targets', 'steps', 'lr', 'batch-size', 'seed', 'checkpoint-every', 'resume',
  'manifest', 'out', 'lr-schedule', 'warmup-steps', 'weight-decay', 'betas', 'eps', 'max-grad-norm',
];

export async function rewardModelCommand(argv: string[]): Promise<void> {
  const p = parseArgs(argv, { values: VALUES, flags: ['full', 'recompute'] });
  const need = (k: string) => required(p, k);
  const modelDir = need('model'), dataFile = need('data'), out = need('out');
  const objective = (p.values.get('objective') ?? 'bradley-terry') as RewardObjective;
  if (!REWARD_OBJECTIVES.includes(objective)) throw new UsageError(`--objective must be ${REWARD_OBJECTIVES.join(' or ')}, got ${objective}`);
  const heldOut = num(p, 'held-out', 0.1);
  if (!(heldOut >= 0 && heldOut <= 0.5)) throw new UsageError(`--held-out must be a share in [0, 0.5], got ${heldOut}`);
  if (!existsSync(modelDir) || !statSync(modelDir).isDirectory()) throw new UsageError(`model folder ${modelDir} does not exist`);
  if (!existsSync(dataFile)) throw new UsageError(`data file ${dataFile} does not exist`);
  const full = p.flags.has('full');
  if (full && (p.values.has('adapter-init') || p.values.has('rank') || p.values.has('targets'))) throw new UsageError('--full trains every weight: --adapter-init, --rank and --targets do not apply');
  const steps = num(p, 'steps');
  if (!p.values.has('batch-size')) p.values.set('batch-size', '8'); // TRL's per_device_train_batch_size
  const { config: sft, adapterInit } = await configFrom(p, modelDir, full, steps, num(p, 'lr', 1e-4));
  const config: RewardModelConfig = { ...sft, lora: { ...sft.lora, dropout: 0 }, gradAccum: 1, kind: 'reward-model', rewardModel: { objective, heldOut } };
  let held: { step: number; text: string } | null = null;
  const pairs = objective === 'bradley-terry';
  await runTrainCommand({
    cmd: 'reward-model', modelDir, dataFile, out, manifest: p.values.get('manifest'), resumeDir: p.values.get('resume'), config, adapterInit, rows: pairs ? 'pairs' : 'ratings',
    stepText: (line) => {
      const l = line as RewardModelStepLine;
      const fit = l.accuracy !== undefined ? `acc ${l.accuracy.toFixed(3)} · margin ${l.margin!.toFixed(3)}` : `rmse ${l.rmse!.toFixed(4)}`;
      const ho = l.heldout_accuracy !== undefined ? ` · held-out acc ${l.heldout_accuracy.toFixed(3)}` : l.heldout_rmse !== undefined ? ` · held-out rmse ${l.heldout_rmse.toFixed(4)}` : '';
      if (ho) held = { step: l.step, text: l.heldout_accuracy !== undefined ? `held-out pair accuracy ${l.heldout_accuracy.toFixed(3)}` : `held-out RMSE ${l.heldout_rmse!.toFixed(4)}` };
      return `loss ${l.loss.toFixed(4)} · ${fit}${ho} · grad norm ${l.grad_norm.toFixed(3)} · lr ${l.lr.toExponential(2)}`;
    },
    doneText: () => {
      const h = held as { step: number; text: string } | null;
      return `${h ? `${h.text} (step ${h.step})` : 'no held-out rows'}; ${full ? 'model' : 'adapter'}, reward_head.safetensors and reward_model.json in ${out}`;
    },
  });
  const h = held as { step: number; text: string } | null;
  if (h) console.log(h.text);
}
