// dropout: inverted dropout (PEFT's lora_dropout = torch.nn.Dropout in training) with a mask made
// from (seed, element index) by a hash, so the backward rebuilds it instead of storing it.
import code from './dropout.wgsl';
import { cdiv, grid1d, packUniforms, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import type { Tensor } from '../src/engine/gpu/tensor.ts';
import { dropoutThreshold } from '../src/engine/util/hash32.ts';

export const dropoutSpec: KernelSpec = { name: 'dropout', code, bindings: ['uniform', 'read', 'storage'] };

export interface DropoutSeed {
  /** u32: e.g. the optimizer step and micro-batch */
  lo: number;
  /** u32: e.g. the layer and target, so masks differ between layers */
  hi: number;
}

/**
 * out = x · keep / (1 − p) (a new tensor shaped like x), or out += that when `accumulate` into the
 * given `out`. p in [0, 1). The mask depends only on (seed, index): calling again with the same seed
 * on the gradient is the backward.
 */
export function dropout(rt: Runtime, x: Tensor, p: number, seed: DropoutSeed, opts: { out?: Tensor; accumulate?: boolean } = {}): Tensor {
  if (x.dtype !== 'f32') throw new Error(`dropout: x must be f32, got ${x}`);
  if (!(p >= 0 && p < 1)) throw new Error(`dropout: p must be in [0, 1), got ${p}`);
  for (const [k, v] of [['seed.lo', seed.lo], ['seed.hi', seed.hi]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`dropout: ${k} must be a u32, got ${v}`);
  }
  if (opts.accumulate && !opts.out) throw new Error('dropout: accumulate needs `out`');
  const out = opts.out ?? rt.empty(x.shape, 'f32', 'dropout.out');
  if (out.numel !== x.numel || out.dtype !== 'f32') throw new Error(`dropout: out ${out} must be f32 with ${x.numel} elements`);
  if (out.buffer === x.buffer) throw new Error('dropout: out must not alias x');
  if (x.numel === 0) return out;
  rt.dispatch(dropoutSpec, {
    tensors: [x, out],
    uniforms: packUniforms([
      ['u32', x.numel], ['u32', seed.lo], ['u32', seed.hi], ['u32', dropoutThreshold(p)],
      ['f32', 1 / (1 - p)], ['u32', opts.accumulate ? 1 : 0], ['u32', 0], ['u32', 0],
    ]),
    workgroups: grid1d(cdiv(x.numel, 256)),
  });
  return out;
}
