// attention_explicit: causal grouped-query attention in three explicit steps — scores, pattern,
// z = pattern · V — for interpretability hooks that read or overwrite the intermediates
// (TransformerLens blocks.{l}.attn.hook_attn_scores, hook_pattern, hook_z). Same visibility rule as
// attention_forward (KV-cache offset, key padding mask, causality); naive kernels only (a thread per
// output element, a workgroup per softmax row): the fast path stays attention_forward's flash kernel.
//
// Legend: B batch, T queries, S keys in use, Smax rows of the k/v buffer (a KV cache's capacity,
// >= S), H query heads, Hkv kv heads (query head h reads kv head floor(h / (H / Hkv))), D head dim.
//
// S defaults to k.shape[1], as attention_forward takes it: with a KV cache that is the capacity and
// the keys past offset + T are hidden by causality (so scores/pattern match attention_forward's
// probs [B, H, T, Smax] entry for entry). A smaller S (e.g. offset + T) trims the hidden tail.
import code from './attention_explicit.wgsl';
import { cdiv, grid1d, packUniforms, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import type { Tensor } from '../src/engine/gpu/tensor.ts';

// one binding layout for the three entry points: [U, a (q | scores | pattern), kv (k | v), mask, out]
const bindings = ['uniform', 'read', 'read', 'read', 'storage'] as const;
export const attentionScoresSpec: KernelSpec = { name: 'attention_explicit_scores', code, entryPoint: 'scores_main', bindings };
export const attentionPatternSpec: KernelSpec = { name: 'attention_explicit_pattern', code, entryPoint: 'pattern_main', bindings };
export const attentionApplySpec: KernelSpec = { name: 'attention_explicit_apply', code, entryPoint: 'apply_main', bindings };

export interface AttentionScoresOpts {
  /** keys in use, 1..k.shape[1]; default k.shape[1] (attention_forward's S) */
  S?: number;
  /** absolute position of query 0 (KV cache length before this call); query i sees keys j <= offset + i */
  offset?: number;
  /** score scale, default 1/sqrt(D) */
  scale?: number;
  /** [B, S'] or [S'] u32/i32 with S' >= S (a cache's [B, Smax] mask), 1 = attend, 0 = masked */
  keyMask?: Tensor;
}

export interface AttentionPatternOpts {
  /** as for attentionScores: the pattern recomputes visibility from these, not from the scores */
  offset?: number;
  keyMask?: Tensor;
}

/** attentionApply's options (none mask: the pattern carries the masking). */
export interface AttentionApplyOpts {
  /** multiplies the sum (default 1: hook_z); the explicit backward's dq = scale · dscores · k uses it */
  scale?: number;
}

const U32_MAX = 0xffffffff;

interface Dims {
  B: number;
  T: number;
  S: number;
  Smax: number;
  H: number;
  Hkv: number;
  D: number;
}

/** t's shape, checked to be f32 of rank 4 (`want` names its axes) and addressable by the kernels' u32 indices. */
export function checkF32(what: string, name: string, t: Tensor, want: string): readonly number[] {
  if (t.dtype !== 'f32' || t.shape.length !== 4) throw new Error(`${what}: ${name} must be f32 ${want}, got ${t}`);
  if (t.numel > 0xffffffff) throw new Error(`${what}: ${name} ${t} is too large`);
  return t.shape;
}

function checkOffset(what: string, offset: number): number {
  if (!Number.isInteger(offset) || offset < 0) throw new Error(`${what}: offset ${offset} must be a non-negative integer`);
  return offset;
}

/** Row stride of keyMask in the kernel: S' for [B, S'], 0 for one [S'] row shared by the batch. */
function maskStride(what: string, mk: Tensor | undefined, B: number, S: number): number {
  if (!mk) return 0;
  if (mk.dtype !== 'u32' && mk.dtype !== 'i32') throw new Error(`${what}: keyMask must be u32/i32, got ${mk}`);
  if (mk.shape.length === 2 && mk.shape[0] === B && mk.shape[1] >= S) return mk.shape[1];
  if (mk.shape.length === 1 && mk.shape[0] >= S) return 0;
  throw new Error(`${what}: keyMask must be [B, S'] or [S'] with S' >= S (S=${S}, B=${B}), got ${mk}`);
}

function uniforms(s: Dims, offset: number, scale: number, mk: Tensor | undefined, stride: number): ArrayBuffer {
  return packUniforms([
    ['u32', s.B], ['u32', s.T], ['u32', s.S], ['u32', s.H],
    ['u32', s.Hkv], ['u32', s.D], ['u32', offset], ['f32', scale],
    ['u32', mk ? 1 : 0], ['u32', stride], ['u32', s.Smax], ['u32', 0],
  ]);
}

/**
 * Step 1, hook_attn_scores: scores[b, h, i, j] = scale · q[b, i, h, :] · k[b, j, h / (H / Hkv), :]
 * for visible (i, j), -3.402823e38 otherwise. q [B, T, H, D], k [B, Smax, Hkv, D] → [B, H, T, S].
 */
export function attentionScores(rt: Runtime, q: Tensor, k: Tensor, opts: AttentionScoresOpts = {}): Tensor {
  const what = 'attention_scores';
  checkF32(what, 'q', q, '[B, T, H, D]');
  checkF32(what, 'k', k, '[B, Smax, Hkv, D]');
  const [B, T, H, D] = q.shape;
  const [Bk, Smax, Hkv, Dk] = k.shape;
  if (Bk !== B || Dk !== D) throw new Error(`${what}: k ${k} does not match q ${q} (batch and head dim)`);
  if (Hkv < 1 || H % Hkv !== 0) throw new Error(`${what}: H=${H} is not a multiple of Hkv=${Hkv}`);
  if (T < 1 || Smax < 1 || D < 1) throw new Error(`${what}: empty q ${q} or k ${k}`);
  const S = opts.S ?? Smax;
  if (!Number.isInteger(S) || S < 1 || S > Smax) throw new Error(`${what}: S=${S} must be an integer in 1..${Smax} (k ${k})`);
  const offset = checkOffset(what, opts.offset ?? 0);
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  if (!Number.isFinite(scale)) throw new Error(`${what}: scale ${scale} must be finite`);
  const stride = maskStride(what, opts.keyMask, B, S);
  const n = B * H * T * S;
  if (n > U32_MAX) throw new Error(`${what}: scores [${B}, ${H}, ${T}, ${S}] is too large`);
  const out = rt.empty([B, H, T, S], 'f32', 'attention.scores'); // [B, H, T, S]
  rt.dispatch(attentionScoresSpec, {
    tensors: [q, k, opts.keyMask ?? q, out],
    uniforms: uniforms({ B, T, S, Smax, H, Hkv, D }, offset, scale, opts.keyMask, stride),
    workgroups: grid1d(cdiv(n, 256)),
  });
  return out;
}

/**
 * Step 2, hook_pattern: softmax of each scores row over its visible keys (visibility recomputed from
 * offset, keyMask and causality, never read off the score values), 0 for invisible keys, an all-0
 * row where no key is visible. scores [B, H, T, S] (possibly edited, any finite values) → [B, H, T, S].
 */
export function attentionPattern(rt: Runtime, scores: Tensor, opts: AttentionPatternOpts = {}): Tensor {
  const what = 'attention_pattern';
  checkF32(what, 'scores', scores, '[B, H, T, S]');
  const [B, H, T, S] = scores.shape;
  if (B < 1 || H < 1 || T < 1 || S < 1) throw new Error(`${what}: empty scores ${scores}`);
  const offset = checkOffset(what, opts.offset ?? 0);
  const stride = maskStride(what, opts.keyMask, B, S);
  if (B * H * T * S > U32_MAX) throw new Error(`${what}: scores ${scores} is too large`);
  const out = rt.empty([B, H, T, S], 'f32', 'attention.pattern'); // [B, H, T, S]
  rt.dispatch(attentionPatternSpec, {
    // binding 2 (k/v) is unused by this step: scores fills it (read-only twice is allowed)
    tensors: [scores, scores, opts.keyMask ?? scores, out],
    uniforms: uniforms({ B, T, S, Smax: S, H, Hkv: 1, D: 1 }, offset, 1, opts.keyMask, stride),
    workgroups: grid1d(B * H * T),
  });
  return out;
}

/**
 * Step 3, hook_z: z[b, i, h, :] = scale · Σ_{j<S} pattern[b, h, i, j] · v[b, j, h / (H / Hkv), :] (scale default 1).
 * pattern [B, H, T, S], v [B, Smax, Hkv, D] with S <= Smax → z [B, T, H, D]. No masking: an edited
 * pattern flows on as given (zero weights are skipped, so unwritten cache slots of v are never read).
 */
export function attentionApply(rt: Runtime, pattern: Tensor, v: Tensor, opts: AttentionApplyOpts = {}): Tensor {
  const what = 'attention_apply';
  checkF32(what, 'pattern', pattern, '[B, H, T, S]');
  checkF32(what, 'v', v, '[B, Smax, Hkv, D]');
  const [B, H, T, S] = pattern.shape;
  const [Bv, Smax, Hkv, D] = v.shape;
  if (Bv !== B) throw new Error(`${what}: v ${v} and pattern ${pattern} differ in batch`);
  if (S > Smax) throw new Error(`${what}: pattern ${pattern} has S=${S} keys but v ${v} holds only ${Smax}`);
  if (Hkv < 1 || H % Hkv !== 0) throw new Error(`${what}: H=${H} is not a multiple of Hkv=${Hkv}`);
  if (T < 1 || S < 1 || D < 1) throw new Error(`${what}: empty pattern ${pattern} or v ${v}`);
  if (B * H * T * S > U32_MAX || B * T * H * D > U32_MAX) throw new Error(`${what}: pattern ${pattern} or z is too large`);
  const scale = opts.scale ?? 1;
  if (!Number.isFinite(scale)) throw new Error(`${what}: scale ${scale} must be finite`);
  const out = rt.empty([B, T, H, D], 'f32', 'attention.z'); // [B, T, H, D]
  rt.dispatch(attentionApplySpec, {
    tensors: [pattern, v, pattern, out], // binding 3 (mask) is unused by this step
    uniforms: uniforms({ B, T, S, Smax, H, Hkv, D }, 0, scale, undefined, 0),
    workgroups: grid1d(cdiv(B * T * H * D, 256)),
  });
  return out;
}
