// `lab sft`: supervised fine-tuning (LoRA, or every weight with --full) on the engine, exactly:
//   npm run lab -- sft --model <dir> --data <file.jsonl> [--adapter-init <peft dir>] [--rank r --alpha a
//     --targets q_proj,v_proj,...] [--full] --steps N --lr x [--lr-schedule constant|linear|cosine]
//     [--warmup-steps n] [--weight-decay w] [--betas b1,b2] [--eps e] [--max-grad-norm g] [--batch-size b]
//     [--grad-accum k] [--seed s] [--checkpoint-every n] [--resume <dir>] --out <dir>
// and beyond the issue's form: [--lora-dropout p] (default: the --adapter-init's, else 0) [--recompute]
// [--manifest <SOURCE_MANIFEST.yml>].
//
// A flag parser around Engine.train: the run itself (gate, rows, trainer, resume checks, checkpoints,
// metrics) is src/engine/train/run.ts, the same code the page's worker runs; this file only turns
// flags into an SftConfig, the folder layout into a run store (./dir-run-store.ts) and progress into
// lines on stderr. Data trains only when its source manifest approves it (default-deny; see
// ./governance-fs.ts). A NaN/Inf loss or gradient stops the run, naming the last good checkpoint;
// SIGINT/SIGTERM stop after the step in flight with a checkpoint of it (exit 130).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { nodeGpu, releaseNodeGpu } from '../engine/gpu/node.ts';
import { cliKernels } from './kernels.ts';
import { LocalEngine } from '../engine/engine.ts';
import { CancelledError, GovernanceError, type SftConfig, type TrainProgress, type TrainRequest } from '../engine/api.ts';
import { LORA_TARGETS, readAdapter, type LoraTarget } from '../engine/train/adapter.ts';
import { dirSource } from '../engine/model/checkpoint.ts';
import { parseConfig } from '../engine/model/config.ts';
import { LR_SCHEDULES, type LrScheduleName } from '../engine/train/schedule.ts';
import { checkSftConfig } from '../engine/train/run.ts';
import { parseArgs, required, num, UsageError, Interrupted } from './args.ts';
import { governDataFile, GovernanceWatch, markRevoked, refuseRevoked } from './governance-fs.ts';
import { readDataText } from './data-files.ts';
import { DirRunStore, readDirFiles } from './dir-run-store.ts';
import { stopOnSignals } from './stop.ts';

const VALUES = ['model', 'data', 'adapter-init', 'rank', 'alpha', 'targets', 'steps', 'lr', 'lr-schedule', 'warmup-steps', 'weight-decay', 'betas', 'eps', 'max-grad-norm', 'batch-size', 'grad-accum', 'seed', 'checkpoint-every', 'resume', 'out', 'lora-dropout', 'manifest'];

