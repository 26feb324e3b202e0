// cross_entropy_forward: mean cross-entropy of logits [N, V] against targets [N] (ignore index -100),
// fused with log-softmax; returns the mean loss, per-row losses, logsumexp per row, and the count,
// all on the GPU (no readback). Pair with crossEntropyBackward (cross_entropy_backward.ts).
import kernelCode from './cross_entropy_forward.wgsl';
import reduceCommonCode from './workgroup_reduce_common.wgsl';
import rowsCommonCode from './cross_entropy_rows_common.wgsl';
import { grid1d, packUniforms, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import type { Tensor } from '../src/engine/gpu/tensor.ts';
import { expectShape } from '../src/engine/gpu/tensor.ts';

/** the kernel with the workgroup reductions and the row statistics it shares with the other cross-entropy kernel prepended */
const code = `${reduceCommonCode}\n${rowsCommonCode}\n${kernelCode}`;

/** transformers / torch default `ignore_index` */
export const IGNORE_INDEX = -100;

const bindings = ['uniform', 'read', 'read', 'storage', 'storage', 'storage', 'storage'] as const;
export const crossEntropyRowsSpec: KernelSpec = { name: 'cross_entropy_forward', code, entryPoint: 'rows', bindings };
/** `rows` reading vec4s, for V % 4 == 0 */
export const crossEntropyRows4Spec: KernelSpec = { name: 'cross_entropy_forward.rows4', code, entryPoint: 'rows4', bindings };
export const crossEntropyMeanSpec: KernelSpec = { name: 'cross_entropy_forward.mean', code, entryPoint: 'mean', bindings };

export interface CrossEntropyForward {
  /** [1] f32: mean of rowLoss over counted rows (0 when none are counted) */
  loss: Tensor;
  /** [N] f32: logsumexp(logits_i) − logits_i[t_i]; 0 for ignored rows; NaN for an out-of-range target */
  rowLoss: Tensor;
  /** [N] f32: logsumexp of each row (the backward's softmax is exp(x − lse)) */
  lse: Tensor;
  /** [1] u32: rows whose target is not -100 (out-of-range targets count, so the mean turns NaN) */
  count: Tensor;
}

/**
 * Cross-entropy with transformers' causal-LM semantics: `targets` are already aligned with the
 * logits rows (the model shifted the labels), -100 rows are ignored, reduction is the mean over
 * counted rows. A target outside [0, V) that is not -100 cannot throw on the GPU: its row loss is
 * NaN (and so is the mean), its gradient row too.
 */
export function crossEntropyForward(rt: Runtime, logits: Tensor, targets: Tensor): CrossEntropyForward {
  expectShape(logits, [-1, -1], 'cross_entropy_forward: logits [N, V]', ['f32']);
  const [N, V] = logits.shape;
  expectShape(targets, [N], 'cross_entropy_forward: targets [N]', ['i32']);
  if (V < 1) throw new Error(`cross_entropy_forward: vocabulary must be non-empty, got ${logits}`);
  const rowLoss = rt.empty([N], 'f32', 'cross_entropy.row_loss'); // [N]
  const lse = rt.empty([N], 'f32', 'cross_entropy.lse'); // [N]
  const loss = rt.empty([1], 'f32', 'cross_entropy.loss'); // [1]
  const count = rt.empty([1], 'u32', 'cross_entropy.count'); // [1]
  const args = {
    tensors: [logits, targets, rowLoss, lse, loss, count],
    uniforms: packUniforms([['u32', N], ['u32', V], ['f32', NaN], ['u32', 0]]),
  };
  if (N > 0) rt.dispatch(V % 4 === 0 ? crossEntropyRows4Spec : crossEntropyRowsSpec, { ...args, workgroups: grid1d(N) });
  rt.dispatch(crossEntropyMeanSpec, { ...args, workgroups: [1] });
  return { loss, rowLoss, lse, count };
}
