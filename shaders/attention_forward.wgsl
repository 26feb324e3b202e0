// attention_forward — causal self-attention with grouped-query heads, a KV-cache offset and an
// optional key padding mask; writes out, the per-row logsumexp lse, and optionally probabilities.
//
// bindings (group 0), shared by the three entry points:
//   0 uniform  U (below)
//   1 read     q:     [B, T, H, D]   f32   query i sits at absolute position offset + i
//   2 read     k:     [B, S, Hkv, D] f32   key j sits at position j; head h reads kv head h / (H / Hkv)
//   3 read     v:     [B, S, Hkv, D] f32
//   4 read     mask:  [B, S] or [S] u32/i32, 1 = attend, 0 = masked (bound to q and unused if has_mask = 0)
//   5 storage  out:   [B, T, H, D]   f32
//   6 storage  lse:   [B, H, T]      f32   logsumexp_j(scale·q_i·k_j) over visible keys; -3.402823e38 if none
//   7 storage  probs: [B, H, T, S]   f32   softmax (hook_pattern [head, query, key]); a 1-float dummy unless written
// query i sees key j iff j <= offset + i, j < S and mask[b, j] != 0. A row that sees nothing gets
// out = 0, probs = 0 and lse = -3.402823e38 (never NaN). B = 1 for a single sequence.
//
// entry points and dispatch:
//   main  (version 2, flash): workgroups [ceil(T/16), H, B] of 256 = 16 query rows x 16 lanes.
//         Keys stream through workgroup memory in blocks of 16 with an online softmax (running
//         max m, sum l, rescaled output in registers); head dims are staged 16 at a time.
//   naive (version 1): grid1d(ceil(B·H·T / 64)) workgroups of 64, one thread per (b, h, i) row,
//         three sweeps over the keys (max, sum, weighted V); writes probs itself when asked.
//   probs_pass (second pass after main): grid1d(ceil(B·H·T·S / 256)) of 256, one thread per probability,
//         p = exp(scale·q_i·k_j − lse_i).
// reference: attention_forward.ref.ts (attentionForwardRef)

struct U {
  B: u32, T: u32, S: u32, H: u32,
  Hkv: u32, D: u32, offset: u32, scale: f32,
  has_mask: u32, mask_bstride: u32, write_probs: u32, _pad: u32,
}

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> mask: array<u32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read_write> lse: array<f32>;
@group(0) @binding(7) var<storage, read_write> probs: array<f32>;

const NEG_BIG: f32 = -3.402823e+38; // "minus infinity" that never makes inf - inf = NaN
const BR: u32 = 16u;  // query rows per workgroup (flash)
const BC: u32 = 16u;  // keys per block (flash)
const DC: u32 = 16u;  // head dims staged in workgroup memory at a time
const MAX_DT: u32 = 16u; // output registers per lane: D <= 256 = 16 lanes x 16

// element offsets of q/out[b, i, h, 0], k/v[b, j, hk, 0], lse[b, h, i]
fn q_at(b: u32, i: u32, h: u32) -> u32 { return ((b * u.T + i) * u.H + h) * u.D; }
fn kv_at(b: u32, j: u32, hk: u32) -> u32 { return ((b * u.S + j) * u.Hkv + hk) * u.D; }
fn row_at(b: u32, h: u32, i: u32) -> u32 { return (b * u.H + h) * u.T + i; }

// causal + padding visibility of key j for query i (absolute position offset + i)
fn visible(b: u32, i: u32, j: u32) -> bool {
  if (j >= u.S || j > u.offset + i) { return false; }
  return u.has_mask == 0u || mask[b * u.mask_bstride + j] != 0u;
}

// scale · q[b, i, h, :] · k[b, j, hk, :], summed in d order (main sums in the same order)
fn score(qo: u32, ko: u32) -> f32 {
  var acc = 0.0;
  for (var d = 0u; d < u.D; d++) { acc += q[qo + d] * k[ko + d]; }
  return acc * u.scale;
}

