// workgroup_reduce_common — the 256-thread workgroup max and sum (a pairwise tree in a fixed order: deterministic),
// prepended by the host files of grad_norm.wgsl, sample_tokens.wgsl and the kernels that use
// cross_entropy_rows_common.wgsl; not a kernel on its own. The reductions hold barriers: call them from
// workgroup-uniform control flow only.

const WG: u32 = 256u;

var<workgroup> red: array<f32, 256>; // tree-reduction scratch (1 KiB)

// Workgroup max of one value per thread; every thread gets the result.
fn wg_max(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier(); // red is reused by the next reduction
  return r;
}

// Workgroup sum (pairwise tree, fixed order: deterministic); every thread gets the result.
fn wg_sum(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
