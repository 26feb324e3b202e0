// rope_forward — rotary position embedding, transformers `rotate_half` convention (also used by rope_backward)
//
// For each token row r, head h and i < D/2, with position p and inv_freq f_i (theta^(-2i/D) by default):
//   a = dir · p · f_i;  out[i] = x[i]·cos a − x[i+D/2]·sin a;  out[i+D/2] = x[i+D/2]·cos a + x[i]·sin a
// dir = +1 forward; dir = −1 is the inverse rotation = the backward (the rotation is orthogonal).
//
// Angles: p·f reaches 3e4 rad (p = 32768), where one f32 ulp is 0.004 rad, so neither p·f nor sin/cos
// of it can be formed in f32 directly. Instead tab[i] holds g_i = f_i/(2π) (turns per position) as 4
// pieces of 12 significant bits each (48 bits in all); p (|p| < 2^24) is split into 12-bit halves, so
// every product p_half·piece is exact in f32, and so is its fract(). Summing the 8 fractions modulo 1
// costs ≤ 8·2^-24 turns (≤ 3e-6 rad, usually far less); the angle is then in [−π, π), where sin/cos
// are accurate. No step relies on error-free transforms a compiler could reassociate away.
//
// main — bindings (group 0):
//   0 uniform  U { n_pairs: u32, H: u32, half: u32, T: u32, offset: i32, use_pos: u32, dir: f32, _pad: u32 }
//   1 read     x:   [R, H, D] f32   (R = B·T token rows; D = 2·half)
//   2 read     tab: [half, 4] f32   turn pieces of inv_freq/(2π), largest first (host or `table` below)
//   3 read     pos: [R] i32         p = offset + pos[r] when use_pos = 1, else p = offset + (r mod T);
//                                   any buffer when use_pos = 0
//   4 storage  out: [R, H, D] f32
//   dispatch: grid1d(ceil(n_pairs / 256)), n_pairs = R·H·half; one invocation per rotated pair
// table — tab from an inv_freq tensor on the GPU (exact integer arithmetic, see below):
//   0 uniform U (half used); 1 read inv_freq: [half] f32; 2 storage tab_out: [half, 4] f32
//   dispatch: ceil(half / 256)
// reference: rope_forward.ref.ts (ropeForwardRef); rope_backward.ref.ts (ropeBackwardRef)

struct U { n_pairs: u32, H: u32, half: u32, T: u32, offset: i32, use_pos: u32, dir: f32, _pad: u32 }

const WG = 256u;

@group(0) @binding(0) var<uniform> u: U;

// main
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> tab: array<f32>;
@group(0) @binding(3) var<storage, read> pos: array<i32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

// table
@group(0) @binding(1) var<storage, read> inv_freq: array<f32>;
@group(0) @binding(2) var<storage, read_write> tab_out: array<f32>;

// turns(p, i): (p · g_i) mod 1 — from rope_turns.wgsl, prepended by the host (rope_forward.ts)

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let idx = (wid.x + wid.y * nwg.x) * WG + lid;
  if (idx >= u.n_pairs) { return; }
  let i = idx % u.half; // frequency index
  let rh = idx / u.half; // r·H + h
  let r = rh / u.H; // token row
  var p = u.offset;
  if (u.use_pos == 1u) { p += pos[r]; } else { p += i32(r % u.T); }

  let a = rope_angle(p, i); // [−π, π)
  let c = cos(a);
  let s = u.dir * sin(a);
  let j = rh * 2u * u.half + i; // x[r, h, i]; its partner x[r, h, i + half]
  let x1 = x[j];
  let x2 = x[j + u.half];
  out[j] = x1 * c - x2 * s;
  out[j + u.half] = x2 * c + x1 * s;
}

// 1/(2π) = M · 2^-50, M = 0xa2f9836e4e44 (48 bits), as 12-bit limbs, most significant first
const M3 = 0xa2fu;
const M2 = 0x983u;
const M1 = 0x6e4u;
const M0 = 0xe44u;

// tab_out[i] = pieces of inv_freq[i]/(2π): the 24-bit significand times M in 12-bit integer limbs
// (u32 products < 2^25: exact), top 4 of the 6 result limbs (the top one >= 2^10) → 46+ bits.
@compute @workgroup_size(WG)
fn table(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i >= u.half) { return; }
  let bits = bitcast<u32>(inv_freq[i]);
  let be = (bits >> 23u) & 0xffu;
  var sign = 1.0;
  if ((bits >> 31u) == 1u) { sign = -1.0; }
  if (be == 0u || be == 0xffu) { // zero/subnormal → no rotation; Inf/NaN kept (→ NaN angles)
    let v = select(0.0, inv_freq[i], be == 0xffu);
    for (var k = 0u; k < 4u; k++) { tab_out[i * 4u + k] = v; }
    return;
  }
  let mant = (bits & 0x7fffffu) | 0x800000u; // f = mant · 2^(be − 150)
  let a1 = mant >> 12u;
  let a0 = mant & 0xfffu;
  // schoolbook columns of mant · M, limb weights 2^(12k)
  var col = array<u32, 5>(a0 * M0, a0 * M1 + a1 * M0, a0 * M2 + a1 * M1, a0 * M3 + a1 * M2, a1 * M3);
  var limb: array<u32, 6>;
  var carry = 0u;
  for (var k = 0u; k < 5u; k++) {
    let v = col[k] + carry;
    limb[k] = v & 0xfffu;
    carry = v >> 12u;
  }
  limb[5] = carry;
  // g = Σ limb[k] · 2^(12k + be − 150 − 50)
  for (var k = 0u; k < 4u; k++) {
    let l = 5u - k;
    tab_out[i * 4u + k] = sign * ldexp(f32(limb[l]), i32(12u * l + be) - 200i);
  }
}
