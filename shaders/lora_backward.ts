// lora_backward: gradients of the adapter half of a PEFT LoRA layer, y += scale · (x Aᵀ) Bᵀ.
// Given dy [N, out] and the forward's x [N, in], A [r, in], B [out, r], xa = x Aᵀ [N, r]:
//   dxa = scale · dy B       [N, r]    (temporary, activation gradient: overwritten)
//   dB += scale · dyᵀ xa     [out, r]  (parameter gradient: accumulates into the caller-zeroed dB)
//   dA += dxaᵀ x             [r, in]   (parameter gradient: accumulates)
//   dx += dxa A              [N, in]   (adds into the base layer's dx; skipped when dx is null)
// Four dispatches: lora_backward_nn.wgsl for dxa and dx (reductions over out and over r),
// lora_backward_tn.wgsl for dB and dA (deterministic reductions over N, no atomics).
// Dropout is 0 (see lora_forward.ts); with a mask, dA would use the masked x.
// Column window (opts.dyCols): dy may be a wider row [N, stride] — the gradient of the fused
// q|k|v projection — of which only columns offset .. offset+out are read (for dxa and dB).
import nnCode from './lora_backward_nn.wgsl';
import tnCode from './lora_backward_tn.wgsl';
import { cdiv, packUniforms, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import { expectShape, type Tensor } from '../src/engine/gpu/tensor.ts';
import { resolveColumnWindow, type ColumnWindow } from './lora_forward.ts';

export const loraBackwardNNSpec: KernelSpec = { name: 'lora_backward_nn', code: nnCode, bindings: ['uniform', 'read', 'read', 'storage'] };
export const loraBackwardTNSpec: KernelSpec = { name: 'lora_backward_tn', code: tnCode, bindings: ['uniform', 'read', 'read', 'storage'] };

/** Output tile side of both kernels (16×16 invocations, one output each). */
const TS = 16;

export interface LoraGrads {
  dA: Tensor; // [r, in], accumulated
  dB: Tensor; // [out, r], accumulated
  dx: Tensor | null; // [N, in], accumulated (the base layer's input gradient), or null to skip
}

export interface LoraBackwardOptions {
  /** dy is [N, stride] and only dy[:, offset .. offset+out) is read; default { 0, out } */
  dyCols?: ColumnWindow;
}

/** C[M, Nc] = (accumulate ? C : 0) + alpha · P[:, window K wide] · Q[K, Nc], P being [M, pCols.stride]. */
function matmulNN(
  rt: Runtime, P: Tensor, Q: Tensor, C: Tensor, M: number, Nc: number, K: number, alpha: number, accumulate: boolean,
  pCols: ColumnWindow = { offset: 0, stride: K },
): void {
  rt.dispatch(loraBackwardNNSpec, {
    tensors: [P, Q, C],
    uniforms: packUniforms([
      ['u32', M], ['u32', Nc], ['u32', K], ['f32', alpha], ['u32', accumulate ? 1 : 0],
      ['u32', pCols.stride], ['u32', pCols.offset], ['u32', 0], // p_stride, p_offset, _pad
    ]),
    workgroups: [cdiv(Nc, TS), cdiv(M, TS)],
  });
}

/** G[M, Nc] += alpha · P[:, window M wide]ᵀ · Q[Nr, Nc], P being [Nr, pCols.stride]. */
function matmulTNAccumulate(
  rt: Runtime, P: Tensor, Q: Tensor, G: Tensor, M: number, Nc: number, Nr: number, alpha: number,
  pCols: ColumnWindow = { offset: 0, stride: M },
): void {
  rt.dispatch(loraBackwardTNSpec, {
    tensors: [P, Q, G],
    uniforms: packUniforms([
      ['u32', M], ['u32', Nc], ['u32', Nr], ['f32', alpha],
      ['u32', pCols.stride], ['u32', pCols.offset], ['u32', 0], ['u32', 0], // p_stride, p_offset, _pad0, _pad1
    ]),
    workgroups: [cdiv(Nc, TS), cdiv(M, TS)],
  });
}

/** Records the LoRA backward (see the file header). Reads nothing back; the temporary dxa is released. */
export function loraBackward(
  rt: Runtime,
  x: Tensor, // [N, in]
  A: Tensor, // [r, in]
  B: Tensor, // [out, r]
  xa: Tensor, // [N, r], from loraForward
  dy: Tensor, // [N, out] (or [N, dyCols.stride], of which columns offset..offset+out are read)
  scale: number,
  grads: LoraGrads,
  opts: LoraBackwardOptions = {},
): void {
  if (!Number.isFinite(scale)) throw new Error(`lora_backward: scale must be finite, got ${scale}`);
  if (x.shape.length !== 2 || A.shape.length !== 2 || B.shape.length !== 2) throw new Error(`lora_backward: x ${x}, A ${A}, B ${B} must be 2-D`);
  const [N, din] = x.shape;
  const [r] = A.shape;
  const [dout] = B.shape;
  if (r < 1) throw new Error(`lora_backward: rank must be >= 1, got ${A}`);
  expectShape(x, [N, din], 'lora_backward x', ['f32']);
  expectShape(A, [r, din], 'lora_backward A', ['f32']);
  expectShape(B, [dout, r], 'lora_backward B', ['f32']);
  expectShape(xa, [N, r], 'lora_backward xa', ['f32']);
  const dyCols = resolveColumnWindow(opts.dyCols, dout, 'lora_backward dyCols');
  expectShape(dy, [N, dyCols.stride], 'lora_backward dy', ['f32']);
  expectShape(grads.dA, [r, din], 'lora_backward dA', ['f32']);
  expectShape(grads.dB, [dout, r], 'lora_backward dB', ['f32']);
  if (grads.dx) expectShape(grads.dx, [N, din], 'lora_backward dx', ['f32']);
  // a written buffer may not also be bound for reading in the same dispatch
  const reads = [x, A, B, xa, dy].map((t) => t.buffer);
  for (const [name, g] of [['dA', grads.dA], ['dB', grads.dB], ['dx', grads.dx]] as const) {
    if (g && reads.includes(g.buffer)) throw new Error(`lora_backward: ${name} must not alias an input`);
  }
  if (grads.dx && (grads.dx.buffer === grads.dA.buffer || grads.dx.buffer === grads.dB.buffer)) throw new Error('lora_backward: dx must not alias dA/dB');

  const dxa = rt.empty([N, r], 'f32', 'lora_backward.dxa'); // [N, r]
  matmulNN(rt, dy, B, dxa, N, r, dout, scale, false, dyCols); //        dxa = scale · dy[:, window] B     [N, r]
  matmulTNAccumulate(rt, dy, xa, grads.dB, dout, r, N, scale, dyCols); // dB += scale · dy[:, window]ᵀ xa  [out, r]
  matmulTNAccumulate(rt, dxa, x, grads.dA, r, din, N, 1); //      dA += dxaᵀ x          [r, in]
  if (grads.dx) matmulNN(rt, dxa, A, grads.dx, N, din, r, 1, true); // dx += dxa A      [N, in]
  // recorded work keeps reading dxa in queue order; the pool may hand the buffer out again
  dxa.dispose();
}
