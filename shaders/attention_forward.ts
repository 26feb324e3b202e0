// attention_forward: causal grouped-query self-attention (rows version 3, flash version 2, naive version 1),
// with a KV-cache offset, an optional key padding mask, lse for backward and optional probs.
//
// Legend: B batch, T queries, S keys, H query heads, Hkv kv heads, D head dim (<= 256).
import code from './attention_forward.wgsl';
import rowsBody from './attention_forward_rows.wgsl';
import rowsCommonCode from './attention_rows_common.wgsl';
import rowsKvCode from './attention_rows_kv.wgsl';
import { cdiv, grid1d, packUniforms, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import type { Tensor } from '../src/engine/gpu/tensor.ts';

/** Attention sizes (the legend above); shared with the float64 reference. */
export interface AttnDims {
  B: number;
  T: number;
  S: number;
  H: number;
  Hkv: number;
  D: number;
}

const bindings = ['uniform', 'read', 'read', 'read', 'read', 'storage', 'storage', 'storage'] as const;
export const attentionForwardSpec: KernelSpec = { name: 'attention_forward', code, bindings };
export const attentionForwardNaiveSpec: KernelSpec = { name: 'attention_forward_naive', code, entryPoint: 'naive', bindings };
export const attentionProbsSpec: KernelSpec = { name: 'attention_forward_probs', code, entryPoint: 'probs_pass', bindings };
/** Pieces the rows kernels (version 3) share, prepended to each (WGSL has no include): U, DV4, FR, KS, dot4, sum_subs … */
export const rowsCommon = rowsCommonCode;
/** … and, for those that run query rows through staged key blocks: BC, ks/vs, stage_kv, key_visible, park */
export const rowsKv = rowsKvCode;
export const attentionForwardRowsSpec: KernelSpec = { name: 'attention_forward_rows', code: rowsCommon + rowsKv + rowsBody, bindings };

/** Version 3 (4 threads per query row, each with the head in registers) needs D % 4 == 0 and D <= 64. */
export const attentionRowsApplies = (D: number): boolean => D % 4 === 0 && D <= 64;

/** Throws, naming the caller, when version 3 is asked for a head dim it cannot take. */
export function checkRowsApplies(what: string, D: number): void {
  if (!attentionRowsApplies(D)) throw new Error(`${what}: version 3 needs D % 4 == 0 and D <= 64, got D=${D}`);
}

/** Rows per workgroup of the rows kernels: query rows (forward, dQ), keys (dK, dV); FR in attention_rows_common.wgsl. */
export const ROWS_FR = 32;
/** Query rows below which version 3 leaves most of its workgroups idle (decode, short prefill). */
export const ATTENTION_ROWS_MIN_T = 32;

/** The default version: 3 where the runtime prefers rows, D allows and T >= ATTENTION_ROWS_MIN_T, else 2. */
export function pickAttentionVersion(rt: Runtime, T: number, D: number): 2 | 3 {
  return rt.kernelPrefs.attention === 'rows' && attentionRowsApplies(D) && T >= ATTENTION_ROWS_MIN_T ? 3 : 2;
}

export interface AttentionOpts {
  /** absolute position of query 0 (KV cache length before this call); query i sees keys j <= offset + i */
  offset?: number;
  /** score scale, default 1/sqrt(D) */
  scale?: number;
  /** [S] or [B, S] u32/i32, 1 = attend, 0 = masked (left padding) */
  keyMask?: Tensor;
}

/** Shapes of one attention call, checked; q may be [T, H, D] or [B, T, H, D]. */
export interface AttnShape extends AttnDims {
  batched: boolean;
  offset: number;
  scale: number;
  maskStride: number;
}

/** Checks q/k/v/keyMask shapes and dtypes (shared with attention_backward.ts). */
export function attnShape(what: string, q: Tensor, k: Tensor, v: Tensor, opts: AttentionOpts): AttnShape {
  for (const [n, t] of [['q', q], ['k', k], ['v', v]] as const) {
    if (t.dtype !== 'f32') throw new Error(`${what}: ${n} must be f32, got ${t}`);
  }
  const batched = q.shape.length === 4;
  if (!batched && q.shape.length !== 3) throw new Error(`${what}: q must be [T, H, D] or [B, T, H, D], got ${q}`);
  const [B, T, H, D] = batched ? q.shape : [1, ...q.shape];
  if (k.shape.length !== q.shape.length) throw new Error(`${what}: k ${k} and q ${q} differ in rank`);
  const [Bk, S, Hkv, Dk] = batched ? k.shape : [1, ...k.shape];
  if (Bk !== B || Dk !== D) throw new Error(`${what}: k ${k} does not match q ${q}`);
  if (v.shape.join() !== k.shape.join()) throw new Error(`${what}: v ${v} must match k ${k}`);
  if (Hkv < 1 || H % Hkv !== 0) throw new Error(`${what}: H=${H} is not a multiple of Hkv=${Hkv}`);
  if (D < 1 || D > 256) throw new Error(`${what}: head dim D=${D} must be in 1..256`);
  if (T < 1 || S < 1) throw new Error(`${what}: empty sequence (T=${T}, S=${S})`);
  const offset = opts.offset ?? 0;
  if (!Number.isInteger(offset) || offset < 0) throw new Error(`${what}: offset ${offset} must be a non-negative integer`);
  let maskStride = 0;
  const mk = opts.keyMask;
  if (mk) {
    if (mk.dtype !== 'u32' && mk.dtype !== 'i32') throw new Error(`${what}: keyMask must be u32/i32, got ${mk}`);
    if (mk.shape.length === 2 && mk.shape[0] === B && mk.shape[1] === S) maskStride = S;
    else if (!(mk.shape.length === 1 && mk.shape[0] === S)) throw new Error(`${what}: keyMask must be [S] or [B, S] with S=${S}, B=${B}, got ${mk}`);
  }
  return { B, T, S, H, Hkv, D, batched, offset, scale: opts.scale ?? 1 / Math.sqrt(D), maskStride };
}

export function attnUniforms(s: AttnShape, hasMask: boolean, writeProbs: boolean): ArrayBuffer {
  return packUniforms([
    ['u32', s.B], ['u32', s.T], ['u32', s.S], ['u32', s.H],
    ['u32', s.Hkv], ['u32', s.D], ['u32', s.offset], ['f32', s.scale],
    ['u32', hasMask ? 1 : 0], ['u32', s.maskStride], ['u32', writeProbs ? 1 : 0], ['u32', 0],
  ]);
}

/**
 * Causal attention for one sequence (q [T, H, D], k/v [S, Hkv, D]) or a batch (q [B, T, H, D],
 * k/v [B, S, Hkv, D]). Returns out (shaped like q), lse [H, T] (or [B, H, T]) and, when
 * writeProbs, probs [H, T, S] (or [B, H, T, S]) — TransformerLens' hook_pattern [head, query, key].
 * A query row that sees no key (all masked) gets out = 0, probs = 0 and lse = -3.402823e38.
 * version 1 = naive (a thread per row), 2 = flash, 3 = rows (4 threads per row; D % 4 == 0, D <= 64;
 * see attention_forward_rows.wgsl); default: pickAttentionVersion.
 */
export function attentionForward(
  rt: Runtime,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: AttentionOpts & { writeProbs?: boolean; version?: 1 | 2 | 3 } = {},
): { out: Tensor; lse: Tensor; probs?: Tensor } {
  const s = attnShape('attention_forward', q, k, v, opts);
  const { B, T, S, H } = s;
  const writeProbs = opts.writeProbs ?? false;
  const version = opts.version ?? pickAttentionVersion(rt, s.T, s.D);
  if (writeProbs && B * H * T * S > 0xffffffff) throw new Error(`attention_forward: probs [${B}, ${H}, ${T}, ${S}] is too large`);
  if (cdiv(T, 16) > 65535) throw new Error(`attention_forward: T=${T} exceeds 16·65535 query rows`);
  const out = rt.empty(q.shape, 'f32', 'attention.out'); // [B?, T, H, D]
  const lse = rt.empty(s.batched ? [B, H, T] : [H, T], 'f32', 'attention.lse'); // [B?, H, T]
  const probs = writeProbs ? rt.empty(s.batched ? [B, H, T, S] : [H, T, S], 'f32', 'attention.probs') : undefined; // [B?, H, T, S]
  const dummy = probs ? null : rt.empty([1], 'f32', 'attention.no_probs');
  const tensors = [q, k, v, opts.keyMask ?? q, out, lse, probs ?? dummy!];
  const uniforms = attnUniforms(s, !!opts.keyMask, writeProbs);
  if (version === 1) {
    rt.dispatch(attentionForwardNaiveSpec, { tensors, uniforms, workgroups: grid1d(cdiv(B * H * T, 64)) });
  } else {
    if (version === 3) {
      checkRowsApplies('attention_forward', s.D);
      rt.dispatch(attentionForwardRowsSpec, { tensors, uniforms, workgroups: [cdiv(T, ROWS_FR), H, B], constants: { DV4: s.D / 4 } });
    } else {
      rt.dispatch(attentionForwardSpec, { tensors, uniforms, workgroups: [cdiv(T, 16), H, B] });
    }
    // versions 2 and 3 write lse only: the probabilities come from it in a second pass
    if (probs) rt.dispatch(attentionProbsSpec, { tensors, uniforms, workgroups: grid1d(cdiv(B * H * T * S, 256)) });
  }
  dummy?.dispose(); // recorded work keeps using it in queue order
  return probs ? { out, lse, probs } : { out, lse };
}
