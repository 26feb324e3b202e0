// The step loop every kind of run shares (SFT: run.ts; GRPO: rl/grpo-run.ts): the run record, the
// governance terms beside the run, metrics lines, pause / resume between steps, cancel after the step
// in flight with a checkpoint of it, checkpoints (whole or not at all; one with a non-finite value is
// kept but never called good), a NaN/Inf stop naming the last good checkpoint, and the result
// (a PEFT adapter, or an HF checkpoint with the model's tokenizer files) with the trainer state.
// What differs between kinds — what one step does, what its checkpoint's state says — comes in the spec.
import { CancelledError, TrainingError } from '../errors.ts';
import type { RunRecord, StepLine, TrainData, TrainProgress, TrainRequest, TrainResult } from '../api.ts';
import type { RunContext, RunControl } from './run-context.ts';
import type { Files } from './run-store.ts';
import { NonFiniteError, type Trainer } from './trainer.ts';
import { checkpointFiles, type TrainerStateJson } from './state-files.ts';

export interface LoopSpec {
  ctx: RunContext;
  req: TrainRequest & { data: TrainData };
  control: RunControl;
  trainer: Trainer;
  kind: RunRecord['kind'];
  data: { name: string; sha256: string; rows: number };
  totalSteps: number;
  /** the run's steps done (SFT: optimizer steps; GRPO: rollout batches) */
  done: () => number;
  /** the trainer state a checkpoint records (trainer_state.json without schema and step) */
  state: () => Omit<TrainerStateJson, 'schema' | 'step'>;
  /** the checkpoint this call resumed from (the first good one), or null */
  resumedFrom: string | null;
  /** the 'start' event's description of the trainable parameters */
  description: string;
  /** files every checkpoint and the result carry beside the trainer's (a reward model's head), and the first non-finite value in them */
  extraFiles?: () => { files: Files; nonFinite: string | null };
  /** one step (the loop holds the device lock around it): its metrics line, and anything to store with it */
  step: () => Promise<{ line: StepLine; extra?: () => Promise<void> }>;
  onProgress?: (p: TrainProgress) => void;
  signal?: AbortSignal;
}

