// The decoder-only transformer of the Llama family (Llama, SmolLM2, Qwen2 with q/k/v bias), on our
// WGSL kernels. Reads like nanoGPT: a block is two residual lines; buffer plumbing lives in the
// kernels' host functions and the runtime.
//
// Legend: B batch, T new positions, S key positions (cache capacity or T), C = d_model,
//         H = n_heads, Hkv = n_kv_heads, D = d_head, F = d_mlp, V = d_vocab.
// Captures use TransformerLens hook names (see HOOKS below); a captured tensor is handed to the
// caller, who disposes it; everything else is given back to the pool as soon as it is dead.
import type { Runtime } from '../gpu/runtime.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { matmul } from '../../../shaders/matmul_forward.ts';
import { embeddingForward } from '../../../shaders/embedding_forward.ts';
import { rmsnormForward } from '../../../shaders/rmsnorm_forward.ts';
import { ropeKvWrite } from '../../../shaders/rope_kv_write.ts';
import { gemvRmsnorm } from '../../../shaders/gemv_rmsnorm.ts';
import { gemvSwiglu } from '../../../shaders/gemv_swiglu.ts';
import { attentionForward } from '../../../shaders/attention_forward.ts';
import { swigluForward } from '../../../shaders/swiglu_forward.ts';
import { add } from '../../../shaders/add_scale.ts';
import { ropeInvFreq, type ModelConfig } from './config.ts';
import type { BlockWeights, ModelWeights } from './weights.ts';
import type { KVCache } from './kvcache.ts';

/** Hook names, TransformerLens style, with their shapes. */
export const HOOKS = {
  embed: 'hook_embed', // [B, T, C]
  residPre: (l: number) => `blocks.${l}.hook_resid_pre`, // [B, T, C]
  pattern: (l: number) => `blocks.${l}.attn.hook_pattern`, // [B, H, T, S]  (head, query, key)
  attnOut: (l: number) => `blocks.${l}.hook_attn_out`, // [B, T, C]
  residMid: (l: number) => `blocks.${l}.hook_resid_mid`, // [B, T, C]
  mlpOut: (l: number) => `blocks.${l}.hook_mlp_out`, // [B, T, C]
  residPost: (l: number) => `blocks.${l}.hook_resid_post`, // [B, T, C]
  lnFinal: 'ln_final.hook_normalized', // [B, T, C]
} as const;

/**
 * At most this many token rows (B·T) take the fused decode path: RMSNorm folded into the GEMV that
 * follows it (ln1 + q|k|v, ln2 + gate/up + SwiGLU, final norm + unembed: 1 dispatch each instead of
 * 2-4). The fused kernels keep W reads to one pass for up to 16 rows.
 */
export const FUSED_MAX_ROWS = 16;

export interface ForwardOptions {
  /** hook names to capture (their tensors are returned, not freed) */
  capture?: ReadonlySet<string>;
  /** append keys/values to this cache (its length is the position offset) and attend over it */
  cache?: KVCache;
  /** [B, T] absolute positions (left-padded batches); default: offset + t */
  positions?: Int32Array;
  /** [B, T] 1 = token, 0 = padding, for a forward without cache (with a cache, the cache holds it) */
  keyMask?: Int32Array;
  /** which logits to compute: every position, the last one per sequence, or none */
  logits?: 'all' | 'last' | 'none';
}

export interface ForwardResult {
  /** [B, T, V] for 'all', [B, 1, V] for 'last' */
  logits: Tensor | null;
  captures: Map<string, Tensor>;
}

export class LlamaModel {
  private invFreq: Float32Array;

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
    const captures = new Map<string, Tensor>();
    const want = (name: string) => opts.capture?.has(name) ?? false;
    const positions = opts.positions ? rt.upload(opts.positions, [B * T], 'i32', 'positions') : null;
    const offset = opts.cache?.length ?? 0;
    if (opts.keyMask && opts.cache) throw new Error('forward: with a KV cache, padding is set on the cache (setPadding)');
    const keyMask = opts.keyMask ? rt.upload(opts.keyMask, [B, T], 'i32', 'key_mask') : undefined;

