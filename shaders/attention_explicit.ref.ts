// Reference for attention_explicit.wgsl, in float64: the three explicit attention steps (scores,
// pattern, z = pattern · V) with a KV-cache offset and an optional key padding mask. Naive loops
// over (b, h, i, j), as in llm.c's CPU reference.
//
// Legend: B batch, T queries, S keys in use, Smax rows of the k/v buffer (>= S, default S), H query
// heads, Hkv kv heads, D head dim.
//   q [B, T, H, D], k/v [B, Smax, Hkv, D], keyMask [B, Smax] or [Smax] (nonzero = attend)
//   scores [B, H, T, S], pattern [B, H, T, S], z [B, T, H, D]

import type { AttnDims } from './attention_forward.ts';

/** Attention sizes; Smax (default S) is dim 1 of the k/v buffer and the keyMask's last dim. */
export interface ExplicitDims extends AttnDims {
  Smax?: number;
}

export interface ExplicitOpts {
  offset?: number;
  scale?: number;
  /** [B, Smax] or [Smax]; nonzero = attend */
  keyMask?: ArrayLike<number>;
}

/** The kernel's score for an invisible key: fp32's -3.402823e38, never -Infinity. */
export const MASKED_SCORE = Math.fround(-3.402823e38);

/** Whether query i (absolute position offset + i) of batch b sees key j (attention_forward's rule). */
export function visibleExplicitRef(dims: ExplicitDims, opts: ExplicitOpts, b: number, i: number, j: number): boolean {
  const offset = opts.offset ?? 0;
  if (j > offset + i || j >= dims.S) return false;
  const mk = opts.keyMask;
  if (!mk) return true;
  const Smax = dims.Smax ?? dims.S;
  if (mk.length !== Smax && mk.length !== dims.B * Smax) throw new Error(`keyMask has ${mk.length} entries, want [B, Smax] or [Smax] (B=${dims.B}, Smax=${Smax})`);
  return mk[mk.length === Smax ? j : b * Smax + j] !== 0; // [Smax] is shared by every batch row
}

/** scores[b, h, i, j] = scale · q_i · k_j (float64) for visible keys, MASKED_SCORE otherwise. */
export function attentionScoresRef(q: ArrayLike<number>, k: ArrayLike<number>, dims: ExplicitDims, opts: ExplicitOpts = {}): Float64Array {
  const { B, T, S, H, Hkv, D } = dims;
  const Smax = dims.Smax ?? S;
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const G = H / Hkv; // query heads per kv head (repeat_kv)
  const scores = new Float64Array(B * H * T * S); // [B, H, T, S]
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const hk = Math.floor(h / G);
      for (let i = 0; i < T; i++)
        for (let j = 0; j < S; j++) {
          const at = ((b * H + h) * T + i) * S + j;
          // invisible keys are never read (a cache slot past the filled length may hold NaN)
          if (!visibleExplicitRef(dims, opts, b, i, j)) {
            scores[at] = MASKED_SCORE;
            continue;
          }
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[((b * T + i) * H + h) * D + d] * k[((b * Smax + j) * Hkv + hk) * D + d];
          scores[at] = scale * dot;
        }
    }
  return scores;
}

/**
 * Softmax of each scores row over its visible keys (visibility from offset / keyMask / causality,
 * not from the values), 0 elsewhere; a row with no visible key is all 0. scores [B, H, T, S].
 */
export function attentionPatternRef(scores: ArrayLike<number>, dims: ExplicitDims, opts: ExplicitOpts = {}): Float64Array {
  const { B, T, S, H } = dims;
  const pattern = new Float64Array(B * H * T * S); // [B, H, T, S]
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < T; i++) {
        const row = ((b * H + h) * T + i) * S;
        // pass 1: max over the visible keys (-Infinity when none is visible)
        let m = -Infinity;
        for (let j = 0; j < S; j++) if (visibleExplicitRef(dims, opts, b, i, j)) m = Math.max(m, scores[row + j]);
        if (m === -Infinity) continue; // nothing visible: the row stays zero
        // pass 2: Σ exp(s - m) >= 1 (the max contributes 1); pass 3: normalise
        let sum = 0;
        for (let j = 0; j < S; j++) if (visibleExplicitRef(dims, opts, b, i, j)) sum += Math.exp(scores[row + j] - m);
        for (let j = 0; j < S; j++) pattern[row + j] = visibleExplicitRef(dims, opts, b, i, j) ? Math.exp(scores[row + j] - m) / sum : 0;
      }
  return pattern;
}

/**
 * z[b, i, h, :] = Σ_{j<S} pattern[b, h, i, j] · v[b, j, h / (H / Hkv), :], no masking (the pattern
 * carries it); zero weights are skipped, as in the kernel (v may be NaN in unwritten cache slots).
 */
export function attentionApplyRef(pattern: ArrayLike<number>, v: ArrayLike<number>, dims: ExplicitDims): Float64Array {
  const { B, T, S, H, Hkv, D } = dims;
  const Smax = dims.Smax ?? S;
  const G = H / Hkv;
  const z = new Float64Array(B * T * H * D); // [B, T, H, D]
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const hk = Math.floor(h / G);
      for (let i = 0; i < T; i++) {
        const row = ((b * H + h) * T + i) * S;
        const zo = ((b * T + i) * H + h) * D;
        for (let j = 0; j < S; j++) {
          const p = pattern[row + j];
          if (p === 0) continue;
          const vo = ((b * Smax + j) * Hkv + hk) * D;
          for (let d = 0; d < D; d++) z[zo + d] += p * v[vo + d];
        }
      }
    }
  return z;
}
