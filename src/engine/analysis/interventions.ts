// Causal interventions on one prompt (issue 12, items 3–4), on the model's writable hook points
// (model/hooks.ts): the logit lens, head ablation (zero / mean) and activation patching. Each returns
// host numbers; the GPU work is one forward (two for patching: the source run, then the patched run).
//
// Legend: T positions of the prompt (batch 1), C d_model, H heads, D d_head, V vocabulary, L layers.
//
// Conventions (TransformerLens's):
//   logit lens: row k < L reads blocks.{k}.hook_resid_pre, row L the last block's hook_resid_post;
//     each through ln_final (the model's RMSNorm with its weight) and the unembedding, then log-softmax
//     (float64) — so row L equals the model's own log-probabilities;
//   ablation of head h: hook_z[:, :, h, :] set to 0 (zero) or to a mean vector [D] (mean: the head's z
//     averaged over every position of every prompt of a reference set), at every position;
//   patching: the activation at one hook point and position (or all positions) replaced by the source
//     prompt's at the same point and position; positions past the source's length are refused.
import type { Runtime } from '../gpu/runtime.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { LlamaModel } from '../model/llama.ts';
import { HOOKS, READ_ONLY_HOOKS, hookNames, type HookFn } from '../model/hooks.ts';
import { rmsnormForward } from '../../../shaders/rmsnorm_forward.ts';
import { matmul } from '../../../shaders/matmul_forward.ts';

/** log-softmax of one row in float64. */
export function logSoftmax(row: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) max = Math.max(max, row[i]);
  let z = 0;
  for (let i = 0; i < row.length; i++) z += Math.exp(row[i] - max);
  const lz = max + Math.log(z);
  return Float64Array.from(row, (v) => v - lz);
}

function checkIds(model: LlamaModel, ids: readonly number[], what = 'ids'): void {
  const { d_vocab: V, n_ctx } = model.cfg;
  if (ids.length === 0) throw new Error(`${what}: empty`);
  if (ids.length > n_ctx) throw new Error(`${what}: ${ids.length} tokens exceed the model's context of ${n_ctx}`);
  for (const id of ids) if (!(Number.isInteger(id) && id >= 0 && id < V)) throw new Error(`${what}: token id ${id} is outside the vocabulary (0..${V - 1})`);
}

/** One forward of [1, T] ids with hooks; logits [T][V] read back. */
export async function logitsWith(model: LlamaModel, ids: readonly number[], hooks?: ReadonlyMap<string, HookFn>, capture?: ReadonlySet<string>): Promise<{ logits: Float32Array; captures: Map<string, Tensor> }> {
  const { rt } = model;
  checkIds(model, ids);
  const idsT = rt.upload(Int32Array.from(ids), [1, ids.length], 'i32', 'ids');
  const r = model.forward(idsT, { hooks, capture, logits: 'all' });
  idsT.dispose();
  const logits = (await rt.read(r.logits!)) as Float32Array; // [T, V]
  r.logits!.dispose();
  return { logits, captures: r.captures };
}

/** The logit lens: logprob[k][pos] of `target` (see the header); L + 1 rows of T. */
export async function logitLens(model: LlamaModel, ids: readonly number[], target: number): Promise<number[][]> {
  const { rt, cfg, w } = model;
  const L = cfg.n_layers, T = ids.length, C = cfg.d_model, V = cfg.d_vocab;
  if (!(Number.isInteger(target) && target >= 0 && target < V)) throw new Error(`target: token id ${target} is outside the vocabulary (0..${V - 1})`);
  const points = [...Array.from({ length: L }, (_, k) => HOOKS.residPre(k)), HOOKS.residPost(L - 1)];
  // the captures and each layer's norm and logits are temporaries of this scope
  return rt.scopeAsync(async () => {
    const { captures } = await logitsWith(model, ids, undefined, new Set(points));
    const out: number[][] = [];
    for (const name of points) {
      const resid = captures.get(name)!; // [1, T, C]
      const y = rmsnormForward(rt, resid, w.lnFinal, cfg.rms_norm_eps).y; // [1, T, C]
      const host = (await rt.read(matmul(rt, y.view([T, C]), w.unembed, { transB: true }))) as Float32Array; // [T, V]
      out.push(Array.from({ length: T }, (_, t) => logSoftmax(host.subarray(t * V, (t + 1) * V))[target]));
    }
    return out;
  });
}

