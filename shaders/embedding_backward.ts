// embedding_backward: dtable += scatter-add of dout rows by token id, deterministic (CSR built on the CPU).
import code from './embedding_backward.wgsl';
import { grid1d, packUniforms, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import type { Tensor } from '../src/engine/gpu/tensor.ts';

export const embeddingBackwardSpec: KernelSpec = { name: 'embedding_backward', code, bindings: ['uniform', 'read', 'read', 'storage'] };

/**
 * CSR of positions grouped by id: [uniq (ascending) | offsets (U + 1) | positions]. Ids outside [0, V)
 * are left out (their forward rows were constant zeros, so they have no gradient).
 */
export function embeddingCsr(ids: ArrayLike<number>, V: number): { csr: Uint32Array; unique: number } {
  const order: number[] = [];
  for (let n = 0; n < ids.length; n++) if (ids[n] >= 0 && ids[n] < V) order.push(n);
  order.sort((a, b) => ids[a] - ids[b] || a - b); // by id, then by position
  const uniq: number[] = [];
  const offsets: number[] = [];
  order.forEach((n, j) => {
    if (j === 0 || ids[n] !== ids[order[j - 1]]) {
      uniq.push(ids[n]);
      offsets.push(j);
    }
  });
  offsets.push(order.length);
  return { csr: Uint32Array.from([...uniq, ...offsets, ...order]), unique: uniq.length };
}

/**
 * dtable [V, C] (f32, accumulated: the caller zeroes it) += Σ_n onehot(ids[n]) ⊗ dout[n, :], for
 * ids (host Int32Array, N values) and dout [..., C] f32 with N rows. Ids outside [0, V) are skipped.
 */
export function embeddingBackward(rt: Runtime, ids: Int32Array, dout: Tensor, dtable: Tensor): void {
  if (dtable.dtype !== 'f32' || dtable.shape.length !== 2) throw new Error(`embedding_backward: dtable must be f32 [V, C], got ${dtable}`);
  const [V, C] = dtable.shape;
  if (dout.dtype !== 'f32' || dout.shape[dout.shape.length - 1] !== C || dout.numel !== ids.length * C) {
    throw new Error(`embedding_backward: dout must be f32 [${ids.length}, ${C}], got ${dout}`);
  }
  const { csr, unique } = embeddingCsr(ids, V);
  if (unique === 0 || C === 0) return;
  const tcsr = rt.upload(csr, [csr.length], 'u32', 'embedding.csr');
  rt.dispatch(embeddingBackwardSpec, {
    tensors: [tcsr, dout, dtable],
    uniforms: packUniforms([['u32', unique], ['u32', C], ['u32', 0], ['u32', 0]]),
    workgroups: grid1d(unique),
  });
  tcsr.dispose(); // the recorded dispatch still reads it (queue order)
}
