// DPO (issue 11, item 4): TRL's sigmoid DPO loss on {"prompt", "chosen", "rejected"} pairs, against the
// model with the LoRA adapter off as the reference (no second copy of the model, so LoRA only).
//
// Legend: P pairs in the step; per pair, T0 prompt tokens, Tc / Tr completion tokens of chosen / rejected
// (EOS included), T = T0 + max(Tc, Tr); π = a completion's log-probs summed over its tokens (TRL's
// `logps`), ref = the same under the reference.
//
// Semantics (TRL v0.28.0, commit 49ef33428c47235991acb4e185ea599b70c6dab4, trl/trainer/dpo_trainer.py,
// DPOTrainer.dpo_loss with loss_type "sigmoid", reverse-KL, not reference-free):
//   z = (π_c − π_r) − (ref_c − ref_r);  losses = −logσ(βz)(1 − ls) − logσ(−βz)·ls;  loss = mean over pairs;
//   rewards_chosen / rejected = mean β(π − ref); accuracy = mean[β(π_c − ref_c) > β(π_r − ref_r)];
//   margin = mean of their difference. ls (label smoothing, conservative DPO) 0 is TRL's default; TRL main
//   (f2cd5771, DPOTrainer._compute_loss) computes "sigmoid" as −logσ(β·Δ) and no longer reads label_smoothing
//   there, so the two agree exactly at ls = 0 (see tools/golden/make_dpo_fixtures.py).
//
// One step: for each pair a micro-batch of B = 2 rows (chosen, rejected; right-padded; labels on the
// completion only); the reference sums (adapter off) and the policy sums (adapter on) from forward-only
// passes (graph.nll); d loss / d π from dpoLoss; then ONE optimizer step through the policy head
// (shaders/policy_logit_grad.ts) with every completion token's row = (old 0, ref 0, A = −d loss / d π, w 1),
// on-policy, β_KL 0, temperature 1: the head's per-token d loss / d logp = −w·A = d loss / d π, which is the
// chain rule for π = Σ token log-probs. The policy head reads its log-probs back before the update and the
// loss is recomputed from them (lossOf): the same loss as the forward-only pass, up to f32 rounding.
import type { Trainer, PolicyMicroBatch } from '../train/trainer.ts';
import type { LabTokenizer } from '../model/tokenizer.ts';
import { forEachJsonRow, promptIds, type RowProblem } from '../train/data.ts';
import type { DpoSettings, StepLine } from '../api.ts';

/** TRL's DPOConfig defaults: β 0.1, label smoothing 0, learning rate 1e-6. */
export const TRL_DPO_DEFAULTS: DpoSettings & { lr: number } = { beta: 0.1, labelSmoothing: 0, lr: 1e-6 };

/** The first bad setting, as a message; null when all are usable. */
export function dpoSettingsProblem(s: DpoSettings, full: boolean): string | null {
  if (!(s.beta > 0 && Number.isFinite(s.beta))) return `beta must be > 0, got ${s.beta}`;
  if (!(s.labelSmoothing >= 0 && s.labelSmoothing < 0.5)) return `label smoothing must be in [0, 0.5) (the probability that a preference is flipped), got ${s.labelSmoothing}`;
  if (full) return 'DPO needs LoRA: the reference policy is the model with the adapter off, and full-parameter training has no adapter to switch off (it would need a second copy of the model)';
  return null;
}

// ---- the loss ----------------------------------------------------------------------------------

/** log σ(x) without overflow: x − log(1 + eˣ) for x ≤ 0, −log(1 + e⁻ˣ) for x > 0. */
export const logSigmoid = (x: number): number => (x > 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x)));

export interface DpoLossResult {
  /** mean over pairs */
  loss: number;
  losses: Float64Array; // [P]
  /** z = (π_c − π_r) − (ref_c − ref_r), before β */
  logits: Float64Array; // [P]
  dLoss_dPolicyChosen: Float64Array; // [P] d loss / d π_c (loss = the mean: 1/P included)
  dLoss_dPolicyRejected: Float64Array; // [P]
  metrics: { rewards_chosen: number; rewards_rejected: number; accuracy: number; margin: number };
}

