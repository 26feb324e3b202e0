// rope_kv_write — from the fused q|k|v projection, RoPE on q and k, k and v written into the KV cache.
// Replaces (rope q, rope k, copy k → cache, copy v → cache) by one dispatch with no pass split.
//
// For token row r = b·T + t, with rope position p = offset + (use_pos ? pos[r] : t) and cache slot
// c = cache_at + t:
//   q_out[r, h, :]      = rope_p(qkv[r, h, :])            h < H
//   kc[b, c, h, :]      = rope_p(qkv[r, H + h, :])        h < Hkv
//   vc[b, c, h, :]      =        qkv[r, H + Hkv + h, :]   h < Hkv
// rope_p in the transformers `rotate_half` convention, angles as in rope_forward.wgsl (rope_turns).
//
// bindings (group 0):
//   0 uniform  U { R: u32, T: u32, H: u32, Hkv: u32, half: u32, S: u32, offset: i32, use_pos: u32, cache_at: u32 }
//   1 read     qkv:   [R, (H + 2·Hkv)·D] f32   (D = 2·half; row = q heads, then k heads, then v heads)
//   2 read     tab:   [half, 4] f32            turn pieces (rope_forward.ts ropeTable)
//   3 read     pos:   [R] i32                  when use_pos = 1 (any buffer otherwise)
//   4 storage  q_out: [R, H, D] f32
//   5 storage  kc:    [B, S, Hkv, D] f32       (B = R / T; S = cache capacity; slots cache_at..cache_at+T-1 written)
//   6 storage  vc:    [B, S, Hkv, D] f32
// dispatch: grid1d(ceil(n / 256)), n = R·(H + 2·Hkv)·half pairs (q and k pairs rotated, v pairs copied)
// reference: rope_kv_write.ref.ts (ropeKvWriteRef)

struct U { R: u32, T: u32, H: u32, Hkv: u32, half: u32, S: u32, offset: i32, use_pos: u32, cache_at: u32, _p0: u32, _p1: u32, _p2: u32 }

const WG = 256u;

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> tab: array<f32>;
@group(0) @binding(3) var<storage, read> pos: array<i32>;
@group(0) @binding(4) var<storage, read_write> q_out: array<f32>;
@group(0) @binding(5) var<storage, read_write> kc: array<f32>;
@group(0) @binding(6) var<storage, read_write> vc: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let idx = (wid.x + wid.y * nwg.x) * WG + lid;
  let D = 2u * u.half;
  let heads = u.H + 2u * u.Hkv; // heads per qkv row
  // every invocation owns one pair (i, i + half) of one head of one row: [R, heads, half]
  if (idx >= u.R * heads * u.half) { return; }
  let i = idx % u.half;
  let rh = idx / u.half;
  let h = rh % heads; // head within the fused row
  let r = rh / heads; // token row b·T + t
  let t = r % u.T;
  let b = r / u.T;
  let src = rh * D + i; // qkv[r, h, i]; partner at + half
  var x1 = qkv[src];
  var x2 = qkv[src + u.half];
  if (h < u.H + u.Hkv) {
    // q or k head: rotate by the row's position
    var p = u.offset;
    if (u.use_pos == 1u) { p += pos[r]; } else { p += i32(t); }
    let a = rope_angle(p, i);
    let c = cos(a);
    let s = sin(a);
    let y1 = x1 * c - x2 * s;
    let y2 = x2 * c + x1 * s;
    x1 = y1;
    x2 = y2;
  }
  if (h < u.H) {
    let o = (r * u.H + h) * D + i; // q_out[r, h, i]
    q_out[o] = x1;
    q_out[o + u.half] = x2;
    return;
  }
  let slot = b * u.S + u.cache_at + t; // cache row of this token
  if (h < u.H + u.Hkv) {
    let o = (slot * u.Hkv + (h - u.H)) * D + i; // kc[b, slot, h', i]
    kc[o] = x1;
    kc[o + u.half] = x2;
  } else {
    let o = (slot * u.Hkv + (h - u.H - u.Hkv)) * D + i; // vc[b, slot, h', i]
    vc[o] = x1;
    vc[o + u.half] = x2;
  }
}
