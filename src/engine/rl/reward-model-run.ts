// One reward-model run, the same in the browser worker and the CLI (LocalEngine.train calls it for a
// config of kind 'reward-model'; `lab reward-model` is a flag parser around that call): the
// governance gate, the rows (preference pairs or ratings), the train / held-out split, the LoRA or
// full trainer with the scalar head (./reward-model.ts), resume, the shared step loop (train/loop.ts)
// and what it keeps: metrics.jsonl (loss, train accuracy or RMSE, and the held-out numbers every
// checkpointEvery steps and at the end), checkpoints and the result — the checkpoint files (PEFT
// adapter or model, optimizer, trainer state) plus reward_head.safetensors, the head's float64
// optimizer state and reward_model.json (objective, base model, d_model, pooling, held-out numbers).
//
// Row forms (one JSON object per line, other keys ignored):
//   bradley-terry  {"prompt": str, "chosen": str, "rejected": str}
//   regression     {"prompt": str, "completion": str, "rating": number}
// A step takes batchSize rows of the training split (a stateless seeded shuffle per epoch, so a
// resume repeats it): one micro-batch per pair (B = 2), or per up to 4 ratings.
import { TrainingError } from '../errors.ts';
import type { RewardModelConfig, StepLine, TrainProgress, TrainRequest, TrainResult } from '../api.ts';
import type { LabTokenizer } from '../model/tokenizer.ts';
import { forEachJsonRow, promptIds, type RowProblem } from '../train/data.ts';
import type { LoraConfig } from '../train/adapter.ts';
import type { OptimConfig } from '../train/trainer.ts';
import { runLoop } from '../train/loop.ts';
import type { Files } from '../train/run-store.ts';
import type { TrainerStateJson } from '../train/state-files.ts';
import { checkSftConfig } from '../train/run.ts';
import type { RunContext, RunControl } from '../train/run-context.ts';
import { acceptRows, gatedData, makeTrainer, resumeFrom } from '../train/run-setup.ts';
import { Rng } from '../util/rng.ts';
import { hash32 } from '../util/hash32.ts';
import { stepPrompts } from './grpo.ts';
import {
  REWARD_HEAD_FILE, REWARD_HEAD_STATE_FILE, REWARD_MODEL_FILE, REWARD_OBJECTIVES, encodeCompletion, evaluateRewardModel, initRewardHead, readRewardHeadState,
  rewardBatch, rewardHeadFile, rewardHeadStateFile, rewardModelStep, type RewardBatch, type RewardHead, type RewardModelJson, type RewardObjective,
} from './reward-model.ts';

/** One usable row: a pair's two sequences (chosen, rejected), or one sequence with its rating. */
export interface RewardItem {
  line: number;
  seqs: number[][];
  rating?: number;
}

/** One reward-model step in metrics.jsonl: the SFT line's fields (loss = the objective) and the reward model's own. */
export type RewardModelStepLine = StepLine & {
  head_grad_norm: number;
  reward_mean: number;
  /** Bradley–Terry: the step's pair accuracy and mean margin r_c − r_r; regression: the step's RMSE */
  accuracy?: number;
  margin?: number;
  rmse?: number;
  /** on evaluation steps (every checkpointEvery and the last): the held-out numbers */
  heldout_accuracy?: number;
  heldout_rmse?: number;
  heldout_loss?: number;
};

const RATINGS_PER_BATCH = 4;
const str = (v: unknown): v is string => typeof v === 'string';

