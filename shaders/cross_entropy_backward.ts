// cross_entropy_backward: dlogits [N, V] of the mean cross-entropy, from the forward's lse and count
// (both stay on the GPU). gradScale multiplies the gradient: the upstream dloss, or 1/accumSteps.
import kernelCode from './cross_entropy_backward.wgsl';
import reduceCommonCode from './workgroup_reduce_common.wgsl';
import rowsCommonCode from './cross_entropy_rows_common.wgsl';
import { grid1d, packUniforms, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import type { Tensor } from '../src/engine/gpu/tensor.ts';
import { expectShape } from '../src/engine/gpu/tensor.ts';

/** the kernel with the workgroup reductions and the row statistics it shares with the other cross-entropy kernel prepended */
const code = `${reduceCommonCode}\n${rowsCommonCode}\n${kernelCode}`;

export const crossEntropyBackwardSpec: KernelSpec = {
  name: 'cross_entropy_backward',
  code,
  bindings: ['uniform', 'read', 'read', 'read', 'read', 'storage'],
};
/** `main` on vec4 loads and stores, for V % 4 == 0 */
export const crossEntropyBackward4Spec: KernelSpec = { ...crossEntropyBackwardSpec, name: 'cross_entropy_backward.main4', entryPoint: 'main4' };

/**
 * dlogits = (softmax(logits) − onehot(targets)) · gradScale / count for counted rows, 0 for rows with
 * target -100 (and everywhere when count is 0), NaN rows for out-of-range targets. Overwrites `out`
 * if given (it must not be `logits`), else returns a new [N, V] tensor.
 */
export function crossEntropyBackward(
  rt: Runtime,
  logits: Tensor,
  targets: Tensor,
  lse: Tensor,
  count: Tensor,
  opts: { gradScale?: number; out?: Tensor } = {},
): Tensor {
  expectShape(logits, [-1, -1], 'cross_entropy_backward: logits [N, V]', ['f32']);
  const [N, V] = logits.shape;
  expectShape(targets, [N], 'cross_entropy_backward: targets [N]', ['i32']);
  expectShape(lse, [N], 'cross_entropy_backward: lse [N]', ['f32']);
  expectShape(count, [1], 'cross_entropy_backward: count [1]', ['u32']);
  const gradScale = opts.gradScale ?? 1;
  if (!Number.isFinite(gradScale)) throw new Error(`cross_entropy_backward: gradScale must be finite, got ${gradScale}`);
  const out = opts.out ?? rt.empty([N, V], 'f32', 'cross_entropy.dlogits'); // [N, V]
  if (out.numel !== N * V || out.dtype !== 'f32') throw new Error(`cross_entropy_backward: out ${out} must be f32 with ${N * V} elements`);
  if (out.buffer === logits.buffer) throw new Error('cross_entropy_backward: out must not alias logits (bound read-only)');
  if (N === 0) return out;
  rt.dispatch(V % 4 === 0 ? crossEntropyBackward4Spec : crossEntropyBackwardSpec, {
    tensors: [logits, targets, lse, count, out],
    uniforms: packUniforms([['u32', N], ['u32', V], ['f32', gradScale], ['f32', NaN]]),
    workgroups: grid1d(N),
  });
  return out;
}