// ---- version 2: flash ---------------------------------------------------------------------------
// Workgroup memory is staged 16 dims at a time (BR x DC = 256 = one element per lane): lavapipe
// compiles this about 2x faster than 64-dim stages (cold-cache test time); on a GPU it costs more
// barriers per key block (not measured here).

var<workgroup> sq: array<f32, BR * DC>; // Q chunk [16 rows, 16 dims]
var<workgroup> sk: array<f32, BC * DC>; // K chunk [16 keys, 16 dims], then V chunk
var<workgroup> ss: array<f32, BR * BC>; // scores        [16 rows, 16 keys]
var<workgroup> sp: array<f32, BR * BC>; // probabilities [16 rows, 16 keys] (unnormalised)

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = lid / BC;          // query row within the tile; for staging K/V: key within the block
  let c = lid % BC;          // key within a block for scores; head-dim lane d ≡ c (mod 16) for out
  let b = wid.z;
  let h = wid.y;
  let hk = h / (u.H / u.Hkv); // repeat_kv: consecutive query heads share a kv head
  let i0 = wid.x * BR;
  let i = i0 + r;
  let row_ok = i < u.T;
  // the tile's last row sees keys < offset + last + 1: later blocks are skipped (uniform bound)
  let kend = min(u.S, u.offset + min(i0 + BR, u.T));
  let qrow = q_at(b, min(i, u.T - 1u), h); // clamped: padding rows load row T-1 and discard it

  var o: array<f32, MAX_DT>; // o[t] = unnormalised out[i, h, c + 16 t]
  for (var t = 0u; t < MAX_DT; t++) { o[t] = 0.0; }
  var m = NEG_BIG; // running max of this row's visible scores
  var l = 0.0;     // running Σ exp(s - m)

  for (var j0 = 0u; j0 < kend; j0 += BC) {
    let kj = j0 + r;      // the key this lane stages
    let k_ok = kj < kend; // keys >= kend stay unread: a cache past the prefix may hold garbage
    let krow = kv_at(b, min(kj, u.S - 1u), hk);

    // S[r, c] = q_i · k_{j0+c}, 16 dims per stage (one element per lane)
    var acc = 0.0;
    for (var dc = 0u; dc < u.D; dc += DC) {
      let d = dc + c;
      let dd = min(d, u.D - 1u);
      sq[lid] = select(0.0, q[qrow + dd], row_ok && d < u.D);
      sk[lid] = select(0.0, k[krow + dd], k_ok && d < u.D);
      workgroupBarrier();
      for (var x = 0u; x < DC; x++) { acc += sq[r * DC + x] * sk[c * DC + x]; }
      workgroupBarrier();
    }
    let vis = row_ok && visible(b, i, j0 + c);
    let s = select(NEG_BIG, acc * u.scale, vis);
    ss[lid] = s;
    workgroupBarrier();

    // online softmax: every lane of row r computes the same new max
    var bmax = NEG_BIG;
    for (var x = 0u; x < BC; x++) { bmax = max(bmax, ss[r * BC + x]); }
    let m_new = max(m, bmax);
    sp[lid] = select(0.0, exp(s - m_new), vis); // masked → exactly 0, whatever m_new is
    let alpha = exp(m - m_new); // rescales the old sum and output; 1 while nothing was visible
    m = m_new;
    for (var t = 0u; t < MAX_DT; t++) { o[t] *= alpha; }

    // o[r, d] += Σ_x p[r, x] · v[j0 + x, d]; V staged 16 dims at a time in sk (the barrier after
    // staging also publishes sp); lane c owns d = dc + c
    for (var dc = 0u; dc < u.D; dc += DC) {
      let d = dc + c;
      sk[lid] = select(0.0, v[krow + min(d, u.D - 1u)], k_ok && d < u.D);
      workgroupBarrier();
      var pv = 0.0;
      for (var x = 0u; x < BC; x++) { pv += sp[r * BC + x] * sk[x * DC + c]; }
      // branch-free register select: a dynamic index would spill o to memory (GPU) or become an
      // if-ladder (lavapipe); this unrolls to 16 selects on registers
      for (var t = 0u; t < MAX_DT; t++) { o[t] += select(0.0, pv, t == dc / DC); }
      workgroupBarrier();
    }
    // block sum after the V loop's barriers (sp is rewritten only after the next block's barriers)
    var bsum = 0.0;
    for (var x = 0u; x < BC; x++) { bsum += sp[r * BC + x]; }
    l = l * alpha + bsum;
  }

  if (!row_ok) { return; }
  let inv = select(0.0, 1.0 / l, l > 0.0); // a row that saw no key → zeros
  let oo = q_at(b, i, h);
  for (var t = 0u; t < MAX_DT; t++) {
    let d = c + DC * t;
    if (d < u.D) { out[oo + d] = o[t] * inv; }
  }
  if (c == 0u) { lse[row_at(b, h, i)] = select(NEG_BIG, m + log(l), l > 0.0); }
}