/** Parses and tokenizes the rows; unusable ones are reported as "file:line: what" and skipped. */
export function loadRewardData(text: string, tok: LabTokenizer, opts: { file: string; nCtx: number; objective: RewardObjective; eos: number | null }): { items: RewardItem[]; problems: RowProblem[] } {
  const items: RewardItem[] = [];
  const problems: RowProblem[] = [];
  const pairs = opts.objective === 'bradley-terry';
  forEachJsonRow(text, opts.file, problems, (r, line, bad) => {
    if (pairs && !(str(r.prompt) && str(r.chosen) && str(r.rejected))) return bad('expected a preference pair {"prompt","chosen","rejected"} (strings)');
    if (!pairs && !(str(r.prompt) && str(r.completion))) return bad('expected a rating {"prompt","completion","rating"}');
    if (!pairs && (typeof r.rating !== 'number' || !Number.isFinite(r.rating))) return bad(`"rating" must be a finite number, got ${JSON.stringify(r.rating)}`);
    const prompt = promptIds(tok, r.prompt as string);
    const seqs = (pairs ? [r.chosen, r.rejected] : [r.completion]).map((c) => [...prompt, ...encodeCompletion(tok, c as string, opts.eos)]);
    const long = seqs.find((s) => s.length > opts.nCtx);
    if (long) return bad(`${long.length} tokens exceed the model's context of ${opts.nCtx}`);
    items.push({ line, seqs, ...(pairs ? {} : { rating: r.rating as number }) });
  });
  return { items, problems };
}

/** A seeded split of n rows: round(heldOut · n) held out (at least 1 when heldOut > 0 and n ≥ 2), the rest trained on. */
export function splitRows(n: number, heldOut: number, seed: number): { train: number[]; held: number[] } {
  const perm = Array.from({ length: n }, (_, i) => i);
  const rng = new Rng(hash32((seed ^ 0x4e1d0) >>> 0));
  for (let j = n - 1; j > 0; j--) {
    const k = Math.floor(rng.next() * (j + 1));
    [perm[j], perm[k]] = [perm[k], perm[j]];
  }
  const k = heldOut > 0 && n >= 2 ? Math.min(n - 1, Math.max(1, Math.round(heldOut * n))) : 0;
  return { held: perm.slice(0, k).sort((a, b) => a - b), train: perm.slice(k) };
}

/** Micro-batches of some rows: one per pair, or up to 4 ratings each. */
export function batchesOf(items: readonly RewardItem[], objective: RewardObjective, pad: number): RewardBatch[] {
  if (objective === 'bradley-terry') return items.map((it) => rewardBatch(it.seqs, pad));
  const out: RewardBatch[] = [];
  for (let i = 0; i < items.length; i += RATINGS_PER_BATCH) {
    const part = items.slice(i, i + RATINGS_PER_BATCH);
    out.push(rewardBatch(part.map((it) => it.seqs[0]), pad, part.map((it) => it.rating!)));
  }
  return out;
}

const optimOf = (c: RewardModelConfig): OptimConfig => ({
  lr: c.lr, schedule: c.lrSchedule, warmupSteps: c.warmupSteps, totalSteps: c.steps, weightDecay: c.weightDecay,
  beta1: c.betas[0], beta2: c.betas[1], eps: c.eps, maxGradNorm: c.maxGradNorm, recompute: c.recompute,
});

/** What a resume must agree on: anything that changes the rows, the split or the updates. */
function resumeMismatch(s: TrainerStateJson, saved: RewardModelJson | null, c: RewardModelConfig, sha256: string, lora: LoraConfig | null): string | null {
  const o = s.optim as Partial<OptimConfig>;
  const now = optimOf(c);
  const checks: [string, unknown, unknown][] = [
    ['kind', s.kind ?? 'sft', 'reward-model'],
    ['objective', saved?.objective, c.rewardModel.objective],
    ['held-out share', saved?.held_out, c.rewardModel.heldOut],
    ['mode', s.mode, c.full ? 'full' : 'lora'],
    ['data (sha256)', s.data.sha256, sha256],
    ['seed', s.seed, c.seed],
    ['batch size', s.batchSize, c.batchSize],
    ...(['lr', 'schedule', 'warmupSteps', 'weightDecay', 'beta1', 'beta2', 'eps', 'maxGradNorm'] as const).map((k): [string, unknown, unknown] => [k, o[k], now[k]]),
  ];
  if (lora && s.lora) {
    checks.push(['LoRA rank', s.lora.r, lora.r], ['LoRA alpha', s.lora.alpha, lora.alpha], ['LoRA targets', [...s.lora.targets].sort().join(','), [...lora.targets].sort().join(',')]);
  }
  for (const [field, was, now2] of checks) if (was !== now2) return `${field}: the checkpoint has ${String(was)}, this run ${String(now2)}`;
  return null;
}

