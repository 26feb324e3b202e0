// attention_backward_dkv — dK and dV of causal grouped-query attention, parallel over key tiles;
// each workgroup also loops over the H/Hkv query heads sharing its kv head, so the GQA sum needs
// no atomics and is deterministic:
//   P_ij = exp(scale·q_i·k_j − lse_i) (visible keys, else 0),  dS_ij = P_ij (dO_i·v_j − Δ_i)
//   dV_j = Σ_{h in group} Σ_i P_ij dO_i,   dK_j = scale · Σ_{h in group} Σ_i dS_ij q_i
//
// bindings (group 0):
//   0 uniform  U (same struct as attention_forward.wgsl)
//   1 read     q:     [B, T, H, D]   f32
//   2 read     k:     [B, S, Hkv, D] f32
//   3 read     v:     [B, S, Hkv, D] f32
//   4 read     dOut:  [B, T, H, D]   f32
//   5 read     stats: [B, H, T, 2]   f32   (lse_i, Δ_i) from attention_backward.wgsl
//   6 read     mask:  [B, S] or [S]  u32/i32 (bound to q and unused if has_mask = 0)
//   7 storage  dk:    [B, S, Hkv, D] f32   overwritten (activation gradients)
//   8 storage  dv:    [B, S, Hkv, D] f32   overwritten
// Key j is seen only by queries i >= j - offset, so each tile starts its query loop there.
// dispatch: workgroups [ceil(S/16), Hkv, B] of 256. Score phase: lane (r, c) = (query row, key);
//           accumulate phase: lane (kc, e) = (key, head-dim lane e), holding dK/dV[j, d] for
//           d ≡ e (mod 16) in registers; head dims staged 16 at a time
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
@group(0) @binding(7) var<storage, read_write> dk: array<f32>;
@group(0) @binding(8) var<storage, read_write> dv: array<f32>;

const BR: u32 = 16u; // query rows per block
const BC: u32 = 16u; // keys per workgroup
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
var<workgroup> sp: array<f32, BR * BC>;  // P block  [16 rows, 16 keys]
var<workgroup> sds: array<f32, BR * BC>; // dS block [16 rows, 16 keys]

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = lid / BC;  // score phase: query row in the block (also the row/key this lane stages)
  let c = lid % BC;  // score phase: key in the tile
  let kc = lid / BC; // accumulate phase: key in the tile
  let e = lid % BC;  // accumulate phase: head-dim lane (d = dc + e)
  let b = wid.z;
  let hk = wid.y;
  let G = u.H / u.Hkv; // query heads per kv head
  let j0 = wid.x * BC;
  let kj = j0 + r; // the key this lane stages
  let k_ok = kj < u.S;
  let krow = kv_at(b, min(kj, u.S - 1u), hk);
  // the tile's first key j0 is visible only to queries i >= j0 - offset (uniform bound)
  let istart = select(0u, j0 - u.offset, j0 > u.offset);
  let nblk = select(0u, (u.T - istart + BR - 1u) / BR, istart < u.T); // query blocks per head

  var gk: array<f32, MAX_DT>; // Σ dS_ij q_i[e + 16 t] for key j0 + kc
  var gv: array<f32, MAX_DT>; // Σ P_ij dO_i[e + 16 t]
  for (var t = 0u; t < MAX_DT; t++) { gk[t] = 0.0; gv[t] = 0.0; }

  // one flat loop over (query head of the group, query block): fewer nested loops compile faster
  for (var it = 0u; it < G * nblk; it++) {
    let h = hk * G + it / nblk;
    let i0 = istart + (it % nblk) * BR;
    let i = i0 + r;
    let row_ok = i < u.T;
    let qrow = q_at(b, min(i, u.T - 1u), h); // clamped: padding rows load row T-1 and discard it
    let ri = (b * u.H + h) * u.T + min(i, u.T - 1u);
    let lse_i = stats[2u * ri];
    let delta_i = stats[2u * ri + 1u];
    // s = q_i · k_j, dp = dO_i · v_j for lane (r, c); keys past S read as zero
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
    // select, not multiply: an invisible key (garbage cache slot, padding row) contributes exactly 0
    let vis = row_ok && visible(b, i, j0 + c);
    let p = select(0.0, exp(s * u.scale - lse_i), vis);
    sp[lid] = p;
    sds[lid] = select(0.0, p * (dp - delta_i), vis);

    // gv[kc, d] += Σ_x P[x, kc] dO[x, d];  gk[kc, d] += Σ_x dS[x, kc] q[x, d]
    for (var dc = 0u; dc < u.D; dc += DC) {
      let d = dc + c;
      sq[lid] = select(0.0, q[qrow + min(d, u.D - 1u)], row_ok && d < u.D);
      sdo[lid] = select(0.0, dout[qrow + min(d, u.D - 1u)], row_ok && d < u.D);
      workgroupBarrier(); // also publishes sp and sds
      var a = 0.0;
      var bb = 0.0;
      for (var x = 0u; x < BR; x++) {
        a += sds[x * BC + kc] * sq[x * DC + e];
        bb += sp[x * BC + kc] * sdo[x * DC + e];
      }
      // branch-free register select (a dynamic index would spill gk/gv to memory)
      for (var t = 0u; t < MAX_DT; t++) {
        gk[t] += select(0.0, a, t == dc / DC);
        gv[t] += select(0.0, bb, t == dc / DC);
      }
      workgroupBarrier();
    }
  }

  let j = j0 + kc;
  if (j >= u.S) { return; }
  let ko = kv_at(b, j, hk);
  for (var t = 0u; t < MAX_DT; t++) {
    let d = e + DC * t;
    if (d < u.D) {
      dk[ko + d] = u.scale * gk[t];
      dv[ko + d] = gv[t];
    }
  }
}