    let x = embeddingForward(rt, ids, w.embed); // [B, T, C]
    if (want(HOOKS.embed)) captures.set(HOOKS.embed, x);
    for (let l = 0; l < cfg.n_layers; l++) {
      const bw = w.blocks[l];
      // the residual entering block l is also hook_embed (l = 0) or resid_post of block l − 1
      const keepPre = want(HOOKS.residPre(l)) || (l === 0 ? want(HOOKS.embed) : want(HOOKS.residPost(l - 1)));
      if (want(HOOKS.residPre(l))) captures.set(HOOKS.residPre(l), x);
      const z = this.attention(l, bw, x, B, T, offset, positions, keyMask, opts, captures); // [B·T, H·D]
      const mid = this.residualAdd(x, z, bw.wo, keepPre, want(HOOKS.attnOut(l)) ? HOOKS.attnOut(l) : null, captures); // resid_mid [B, T, C]
      const act = this.mlp(bw, mid); // [B·T, F]
      x = this.residualAdd(mid, act, bw.wdown, want(HOOKS.residMid(l)), want(HOOKS.mlpOut(l)) ? HOOKS.mlpOut(l) : null, captures); // resid_post [B, T, C]
      if (want(HOOKS.residMid(l))) captures.set(HOOKS.residMid(l), mid);
      if (want(HOOKS.residPost(l))) captures.set(HOOKS.residPost(l), x);
    }
    opts.cache?.advance(T);
    positions?.dispose();
    keyMask?.dispose();

