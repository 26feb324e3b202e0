// Reference for copy_columns.wgsl: dst[r, dstOffset + c] = src[r, srcOffset + c], the rest of dst kept.
export function copyColumnsRef(src: ArrayLike<number>, srcStride: number, dst: ArrayLike<number>, dstStride: number, w: { cols: number; srcOffset: number; dstOffset: number }): Float64Array {
  const out = Float64Array.from(dst); // [rows, dstStride]
  const rows = src.length / srcStride;
  for (let r = 0; r < rows; r++) for (let c = 0; c < w.cols; c++) out[r * dstStride + w.dstOffset + c] = src[r * srcStride + w.srcOffset + c];
  return out;
}
