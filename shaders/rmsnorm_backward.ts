// rmsnorm_backward: dx (overwritten) and, when given, dw (accumulated) of y = x·rstd·w.
import code from './rmsnorm_backward.wgsl';
import { cdiv, grid1d, packUniforms, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import type { Tensor } from '../src/engine/gpu/tensor.ts';
import { rmsnormRows, weightDtypeCode } from './rmsnorm_forward.ts';

export const rmsnormBackwardSpec: KernelSpec = {
  name: 'rmsnorm_backward',
  code,
  bindings: ['uniform', 'read', 'read', 'read', 'read', 'storage', 'read'],
};
export const rmsnormBackwardDwPartialSpec: KernelSpec = {
  name: 'rmsnorm_backward.dw_partial',
  code,
  entryPoint: 'dw_partial',
  bindings: ['uniform', 'read', 'read', 'read', 'storage'],
};
export const rmsnormBackwardDwReduceSpec: KernelSpec = {
  name: 'rmsnorm_backward.dw_reduce',
  code,
  entryPoint: 'dw_reduce',
  bindings: ['uniform', 'read', 'storage'],
};

/** Rows summed by one dw_partial thread; more when N is so large that chunks would pass 65535. */
export const DW_ROWS_PER_CHUNK = 32;

/**
 * Backward of rmsnormForward. x [..., C] f32, w [C] (f32/f16/bf16), rstd [...] from the forward,
 * dy shaped like x. Returns dx (new, shaped like x). When `dw` [C] f32 is given, dw += Σ_rows dy·xhat
 * (caller zeroes it); pass null when w is frozen. With `residual` (f32, shaped like x), dx is the norm's
 * gradient plus it: a pre-norm block's residual gradient in the same dispatch, where an add_scale followed.
 * Deterministic: no atomics, fixed summation order.
 */
export function rmsnormBackward(rt: Runtime, x: Tensor, w: Tensor, rstd: Tensor, dy: Tensor, dw?: Tensor | null, o: { residual?: Tensor } = {}): { dx: Tensor } {
  const [N, C] = rmsnormRows(x, w, 'rmsnorm_backward');
  if (rstd.dtype !== 'f32' || rstd.numel !== N) throw new Error(`rmsnorm_backward: rstd must be f32 with ${N} values, got ${rstd}`);
  if (dy.dtype !== 'f32' || dy.numel !== x.numel || dy.shape[dy.shape.length - 1] !== C) {
    throw new Error(`rmsnorm_backward: dy must be f32 shaped like ${x}, got ${dy}`);
  }
  if (dw && (dw.dtype !== 'f32' || dw.numel !== C)) throw new Error(`rmsnorm_backward: dw must be f32 [${C}], got ${dw}`);
  const res = o.residual;
  if (res && (res.dtype !== 'f32' || res.numel !== x.numel || res.shape[res.shape.length - 1] !== C)) {
    throw new Error(`rmsnorm_backward: residual must be f32 shaped like ${x}, got ${res}`);
  }

  const rowsPerChunk = Math.max(DW_ROWS_PER_CHUNK, cdiv(N, 65535));
  const nChunks = cdiv(N, rowsPerChunk);
  const uniforms = packUniforms([['u32', N], ['u32', C], ['u32', rowsPerChunk], ['u32', nChunks], ['u32', res ? 1 : 0]]);

  const dx = rt.empty(x.shape, 'f32', 'rmsnorm.dx'); // [..., C]
  rt.dispatch(rmsnormBackwardSpec, {
    tensors: [x, w, rstd, dy, dx, res ?? dy], // without a residual, dy is bound in its place and not read
    uniforms,
    constants: { W_DTYPE: weightDtypeCode(w.dtype, 'rmsnorm_backward') },
    workgroups: grid1d(N),
  });

  if (dw && N > 0) {
    const partial = rt.empty([nChunks, C], 'f32', 'rmsnorm.dw_partial'); // [n_chunks, C]
    rt.dispatch(rmsnormBackwardDwPartialSpec, { tensors: [x, rstd, dy, partial], uniforms, workgroups: [cdiv(C, 256), nChunks] });
    rt.dispatch(rmsnormBackwardDwReduceSpec, { tensors: [partial, dw], uniforms, workgroups: [cdiv(C, 256)] });
    partial.dispose(); // recorded dispatches still read it (queue order)
  }
  return { dx };
}
