// attention_rows_common — shared by the rows attention kernels (attention_forward_rows.wgsl,
// attention_backward_dq_rows.wgsl, attention_backward_dkv_rows.wgsl), prepended by their host files;
// not a kernel on its own. Needs the including kernel to declare
//   @group(0) @binding(0) var<uniform> u: U;
// and gives the uniforms' layout (attention_forward.wgsl's), the head size as vec4s and dot4.

struct U {
  B: u32, T: u32, S: u32, H: u32,
  Hkv: u32, D: u32, offset: u32, scale: f32,
  has_mask: u32, mask_bstride: u32, write_probs: u32, _pad: u32,
}

override DV4: u32 = 16u; // D / 4 (1..16), fixed per pipeline by the host

// acc + a·b summed one component at a time, in d order: scores come out as version 2 computes them
// (Σ_d q_d k_d, then × scale), so the lse of either forward version matches the backward's exps even
// at huge logits, where a different summation order moves exp(s − lse) visibly
fn dot4(acc: f32, a: vec4<f32>, b: vec4<f32>) -> f32 {
  return (((acc + a.x * b.x) + a.y * b.y) + a.z * b.z) + a.w * b.w;
}
