// gemv_swiglu — act[m, f] = silu(r[m]·Σ_k x[m,k]·g[k]·Wg[f,k]) · (r[m]·Σ_k x[m,k]·g[k]·Wu[f,k])
// with r[m] = 1/sqrt(mean_k x[m,k]² + eps) (has_norm; else g = 1, r = 1): ln2 + gate + up + SwiGLU of
// the Llama/Qwen2 MLP in one dispatch for few rows (decode, M ≤ 16). silu(a) = a·sigmoid(a).
//
// Design of matmul_forward_gemv.wgsl / gemv_rmsnorm.wgsl: a workgroup owns NC columns f0..f0+NC-1 of
// BOTH gate and up, and MR rows; its WG lanes stride over K, each lane loads the NC rows of Wg and of
// Wu (vec4 / 4 halves a load) once per step and uses them for all MR rows, and adds up Σx² of its rows
// from the same x loads (the norm costs no extra read). The 2·NC·MR dot products and MR sums of
// squares are reduced over the lanes in workgroup memory in a fixed order (deterministic); the lane
// of output (c, m) then applies r, silu and the product, so gate and up never reach memory.
//
// legend: M rows of x, K channels (d_model), F hidden units (d_mlp)
// bindings (group 0):
//   0 uniform  U (below)
//   1 read     x:   [M, K] f32                                    (x4: as vec4)
//   2 read     g:   [K] RMSNorm weight, u32 words: g_kind 0 f32 bits, 1 f16 / 2 bf16 two halves a word
//                   (read only when has_norm; bound to x otherwise)
//   3 read     Wg:  [F, K] gate_proj, f32 (wgv4) or f16/bf16 two halves a word (wgh: 4 halves, wg: elements)
//   4 read     Wu:  [F, K] up_proj, same dtype as Wg
//   5 storage  out: [M, F] f32
// overrides: WG lanes (64 or 256), MR rows per workgroup (1..16), NC columns; NV·WG ≤ 4096 (16 KB)
// dispatch: [gx, gy, ceil(M / MR)], gx·gy ≥ ceil(F / NC) column groups (grid1d: g = wid.x + wid.y·nwg.x)
// entry points: main_vec_f32 / main_vec_half (K % 4 == 0), main_any (any K: one element per step).
// reference: gemv_swiglu.ref.ts (gemvSwigluRef)
//
// Not scaled like rmsnorm_forward: Σx² overflows f32 once |x| ≳ 1e17 (K ~ 5000), then r = 0 (torch in
// f32 gives 0 too). NaN in x[m, :] makes row m NaN and no other row. sigmoid uses exp(−|a|) ∈ (0, 1]:
// no overflow for any finite a (a = −1e4 gives −0, a = 1e4 gives a).

struct U {
  M: u32,
  K: u32,
  F: u32,
  eps: f32,
  has_norm: u32,   // 1: apply RMSNorm(g, eps) to x first
  w_kind: u32,     // 0 f32, 1 f16, 2 bf16 (Wg and Wu)
  g_kind: u32,     // same codes for g
  groups: u32,     // column groups: ceil(F / NC)
}

override WG: u32 = 64u;              // lanes per workgroup, striding over K
override MR: u32 = 1u;               // rows of x per workgroup
override NC: u32 = 2u;               // hidden units per workgroup
override ND: u32 = NC * MR;          // gate dots: value v < ND is (c = v / MR, m = v % MR); up dots: ND + v
override NV: u32 = 2u * ND + MR;     // + sums of squares: value 2·ND + m
override RED: u32 = NV * WG;         // reduction buffer, f32 [NV][WG]
override G: u32 = WG / 8u;           // first reduction level: G lane groups of 8 lanes per value
const VMAX = 80u;                    // NV at most (host-checked)
const XMAX = 16u;                    // MR at most

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<f32>;               // main_any
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;        // main_vec_*
@group(0) @binding(2) var<storage, read> gw: array<u32>;
@group(0) @binding(3) var<storage, read> wg: array<u32>;              // main_any
@group(0) @binding(3) var<storage, read> wgv4: array<vec4<f32>>;      // main_vec_f32
@group(0) @binding(3) var<storage, read> wgh: array<vec2<u32>>;       // main_vec_half
@group(0) @binding(4) var<storage, read> wu: array<u32>;
@group(0) @binding(4) var<storage, read> wuv4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> wuh: array<vec2<u32>>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

var<workgroup> red: array<f32, RED>;

// First column and first row of a workgroup; live is workgroup-uniform (grid1d tail groups own nothing).
struct Tile {
  f0: u32,
  m0: u32,
  live: bool,
}

fn tile_of(wid: vec3u, nwg: vec3u) -> Tile {
  let g = wid.x + wid.y * nwg.x;
  return Tile(g * NC, wid.z * MR, g < u.groups);
}

// Rows past M and columns past F are clamped to the last valid one: loads stay in bounds, the sums are
// computed but never stored.
fn row_of(tile: Tile, m: u32) -> u32 { return min(tile.m0 + m, u.M - 1u); }
fn col_of(tile: Tile, c: u32) -> u32 { return min(tile.f0 + c, u.F - 1u); }

