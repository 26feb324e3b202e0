// attention_explicit — causal grouped-query attention in three explicit steps, so interpretability
// hooks can read and overwrite the intermediates (TransformerLens): scores (hook_attn_scores),
// pattern (hook_pattern), then z = pattern · V (hook_z). The non-fast path beside attention_forward's
// flash kernel: an edited scores or pattern tensor flows on into the next step as given.
//
// bindings (group 0), shared by the three entry points (each reads what its step needs):
//                  scores_main            pattern_main           apply_main
//   0 uniform  U (below)
//   1 read     a:  q [B, T, H, D]         scores [B, H, T, S]    pattern [B, H, T, S]
//   2 read     kv: k [B, Smax, Hkv, D]    (unused: bound to a)   v [B, Smax, Hkv, D]
//   3 read     mask: [B, Smax'] or [Smax'] u32/i32, 1 = attend, 0 = masked; Smax' >= S
//                  (bound to a and unused if has_mask = 0; unused by apply_main)
//   4 storage  out: scores [B, H, T, S]   pattern [B, H, T, S]   z [B, T, H, D]
// All f32, row-major. k/v may be a KV-cache buffer whose dim 1 (Smax) is larger than the S keys in
// use: rows are strided by Smax, keys j >= S are never read. Query i sits at absolute position
// offset + i; head h reads kv head h / (H / Hkv). Query i of batch b sees key j iff
// j <= offset + i, j < S and (has_mask = 0 or mask[b · mask_bstride + j] != 0) — attention_forward's rule.
//
// entry points and dispatch (one thread per output element, or one workgroup per softmax row):
//   scores_main:  grid1d(ceil(B·H·T·S / 256)) of 256, one thread per score:
//                 scores[b, h, i, j] = scale · q[b, i, h, :] · k[b, j, h / (H / Hkv), :] if visible,
//                 else -3.402823e38 (never -inf).
//   pattern_main: grid1d(B·H·T) of 64, one workgroup per (b, h, i) row: softmax over the visible
//                 keys, recomputed from offset / mask / causality, never from the score values (an
//                 edited score of a masked key stays masked); invisible entries 0; a row with no
//                 visible key is all 0. Max-subtracted, so scores edited to any finite value (±1e4,
//                 even -3.402823e38 on a visible key) stay finite.
//   apply_main:   grid1d(ceil(B·T·H·D / 256)) of 256, one thread per z element:
//                 z[b, i, h, d] = scale · Σ_{j<S} pattern[b, h, i, j] · v[b, j, h / (H / Hkv), d] (scale 1 for
//                 hook_z; the explicit backward's dq = scale · dscores · k runs here too). No mask: the
//                 pattern carries it. Zero weights are skipped, so 0 · (NaN in an unwritten cache
//                 slot) adds nothing — an exact 0 contributes exactly 0, as it would for finite v.
// reference: attention_explicit.ref.ts (attentionScoresRef, attentionPatternRef, attentionApplyRef)

struct U {
  B: u32, T: u32, S: u32, H: u32,
  Hkv: u32, D: u32, offset: u32, scale: f32,
  has_mask: u32, mask_bstride: u32, Smax: u32, _pad: u32,
}

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> kv: array<f32>;
@group(0) @binding(3) var<storage, read> mask: array<u32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

const NEG_BIG: f32 = -3.402823e+38; // "minus infinity" that never makes inf - inf = NaN
const PWG: u32 = 64u; // lanes per softmax row (pattern_main)

// element offsets of q/z[b, i, h, 0], k/v[b, j, hk, 0] (rows strided by Smax), scores/pattern[b, h, i, 0]
fn q_at(b: u32, i: u32, h: u32) -> u32 { return ((b * u.T + i) * u.H + h) * u.D; }
fn kv_at(b: u32, j: u32, hk: u32) -> u32 { return ((b * u.Smax + j) * u.Hkv + hk) * u.D; }
fn row_at(b: u32, h: u32, i: u32) -> u32 { return ((b * u.H + h) * u.T + i) * u.S; }

// causal + padding visibility of key j for query i (absolute position offset + i)
fn visible(b: u32, i: u32, j: u32) -> bool {
  if (j >= u.S || j > u.offset + i) { return false; }
  return u.has_mask == 0u || mask[b * u.mask_bstride + j] != 0u;
}

