// unpack_half — f16 / bf16 tensor → f32 tensor of the same shape (flat: element i → out[i])
//
// bindings (group 0):
//   0 uniform  U { n: u32, kind: u32 }      n elements; kind 1 = f16, 2 = bf16 (as in matmul_forward)
//   1 read     src: [ceil(n / 2)] u32         two halves a word: element 2w in the low 16 bits, 2w+1 high
//   2 storage  out: [n] f32
// dispatch: grid1d(ceil(ceil(n / 2) / 256)) workgroups of 256; one invocation per word (two outputs);
//   linear word index w = (wid.x + wid.y * nwg.x) * 256 + lid
// reference: unpack_half.ref.ts (unpackHalfRef)

struct U { n: u32, kind: u32, _pad0: u32, _pad1: u32 }

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let w = (wid.x + wid.y * nwg.x) * 256u + lid;
  let i = 2u * w;                  // first of the word's two elements
  if (i >= u.n) { return; }
  let bits = src[w];
  var v: vec2<f32>;
  if (u.kind == 1u) {
    v = unpack2x16float(bits);     // f16 → f32 exactly (subnormals, ±Inf, NaN included)
  } else {
    // bf16 is the top half of an f32: shift the low half up, mask the high half's low bits off
    v = vec2(bitcast<f32>(bits << 16u), bitcast<f32>(bits & 0xffff0000u));
  }
  out[i] = v.x;
  if (i + 1u < u.n) { out[i + 1u] = v.y; }  // odd n: the last word's high half is padding
}