export async function runLoop(s: LoopSpec): Promise<TrainResult> {
  const { ctx, req, control, trainer, onProgress, signal } = s;
  const { store } = ctx;
  const id = req.runId;
  const first = s.done();
  control.step = first;

  // ---- the record, metrics (no step twice after a resume from an older checkpoint), governance terms ----
  const old = await store.get(id);
  const now = Date.now();
  const rec: RunRecord = {
    schema: 'lab-run-v1', id, name: req.name ?? old?.name ?? req.data.name, kind: s.kind, status: 'running', createdAt: old?.createdAt ?? now, updatedAt: now,
    model: ctx.modelName, config: req.config, data: s.data, governance: req.data.governance, step: first, lastLoss: null,
    checkpoints: await store.checkpoints(id), hasResult: false, kernels: { ...ctx.rt.kernelPrefs },
  };
  await store.put(rec);
  await store.setMetrics(id, req.resume ? (await store.metrics(id)).filter((l) => l.step <= first) : []);
  const governance = new TextEncoder().encode(JSON.stringify({ data: req.data.name, sha256: s.data.sha256, ...req.data.governance, note: 'what is trained from this data inherits these terms' }, null, 1));
  await store.saveFile(id, 'governance.json', governance);
  const filesNow = async (): Promise<Files & { nonFinite?: string | null }> => {
    const f = await ctx.exclusive(() => checkpointFiles(trainer, s.state(), ctx.modelFiles.get('config.json') ?? null));
    f.set('governance.json', governance);
    if (s.extraFiles) {
      const x = s.extraFiles();
      for (const [k, v] of x.files) f.set(k, v);
      f.nonFinite ??= x.nonFinite;
    }
    return f;
  };
  let lastGood: string | null = s.resumedFrom;
  let lastSaved = -1;
  const save = async (): Promise<string> => {
    const at = s.done();
    const files = await filesNow();
    let where: string;
    try {
      where = await store.saveCheckpoint(id, at, files);
    } catch (e) {
      const quota = (e as Error).name === 'QuotaExceededError' || /quota/i.test((e as Error).message);
      throw new TrainingError('storage', `checkpoint ${at} could not be stored (${quota ? 'the browser storage is full' : (e as Error).message}); nothing stored before was lost${lastGood ? ` (the last checkpoint is ${lastGood})` : ''}. Free space by deleting old runs, then resume.`);
    }
    lastSaved = at;
    // finite losses and gradients can still step into Inf weights: such a checkpoint is kept (to inspect), never called good
    if (files.nonFinite) onProgress?.({ kind: 'warning', message: `checkpoint ${where} holds a non-finite value (${files.nonFinite}): it is not a good checkpoint to resume from` });
    else lastGood = where;
    rec.checkpoints = await store.checkpoints(id);
    onProgress?.({ kind: 'checkpoint', step: at, where });
    return where;
  };
  const finish = async (status: RunRecord['status'], error?: string) => {
    Object.assign(rec, { status, updatedAt: Date.now(), step: s.done(), error });
    await store.put(rec);
  };

  const trainable = trainer.params.reduce((a, p) => a + p.p.numel, 0);
  onProgress?.({ kind: 'start', firstStep: first + 1, totalSteps: s.totalSteps, tensors: trainer.params.length, trainable, description: s.description });
  const every = req.config.checkpointEvery;
  let active = 0; // seconds spent in steps in this call (pauses excluded): the ETA's rate
  try {
    while (s.done() < s.totalSteps) {
      if (control.paused && !signal?.aborted) {
        await finish('paused');
        onProgress?.({ kind: 'paused', step: s.done() });
        await control.waitWhilePaused(signal);
        if (!signal?.aborted) {
          await finish('running');
          onProgress?.({ kind: 'resumed', step: s.done() });
        }
      }
      if (signal?.aborted) {
        const at = s.done() > first && lastSaved !== s.done() ? await save() : lastGood;
        await finish('cancelled');
        throw new CancelledError(`stopped at step ${s.done()}/${s.totalSteps}; ${at ? `resume from ${at}` : 'no checkpoint to resume from'}`);
      }
      const ts = performance.now();
      let r: Awaited<ReturnType<LoopSpec['step']>>;
      try {
        r = await ctx.exclusive(() => s.step());
      } catch (e) {
        if (e instanceof NonFiniteError) throw new TrainingError('non-finite', `${e.message}. Stopped; ${lastGood ? `the last good checkpoint is ${lastGood}` : 'no checkpoint was written yet (use a checkpoint interval)'}`);
        throw e;
      }
      const stepS = (performance.now() - ts) / 1000;
      active += stepS;
      const done = s.done();
      control.step = done;
      const line: StepLine = { ...r.line, step: done, tokens_per_s: r.line.tokens / stepS, step_s: stepS, elapsed_s: active };
      await store.appendMetrics(id, line);
      await r.extra?.();
      Object.assign(rec, { step: done, lastLoss: line.loss, updatedAt: Date.now() });
      await store.put(rec);
      // the step's checkpoint first, then its progress: a pause asked for once the page shows step n takes
      // effect after step n + 1 (the step in flight), not during the checkpoint of step n
      if (every > 0 && done % every === 0) await save();
      onProgress?.({ kind: 'step', line, totalSteps: s.totalSteps, etaSec: (active / (done - first)) * (s.totalSteps - done) });
    }
    // ---- the result: a PEFT adapter or an HF checkpoint (with the model's tokenizer files), plus trainer state ----
    const files = await filesNow();
    if (req.config.full) for (const f of ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'chat_template.jinja']) if (ctx.modelFiles.has(f)) files.set(f, ctx.modelFiles.get(f)!);
    const where = await store.saveResult(id, files);
    rec.hasResult = true;
    await finish('done');
    return { runId: id, steps: s.done(), lastLoss: rec.lastLoss, where, files: [...files.keys()].sort() };
  } catch (e) {
    if (!(e instanceof CancelledError)) await finish('failed', (e as Error).message).catch(() => undefined);
    throw e;
  }
}
