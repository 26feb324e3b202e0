// One SFT run, the same in the browser worker and the CLI (LocalEngine.train calls it; `lab sft` is
// a flag parser around that call): governance gate, data rows (with the tokenized-rows cache),
// LoRA or full trainer, resume with its checks, the step loop with pause / resume / cancel, and
// everything it keeps through a RunStore (./run-store.ts): the run record, metrics lines,
// checkpoints (whole or not at all) and the result (a PEFT adapter, or an HF checkpoint).
//
// Cancel (the AbortSignal) takes effect after the step in flight: that step is written as a
// checkpoint and the run ends with CancelledError naming it, so it can be resumed exactly.
import { GovernanceError, TrainingError } from '../errors.ts';
import type { SftConfig, TrainData, TrainProgress, TrainRequest, TrainResult } from '../api.ts';
import { loadSftData, type SftData } from './data.ts';
import { decodeRowCache, encodeRowCache, rowCacheKey } from './row-cache.ts';
import { DataCursor } from './batches.ts';
import { LORA_TARGETS, loraKey, readAdapter, type LoraConfig } from './adapter.ts';
import { Trainer, type OptimConfig } from './trainer.ts';
import { runLoop } from './loop.ts';
import { memorySource, type RunContext, type RunControl } from './run-context.ts';
export { memorySource, RunControl, type RunContext } from './run-context.ts';
import { checkLrSchedule } from './schedule.ts';
import { firstNonFinite, readCheckpoint, type TrainerStateJson } from './state-files.ts';
import type { RunStore } from './run-store.ts';
import { sha256Hex } from '../util/sha256.ts';

export const DEFAULT_SFT: SftConfig = {
  full: false,
  lora: { r: 16, alpha: 32, dropout: 0, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] },
  steps: 100, lr: 2e-4, lrSchedule: 'linear', warmupSteps: 0, weightDecay: 0, betas: [0.9, 0.999], eps: 1e-8, maxGradNorm: 1,
  batchSize: 1, gradAccum: 1, seed: 0, checkpointEvery: 0, recompute: false,
};

/** Throws TrainingError('invalid') naming the first bad setting. */
export function checkSftConfig(c: SftConfig): void {
  const bad = (m: string) => new TrainingError('invalid', m);
  for (const k of ['steps', 'batchSize', 'gradAccum'] as const) if (!Number.isInteger(c[k]) || c[k] < 1) throw bad(`${k} must be a positive integer, got ${c[k]}`);
  if (!Number.isInteger(c.checkpointEvery) || c.checkpointEvery < 0) throw bad(`checkpointEvery must be an integer >= 0, got ${c.checkpointEvery}`);
  if (!Number.isInteger(c.seed) || c.seed < 0) throw bad(`seed must be an integer >= 0, got ${c.seed}`);
  try {
    checkLrSchedule({ lr: c.lr, schedule: c.lrSchedule, warmupSteps: c.warmupSteps, totalSteps: c.steps });
  } catch (e) {
    throw bad((e as Error).message);
  }
  if (c.betas.length !== 2 || c.betas.some((b) => !(b >= 0 && b < 1))) throw bad(`betas must be two numbers in [0, 1), got ${c.betas.join(',')}`);
  if (!(c.eps > 0)) throw bad(`eps must be > 0, got ${c.eps}`);
  if (!(c.maxGradNorm >= 0)) throw bad('maxGradNorm must be >= 0 (0 = no clipping)');
  if (!(c.weightDecay >= 0)) throw bad(`weightDecay must be >= 0, got ${c.weightDecay}`);
  if (!c.full) {
    const { r, alpha, dropout, targets } = c.lora;
    if (!Number.isInteger(r) || r < 1) throw bad(`LoRA rank must be a positive integer, got ${r}`);
    if (!(alpha > 0)) throw bad(`LoRA alpha must be > 0, got ${alpha}`);
    if (!(dropout >= 0 && dropout < 1)) throw bad(`LoRA dropout must be in [0, 1), got ${dropout}`);
    if (targets.length === 0) throw bad('LoRA needs at least one target module');
    const t = targets.find((x) => !LORA_TARGETS.includes(x));
    if (t) throw bad(`LoRA target "${t}" is not one of ${LORA_TARGETS.join(', ')}`);
  }
}

const optimOf = (c: SftConfig): OptimConfig => ({
  lr: c.lr, schedule: c.lrSchedule, warmupSteps: c.warmupSteps, totalSteps: c.steps, weightDecay: c.weightDecay,
  beta1: c.betas[0], beta2: c.betas[1], eps: c.eps, maxGradNorm: c.maxGradNorm, recompute: c.recompute,
});