    const keepX = want(HOOKS.residPost(cfg.n_layers - 1));
    const t = opts.logits === 'last' ? 1 : T; // positions whose logits are wanted
    /** rows [B·t, C] of `src` [B, T, C] at those positions (a copy when only the last is wanted) */
    const pick = (src: Tensor): { rows: Tensor; copy: Tensor | null } => {
      if (t === T) return { rows: src.view([B * T, C]), copy: null };
      const copy = rt.empty([B, C], 'f32', 'last_rows'); // [B, C]
      for (let b = 0; b < B; b++) rt.copy(src, (b * T + T - 1) * C, copy, b * C, C);
      return { rows: copy, copy };
    };
    let logits: Tensor | null = null;
    if (opts.logits !== 'none' && !want(HOOKS.lnFinal) && B * t <= FUSED_MAX_ROWS) {
      // decode: final norm and unembed in one dispatch, on the wanted rows only
      const { rows, copy } = pick(x);
      logits = gemvRmsnorm(rt, rows, w.lnFinal, cfg.rms_norm_eps, [w.unembed], null).reshape([B, t, cfg.d_vocab]); // [B, t, V]
      copy?.dispose();
      if (!keepX) x.dispose();
      return { logits, captures };
    }
    const { y: normed, rstd } = rmsnormForward(rt, x, w.lnFinal, cfg.rms_norm_eps); // [B, T, C]
    rstd.dispose();
    if (!keepX) x.dispose();
    if (opts.logits !== 'none') {
      const { rows, copy } = pick(normed);
      logits = matmul(rt, rows, w.unembed, { transB: true }).reshape([B, t, cfg.d_vocab]); // [B, t, V]
      copy?.dispose();
    }
    if (want(HOOKS.lnFinal)) captures.set(HOOKS.lnFinal, normed);
    else normed.dispose();
    return { logits, captures };
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
    captures: Map<string, Tensor>,
  ): Tensor {
    const { rt, cfg } = this;
    const [H, Hkv, D] = [cfg.n_heads, cfg.n_kv_heads, cfg.d_head];
    const qkv = this.normThenProject(x, bw.ln1, bw.wqkv, bw.bqkv).reshape([B, T, (H + 2 * Hkv) * D]); // [B, T, (H+2Hkv)·D]
    // keys/values go straight into the cache (or, without one, into this forward's own [B, T, Hkv, D])
    const keys = opts.cache ? opts.cache.k[l] : rt.empty([B, T, Hkv, D], 'f32', 'k');
    const values = opts.cache ? opts.cache.v[l] : rt.empty([B, T, Hkv, D], 'f32', 'v');
    const q = ropeKvWrite(rt, qkv, H, Hkv, keys, values, { cacheAt: offset, offset: positions ? 0 : offset, positions, invFreq: this.invFreq }); // [B, T, H, D]
    qkv.dispose();
    const keyMask = opts.cache ? opts.cache.maskTensor() : mask;
    const wantPattern = opts.capture?.has(HOOKS.pattern(l)) ?? false;
    const a = attentionForward(rt, q, keys, values, { offset, keyMask, writeProbs: wantPattern }); // out [B, T, H, D]
    if (a.probs) captures.set(HOOKS.pattern(l), a.probs); // [B, H, T, S]
    a.lse.dispose();
    q.dispose();
    if (!opts.cache) {
      keys.dispose();
      values.dispose();
    }
    return a.out.reshape([B * T, H * D]); // z [B·T, H·D], before o_proj
  }

  /**
   * resid + inp·Wᵀ (o_proj or down_proj). In place (matmul accumulating into the residual stream,
   * no extra dispatch or buffer) unless the residual must survive (a hook holds it) or the
   * projection itself is captured (`captureAs`: hook_attn_out / hook_mlp_out, or null). Disposes
   * `inp` and, when it is not kept, the old residual.
   */
  private residualAdd(resid: Tensor, inp: Tensor, W: Tensor, keepResid: boolean, captureAs: string | null, captures: Map<string, Tensor>): Tensor {
    const { rt } = this;
    const [B, T, C] = resid.shape;
    let out: Tensor;
    if (!keepResid && captureAs === null) {
      matmul(rt, inp, W, { transB: true, out: resid.view([B * T, C]), accumulate: true }); // resid += inp·Wᵀ
      out = resid;
    } else {
      const proj = matmul(rt, inp, W, { transB: true }).reshape([B, T, C]); // [B, T, C]
      out = add(rt, resid, proj);
      if (captureAs !== null) captures.set(captureAs, proj);
      else proj.dispose();
      if (!keepResid) resid.dispose();
    }
    inp.dispose();
    return out;
  }

  /** ln2 → SwiGLU: silu(gate(h)) · up(h); down_proj is applied by residualAdd. */
  private mlp(bw: BlockWeights, x: Tensor): Tensor {
    const { rt, cfg } = this;
    const [B, T] = x.shape;
    const rows = x.view([B * T, cfg.d_model]);
    if (B * T <= FUSED_MAX_ROWS) return gemvSwiglu(rt, rows, { g: bw.ln2, eps: cfg.rms_norm_eps }, bw.wgate, bw.wup); // [B·T, F]
    const { y: h, rstd } = rmsnormForward(rt, x, bw.ln2, cfg.rms_norm_eps); // [B, T, C]
    rstd.dispose();
    const hr = h.view([B * T, cfg.d_model]);
    const gate = matmul(rt, hr, bw.wgate, { transB: true }); // [B·T, F]
    const up = matmul(rt, hr, bw.wup, { transB: true }); // [B·T, F]
    h.dispose();
    const act = swigluForward(rt, gate, up); // [B·T, F]
    gate.dispose();
    up.dispose();
    return act; // [B·T, F], before down_proj
  }

  /** rmsnorm(x; g) · Wᵀ + b for x [B, T, C] → [B·T, N]; one fused dispatch for few rows. */
  private normThenProject(x: Tensor, g: Tensor, W: Tensor, b: Tensor | null): Tensor {
    const { rt, cfg } = this;
    const [B, T, C] = x.shape;
    if (B * T <= FUSED_MAX_ROWS) return gemvRmsnorm(rt, x.view([B * T, C]), g, cfg.rms_norm_eps, [W], b); // [B·T, N]
    const { y: h, rstd } = rmsnormForward(rt, x, g, cfg.rms_norm_eps); // [B, T, C]
    rstd.dispose();
    const out = matmul(rt, h.view([B * T, C]), W, { transB: true, bias: b ?? undefined }); // [B·T, N]
    h.dispose();
    return out;
  }
}
