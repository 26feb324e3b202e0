// attention_forward (version 3, rows) — causal grouped-query self-attention, a query row per KS = 4
// threads with the whole head in registers; same inputs, outputs and semantics as attention_forward.wgsl's
// flash kernel (version 2), for head dims D ≤ 64 with D % 4 == 0 (every model family here: D = 64).
//
// Why: version 2 spreads a row over 16 lanes and stages Q, K and V 16 dims at a time, ~17 barriers
// per 16 keys. Here a workgroup of FR = 32 query rows of one (b, h) stages a block of BC = 32 keys (K
// and V, 16 KB at D = 64) once, and each of a row's KS threads runs every KS-th key of the block
// (thread `sub` takes keys sub, sub + KS, ...) from registers:
//   score s_j = scale · q·k_j (D/4 vec4 products, K read as broadcast vec4s: the 32 lanes of a warp are
//   32 rows at the same key); when s_j exceeds the thread's running max m, rescale o and l by
//   exp(m − s_j) and set m = s_j (online softmax, key by key: no per-block score array to keep in
//   registers); p_j = exp(s_j − m), o += p_j · v_j, l += p_j.
// At the end the KS partial states (m, l, o) of a row merge in a fixed order through workgroup memory
// (the K/V block's): M = max m, l = Σ l·exp(m − M), o = Σ o·exp(m − M). Splitting the keys puts 4x
// as many threads to work as a thread per row did (B·H·T·KS: at T 256 × H 14 × B 4, 57k instead of
// 14k) with the same registers per thread. Blocks past the workgroup's last row's causal bound are skipped.
//
// bindings (group 0): as attention_forward.wgsl (U, q, k, v, mask, out, lse, probs), with q, k, v and
//   out read as vec4 (D % 4 == 0 keeps every row on a vec4 boundary); probs is unused (the host runs
//   attention_forward.wgsl's probs_pass after this kernel when probabilities are asked for).
//   q [B, T, H, D], k/v [B, S, Hkv, D], mask [B, S] or [S], out [B, T, H, D], lse [B, H, T]
// override: DV4 = D / 4 (1..16), fixed per pipeline by the host. The host prepends
//   attention_rows_common.wgsl (U, DV4, FR, KS, dot4) and attention_rows_kv.wgsl (BC, ks/vs, stage_kv, key_visible, park).
// dispatch: [ceil(T / FR), H, B] workgroups of FR · KS = 128.
// A row that sees no key gets out = 0, lse = -3.402823e38 (never NaN), as in version 2.
// reference: attention_forward.ref.ts (attentionForwardRef)

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> mask: array<u32>;
@group(0) @binding(5) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> lse: array<f32>;
@group(0) @binding(7) var<storage, read_write> probs: array<f32>;

const NEG_BIG: f32 = -3.402823e+38;
var<workgroup> ml: array<vec2<f32>, FR * KS>; // (m, l) of the states parked for the merge

// merges the state parked in `slot` into (m, l, o); both may be empty (m = NEG_BIG, l = 0, o = 0)
fn merge(slot: u32, m: ptr<function, f32>, l: ptr<function, f32>, o: ptr<function, array<vec4<f32>, 16>>) {
  let m2 = ml[slot].x;
  let mm = max(*m, m2);
  let a1 = exp(*m - mm);
  let a2 = exp(m2 - mm);
  *l = *l * a1 + ml[slot].y * a2;
  for (var d = 0u; d < DV4; d++) { (*o)[d] = (*o)[d] * a1 + parked(slot, d) * a2; }
  *m = mm;
}

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

  var qv: array<vec4<f32>, 16>;
  var o: array<vec4<f32>, 16>;
  for (var d = 0u; d < DV4; d++) { qv[d] = q[qrow + d]; o[d] = vec4(0.0); }
  var m = NEG_BIG; // running max of this thread's visible scores
  var l = 0.0;     // running Σ exp(s − m)

  for (var j0 = 0u; j0 < kend; j0 += BC) {
    workgroupBarrier(); // the previous block is no longer read
    stage_kv(b, hk, j0, kend, lid, FR * KS);
    workgroupBarrier();

    // online softmax key by key: the running max moves rarely once a few keys are in, so the
    // rescale of o (D/4 vec4 products) is a branch mostly not taken
    for (var x = sub; x < BC; x += KS) {
      if (!row_ok || !key_visible(b, i, j0 + x, kend)) { continue; } // only register and workgroup reads below: no barrier in reach
      var sc = 0.0;
      for (var d = 0u; d < DV4; d++) { sc = dot4(sc, qv[d], ks[x][d]); }
      sc *= u.scale;
      if (sc > m) {
        let alpha = exp(m - sc); // 0 for the first visible key (m = NEG_BIG)
        l *= alpha;
        for (var d = 0u; d < DV4; d++) { o[d] *= alpha; }
        m = sc;
      }
      let p = exp(sc - m);
      l += p;
      for (var d = 0u; d < DV4; d++) { o[d] += p * vs[x][d]; }
    }
  }

  // merge the KS states of each row: subs 2, 3 into 0, 1, then 1 into 0 (a fixed order: deterministic)
  workgroupBarrier(); // the last block is no longer read
  if (sub >= 2u) { park((sub - 2u) * FR + r, &o); ml[(sub - 2u) * FR + r] = vec2(m, l); }
  workgroupBarrier();
  if (sub < 2u) { merge(sub * FR + r, &m, &l, &o); }
  workgroupBarrier();
  if (sub == 1u) { park(r, &o); ml[r] = vec2(m, l); }
  workgroupBarrier();
  if (sub != 0u || !row_ok) { return; }
  merge(r, &m, &l, &o);
  let inv = select(0.0, 1.0 / l, l > 0.0); // a row that saw no key → zeros
  let orow = ((b * u.T + i) * u.H + h) * DV4;
  for (var d = 0u; d < DV4; d++) { out[orow + d] = o[d] * inv; }
  lse[(b * u.H + h) * u.T + i] = select(NEG_BIG, m + log(l), l > 0.0);
}
