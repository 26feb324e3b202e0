// The decoder-only transformer of the Llama family (Llama, SmolLM2, Qwen2 with q/k/v bias), on our
// WGSL kernels. Reads like nanoGPT: a block is two residual lines; buffer plumbing lives in the
// kernels' host functions and the runtime.
//
// Legend: B batch, T new positions, S key positions (cache capacity or T), C = d_model,
//         H = n_heads, Hkv = n_kv_heads, D = d_head, F = d_mlp, V = d_vocab.
// Hook points use TransformerLens's names (./hooks.ts): `capture` hands tensors to the caller (who
// disposes them), `hooks` edits activations in place before the forward goes on; everything else is
// given back to the pool as soon as it is dead.
// An unmerged LoRA adapter (`adapter`, e.g. the trainer's live LoraState) adds scale·(x Aᵀ) Bᵀ to
// the projections it adapts; with `adapter = null` the forward is the base model, dispatch for dispatch.
import type { Runtime } from '../gpu/runtime.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { matmul, GEMV_MAX_M, type MatmulOptions } from '../../../shaders/matmul_forward.ts';
import { loraForward, type ColumnWindow } from '../../../shaders/lora_forward.ts';
import { embeddingForward } from '../../../shaders/embedding_forward.ts';
import { rmsnormForward } from '../../../shaders/rmsnorm_forward.ts';
import { ropeKvWrite } from '../../../shaders/rope_kv_write.ts';
import { gemvRmsnorm } from '../../../shaders/gemv_rmsnorm.ts';
import { gemvSwiglu } from '../../../shaders/gemv_swiglu.ts';
import { attentionForward } from '../../../shaders/attention_forward.ts';
import { attentionApply, attentionPattern, attentionScores } from '../../../shaders/attention_explicit.ts';
import { swigluForward } from '../../../shaders/swiglu_forward.ts';
import { add } from '../../../shaders/add_scale.ts';
import { ropeInvFreq, type ModelConfig } from './config.ts';
import type { BlockWeights, ModelWeights } from './weights.ts';
import type { KVCache } from './kvcache.ts';
import type { LoraTarget } from '../train/adapter.ts';
import { HOOKS, HookPoints, qkvWindows, windowIn, windowOut, type HookFn } from './hooks.ts';

export { HOOKS, hookNames, type HookFn } from './hooks.ts';

/**
 * At most this many token rows (B·T) take the fused decode path: RMSNorm folded into the GEMV that
 * follows it (ln1 + q|k|v, ln2 + gate/up + SwiGLU, final norm + unembed: 1 dispatch each instead of
 * 2-4). The fused kernels keep W reads to one pass for up to 16 rows.
 */
export const FUSED_MAX_ROWS = 16;

/**
 * A LoRA adapter applied unmerged: y = x Wᵀ + scale · (x Aᵀ) Bᵀ on each adapted (layer, target).
 * The trainer's LoraState (train/graph.ts) is one, so rollouts sample from the policy being trained.
 * No dropout at inference.
 */
export interface InferenceLora {
  /** alpha / r */
  scale: number;
  /** slots[layer][target]: A [r, in], B [out, r]; undefined (or a missing layer) = no adapter there */
  slots: readonly Partial<Record<LoraTarget, { A: Tensor; B: Tensor }>>[];
}

/**
 * Kernel for x Aᵀ [N, r] (only r wide): gemv for decode rows, else split-K when the reduction is
 * long (the naive kernel would loop over all of K per output), else naive (as train/graph.ts).
 */
const skinny = (N: number, K: number): MatmulOptions['version'] => (N <= GEMV_MAX_M ? 'auto' : K >= 256 ? 'splitk' : 'naive');

