// Where the answer forms and which heads it needs, over a prompt set (issue 12, items 3–4):
//   lensByLayer     the logit lens at the positions that predict the FINAL answer's tokens (after the
//                   last "####" of the reference answer, teacher-forced): per layer, the mean log-prob and
//                   the mean rank (0 = top) of the right token, per prompt (averaged over those tokens);
//   ablationSweep   every head's causal effect: the change of the final answer's summed log-prob when the
//                   head's hook_z is zeroed (or set to its mean over the set), per prompt; a negative effect
//                   means the head helps the answer.
// Legend: L layers, H heads, n prompts, T a prompt's positions, V vocabulary.
import type { Tensor } from '../gpu/tensor.ts';
import type { LlamaModel } from '../model/llama.ts';
import type { LabTokenizer } from '../model/tokenizer.ts';
import { HOOKS, type HookFn } from '../model/hooks.ts';
import { rmsnormForward } from '../../../shaders/rmsnorm_forward.ts';
import { matmul } from '../../../shaders/matmul_forward.ts';
import type { AnalysisPrompt } from './heads.ts';

/** Positions predicting the final answer's tokens: t such that ids[t + 1] belongs to the text after the last "####". */
export function finalAnswerPositions(tok: LabTokenizer, p: AnalysisPrompt): number[] {
  const answerIds = p.ids.slice(p.answerAt);
  let text = '';
  const ends: number[] = []; // character end of each answer token in the decoded answer
  for (let i = 0; i < answerIds.length; i++) {
    text = tok.decode(answerIds.slice(0, i + 1));
    ends.push(text.length);
  }
  const mark = text.lastIndexOf('####');
  if (mark < 0) return [];
  const from = mark + 4;
  const out: number[] = [];
  for (let i = 0; i < answerIds.length; i++) {
    const start = i === 0 ? 0 : ends[i - 1];
    if (ends[i] > from && text.slice(Math.max(start, from), ends[i]).trim() !== '') out.push(p.answerAt + i - 1);
  }
  return out.filter((t) => t >= 0);
}

function logSoftmaxAt(row: Float32Array, id: number): { logprob: number; rank: number } {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) max = Math.max(max, row[i]);
  let z = 0, rank = 0;
  for (let i = 0; i < row.length; i++) {
    z += Math.exp(row[i] - max);
    if (row[i] > row[id]) rank++;
  }
  return { logprob: row[id] - max - Math.log(z), rank };
}

/** One forward of one prompt; logits [T, V] on the host. */
async function forwardLogits(model: LlamaModel, ids: readonly number[], hooks?: ReadonlyMap<string, HookFn>, capture?: ReadonlySet<string>): Promise<{ logits: Float32Array; captures: Map<string, Tensor> }> {
  const { rt } = model;
  const idsT = rt.upload(Int32Array.from(ids), [1, ids.length], 'i32', 'ids');
  const r = model.forward(idsT, { hooks, capture, logits: 'all' });
  idsT.dispose();
  const logits = (await rt.read(r.logits!)) as Float32Array;
  r.logits!.dispose();
  return { logits, captures: r.captures };
}

/** Summed log-prob of the final answer's tokens from logits [T, V]. */
export function answerLogprob(logits: Float32Array, V: number, ids: readonly number[], positions: readonly number[]): number {
  let s = 0;
  for (const t of positions) s += logSoftmaxAt(logits.subarray(t * V, (t + 1) * V), ids[t + 1]).logprob;
  return s;
}

