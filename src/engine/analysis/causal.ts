// Where the answer forms and which heads it needs, over a prompt set (issue 12, items 3–4):
//   lensByLayer     the logit lens at the positions that predict the FINAL answer's tokens (after the
//                   last "####" of the reference answer, teacher-forced): per layer, the mean log-prob and
//                   the mean rank (0 = top) of the right token, per prompt (averaged over those tokens);
//   ablationSweep   every head's causal effect: the change of the final answer's summed log-prob when the
//                   head's hook_z is zeroed (or set to its mean over the set), per prompt; a negative effect
//                   means the head helps the answer. Batched (right-padded prompts of similar length), scored
//                   on the GPU at the answer rows only.
// Legend: L layers, H heads, n prompts, T a prompt's positions, V vocabulary.
import type { Tensor } from '../gpu/tensor.ts';
import type { LlamaModel } from '../model/llama.ts';
import type { LabTokenizer } from '../model/tokenizer.ts';
import { HOOKS, type HookFn } from '../model/hooks.ts';
import { rmsnormForward } from '../../../shaders/rmsnorm_forward.ts';
import { matmul } from '../../../shaders/matmul_forward.ts';
import { embeddingForward } from '../../../shaders/embedding_forward.ts';
import { crossEntropyForward } from '../../../shaders/cross_entropy_forward.ts';
import { copyColumns } from '../../../shaders/copy_columns.ts';
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
    const { lp, rk } = await rt.scopeAsync(async () => {
      const idsT = rt.upload(Int32Array.from(p.ids), [1, p.ids.length], 'i32', 'ids');
      const { captures } = model.forward(idsT, { capture: new Set(points), logits: 'none' }); // the residual stream only: the lens unembeds its own rows
      const lp: number[] = [], rk: number[] = [];
      for (const name of points) {
        const resid = captures.get(name)!; // [1, T, C]
        const rows = rt.empty([pos.length, C], 'f32', 'lens_rows'); // [n, C] the predicting positions
        pos.forEach((t, j) => rt.copy(resid, t * C, rows, j * C, C));
        const logits = matmul(rt, rmsnormForward(rt, rows, w.lnFinal, cfg.rms_norm_eps).y, w.unembed, { transB: true }); // [n, V]
        const host = (await rt.read(logits)) as Float32Array;
        let s = 0, r = 0;
        pos.forEach((t, j) => {
          const x = logSoftmaxAt(host.subarray(j * V, (j + 1) * V), p.ids[t + 1]);
          s += x.logprob;
          r += x.rank;
        });
        lp.push(s / pos.length);
        rk.push(r / pos.length);
      }
      return { lp, rk };
    });
    logprob.push(lp);
    rank.push(rk);
    onProgress?.(i + 1, prompts.length);
  }
  return { logprob, rank };
}

/** Prompts in batches of similar length, right-padded: causal attention keeps padding out of every real position. */
function lengthBatches(prompts: readonly AnalysisPrompt[], maxTokens: number): number[][] {
  const order = prompts.map((_, i) => i).sort((a, b) => prompts[a].ids.length - prompts[b].ids.length);
  const out: number[][] = [];
  let cur: number[] = [];
  for (const i of order) {
    const T = prompts[i].ids.length; // the longest so far (ascending order)
    if (cur.length && (cur.length + 1) * T > maxTokens) {
      out.push(cur);
      cur = [];
    }
    cur.push(i);
  }
  if (cur.length) out.push(cur);
  return out;
}

/** [B, T] ids of `members`, right-padded with token 0 to the longest, on the GPU; and T. */
function paddedIds(model: LlamaModel, prompts: readonly AnalysisPrompt[], members: readonly number[], label: string): { ids: Tensor; T: number } {
  const T = Math.max(...members.map((i) => prompts[i].ids.length));
  const ids = new Int32Array(members.length * T);
  members.forEach((i, b) => ids.set(prompts[i].ids, b * T));
  return { ids: model.rt.upload(ids, [members.length, T], 'i32', label), T };
}

