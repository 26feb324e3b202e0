// copy_columns — a window of columns from one row-major matrix into another:
//   dst[r, dstOffset + c] = src[r, srcOffset + c]   for r < rows, c < cols
// Splits the fused q|k|v projection rows into q, k, v (and writes edited ones back) for the hook
// points before RoPE; any column window of equal-row matrices.
//
// bindings (group 0):
//   0 uniform  U { rows, cols, srcStride, srcOffset, dstStride, dstOffset, _pad0, _pad1: u32 }
//   1 read     src: [rows, srcStride] f32
//   2 storage  dst: [rows, dstStride] f32   (must not alias src; columns outside the window are kept)
// dispatch: grid1d(ceil(rows · cols / 256)) workgroups of 256; linear id = gid.x + gid.y * 65535 * 256
// reference: copy_columns.ref.ts (copyColumnsRef)

struct U { rows: u32, cols: u32, srcStride: u32, srcOffset: u32, dstStride: u32, dstOffset: u32, _pad0: u32, _pad1: u32 }

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i >= u.rows * u.cols) { return; }
  let r = i / u.cols; // row
  let c = i % u.cols; // column within the window
  dst[r * u.dstStride + u.dstOffset + c] = src[r * u.srcStride + u.srcOffset + c];
}