/** The fields a resume must agree on (the issue: other data, batch size, seed or optimizer settings make other losses). */
function resumeMismatch(s: TrainerStateJson, c: SftConfig, data: { sha256: string; rows: number }, lora: LoraConfig | null): string | null {
  const o = s.optim as Partial<OptimConfig>;
  const checks: [string, unknown, unknown][] = [
    ['mode', s.mode, c.full ? 'full' : 'lora'],
    ['data (sha256)', s.data.sha256 ?? data.sha256, data.sha256],
    ['data rows', s.data.rows, data.rows],
    ['batch size', s.batchSize, c.batchSize],
    ['gradient accumulation', s.gradAccum, c.gradAccum],
    ['seed', s.seed, c.seed],
    ['learning rate', o.lr, c.lr],
    ['lr schedule', o.schedule, c.lrSchedule],
    ['warmup steps', o.warmupSteps, c.warmupSteps],
    ['weight decay', o.weightDecay, c.weightDecay],
    ['betas', `${o.beta1},${o.beta2}`, `${c.betas[0]},${c.betas[1]}`],
    ['eps', o.eps, c.eps],
    ['max grad norm', o.maxGradNorm, c.maxGradNorm],
  ];
  if (lora && s.lora) {
    checks.push(['LoRA rank', s.lora.r, lora.r], ['LoRA alpha', s.lora.alpha, lora.alpha], ['LoRA dropout', s.lora.dropout, lora.dropout]);
    checks.push(['LoRA targets', [...s.lora.targets].sort().join(','), [...lora.targets].sort().join(',')]);
  }
  for (const [field, was, now] of checks) if (was !== now) return `${field}: the checkpoint has ${String(was)}, this run ${String(now)}`;
  return null;
}

/** Tokenized rows of `text`, through the store's row cache when it has one. */
async function loadRows(ctx: RunContext, req: WithData, sha256: string): Promise<{ data: SftData; fromCache: boolean; ms: number }> {
  const cfg = ctx.model.cfg;
  const opts = { file: req.data.name, maxLength: cfg.n_ctx, vocabSize: cfg.d_vocab };
  const tok = ['tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja'].map((f) => ctx.modelFiles.get(f) ?? null);
  const key = await rowCacheKey(sha256, tok, opts);
  const { store } = ctx;
  const t0 = performance.now();
  const bytes = store.readRowCache ? await store.readRowCache(req.runId, key) : null;
  const cached = bytes ? decodeRowCache(bytes, key) : null;
  if (cached) return { data: cached, fromCache: true, ms: performance.now() - t0 };
  let data: SftData;
  try {
    data = loadSftData(req.data.text, ctx.tokenizer, opts);
  } catch (e) {
    throw new TrainingError('no-data', (e as Error).message);
  }
  if (store.writeRowCache && data.examples.length >= (store.rowCacheMinRows ?? 10_000)) await store.writeRowCache(req.runId, key, encodeRowCache(key, data));
  return { data, fromCache: false, ms: performance.now() - t0 };
}

/** The data a run kept (store.keepsData) and the decision it was trained under, for a resume that names only the run. */
async function storedData(store: RunStore, req: TrainRequest): Promise<TrainData> {
  const rec = await store.get(req.runId);
  const bytes = await store.readFile(req.runId, 'data.jsonl');
  if (!req.resume || 'files' in req.resume || !rec || !bytes) throw new TrainingError('invalid', `run ${req.runId}: no training data given${req.resume ? ' and none kept with the run' : ''}`);
  return { name: rec.data.name, text: new TextDecoder().decode(bytes), governance: rec.governance };
}

/** A request with its data (given, or kept with the run). */
type WithData = TrainRequest & { data: TrainData };

export async function runSft(ctx: RunContext, request: TrainRequest, control: RunControl, onProgress?: (p: TrainProgress) => void, signal?: AbortSignal): Promise<TrainResult> {
  const { store, model, rt } = ctx;
  const c = request.config;
  const id = request.runId;
  checkSftConfig(c);
  const req: WithData = { ...request, data: request.data ?? (await storedData(store, request)) };
  // ---- the gate first: refused data costs nothing else ----
  const gov = req.data.governance;
  if (!gov || !gov.allowed) throw new GovernanceError(`training refused: ${gov?.reason ?? `${req.data.name}: no governance decision for this data (default-deny)`}`);
  if (!req.resume) {
    const there = await store.occupied(id);
    if (there.length) {
      throw new TrainingError('run-exists', `${store.where(id)} already holds a run (${there.slice(0, 4).join(', ')}${there.length > 4 ? ', …' : ''}); a new run there would destroy it. Start the new run elsewhere (another --out, or a new run in the page), or continue this one from one of its checkpoints (lab sft --resume <checkpoint folder>, or Resume on the Runs page).`);
    }
  }
  const sha256 = await sha256Hex(req.data.text);
  const { data, fromCache, ms } = await loadRows(ctx, req, sha256);
  if (store.keepsData && !req.resume) await store.saveFile(req.runId, 'data.jsonl', new TextEncoder().encode(req.data.text));
  onProgress?.({ kind: 'data', rows: data.examples.length, problems: data.problems.slice(0, 20), moreProblems: Math.max(0, data.problems.length - 20), fromCache, tokenizeMs: ms });

  // ---- trainable parameters ----
  let lora: LoraConfig | null = null;
  let trainer: Trainer;
  if (c.full) trainer = Trainer.full(rt, model, optimOf(c));
  else {
    const init = req.adapterInit ? await readAdapter(memorySource(req.adapterInit, 'adapter-init'), model.cfg) : null;
    const { r, alpha, dropout, targets } = c.lora;
    if (init && (init.cfg.r !== r || [...init.cfg.targets].sort().join() !== [...targets].sort().join())) {
      throw new TrainingError('invalid', `the initial adapter has r=${init.cfg.r} on ${init.cfg.targets.join(',')}; the run asks for r=${r} on ${targets.join(',')}`);
    }
    lora = { r, alpha, dropout, targets: [...targets], layers: c.lora.layers ?? init?.cfg.layers ?? null };
    trainer = Trainer.lora(rt, model, { r, alpha, targets, seed: c.seed, layers: lora.layers, dropout, init: init ? (l, t) => init.tensors.get(loraKey(l, t)) : undefined }, optimOf(c));
  }
  try {
    return await trainLoop(ctx, req, control, trainer, lora, data, sha256, onProgress, signal);
  } finally {
    trainer.dispose();
  }
}

