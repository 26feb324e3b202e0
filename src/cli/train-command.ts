// What `lab grpo`, `lab dpo` and `lab reward-model` share after their flags are parsed: the governance
// gate on the data file (default-deny; the engine checks the decision again), the engine over the --out
// folder, the model, the request (with --resume's checkpoint files), Ctrl-C / SIGTERM as a stop after
// the step in flight, and progress lines on stderr. Each command says how one of its step lines reads.
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { nodeGpu, releaseNodeGpu } from '../engine/gpu/node.ts';
import { cliKernels } from './kernels.ts';
import { LocalEngine } from '../engine/engine.ts';
import { CancelledError, GovernanceError, type SftConfig, type StepLine, type TrainRequest } from '../engine/api.ts';
import { UsageError, Interrupted } from './args.ts';
import { governDataFile, GovernanceWatch, refuseRevoked } from './governance-fs.ts';
import { readDataText } from './data-files.ts';
import { DirRunStore, readDirFiles } from './dir-run-store.ts';
import { fmtTime, revokedError } from './sft.ts';
import { stopOnSignals } from './stop.ts';

export interface TrainCommand {
  /** the command's name ("grpo") */
  cmd: string;
  modelDir: string;
  dataFile: string;
  out: string;
  manifest?: string;
  resumeDir?: string;
  config: SftConfig;
  adapterInit?: Record<string, Uint8Array>;
  /** more of the request (a reward model's files) */
  extra?: Partial<TrainRequest>;
  /** what the data's rows are ("prompts") */
  rows: string;
  /** one step's line on stderr (after "step n/N · ", before " · ETA") */
  stepText: (line: StepLine) => string;
  /** the closing line after "done in <time>; " */
  doneText: () => string;
}

export async function runTrainCommand(c: TrainCommand): Promise<void> {
  if (c.resumeDir !== undefined && !existsSync(c.resumeDir)) throw new UsageError(`--resume ${c.resumeDir} does not exist`);
  if (c.manifest !== undefined && !existsSync(c.manifest)) throw new UsageError(`manifest ${c.manifest} does not exist`);
  if (c.resumeDir !== undefined) refuseRevoked(c.resumeDir, '--resume');
  refuseRevoked(c.modelDir, '--model');
  const decision = governDataFile(c.dataFile, c.manifest);
  if (!decision?.allowed) throw new GovernanceError(`training refused: ${decision?.reason ?? `${c.dataFile}: no source manifest approves this data`}`);
  process.stderr.write(`lab ${c.cmd}: ${decision.reason}\n`);

  const engine = new LocalEngine(await nodeGpu(), { runStore: new DirRunStore(c.out), kernels: cliKernels() });
  const stop = stopOnSignals(c.cmd);
  const watch = new GovernanceWatch(c.dataFile, c.manifest, decision);
  let step = 0, total = c.config.steps;
  let lastCheckpoint: string | null = c.resumeDir ?? null;
  const t0 = performance.now();
  try {
    const summary = await engine.loadModel({ kind: 'dir', path: c.modelDir });
    for (const w of summary.warnings) process.stderr.write(`lab: warning: ${w}\n`);
    const req: TrainRequest = {
      runId: basename(c.out), config: c.config, adapterInit: c.adapterInit, ...c.extra,
      data: { name: basename(c.dataFile), text: await readDataText(c.dataFile), governance: decision },
      ...(c.resumeDir !== undefined ? { resume: { files: Object.fromEntries(readDirFiles(c.resumeDir)), where: c.resumeDir } } : {}),
    };
    await engine.train(req, (e) => {
      if (e.kind === 'data') {
        process.stderr.write(`lab ${c.cmd}: ${e.rows} ${c.rows}\n`);
        for (const pr of e.problems) process.stderr.write(`lab: skipped row: ${pr.message}\n`);
        if (e.moreProblems) process.stderr.write(`lab: … and ${e.moreProblems} more skipped rows\n`);
      } else if (e.kind === 'start') {
        step = e.firstStep - 1;
        total = e.totalSteps;
        process.stderr.write(`lab ${c.cmd}: ${e.description}; ${e.trainable} trainable values, steps ${e.firstStep}..${e.totalSteps}\n`);
      } else if (e.kind === 'step') {
        step = e.line.step;
        watch.poll();
        process.stderr.write(`step ${e.line.step}/${e.totalSteps} · ${c.stepText(e.line)} · ${e.line.step_s.toFixed(2)} s/step · ETA ${fmtTime(e.etaSec)}\n`);
      } else if (e.kind === 'checkpoint') lastCheckpoint = e.where;
      else if (e.kind === 'warning') process.stderr.write(`lab: warning: ${e.message}\n`);
    }, AbortSignal.any([stop.signal, watch.signal]));
    process.stderr.write(`lab ${c.cmd}: done in ${fmtTime((performance.now() - t0) / 1000)}; ${c.doneText()}\n`);
  } catch (e) {
    if (e instanceof CancelledError && watch.revokedBy) throw revokedError(c.cmd, c.out, step, watch.revokedBy.reason);
    if (e instanceof CancelledError && stop.by) throw new Interrupted(`stopped by ${stop.by} at step ${step}/${total}; ${lastCheckpoint ? `resume with --resume ${lastCheckpoint}` : 'no checkpoint to resume from'}`);
    throw e;
  } finally {
    stop.release();
    engine.dispose();
    releaseNodeGpu();
  }
}