/** One batch of the sweep on the GPU: ids [B, T] and, per prompt, its answer rows' flat indices and target ids. */
interface SweepBatch {
  members: number[];
  B: number;
  T: number;
  ids: Tensor; // [B, T] i32
  rows: Tensor; // [R] i32: b·T + t for every answer position t of every member
  targets: Tensor; // [R] i32: ids[b][t + 1]
  /** member → its rows' range in `rows` */
  spans: [number, number][];
}

/**
 * Summed log-prob of each member's answer tokens from the batch's final-norm output `normed` [B, T, C]: only
 * the rows at the answer positions are unembedded and scored on the GPU (cross-entropy per row), so what comes
 * back is R floats, not [B, T, V].
 */
async function answerLogprobsOf(model: LlamaModel, b: SweepBatch, normed: Tensor): Promise<number[]> {
  const { rt, cfg, w } = model;
  // the picked rows, their logits and the losses go at the scope's end
  const loss = await rt.scopeAsync(async () => {
    const picked = embeddingForward(rt, b.rows, normed.view([b.B * b.T, cfg.d_model])); // [R, C]
    const logits = matmul(rt, picked, w.unembed, { transB: true }); // [R, V]
    return (await rt.read(crossEntropyForward(rt, logits, b.targets).rowLoss)) as Float32Array; // [R] = −log p(target)
  });
  return b.spans.map(([from, to]) => {
    let s = 0;
    for (let r = from; r < to; r++) s -= loss[r];
    return s;
  });
}

/** One forward of the batch (with `hooks`, from `startAt`) and its members' answer log-probs. */
async function batchAnswerLogprobs(model: LlamaModel, b: SweepBatch, hooks: ReadonlyMap<string, HookFn>, startAt: { layer: number; resid: Tensor }): Promise<number[]> {
  return model.rt.scopeAsync(async () => {
    const { captures } = model.forward(b.ids, { hooks, capture: new Set([HOOKS.lnFinal]), logits: 'none', startAt });
    return answerLogprobsOf(model, b, captures.get(HOOKS.lnFinal)!);
  });
}

/**
 * effect[l][h][i] = answer log-prob of prompt i with head l.h ablated − without (zero ablation, or the
 * head's mean z over the set); base[i] the unablated answer log-prob. Prompts without a final answer are NaN.
 * Prompts run in right-padded batches of similar length (at most `maxTokens` positions a forward); each
 * batch's base forward keeps every layer's hook_resid_pre, so a head's ablated forward starts at its own
 * layer (blocks before it are the base's); the ablation writes the head's D columns of hook_z at every
 * position in one dispatch. Progress counts (batch, head) forwards. `layers`: sweep only the heads
 * of the first `layers` layers, or of the listed layers (the benchmark's subsets; the rest stay NaN).
 */
