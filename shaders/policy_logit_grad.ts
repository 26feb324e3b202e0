// policy_logit_grad: dlogits [N, V] of the GRPO objective (grpoObjective's per-token gradient, times the
// token's weight) and logp [N], from the logits, the forward's lse and per-row (old, ref, A, w).
// The RL loss head uses it where SFT uses cross_entropy_backward.
import kernelCode from './policy_logit_grad.wgsl';
import reduceCommonCode from './workgroup_reduce_common.wgsl';
import rowsCommonCode from './cross_entropy_rows_common.wgsl';
import { grid1d, packUniforms, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import type { Tensor } from '../src/engine/gpu/tensor.ts';
import { expectShape } from '../src/engine/gpu/tensor.ts';

/** the kernel with the workgroup reductions and the cross-entropy kernels' row statistics prepended */
const code = `${reduceCommonCode}\n${rowsCommonCode}\n${kernelCode}`;

export const policyLogitGradSpec: KernelSpec = {
  name: 'policy_logit_grad',
  code,
  bindings: ['uniform', 'read', 'read', 'read', 'read', 'storage', 'storage'],
};

export interface PolicyLogitGradOptions {
  /** ε_low: lower clip 1 − ε_low, in [0, 1) */
  epsLow: number;
  /** ε_high: upper clip 1 + ε_high, ≥ 0 */
  epsHigh: number;
  /** β: weight of the k3 KL penalty (0: ref_logp is not read) */
  beta: number;
  /** old_logp := logp (first iteration on fresh samples): r = 1 exactly, rows' old_logp not read */
  onPolicy: boolean;
  /** [N, V] f32 to overwrite instead of a new tensor */
  out?: Tensor;
}

/**
 * Per row: s = −w·dℓ/dlogp (grpoObjective's formula) and dlogits = (softmax − onehot(t))·s, logp = x_t − lse.
 * Rows with target -100 or weight 0 give zeros (their rows entries are never used); an out-of-range
 * target gives a NaN row and NaN logp. Returns dlogits [N, V] (new, or opts.out overwritten) and logp [N] (new).
 */
export function policyLogitGrad(
  rt: Runtime,
  logits: Tensor, // [N, V] f32
  targets: Tensor, // [N] i32
  lse: Tensor, // [N] f32, from crossEntropyForward
  rows: Tensor, // [N, 4] f32: old_logp, ref_logp, advantage, weight
  opts: PolicyLogitGradOptions,
): { dlogits: Tensor; logp: Tensor } {
  expectShape(logits, [-1, -1], 'policy_logit_grad: logits [N, V]', ['f32']);
  const [N, V] = logits.shape;
  expectShape(targets, [N], 'policy_logit_grad: targets [N]', ['i32']);
  expectShape(lse, [N], 'policy_logit_grad: lse [N]', ['f32']);
  expectShape(rows, [N, 4], 'policy_logit_grad: rows [N, 4] (old_logp, ref_logp, advantage, weight)', ['f32']);
  const { epsLow, epsHigh, beta, onPolicy } = opts;
  if (!Number.isFinite(epsLow) || epsLow < 0 || epsLow >= 1) throw new Error(`policy_logit_grad: epsLow must be in [0, 1), got ${epsLow}`);
  if (!Number.isFinite(epsHigh) || epsHigh < 0) throw new Error(`policy_logit_grad: epsHigh must be finite and ≥ 0, got ${epsHigh}`);
  if (!Number.isFinite(beta)) throw new Error(`policy_logit_grad: beta must be finite, got ${beta}`);
  const dlogits = opts.out ?? rt.empty([N, V], 'f32', 'policy_logit_grad.dlogits'); // [N, V]
  if (dlogits.numel !== N * V || dlogits.dtype !== 'f32') throw new Error(`policy_logit_grad: out ${dlogits} must be f32 with ${N * V} elements`);
  // WebGPU forbids one buffer bound both read-only and writable in a dispatch; logits is the likely mistake
  for (const [name, t] of [['logits', logits], ['targets', targets], ['lse', lse], ['rows', rows]] as const) {
    if (dlogits.buffer === t.buffer) throw new Error(`policy_logit_grad: out must not alias ${name} (bound read-only)`);
  }
  const logp = rt.empty([N], 'f32', 'policy_logit_grad.logp'); // [N]
  if (N === 0) return { dlogits, logp };
  rt.dispatch(policyLogitGradSpec, {
    tensors: [logits, targets, lse, rows, dlogits, logp],
    uniforms: packUniforms([
      ['u32', N], ['u32', V], ['f32', 1 - epsLow], ['f32', 1 + epsHigh],
      ['f32', beta], ['u32', onPolicy ? 1 : 0], ['f32', NaN], ['u32', 0],
    ]),
    workgroups: grid1d(N),
  });
  return { dlogits, logp };
}
