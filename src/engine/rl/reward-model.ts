// A learned reward model (issue 11 item 5): a scalar head r = v·h + b on the pooled last hidden state
// h = ln_final's output (TransformerLens ln_final.hook_normalized) at the last real token of each
// sequence, with LoRA (or every weight) trained under it; saved like an adapter, scored in pure TS.
//
// Legend: B rows of a micro-batch, T positions, N = B·T, C = d_model, P pairs (or ratings) of a step.
//
// Semantics follow TRL's RewardTrainer (trl/trainer/reward_trainer.py at f2cd5771, compute_loss):
//   Bradley–Terry  loss = −logsigmoid(r_chosen − r_rejected).mean()   (no margin column, no
//                  center_rewards_coefficient: TRL's defaults), accuracy = mean(r_chosen > r_rejected);
//   and transformers' *ForSequenceClassification: the score is read at the last token of the final
//   norm's output (here always the appended EOS; transformers skips tokens equal to pad_token_id, so
//   where pad = eos it reads the token before). Ratings: num_labels = 1 'regression', MSE loss.
// The sequence is the prompt rendered as GRPO renders it (chat template + generation prompt, or
// qaPrompt) followed by the completion encoded without special tokens and EOS (TRL appends EOS where
// the text lacks it): exactly what a GRPO rollout is, so the reward model scores rollouts as trained.
//
// The head: v [C] and b, C + 1 numbers kept on the host in float64 with their own AdamW (torch's
// equations (util/adamw-host.ts, checked against shaders/adamw.ref.ts); the trainer's lr schedule, betas, eps; weight decay on v, not on b,
// Trainer's rule for biases). transformers' score layer has no bias; b is kept for ratings (under
// Bradley–Terry its gradient is exactly 0, so it stays 0). Init v ~ N(0, 0.02²) (initializer_range),
// b = 0. Clipping: the trainer's parameters are clipped by their own norm on the GPU (headStep) and
// the head by its own norm here; transformers clips one global norm over both (a difference only
// while clipping is active).
//
// One step (rewardModelStep): pass 1 runs the forward only (graph.hidden) and reads back the pooled
// rows [B, C] → r, loss, dL/dr, dv = Σ dL/dr_i · h_i, db = Σ dL/dr_i; pass 2 is trainer.headStep with
// dxf = zeros [N, C] but row last_i = dL/dr_i · v, so the gradient flows into the LoRA (or full)
// parameters; then the head's AdamW. LoRA dropout must be 0 (the two passes must see one network).
import type { Tensor } from '../gpu/tensor.ts';
import type { LlamaModel } from '../model/llama.ts';
import { HOOKS } from '../model/llama.ts';
import type { LabTokenizer } from '../model/tokenizer.ts';
import type { FileSource } from '../model/checkpoint.ts';
import { CheckpointError, readSafetensors, writeSafetensors } from '../model/safetensors.ts';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, adapterSlots, readAdapter, type AdapterFiles } from '../train/adapter.ts';
import type { MicroBatch } from '../train/graph.ts';
import { NonFiniteError, type Trainer } from '../train/trainer.ts';
import { adamwHost } from '../util/adamw-host.ts';
import { Rng } from '../util/rng.ts';
import { hash32 } from '../util/hash32.ts';

export type RewardObjective = 'bradley-terry' | 'regression';
export const REWARD_OBJECTIVES: readonly RewardObjective[] = ['bradley-terry', 'regression'];
export const REWARD_HEAD_FILE = 'reward_head.safetensors';
export const REWARD_HEAD_STATE_FILE = 'reward_head_optimizer.safetensors';
export const REWARD_MODEL_FILE = 'reward_model.json';

// ---- losses (float64) ------------------------------------------------------------------------

/** log σ(x), stable for any x: min(x, 0) − log1p(e^−|x|). */
export const logSigmoid = (x: number): number => Math.min(x, 0) - Math.log1p(Math.exp(-Math.abs(x)));
const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

