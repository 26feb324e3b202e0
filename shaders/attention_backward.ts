// attention_backward: gradients of causal grouped-query attention by recomputation
// (FlashAttention-2 style, deterministic, no atomics), in three dispatches:
//   attention_backward      stats = (lse, Δ = rowsum(dO ∘ O))          one thread per row
//   attention_backward_dq   dQ, parallel over query tiles               [ceil(T/16), H, B]
//   attention_backward_dkv  dK, dV, parallel over key tiles, summing    [ceil(S/16), Hkv, B]
//                           the H/Hkv query heads of each kv head
// Version 3 (D % 4 == 0, D <= 64) keeps the pre-pass and replaces the other two:
//   attention_backward_dq_rows   dQ, 4 threads per query row            [ceil(T/32), H, B]
//   attention_backward_dkv_rows  dV, then dK, 4 threads per (key, query [ceil(S/32), H, B] each
//                                head); matmul's split-K reduce sums the H/Hkv heads of each kv head
//                                (none when H = Hkv)
// Legend: B batch, T queries, S keys, H query heads, Hkv kv heads, D head dim (<= 256).
import preCode from './attention_backward.wgsl';
import dqCode from './attention_backward_dq.wgsl';
import dkvCode from './attention_backward_dkv.wgsl';
import dqRowsBody from './attention_backward_dq_rows.wgsl';
import dkvRowsBody from './attention_backward_dkv_rows.wgsl';
import { matmulSplitkReduceSpec, packSplitkReduce } from './matmul_forward.ts';
import { cdiv, grid1d, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import { expectShape, type Tensor } from '../src/engine/gpu/tensor.ts';
import { attnShape, attnUniforms, checkRowsApplies, pickAttentionVersion, rowsCommon, rowsKv, ROWS_FR, type AttentionOpts } from './attention_forward.ts';

export const attentionBackwardSpec: KernelSpec = { name: 'attention_backward', code: preCode, bindings: ['uniform', 'read', 'read', 'read', 'storage'] };
export const attentionBackwardDqSpec: KernelSpec = {
  name: 'attention_backward_dq',
  code: dqCode,
  bindings: ['uniform', 'read', 'read', 'read', 'read', 'read', 'read', 'storage'],
};
export const attentionBackwardDkvSpec: KernelSpec = {
  name: 'attention_backward_dkv',
  code: dkvCode,
  bindings: ['uniform', 'read', 'read', 'read', 'read', 'read', 'read', 'storage', 'storage'],
};
// the rows kernels take their shared pieces first (WGSL has no include)
export const attentionBackwardDqRowsSpec: KernelSpec = { ...attentionBackwardDqSpec, name: 'attention_backward_dq_rows', code: rowsCommon + rowsKv + dqRowsBody };
/** dV (constant DK = 0), then dK (DK = 1): one entry point, two pipelines */
export const attentionBackwardDkvRowsSpec: KernelSpec = { ...attentionBackwardDkvSpec, name: 'attention_backward_dkv_rows', code: rowsCommon + dkvRowsBody };

/**
 * Gradients of attentionForward. q/out/dOut are [T, H, D] (or [B, T, H, D]), k/v [S, Hkv, D]
 * (or [B, S, Hkv, D]), lse [H, T] (or [B, H, T]) from the forward. Returns new dq (like q) and
 * dk, dv (like k), overwritten, with dk/dv summed over the query heads sharing each kv head.
 * version 2 or 3 (4 threads per query row for dQ and per (key, query head) for dK/dV; D % 4 == 0,
 * D <= 64); default: pickAttentionVersion, as the forward.
 * sumKv false: where version 3 would sum dk, dv over each kv head's G = H/Hkv query heads in reduces of their own,
 * it leaves them per query head ([B?, S, H, D]) and says so in kvGroup (G; 1 where they came summed), for a consumer
 * that sums as it reads (rope_qkv_backward's kvGroup): two dispatches fewer.
 */
export function attentionBackward(
  rt: Runtime,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  out: Tensor,
  lse: Tensor,
  dOut: Tensor,
  opts: AttentionOpts & { version?: 2 | 3; sumKv?: boolean } = {},
): { dq: Tensor; dk: Tensor; dv: Tensor; kvGroup: number } {
  const s = attnShape('attention_backward', q, k, v, opts);
  const { B, T, S, H, Hkv } = s;
  expectShape(out, q.shape, 'attention_backward: out', ['f32']);
  expectShape(dOut, q.shape, 'attention_backward: dOut', ['f32']);
  expectShape(lse, s.batched ? [B, H, T] : [H, T], 'attention_backward: lse', ['f32']);
  if (cdiv(T, 16) > 65535 || cdiv(S, 16) > 65535) throw new Error(`attention_backward: T=${T} or S=${S} exceeds 16·65535`);
  const uniforms = attnUniforms(s, !!opts.keyMask, false);
  const mask = opts.keyMask ?? q;
  const version = opts.version ?? pickAttentionVersion(rt, T, s.D);

  const stats = rt.empty([B, H, T, 2], 'f32', 'attention_backward.stats'); // [B, H, T, (lse, Δ)]
  rt.dispatch(attentionBackwardSpec, { tensors: [out, dOut, lse, stats], uniforms, workgroups: grid1d(cdiv(B * H * T, 64)) });

  const dq = rt.empty(q.shape, 'f32', 'attention_backward.dq'); // [B?, T, H, D]
  const dqArgs = { tensors: [q, k, v, dOut, stats, mask, dq], uniforms };
  if (version === 3) {
    checkRowsApplies('attention_backward', s.D);
    rt.dispatch(attentionBackwardDqRowsSpec, { ...dqArgs, workgroups: [cdiv(T, ROWS_FR), H, B], constants: { DV4: s.D / 4 } });
  } else {
    rt.dispatch(attentionBackwardDqSpec, { ...dqArgs, workgroups: [cdiv(T, 16), H, B] });
  }

  if (version === 3 && opts.sumKv === false && H > Hkv) {
    // per query head, summed by the consumer: [B?, S, H, D]
    const headsShape = s.batched ? [B, S, H, s.D] : [S, H, s.D];
    const [dk, dv] = [rt.empty(headsShape, 'f32', 'attention_backward.dk_heads'), rt.empty(headsShape, 'f32', 'attention_backward.dv_heads')];
    dkvRowsHeads(rt, s, [q, k, v, dOut, stats, mask], dk, dv, uniforms);
    stats.dispose();
    return { dq, dk, dv, kvGroup: H / Hkv };
  }
  const dk = rt.empty(k.shape, 'f32', 'attention_backward.dk'); // [B?, S, Hkv, D]
  const dv = rt.empty(k.shape, 'f32', 'attention_backward.dv'); // [B?, S, Hkv, D]
  if (version === 3) dkvRows(rt, s, [q, k, v, dOut, stats, mask], dk, dv, uniforms);
  else rt.dispatch(attentionBackwardDkvSpec, { tensors: [q, k, v, dOut, stats, mask, dk, dv], uniforms, workgroups: [cdiv(S, 16), Hkv, B] });

  stats.dispose(); // recorded dispatches keep it alive in queue order
  return { dq, dk, dv, kvGroup: 1 };
}

/** attention_backward_dkv_rows.wgsl: dV (DK = 0), then dK (DK = 1), per query head into dkh, dvh [B, S, H, D] (or dk, dv when H = Hkv). */
function dkvRowsHeads(rt: Runtime, s: ReturnType<typeof attnShape>, inputs: Tensor[], dkh: Tensor, dvh: Tensor, uniforms: ArrayBuffer): void {
  const { B, S, H, D } = s;
  for (const DK of [0, 1]) {
    rt.dispatch(attentionBackwardDkvRowsSpec, { tensors: [...inputs, dkh, dvh], uniforms, workgroups: [cdiv(S, ROWS_FR), H, B], constants: { DV4: D / 4, DK } });
  }
}

/**
 * Version 3 of dK/dV: per-head partials [B, S, H, D] by attention_backward_dkv_rows.wgsl, summed over
 * the H/Hkv query heads of each kv head by matmul's split-K reduce (a batch entry per (b, key, kv head),
 * the G heads as its slices, in order). With H = Hkv the kernels write dk and dv directly.
 */
function dkvRows(rt: Runtime, s: ReturnType<typeof attnShape>, inputs: Tensor[], dk: Tensor, dv: Tensor, uniforms: ArrayBuffer): void {
  const { B, S, H, Hkv, D } = s;
  const G = H / Hkv;
  const dkh = G > 1 ? rt.empty([B, S, H, D], 'f32', 'attention_backward.dk_heads') : dk; // [B, S, H, D]
  const dvh = G > 1 ? rt.empty([B, S, H, D], 'f32', 'attention_backward.dv_heads') : dv;
  dkvRowsHeads(rt, s, inputs, dkh, dvh, uniforms);
  if (G === 1) return;
  const total = B * S * Hkv * D;
  // matmul_forward_splitk.wgsl over the G heads of a group as its slices
  const reduce = packSplitkReduce({ MN: D, total, S: G, N: D, alpha: 1, bias: false, accumulate: false });
  for (const [part, out] of [[dkh, dk], [dvh, dv]] as const) {
    rt.dispatch(matmulSplitkReduceSpec, { tensors: [part, part, part, part, part, out], uniforms: reduce, workgroups: grid1d(cdiv(total, 256)) });
    part.dispose(); // recorded dispatches keep it alive in queue order
  }
}