export interface ForwardOptions {
  /** hook names to capture (their tensors are returned, not freed) */
  capture?: ReadonlySet<string>;
  /** functions that edit activations in place at hook points (./hooks.ts): ablation, patching */
  hooks?: ReadonlyMap<string, HookFn>;
  /** append keys/values to this cache (its length is the position offset) and attend over it */
  cache?: KVCache;
  /** [B, T] absolute positions (left-padded batches); default: offset + t */
  positions?: Int32Array;
  /** [B, T] 1 = token, 0 = padding, for a forward without cache (with a cache, the cache holds it) */
  keyMask?: Int32Array;
  /** which logits to compute: every position, the last one per sequence, or none */
  logits?: 'all' | 'last' | 'none';
  /**
   * Start at block `layer` from `resid` [B, T, C] (that block's hook_resid_pre, e.g. captured by an earlier
   * forward of the same ids) instead of the embedding: blocks before it do not run and their hook points do
   * not fire (TransformerLens's start_at_layer). `resid` is read, not changed. Not with a KV cache.
   */
  startAt?: { layer: number; resid: Tensor };
}

export interface ForwardResult {
  /** [B, T, V] for 'all', [B, 1, V] for 'last' */
  logits: Tensor | null;
  captures: Map<string, Tensor>;
}

export class LlamaModel {
  private invFreq: Float32Array;
  /** an unmerged LoRA adapter used by every forward (and so by generate), or null for the base model */
  adapter: InferenceLora | null = null;

  constructor(
    readonly rt: Runtime,
    readonly cfg: ModelConfig,
    readonly w: ModelWeights,
  ) {
    this.invFreq = ropeInvFreq(cfg);
  }

  /** ids: [B, T] i32 on the GPU. */
  forward(ids: Tensor, opts: ForwardOptions = {}): ForwardResult {
    const { rt, cfg, w } = this;
    const [B, T] = ids.shape;
    const C = cfg.d_model;
    const hp = new HookPoints(opts.capture, opts.hooks, cfg.n_layers);
    const positions = opts.positions ? rt.upload(opts.positions, [B * T], 'i32', 'positions') : null;
    const offset = opts.cache?.length ?? 0;
    if (opts.keyMask && opts.cache) throw new Error('forward: with a KV cache, padding is set on the cache (setPadding)');
    const keyMask = opts.keyMask ? rt.upload(opts.keyMask, [B, T], 'i32', 'key_mask') : undefined;

    const from = opts.startAt?.layer ?? 0;
    let x: Tensor;
    if (opts.startAt) {
      const { layer, resid } = opts.startAt;
      if (opts.cache) throw new Error('forward: startAt skips blocks whose keys and values a KV cache would need');
      if (!(Number.isInteger(layer) && layer >= 0 && layer < cfg.n_layers)) throw new Error(`forward: startAt layer ${layer} is outside 0..${cfg.n_layers - 1}`);
      if (resid.shape.join() !== [B, T, C].join()) throw new Error(`forward: startAt resid ${resid} must be [${B}, ${T}, ${C}] (the ids' batch and length, d_model)`);
      x = rt.empty([B, T, C], 'f32', 'resid'); // [B, T, C] a copy: the blocks add into the residual in place
      rt.copy(resid, 0, x, 0, B * T * C);
    } else x = hp.at(HOOKS.embed, embeddingForward(rt, ids, w.embed)); // [B, T, C]
    for (let l = from; l < cfg.n_layers; l++) {
      const bw = w.blocks[l];
      hp.at(HOOKS.residPre(l), x); // the residual entering block l (hook_embed or resid_post of block l − 1)
      const z = this.attention(l, bw, x, B, T, offset, positions, keyMask, opts, hp); // [B, T, H, D]
      const mid = hp.at(HOOKS.residMid(l), this.residualAdd(l, 'o_proj', x, z, bw.wo, HOOKS.attnOut(l), hp)); // resid_mid [B, T, C]
      const act = this.mlp(l, bw, mid, hp); // [B, T, F]
      x = hp.at(HOOKS.residPost(l), this.residualAdd(l, 'down_proj', mid, act, bw.wdown, HOOKS.mlpOut(l), hp)); // resid_post [B, T, C]
    }
    opts.cache?.advance(T);
    positions?.dispose();
    keyMask?.dispose();

    const t = opts.logits === 'last' ? 1 : T; // positions whose logits are wanted
    /** rows [B·t, C] of `src` [B, T, C] at those positions (a copy when only the last is wanted) */
    const pick = (src: Tensor): { rows: Tensor; copy: Tensor | null } => {
      if (t === T) return { rows: src.view([B * T, C]), copy: null };
      const copy = rt.empty([B, C], 'f32', 'last_rows'); // [B, C]
      for (let b = 0; b < B; b++) rt.copy(src, (b * T + T - 1) * C, copy, b * C, C);
      return { rows: copy, copy };
    };
    let logits: Tensor | null = null;
    if (opts.logits !== 'none' && hp.none && B * t <= FUSED_MAX_ROWS) {
      // decode: final norm and unembed in one dispatch, on the wanted rows only
      const { rows, copy } = pick(x);
      logits = gemvRmsnorm(rt, rows, w.lnFinal, cfg.rms_norm_eps, [w.unembed], null).reshape([B, t, cfg.d_vocab]); // [B, t, V]
      copy?.dispose();
      x.dispose();
      return { logits, captures: hp.captures };
    }
    const { y: normed, rstd } = rmsnormForward(rt, x, w.lnFinal, cfg.rms_norm_eps); // [B, T, C]
    rstd.dispose();
    hp.release(x);
    hp.at(HOOKS.lnFinal, normed);
    if (opts.logits !== 'none') {
      const { rows, copy } = pick(normed);
      logits = matmul(rt, rows, w.unembed, { transB: true }).reshape([B, t, cfg.d_vocab]); // [B, t, V]
      copy?.dispose();
    }
    hp.release(normed);
    return { logits, captures: hp.captures };
  }

