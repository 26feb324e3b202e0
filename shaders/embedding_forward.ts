// embedding_forward: gather rows of an embedding table by token id.
import code from './embedding_forward.wgsl';
import { cdiv, grid1d, packUniforms, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import type { Tensor } from '../src/engine/gpu/tensor.ts';

export const embeddingForwardSpec: KernelSpec = { name: 'embedding_forward', code, bindings: ['uniform', 'read', 'read', 'storage'] };

const T_DTYPE = { f32: 0, f16: 1, bf16: 2 } as const;

/**
 * out[..., :] = table[ids[...], :] for ids (i32, any shape, e.g. [B, T]) and table [V, C] (f32, f16 or bf16).
 * Returns a new f32 tensor [...ids.shape, C]. Ids outside [0, V) give zero rows: they live on the GPU and
 * are not checked here (that would need a readback); check them where they are made.
 */
export function embeddingForward(rt: Runtime, ids: Tensor, table: Tensor): Tensor {
  if (ids.dtype !== 'i32') throw new Error(`embedding_forward: ids must be i32, got ${ids}`);
  if (table.shape.length !== 2 || !(table.dtype in T_DTYPE)) throw new Error(`embedding_forward: table must be [V, C] f32/f16/bf16, got ${table}`);
  const [V, C] = table.shape;
  const n = ids.numel * C;
  const out = rt.empty([...ids.shape, C], 'f32', 'embedding.out'); // [..., C]
  rt.dispatch(embeddingForwardSpec, {
    tensors: [ids, table, out],
    uniforms: packUniforms([['u32', n], ['u32', Math.max(C, 1)], ['u32', V], ['u32', 0]]),
    constants: { T_DTYPE: T_DTYPE[table.dtype as keyof typeof T_DTYPE] },
    workgroups: grid1d(cdiv(n, 256)),
  });
  return out;
}
