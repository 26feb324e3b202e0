// attention_backward_dkv (version 3, rows) — dK and dV of causal grouped-query attention by KS = 4
// threads per (key, query head), each taking every KS-th query of a block, in two pipelines of one
// entry point (override DK) so that each thread's registers hold at most three D-vectors (D ≤ 64,
// D % 4 == 0):
//   DK = false:  dV_j^h = Σ_i P_ij dO_i                       (k_j and the sum in registers)
//   DK = true:   dK_j^h = scale · Σ_i dS_ij q_i,  dS_ij = P_ij (dO_i·v_j − Δ_i)   (k_j, v_j, the sum)
// with P_ij = exp(scale·q_i·k_j − lse_i) over visible pairs (others skipped: their P may be inf).
// Version 2 (attention_backward_dkv.wgsl) runs a workgroup per 16 keys of a kv head over every query
// head of its group: B·S·Hkv/16 workgroups, ~100 for a SmolLM2 step, fewer than an H100 has SMs.
// Here each query head h has its own threads (B·S·H·KS of them) and writes dK^h, dV^h to [B, S, H, D];
// the host sums the H/Hkv heads of each kv head with matmul's split-K reduce (fixed order:
// deterministic), or, when H = Hkv, binds dk / dv themselves here.
// Queries stream through workgroup memory in blocks of 32 (Q and dO: 16 KB at D = 64), from the
// first one that can see the tile's first key (i ≥ j0 − offset); the KS partial sums of a key add up
// through that memory at the end, in a fixed order (deterministic).
//
// bindings (group 0):
//   0 uniform  U (same struct as attention_forward.wgsl)
//   1 read     q:     [B, T, H, D]   f32 (as vec4)
//   2 read     k:     [B, S, Hkv, D] f32 (as vec4)
//   3 read     v:     [B, S, Hkv, D] f32 (as vec4)
//   4 read     dOut:  [B, T, H, D]   f32 (as vec4)
//   5 read     stats: [B, H, T, 2]   f32   (lse_i, Δ_i) from attention_backward.wgsl
//   6 read     mask:  [B, S] or [S]  u32/i32 (bound to q and unused if has_mask = 0)
//   7 storage  dkh:   [B, S, H, D]   f32 (as vec4), written when DK (dk itself when H = Hkv)
//   8 storage  dvh:   [B, S, H, D]   f32 (as vec4), written when not DK (dv itself when H = Hkv)
// overrides: DV4 = D / 4 (1..16), DK. dispatch (each pipeline): [ceil(S / FR), H, B] workgroups of FR·KS = 128
// (FR keys per workgroup). The host prepends attention_rows_common.wgsl (U, DV4, FR, KS, dot4, sum_subs).
// reference: attention_backward.ref.ts (attentionBackwardRef)

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> stats: array<f32>;
@group(0) @binding(6) var<storage, read> mask: array<u32>;
@group(0) @binding(7) var<storage, read_write> dkh: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> dvh: array<vec4<f32>>;

const BQ: u32 = 32u;  // queries per staged block (= FR, the keys per workgroup: parking a key's D in qs / dos fits it exactly)
override DK: bool = false; // true: dK (needs v_j too), false: dV

var<workgroup> qs: array<array<vec4<f32>, 16>, BQ>;  // Q block  [BQ queries][D/4] (16: the most D/4)
var<workgroup> dos: array<array<vec4<f32>, 16>, BQ>; // dO block [BQ queries][D/4]

// a thread's key vector parked for another thread of its key: slots 0..FR-1 in qs, FR..2FR-1 in dos;
// call between barriers, after the last block is read
fn park(slot: u32, x: ptr<function, array<vec4<f32>, 16>>) {
  for (var d = 0u; d < DV4; d++) {
    if (slot < FR) { qs[slot][d] = (*x)[d]; } else { dos[slot - FR][d] = (*x)[d]; }
  }
}

fn parked(slot: u32, d: u32) -> vec4<f32> {
  if (slot < FR) { return qs[slot][d]; }
  return dos[slot - FR][d];
}

@compute @workgroup_size(FR * KS)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = lid % FR;   // the key within the tile: a warp's 32 lanes are 32 keys at one sub
  let sub = lid / FR; // which queries of each block: sub, sub + KS, ...
  let b = wid.z;
  let h = wid.y;
  let hk = h / (u.H / u.Hkv);
  let j0 = wid.x * FR;
  let j = j0 + r;       // this thread's key
  let jc = min(j, u.S - 1u);
  // read once per thread: a masked key (or one past S) gets no gradient from any query
  let key_ok = j < u.S && (u.has_mask == 0u || mask[b * u.mask_bstride + jc] != 0u);
  let istart = select(0u, j0 - u.offset, j0 > u.offset); // key j0 is seen only by queries i >= j0 - offset (uniform)

  var kv: array<vec4<f32>, 16>;  // k_j
  var vv: array<vec4<f32>, 16>;  // v_j (DK only)
  var acc: array<vec4<f32>, 16>; // Σ_i dS_ij q_i (DK) or Σ_i P_ij dO_i
  let kr = ((b * u.S + jc) * u.Hkv + hk) * DV4;
  for (var d = 0u; d < DV4; d++) {
    kv[d] = k[kr + d];
    if (DK) { vv[d] = v[kr + d]; }
    acc[d] = vec4(0.0);
  }
  for (var i0 = istart; i0 < u.T; i0 += BQ) {
    // queries i0..i0+BQ-1 of head h (rows past T clamped: skipped below)
    workgroupBarrier();
    for (var e = lid; e < BQ * DV4; e += FR * KS) {
      let src = ((b * u.T + min(i0 + e / DV4, u.T - 1u)) * u.H + h) * DV4 + e % DV4;
      qs[e / DV4][e % DV4] = q[src];
      dos[e / DV4][e % DV4] = dout[src];
    }
    workgroupBarrier();
    for (var x = sub; x < BQ; x += KS) {
      let i = i0 + x;
      if (!key_ok || i >= u.T || j > u.offset + i) { continue; }
      var s = 0.0;
      var dp = 0.0;
      for (var d = 0u; d < DV4; d++) {
        s = dot4(s, qs[x][d], kv[d]);
        if (DK) { dp = dot4(dp, dos[x][d], vv[d]); }
      }
      let r = 2u * ((b * u.H + h) * u.T + i); // stats row: (lse_i, Δ_i)
      let p = exp(s * u.scale - stats[r]);
      if (DK) {
        let ds = p * (dp - stats[r + 1u]);
        for (var d = 0u; d < DV4; d++) { acc[d] += ds * qs[x][d]; }
      } else {
        for (var d = 0u; d < DV4; d++) { acc[d] += p * dos[x][d]; }
      }
    }
  }
  sum_subs(sub, r, &acc); // the KS partial sums of each key, into sub 0's
  if (sub != 0u || j >= u.S) { return; }
  let o = ((b * u.S + j) * u.H + h) * DV4;
  for (var d = 0u; d < DV4; d++) {
    if (DK) { dkh[o + d] = u.scale * acc[d]; } else { dvh[o + d] = acc[d]; }
  }
}