  /** ln1 → fused q|k|v → RoPE (k, v into the cache) → causal GQA attention; o_proj is applied by residualAdd. */
  private attention(
    l: number,
    bw: BlockWeights,
    x: Tensor,
    B: number,
    T: number,
    offset: number,
    positions: Tensor | null,
    mask: Tensor | undefined,
    opts: ForwardOptions,
    hp: HookPoints,
  ): Tensor {
    const { rt, cfg } = this;
    const [H, Hkv, D] = [cfg.n_heads, cfg.n_kv_heads, cfg.d_head];
    const qkv = this.normThenProject(l, x, bw.ln1, bw.wqkv, bw.bqkv, hp).reshape([B, T, (H + 2 * Hkv) * D]); // [B, T, (H+2Hkv)·D]
    this.preRope(l, qkv, hp); // hook_q / hook_k / hook_v: windows of the fused rows, edits written back
    // keys/values go straight into the cache (or, without one, into this forward's own [B, T, Hkv, D])
    const keys = opts.cache ? opts.cache.k[l] : rt.empty([B, T, Hkv, D], 'f32', 'k');
    const values = opts.cache ? opts.cache.v[l] : rt.empty([B, T, Hkv, D], 'f32', 'v');
    const q = hp.at(HOOKS.rotQ(l), ropeKvWrite(rt, qkv, H, Hkv, keys, values, { cacheAt: offset, offset: positions ? 0 : offset, positions, invFreq: this.invFreq })); // [B, T, H, D]
    qkv.dispose();
    // this forward's new keys/values: rows offset .. offset + T of each sequence (copies: they live in the cache)
    const newRows = (src: Tensor, name: string) => () => {
      const S = src.shape[1];
      const out = rt.empty([B, T, Hkv, D], 'f32', name); // [B, T, Hkv, D]
      for (let b = 0; b < B; b++) rt.copy(src, (b * S + offset) * Hkv * D, out, b * T * Hkv * D, T * Hkv * D);
      return out;
    };
    hp.atCopy(HOOKS.rotK(l), newRows(keys, 'hook_rot_k'));
    const keyMask = opts.cache ? opts.cache.maskTensor() : mask;
    let z: Tensor;
    if (hp.wants(HOOKS.attnScores(l)) || hp.edited(HOOKS.pattern(l))) {
      // explicit steps, so that an edited score or pattern flows on (hooks.ts)
      const scores = hp.at(HOOKS.attnScores(l), attentionScores(rt, q, keys, { offset, keyMask })); // [B, H, T, S]
      const pattern = hp.at(HOOKS.pattern(l), attentionPattern(rt, scores, { offset, keyMask })); // [B, H, T, S]
      hp.release(scores);
      z = attentionApply(rt, pattern, values); // [B, T, H, D]
      hp.release(pattern);
    } else {
      const a = attentionForward(rt, q, keys, values, { offset, keyMask, writeProbs: hp.captured(HOOKS.pattern(l)) }); // out [B, T, H, D]
      if (a.probs) hp.at(HOOKS.pattern(l), a.probs); // [B, H, T, S]
      a.lse.dispose();
      z = a.out;
    }
    hp.release(q);
    if (!opts.cache) {
      keys.dispose();
      values.dispose();
    }
    return hp.at(HOOKS.z(l), z); // z [B, T, H, D], before o_proj
  }

