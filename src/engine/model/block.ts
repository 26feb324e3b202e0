// The Llama block, defined once: ln1 → q|k|v (+ LoRA) → RoPE → causal GQA attention → o_proj (+ LoRA) into
// the residual → ln2 → gate/up (+ LoRA) → SwiGLU → down_proj (+ LoRA) into the residual — with its hook points
// (./hooks.ts). The inference forward and decode (./llama.ts) and the training graph (train/graph.ts) run this
// function; what differs between them is passed in, not forked:
//   - `keep` (training): every activation the backward needs is kept and returned (BlockActs), nothing is
//     added into the residual in place, and the adapters' inputs may be dropped out (env.lora.dropout);
//     without it each tensor goes back to the pool as soon as it is dead and the residual adds run in place;
//   - the attention's keys and values (AttentionIO): into a KV cache at an offset (decode), or this batch's
//     own; padding as absolute positions and a key mask;
//   - the hook points (BlockHooks): the forward's HookPoints hand captured tensors to the caller, the training
//     graph's GraphHookPoints report copies and refuse edits it has no backward for.
// With no hook, adapter or kept activation the ops pick their kernels by rows: few (decode) take the fused ones (./ops.ts).
//
// Legend: B batch, T new positions, N = B·T rows, S key positions (cache capacity or T), C = d_model,
//         H = n_heads, Hkv = n_kv_heads, D = d_head, W = (H + 2·Hkv)·D (fused q|k|v width), F = d_mlp.
// Linear weights are HF [out, in]: y = x Wᵀ. Activations keep the residual's leading shape ([B, T, …] in the
// forward, [N, …] in the training graph); the attention tensors are [B, T, heads, D].
import type { Runtime } from '../gpu/runtime.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { matmul } from '../../../shaders/matmul_forward.ts';
import { rmsnormForward } from '../../../shaders/rmsnorm_forward.ts';
import { ropeKvWrite } from '../../../shaders/rope_kv_write.ts';
import { attentionForward } from '../../../shaders/attention_forward.ts';
import { attentionApply, attentionPattern, attentionScores } from '../../../shaders/attention_explicit.ts';
import { swigluForward, swigluForwardFused } from '../../../shaders/swiglu_forward.ts';
import { add } from '../../../shaders/add_scale.ts';
import type { DropoutSeed } from '../../../shaders/dropout.ts';
import type { ModelConfig } from './config.ts';
import type { BlockWeights, ModelWeights } from './weights.ts';
import type { KVCache } from './kvcache.ts';
import type { LoraTarget } from '../train/adapter.ts';
import { HOOKS, qkvWindows, windowIn, windowOut } from './hooks.ts';
import { normLinear, normSwiglu } from './ops.ts';
import { blockAdapterTerms, hasLora, stackedRows, GATE_UP, type AdapterActs, type AdapterSlots, type BlockAdapterTerms } from './block-adapters.ts';

/** What a block asks of its hook points (model/hooks.ts HookPoints, train/graph-hooks.ts GraphHookPoints). */
export interface BlockHooks {
  /** nothing hooked or captured */
  readonly none: boolean;
  /** captured or edited */
  wants(name: string): boolean;
  captured(name: string): boolean;
  edited(name: string): boolean;
  /** the point's edit (in place), then its capture; returns t */
  at(name: string, t: Tensor): Tensor;
  /** a read-only capture of a copy made only when wanted (points inside another buffer: the KV cache) */
  atCopy(name: string, make: () => Tensor): void;
  /** whether `t` went to the caller (the block must neither free nor change it) */
  isKept(t: Tensor): boolean;
  /** frees `t` unless it went to the caller */
  release(t: Tensor): void;
}

export type { AdapterSlots } from './block-adapters.ts';

/** What a block runs with. */
export interface BlockEnv {
  readonly rt: Runtime;
  readonly cfg: ModelConfig;
  readonly w: ModelWeights;
  readonly invFreq: Float32Array;
  readonly hp: BlockHooks;
  readonly lora: AdapterSlots | null;
  /** seeds of the adapters' dropout masks (training with dropout) */
  dropoutSeed?(l: number, t: LoraTarget): DropoutSeed;
}

/** Where the attention's keys and values go and which keys each query sees. */
export interface AttentionIO {
  /** append keys/values at `offset` and attend over the cache (its padding mask included) */
  cache?: KVCache;
  /** positions already in the cache (0 without one) */
  offset: number;
  /** [B·T] absolute positions (left-padded batches), else offset + t */
  positions: Tensor | null;
  /** [B, T] 1 = token, 0 = padding, without a cache */
  keyMask?: Tensor;
}

