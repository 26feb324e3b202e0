// One DPO run, the same in the browser worker and the CLI (LocalEngine.train calls it for a config of
// kind 'dpo'; `lab dpo` is a flag parser around that call): the governance gate, the pairs, the LoRA
// trainer (full-parameter DPO is refused: the reference is the model with the adapter off), the resume
// checks, and the shared step loop (train/loop.ts) with DPO's step. Each step takes `batchSize` pairs
// from a seeded, stateless shuffle (stepPrompts: a function of seed and step), so a resumed run trains on
// the pairs the uninterrupted run would; one DPO step is one optimizer step.
import { TrainingError } from '../errors.ts';
import type { DpoConfig, DpoSettings, TrainData, TrainProgress, TrainRequest, TrainResult } from '../api.ts';
import type { LoraConfig } from '../train/adapter.ts';
import type { Trainer, OptimConfig } from '../train/trainer.ts';
import { runLoop } from '../train/loop.ts';
import type { TrainerStateJson } from '../train/state-files.ts';
import { checkSftConfig } from '../train/run.ts';
import type { RunContext, RunControl } from '../train/run-context.ts';
import { acceptRows, gatedData, makeTrainer, resumeFrom } from '../train/run-setup.ts';
import { stepPrompts } from './grpo.ts';
import { dpoSettingsProblem, dpoStep, loadDpoData, type DpoEnv, type DpoPair, type DpoStepLine } from './dpo.ts';

/** A DPO checkpoint's trainer state: the shared fields plus the DPO settings a resume must agree on. */
type DpoStateJson = TrainerStateJson & { dpo?: DpoSettings };

const optimOf = (c: DpoConfig): OptimConfig => ({
  lr: c.lr, schedule: c.lrSchedule, warmupSteps: c.warmupSteps, totalSteps: c.steps, weightDecay: c.weightDecay,
  beta1: c.betas[0], beta2: c.betas[1], eps: c.eps, maxGradNorm: c.maxGradNorm, recompute: c.recompute,
});

/** What a resume must agree on: anything that changes the pairs of a step or the updates. */
function resumeMismatch(s: DpoStateJson, c: DpoConfig, sha256: string, lora: LoraConfig): string | null {
  const o = s.optim as Partial<OptimConfig>;
  const now = optimOf(c);
  const checks: [string, unknown, unknown][] = [
    ['kind', s.kind ?? 'sft', 'dpo'],
    ['mode', s.mode, 'lora'],
    ['data (sha256)', s.data.sha256, sha256],
    ['seed', s.seed, c.seed],
    ['pairs per step (batch size)', s.batchSize, c.batchSize],
    ['DPO settings', JSON.stringify(s.dpo), JSON.stringify({ beta: c.dpo.beta, labelSmoothing: c.dpo.labelSmoothing })],
    ...(['lr', 'schedule', 'warmupSteps', 'weightDecay', 'beta1', 'beta2', 'eps', 'maxGradNorm'] as const).map((k): [string, unknown, unknown] => [k, o[k], now[k]]),
  ];
  if (s.lora) checks.push(['LoRA rank', s.lora.r, lora.r], ['LoRA alpha', s.lora.alpha, lora.alpha], ['LoRA targets', [...s.lora.targets].sort().join(','), [...lora.targets].sort().join(',')]);
  for (const [field, was, now2] of checks) if (was !== now2) return `${field}: the checkpoint has ${String(was)}, this run ${String(now2)}`;
  return null;
}

export async function runDpo(ctx: RunContext, request: TrainRequest & { config: DpoConfig }, control: RunControl, onProgress?: (p: TrainProgress) => void, signal?: AbortSignal): Promise<TrainResult> {
  const { store, model, rt } = ctx;
  const c = request.config;
  if (c.gradAccum !== 1) throw new TrainingError('invalid', `DPO takes one optimizer step per batch of pairs: gradient accumulation must be 1, got ${c.gradAccum} (raise the batch size instead)`);
  checkSftConfig(c);
  const problem = dpoSettingsProblem(c.dpo, c.full);
  if (problem) throw new TrainingError('invalid', problem);
  if (c.lora.dropout) throw new TrainingError('invalid', 'DPO runs without LoRA dropout (the gradient\'s per-sequence weights come from a forward pass without it): set it to 0');
  const tok = ctx.tokenizer;
  if (!tok) throw new TrainingError('invalid', 'DPO needs the model\'s tokenizer (the pairs are text)');
  const { data, sha256 } = await gatedData(store, request, 'pairs');
  const t0 = performance.now();
  const { pairs, problems } = loadDpoData(data.text, tok, { file: data.name, nCtx: model.cfg.n_ctx, eosId: tok.eosTokenId ?? model.cfg.eos_token_ids[0] ?? null });
  await acceptRows(store, request, data, pairs.length, problems, performance.now() - t0, 'pair', onProgress);
  // ---- the adapter (new, or from an initial PEFT adapter; full-parameter DPO was refused above) ----
  const made = await makeTrainer(rt, model, request, optimOf(c));
  const trainer = made.trainer, lora = made.lora!;
  try {
    const resumed = await resumeFrom(store, request, trainer, c.steps, (state) => resumeMismatch(state, c, sha256, lora));
    const resumedFrom = resumed?.where ?? null;
    return await loop(ctx, { ...request, data }, c, control, trainer, lora, { pairs, sha256, resumedFrom }, onProgress, signal);
  } finally {
    trainer.dispose();
    model.adapter = null;
  }
}

async function loop(
  ctx: RunContext, req: TrainRequest & { data: TrainData }, c: DpoConfig, control: RunControl, trainer: Trainer, lora: LoraConfig,
  d: { pairs: DpoPair[]; sha256: string; resumedFrom: string | null },
  onProgress: ((p: TrainProgress) => void) | undefined, signal: AbortSignal | undefined,
): Promise<TrainResult> {
  const P = c.batchSize;
  const n = d.pairs.length;
  const done = () => trainer.step; // one optimizer step per DPO step
  const env: DpoEnv = { trainer };
  const desc = `DPO (sigmoid), LoRA r=${lora.r} alpha=${lora.alpha} on ${lora.targets.join(',')}, reference = adapter off, ${P} pair${P > 1 ? 's' : ''}/step, β=${c.dpo.beta}, label smoothing ${c.dpo.labelSmoothing}`;
  return runLoop({
    ctx, req, control, trainer, kind: 'dpo', data: { name: req.data.name, sha256: d.sha256, rows: n }, totalSteps: c.steps, done,
    resumedFrom: d.resumedFrom, description: desc, onProgress, signal,
    state: () => {
      const st: Omit<DpoStateJson, 'schema' | 'step'> = {
        kind: 'dpo', totalSteps: c.steps, cursor: { epoch: Math.floor((done() * P) / n), index: done() }, mode: 'lora', lora,
        optim: { ...optimOf(c) }, seed: c.seed, batchSize: P, gradAccum: 1, dpo: { beta: c.dpo.beta, labelSmoothing: c.dpo.labelSmoothing },
        data: { file: req.data.name, rows: n, sha256: d.sha256 }, model: ctx.modelName,
      };
      return st;
    },
    step: async () => {
      const step = done();
      const picks = stepPrompts(n, step, P, c.seed);
      const r = await dpoStep(env, picks.map((p) => d.pairs[p.index]), step, c.dpo);
      const line: DpoStepLine = { step: step + 1, epoch: picks[picks.length - 1].epoch, ...r.stats, tokens_per_s: 0, step_s: 0, elapsed_s: 0 };
      return { line };
    },
  });
}