// ---- step 1: scores -----------------------------------------------------------------------------

@compute @workgroup_size(256)
fn scores_main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = (wid.x + wid.y * nwg.x) * 256u + lid; // linear index into scores [B, H, T, S]
  if (g >= u.B * u.H * u.T * u.S) { return; }
  let j = g % u.S;
  let row = g / u.S; // (b, h, i)
  let i = row % u.T;
  let h = (row / u.T) % u.H;
  let b = row / (u.T * u.H);
  var s = NEG_BIG;
  if (visible(b, i, j)) {
    // summed in d order, scaled after the sum: the same order as attention_forward's naive score()
    let qo = q_at(b, i, h);
    let ko = kv_at(b, j, h / (u.H / u.Hkv));
    var acc = 0.0;
    for (var d = 0u; d < u.D; d++) { acc += a[qo + d] * kv[ko + d]; }
    s = acc * u.scale;
  }
  out[g] = s;
}

// ---- step 2: pattern = softmax over the visible keys of each row -------------------------------

var<workgroup> sm_m: array<f32, PWG>; // per-lane running max, then the tree-reduced max
var<workgroup> sm_s: array<f32, PWG>; // per-lane Σ exp(s - m), rescaled as maxima merge

@compute @workgroup_size(64)
fn pattern_main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x; // (b, h, i)
  // uniform across the workgroup, so the early return keeps the barriers in uniform control flow
  if (row >= u.B * u.H * u.T) { return; }
  let i = row % u.T;
  let b = row / (u.T * u.H);
  let base = row * u.S;

  // pass 1: online (max m, Σ exp(s - m)) over this lane's visible keys j = lid, lid + 64, ...
  // (as softmax_forward). A visible score equal to NEG_BIG still counts: exp(0) = 1 at m = NEG_BIG.
  var m = NEG_BIG;
  var l = 0.0;
  for (var j = lid; j < u.S; j += PWG) {
    if (!visible(b, i, j)) { continue; }
    let x = a[base + j];
    if (x > m) {
      l = l * exp(m - x) + 1.0; // rescale the old sum to the new max; exp(x - x) = 1
      m = x;
    } else {
      l += exp(x - m);
    }
  }
  sm_m[lid] = m;
  sm_s[lid] = l;
  workgroupBarrier();

  // tree reduction of (m, l) pairs: m = max(m1, m2), l = l1·e^(m1-m) + l2·e^(m2-m); a lane that saw
  // no visible key has l = 0 and contributes 0 whatever its m
  for (var stride = PWG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) {
      let m1 = sm_m[lid];
      let m2 = sm_m[lid + stride];
      let mm = max(m1, m2);
      sm_s[lid] = sm_s[lid] * exp(m1 - mm) + sm_s[lid + stride] * exp(m2 - mm);
      sm_m[lid] = mm;
    }
    workgroupBarrier();
  }
  let row_max = sm_m[0];
  let row_sum = sm_s[0]; // >= 1 (the max contributes 1) unless no key is visible: then 0

  // pass 2: write the full row; invisible keys and rows that see nothing get exact zeros
  for (var j = lid; j < u.S; j += PWG) {
    var p = 0.0;
    if (row_sum > 0.0 && visible(b, i, j)) { p = exp(a[base + j] - row_max) / row_sum; }
    out[base + j] = p;
  }
}

// ---- step 3: z = pattern · V --------------------------------------------------------------------

@compute @workgroup_size(256)
fn apply_main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = (wid.x + wid.y * nwg.x) * 256u + lid; // linear index into z [B, T, H, D]
  if (g >= u.B * u.T * u.H * u.D) { return; }
  let d = g % u.D; // consecutive threads: consecutive d of one (b, i, h), so v reads coalesce
  let h = (g / u.D) % u.H;
  let i = (g / (u.D * u.H)) % u.T;
  let b = g / (u.D * u.H * u.T);
  let hk = h / (u.H / u.Hkv);
  let po = row_at(b, h, i);
  var acc = 0.0;
  for (var j = 0u; j < u.S; j++) {
    let p = a[po + j];
    if (p != 0.0) { acc += p * kv[kv_at(b, j, hk) + d]; }
  }
  out[g] = acc * u.scale;
}