/** What one block keeps for its backward (train/block.ts); N rows, shapes as the residual's. */
export interface BlockActs extends AdapterActs {
  x: Tensor; // [N, C] resid_pre (input of ln1)
  h1: Tensor; // [N, C] ln1(x)
  rstd1: Tensor; // [N]
  q: Tensor; // [B, T, H, D] roped
  k: Tensor; // [B, T, Hkv, D] roped
  v: Tensor; // [B, T, Hkv, D]
  att: Tensor; // [B, T, H, D] attention output (z before o_proj), as o_proj saw it
  attRaw?: Tensor; // [B, T, H, D] the attention kernel's output, when a hook edited z (the attention backward needs it)
  lse: Tensor | null; // [B, H, T] the flash kernel's; null where attention ran in explicit steps
  /** where a hook edited the scores or the pattern (explicit steps): the softmax's output and the pattern z was made of */
  explicit?: { p: Tensor; pz: Tensor }; // [B, H, T, T] each (one tensor when the pattern itself was not edited)
  mid: Tensor; // [N, C] resid_mid
  h2: Tensor; // [N, C] ln2(mid)
  rstd2: Tensor; // [N]
  /** gate and up side by side, [N, 2F]: the one gate|up product, where the weights are stacked (weights.ts) */
  gu?: Tensor;
  gate?: Tensor; // [N, F], where gate and up are products apart (no gu)
  up?: Tensor; // [N, F]
  act: Tensor; // [N, F] silu(gate)·up
}

export const disposeActs = (a: BlockActs, keepX: boolean): void => {
  for (const t of [a.h1, a.rstd1, a.q, a.k, a.v, a.att, a.mid, a.h2, a.rstd2, a.gu, a.gate, a.up, a.act]) t?.dispose();
  a.lse?.dispose();
  a.explicit?.p.dispose();
  a.explicit?.pz.dispose(); // the same tensor as p when only the scores were edited: dispose() is idempotent
  for (const t of Object.values(a.xa)) t?.dispose(); // a stacked one is shared: dispose() is idempotent
  for (const t of Object.values(a.xd)) t?.dispose();
  a.attRaw?.dispose();
  if (!keepX) a.x.dispose();
};

/**
 * Block l on the residual x ([B, T, C] or [N, C]): the new residual (resid_post) and, with `keep`, the
 * activations. It runs in a tensor scope of the runtime: what it makes and does not return (or hand to a
 * hook point's caller) is freed when it ends, a throw included; the residual it got is freed by hand, when
 * the result is a new tensor and the residual is not the caller's.
 */
export function blockForward(env: BlockEnv, l: number, x: Tensor, B: number, T: number, io: AttentionIO, keep: boolean): { out: Tensor; acts: BlockActs | null } {
  return env.rt.scope(() => block(env, l, x, B, T, io, keep));
}