/** A hook that writes `values` ([n, width], n = rows.length) into columns col0.. of the given rows of the activation. */
function writeRows(rt: Runtime, values: Tensor, rows: readonly number[], col0: number, width: number): HookFn {
  return (act) => {
    const rowLen = act.numel / act.shape.slice(0, 2).reduce((a, b) => a * b, 1); // elements per (batch, position)
    rows.forEach((r, i) => rt.copy(values, i * width, act, r * rowLen + col0, width));
  };
}

/** The head's z averaged over every position of every prompt: [D] (the mean-ablation value). */
export async function meanHeadZ(model: LlamaModel, prompts: readonly (readonly number[])[], layer: number, head: number): Promise<Float32Array> {
  const { cfg } = model;
  const D = cfg.d_head, H = cfg.n_heads;
  checkHead(model, layer, head);
  if (prompts.length === 0) throw new Error('mean ablation: no prompts to average over');
  const sum = new Float64Array(D);
  let n = 0;
  for (const ids of prompts) {
    const host = await model.rt.scopeAsync(async () => (await model.rt.read((await logitsWith(model, ids, undefined, new Set([HOOKS.z(layer)]))).captures.get(HOOKS.z(layer))!)) as Float32Array); // z [1, T, H, D]
    for (let t = 0; t < ids.length; t++, n++) for (let d = 0; d < D; d++) sum[d] += host[(t * H + head) * D + d];
  }
  return Float32Array.from(sum, (v) => v / n);
}

function checkHead(model: LlamaModel, layer: number, head: number): void {
  const { n_layers: L, n_heads: H } = model.cfg;
  if (!(Number.isInteger(layer) && layer >= 0 && layer < L)) throw new Error(`head ${layer}.${head}: the model has layers 0..${L - 1}`);
  if (!(Number.isInteger(head) && head >= 0 && head < H)) throw new Error(`head ${layer}.${head}: the model has heads 0..${H - 1}`);
}

/** Logits [T][V] with head `layer.head`'s hook_z set to 0 or to `mean` [D] at every position. */
export async function ablateHead(model: LlamaModel, ids: readonly number[], layer: number, head: number, mean?: Float32Array): Promise<Float32Array> {
  const { rt, cfg } = model;
  checkHead(model, layer, head);
  const D = cfg.d_head, T = ids.length;
  if (mean && mean.length !== D) throw new Error(`mean ablation: the mean has ${mean.length} values, a head has ${D}`);
  const row = mean ?? new Float32Array(D);
  return rt.scopeAsync(async () => {
    const values = rt.upload(Float32Array.from({ length: T * D }, (_, i) => row[i % D]), [T, D], 'f32', 'ablation'); // [T, D]
    const hook = writeRows(rt, values, Array.from({ length: T }, (_, t) => t), head * D, D);
    return (await logitsWith(model, ids, new Map([[HOOKS.z(layer), hook]]))).logits;
  });
}

/**
 * Logits [T][V] of `ids` with the activation at `hook` replaced by `sourceIds`'s, at position `pos`
 * (or at every position of `ids`, which then must not be longer than the source).
 */
export async function patchActivation(model: LlamaModel, ids: readonly number[], sourceIds: readonly number[], hook: string, pos: number | 'all'): Promise<Float32Array> {
  const { rt, cfg } = model;
  checkIds(model, sourceIds, 'source ids');
  if (!hookNames(cfg.n_layers).includes(hook)) throw new Error(`patch: no hook point "${hook}"`);
  if (READ_ONLY_HOOKS.test(hook)) throw new Error(`patch: ${hook} can be read but not written`);
  const T = ids.length, Ts = sourceIds.length;
  const positions = pos === 'all' ? Array.from({ length: T }, (_, t) => t) : [pos];
  for (const p of positions) {
    if (!(Number.isInteger(p) && p >= 0 && p < T)) throw new Error(`patch: position ${p} is outside the prompt (0..${T - 1})`);
    if (p >= Ts) throw new Error(`patch: position ${p} is past the source prompt's ${Ts} tokens`);
  }
  const { captures } = await logitsWith(model, sourceIds, undefined, new Set([hook]));
  const src = captures.get(hook)!; // [1, Ts, ...]
  const width = src.numel / Ts; // elements per position
  const values = rt.empty([positions.length, width], 'f32', 'patch'); // [n, width]: the source's rows at those positions
  positions.forEach((p, i) => rt.copy(src, p * width, values, i * width, width));
  src.dispose();
  try {
    return (await logitsWith(model, ids, new Map([[hook, writeRows(rt, values, positions, 0, width)]]))).logits;
  } finally {
    values.dispose();
  }
}
