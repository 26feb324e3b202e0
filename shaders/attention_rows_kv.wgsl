// attention_rows_kv — shared by the kernels that run a query row per thread through staged key blocks
// (attention_forward_rows.wgsl, attention_backward_dq_rows.wgsl), prepended by their host files after
// attention_rows_common.wgsl; not a kernel on its own. Needs the including kernel to declare
//   u (U), k, v: array<vec4<f32>> [B, S, Hkv, D], mask: array<u32> [B, S] or [S]
// and gives the workgroup shape, the K/V block in workgroup memory and the visibility test.

const BR: u32 = 64u;  // query rows per workgroup (one per thread)
const BC: u32 = 32u;  // keys per staged block

var<workgroup> ks: array<vec4<f32>, BC * DV4>; // K block [BC keys, D/4]
var<workgroup> vs: array<vec4<f32>, BC * DV4>; // V block [BC keys, D/4]

// keys j0..j0+BC-1 of kv head hk into ks / vs, clamped below kend (keys past it, e.g. a cache's
// garbage, are never read); call between barriers, from every invocation
fn stage_kv(b: u32, hk: u32, j0: u32, kend: u32, lid: u32) {
  for (var e = lid; e < BC * DV4; e += BR) {
    let j = min(j0 + e / DV4, kend - 1u);
    let src = ((b * u.S + j) * u.Hkv + hk) * DV4 + e % DV4;
    ks[e] = k[src];
    vs[e] = v[src];
  }
}

// query i (a real row) sees key j < kend iff j <= offset + i and the padding mask keeps it
fn key_visible(b: u32, i: u32, j: u32, kend: u32) -> bool {
  if (j >= kend || j > u.offset + i) { return false; }
  return u.has_mask == 0u || mask[b * u.mask_bstride + j] != 0u;
}
