// attention_backward (pre-pass) — per-row statistics the two gradient passes read:
//   stats[b, h, i] = (lse_i, Δ_i) with Δ_i = Σ_d dOut[b, i, h, d] · out[b, i, h, d]  (= rowsum(dO ∘ O))
// Packing lse and Δ into one tensor keeps the dK/dV pass at 8 storage bindings (the engine minimum).
//
// bindings (group 0):
//   0 uniform  U (same struct as attention_forward.wgsl; only B, T, H, D are read)
//   1 read     out:   [B, T, H, D] f32   forward output
//   2 read     dOut:  [B, T, H, D] f32
//   3 read     lse:   [B, H, T]    f32   forward logsumexp (-3.402823e38 for a row that saw no key)
//   4 storage  stats: [B, H, T, 2] f32
// dispatch: grid1d(ceil(B·H·T / 64)) workgroups of 64, one thread per (b, h, i) row
// followed by attention_backward_dq.wgsl and attention_backward_dkv.wgsl (any order)
// reference: attention_backward.ref.ts (attentionBackwardRef)

struct U {
  B: u32, T: u32, S: u32, H: u32,
  Hkv: u32, D: u32, offset: u32, scale: f32,
  has_mask: u32, mask_bstride: u32, write_probs: u32, _pad: u32,
}

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> out: array<f32>;
@group(0) @binding(2) var<storage, read> dout: array<f32>;
@group(0) @binding(3) var<storage, read> lse: array<f32>;
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = (wid.x + wid.y * nwg.x) * 64u + lid; // row index into [B, H, T]
  if (g >= u.B * u.H * u.T) { return; }
  let i = g % u.T;
  let h = (g / u.T) % u.H;
  let b = g / (u.T * u.H);
  let o = ((b * u.T + i) * u.H + h) * u.D; // out/dOut[b, i, h, 0]
  var delta = 0.0;
  for (var d = 0u; d < u.D; d++) { delta += dout[o + d] * out[o + d]; }
  stats[2u * g] = lse[g];
  stats[2u * g + 1u] = delta;
}
