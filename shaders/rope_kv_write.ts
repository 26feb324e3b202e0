// rope_kv_write: the fused q|k|v projection → RoPE'd q, and RoPE'd k plus v written into the KV cache.
import body from './rope_kv_write.wgsl';
import turns from './rope_turns.wgsl';
import { cdiv, grid1d, packUniforms, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import { expectShape, type Tensor } from '../src/engine/gpu/tensor.ts';
import { ROPE_MAX_POSITION, ropeTable } from './rope_forward.ts';

export const ropeKvWriteSpec: KernelSpec = {
  name: 'rope_kv_write',
  code: turns + body, // shared angle reduction first (WGSL has no include)
  bindings: ['uniform', 'read', 'read', 'read', 'storage', 'storage', 'storage'],
};

export interface RopeKvWriteOptions {
  /** first cache slot to write (tokens already cached) */
  cacheAt: number;
  /** added to every rope position; positions default to offset + t */
  offset: number;
  /** i32 [B·T] per-token positions (left-padded batches) */
  positions?: Tensor | null;
  /** inverse frequencies [D/2] (host numbers; transformers' f32 values for exact parity) */
  invFreq: ArrayLike<number>;
}

/**
 * qkv [B, T, (H + 2·Hkv)·D] → q [B, T, H, D] (returned); writes rope(k) and v into kc, vc
 * [B, S, Hkv, D] at slots cacheAt..cacheAt + T − 1.
 */
export function ropeKvWrite(rt: Runtime, qkv: Tensor, H: number, Hkv: number, kc: Tensor, vc: Tensor, opts: RopeKvWriteOptions): Tensor {
  const [B, T] = qkv.shape;
  const D = kc.shape[3];
  if (D % 2 !== 0 || D === 0) throw new Error(`rope_kv_write: head dim must be even, got ${kc}`);
  expectShape(qkv, [B, T, (H + 2 * Hkv) * D], 'rope_kv_write: qkv', ['f32']);
  const S = kc.shape[1];
  expectShape(kc, [B, S, Hkv, D], 'rope_kv_write: k cache', ['f32']);
  expectShape(vc, [B, S, Hkv, D], 'rope_kv_write: v cache', ['f32']);
  if (opts.cacheAt < 0 || opts.cacheAt + T > S) throw new Error(`rope_kv_write: slots ${opts.cacheAt}..${opts.cacheAt + T - 1} outside the cache of ${S}`);
  if (opts.invFreq.length !== D / 2) throw new Error(`rope_kv_write: invFreq needs ${D / 2} values, got ${opts.invFreq.length}`);
  const pos = opts.positions ?? null;
  if (pos && (pos.dtype !== 'i32' || pos.numel !== B * T)) throw new Error(`rope_kv_write: positions must be i32 [${B * T}], got ${pos}`);
  if (!pos && (opts.offset < -ROPE_MAX_POSITION || opts.offset + T - 1 > ROPE_MAX_POSITION)) throw new Error(`rope_kv_write: positions beyond ±${ROPE_MAX_POSITION}`);
  const half = D / 2;
  const R = B * T;
  const tab = ropeTable(rt, opts.invFreq); // [D/2, 4]
  const q = rt.empty([B, T, H, D], 'f32', 'rope_kv_write.q');
  const n = R * (H + 2 * Hkv) * half;
  rt.dispatch(ropeKvWriteSpec, {
    tensors: [qkv, tab, pos ?? tab, q, kc, vc],
    uniforms: packUniforms([
      ['u32', R], ['u32', T], ['u32', H], ['u32', Hkv], ['u32', half], ['u32', S],
      ['i32', opts.offset], ['u32', pos ? 1 : 0], ['u32', opts.cacheAt], ['u32', 0], ['u32', 0], ['u32', 0],
    ]),
    workgroups: grid1d(cdiv(n, 256)),
  });
  return q;
}