async function trainLoop(
  ctx: RunContext, req: WithData, control: RunControl, trainer: Trainer, lora: LoraConfig | null, data: SftData, sha256: string,
  onProgress: ((p: TrainProgress) => void) | undefined, signal: AbortSignal | undefined,
): Promise<TrainResult> {
  const { store } = ctx;
  const c = req.config;
  const id = req.runId;
  const dataRef = { name: req.data.name, sha256, rows: data.examples.length };
  // ---- resume: the checkpoint must be finite and made with this data and these settings ----
  let cursorState = { epoch: 0, index: 0 };
  let resumedFrom: string | null = null;
  if (req.resume) {
    const where = 'files' in req.resume ? req.resume.where : store.where(id, req.resume.step);
    let ck: Awaited<ReturnType<typeof readCheckpoint>>;
    try {
      const files = 'files' in req.resume ? new Map(Object.entries(req.resume.files)) : await store.readCheckpoint(id, req.resume.step);
      ck = await readCheckpoint(memorySource(files, where));
    } catch (e) {
      throw new TrainingError('bad-checkpoint', `${where}: ${(e as Error).message}`);
    }
    const mismatch = resumeMismatch(ck.state, c, dataRef, lora);
    if (mismatch) throw new TrainingError('resume-mismatch', `cannot resume from ${where}: ${mismatch}. Resume with the checkpoint's settings, or start a new run.`);
    const nan = firstNonFinite({ parameter: ck.params, exp_avg: ck.m, exp_avg_sq: ck.v });
    if (nan) throw new TrainingError('bad-checkpoint', `${where} holds a non-finite value (${nan}): it cannot be resumed from; use an earlier checkpoint`);
    if (ck.state.step >= c.steps) throw new TrainingError('invalid', `the checkpoint is at step ${ck.state.step} and the run has ${c.steps} steps: nothing to do`);
    if (ck.state.totalSteps !== c.steps) onProgress?.({ kind: 'warning', message: `the checkpoint's run had ${ck.state.totalSteps} steps, this one ${c.steps}: the learning-rate schedule changes from here` });
    trainer.importState(ck.state.step, ck, where);
    cursorState = ck.state.cursor;
    resumedFrom = where;
  }
  const padId = ctx.tokenizer?.padTokenId ?? ctx.tokenizer?.eosTokenId ?? 0;
  const cursor = new DataCursor(data.examples, { batchSize: c.batchSize, gradAccum: c.gradAccum, seed: c.seed, shuffle: true, padId }, cursorState);
  const desc = c.full ? 'full-parameter' : `LoRA r=${lora!.r} alpha=${lora!.alpha}${lora!.dropout ? ` dropout=${lora!.dropout}` : ''} on ${lora!.targets.join(',')}`;
  return runLoop({
    ctx, req, control, trainer, kind: 'sft', data: dataRef, totalSteps: c.steps, done: () => trainer.step, resumedFrom, description: desc, onProgress, signal,
    state: () => ({
      totalSteps: c.steps, cursor: cursor.state(), mode: c.full ? 'full' : 'lora', lora, optim: { ...optimOf(c) }, seed: c.seed, batchSize: c.batchSize, gradAccum: c.gradAccum,
      data: { file: req.data.name, rows: data.examples.length, sha256 }, model: ctx.modelName,
    }),
    step: async () => {
      const { micro, epoch } = cursor.nextStep();
      const m = await trainer.trainStep(micro);
      return { line: { step: m.step, epoch, loss: m.loss, grad_norm: m.gradNorm, lr: m.lr, tokens: m.tokens, trained_tokens: m.trainedTokens, tokens_per_s: 0, step_s: 0, elapsed_s: 0 } };
    },
  });
}
