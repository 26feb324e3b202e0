// rope_qkv_backward — gradient of rope_kv_write in the training forward (no cache: k and v are this
// forward's own [B, T, Hkv, D], written at slot t). Packs dq, dk and dv back into the layout of
// the fused q|k|v projection, undoing the rotation on q and k (the transpose of a rotation by a
// is the rotation by −a):
//   dqkv[r, h, :]           = rope_{−p}(dq[r, h, :])        h < H
//   dqkv[r, H + h, :]       = rope_{−p}(dk[r, h, :])        h < Hkv
//   dqkv[r, H + Hkv + h, :] =           dv[r, h, :]         h < Hkv
// with r = b·T + t and p = offset + (use_pos ? pos[r] : t), as in the forward.
// With G > 1, dk and dv are the attention backward's per-query-head partials [R, H, D] (H = G·Hkv), summed here
// over the G query heads of each kv head, in order g = 0..G-1 (as matmul's split-K reduce would: the same sums,
// one dispatch and one round trip of [R, Hkv, D] fewer):  dk[r, h, :] = Σ_g dk_heads[r, h·G + g, :].
//
// bindings (group 0):
//   0 uniform  U { R: u32, T: u32, H: u32, Hkv: u32, half: u32, offset: i32, use_pos: u32, G: u32 }
//   1 read     dq:   [R, H, D] f32        (D = 2·half)
//   2 read     dk:   [R, Hkv·G, D] f32    (G = 1: the gradient itself; G > 1: per query head, summed here)
//   3 read     dv:   [R, Hkv·G, D] f32
//   4 read     tab:  [half, 4] f32        turn pieces (rope_forward.ts ropeTable)
//   5 read     pos:  [R] i32              when use_pos = 1 (any buffer otherwise)
//   6 storage  dqkv: [R, (H + 2·Hkv)·D] f32
// dispatch: grid1d(ceil(n / 256)), n = R·(H + 2·Hkv)·half pairs
// reference: rope_qkv_backward.ref.ts (ropeQkvBackwardRef)

struct U { R: u32, T: u32, H: u32, Hkv: u32, half: u32, offset: i32, use_pos: u32, G: u32 }

const WG = 256u;

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> dq: array<f32>;
@group(0) @binding(2) var<storage, read> dk: array<f32>;
@group(0) @binding(3) var<storage, read> dv: array<f32>;
@group(0) @binding(4) var<storage, read> tab: array<f32>;
@group(0) @binding(5) var<storage, read> pos: array<i32>;
@group(0) @binding(6) var<storage, read_write> dqkv: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let idx = (wid.x + wid.y * nwg.x) * WG + lid;
  let D = 2u * u.half;
  let heads = u.H + 2u * u.Hkv; // heads per fused row
  // every invocation owns one pair (i, i + half) of one head of one row: [R, heads, half]
  if (idx >= u.R * heads * u.half) { return; }
  let i = idx % u.half;
  let rh = idx / u.half;
  let h = rh % heads; // head within the fused row
  let r = rh / heads; // token row b·T + t
  var x1 = 0.0;
  var x2 = 0.0;
  if (h < u.H) {
    let s = (r * u.H + h) * D + i; // dq[r, h, i]
    x1 = dq[s];
    x2 = dq[s + u.half];
  } else if (h < u.H + u.Hkv) {
    let s = (r * u.Hkv + (h - u.H)) * u.G * D + i; // dk[r, h'·G, i]
    for (var g = 0u; g < u.G; g++) {
      x1 += dk[s + g * D];
      x2 += dk[s + g * D + u.half];
    }
  } else {
    let s = (r * u.Hkv + (h - u.H - u.Hkv)) * u.G * D + i; // dv[r, h'·G, i]
    for (var g = 0u; g < u.G; g++) {
      x1 += dv[s + g * D];
      x2 += dv[s + g * D + u.half];
    }
  }
  if (h < u.H + u.Hkv) {
    // q or k head: rotate back by the row's angle (rotation by −a)
    var p = u.offset;
    if (u.use_pos == 1u) { p += pos[r]; } else { p += i32(r % u.T); }
    let a = rope_angle(p, i);
    let c = cos(a);
    let sn = sin(a);
    let y1 = x1 * c + x2 * sn;
    let y2 = x2 * c - x1 * sn;
    x1 = y1;
    x2 = y2;
  }
  let o = rh * D + i; // dqkv[r, h, i]
  dqkv[o] = x1;
  dqkv[o + u.half] = x2;
}