function block(env: BlockEnv, l: number, x: Tensor, B: number, T: number, io: AttentionIO, keep: boolean): { out: Tensor; acts: BlockActs | null } {
  const { rt, cfg, hp } = env;
  const bw = env.w.blocks[l];
  const [N, C, F] = [B * T, cfg.d_model, cfg.d_mlp];
  const [H, Hkv, D] = [cfg.n_heads, cfg.n_kv_heads, cfg.d_head];
  const lead = x.shape.slice(0, -1); // [B, T] or [N]
  const eps = cfg.rms_norm_eps;
  const xa: BlockActs['xa'] = {};
  const xaCol: BlockActs['xaCol'] = {};
  const xd: BlockActs['xd'] = {};
  const terms = blockAdapterTerms(env, l, keep, { xa, xaCol, xd }); // each adapter's x·Aᵀ now, its B product in the projection's
  // nothing wants the normalised input, q/k/v or SwiGLU's parts: the ops may fuse them (by rows, ./ops.ts)
  const plain = !keep && hp.none;

  // ---- attention: ln1 → q|k|v → RoPE → attention ----
  hp.at(HOOKS.residPre(l), x);
  // ln1's hook point between the norm and q|k|v (an edit flows into them), then the adapters' x·Aᵀ
  const n1 = normLinear(rt, x, bw.ln1, eps, bw.wqkv, bw.bqkv, plain && !hasLora(env.lora, l, 'q_proj', 'k_proj', 'v_proj'), (h) => terms.qkv(hp.at(HOOKS.ln1(l), h).view([N, C]))); // y [N, W]; h as x unless fused
  const qkv = n1.y;
  // hook_q / hook_k / hook_v before RoPE: windows of the fused rows, copied out when wanted; an edit is written back
  for (const [name, heads, at] of qkvWindows(cfg, l)) {
    if (!hp.wants(name)) continue;
    const part = hp.at(name, windowOut(rt, qkv, B, T, heads, D, at, name)); // [B, T, heads, D]
    if (hp.edited(name)) windowIn(rt, part, qkv, at);
  }
  // keys/values straight into the cache, or into this batch's own [B, T, Hkv, D]
  const keys = io.cache ? io.cache.k[l] : rt.empty([B, T, Hkv, D], 'f32', 'k');
  const values = io.cache ? io.cache.v[l] : rt.empty([B, T, Hkv, D], 'f32', 'v');
  const { offset } = io;
  const q = hp.at(HOOKS.rotQ(l), ropeKvWrite(rt, qkv.view([B, T, qkv.shape[1]]), H, Hkv, keys, values, { cacheAt: offset, offset: io.positions ? 0 : offset, positions: io.positions, invFreq: env.invFreq })); // [B, T, H, D]
  if (io.cache) hp.atCopy(HOOKS.rotK(l), () => newRows(rt, keys, B, T, offset, 'hook_rot_k'));
  else hp.at(HOOKS.rotK(l), keys);
  const keyMask = io.cache ? io.cache.maskTensor() : io.keyMask;
  const [scoresAt, patternAt] = [HOOKS.attnScores(l), HOOKS.pattern(l)];
  let z: Tensor; // [B, T, H, D]
  let lse: Tensor | null = null; // [B, H, T]
  let explicit: BlockActs['explicit'];
  if (hp.edited(scoresAt) || hp.edited(patternAt)) {
    // explicit steps, so that an edited score or pattern flows on; the training graph's backward runs them back
    // (train/block.ts: attention_explicit_backward), which needs the softmax's own output besides an edited pattern
    const scores = hp.at(scoresAt, attentionScores(rt, q, keys, { offset, keyMask })); // [B, H, T, S]
    const soft = attentionPattern(rt, scores, { offset, keyMask }); // [B, H, T, S]
    let p = soft;
    if (keep && hp.edited(patternAt)) {
      p = rt.empty(soft.shape, 'f32', 'train.pattern_raw');
      rt.copy(soft, 0, p, 0, soft.numel);
    }
    const pattern = hp.at(patternAt, soft);
    z = attentionApply(rt, pattern, values);
    if (keep) explicit = { p, pz: pattern };
  } else {
    if (hp.captured(scoresAt)) hp.at(scoresAt, attentionScores(rt, q, keys, { offset, keyMask })); // [B, H, T, S] read only
    const a = attentionForward(rt, q, keys, values, { offset, keyMask, writeProbs: hp.captured(patternAt) }); // out [B, T, H, D]
    if (a.probs) hp.at(patternAt, a.probs); // [B, H, T, S]
    z = a.out;
    lse = a.lse;
  }
  let attRaw: Tensor | undefined;
  if (keep && hp.edited(HOOKS.z(l))) {
    attRaw = rt.empty(z.shape, 'f32', 'train.att_raw'); // [B, T, H, D] the kernel's output, before the edit
    rt.copy(z, 0, attRaw, 0, z.numel);
  }
  hp.at(HOOKS.z(l), z); // before o_proj
  const residualAdd = (t: 'o_proj' | 'down_proj', resid: Tensor, inp: Tensor, W: Tensor, point: string): Tensor =>
    addProjection(env, terms, t, resid, inp, W, point, keep);
  const mid = hp.at(HOOKS.residMid(l), residualAdd('o_proj', x, z, bw.wo, HOOKS.attnOut(l))); // resid_mid

  // ---- MLP: ln2 → gate/up → SwiGLU ----
  let act: Tensor; // [..., F] (the residual's leading shape)
  let kept: Pick<BlockActs, 'h2' | 'rstd2' | 'gu' | 'gate' | 'up'> | null = null;
  if (plain && !hasLora(env.lora, l, ...GATE_UP)) act = normSwiglu(rt, mid.view([N, C]), bw.ln2, eps, bw.wgate, bw.wup).reshape([...lead, F]);
  else {
    const n2 = rmsnormForward(rt, mid, bw.ln2, eps); // h2 as mid
    const h2 = hp.at(HOOKS.ln2(l), n2.y).view([N, C]);
    const parts = gateUpParts(rt, terms, bw, h2);
    act = (parts.gu ? swigluForwardFused(rt, parts.gu) : swigluForward(rt, parts.gate!, parts.up!)).reshape([...lead, F]);
    if (keep) kept = { h2: n2.y, rstd2: n2.rstd, ...parts };
    // early, not left to the scope: the block's largest tensors, whose buffers the pool can give on
    else for (const t of [parts.gu, parts.gate, parts.up]) t?.dispose();
  }
  hp.at(HOOKS.mlpPost(l), act); // before down_proj
  const out = hp.at(HOOKS.residPost(l), residualAdd('down_proj', mid, act, bw.wdown, HOOKS.mlpOut(l))); // resid_post
  if (!keep) return { out, acts: null };
  return { out, acts: { x, h1: n1.h!, rstd1: n1.rstd!, q, k: keys, v: values, att: z, attRaw, lse, explicit, mid, ...kept!, act, xa, xaCol, xd } };
}

