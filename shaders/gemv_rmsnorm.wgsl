// gemv_rmsnorm — y[m, n] = rstd[m] · Σ_k x[m,k]·g[k]·W_s[n,k] + bias[n],  rstd[m] = 1/sqrt(mean_k x[m,k]² + eps)
// RMSNorm folded into up to three x·Wᵀ projections (decode: ln1 + q/k/v, or ln_final + lm_head),
// for few rows of x (M ≤ 16): one dispatch instead of rmsnorm + 3 matmuls.
//
// Design of matmul_forward_gemv.wgsl: a workgroup owns NC output columns of ONE segment s (W_s) and
// MR rows m0..m0+MR-1; its WG lanes stride over K (vec4 loads of x and W rows, or 4 halves per
// vec2<u32>), each W element is loaded once and used for all MR rows. The norm costs nothing extra:
// while reading x[m, 4j..4j+3] for the dot products every lane also adds their squares, so each
// workgroup gets Σ_k x[m,k]² of its rows from the same loads (x is M·K floats, in cache; W dominates).
// rstd is applied once to the finished sum: rstd·Σ x·g·W, equal to Σ (x·rstd·g)·W up to rounding.
// The NC·MR dot products and MR sums of squares are reduced over lanes in workgroup memory in a fixed
// order (deterministic, no subgroups).
//
// legend: M rows of x, K channels (d_model), N_s columns of segment s (N = N_0 + N_1 + N_2)
// bindings (group 0):
//   0 uniform  U (below)
//   1 read     x:    [M, K] f32                                   (x4: as vec4)
//   2 read     g:    [K] RMSNorm weight, u32 words: g_kind 0 f32 bits, 1 f16 / 2 bf16 two halves a word
//   3 read     W_0:  [N_0, K] f32 (w0v4) or f16/bf16 two halves a word (w0h: 4 halves, w0: elements)
//   4 read     W_1:  [N_1, K] same dtype as W_0 (bound to W_0 when there is one segment)
//   5 read     W_2:  [N_2, K] same dtype
//   6 read     bias: [N] f32, segments concatenated (read only when has_bias)
//   7 storage  out:  blocks == 0: [M, N] f32, row m = (y_0[m, :], y_1[m, :], y_2[m, :]);
//                    blocks == 1: segment s at element boff_s as [M, N_s] (boff_0 = 0; the host
//                    aligns boff_1, boff_2 to 64 elements = 256 bytes, so each block can be bound alone)
// overrides: WG lanes (64 or 256), MR rows per workgroup (1..16), NC columns; NV·WG ≤ 4096 (16 KB)
// dispatch: [gx, gy, ceil(M / MR)], gx·gy ≥ ge2 = Σ_s ceil(N_s / NC) column groups (grid1d);
//   column group g = wid.x + wid.y·nwg.x belongs to segment s when ge_{s-1} ≤ g < ge_s.
// entry points: main_vec_f32 / main_vec_half (K % 4 == 0), main_any (any K: one element per step).
// reference: gemv_rmsnorm.ref.ts (gemvRmsnormRef)
//
// Not scaled like rmsnorm_forward: Σx² overflows f32 once |x| ≳ 1e17 (K ~ 5000), then rstd = 0 and the
// row is 0 (as torch in f32); NaN in x[m, :] makes row m NaN and no other row.

struct U {
  M: u32,
  K: u32,
  eps: f32,
  n_tot: u32,      // N = N_0 + N_1 + N_2
  n0: u32,
  n1: u32,
  n2: u32,
  has_bias: u32,
  ge0: u32,        // column groups of segments 0..s, cumulative: ge0 ≤ ge1 ≤ ge2
  ge1: u32,
  ge2: u32,
  w_kind: u32,     // 0 f32, 1 f16, 2 bf16 (all three W)
  g_kind: u32,     // same codes for g
  blocks: u32,     // output layout, see binding 7
  boff1: u32,      // blocks: first element of segment 1 / 2 in out
  boff2: u32,
}

override WG: u32 = 64u;              // lanes per workgroup, striding over K
override MR: u32 = 1u;               // rows of x per workgroup
override NC: u32 = 4u;               // output columns per workgroup
override ND: u32 = NC * MR;          // dot products per workgroup; value v < ND is (c = v / MR, m = v % MR)
override NV: u32 = ND + MR;          // + sums of squares: value ND + m
override RED: u32 = NV * WG;         // reduction buffer, f32 [NV][WG]
override G: u32 = WG / 8u;           // first reduction level: G lane groups of 8 lanes per value
const VMAX = 80u;                    // NV at most (host-checked)
const XMAX = 16u;                    // MR at most

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<f32>;               // main_any
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;        // main_vec_*
@group(0) @binding(2) var<storage, read> gw: array<u32>;
@group(0) @binding(3) var<storage, read> w0: array<u32>;              // main_any
@group(0) @binding(3) var<storage, read> w0v4: array<vec4<f32>>;      // main_vec_f32
@group(0) @binding(3) var<storage, read> w0h: array<vec2<u32>>;       // main_vec_half
@group(0) @binding(4) var<storage, read> w1: array<u32>;
@group(0) @binding(4) var<storage, read> w1v4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> w1h: array<vec2<u32>>;
@group(0) @binding(5) var<storage, read> w2: array<u32>;
@group(0) @binding(5) var<storage, read> w2v4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> w2h: array<vec2<u32>>;
@group(0) @binding(6) var<storage, read> bias: array<f32>;
@group(0) @binding(7) var<storage, read_write> out: array<f32>;

