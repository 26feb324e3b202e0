// attention_backward_dq (version 3, rows) — dQ of causal grouped-query attention, a query row per KS = 4
// threads, each with q, dO and a dQ accumulator in registers; the same inputs, output and semantics as
// attention_backward_dq.wgsl (version 2), for head dims D ≤ 64 with D % 4 == 0:
//   P_ij = exp(scale·q_i·k_j − lse_i) for visible keys,  dS_ij = P_ij (dO_i·v_j − Δ_i),
//   dQ_i = scale · Σ_j dS_ij k_j
// A workgroup of FR = 32 query rows of one (b, h) stages blocks of BC = 32 keys (K and V: 16 KB at
// D = 64) once; each of a row's KS threads runs every KS-th key of the block (invisible keys skipped,
// so their P, which may be inf for a garbage cache slot, never enters a sum), and the KS partial sums
// of a row add up through workgroup memory in a fixed order (deterministic). Blocks past the tile's
// causal bound are skipped.
//
// bindings (group 0): as attention_backward_dq.wgsl (U, q, k, v, dOut, stats, mask, dq), with q, k,
//   v, dOut and dq read as vec4 (D % 4 == 0).
//   q/dOut/dq [B, T, H, D], k/v [B, S, Hkv, D], stats [B, H, T, 2] (lse_i, Δ_i), mask [B, S] or [S]
// override: DV4 = D / 4 (1..16). dispatch: [ceil(T / FR), H, B] workgroups of FR · KS = 128. The host
//   prepends attention_rows_common.wgsl (U, DV4, FR, KS, dot4, sum_subs) and attention_rows_kv.wgsl (BC, ks/vs,
//   stage_kv, key_visible, park).
// reference: attention_backward.ref.ts (attentionBackwardRef)

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> stats: array<f32>;
@group(0) @binding(6) var<storage, read> mask: array<u32>;
@group(0) @binding(7) var<storage, read_write> dq: array<vec4<f32>>;

@compute @workgroup_size(FR * KS)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = lid % FR;   // the row within the tile: a warp's 32 lanes are 32 rows at one sub
  let sub = lid / FR; // which keys of each block: sub, sub + KS, ...
  let b = wid.z;
  let h = wid.y;
  let hk = h / (u.H / u.Hkv);
  let i0 = wid.x * FR;
  let i = i0 + r;
  let row_ok = i < u.T;
  let kend = min(u.S, u.offset + min(i0 + FR, u.T)); // keys the tile's last row may see (uniform)
  let qrow = ((b * u.T + min(i, u.T - 1u)) * u.H + h) * DV4; // clamped: padding rows discard their work
  let ri = (b * u.H + h) * u.T + min(i, u.T - 1u);
  let lse_i = stats[2u * ri];
  let delta_i = stats[2u * ri + 1u];

  var qv: array<vec4<f32>, 16>;  // q_i
  var dov: array<vec4<f32>, 16>; // dO_i
  var acc: array<vec4<f32>, 16>; // Σ_j dS_ij k_j over this thread's keys
  for (var d = 0u; d < DV4; d++) { qv[d] = q[qrow + d]; dov[d] = dout[qrow + d]; acc[d] = vec4(0.0); }

  for (var j0 = 0u; j0 < kend; j0 += BC) {
    workgroupBarrier(); // the previous block is no longer read
    stage_kv(b, hk, j0, kend, lid, FR * KS);
    workgroupBarrier();
    for (var x = sub; x < BC; x += KS) {
      if (!row_ok || !key_visible(b, i, j0 + x, kend)) { continue; }
      var s = 0.0;
      var dp = 0.0;
      for (var d = 0u; d < DV4; d++) {
        s = dot4(s, qv[d], ks[x][d]);
        dp = dot4(dp, dov[d], vs[x][d]);
      }
      let ds = exp(s * u.scale - lse_i) * (dp - delta_i);
      for (var d = 0u; d < DV4; d++) { acc[d] += ds * ks[x][d]; }
    }
  }

  sum_subs(sub, r, &acc); // the KS partial sums of each row, into sub 0's
  if (sub != 0u || !row_ok) { return; }
  for (var d = 0u; d < DV4; d++) { dq[qrow + d] = u.scale * acc[d]; }
}