/** TRL's loss on P pairs: mean −logσ(rc − rr), with dL/drc = −σ(rr − rc)/P = −dL/drr. */
export function bradleyTerryLoss(rc: ArrayLike<number>, rr: ArrayLike<number>): { loss: number; dChosen: Float64Array; dRejected: Float64Array; accuracy: number; margin: number } {
  const P = rc.length;
  const dChosen = new Float64Array(P), dRejected = new Float64Array(P);
  let loss = 0, right = 0, margin = 0;
  for (let i = 0; i < P; i++) {
    const d = rc[i] - rr[i];
    loss -= logSigmoid(d) / P;
    dChosen[i] = -sigmoid(-d) / P;
    dRejected[i] = -dChosen[i];
    if (rc[i] > rr[i]) right++;
    margin += d / P;
  }
  return { loss, dChosen, dRejected, accuracy: right / P, margin };
}

/** MSE on n ratings: mean (r − y)², dL/dr = 2(r − y)/n; rmse = √loss. */
export function regressionLoss(r: ArrayLike<number>, y: ArrayLike<number>): { loss: number; dR: Float64Array; rmse: number } {
  const n = r.length;
  const dR = new Float64Array(n);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    loss += (r[i] - y[i]) ** 2 / n;
    dR[i] = (2 * (r[i] - y[i])) / n;
  }
  return { loss, dR, rmse: Math.sqrt(loss) };
}

// ---- the head -------------------------------------------------------------------------------

/** v and b as one float64 vector [C + 1] (v, then b) with AdamW's moments. */
export interface RewardHead {
  C: number;
  params: Float64Array; // [C + 1]
  expAvg: Float64Array; // [C + 1]
  expAvgSq: Float64Array; // [C + 1]
}

export function initRewardHead(C: number, seed: number): RewardHead {
  const params = new Float64Array(C + 1);
  params.set(new Rng(hash32((seed ^ 0x5eed) >>> 0)).normal(C, 0.02)); // v ~ N(0, 0.02²), b = 0
  return { C, params, expAvg: new Float64Array(C + 1), expAvgSq: new Float64Array(C + 1) };
}

/** r = v·h + b for one pooled row h [C]. */
export function rewardOf(head: RewardHead, h: ArrayLike<number>): number {
  let r = head.params[head.C];
  for (let i = 0; i < head.C; i++) r += head.params[i] * h[i];
  return r;
}

/** One AdamW step of the head (clipped by its own norm when maxGradNorm > 0); returns the gradient's norm. */
export function headAdamW(head: RewardHead, g: Float64Array, o: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; maxGradNorm: number; step: number }): number {
  const norm = Math.sqrt(g.reduce((a, x) => a + x * x, 0));
  const coef = o.maxGradNorm > 0 ? Math.min(1, o.maxGradNorm / (norm + 1e-6)) : 1; // clip_grad_norm_
  const C = head.C;
  for (const [lo, hi, wd] of [[0, C, o.weightDecay], [C, C + 1, 0]] as const) {
    adamwHost(head.params.subarray(lo, hi), g.subarray(lo, hi), head.expAvg.subarray(lo, hi), head.expAvgSq.subarray(lo, hi), coef, { ...o, weightDecay: wd });
  }
  return norm;
}

// ---- micro-batches and the step -----------------------------------------------------------------

/** Rows right-padded to T; Bradley–Terry: row 0 chosen, row 1 rejected; regression: `ratings` [B]. */
export interface RewardBatch extends MicroBatch {
  /** [B] each row's pooled position b·T + (its length − 1) */
  last: Int32Array;
  ratings?: Float64Array;
}

export function rewardBatch(seqs: readonly (readonly number[])[], pad: number, ratings?: readonly number[]): RewardBatch {
  const B = seqs.length;
  const T = Math.max(...seqs.map((s) => s.length));
  if (B === 0 || T === 0) throw new Error('reward batch: no tokens');
  const ids = new Int32Array(B * T).fill(pad); // [B, T]
  const last = new Int32Array(B);
  seqs.forEach((s, b) => {
    ids.set(s, b * T);
    last[b] = b * T + s.length - 1;
  });
  return { ids, labels: new Int32Array(B * T).fill(-100), B, T, last, ...(ratings ? { ratings: Float64Array.from(ratings) } : {}) };
}