/** TRL's sigmoid DPO loss in float64 on [P] summed completion log-probs, with its gradient. */
export function dpoLoss(
  policyChosen: ArrayLike<number>, // [P]
  policyRejected: ArrayLike<number>, // [P]
  refChosen: ArrayLike<number>, // [P]
  refRejected: ArrayLike<number>, // [P]
  s: DpoSettings,
): DpoLossResult {
  const P = policyChosen.length;
  if (P === 0) throw new Error('dpoLoss: no pair');
  for (const [name, a] of [['policyRejected', policyRejected], ['refChosen', refChosen], ['refRejected', refRejected]] as const) {
    if (a.length !== P) throw new Error(`dpoLoss: ${name} has ${a.length} values, policyChosen ${P}`);
  }
  const { beta, labelSmoothing: ls } = s;
  const losses = new Float64Array(P), logits = new Float64Array(P);
  const dc = new Float64Array(P), dr = new Float64Array(P);
  let rc = 0, rr = 0, acc = 0, margin = 0, total = 0;
  for (let i = 0; i < P; i++) {
    const z = policyChosen[i] - policyRejected[i] - (refChosen[i] - refRejected[i]);
    const bz = beta * z;
    logits[i] = z;
    losses[i] = -logSigmoid(bz) * (1 - ls) - logSigmoid(-bz) * ls;
    total += losses[i];
    // d l / d(βz) = −(1 − ls)·σ(−βz) + ls·σ(βz); dz/dπ_c = 1, dz/dπ_r = −1; the mean's 1/P
    const g = (-(1 - ls) * Math.exp(logSigmoid(-bz)) + ls * Math.exp(logSigmoid(bz))) * beta / P;
    dc[i] = g;
    dr[i] = -g;
    const cr = beta * (policyChosen[i] - refChosen[i]);
    const rj = beta * (policyRejected[i] - refRejected[i]);
    rc += cr;
    rr += rj;
    margin += cr - rj;
    if (cr > rj) acc++;
  }
  return {
    loss: total / P, losses, logits, dLoss_dPolicyChosen: dc, dLoss_dPolicyRejected: dr,
    metrics: { rewards_chosen: rc / P, rewards_rejected: rr / P, accuracy: acc / P, margin: margin / P },
  };
}

// ---- the data ----------------------------------------------------------------------------------

/** A preference pair, tokenized: the prompt as generation starts from it, each completion + EOS. */
export interface DpoPair {
  /** 1-based line of the data file */
  line: number;
  promptIds: number[]; // [T0]
  chosenIds: number[]; // [Tc]
  rejectedIds: number[]; // [Tr]
}

/**
 * {"prompt", "chosen", "rejected"} JSONL → pairs, one problem line per unusable row (skipped, never
 * truncated). The prompt is rendered as GRPO and `lab eval` render it (the chat template's user turn +
 * generation prompt, else qaPrompt with special tokens); each completion is encoded without special
 * tokens and followed by the EOS id (TRL appends eos_token unless the text ends with it). Without a chat
 * template the completion gets a leading space, as SFT's question/answer rows do (qaPrompt ends at "Answer:").
 */
export function loadDpoData(text: string, tok: LabTokenizer, opts: { file: string; nCtx: number; eosId: number | null }): { pairs: DpoPair[]; problems: RowProblem[] } {
  const pairs: DpoPair[] = [];
  const problems: RowProblem[] = [];
  const completion = (t: string): number[] => {
    const ids = tok.encode(tok.chatTemplate || /^\s/.test(t) ? t : ` ${t}`, { addSpecialTokens: false });
    if (opts.eosId !== null && ids[ids.length - 1] !== opts.eosId) ids.push(opts.eosId);
    return ids;
  };
  forEachJsonRow(text, opts.file, problems, (r, line, bad) => {
    for (const k of ['prompt', 'chosen', 'rejected']) {
      if (!(k in r)) return bad(`no "${k}": a DPO row is {"prompt", "chosen", "rejected"}`);
      if (typeof r[k] !== 'string') return bad(`"${k}" must be a string`);
      if (!(r[k] as string).trim()) return bad(`"${k}" is empty`);
    }
    const [prompt, chosen, rejected] = [r.prompt, r.chosen, r.rejected] as string[];
    if (chosen === rejected) return bad('"chosen" and "rejected" are the same text: the pair carries no preference');
    const prompted = promptIds(tok, prompt);
    if (prompted.length === 0) return bad('the prompt tokenizes to nothing');
    const chosenIds = completion(chosen), rejectedIds = completion(rejected);
    const T = prompted.length + Math.max(chosenIds.length, rejectedIds.length);
    if (T > opts.nCtx) return bad(`the prompt (${prompted.length} tokens) and the longer completion (${Math.max(chosenIds.length, rejectedIds.length)}) make ${T} tokens, more than the model's context of ${opts.nCtx} (the pair is skipped, not truncated)`);
    pairs.push({ line, promptIds: prompted, chosenIds, rejectedIds });
  });
  return { pairs, problems };
}

// ---- one step ----------------------------------------------------------------------------------

/** One DPO step's numbers (metrics.jsonl, snake_case; TRL's rewards/chosen, rewards/rejected, rewards/accuracies, rewards/margins, logps/chosen, logps/rejected). */
export interface DpoStepStats {
  loss: number;
  grad_norm: number;
  lr: number;
  rewards_chosen: number;
  rewards_rejected: number;
  accuracy: number;
  margin: number;
  logps_chosen: number;
  logps_rejected: number;
  /** all positions of the step's micro-batches (padding included), and the completion tokens trained */
  tokens: number;
  trained_tokens: number;
}
export type DpoStepLine = StepLine & DpoStepStats;

/** What a step needs of the engine. */
export interface DpoEnv {
  trainer: Trainer;
}

