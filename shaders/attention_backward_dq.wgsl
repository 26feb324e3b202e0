// attention_backward_dq — dQ of causal grouped-query attention, parallel over query tiles
// (FlashAttention-2 recomputation; deterministic, no atomics):
//   P_ij = exp(scale·q_i·k_j − lse_i) for visible keys, else 0
//   dS_ij = P_ij (dO_i·v_j − Δ_i),   dQ_i = scale · Σ_j dS_ij k_j
//
// bindings (group 0):
//   0 uniform  U (same struct as attention_forward.wgsl)
//   1 read     q:     [B, T, H, D]   f32
//   2 read     k:     [B, S, Hkv, D] f32
//   3 read     v:     [B, S, Hkv, D] f32
//   4 read     dOut:  [B, T, H, D]   f32
//   5 read     stats: [B, H, T, 2]   f32   (lse_i, Δ_i) from attention_backward.wgsl
//   6 read     mask:  [B, S] or [S]  u32/i32 (bound to q and unused if has_mask = 0)
//   7 storage  dq:    [B, T, H, D]   f32   overwritten (an activation gradient)
// visibility as in attention_forward.wgsl: key j for query i iff j <= offset + i, j < S, mask != 0.
// dispatch: workgroups [ceil(T/16), H, B] of 256 = 16 query rows x 16 lanes; keys in blocks of 16,
//           head dims staged 16 at a time; lane c holds dQ[i, d] for d ≡ c (mod 16) in registers
// reference: attention_backward.ref.ts (attentionBackwardRef)

struct U {
  B: u32, T: u32, S: u32, H: u32,
  Hkv: u32, D: u32, offset: u32, scale: f32,
  has_mask: u32, mask_bstride: u32, write_probs: u32, _pad: u32,
}

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> dout: array<f32>;
@group(0) @binding(5) var<storage, read> stats: array<f32>;
@group(0) @binding(6) var<storage, read> mask: array<u32>;
@group(0) @binding(7) var<storage, read_write> dq: array<f32>;

const BR: u32 = 16u; // query rows per workgroup
const BC: u32 = 16u; // keys per block
const DC: u32 = 16u; // head dims staged at a time (BR x DC = 256: one element per lane)
const MAX_DT: u32 = 16u; // registers per lane: D <= 256

fn q_at(b: u32, i: u32, h: u32) -> u32 { return ((b * u.T + i) * u.H + h) * u.D; }
fn kv_at(b: u32, j: u32, hk: u32) -> u32 { return ((b * u.S + j) * u.Hkv + hk) * u.D; }

fn visible(b: u32, i: u32, j: u32) -> bool {
  if (j >= u.S || j > u.offset + i) { return false; }
  return u.has_mask == 0u || mask[b * u.mask_bstride + j] != 0u;
}

var<workgroup> sq: array<f32, BR * DC>;  // Q rows   [16, 16 dims]
var<workgroup> sdo: array<f32, BR * DC>; // dO rows  [16, 16 dims]
var<workgroup> sk: array<f32, BC * DC>;  // K keys   [16, 16 dims]
var<workgroup> sv: array<f32, BC * DC>;  // V keys   [16, 16 dims]
var<workgroup> sds: array<f32, BR * BC>; // dS block [16 rows, 16 keys]

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = lid / BC; // query row within the tile; for staging K/V: key within the block
  let c = lid % BC; // key within a block, then head-dim lane (d = dc + c)
  let b = wid.z;
  let h = wid.y;
  let hk = h / (u.H / u.Hkv);
  let i0 = wid.x * BR;
  let i = i0 + r;
  let row_ok = i < u.T;
  let kend = min(u.S, u.offset + min(i0 + BR, u.T)); // keys past the tile's last row are never seen
  let qrow = q_at(b, min(i, u.T - 1u), h); // clamped: padding rows load row T-1 and discard it
  let ri = (b * u.H + h) * u.T + min(i, u.T - 1u); // stats row
  let lse_i = stats[2u * ri];
  let delta_i = stats[2u * ri + 1u];

  var acc: array<f32, MAX_DT>; // acc[t] = Σ_j dS_ij k_j[c + 16 t]
  for (var t = 0u; t < MAX_DT; t++) { acc[t] = 0.0; }

  for (var j0 = 0u; j0 < kend; j0 += BC) {
    let kj = j0 + r;      // the key this lane stages
    let k_ok = kj < kend; // keys >= kend stay unread (possibly a garbage cache tail)
    let krow = kv_at(b, min(kj, u.S - 1u), hk);
    // s = q_i · k_j and dp = dO_i · v_j for this lane's (row r, key c)
    var s = 0.0;
    var dp = 0.0;
    for (var dc = 0u; dc < u.D; dc += DC) {
      let d = dc + c;
      let dd = min(d, u.D - 1u);
      sq[lid] = select(0.0, q[qrow + dd], row_ok && d < u.D);
      sdo[lid] = select(0.0, dout[qrow + dd], row_ok && d < u.D);
      sk[lid] = select(0.0, k[krow + dd], k_ok && d < u.D);
      sv[lid] = select(0.0, v[krow + dd], k_ok && d < u.D);
      workgroupBarrier();
      for (var x = 0u; x < DC; x++) {
        s += sq[r * DC + x] * sk[c * DC + x];
        dp += sdo[r * DC + x] * sv[c * DC + x];
      }
      workgroupBarrier();
    }
    let vis = row_ok && visible(b, i, j0 + c);
    // select, not multiply: an invisible key's p or dp may be inf/NaN and must contribute exactly 0
    let p = exp(s * u.scale - lse_i);
    sds[lid] = select(0.0, p * (dp - delta_i), vis);

    // acc[r, d] += Σ_x dS[r, x] · k[j0 + x, d], K staged again 16 dims at a time
    for (var dc = 0u; dc < u.D; dc += DC) {
      let d = dc + c;
      sk[lid] = select(0.0, k[krow + min(d, u.D - 1u)], k_ok && d < u.D);
      workgroupBarrier(); // also publishes sds
      var a = 0.0;
      for (var x = 0u; x < BC; x++) { a += sds[r * BC + x] * sk[x * DC + c]; }
      // branch-free register select (a dynamic index would spill acc to memory)
      for (var t = 0u; t < MAX_DT; t++) { acc[t] += select(0.0, a, t == dc / DC); }
      workgroupBarrier();
    }
  }

  if (!row_ok) { return; }
  for (var t = 0u; t < MAX_DT; t++) {
    let d = c + DC * t;
    if (d < u.D) { dq[qrow + d] = u.scale * acc[t]; }
  }
}