/** Pass 1: ln_final's output at each row's pooled position, [B][C] in float64 (the trainer's adapter on, no dropout). */
export async function pooledHidden(trainer: Trainer, mb: RewardBatch): Promise<Float64Array[]> {
  const { rt } = trainer;
  const C = trainer.model.cfg.d_model;
  const xf = trainer.graph.hidden(mb, trainer.lora); // [N, C]
  const rows = rt.empty([mb.B, C], 'f32', 'reward.pooled'); // [B, C]
  for (let b = 0; b < mb.B; b++) rt.copy(xf, mb.last[b] * C, rows, b * C, C);
  xf.dispose();
  const host = (await rt.read(rows)) as Float32Array;
  rows.dispose();
  return Array.from({ length: mb.B }, (_, b) => Float64Array.from(host.subarray(b * C, (b + 1) * C)));
}

/** The objective on a step's (or held-out set's) rewards r[k][b]: loss, dL/dr in the same layout, accuracy or rmse. */
export function objectiveOf(objective: RewardObjective, batches: readonly RewardBatch[], r: readonly Float64Array[]): { loss: number; dR: Float64Array[]; accuracy: number | null; rmse: number | null; margin: number | null } {
  if (objective === 'bradley-terry') {
    if (batches.some((mb) => mb.B !== 2)) throw new Error('Bradley–Terry batches hold one pair: 2 rows (chosen, rejected)');
    const bt = bradleyTerryLoss(r.map((x) => x[0]), r.map((x) => x[1]));
    return { loss: bt.loss, dR: r.map((_, k) => Float64Array.of(bt.dChosen[k], bt.dRejected[k])), accuracy: bt.accuracy, rmse: null, margin: bt.margin };
  }
  const y = batches.flatMap((mb) => {
    if (!mb.ratings || mb.ratings.length !== mb.B) throw new Error('regression batches need one rating per row');
    return [...mb.ratings];
  });
  const reg = regressionLoss(r.flatMap((x) => [...x]), y);
  let at = 0;
  const dR = r.map((x) => reg.dR.slice(at, (at += x.length)));
  return { loss: reg.loss, dR, accuracy: null, rmse: reg.rmse, margin: null };
}

export interface RewardStepResult {
  /** optimizer steps done, after this one */
  step: number;
  loss: number;
  /** the trainer's parameters' gradient norm (before clipping), and the head's */
  gradNorm: number;
  headGradNorm: number;
  lr: number;
  tokens: number;
  accuracy: number | null;
  rmse: number | null;
  margin: number | null;
  rewardMean: number;
}

/** One optimizer step of the reward model over a step's micro-batches (module comment: pass 1, pass 2, head AdamW). */
export async function rewardModelStep(trainer: Trainer, head: RewardHead, batches: readonly RewardBatch[], objective: RewardObjective): Promise<RewardStepResult> {
  const { rt, optim } = trainer;
  const C = head.C;
  if (trainer.lora?.dropout) throw new Error('reward model: LoRA dropout must be 0 (both passes must see the same network)');
  const hs: Float64Array[][] = [];
  for (const mb of batches) hs.push(await pooledHidden(trainer, mb)); // [k][b][C]
  const r = hs.map((rows) => Float64Array.from(rows, (h) => rewardOf(head, h)));
  const o = objectiveOf(objective, batches, r);
  const g = new Float64Array(C + 1); // [dv, db]
  hs.forEach((rows, k) => rows.forEach((h, b) => {
    const d = o.dR[k][b];
    for (let i = 0; i < C; i++) g[i] += d * h[i];
    g[C] += d;
  }));
  const headNorm = Math.sqrt(g.reduce((a, x) => a + x * x, 0));
  if (!Number.isFinite(o.loss) || !Number.isFinite(headNorm)) throw new NonFiniteError(trainer.step + 1, o.loss, headNorm);
  const v32 = Float32Array.from(head.params.subarray(0, C));
  const m = await trainer.headStep(batches, (k, xf) => {
    const mb = batches[k];
    const dxf = new Float32Array(mb.B * mb.T * C); // [N, C] zeros but the pooled rows
    for (let b = 0; b < mb.B; b++) for (let i = 0; i < C; i++) dxf[mb.last[b] * C + i] = o.dR[k][b] * v32[i];
    return rt.upload(dxf, xf.shape, 'f32', 'reward.dxf');
  }, o.loss);
  headAdamW(head, g, { lr: m.lr, beta1: optim.beta1, beta2: optim.beta2, eps: optim.eps, weightDecay: optim.weightDecay, maxGradNorm: optim.maxGradNorm, step: m.step });
  const all = r.flatMap((x) => [...x]);
  return { step: m.step, loss: o.loss, gradNorm: m.gradNorm, headGradNorm: headNorm, lr: m.lr, tokens: m.tokens, accuracy: o.accuracy, rmse: o.rmse, margin: o.margin, rewardMean: all.reduce((a, x) => a + x, 0) / all.length };
}

