// attention_rows_kv — shared by the kernels that run query rows (KS threads each) through staged key blocks
// (attention_forward_rows.wgsl, attention_backward_dq_rows.wgsl), prepended by their host files after
// attention_rows_common.wgsl; not a kernel on its own. Needs the including kernel to declare
//   u (U), k, v: array<vec4<f32>> [B, S, Hkv, D], mask: array<u32> [B, S] or [S]
// and gives the K/V block in workgroup memory, the visibility test and the parking of per-thread row
// vectors in the block's memory (park / parked: how sum_subs and the forward's merge combine a row's KS parts).

const BC: u32 = 32u;  // keys per staged block (= FR: parking a row's D in ks / vs fits it exactly)

// The blocks are 2-D arrays, a key per row of 16 vec4 (the most D/4; the rows version runs D <= 64): indexing a row and
// then a vec4 measured 6-15 % faster than the same block as a 1-D array indexed x·DV4 + d (H100, every rows kernel:
// forward T 256 0.074 → 0.066 ms, backward H 9/3 0.328 → 0.290), as the vec4 matmul's 2-D tiles did.

var<workgroup> ks: array<array<vec4<f32>, 16>, BC>; // K block [BC keys][D/4] (16: the most D/4)
var<workgroup> vs: array<array<vec4<f32>, 16>, BC>; // V block [BC keys][D/4]

// keys j0..j0+BC-1 of kv head hk into ks / vs, clamped below kend (keys past it, e.g. a cache's
// garbage, are never read); call between barriers, from every one of the workgroup's n invocations
fn stage_kv(b: u32, hk: u32, j0: u32, kend: u32, lid: u32, n: u32) {
  for (var e = lid; e < BC * DV4; e += n) {
    let j = min(j0 + e / DV4, kend - 1u);
    let src = ((b * u.S + j) * u.Hkv + hk) * DV4 + e % DV4;
    ks[e / DV4][e % DV4] = k[src];
    vs[e / DV4][e % DV4] = v[src];
  }
}

// query i (a real row) sees key j < kend iff j <= offset + i and the padding mask keeps it
fn key_visible(b: u32, i: u32, j: u32, kend: u32) -> bool {
  if (j >= kend || j > u.offset + i) { return false; }
  return u.has_mask == 0u || mask[b * u.mask_bstride + j] != 0u;
}

// a thread's row vector (D/4 vec4s) parked for another thread of its row: slots 0..FR-1 in ks, FR..2FR-1
// in vs; call between barriers, after the last block is read
fn park(slot: u32, x: ptr<function, array<vec4<f32>, 16>>) {
  for (var d = 0u; d < DV4; d++) {
    if (slot < FR) { ks[slot][d] = (*x)[d]; } else { vs[slot - FR][d] = (*x)[d]; }
  }
}

// vec4 d of the row vector parked in `slot`
fn parked(slot: u32, d: u32) -> vec4<f32> {
  if (slot < FR) { return ks[slot][d]; }
  return vs[slot - FR][d];
}