/**
 * gate and up of h2 [N, C], with their adapters' terms: one product gu [N, 2F] where the weights lie back to back
 * (weights.ts), else two products [N, F].
 */
function gateUpParts(rt: Runtime, terms: BlockAdapterTerms, bw: BlockWeights, h2: Tensor): Pick<BlockActs, 'gu' | 'gate' | 'up'> {
  const wgu = stackedRows([bw.wgate, bw.wup]); // [2F, C]
  if (wgu) return { gu: matmul(rt, h2, wgu, { transB: true, lowRank: terms.gateUp(h2) }) }; // gate | up (+ the adapters')
  const t = terms.shared(GATE_UP, h2); // one x·Aᵀ for both where stacked
  const gate = matmul(rt, h2, bw.wgate, { transB: true, lowRank: t.gate_proj }); // [N, F]
  return { gate, up: matmul(rt, h2, bw.wup, { transB: true, lowRank: t.up_proj }) };
}

/**
 * resid + inp·Wᵀ (+ the adapter of t): o_proj (inp = z [B, T, H, D]) or down_proj (inp = the SwiGLU output).
 * Into the residual in place (matmul and adapter accumulating, no extra buffer) unless activations are kept,
 * the residual went to the caller, or the projection is a wanted hook point (`point`: hook_attn_out /
 * hook_mlp_out, adapter included; then computed apart, hooked and added). Without `keep`, frees the old
 * residual when it is not the result.
 */
function addProjection(env: BlockEnv, terms: BlockAdapterTerms, t: LoraTarget, resid: Tensor, inp: Tensor, W: Tensor, point: string, keep: boolean): Tensor {
  const { rt, hp } = env;
  const C = resid.shape[resid.shape.length - 1];
  const N = resid.numel / C;
  const rows = inp.view([N, inp.numel / N]); // [N, in]
  let out: Tensor;
  if (!hp.wants(point)) {
    const lowRank = terms.one(t, rows); // scale · (inp Aᵀ) Bᵀ
    if (keep || hp.isKept(resid)) {
      // the residual stays as it was (kept, or the caller's): the product's addend, which its split-K reduce reads as it
      // writes the new one (else matmul copies it in by a dispatch first)
      out = rt.empty(resid.shape, 'f32', 'resid');
      matmul(rt, rows, W, { transB: true, out: out.view([N, C]), addend: resid.view([N, C]), lowRank }); // out = resid + inp·Wᵀ + the adapter's
    } else {
      out = resid;
      matmul(rt, rows, W, { transB: true, out: out.view([N, C]), accumulate: true, lowRank }); // out += inp·Wᵀ + the adapter's
    }
  } else {
    const proj = matmul(rt, rows, W, { transB: true, lowRank: terms.one(t, rows) }).reshape(resid.shape); // as resid
    hp.at(point, proj);
    out = add(rt, resid, proj);
    if (!keep) hp.release(resid); // the block's input may be from before its scope
  }
  return out;
}

/** Rows offset .. offset + T of each sequence of a cache's keys [B, S, Hkv, D] → a copy [B, T, Hkv, D]. */
function newRows(rt: Runtime, src: Tensor, B: number, T: number, offset: number, name: string): Tensor {
  const [, S, Hkv, D] = src.shape;
  const out = rt.empty([B, T, Hkv, D], 'f32', name);
  for (let b = 0; b < B; b++) rt.copy(src, (b * S + offset) * Hkv * D, out, b * T * Hkv * D, T * Hkv * D);
  return out;
}