// Four halves (two words, element 2i low) as f32: f16 exactly, bf16 by moving it to the top of an f32.
fn unpack4(w: vec2<u32>, kind: u32) -> vec4<f32> {
  if (kind == 1u) { return vec4(unpack2x16float(w.x), unpack2x16float(w.y)); }
  return bitcast<vec4<f32>>(vec4(w.x << 16u, w.x & 0xffff0000u, w.y << 16u, w.y & 0xffff0000u));
}
// Element e of a tensor stored as words of `kind`; `word` is the word holding it.
fn elem(word: u32, e: u32, kind: u32) -> f32 {
  if (kind == 0u) { return bitcast<f32>(word); }
  let hi = (e & 1u) == 1u;
  if (kind == 1u) { return select(unpack2x16float(word).x, unpack2x16float(word).y, hi); }
  return bitcast<f32>(select(word << 16u, word & 0xffff0000u, hi));
}
fn word_of(e: u32, kind: u32) -> u32 { return select(e >> 1u, e, kind == 0u); }

// g[k] and g[4j..4j+3] (K % 4 == 0: 4j is even, two whole words of halves); 1 without the norm.
fn g_at(k: u32) -> f32 {
  if (u.has_norm == 0u) { return 1.0; }
  return elem(gw[word_of(k, u.g_kind)], k, u.g_kind);
}
fn g4(j: u32) -> vec4<f32> {
  if (u.has_norm == 0u) { return vec4(1.0); }
  if (u.g_kind == 0u) { return bitcast<vec4<f32>>(vec4(gw[4u * j], gw[4u * j + 1u], gw[4u * j + 2u], gw[4u * j + 3u])); }
  return unpack4(vec2(gw[2u * j], gw[2u * j + 1u]), u.g_kind);
}

fn sigmoid(a: f32) -> f32 {
  let e = exp(-abs(a)); // (0, 1]
  return select(e / (1.0 + e), 1.0 / (1.0 + e), a >= 0.0);
}

// Sum of value v over the WG lanes from the G group sums left in red by finish(), in a fixed order.
fn total(v: u32) -> f32 {
  var s = red[v * WG];
  for (var i = 1u; i < G; i++) { s += red[v * WG + i]; }
  return s;
}

// Reduces acc over the lanes (as gemv_rmsnorm.wgsl: park, 8-lane group sums, G group sums in order)
// and writes act = silu(r·gate)·(r·up) for the lane's (c, m) = (t / MR, t % MR).
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
    let f = tile.f0 + t / MR;
    let m = tile.m0 + t % MR;
    if (f < u.F && m < u.M) {
      var r = 1.0;
      if (u.has_norm != 0u) { r = inverseSqrt(total(2u * ND + t % MR) / f32(u.K) + u.eps); }
      let a = r * total(t);              // gate[m, f]
      let b = r * total(ND + t);         // up[m, f]
      out[m * u.F + f] = a * sigmoid(a) * b;   // [M, F]
    }
  }
}

@compute @workgroup_size(WG)
fn main_vec_f32(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                @builtin(local_invocation_index) t: u32) {
  let tile = tile_of(wid, nwg);
  if (!tile.live) { return; }
  let K4 = u.K / 4u;                       // vec4 units per row of x and W
  var acc: array<f32, VMAX>;               // [c·MR + m] gate, [ND + c·MR + m] up, [2·ND + m] Σx²
  for (var j = t; j < K4; j += WG) {
    let gj = g4(j);
    var xg: array<vec4<f32>, XMAX>;        // x[m0+m, 4j..4j+3] · g, loaded once, used 2·NC times
    for (var m = 0u; m < MR; m++) {
      let xv = x4[row_of(tile, m) * K4 + j];
      acc[2u * ND + m] += dot(xv, xv);
      xg[m] = xv * gj;
    }
    for (var c = 0u; c < NC; c++) {
      let i = col_of(tile, c) * K4 + j;
      let wa = wgv4[i];                    // Wg[f0+c, 4j..4j+3]
      let wb = wuv4[i];                    // Wu[f0+c, 4j..4j+3]
      for (var m = 0u; m < MR; m++) {
        acc[c * MR + m] += dot(xg[m], wa);
        acc[ND + c * MR + m] += dot(xg[m], wb);
      }
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
      acc[2u * ND + m] += dot(xv, xv);
      xg[m] = xv * gj;
    }
    for (var c = 0u; c < NC; c++) {
      let i = col_of(tile, c) * K4 + j;
      let wa = unpack4(wgh[i], u.w_kind);
      let wb = unpack4(wuh[i], u.w_kind);
      for (var m = 0u; m < MR; m++) {
        acc[c * MR + m] += dot(xg[m], wa);
        acc[ND + c * MR + m] += dot(xg[m], wb);
      }
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
      acc[2u * ND + m] += xv * xv;
      xg[m] = xv * gk;
    }
    for (var c = 0u; c < NC; c++) {
      let e = col_of(tile, c) * u.K + k;   // element (f0+c, k) of Wg and Wu
      let wa = elem(wg[word_of(e, u.w_kind)], e, u.w_kind);
      let wb = elem(wu[word_of(e, u.w_kind)], e, u.w_kind);
      for (var m = 0u; m < MR; m++) {
        acc[c * MR + m] += xg[m] * wa;
        acc[ND + c * MR + m] += xg[m] * wb;
      }
    }
  }
  finish(&acc, t, tile);
}
