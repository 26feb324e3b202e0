// attention_rows_common — shared by the rows attention kernels (attention_forward_rows.wgsl,
// attention_backward_dq_rows.wgsl, attention_backward_dkv_rows.wgsl), prepended by their host files;
// not a kernel on its own. Needs the including kernel to declare
//   @group(0) @binding(0) var<uniform> u: U;
// and gives the uniforms' layout (attention_forward.wgsl's), the head size as vec4s, the workgroup shape
// (FR, KS), dot4 and sum_subs (which needs park / parked from the including kernel).

struct U {
  B: u32, T: u32, S: u32, H: u32,
  Hkv: u32, D: u32, offset: u32, scale: f32,
  has_mask: u32, mask_bstride: u32, write_probs: u32, _pad: u32,
}

override DV4: u32 = 16u; // D / 4 (1..16), fixed per pipeline by the host

// the workgroup shape of every rows kernel: FR rows (query rows; keys in dK/dV) of KS threads each, each
// taking every KS-th key (query) of a staged block; the host's ROWS_FR is FR
const FR: u32 = 32u;
const KS: u32 = 4u;

// acc + a·b summed one component at a time, in d order: scores come out as version 2 computes them
// (Σ_d q_d k_d, then × scale), so the lse of either forward version matches the backward's exps even
// at huge logits, where a different summation order moves exp(s − lse) visibly
fn dot4(acc: f32, a: vec4<f32>, b: vec4<f32>) -> f32 {
  return (((acc + a.x * b.x) + a.y * b.y) + a.z * b.z) + a.w * b.w;
}

// sums the KS partial row vectors of each row into sub 0's `acc`, in a fixed order (deterministic): subs
// 2, 3 into 0, 1, then 1 into 0; through park / parked, which each including kernel gives over its own
// staged block's workgroup memory. Call from every invocation (it has barriers), after the last block is read.
fn sum_subs(sub: u32, r: u32, acc: ptr<function, array<vec4<f32>, 16>>) {
  workgroupBarrier();
  if (sub >= 2u) { park((sub - 2u) * FR + r, acc); }
  workgroupBarrier();
  if (sub < 2u) { for (var d = 0u; d < DV4; d++) { (*acc)[d] += parked(sub * FR + r, d); } }
  workgroupBarrier();
  if (sub == 1u) { park(r, acc); }
  workgroupBarrier();
  if (sub == 0u) { for (var d = 0u; d < DV4; d++) { (*acc)[d] += parked(r, d); } }
}