var<workgroup> red: array<f32, RED>;

// The part of the output a workgroup owns. live is workgroup-uniform (grid1d tail groups own nothing).
struct Tile {
  seg: u32,    // segment s: which W, which output range
  n0: u32,     // first column within the segment
  ns: u32,     // N_s
  col0: u32,   // the segment's first column in [0, N) (bias, rows layout)
  m0: u32,     // first row
  live: bool,
}

fn tile_of(wid: vec3u, nwg: vec3u) -> Tile {
  let g = wid.x + wid.y * nwg.x;     // column group over all segments
  var t = Tile(0u, g * NC, u.n0, 0u, wid.z * MR, g < u.ge2);
  if (g >= u.ge0) { t.seg = 1u; t.n0 = (g - u.ge0) * NC; t.ns = u.n1; t.col0 = u.n0; }
  if (g >= u.ge1) { t.seg = 2u; t.n0 = (g - u.ge1) * NC; t.ns = u.n2; t.col0 = u.n0 + u.n1; }
  return t;
}

// Rows past M and columns past N_s are clamped to the last valid one: loads stay in bounds, the sums
// are computed but never stored (no select on the data, no 0·Inf).
fn row_of(tile: Tile, m: u32) -> u32 { return min(tile.m0 + m, u.M - 1u); }
fn col_of(tile: Tile, c: u32) -> u32 { return min(tile.n0 + c, tile.ns - 1u); }

// One half of word w (the high one when hi) as f32: f16 exactly, bf16 by moving it to the top of an f32.
fn half_of(w: u32, hi: bool, kind: u32) -> f32 {
  if (kind == 1u) { return select(unpack2x16float(w).x, unpack2x16float(w).y, hi); }
  return bitcast<f32>(select(w << 16u, w & 0xffff0000u, hi));
}
// Four halves (two words, element 2i low) as f32.
fn unpack4(w: vec2<u32>, kind: u32) -> vec4<f32> {
  if (kind == 1u) { return vec4(unpack2x16float(w.x), unpack2x16float(w.y)); }
  return bitcast<vec4<f32>>(vec4(w.x << 16u, w.x & 0xffff0000u, w.y << 16u, w.y & 0xffff0000u));
}
// Element e of a tensor stored as words of `kind` (f32 bits, or two halves a word).
fn elem(word: u32, e: u32, kind: u32) -> f32 {
  if (kind == 0u) { return bitcast<f32>(word); }
  return half_of(word, (e & 1u) == 1u, kind);
}

fn g_at(k: u32) -> f32 { return elem(gw[select(k >> 1u, k, u.g_kind == 0u)], k, u.g_kind); }
// g[4j..4j+3] (K % 4 == 0, so 4j is even: two whole words of halves)
fn g4(j: u32) -> vec4<f32> {
  if (u.g_kind == 0u) { return bitcast<vec4<f32>>(vec4(gw[4u * j], gw[4u * j + 1u], gw[4u * j + 2u], gw[4u * j + 3u])); }
  return unpack4(vec2(gw[2u * j], gw[2u * j + 1u]), u.g_kind);
}

// W_s unit i (vec4 index / 4-halves index / element index) — s is workgroup-uniform, so the branch is too.
fn wv4(s: u32, i: u32) -> vec4<f32> {
  if (s == 0u) { return w0v4[i]; }
  if (s == 1u) { return w1v4[i]; }
  return w2v4[i];
}
fn wh4(s: u32, i: u32) -> vec4<f32> {
  var w: vec2<u32>;
  if (s == 0u) { w = w0h[i]; } else if (s == 1u) { w = w1h[i]; } else { w = w2h[i]; }
  return unpack4(w, u.w_kind);
}
fn w_elem(s: u32, e: u32) -> f32 {
  let i = select(e >> 1u, e, u.w_kind == 0u);   // the word holding element e
  var w: u32;
  if (s == 0u) { w = w0[i]; } else if (s == 1u) { w = w1[i]; } else { w = w2[i]; }
  return elem(w, e, u.w_kind);
}

// Sum of value v over the WG lanes from the G group sums left in red by finish(), in a fixed order.
fn total(v: u32) -> f32 {
  var s = red[v * WG];
  for (var i = 1u; i < G; i++) { s += red[v * WG + i]; }
  return s;
}