// ---- version 1: naive, one thread per query row -------------------------------------------------

@compute @workgroup_size(64)
fn naive(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (g >= u.B * u.H * u.T) { return; }
  let i = g % u.T;
  let h = (g / u.T) % u.H;
  let b = g / (u.T * u.H);
  let hk = h / (u.H / u.Hkv);
  let qo = q_at(b, i, h);
  let kend = min(u.S, u.offset + i + 1u); // causal bound for this row

  // sweep 1: max score; sweep 2: Σ exp(s - max)
  var m = NEG_BIG;
  for (var j = 0u; j < kend; j++) {
    if (visible(b, i, j)) { m = max(m, score(qo, kv_at(b, j, hk))); }
  }
  var l = 0.0;
  for (var j = 0u; j < kend; j++) {
    if (visible(b, i, j)) { l += exp(score(qo, kv_at(b, j, hk)) - m); }
  }
  let inv = select(0.0, 1.0 / l, l > 0.0);

  // sweep 3: out = Σ_j p_j v_j with p_j = exp(s_j - m) / l; probs row written in full (zeros too)
  var acc: array<f32, 256>; // [D] accumulator, D <= 256
  for (var d = 0u; d < u.D; d++) { acc[d] = 0.0; }
  let po = row_at(b, h, i) * u.S;
  for (var j = 0u; j < u.S; j++) {
    var p = 0.0;
    if (j < kend && visible(b, i, j)) {
      p = exp(score(qo, kv_at(b, j, hk)) - m) * inv;
      let vo = kv_at(b, j, hk);
      for (var d = 0u; d < u.D; d++) { acc[d] += p * v[vo + d]; }
    }
    if (u.write_probs != 0u) { probs[po + j] = p; }
  }
  for (var d = 0u; d < u.D; d++) { out[qo + d] = acc[d]; }
  lse[row_at(b, h, i)] = select(NEG_BIG, m + log(l), l > 0.0);
}

// ---- probabilities from lse (after main) --------------------------------------------------------

@compute @workgroup_size(256)
fn probs_pass(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = (wid.x + wid.y * nwg.x) * 256u + lid; // linear index into probs [B, H, T, S]
  if (g >= u.B * u.H * u.T * u.S) { return; }
  let j = g % u.S;
  let row = g / u.S; // (b, h, i) row of lse
  let i = row % u.T;
  let h = (row / u.T) % u.H;
  let b = row / (u.T * u.H);
  var p = 0.0;
  if (visible(b, i, j)) {
    // min(·, 1): at huge logits fp32 rounding of lse can push exp(s − lse) a hair above 1
    p = min(exp(score(q_at(b, i, h), kv_at(b, j, h / (u.H / u.Hkv))) - lse[row]), 1.0);
  }
  probs[g] = p;
}
