// attention_backward_dkv (version 3, rows) — dK and dV of causal grouped-query attention by a thread
// per (key, query head), in two entry points so that each thread's registers hold at most three
// D-vectors (D ≤ 64, D % 4 == 0):
//   dv_main:  dV_j^h = Σ_i P_ij dO_i                       (k_j and the sum in registers)
//   dk_main:  dK_j^h = scale · Σ_i dS_ij q_i,  dS_ij = P_ij (dO_i·v_j − Δ_i)   (k_j, v_j, the sum)
// with P_ij = exp(scale·q_i·k_j − lse_i) over visible pairs (others skipped: their P may be inf).
// Version 2 (attention_backward_dkv.wgsl) runs a workgroup per 16 keys of a kv head over every query
// head of its group: B·S·Hkv/16 workgroups, ~100 for a SmolLM2 step, fewer than an H100 has SMs.
// Here each query head h has its own threads (B·S·H of them) and writes dK^h, dV^h to [B, S, H, D];
// the host sums the H/Hkv heads of each kv head with matmul's split-K reduce (fixed order:
// deterministic), or, when H = Hkv, binds dk / dv themselves here.
// Queries stream through workgroup memory in blocks of 32 (Q and dO: 16 KB at D = 64), from the
// first one that can see the tile's first key (i ≥ j0 − offset).
//
// bindings (group 0):
//   0 uniform  U (same struct as attention_forward.wgsl)
//   1 read     q:     [B, T, H, D]   f32 (as vec4)
//   2 read     k:     [B, S, Hkv, D] f32 (as vec4)
//   3 read     v:     [B, S, Hkv, D] f32 (as vec4)
//   4 read     dOut:  [B, T, H, D]   f32 (as vec4)
//   5 read     stats: [B, H, T, 2]   f32   (lse_i, Δ_i) from attention_backward.wgsl
//   6 read     mask:  [B, S] or [S]  u32/i32 (bound to q and unused if has_mask = 0)
//   7 storage  dkh:   [B, S, H, D]   f32 (as vec4), written by dk_main (dk itself when H = Hkv)
//   8 storage  dvh:   [B, S, H, D]   f32 (as vec4), written by dv_main (dv itself when H = Hkv)
// override: DV4 = D / 4 (1..16). dispatch (each entry point): [ceil(S / 64), H, B] workgroups of 64.
// reference: attention_backward.ref.ts (attentionBackwardRef)

struct U {
  B: u32, T: u32, S: u32, H: u32,
  Hkv: u32, D: u32, offset: u32, scale: f32,
  has_mask: u32, mask_bstride: u32, write_probs: u32, _pad: u32,
}

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> stats: array<f32>;
@group(0) @binding(6) var<storage, read> mask: array<u32>;
@group(0) @binding(7) var<storage, read_write> dkh: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> dvh: array<vec4<f32>>;

const BK: u32 = 64u;  // keys per workgroup (one per thread)
const BQ: u32 = 32u;  // queries per staged block
override DV4: u32 = 16u;

var<workgroup> qs: array<vec4<f32>, BQ * DV4>;  // Q block  [BQ queries, D/4]
var<workgroup> dos: array<vec4<f32>, BQ * DV4>; // dO block [BQ queries, D/4]

fn dot4(acc: f32, a: vec4<f32>, b: vec4<f32>) -> f32 {
  return (((acc + a.x * b.x) + a.y * b.y) + a.z * b.z) + a.w * b.w; // d order, as the other versions
}

// this thread's key (the query loop's start, istart(), is kept apart: uniformity analysis treats a
// struct holding anything per-thread as per-thread, and the loop holds barriers)
struct Tile { b: u32, h: u32, hk: u32, j: u32, key_ok: bool }

// key j0 (the workgroup's first) is seen only by queries i >= j0 - offset
fn istart(wid: vec3u) -> u32 {
  let j0 = wid.x * BK;
  return select(0u, j0 - u.offset, j0 > u.offset);
}

