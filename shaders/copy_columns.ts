// copy_columns: a window of columns of one [rows, srcStride] matrix into a window of another [rows, dstStride].
import code from './copy_columns.wgsl';
import { cdiv, grid1d, packUniforms, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import type { Tensor } from '../src/engine/gpu/tensor.ts';

export const copyColumnsSpec: KernelSpec = { name: 'copy_columns', code, bindings: ['uniform', 'read', 'storage'] };

export interface ColumnCopy {
  /** columns copied per row */
  cols: number;
  /** first source column */
  srcOffset: number;
  /** first destination column */
  dstOffset: number;
}

/**
 * dst[r, dstOffset + c] = src[r, srcOffset + c] for every row r and c < cols. src and dst are f32 with
 * the same number of rows; their last dims are the row strides (a [B, T, N] tensor is B·T rows of N).
 * The rest of dst is left as it was.
 */
export function copyColumns(rt: Runtime, src: Tensor, dst: Tensor, w: ColumnCopy): void {
  if (src.dtype !== 'f32' || dst.dtype !== 'f32') throw new Error(`copy_columns: src ${src} and dst ${dst} must be f32`);
  if (src.buffer === dst.buffer) throw new Error('copy_columns: dst must not alias src');
  const srcStride = src.shape[src.shape.length - 1];
  const dstStride = dst.shape[dst.shape.length - 1];
  const rows = src.numel / srcStride;
  if (dst.numel / dstStride !== rows) throw new Error(`copy_columns: src ${src} has ${rows} rows of ${srcStride}, dst ${dst} ${dst.numel / dstStride} rows of ${dstStride}`);
  const { cols, srcOffset, dstOffset } = w;
  for (const [k, v] of [['cols', cols], ['srcOffset', srcOffset], ['dstOffset', dstOffset]] as const) if (!(Number.isInteger(v) && v >= 0)) throw new Error(`copy_columns: ${k} must be a non-negative integer, got ${v}`);
  if (srcOffset + cols > srcStride) throw new Error(`copy_columns: columns ${srcOffset}..${srcOffset + cols - 1} are outside src rows of ${srcStride}`);
  if (dstOffset + cols > dstStride) throw new Error(`copy_columns: columns ${dstOffset}..${dstOffset + cols - 1} are outside dst rows of ${dstStride}`);
  if (rows * cols === 0) return;
  rt.dispatch(copyColumnsSpec, {
    tensors: [src, dst],
    uniforms: packUniforms([['u32', rows], ['u32', cols], ['u32', srcStride], ['u32', srcOffset], ['u32', dstStride], ['u32', dstOffset], ['u32', 0], ['u32', 0]]),
    workgroups: grid1d(cdiv(rows * cols, 256)),
  });
}
