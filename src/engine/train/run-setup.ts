// What every kind of run does before its first step (GRPO, DPO and the reward model: rl/*-run.ts):
// the data (given, or kept with the run for a resume by run id), the default-deny gate and the refusal
// of a new run over an existing one, the parsed rows' report, the trainer (LoRA, from an initial PEFT
// adapter or PEFT's init, or every weight), and a resume checkpoint read, checked and restored.
import { GovernanceError, TrainingError } from '../errors.ts';
import type { TrainData, TrainProgress, TrainRequest } from '../api.ts';
import type { Runtime } from '../gpu/runtime.ts';
import type { LlamaModel } from '../model/llama.ts';
import type { RowProblem } from './data.ts';
import { loraKey, readAdapter, type LoraConfig } from './adapter.ts';
import { Trainer, type OptimConfig } from './trainer.ts';
import { firstNonFinite, readCheckpoint, type TrainerStateJson } from './state-files.ts';
import { memorySource } from './run-context.ts';
import type { Files, RunStore } from './run-store.ts';
import { sha256Hex } from '../util/sha256.ts';

/**
 * The run's data and its sha256, after the gate: the request's, or (resuming one of the run's own
 * checkpoints) the copy the store kept. GovernanceError unless its decision allows training;
 * TrainingError('run-exists') for a new run where one is stored. `rows` names what the data holds.
 */
export async function gatedData(store: RunStore, request: TrainRequest, rows: string): Promise<{ data: TrainData; sha256: string }> {
  const id = request.runId;
  let data = request.data;
  if (!data) {
    const rec = await store.get(id);
    const bytes = await store.readFile(id, 'data.jsonl');
    if (!request.resume || 'files' in request.resume || !rec || !bytes) throw new TrainingError('invalid', `run ${id}: no ${rows} given${request.resume ? ' and none kept with the run' : ''}`);
    data = { name: rec.data.name, text: new TextDecoder().decode(bytes), governance: rec.governance };
  }
  const gov = data.governance;
  if (!gov || !gov.allowed) throw new GovernanceError(`training refused: ${gov?.reason ?? `${data.name}: no governance decision for this data (default-deny)`}`);
  if (!request.resume) {
    const there = await store.occupied(id);
    if (there.length) throw new TrainingError('run-exists', `${store.where(id)} already holds a run (${there.slice(0, 4).join(', ')}${there.length > 4 ? ', …' : ''}); start the new run elsewhere, or resume this one from a checkpoint.`);
  }
  return { data, sha256: await sha256Hex(data.text) };
}

/**
 * Reports the parsed rows ('data' progress, the first 20 problems), refuses none usable (naming the first
 * problems), and keeps the data with a new run where the store does so (the browser).
 */
export async function acceptRows(
  store: RunStore, request: TrainRequest, data: TrainData, n: number, problems: RowProblem[], ms: number, noun: string, onProgress?: (p: TrainProgress) => void,
): Promise<void> {
  onProgress?.({ kind: 'data', rows: n, problems: problems.slice(0, 20), moreProblems: Math.max(0, problems.length - 20), fromCache: false, tokenizeMs: ms });
  if (n === 0) throw new TrainingError('no-data', `${data.name}: no usable ${noun}${problems.length ? ` (${problems[0].message}${problems.length > 1 ? `, and ${problems.length - 1} more` : ''})` : ''}`);
  if (store.keepsData && !request.resume) await store.saveFile(request.runId, 'data.jsonl', new TextEncoder().encode(data.text));
}

/** Every weight (full) or a LoRA adapter without dropout, from the request's initial adapter when it has one. */
export async function makeTrainer(rt: Runtime, model: LlamaModel, request: TrainRequest, optim: OptimConfig): Promise<{ trainer: Trainer; lora: LoraConfig | null }> {
  const c = request.config;
  if (c.full) return { trainer: Trainer.full(rt, model, optim), lora: null };
  const init = request.adapterInit ? await readAdapter(memorySource(request.adapterInit, 'adapter-init'), model.cfg) : null;
  const { r, alpha, targets } = c.lora;
  if (init && (init.cfg.r !== r || [...init.cfg.targets].sort().join() !== [...targets].sort().join())) {
    throw new TrainingError('invalid', `the initial adapter has r=${init.cfg.r} on ${init.cfg.targets.join(',')}; the run asks for r=${r} on ${targets.join(',')}`);
  }
  const lora: LoraConfig = { r, alpha, dropout: 0, targets: [...targets], layers: c.lora.layers ?? init?.cfg.layers ?? null };
  const trainer = Trainer.lora(rt, model, { r, alpha, targets, seed: c.seed, layers: lora.layers, init: init ? (l, t) => init.tensors.get(loraKey(l, t)) : undefined }, optim);
  return { trainer, lora };
}

/**
 * The request's resume checkpoint, read, checked (`mismatch` names a setting that differs; no NaN/Inf;
 * not already past `totalOptimizerSteps`) and restored into the trainer. `extra` reads the kind's own
 * files of the checkpoint (a reward head). Null when the request does not resume.
 */
export async function resumeFrom<X = undefined>(
  store: RunStore, request: TrainRequest, trainer: Trainer, totalOptimizerSteps: number,
  mismatch: (state: TrainerStateJson, extra: X | undefined) => string | null, extra?: (files: Files, where: string) => X,
): Promise<{ where: string; state: TrainerStateJson; extra: X | undefined } | null> {
  const r = request.resume;
  if (!r) return null;
  const where = 'files' in r ? r.where : store.where(request.runId, r.step);
  let ck: Awaited<ReturnType<typeof readCheckpoint>>;
  let x: X | undefined;
  try {
    const files = 'files' in r ? new Map(Object.entries(r.files)) : await store.readCheckpoint(request.runId, r.step);
    ck = await readCheckpoint(memorySource(files, where));
    x = extra?.(files, where);
  } catch (e) {
    throw new TrainingError('bad-checkpoint', `${where}: ${(e as Error).message}`);
  }
  const bad = mismatch(ck.state, x);
  if (bad) throw new TrainingError('resume-mismatch', `cannot resume from ${where}: ${bad}. Resume with the checkpoint's settings, or start a new run.`);
  const nan = firstNonFinite({ parameter: ck.params, exp_avg: ck.m, exp_avg_sq: ck.v });
  if (nan) throw new TrainingError('bad-checkpoint', `${where} holds a non-finite value (${nan}): use an earlier checkpoint`);
  if (ck.state.step >= totalOptimizerSteps) throw new TrainingError('invalid', `the checkpoint is at optimizer step ${ck.state.step} and the run has ${totalOptimizerSteps}: nothing to do`);
  trainer.importState(ck.state.step, ck, where);
  return { where, state: ck.state, extra: x };
}