fn tile(wid: vec3u, lid: u32) -> Tile {
  var t: Tile;
  t.b = wid.z;
  t.h = wid.y;
  t.hk = t.h / (u.H / u.Hkv);
  t.j = wid.x * BK + lid;
  t.key_ok = t.j < u.S && (u.has_mask == 0u || mask[t.b * u.mask_bstride + min(t.j, u.S - 1u)] != 0u);
  return t;
}

// stage queries i0..i0+BQ-1 of head h of batch entry b (rows past T clamped: skipped below)
fn stage(b: u32, h: u32, i0: u32, lid: u32) {
  for (var e = lid; e < BQ * DV4; e += BK) {
    let i = min(i0 + e / DV4, u.T - 1u);
    let src = ((b * u.T + i) * u.H + h) * DV4 + e % DV4;
    qs[e] = q[src];
    dos[e] = dout[src];
  }
}

fn kv_row(t: Tile) -> u32 { return ((t.b * u.S + min(t.j, u.S - 1u)) * u.Hkv + t.hk) * DV4; }
fn out_row(t: Tile) -> u32 { return ((t.b * u.S + min(t.j, u.S - 1u)) * u.H + t.h) * DV4; }

@compute @workgroup_size(BK)
fn dv_main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = tile(wid, lid);
  var kv: array<vec4<f32>, 16>;
  var acc: array<vec4<f32>, 16>;
  let kr = kv_row(t);
  for (var d = 0u; d < DV4; d++) { kv[d] = k[kr + d]; acc[d] = vec4(0.0); }
  for (var i0 = istart(wid); i0 < u.T; i0 += BQ) {
    workgroupBarrier();
    stage(wid.z, wid.y, i0, lid);
    workgroupBarrier();
    for (var x = 0u; x < BQ; x++) {
      let i = i0 + x;
      if (!t.key_ok || i >= u.T || t.j > u.offset + i) { continue; }
      var s = 0.0;
      for (var d = 0u; d < DV4; d++) { s = dot4(s, qs[x * DV4 + d], kv[d]); }
      let p = exp(s * u.scale - stats[2u * ((t.b * u.H + t.h) * u.T + i)]);
      for (var d = 0u; d < DV4; d++) { acc[d] += p * dos[x * DV4 + d]; }
    }
  }
  if (t.j >= u.S) { return; }
  let o = out_row(t);
  for (var d = 0u; d < DV4; d++) { dvh[o + d] = acc[d]; }
}

@compute @workgroup_size(BK)
fn dk_main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = tile(wid, lid);
  var kv: array<vec4<f32>, 16>;
  var vv: array<vec4<f32>, 16>;
  var acc: array<vec4<f32>, 16>;
  let kr = kv_row(t);
  for (var d = 0u; d < DV4; d++) { kv[d] = k[kr + d]; vv[d] = v[kr + d]; acc[d] = vec4(0.0); }
  for (var i0 = istart(wid); i0 < u.T; i0 += BQ) {
    workgroupBarrier();
    stage(wid.z, wid.y, i0, lid);
    workgroupBarrier();
    for (var x = 0u; x < BQ; x++) {
      let i = i0 + x;
      if (!t.key_ok || i >= u.T || t.j > u.offset + i) { continue; }
      var s = 0.0;
      var dp = 0.0;
      for (var d = 0u; d < DV4; d++) {
        s = dot4(s, qs[x * DV4 + d], kv[d]);
        dp = dot4(dp, dos[x * DV4 + d], vv[d]);
      }
      let r = 2u * ((t.b * u.H + t.h) * u.T + i);
      let ds = exp(s * u.scale - stats[r]) * (dp - stats[r + 1u]);
      for (var d = 0u; d < DV4; d++) { acc[d] += ds * qs[x * DV4 + d]; }
    }
  }
  if (t.j >= u.S) { return; }
  let o = out_row(t);
  for (var d = 0u; d < DV4; d++) { dkh[o + d] = u.scale * acc[d]; }
}
