// rope_backward: gradient of rope_forward. The rotation by angle a is orthogonal, so its transpose
// is the rotation by −a: the same kernel (rope_forward.wgsl) with dir = −1. No separate .wgsl.
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import type { Tensor } from '../src/engine/gpu/tensor.ts';
import { ropeApply, type RopeOptions } from './rope_forward.ts';

/** dx = R(−angle)·dy for dy [T, H, D] (or [B, T, H, D]), with the options the forward used. Returns a new tensor. */
export function ropeBackward(rt: Runtime, dy: Tensor, opts: RopeOptions): Tensor {
  return ropeApply(rt, dy, opts, -1, 'rope_backward');
}