/** The objective on held-out batches (forward only): pair accuracy (share with r_c > r_r) or RMSE. */
export async function evaluateRewardModel(trainer: Trainer, head: RewardHead, batches: readonly RewardBatch[], objective: RewardObjective): Promise<{ loss: number; accuracy: number | null; rmse: number | null; rewards: Float64Array[] }> {
  const r: Float64Array[] = [];
  for (const mb of batches) r.push(Float64Array.from(await pooledHidden(trainer, mb), (h) => rewardOf(head, h)));
  const o = objectiveOf(objective, batches, r);
  return { loss: o.loss, accuracy: o.accuracy, rmse: o.rmse, rewards: r };
}

// ---- files ------------------------------------------------------------------------------------

/** reward_model.json: what the head means and how it did on the held-out rows. */
export interface RewardModelJson {
  schema: 'lab-reward-model-v1';
  objective: RewardObjective;
  base_model: string;
  d_model: number;
  pooling: 'last';
  /** 'lora': the PEFT adapter beside this file; 'full': the folder is the whole fine-tuned model */
  mode: 'lora' | 'full';
  held_out: number;
  train_rows: number;
  heldout_rows: number;
  /** the optimizer step of the files, and of the held-out numbers (null: not evaluated yet) */
  step: number;
  heldout_step: number | null;
  heldout_accuracy?: number | null;
  heldout_rmse?: number | null;
}

const f32t = (name: string, a: Float32Array) => ({ name, dtype: 'F32' as const, shape: [a.length], data: new Uint8Array(a.buffer, a.byteOffset, a.byteLength) });
const f64t = (name: string, a: Float64Array) => ({ name, dtype: 'F64' as const, shape: [a.length], data: new Uint8Array(a.buffer, a.byteOffset, a.byteLength) });

/** reward_head.safetensors: "v" [C] and "b" [1], f32 (the head as a user takes it away). */
export function rewardHeadFile(head: RewardHead): Uint8Array {
  return writeSafetensors([f32t('b', Float32Array.of(head.params[head.C])), f32t('v', Float32Array.from(head.params.subarray(0, head.C)))], { format: 'pt' });
}

/** reward_head_optimizer.safetensors (checkpoints): the float64 head and its AdamW moments, so a resume repeats exactly. */
export function rewardHeadStateFile(head: RewardHead): Uint8Array {
  return writeSafetensors([f64t('exp_avg', head.expAvg), f64t('exp_avg_sq', head.expAvgSq), f64t('param', head.params)], { format: 'lab-reward-head' });
}