// Reduces acc (NC·MR dot products, then MR sums of squares) over the lanes and writes the outputs.
// Every lane parks its NV partials in red[v·WG + lane]; lane group p (< G) of value v sums lanes
// p, p+G, ... (8 of them) into red[v·WG + p]; then lane v < ND adds the G group sums of its dot and of
// its row's Σx² (same order in every lane: the same rstd). Barriers in uniform control flow.
fn finish(acc: ptr<function, array<f32, VMAX>>, t: u32, tile: Tile) {
  for (var v = 0u; v < NV; v++) { red[v * WG + t] = (*acc)[v]; }
  workgroupBarrier();
  for (var p = t; p < NV * G; p += WG) {
    let base = (p / G) * WG + p % G;     // value p / G, lane group p % G
    var s = red[base];
    for (var i = 1u; i < 8u; i++) { s += red[base + i * G]; }
    red[base] = s;
  }
  workgroupBarrier();
  if (t < ND) {
    let c = t / MR;
    let m = t % MR;
    let n = tile.n0 + c;                 // column within the segment
    let row = tile.m0 + m;
    if (n < tile.ns && row < u.M) {
      let rstd = inverseSqrt(total(ND + m) / f32(u.K) + u.eps);
      var y = rstd * total(t);
      if (u.has_bias != 0u) { y += bias[tile.col0 + n]; }
      var o = row * u.n_tot + tile.col0 + n;               // rows: out[row, col0 + n]
      if (u.blocks != 0u) {
        let boff = select(select(0u, u.boff1, tile.seg == 1u), u.boff2, tile.seg == 2u);
        o = boff + row * tile.ns + n;                      // blocks: y_s[row, n]
      }
      out[o] = y;
    }
  }
}

@compute @workgroup_size(WG)
fn main_vec_f32(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                @builtin(local_invocation_index) t: u32) {
  let tile = tile_of(wid, nwg);
  if (!tile.live) { return; }
  let K4 = u.K / 4u;                       // vec4 units per row of x and W
  var acc: array<f32, VMAX>;               // [c·MR + m] dot partials, then [ND + m] Σx² partials
  for (var j = t; j < K4; j += WG) {
    let gj = g4(j);                        // g[4j..4j+3]
    var xg: array<vec4<f32>, XMAX>;        // x[m0+m, 4j..] · g, loaded once, used NC times
    for (var m = 0u; m < MR; m++) {
      let xv = x4[row_of(tile, m) * K4 + j];
      acc[ND + m] += dot(xv, xv);
      xg[m] = xv * gj;
    }
    for (var c = 0u; c < NC; c++) {
      let w = wv4(tile.seg, col_of(tile, c) * K4 + j);   // W_s[n0+c, 4j..4j+3]
      for (var m = 0u; m < MR; m++) { acc[c * MR + m] += dot(xg[m], w); }
    }
  }
  finish(&acc, t, tile);
}

@compute @workgroup_size(WG)
fn main_vec_half(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                 @builtin(local_invocation_index) t: u32) {
  let tile = tile_of(wid, nwg);
  if (!tile.live) { return; }
  let K4 = u.K / 4u;                       // 4-element units per row (a vec2<u32> of W)
  var acc: array<f32, VMAX>;
  for (var j = t; j < K4; j += WG) {
    let gj = g4(j);
    var xg: array<vec4<f32>, XMAX>;
    for (var m = 0u; m < MR; m++) {
      let xv = x4[row_of(tile, m) * K4 + j];
      acc[ND + m] += dot(xv, xv);
      xg[m] = xv * gj;
    }
    for (var c = 0u; c < NC; c++) {
      let w = wh4(tile.seg, col_of(tile, c) * K4 + j);   // W_s[n0+c, 4j..4j+3]
      for (var m = 0u; m < MR; m++) { acc[c * MR + m] += dot(xg[m], w); }
    }
  }
  finish(&acc, t, tile);
}

@compute @workgroup_size(WG)
fn main_any(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
            @builtin(local_invocation_index) t: u32) {
  let tile = tile_of(wid, nwg);
  if (!tile.live) { return; }
  var acc: array<f32, VMAX>;
  for (var k = t; k < u.K; k += WG) {      // one element per lane per step (K % 4 != 0)
    let gk = g_at(k);
    var xg: array<f32, XMAX>;
    for (var m = 0u; m < MR; m++) {
      let xv = x[row_of(tile, m) * u.K + k];
      acc[ND + m] += xv * xv;
      xg[m] = xv * gk;
    }
    for (var c = 0u; c < NC; c++) {
      let w = w_elem(tile.seg, col_of(tile, c) * u.K + k);   // W_s[n0+c, k]
      for (var m = 0u; m < MR; m++) { acc[c * MR + m] += xg[m] * w; }
    }
  }
  finish(&acc, t, tile);
}
