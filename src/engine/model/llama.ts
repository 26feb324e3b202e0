// The decoder-only transformer of the Llama family (Llama, SmolLM2, Qwen2 with q/k/v bias), on our
// WGSL kernels: the embedding, the blocks (./block.ts — the one block definition, which the training graph
// runs too), the final norm and the unembedding.
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
import { matmul } from '../../../shaders/matmul_forward.ts';
import { embeddingForward } from '../../../shaders/embedding_forward.ts';
import { rmsnormForward } from '../../../shaders/rmsnorm_forward.ts';
import { ropeInvFreq, type ModelConfig } from './config.ts';
import type { ModelWeights } from './weights.ts';
import type { KVCache } from './kvcache.ts';
import { HOOKS, HookPoints, type HookFn } from './hooks.ts';
import { blockForward, type AdapterSlots, type BlockEnv } from './block.ts';
import { FUSED_MAX_ROWS, normLinear } from './ops.ts';

export { HOOKS, hookNames, type HookFn } from './hooks.ts';
export { FUSED_MAX_ROWS } from './ops.ts';

/**
 * A LoRA adapter applied unmerged: y = x Wᵀ + scale · (x Aᵀ) Bᵀ on each adapted (layer, target).
 * The trainer's LoraState (train/graph.ts) is one, so rollouts sample from the policy being trained.
 * No dropout at inference.
 */
export type InferenceLora = AdapterSlots;

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

  /**
   * ids: [B, T] i32 on the GPU. Forwards of one shape and kind repeat (prefill benchmarks, an analysis
   * sweep's ablated forwards, GRPO's reference log-probs): each gets the buffers the last one got, so
   * their bind groups are found again (Runtime.repeat).
   */
  forward(ids: Tensor, opts: ForwardOptions = {}): ForwardResult {
    const kind = `forward ${ids.shape.join('x')} ${opts.logits ?? 'all'}${opts.cache ? ' kv' : ''}${opts.startAt ? ` @${opts.startAt.layer}` : ''}${opts.capture?.size ? ' capture' : ''}${opts.hooks?.size ? ' hooks' : ''}`;
    return this.rt.repeat(kind, () => this.forwardOnce(ids, opts));
  }

  private forwardOnce(ids: Tensor, opts: ForwardOptions): ForwardResult {
    const { rt, cfg, w } = this;
    const [B, T] = ids.shape;
    const C = cfg.d_model;
    const hp = new HookPoints(rt, opts.capture, opts.hooks, cfg.n_layers);
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
    const env: BlockEnv = { rt, cfg, w, invFreq: this.invFreq, hp, lora: this.adapter };
    const io = { cache: opts.cache, offset, positions, keyMask };
    for (let l = from; l < cfg.n_layers; l++) x = blockForward(env, l, x, B, T, io, false).out; // resid_post [B, T, C]
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
      logits = normLinear(rt, rows, w.lnFinal, cfg.rms_norm_eps, w.unembed, null, true).y.reshape([B, t, cfg.d_vocab]); // [B, t, V]
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
}
