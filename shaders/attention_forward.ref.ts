// Reference for attention_forward.wgsl, in float64: causal grouped-query attention with a KV-cache
// offset and an optional key padding mask. Naive loops over (b, h, i, j), as in llm.c's CPU reference.
//
// Legend: B batch, T queries, S keys, H query heads, Hkv kv heads, D head dim.
//   q [B, T, H, D], k/v [B, S, Hkv, D], keyMask [B, S] or [S] (nonzero = attend)
//   out [B, T, H, D], lse [B, H, T], probs [B, H, T, S]  (B = 1 for one sequence)

import type { AttnDims } from './attention_forward.ts';

export type { AttnDims };

export interface AttnOpts {
  offset?: number;
  scale?: number;
  /** [B, S] or [S]; nonzero = attend */
  keyMask?: ArrayLike<number>;
}

/** Whether query i (absolute position offset + i) of batch b sees key j. */
export function visibleRef(dims: AttnDims, opts: AttnOpts, b: number, i: number, j: number): boolean {
  const offset = opts.offset ?? 0;
  if (j > offset + i || j >= dims.S) return false;
  const mk = opts.keyMask;
  if (!mk) return true;
  return mk[mk.length === dims.S ? j : b * dims.S + j] !== 0; // [S] is shared by every batch row
}

/**
 * Scores s[b, h, i, j] = scale · q_i · k_j for visible keys, -Infinity otherwise, and the softmax.
 * Returns probs [B, H, T, S] (rows with no visible key are zeros) and lse [B, H, T] (-Infinity there).
 */
export function attentionProbsRef(q: ArrayLike<number>, k: ArrayLike<number>, dims: AttnDims, opts: AttnOpts = {}): { probs: Float64Array; lse: Float64Array } {
  const { B, T, S, H, Hkv, D } = dims;
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const G = H / Hkv; // query heads per kv head
  const probs = new Float64Array(B * H * T * S); // [B, H, T, S]
  const lse = new Float64Array(B * H * T); // [B, H, T]
  const s = new Float64Array(S); // one row of scores
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const hk = Math.floor(h / G);
      for (let i = 0; i < T; i++) {
        // pass 1: scores of visible keys (invisible ones stay -Infinity) and their max
        let m = -Infinity;
        for (let j = 0; j < S; j++) {
          s[j] = -Infinity;
          if (!visibleRef(dims, opts, b, i, j)) continue;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[((b * T + i) * H + h) * D + d] * k[((b * S + j) * Hkv + hk) * D + d];
          s[j] = scale * dot;
          m = Math.max(m, s[j]);
        }
        const row = (b * H + h) * T + i;
        if (m === -Infinity) {
          lse[row] = -Infinity; // nothing visible: probs stay zero
          continue;
        }
        // pass 2: Σ exp(s - m) ≥ 1 (the max contributes 1), lse = m + log Σ
        let sum = 0;
        for (let j = 0; j < S; j++) sum += s[j] === -Infinity ? 0 : Math.exp(s[j] - m);
        lse[row] = m + Math.log(sum);
        for (let j = 0; j < S; j++) probs[row * S + j] = s[j] === -Infinity ? 0 : Math.exp(s[j] - m) / sum;
      }
    }
  }
  return { probs, lse };
}

/** out[b, i, h, :] = Σ_j probs[b, h, i, j] · v[b, j, h / (H / Hkv), :], with lse and probs. */
export function attentionForwardRef(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  dims: AttnDims,
  opts: AttnOpts = {},
): { out: Float64Array; lse: Float64Array; probs: Float64Array } {
  const { B, T, S, H, Hkv, D } = dims;
  const G = H / Hkv; // query heads per kv head (repeat_kv)
  const { probs, lse } = attentionProbsRef(q, k, dims, opts);
  const out = new Float64Array(B * T * H * D); // [B, T, H, D]
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const hk = Math.floor(h / G);
      for (let i = 0; i < T; i++) {
        const row = (b * H + h) * T + i;
        const oo = ((b * T + i) * H + h) * D;
        // out_i = Σ_j p_ij v_j, skipping invisible keys (their v may be NaN: an unwritten cache slot)
        for (let j = 0; j < S; j++) {
          const p = probs[row * S + j];
          if (p === 0) continue;
          const vo = ((b * S + j) * Hkv + hk) * D;
          for (let d = 0; d < D; d++) out[oo + d] += p * v[vo + d];
        }
      }
    }
  }
  return { out, lse, probs };
}

/**
 * fp32 resolution of the logits: 4·eps32·max over (query, key) of scale·Σ_d |q_d·k_d|. An fp32 dot
 * product of these terms is uncertain by about this much (absolute), so exp(s − lse) carries that
 * much *relative* error whatever the kernel does (PyTorch's fp32 attention too). Tests of huge
 * logits (~1e4, where this is ~1e-3) widen their absolute tolerance by it; at ordinary logits it is
 * below 1e-5 and changes nothing.
 */
export function logitResolution(q: ArrayLike<number>, k: ArrayLike<number>, dims: AttnDims, scale = 1 / Math.sqrt(dims.D)): number {
  const { B, T, S, H, Hkv, D } = dims;
  let worst = 0;
  for (let b = 0; b < B; b++)
    for (let i = 0; i < T; i++)
      for (let h = 0; h < H; h++) {
        const hk = Math.floor(h / (H / Hkv));
        for (let j = 0; j < S; j++) {
          let s = 0;
          for (let d = 0; d < D; d++) s += Math.abs(q[((b * T + i) * H + h) * D + d] * k[((b * S + j) * Hkv + hk) * D + d]);
          if (Number.isFinite(s)) worst = Math.max(worst, s * Math.abs(scale)); // NaN cache tails are never visible
        }
      }
  return 4 * 2 ** -23 * worst;
}
