// rope_qkv_backward: the gradient of rope_kv_write in a training forward (no KV cache) — dq, dk, dv
// → d(fused q|k|v projection output), with RoPE undone on q and k. One dispatch instead of two
// rope_backward calls and a strided concatenation.
import body from './rope_qkv_backward.wgsl';
import turns from './rope_turns.wgsl';
import { cdiv, grid1d, packUniforms, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import { expectShape, type Tensor } from '../src/engine/gpu/tensor.ts';
import { ROPE_MAX_POSITION, ropeTable } from './rope_forward.ts';

export const ropeQkvBackwardSpec: KernelSpec = {
  name: 'rope_qkv_backward',
  code: turns + body, // shared angle reduction first (WGSL has no include)
  bindings: ['uniform', 'read', 'read', 'read', 'read', 'read', 'storage'],
};

export interface RopeQkvBackwardOptions {
  /** added to every rope position; positions default to offset + t */
  offset?: number;
  /** i32 [B·T] per-token positions, as the forward used */
  positions?: Tensor | null;
  /** inverse frequencies [D/2], the forward's */
  invFreq: ArrayLike<number>;
  /**
   * G > 1: dk and dv are per-query-head partials [B, T, Hkv·G, D] (attentionBackward's `sumKv: false`), summed here
   * over the G query heads of each kv head, in order, as the split-K reduce that this spares would (default 1)
   */
  kvGroup?: number;
}

/**
 * dq [B, T, H, D], dk and dv [B, T, Hkv, D] (or [B, T, Hkv·G, D] with kvGroup G) → dqkv [B, T, (H + 2·Hkv)·D] (new
 * tensor), the gradient of the fused projection output that rope_kv_write read.
 */
export function ropeQkvBackward(rt: Runtime, dq: Tensor, dk: Tensor, dv: Tensor, opts: RopeQkvBackwardOptions): Tensor {
  if (dq.shape.length !== 4 || dk.shape.length !== 4) throw new Error(`rope_qkv_backward: dq ${dq} and dk ${dk} must be [B, T, heads, D]`);
  const [B, T, H, D] = dq.shape;
  const G = opts.kvGroup ?? 1;
  if (!Number.isInteger(G) || G < 1 || dk.shape[2] % G !== 0) throw new Error(`rope_qkv_backward: kvGroup ${G} must be a whole divisor of dk's ${dk.shape[2]} heads (${dk})`);
  const Hkv = dk.shape[2] / G;
  if (D % 2 !== 0 || D === 0) throw new Error(`rope_qkv_backward: head dim must be even, got ${dq}`);
  expectShape(dq, [B, T, H, D], 'rope_qkv_backward: dq', ['f32']);
  expectShape(dk, [B, T, Hkv * G, D], 'rope_qkv_backward: dk', ['f32']);
  expectShape(dv, [B, T, Hkv * G, D], 'rope_qkv_backward: dv', ['f32']);
  if (opts.invFreq.length !== D / 2) throw new Error(`rope_qkv_backward: invFreq needs ${D / 2} values, got ${opts.invFreq.length}`);
  const offset = opts.offset ?? 0;
  const pos = opts.positions ?? null;
  if (pos && (pos.dtype !== 'i32' || pos.numel !== B * T)) throw new Error(`rope_qkv_backward: positions must be i32 [${B * T}], got ${pos}`);
  if (!pos && (offset < -ROPE_MAX_POSITION || offset + T - 1 > ROPE_MAX_POSITION)) throw new Error(`rope_qkv_backward: positions beyond ±${ROPE_MAX_POSITION}`);
  const half = D / 2;
  const R = B * T;
  const tab = ropeTable(rt, opts.invFreq); // [D/2, 4]
  const dqkv = rt.empty([B, T, (H + 2 * Hkv) * D], 'f32', 'rope_qkv_backward.dqkv'); // [B, T, (H+2Hkv)·D]
  const n = R * (H + 2 * Hkv) * half;
  if (n === 0) return dqkv;
  rt.dispatch(ropeQkvBackwardSpec, {
    tensors: [dq, dk, dv, tab, pos ?? tab, dqkv],
    uniforms: packUniforms([['u32', R], ['u32', T], ['u32', H], ['u32', Hkv], ['u32', half], ['i32', offset], ['u32', pos ? 1 : 0], ['u32', G]]),
    workgroups: grid1d(cdiv(n, 256)),
  });
  return dqkv;
}