export function readRewardHeadState(bytes: Uint8Array, file: string, C: number): RewardHead {
  const t = readSafetensors(bytes, file);
  const get = (name: string): Float64Array => {
    const x = t.get(name);
    if (!x) throw new CheckpointError(file, 'missing', name);
    if (x.info.dtype !== 'F64' || x.info.shape.length !== 1 || x.info.shape[0] !== C + 1) throw new CheckpointError(file, `expected F64 [${C + 1}] (d_model + 1), got ${x.info.dtype} [${x.info.shape}]`, name);
    const a = new Float64Array(x.data.slice().buffer);
    const bad = a.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new CheckpointError(file, `value ${a[bad]} at ${bad}: not a good checkpoint to resume from`, name);
    return a;
  };
  return { C, params: get('param'), expAvg: get('exp_avg'), expAvgSq: get('exp_avg_sq') };
}

/** A saved reward model, read and checked (readRewardModel). */
export interface RewardModel {
  info: RewardModelJson;
  v: Float32Array; // [C]
  b: number;
  /** the PEFT adapter's files (mode 'lora'); null for a full-parameter reward model (load its folder as the model) */
  adapter: AdapterFiles | null;
}

const toSource = (files: FileSource | ReadonlyMap<string, Uint8Array> | Record<string, Uint8Array>, name: string): FileSource => {
  if (typeof (files as FileSource).read === 'function') return files as FileSource;
  const m = files instanceof Map ? files : new Map(Object.entries(files as Record<string, Uint8Array>));
  return { name, size: async (p) => m.get(p)?.byteLength ?? null, read: async (p) => m.get(p) ?? new Uint8Array() };
};

/**
 * Reads a reward model folder (a run's result or one of its checkpoints): reward_model.json,
 * reward_head.safetensors and, for a LoRA reward model, the PEFT adapter files. Every problem is a
 * CheckpointError naming the file.
 */
export async function readRewardModel(files: FileSource | ReadonlyMap<string, Uint8Array> | Record<string, Uint8Array>, name = 'reward model'): Promise<RewardModel> {
  const src = toSource(files, name);
  const at = (f: string) => `${src.name.replace(/\/+$/, '')}/${f}`;
  const need = async (f: string, what: string) => {
    if ((await src.size(f)) === null) throw new CheckpointError(at(f), `missing: ${what}`);
    return src.read(f);
  };
  let info: RewardModelJson;
  try {
    info = JSON.parse(new TextDecoder().decode(await need(REWARD_MODEL_FILE, 'not a reward model folder written by lab reward-model')));
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(at(REWARD_MODEL_FILE), `not valid JSON (${(e as Error).message})`);
  }
  const bad = (what: string) => new CheckpointError(at(REWARD_MODEL_FILE), what);
  if (!info || info.schema !== 'lab-reward-model-v1') throw bad('not a lab-reward-model-v1 file');
  if (!REWARD_OBJECTIVES.includes(info.objective)) throw bad(`field "objective" must be ${REWARD_OBJECTIVES.join(' or ')}, got ${JSON.stringify(info.objective)}`);
  if (!Number.isSafeInteger(info.d_model) || info.d_model < 1) throw bad(`field "d_model" must be a positive integer, got ${JSON.stringify(info.d_model)}`);
  if (info.pooling !== 'last') throw bad(`field "pooling" must be "last", got ${JSON.stringify(info.pooling)}`);
  if (info.mode !== 'lora' && info.mode !== 'full') throw bad(`field "mode" must be "lora" or "full", got ${JSON.stringify(info.mode)}`);
  const headFile = at(REWARD_HEAD_FILE);
  const t = readSafetensors(await need(REWARD_HEAD_FILE, 'the reward head ("v" [d_model], "b" [1])'), headFile);
  const get = (n: string, len: number): Float32Array => {
    const x = t.get(n);
    if (!x) throw new CheckpointError(headFile, 'missing', n);
    if (x.info.dtype !== 'F32' || x.info.shape.length !== 1 || x.info.shape[0] !== len) throw new CheckpointError(headFile, `expected F32 [${len}], got ${x.info.dtype} [${x.info.shape}]`, n);
    const a = new Float32Array(x.data.slice().buffer);
    const i = a.findIndex((y) => !Number.isFinite(y));
    if (i >= 0) throw new CheckpointError(headFile, `value ${a[i]} at ${i}`, n);
    return a;
  };
  const v = get('v', info.d_model), b = get('b', 1)[0];
  if (info.mode === 'lora') for (const f of [ADAPTER_CONFIG, ADAPTER_WEIGHTS]) await need(f, 'a LoRA reward model keeps its PEFT adapter beside the head');
  return { info, v, b, adapter: info.mode === 'lora' ? src : null };
}