  /**
   * hook_q [B, T, H, D], hook_k and hook_v [B, T, Hkv, D] of layer l: the column windows 0, H·D and
   * (H + Hkv)·D of the fused q|k|v rows, copied out when wanted; an edited one is written back, so
   * RoPE and the cache see the edit.
   */
  private preRope(l: number, qkv: Tensor, hp: HookPoints): void {
    const [B, T] = qkv.shape;
    for (const [name, heads, at] of qkvWindows(this.cfg, l)) {
      if (!hp.wants(name)) continue;
      const part = hp.at(name, windowOut(this.rt, qkv, B, T, heads, this.cfg.d_head, at, name)); // [B, T, heads, D]
      if (hp.edited(name)) windowIn(this.rt, part, qkv, at);
      hp.release(part);
    }
  }

  /**
   * resid + inp·Wᵀ (+ adapter t of layer l): o_proj (inp = z [B, T, H, D]) or down_proj (inp = the
   * SwiGLU output [B, T, F]). In place (matmul and adapter accumulating into the residual stream, no
   * extra buffer) unless the residual was captured or the projection is a wanted hook point
   * (`point`: hook_attn_out / hook_mlp_out, adapter included). Releases `inp` and, when it is not
   * kept, the old residual.
   */
  private residualAdd(l: number, t: LoraTarget, resid: Tensor, inp: Tensor, W: Tensor, point: string, hp: HookPoints): Tensor {
    const { rt } = this;
    const [B, T, C] = resid.shape;
    const rows = inp.view([B * T, inp.numel / (B * T)]); // [B·T, in]
    let out: Tensor;
    if (!hp.isKept(resid) && !hp.wants(point)) {
      matmul(rt, rows, W, { transB: true, out: resid.view([B * T, C]), accumulate: true }); // resid += inp·Wᵀ
      this.lora(l, t, rows, resid.view([B * T, C])); // resid += scale · (inp Aᵀ) Bᵀ
      out = resid;
    } else {
      const proj = matmul(rt, rows, W, { transB: true }).reshape([B, T, C]); // [B, T, C]
      this.lora(l, t, rows, proj.view([B * T, C])); // proj += scale · (inp Aᵀ) Bᵀ
      hp.at(point, proj);
      out = add(rt, resid, proj);
      hp.release(proj);
      hp.release(resid);
    }
    hp.release(inp);
    return out;
  }

