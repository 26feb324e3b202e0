// splitk_reduce_batch — split-K's second pass for up to four products in one dispatch: for each entry e < n,
//   out_e[i] = alpha_e · Σ_s partial_e[s, i]  (+ out_e[i] if accumulate_e),   i < len_e
// the S slices added in index order s = 0, 1, ..., S-1 and the epilogue applied as matmul_forward_splitk.wgsl does
// (the same operations in the same order: the same bits), without a bias. A training step's LoRA gradients dA and dB
// (split-K products accumulating into the packed gradients) take theirs four at a time instead of one dispatch each.
//
// legend: S_e K ranges of entry e, len_e = its M·N outputs
// bindings (group 0):
//   0 uniform  U (below)
//   1-4 read     p0..p3: [S_e, len_e] f32 raw partial sums of entry e (split-K's first pass)
//   5-8 storage  o0..o3: [len_e] f32 (read too when accumulate_e); entries past n are bound to spare tensors, unused
// dispatch: [ceil(max_e len_e / 256), n] workgroups of 256: entry = wid.y
// reference: splitk_reduce_batch.ref.ts (splitkReduceBatchRef)

struct Entry {
  len: u32,
  S: u32,
  alpha: f32,
  accumulate: u32,
}

struct U {
  n: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
  e: array<Entry, 4>,
}

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> p0: array<f32>;
@group(0) @binding(2) var<storage, read> p1: array<f32>;
@group(0) @binding(3) var<storage, read> p2: array<f32>;
@group(0) @binding(4) var<storage, read> p3: array<f32>;
@group(0) @binding(5) var<storage, read_write> o0: array<f32>;
@group(0) @binding(6) var<storage, read_write> o1: array<f32>;
@group(0) @binding(7) var<storage, read_write> o2: array<f32>;
@group(0) @binding(8) var<storage, read_write> o3: array<f32>;

fn part(e: u32, j: u32) -> f32 {
  switch e {
    case 0u: { return p0[j]; }
    case 1u: { return p1[j]; }
    case 2u: { return p2[j]; }
    default: { return p3[j]; }
  }
}

fn read_out(e: u32, i: u32) -> f32 {
  switch e {
    case 0u: { return o0[i]; }
    case 1u: { return o1[i]; }
    case 2u: { return o2[i]; }
    default: { return o3[i]; }
  }
}

fn write_out(e: u32, i: u32, x: f32) {
  switch e {
    case 0u: { o0[i] = x; }
    case 1u: { o1[i] = x; }
    case 2u: { o2[i] = x; }
    default: { o3[i] = x; }
  }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
  let e = wid.y;
  if (e >= u.n) { return; }
  let en = u.e[e];
  let i = wid.x * 256u + t;
  if (i >= en.len) { return; }
  var s = 0.0;
  for (var k = 0u; k < en.S; k++) { s += part(e, i + k * en.len); }  // fixed order: s = 0..S-1
  var x = en.alpha * s;
  if (en.accumulate != 0u) { x += read_out(e, i); }
  write_out(e, i, x);
}
