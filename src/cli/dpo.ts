// `lab dpo`: DPO on preference pairs on the engine, exactly:
//   npm run lab -- dpo --model <dir> --data <pairs.jsonl> [--beta b] [--label-smoothing s] [--adapter-init <dir>]
//     [--rank r --alpha a --targets ...] --steps N [--lr x] [--batch-size pairs] [--seed s]
//     [--checkpoint-every n] [--resume <dir>] [--manifest <SOURCE_MANIFEST.yml>] --out <dir>
// and beyond the issue's form: [--lr-schedule ...] [--warmup-steps n] [--weight-decay w] [--betas b1,b2]
// [--eps e] [--max-grad-norm g] [--recompute].
//
// Rows are {"prompt", "chosen", "rejected"}; the loss is TRL's sigmoid DPO loss (src/engine/rl/dpo.ts)
// against the model with the adapter off, so DPO trains a LoRA adapter only (--full is refused: it
// would need a second copy of the model). Defaults are TRL's DPOConfig: β 0.1, label smoothing 0,
// lr 1e-6; one pair per step. `--steps` counts optimizer steps, each on --batch-size pairs. Writes
// <out>/metrics.jsonl (loss, grad norm, lr, rewards_chosen / rewards_rejected, accuracy, margin, per step),
// checkpoints like `lab sft` and, at the end, the PEFT adapter. A flag parser around Engine.train; the
// run is src/engine/rl/dpo-run.ts, the page's worker runs the same.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { nodeGpu, releaseNodeGpu } from '../engine/gpu/node.ts';
import { LocalEngine } from '../engine/engine.ts';
import { CancelledError, GovernanceError, type DpoConfig, type DpoSettings, type TrainProgress, type TrainRequest } from '../engine/api.ts';
import { TRL_DPO_DEFAULTS, dpoSettingsProblem, type DpoStepLine } from '../engine/rl/dpo.ts';
import { parseArgs, num, UsageError, Interrupted } from './args.ts';
import { governDataFile } from './governance-fs.ts';
import { DirRunStore, readDirFiles } from './dir-run-store.ts';
import { configFrom, fmtTime } from './sft.ts';
import { stopOnSignals } from './stop.ts';

const VALUES = [
  'model', 'data', 'beta', 'label-smoothing', 'adapter-init', 'rank', 'alpha', 'targets', 'steps', 'lr', 'batch-size', 'seed',
  'checkpoint-every', 'resume', 'manifest', 'out', 'lr-schedule', 'warmup-steps', 'weight-decay', 'betas', 'eps', 'max-grad-norm',
];

export async function dpoCommand(argv: string[]): Promise<void> {
  const p = parseArgs(argv, { values: VALUES, flags: ['full', 'recompute'] });
  const need = (k: string) => {
    const v = p.values.get(k);
    if (v === undefined) throw new UsageError(`--${k} is required`);
    return v;
  };
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
  const resumeDir = p.values.get('resume');
  if (resumeDir !== undefined && !existsSync(resumeDir)) throw new UsageError(`--resume ${resumeDir} does not exist`);

  // ---- governance first (the engine checks the decision again) ----
  if (p.values.has('manifest') && !existsSync(p.values.get('manifest')!)) throw new UsageError(`manifest ${p.values.get('manifest')} does not exist`);
  const decision = governDataFile(dataFile, p.values.get('manifest'));
  if (!decision?.allowed) throw new GovernanceError(`training refused: ${decision?.reason ?? `${dataFile}: no source manifest approves this data`}`);
  process.stderr.write(`lab dpo: ${decision.reason}\n`);

  const store = new DirRunStore(out);
  const engine = new LocalEngine(await nodeGpu(), { runStore: store });
  const summary = await engine.loadModel({ kind: 'dir', path: modelDir });
  for (const w of summary.warnings) process.stderr.write(`lab: warning: ${w}\n`);
  const req: TrainRequest = {
    runId: basename(out), config, adapterInit,
    data: { name: basename(dataFile), text: readFileSync(dataFile, 'utf8'), governance: decision },
    ...(resumeDir !== undefined ? { resume: { files: Object.fromEntries(readDirFiles(resumeDir)), where: resumeDir } } : {}),
  };
  const stop = stopOnSignals('dpo');
  let step = 0;
  let lastCheckpoint: string | null = resumeDir ?? null;
  const t0 = performance.now();
  const onProgress = (e: TrainProgress) => {
    if (e.kind === 'data') {
      process.stderr.write(`lab dpo: ${e.rows} pairs\n`);
      for (const pr of e.problems) process.stderr.write(`lab: skipped row: ${pr.message}\n`);
      if (e.moreProblems) process.stderr.write(`lab: … and ${e.moreProblems} more skipped rows\n`);
    } else if (e.kind === 'start') {
      step = e.firstStep - 1;
      process.stderr.write(`lab dpo: ${e.description}; ${e.trainable} trainable values, steps ${e.firstStep}..${e.totalSteps}\n`);
    } else if (e.kind === 'step') {
      const l = e.line as DpoStepLine;
      step = l.step;
      process.stderr.write(`step ${l.step}/${e.totalSteps} · loss ${l.loss.toFixed(4)} · rewards chosen ${l.rewards_chosen.toFixed(4)} rejected ${l.rewards_rejected.toFixed(4)} · margin ${l.margin.toFixed(4)} · accuracy ${l.accuracy.toFixed(2)} · grad norm ${l.grad_norm.toFixed(3)} · ${l.step_s.toFixed(2)} s/step · ETA ${fmtTime(e.etaSec)}\n`);
    } else if (e.kind === 'checkpoint') lastCheckpoint = e.where;
    else if (e.kind === 'warning') process.stderr.write(`lab: warning: ${e.message}\n`);
  };
  try {
    await engine.train(req, onProgress, stop.signal);
    process.stderr.write(`lab dpo: done in ${fmtTime((performance.now() - t0) / 1000)}; adapter and metrics.jsonl in ${out}\n`);
  } catch (e) {
    if (e instanceof CancelledError && stop.by) throw new Interrupted(`stopped by ${stop.by} at step ${step}/${steps}; ${lastCheckpoint ? `resume with --resume ${lastCheckpoint}` : 'no checkpoint to resume from'}`);
    throw e;
  } finally {
    stop.release();
    engine.dispose();
    releaseNodeGpu();
  }
}
