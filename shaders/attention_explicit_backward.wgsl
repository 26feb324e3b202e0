// attention_explicit_backward — the backward of attention_explicit's steps (scores → pattern → z = pattern · V),
// for a training graph whose hook_attn_scores or hook_pattern is written (an edited score or pattern flows on in
// the forward, and the edit's backward meets the gradient at the same point). With p the pattern, dz the gradient
// of z [B, T, H, D] and G = H / Hkv query heads per kv head, the chain is
//   dp  = dz · vᵀ                               attention_explicit's scores_main (all keys, scale 1)
//   dv  = Σ_{h in kv head's group} pᵀ · dz      gather_main here (m = the pattern z was made of, x = dz)
//   ds  = p ⊙ (dp − Σ_j p ⊙ dp)                 softmax_backward_main here (m = the softmax's own p, x = dp)
//   dq  = scale · ds · k                        attention_explicit's apply_main (scale)
//   dk  = scale · Σ_{h in group} dsᵀ · q        gather_main here (m = ds, x = q)
// Naive kernels, as the explicit forward's: a thread per output element, a workgroup per softmax row.
//
// bindings (group 0):        gather_main                          softmax_backward_main
//   0 uniform  U (below)
//   1 read     m:            [B, H, T, S] (pattern or ds)          p [B, H, T, S]
//   2 read     x:            [B, T, H, D] (dz or q)                dp [B, H, T, S]
//   3 storage  out:          [B, S, Hkv, D] (dv or dk)             ds [B, H, T, S]
// gather_main: grid1d(ceil(B·S·Hkv·D / 256)) of 256:
//   out[b, j, hk, d] = scale · Σ_{h = hk·G}^{hk·G+G−1} Σ_{i<T} m[b, h, i, j] · x[b, i, h, d], summed in (h, i) order;
//   zero weights are skipped (exact zeros add exactly nothing; half of a causal pattern is zero).
// softmax_backward_main: grid1d(B·H·T) of 64, one workgroup per row: ds = p · (dp − Σ_j p·dp); a row of
//   zeros (no visible key) gives zeros. Entries where p = 0 (invisible keys) give exactly 0.
// reference: attention_explicit_backward.ref.ts

struct U {
  B: u32, T: u32, S: u32, H: u32,
  Hkv: u32, D: u32, scale: f32, _pad: u32,
}

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> m: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const PWG: u32 = 64u; // lanes per row (softmax_backward_main)

@compute @workgroup_size(256)
fn gather_main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = (wid.x + wid.y * nwg.x) * 256u + lid; // linear index into out [B, S, Hkv, D]
  if (g >= u.B * u.S * u.Hkv * u.D) { return; }
  let d = g % u.D; // consecutive threads: consecutive d, so the x reads coalesce
  let hk = (g / u.D) % u.Hkv;
  let j = (g / (u.D * u.Hkv)) % u.S;
  let b = g / (u.D * u.Hkv * u.S);
  let G = u.H / u.Hkv;
  var acc = 0.0;
  for (var h = hk * G; h < hk * G + G; h++) {
    for (var i = 0u; i < u.T; i++) {
      let w = m[((b * u.H + h) * u.T + i) * u.S + j];
      if (w != 0.0) { acc += w * x[((b * u.T + i) * u.H + h) * u.D + d]; }
    }
  }
  out[g] = acc * u.scale;
}

var<workgroup> sm: array<f32, PWG>;

@compute @workgroup_size(64)
fn softmax_backward_main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x; // (b, h, i)
  // uniform across the workgroup, so the early return keeps the barriers in uniform control flow
  if (row >= u.B * u.H * u.T) { return; }
  let base = row * u.S;
  var acc = 0.0;
  for (var j = lid; j < u.S; j += PWG) {
    let p = m[base + j];
    if (p != 0.0) { acc += p * x[base + j]; } // invisible keys (p = 0) add nothing, whatever dp holds there
  }
  sm[lid] = acc;
  workgroupBarrier();
  for (var stride = PWG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) { sm[lid] += sm[lid + stride]; }
    workgroupBarrier();
  }
  let dot = sm[0];
  for (var j = lid; j < u.S; j += PWG) {
    let p = m[base + j];
    var ds = 0.0;
    if (p != 0.0) { ds = p * (x[base + j] - dot); }
    out[base + j] = ds;
  }
}