export async function runRewardModel(ctx: RunContext, request: TrainRequest & { config: RewardModelConfig }, control: RunControl, onProgress?: (p: TrainProgress) => void, signal?: AbortSignal): Promise<TrainResult> {
  const { store, model, rt } = ctx;
  const c = request.config;
  checkSftConfig(c);
  const { objective, heldOut } = c.rewardModel ?? ({} as RewardModelConfig['rewardModel']);
  if (!REWARD_OBJECTIVES.includes(objective)) throw new TrainingError('invalid', `the reward model's objective must be ${REWARD_OBJECTIVES.join(' or ')}, got ${objective}`);
  if (!(heldOut >= 0 && heldOut <= 0.5)) throw new TrainingError('invalid', `the held-out share must be in [0, 0.5], got ${heldOut}`);
  if (c.gradAccum !== 1) throw new TrainingError('invalid', 'a reward-model step is batchSize rows, one micro-batch per pair: set gradient accumulation to 1');
  if (c.lora.dropout && !c.full) throw new TrainingError('invalid', 'the reward model trains without LoRA dropout (the forward that reads the rewards and the backward must see one network): set it to 0');
  const tok = ctx.tokenizer;
  if (!tok) throw new TrainingError('invalid', 'the reward model needs the model\'s tokenizer (its rows are text)');
  const { data, sha256 } = await gatedData(store, request, 'rows');
  const t0 = performance.now();
  const eos = tok.eosTokenId ?? model.cfg.eos_token_ids[0] ?? null;
  const { items, problems } = loadRewardData(data.text, tok, { file: data.name, nCtx: model.cfg.n_ctx, objective, eos });
  const split = splitRows(items.length, heldOut, c.seed);
  await acceptRows(store, request, data, split.train.length ? items.length : 0, problems, performance.now() - t0, objective === 'bradley-terry' ? 'pair' : 'rating', onProgress);
  if (heldOut > 0 && split.held.length === 0) onProgress?.({ kind: 'warning', message: `${data.name}: ${items.length} row${items.length === 1 ? '' : 's'}: too few to hold any out; no held-out numbers` });

  // ---- trainable parameters and the head ----
  const { trainer, lora } = await makeTrainer(rt, model, request, optimOf(c));
  try {
    let head: RewardHead = initRewardHead(model.cfg.d_model, c.seed);
    let lastEval: { step: number; accuracy: number | null; rmse: number | null } | null = null;
    const resumed = await resumeFrom<{ json: RewardModelJson; head: RewardHead }>(store, request, trainer, c.steps, (state, saved) => resumeMismatch(state, saved?.json ?? null, c, sha256, lora), (files, where) => {
      for (const f of [REWARD_MODEL_FILE, REWARD_HEAD_STATE_FILE]) if (!files.has(f)) throw new Error(`${where}/${f}: missing (not a checkpoint of lab reward-model)`);
      return {
        json: JSON.parse(new TextDecoder().decode(files.get(REWARD_MODEL_FILE))) as RewardModelJson,
        head: readRewardHeadState(files.get(REWARD_HEAD_STATE_FILE)!, `${where}/${REWARD_HEAD_STATE_FILE}`, model.cfg.d_model),
      };
    });
    if (resumed?.extra) {
      head = resumed.extra.head;
      const saved = resumed.extra.json;
      if (saved.heldout_step !== null && saved.heldout_step !== undefined) lastEval = { step: saved.heldout_step, accuracy: saved.heldout_accuracy ?? null, rmse: saved.heldout_rmse ?? null };
    }
    const resumedFrom = resumed?.where ?? null;

    // ---- the loop ----
    const pad = tok.padTokenId ?? eos ?? 0;
    const train = split.train.map((i) => items[i]);
    const heldBatches = batchesOf(split.held.map((i) => items[i]), objective, pad);
    const P = c.batchSize;
    const json = (): RewardModelJson => ({
      schema: 'lab-reward-model-v1', objective, base_model: ctx.modelName, d_model: model.cfg.d_model, pooling: 'last', mode: c.full ? 'full' : 'lora',
      held_out: heldOut, train_rows: split.train.length, heldout_rows: split.held.length, step: trainer.step, heldout_step: lastEval?.step ?? null,
      ...(objective === 'bradley-terry' ? { heldout_accuracy: lastEval?.accuracy ?? null } : { heldout_rmse: lastEval?.rmse ?? null }),
    });
    const extra = (): Files => new Map([
      [REWARD_HEAD_FILE, rewardHeadFile(head)],
      [REWARD_HEAD_STATE_FILE, rewardHeadStateFile(head)],
      [REWARD_MODEL_FILE, new TextEncoder().encode(JSON.stringify(json(), null, 1))],
    ]);
    const headNonFinite = () => (head.params.every(Number.isFinite) ? null : 'the reward head');
    const what = objective === 'bradley-terry' ? `Bradley–Terry on pairs, ${P} pair${P > 1 ? 's' : ''}/step` : `regression on ratings, ${P} rating${P > 1 ? 's' : ''}/step`;
    const desc = `reward model (${what}, held out ${split.held.length} of ${items.length}), ${c.full ? 'full-parameter' : `LoRA r=${lora!.r} alpha=${lora!.alpha} on ${lora!.targets.join(',')}`} + a scalar head on the last token`;
    const every = c.checkpointEvery;
    return await runLoop({
      ctx, extraFiles: () => ({ files: extra(), nonFinite: headNonFinite() }), req: { ...request, data }, control, trainer, kind: 'reward-model',
      data: { name: data.name, sha256, rows: items.length }, totalSteps: c.steps, done: () => trainer.step, resumedFrom, description: desc, onProgress, signal,
      state: () => ({
        kind: 'reward-model', totalSteps: c.steps, cursor: { epoch: Math.floor((trainer.step * P) / train.length), index: trainer.step }, mode: c.full ? 'full' : 'lora', lora,
        optim: { ...optimOf(c) }, seed: c.seed, batchSize: P, gradAccum: 1, data: { file: data.name, rows: items.length, sha256 }, model: ctx.modelName,
      }),
      step: async () => {
        const picks = stepPrompts(train.length, trainer.step, P, c.seed);
        const batches = batchesOf(picks.map((p) => train[p.index]), objective, pad);
        const m = await rewardModelStep(trainer, head, batches, objective);
        const line: RewardModelStepLine = {
          step: m.step, epoch: picks[picks.length - 1].epoch, loss: m.loss, grad_norm: m.gradNorm, lr: m.lr, tokens: m.tokens, trained_tokens: batches.reduce((a, mb) => a + mb.B, 0), // the pooled (scored) positions
          tokens_per_s: 0, step_s: 0, elapsed_s: 0,
          head_grad_norm: m.headGradNorm, reward_mean: m.rewardMean,
          ...(m.accuracy !== null ? { accuracy: m.accuracy, margin: m.margin! } : { rmse: m.rmse! }),
        };
        if (heldBatches.length && ((every > 0 && m.step % every === 0) || m.step === c.steps)) {
          const ev = await evaluateRewardModel(trainer, head, heldBatches, objective);
          lastEval = { step: m.step, accuracy: ev.accuracy, rmse: ev.rmse };
          Object.assign(line, { heldout_loss: ev.loss, ...(ev.accuracy !== null ? { heldout_accuracy: ev.accuracy } : { heldout_rmse: ev.rmse! }) });
        }
        return { line };
      },
    });
  } finally {
    trainer.dispose();
  }
}