/** A pair's micro-batch [2, T] (row 0 chosen, row 1 rejected) and each row's counted positions [from, to). */
export function pairBatch(p: DpoPair): { mb: PolicyMicroBatch; spans: [number, number][] } {
  const T0 = p.promptIds.length;
  const comps = [p.chosenIds, p.rejectedIds];
  const T = T0 + Math.max(p.chosenIds.length, p.rejectedIds.length);
  const ids = new Int32Array(2 * T); // [2, T] right-padded with id 0 (never a target, never seen by a real token)
  const labels = new Int32Array(2 * T).fill(-100); // [2, T] shifted: completion token t is the target at T0 − 1 + t
  const spans: [number, number][] = [];
  comps.forEach((c, b) => {
    ids.set(p.promptIds, b * T);
    ids.set(c, b * T + T0);
    for (let t = 0; t < c.length; t++) labels[b * T + T0 - 1 + t] = c[t];
    spans.push([b * T + T0 - 1, b * T + T0 - 1 + c.length]);
  });
  return { mb: { ids, labels, B: 2, T, rows: new Float32Array(2 * T * 4) }, spans };
}

/** Σ over a row's counted positions of `perPos` (float64), times `sign`. */
const spanSum = (perPos: ArrayLike<number>, [a, b]: [number, number], sign = 1): number => {
  let s = 0;
  for (let i = a; i < b; i++) s += perPos[i];
  return sign * s;
};

/** Summed completion log-probs [P] of chosen and rejected, forward only (lora null: the reference). */
async function sequenceLogps(trainer: Trainer, batches: ReturnType<typeof pairBatch>[], lora: Trainer['lora']): Promise<{ c: Float64Array; r: Float64Array }> {
  const c = new Float64Array(batches.length), r = new Float64Array(batches.length);
  for (let j = 0; j < batches.length; j++) {
    const nll = trainer.graph.nll(batches[j].mb, lora, 1); // [2·T] −log-prob at counted positions
    const host = (await trainer.rt.read(nll)) as Float32Array;
    nll.dispose();
    c[j] = spanSum(host, batches[j].spans[0], -1);
    r[j] = spanSum(host, batches[j].spans[1], -1);
  }
  return { c, r };
}

/**
 * One DPO step over `pairs` (the step's P pairs; `step` is the 0-based DPO step, for messages): one
 * optimizer step. Returns the stats (loss and metrics from the policy head's log-probs), and the
 * forward-only sums and loss the gradient was built from (`before`).
 */
export async function dpoStep(env: DpoEnv, pairs: readonly DpoPair[], step: number, s: DpoSettings): Promise<{
  stats: DpoStepStats;
  before: DpoLossResult & { policyChosen: Float64Array; policyRejected: Float64Array; refChosen: Float64Array; refRejected: Float64Array };
}> {
  const { trainer } = env;
  if (!trainer.lora) throw new Error('DPO needs LoRA: the reference is the model with the adapter off');
  if (pairs.length === 0) throw new Error(`DPO step ${step + 1}: no pair`);
  const batches = pairs.map(pairBatch);
  const P = pairs.length;

  // ---- forward only: the reference (adapter off) and the policy (adapter on) ----
  const ref = await sequenceLogps(trainer, batches, null);
  const pol = await sequenceLogps(trainer, batches, trainer.lora);
  const before = dpoLoss(pol.c, pol.r, ref.c, ref.r, s);

  // ---- the policy head's rows: A = −d loss / d π on every counted token of the row, w = 1 ----
  let trained = 0;
  batches.forEach(({ mb, spans }, j) => {
    const A = [-before.dLoss_dPolicyChosen[j], -before.dLoss_dPolicyRejected[j]];
    spans.forEach(([a, b], row) => {
      for (let i = a; i < b; i++) mb.rows.set([0, 0, A[row], 1], i * 4);
      trained += b - a;
    });
  });

  // ---- one optimizer step; the loss again from the head's own log-probs ----
  let after: DpoLossResult | null = null;
  const lc = new Float64Array(P), lr = new Float64Array(P);
  const m = await trainer.policyStep(batches.map((b) => b.mb), { temperature: 1, epsLow: 0, epsHigh: 0, beta: 0, onPolicy: true }, (host) => {
    host.forEach((h, j) => {
      lc[j] = spanSum(h, batches[j].spans[0]);
      lr[j] = spanSum(h, batches[j].spans[1]);
    });
    after = dpoLoss(lc, lr, ref.c, ref.r, s);
    return after.loss;
  });
  const res = after as unknown as DpoLossResult;
  const mean = (a: Float64Array) => a.reduce((x, y) => x + y, 0) / a.length;
  const stats: DpoStepStats = {
    loss: m.loss, grad_norm: m.gradNorm, lr: m.lr, ...res.metrics, logps_chosen: mean(lc), logps_rejected: mean(lr), tokens: m.tokens, trained_tokens: trained,
  };
  return { stats, before: { ...before, policyChosen: pol.c, policyRejected: pol.r, refChosen: ref.c, refRejected: ref.r } };
}