export const fmtTime = (s: number): string => {
  if (!Number.isFinite(s)) return '?';
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.floor(s % 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : `${m}:${String(sec).padStart(2, '0')}`;
};

const readFiles = (dir: string): Record<string, Uint8Array> => Object.fromEntries(readDirFiles(dir));

/** The run's settings from the flags (an --adapter-init's own r / targets / dropout are the defaults). */
export async function configFrom(p: ReturnType<typeof parseArgs>, modelDir: string, full: boolean, steps: number, lr: number): Promise<{ config: SftConfig; adapterInit?: Record<string, Uint8Array> }> {
  const schedule = (p.values.get('lr-schedule') ?? 'linear') as LrScheduleName;
  if (!LR_SCHEDULES.includes(schedule)) throw new UsageError(`--lr-schedule must be one of ${LR_SCHEDULES.join(', ')}, got ${schedule}`);
  const betasArg = p.values.get('betas') ?? '0.9,0.999';
  const fields = betasArg.split(',').map((f) => f.trim());
  const betas = fields.map(Number);
  // an empty field is an error, not a 0 ("0.9," once meant beta2 = 0)
  if (fields.length !== 2 || fields.some((f) => f === '') || betas.some((b) => !(b >= 0 && b < 1))) throw new UsageError(`--betas must be two numbers in [0, 1), e.g. 0.9,0.999; got "${betasArg}"`);
  let adapterInit: Record<string, Uint8Array> | undefined;
  let initCfg: { r: number; alpha: number; dropout: number; targets: LoraTarget[]; layers?: number[] | null } | null = null;
  if (p.values.has('adapter-init')) {
    const dir = p.values.get('adapter-init')!;
    refuseRevoked(dir, '--adapter-init');
    if (!existsSync(dir)) throw new UsageError(`--adapter-init ${dir} does not exist`);
    adapterInit = readFiles(dir);
    const cfgFile = join(modelDir, 'config.json');
    initCfg = (await readAdapter(dirSource(dir), parseConfig(JSON.parse(readFileSync(cfgFile, 'utf8')), cfgFile))).cfg;
  }
  const targets = (p.values.get('targets')?.split(',').map((s) => s.trim()) ?? initCfg?.targets ?? ['q_proj', 'k_proj', 'v_proj', 'o_proj']) as LoraTarget[];
  const bad = targets.find((t) => !LORA_TARGETS.includes(t));
  if (bad) throw new UsageError(`--targets: "${bad}" is not one of ${LORA_TARGETS.join(', ')}`);
  const r = p.values.has('rank') ? num(p, 'rank') : (initCfg?.r ?? 16);
  const alpha = p.values.has('alpha') ? num(p, 'alpha') : (initCfg?.alpha ?? 2 * r);
  if (initCfg && (initCfg.r !== r || [...initCfg.targets].sort().join() !== [...targets].sort().join())) {
    throw new UsageError(`--adapter-init has r=${initCfg.r} on ${initCfg.targets.join(',')}; --rank/--targets ask for r=${r} on ${targets.join(',')}`);
  }
  const dropout = p.values.has('lora-dropout') ? num(p, 'lora-dropout') : (initCfg?.dropout ?? 0);
  const config: SftConfig = {
    full, lora: { r, alpha, dropout, targets, layers: initCfg?.layers ?? null }, steps, lr, lrSchedule: schedule,
    warmupSteps: num(p, 'warmup-steps', 0), weightDecay: num(p, 'weight-decay', 0), betas: [betas[0], betas[1]], eps: num(p, 'eps', 1e-8),
    maxGradNorm: num(p, 'max-grad-norm', 1), batchSize: num(p, 'batch-size', 1), gradAccum: num(p, 'grad-accum', 1), seed: num(p, 'seed', 0),
    checkpointEvery: num(p, 'checkpoint-every', 0), recompute: p.flags.has('recompute'),
  };
  try {
    checkSftConfig(config);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return { config, adapterInit };
}

export async function sftCommand(argv: string[]): Promise<void> {
  const p = parseArgs(argv, { values: VALUES, flags: ['full', 'recompute'] });
  const need = (k: string) => required(p, k);
  const modelDir = need('model'), dataFile = need('data'), out = need('out');
  const steps = num(p, 'steps'), lr = num(p, 'lr');
  if (!existsSync(modelDir) || !statSync(modelDir).isDirectory()) throw new UsageError(`model folder ${modelDir} does not exist`);
  if (!existsSync(dataFile)) throw new UsageError(`data file ${dataFile} does not exist`);
  const full = p.flags.has('full');
  if (full && (p.values.has('adapter-init') || p.values.has('rank') || p.values.has('targets'))) throw new UsageError('--full trains every weight: --adapter-init, --rank and --targets do not apply');
  const { config, adapterInit } = await configFrom(p, modelDir, full, steps, lr);
  const resumeDir = p.values.get('resume');
  if (resumeDir !== undefined && !existsSync(resumeDir)) throw new UsageError(`--resume ${resumeDir} does not exist`);
  if (resumeDir !== undefined) refuseRevoked(resumeDir, '--resume');
  refuseRevoked(modelDir, '--model');

  // ---- governance first: refused data costs no model load (the engine checks the decision again) ----
  if (p.values.has('manifest') && !existsSync(p.values.get('manifest')!)) throw new UsageError(`manifest ${p.values.get('manifest')} does not exist`);
  const decision = governDataFile(dataFile, p.values.get('manifest'));
  if (!decision?.allowed) throw new GovernanceError(`training refused: ${decision?.reason ?? `${dataFile}: no source manifest approves this data`}`);
  process.stderr.write(`lab sft: ${decision.reason}\n`);

  const store = new DirRunStore(out, { rowCacheMinRows: Number(process.env.LAB_ROW_CACHE_MIN_ROWS ?? 10_000) });
  const engine = new LocalEngine(await nodeGpu(), { runStore: store, kernels: cliKernels() });
  const summary = await engine.loadModel({ kind: 'dir', path: modelDir });
  for (const w of summary.warnings) process.stderr.write(`lab: warning: ${w}\n`);
  const req: TrainRequest = {
    runId: basename(out), config, adapterInit,
    data: { name: basename(dataFile), text: await readDataText(dataFile), governance: decision },
    ...(resumeDir !== undefined ? { resume: { files: readFiles(resumeDir), where: resumeDir } } : {}),
  };

  const stop = stopOnSignals('sft');
  const watch = new GovernanceWatch(dataFile, p.values.get('manifest'), decision);

  let step = 0;
  let trainingS = 0; // seconds of optimizer steps in this call (the last step line's elapsed_s)
  let lastCheckpoint: string | null = resumeDir ?? null;
  const t0 = performance.now();
  const onProgress = (e: TrainProgress) => {
    if (e.kind === 'data') {
      if (e.fromCache) process.stderr.write(`lab sft: ${e.rows} tokenized rows from ${store.rowCacheFile}\n`);
      else if (e.rows >= store.rowCacheMinRows) process.stderr.write(`lab sft: tokenized ${e.rows} rows in ${fmtTime(e.tokenizeMs / 1000)} (kept in ${store.rowCacheFile})\n`);
      for (const pr of e.problems) process.stderr.write(`lab: skipped row: ${pr.message}\n`);
      if (e.moreProblems) process.stderr.write(`lab: … and ${e.moreProblems} more skipped rows\n`);
    } else if (e.kind === 'start') {
      step = e.firstStep - 1;
      process.stderr.write(`lab sft: ${e.description}, ${e.tensors} tensors, ${e.trainable} trainable values, steps ${e.firstStep}..${e.totalSteps}\n`);
    } else if (e.kind === 'step') {
      const l = e.line;
      step = l.step;
      trainingS = l.elapsed_s;
      watch.poll();
      process.stderr.write(`step ${l.step}/${e.totalSteps} · loss ${l.loss.toFixed(4)} · grad norm ${l.grad_norm.toFixed(3)} · lr ${l.lr.toExponential(2)} · ${Math.round(l.tokens_per_s)} tok/s · ETA ${fmtTime(e.etaSec)}\n`);
    } else if (e.kind === 'checkpoint') lastCheckpoint = e.where;
    else if (e.kind === 'warning') process.stderr.write(`lab: warning: ${e.message}\n`);
  };
  try {
    await engine.train(req, onProgress, AbortSignal.any([stop.signal, watch.signal]));
    process.stderr.write(`lab sft: done in ${fmtTime((performance.now() - t0) / 1000)} (${fmtTime(trainingS)} of steps; the rest loads and tokenizes the data and writes checkpoints); ${full ? 'model' : 'adapter'} in ${out}\n`);
  } catch (e) {
    if (e instanceof CancelledError && watch.revokedBy) throw revokedError('sft', out, step, watch.revokedBy.reason);
    if (e instanceof CancelledError && stop.by) {
      throw new Interrupted(`stopped by ${stop.by} at step ${step}/${steps}; ${lastCheckpoint ? `resume with --resume ${lastCheckpoint}` : 'no checkpoint to resume from'}`);
    }
    throw e;
  } finally {
    stop.release();
    engine.dispose();
    releaseNodeGpu();
  }
}

/** A run stopped because its data was withdrawn: what it made is marked, and the error says so. */
export function revokedError(cmd: string, out: string, step: number, reason: string): GovernanceError {
  const marked = markRevoked(out, reason);
  return new GovernanceError(`lab ${cmd}: training stopped at step ${step}: the data's terms changed (${reason}); ${marked.length} files of ${out} are marked revoked (governance.json, run.json) and later commands refuse them`);
}