/** Per prompt, per layer (L + 1 rows as the logit lens): mean log-prob and mean rank of the final answer's tokens. */
export async function lensByLayer(model: LlamaModel, prompts: readonly AnalysisPrompt[], positions: readonly number[][], signal?: AbortSignal, onProgress?: (done: number, total: number) => void): Promise<{ logprob: number[][]; rank: number[][] }> {
  const { rt, cfg, w } = model;
  const L = cfg.n_layers, C = cfg.d_model, V = cfg.d_vocab;
  const points = [...Array.from({ length: L }, (_, k) => HOOKS.residPre(k)), HOOKS.residPost(L - 1)];
  const logprob: number[][] = [], rank: number[][] = [];
  for (let i = 0; i < prompts.length; i++) {
    if (signal?.aborted) throw new Error('logit lens cancelled');
    const p = prompts[i], pos = positions[i];
    if (pos.length === 0) {
      logprob.push([]);
      rank.push([]);
      continue;
    }
    const { captures } = await forwardLogits(model, p.ids, undefined, new Set(points));
    const lp: number[] = [], rk: number[] = [];
    for (const name of points) {
      const resid = captures.get(name)!; // [1, T, C]
      const rows = rt.empty([pos.length, C], 'f32', 'lens_rows'); // [n, C] the predicting positions
      pos.forEach((t, j) => rt.copy(resid, t * C, rows, j * C, C));
      const { y, rstd } = rmsnormForward(rt, rows, w.lnFinal, cfg.rms_norm_eps);
      rstd.dispose();
      rows.dispose();
      const logits = matmul(rt, y, w.unembed, { transB: true }); // [n, V]
      y.dispose();
      const host = (await rt.read(logits)) as Float32Array;
      logits.dispose();
      let s = 0, r = 0;
      pos.forEach((t, j) => {
        const x = logSoftmaxAt(host.subarray(j * V, (j + 1) * V), p.ids[t + 1]);
        s += x.logprob;
        r += x.rank;
      });
      lp.push(s / pos.length);
      rk.push(r / pos.length);
    }
    for (const t of new Set(captures.values())) t.dispose();
    logprob.push(lp);
    rank.push(rk);
    onProgress?.(i + 1, prompts.length);
  }
  return { logprob, rank };
}

/**
 * effect[l][h][i] = answer log-prob of prompt i with head l.h ablated − without (zero ablation, or the
 * head's mean z over the set); base[i] the unablated answer log-prob. Prompts without a final answer are NaN.
 */
export async function ablationSweep(
  model: LlamaModel, prompts: readonly AnalysisPrompt[], positions: readonly number[][],
  opts: { mode?: 'zero' | 'mean'; signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Promise<{ base: number[]; effect: number[][][] }> {
  const { rt, cfg } = model;
  const { n_layers: L, n_heads: H, d_head: D, d_vocab: V } = cfg;
  const mode = opts.mode ?? 'zero';
  // the means of every head's z over the set (mean mode), from one pass capturing every layer's z
  let means: Float32Array[][] | null = null;
  if (mode === 'mean') {
    const sums = Array.from({ length: L }, () => new Float64Array(H * D));
    let n = 0;
    for (const p of prompts) {
      const { captures } = await forwardLogits(model, p.ids, undefined, new Set(Array.from({ length: L }, (_, l) => HOOKS.z(l))));
      for (let l = 0; l < L; l++) {
        const z = (await rt.read(captures.get(HOOKS.z(l))!)) as Float32Array; // [1, T, H, D]
        for (let t = 0; t < p.ids.length; t++) for (let j = 0; j < H * D; j++) sums[l][j] += z[t * H * D + j];
      }
      for (const t of captures.values()) t.dispose();
      n += p.ids.length;
    }
    means = sums.map((s) => Array.from({ length: H }, (_, h) => Float32Array.from(s.subarray(h * D, (h + 1) * D), (v) => v / n)));
  }
  const base: number[] = [];
  for (let i = 0; i < prompts.length; i++) base.push(positions[i].length ? answerLogprob((await forwardLogits(model, prompts[i].ids)).logits, V, prompts[i].ids, positions[i]) : NaN);
  const effect = Array.from({ length: L }, () => Array.from({ length: H }, () => new Array<number>(prompts.length).fill(NaN)));
  const total = L * H;
  for (let l = 0; l < L; l++)
    for (let h = 0; h < H; h++) {
      if (opts.signal?.aborted) throw new Error('ablation sweep cancelled');
      for (let i = 0; i < prompts.length; i++) {
        const p = prompts[i];
        if (!positions[i].length) continue;
        const T = p.ids.length;
        const row = means ? means[l][h] : new Float32Array(D);
        const values = rt.upload(Float32Array.from({ length: T * D }, (_, k) => row[k % D]), [T, D], 'f32', 'ablation'); // [T, D]
        const hook: HookFn = (act) => {
          for (let t = 0; t < T; t++) rt.copy(values, t * D, act, (t * H + h) * D, D);
        };
        const { logits } = await forwardLogits(model, p.ids, new Map([[HOOKS.z(l), hook]]));
        values.dispose();
        effect[l][h][i] = answerLogprob(logits, V, p.ids, positions[i]) - base[i];
      }
      opts.onProgress?.(l * H + h + 1, total);
    }
  return { base, effect };
}