export async function ablationSweep(
  model: LlamaModel, prompts: readonly AnalysisPrompt[], positions: readonly number[][],
  opts: { mode?: 'zero' | 'mean'; maxTokens?: number; layers?: number | readonly number[]; signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Promise<{ base: number[]; effect: number[][][] }> {
  const { rt, cfg } = model;
  const { n_layers: L, n_heads: H, d_head: D } = cfg;
  const mode = opts.mode ?? 'zero';
  const answered = prompts.map((_, i) => i).filter((i) => positions[i].length > 0);
  const maxTokens = Math.max(opts.maxTokens ?? 4096, ...answered.map((i) => prompts[i].ids.length));
  const batches: SweepBatch[] = lengthBatches(answered.map((i) => prompts[i]), maxTokens).map((group) => {
    const members = group.map((k) => answered[k]);
    const { ids, T } = paddedIds(model, prompts, members, 'sweep.ids'); // [B, T]
    const rows: number[] = [], targets: number[] = [], spans: [number, number][] = [];
    members.forEach((i, b) => {
      const from = rows.length;
      for (const t of positions[i]) {
        rows.push(b * T + t);
        targets.push(prompts[i].ids[t + 1]);
      }
      spans.push([from, rows.length]);
    });
    return {
      members, B: members.length, T, spans, ids,
      rows: rt.upload(Int32Array.from(rows), [rows.length], 'i32', 'sweep.rows'),
      targets: rt.upload(Int32Array.from(targets), [targets.length], 'i32', 'sweep.targets'),
    };
  });
  try {
    // the means of every head's z over the set (mean mode): every real position of every prompt, from one capture per batch
    let means: Float32Array[][] | null = null;
    if (mode === 'mean') {
      const sums = Array.from({ length: L }, () => new Float64Array(H * D));
      let n = 0;
      const all = lengthBatches(prompts, maxTokens);
      for (const group of all) {
        const { ids: idsT, T } = paddedIds(model, prompts, group, 'sweep.mean_ids'); // [B, T]
        const { captures } = model.forward(idsT, { capture: new Set(Array.from({ length: L }, (_, l) => HOOKS.z(l))), logits: 'none' });
        idsT.dispose();
        for (let l = 0; l < L; l++) {
          const t = captures.get(HOOKS.z(l))!;
          const z = (await rt.read(t)) as Float32Array; // [B, T, H, D]
          t.dispose();
          group.forEach((i, b) => {
            for (let p = 0; p < prompts[i].ids.length; p++) for (let j = 0; j < H * D; j++) sums[l][j] += z[(b * T + p) * H * D + j];
          });
        }
        n += group.reduce((a, i) => a + prompts[i].ids.length, 0);
      }
      means = sums.map((s) => Array.from({ length: H }, (_, h) => Float32Array.from(s.subarray(h * D, (h + 1) * D), (v) => v / n)));
    }
    const base = new Array<number>(prompts.length).fill(NaN);
    const effect = Array.from({ length: L }, () => Array.from({ length: H }, () => new Array<number>(prompts.length).fill(NaN)));
    // the layers swept: the first k, or the listed ones (a bench samples a few across the depth)
    const swept = typeof opts.layers === 'object' ? [...opts.layers] : Array.from({ length: Math.min(opts.layers ?? L, L) }, (_, l) => l);
    for (const l of swept) if (!(Number.isInteger(l) && l >= 0 && l < L)) throw new Error(`ablation sweep: layer ${l} is outside 0..${L - 1}`);
    const total = batches.length * swept.length * H;
    const tile = (row: Float32Array, n: number) => Float32Array.from({ length: n * D }, (_, k) => row[k % D]);
    let done = 0;
    for (const b of batches) {
      // one base forward keeps every swept layer's hook_resid_pre: an ablation at layer l runs blocks l.. only…
      await rt.scopeAsync(async () => {
        // …and its final norm gives the unablated answer log-probs
        const { captures } = model.forward(b.ids, { capture: new Set([...swept.map((l) => HOOKS.residPre(l)), HOOKS.lnFinal]), logits: 'none' });
        (await answerLogprobsOf(model, b, captures.get(HOOKS.lnFinal)!)).forEach((v, k) => (base[b.members[k]] = v));
        const zeros = means ? null : rt.zeros([b.B * b.T, D], 'f32', 'sweep.zeros'); // [B·T, D]
        for (const l of swept) {
          const startAt = { layer: l, resid: captures.get(HOOKS.residPre(l))! }; // [B, T, C]
          for (let h = 0; h < H; h++) {
            if (opts.signal?.aborted) throw new Error('ablation sweep cancelled');
            // the values written over the head's columns: its mean z at every position, or zeros
            const values = means ? rt.upload(tile(means[l][h], b.B * b.T), [b.B * b.T, D], 'f32', 'sweep.ablation') : zeros!; // [B·T, D]
            const hook: HookFn = (act) => copyColumns(rt, values, act.view([b.B * b.T, H * D]), { cols: D, srcOffset: 0, dstOffset: h * D });
            const got = await batchAnswerLogprobs(model, b, new Map([[HOOKS.z(l), hook]]), startAt);
            if (means) values.dispose();
            got.forEach((v, k) => (effect[l][h][b.members[k]] = v - base[b.members[k]]));
            opts.onProgress?.(++done, total);
          }
        }
      });
    }
    return { base, effect };
  } finally {
    for (const b of batches) for (const t of [b.ids, b.rows, b.targets]) t.dispose();
  }
}