// ---- scoring ------------------------------------------------------------------------------------

/** Completion ids as trained: the text without special tokens, then EOS unless it already ends with it (TRL). */
export function encodeCompletion(tok: LabTokenizer, text: string, eos: number | null): number[] {
  const ids = tok.encode(text, { addSpecialTokens: false });
  if (eos !== null && ids[ids.length - 1] !== eos) ids.push(eos);
  return ids;
}

/**
 * The reward of each completion of one prompt: prompt ids ++ completion ids through `model` with the
 * reward model's adapter applied unmerged (model.adapter; the previous one is restored), ln_final's
 * output captured and read at each row's last token, r = v·h + b. Completions are token ids as
 * trained (encodeCompletion), or texts when `opts.tokenizer` is given. A full-parameter reward model
 * scores with `model` as it is (load the reward model's folder as the model).
 */
export async function scoreTexts(model: LlamaModel, rm: RewardModel, promptIds: readonly number[], completions: readonly (string | readonly number[])[], opts: { tokenizer?: LabTokenizer; batchRows?: number } = {}): Promise<number[]> {
  const { rt, cfg } = model;
  const C = cfg.d_model;
  if (rm.info.d_model !== C) throw new Error(`reward model: its head reads d_model ${rm.info.d_model}, the model has ${C} (trained on ${rm.info.base_model})`);
  const eos = opts.tokenizer?.eosTokenId ?? cfg.eos_token_ids[0] ?? null;
  const seqs = completions.map((c, i) => {
    if (typeof c === 'string' && !opts.tokenizer) throw new Error('scoreTexts: completions given as text need opts.tokenizer');
    const s = [...promptIds, ...(typeof c === 'string' ? encodeCompletion(opts.tokenizer!, c, eos) : c)];
    if (s.length === 0 || s.length > cfg.n_ctx) throw new Error(`scoreTexts: completion ${i} makes ${s.length} tokens (the model's context is ${cfg.n_ctx})`);
    return s;
  });
  const before = model.adapter;
  const owned: Tensor[] = [];
  try {
    if (rm.adapter) {
      const on = adapterSlots(rt, await readAdapter(rm.adapter, cfg), cfg, 'reward.lora');
      owned.push(...on.tensors);
      model.adapter = on.lora;
    } else model.adapter = null;
    const out: number[] = [];
    const rows = Math.max(1, opts.batchRows ?? 8);
    for (let s0 = 0; s0 < seqs.length; s0 += rows) {
      const mb = rewardBatch(seqs.slice(s0, s0 + rows), eos ?? 0);
      const ids = rt.upload(mb.ids, [mb.B, mb.T], 'i32', 'reward.ids'); // [B, T]
      const { captures } = model.forward(ids, { capture: new Set([HOOKS.lnFinal]), logits: 'none' });
      ids.dispose();
      const xf = captures.get(HOOKS.lnFinal)!; // [B, T, C]
      const pooled = rt.empty([mb.B, C], 'f32', 'reward.pooled'); // [B, C]
      for (let b = 0; b < mb.B; b++) rt.copy(xf, mb.last[b] * C, pooled, b * C, C);
      xf.dispose();
      const h = (await rt.read(pooled)) as Float32Array;
      pooled.dispose();
      for (let b = 0; b < mb.B; b++) {
        let r = rm.b;
        for (let i = 0; i < C; i++) r += rm.v[i] * h[b * C + i];
        out.push(r);
      }
    }
    return out;
  } finally {
    model.adapter = before;
    for (const t of owned) t.dispose();
  }
}
