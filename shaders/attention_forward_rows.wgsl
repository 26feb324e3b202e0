// attention_forward (version 3, rows) — causal grouped-query self-attention, a thread per query row
// with the whole head in registers; same inputs, outputs and semantics as attention_forward.wgsl's
// flash kernel (version 2), for head dims D ≤ 64 with D % 4 == 0 (every model family here: D = 64).
//
// Why: version 2 spreads a row over 16 lanes and stages Q, K and V 16 dims at a time, ~17 barriers
// per 16 keys. Here a workgroup of 64 query rows of one (b, h) stages a block of BC = 32 keys (K and
// V, 16 KB at D = 64) once, and each thread then runs its row through the block from registers:
//   score s_j = scale · q·k_j (D/4 vec4 products, K read as broadcast vec4s); when s_j exceeds
//   the running max m, rescale o and l by exp(m − s_j) and set m = s_j (online softmax, key by key:
//   no per-block score array to keep in registers); p_j = exp(s_j − m), o += p_j · v_j, l += p_j.
// Blocks past the workgroup's last row's causal bound are skipped.
//
// bindings (group 0): as attention_forward.wgsl (U, q, k, v, mask, out, lse, probs), with q, k, v and
//   out read as vec4 (D % 4 == 0 keeps every row on a vec4 boundary); probs is unused (the host runs
//   attention_forward.wgsl's probs_pass after this kernel when probabilities are asked for).
//   q [B, T, H, D], k/v [B, S, Hkv, D], mask [B, S] or [S], out [B, T, H, D], lse [B, H, T]
// override: DV4 = D / 4 (1..16), fixed per pipeline by the host. The host prepends
//   attention_rows_common.wgsl (U, DV4, dot4) and attention_rows_kv.wgsl (BR, BC, ks/vs, stage_kv, key_visible).
// dispatch: [ceil(T / 64), H, B] workgroups of 64.
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

@compute @workgroup_size(BR)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let b = wid.z;
  let h = wid.y;
  let hk = h / (u.H / u.Hkv);
  let i0 = wid.x * BR;
  let i = i0 + lid;
  let row_ok = i < u.T;
  let kend = min(u.S, u.offset + min(i0 + BR, u.T)); // keys the tile's last row may see (uniform)
  let qrow = ((b * u.T + min(i, u.T - 1u)) * u.H + h) * DV4; // clamped: padding rows discard their work

  var qv: array<vec4<f32>, 16>;
  var o: array<vec4<f32>, 16>;
  for (var d = 0u; d < DV4; d++) { qv[d] = q[qrow + d]; o[d] = vec4(0.0); }
  var m = NEG_BIG; // running max of visible scores
  var l = 0.0;     // running Σ exp(s − m)

  for (var j0 = 0u; j0 < kend; j0 += BC) {
    workgroupBarrier(); // the previous block is no longer read
    stage_kv(b, hk, j0, kend, lid);
    workgroupBarrier();

    // online softmax key by key: the running max moves rarely once a few keys are in, so the
    // rescale of o (D/4 vec4 products) is a branch mostly not taken
    for (var x = 0u; x < BC; x++) {
      if (!row_ok || !key_visible(b, i, j0 + x, kend)) { continue; } // only register and workgroup reads below: no barrier in reach
      var sc = 0.0;
      for (var d = 0u; d < DV4; d++) { sc = dot4(sc, qv[d], ks[x * DV4 + d]); }
      sc *= u.scale;
      if (sc > m) {
        let alpha = exp(m - sc); // 0 for the first visible key (m = NEG_BIG)
        l *= alpha;
        for (var d = 0u; d < DV4; d++) { o[d] *= alpha; }
        m = sc;
      }
      let p = exp(sc - m);
      l += p;
      for (var d = 0u; d < DV4; d++) { o[d] += p * vs[x * DV4 + d]; }
    }
  }

  if (!row_ok) { return; }
  let inv = select(0.0, 1.0 / l, l > 0.0); // a row that saw no key → zeros
  let orow = ((b * u.T + i) * u.H + h) * DV4;
  for (var d = 0u; d < DV4; d++) { out[orow + d] = o[d] * inv; }
  lse[(b * u.H + h) * u.T + i] = select(NEG_BIG, m + log(l), l > 0.0);
}