  /** ln2 → SwiGLU: silu(gate(h)) · up(h) (gate, up with their adapters) → [B, T, F]; down_proj is applied by residualAdd. */
  private mlp(l: number, bw: BlockWeights, x: Tensor, hp: HookPoints): Tensor {
    const { rt, cfg } = this;
    const [B, T] = x.shape;
    const F = cfg.d_mlp;
    const rows = x.view([B * T, cfg.d_model]);
    // the fused kernel never shows h, gate or up, which an adapter on gate/up or a hook point needs
    const adapted = this.hasLora(l, 'gate_proj', 'up_proj');
    if (B * T <= FUSED_MAX_ROWS && !adapted && hp.none) return gemvSwiglu(rt, rows, { g: bw.ln2, eps: cfg.rms_norm_eps }, bw.wgate, bw.wup).reshape([B, T, F]); // [B, T, F]
    const { y: h, rstd } = rmsnormForward(rt, x, bw.ln2, cfg.rms_norm_eps); // [B, T, C]
    rstd.dispose();
    hp.at(HOOKS.ln2(l), h);
    const hr = h.view([B * T, cfg.d_model]);
    const gate = matmul(rt, hr, bw.wgate, { transB: true }); // [B·T, F]
    this.lora(l, 'gate_proj', hr, gate);
    const up = matmul(rt, hr, bw.wup, { transB: true }); // [B·T, F]
    this.lora(l, 'up_proj', hr, up);
    hp.release(h);
    const act = swigluForward(rt, gate, up).reshape([B, T, F]); // [B, T, F]
    gate.dispose();
    up.dispose();
    return hp.at(HOOKS.mlpPost(l), act); // before down_proj
  }

  /**
   * ln1 + q|k|v of layer l: rmsnorm(x; g) · Wᵀ + b, plus the q/k/v adapters on their column windows,
   * for x [B, T, C] → [B·T, (H+2Hkv)·D]; one fused dispatch for few rows when nothing is adapted or hooked.
   */
  private normThenProject(l: number, x: Tensor, g: Tensor, W: Tensor, b: Tensor | null, hp: HookPoints): Tensor {
    const { rt, cfg } = this;
    const [B, T, C] = x.shape;
    if (B * T <= FUSED_MAX_ROWS && !this.hasLora(l, 'q_proj', 'k_proj', 'v_proj') && hp.none) return gemvRmsnorm(rt, x.view([B * T, C]), g, cfg.rms_norm_eps, [W], b); // [B·T, N]
    const { y: h, rstd } = rmsnormForward(rt, x, g, cfg.rms_norm_eps); // [B, T, C]
    rstd.dispose();
    hp.at(HOOKS.ln1(l), h);
    const hr = h.view([B * T, C]);
    const out = matmul(rt, hr, W, { transB: true, bias: b ?? undefined }); // [B·T, N]
    // q, k, v are column windows of the fused output rows: offsets 0, H·D, (H+Hkv)·D
    const [HD, KD, stride] = [cfg.n_heads * cfg.d_head, cfg.n_kv_heads * cfg.d_head, W.shape[0]];
    this.lora(l, 'q_proj', hr, out, { offset: 0, stride });
    this.lora(l, 'k_proj', hr, out, { offset: HD, stride });
    this.lora(l, 'v_proj', hr, out, { offset: HD + KD, stride });
    hp.release(h);
    return out;
  }

  /** Whether the adapter adapts any of `targets` in layer l. */
  private hasLora(l: number, ...targets: LoraTarget[]): boolean {
    const slots = this.adapter?.slots[l];
    return !!slots && targets.some((t) => slots[t]);
  }

  /** y[:, window] += scale · (x Aᵀ) Bᵀ when the adapter has (l, t); x [N, in], y [N, out] (or [N, window.stride]). */
  private lora(l: number, t: LoraTarget, x: Tensor, y: Tensor, window?: ColumnWindow): void {
    const s = this.adapter?.slots[l]?.[t];
    if (!s) return;
    const xa = matmul(this.rt, x, s.A, { transB: true, version: skinny(x.shape[0], x.shape[1]) }); // [N, r] = x Aᵀ
    loraForward(this.rt, x, s.A, s.B, y, this.adapter!.scale, { yCols: window, xa }); // y[:, window] += scale · xa Bᵀ
    xa.dispose();
  }
}
