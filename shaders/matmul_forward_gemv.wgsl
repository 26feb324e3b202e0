// matmul_forward (version 'gemv') — C[z] = alpha · op(A[z]) · op(B[z]) + bias (+ C[z] if accumulate)
// for few rows of A (decode: M = 1..8), where the op is memory-bound: reading B once is the cost.
//
// A workgroup owns NC output columns n0..n0+NC-1 and MR rows m0..m0+MR-1 of C. Its WG lanes stride
// over K together: in the common nn.Linear case (trans_b, B = W [N, K]) lane t reads units
// t, t+WG, ... of the NC rows of W, so neighbouring lanes read neighbouring addresses of one row
// (coalesced), and each W element is loaded once and used for all MR rows of A. Every lane keeps
// NC·MR partial dot products in registers; the workgroup then sums them over its lanes in workgroup
// memory in a fixed order (deterministic, and portable: no subgroup feature needed).
// Three entry points, chosen by the host (the bindings they share are declared once per element
// type; each entry point uses only one declaration of each binding, which WGSL allows):
//   main_vec_f32  !trans_a, trans_b, f32 B, K % 4 == 0: A and B read as vec4 (16 bytes per load);
//   main_vec_half !trans_a, trans_b, f16/bf16 B, K % 4 == 0: B read as vec2<u32> = 4 halves;
//   main_any      every other case (trans_a, B [K, N], odd K): one element per lane per step.
//
// legend: M rows of C, N columns of C, K reduction length, z batch index
// bindings (group 0):
//   0 uniform  U (same layout as matmul_forward_naive.wgsl; the last two fields, the tiled kernel's
//              split-K range, unused)
//   1 read     a:    [batch, M, K] f32, or [batch, K, M] when trans_a            (a4: as vec4)
//   2 read     b:    [batch|1, N, K] when trans_b, else [batch|1, K, N]; u32 words: kind 0 f32
//                    bits, 1 f16 / 2 bf16 two halves per word, element 2i low    (b4, b2: vectors)
//   3 read     bias: [N] f32 (read only when has_bias)
//   4 storage  out:  [batch, M, N] f32 (read too when accumulate)
// overrides: WG lanes (64 or 256), MR rows per workgroup (1, 2, 4 or 8), NC columns; NC·MR·WG ≤ 2048
//   (one reduction round: 4 columns with 64 lanes, min(4, 8 / MR) with 256)
// dispatch: [gx, gy, batch · ceil(M / MR)] with gx·gy ≥ ceil(N / NC) (grid1d over column groups);
//   column group g = wid.x + wid.y · nwg.x, z = wid.z / ceil(M / MR), row block = wid.z % ...
// alignment (vec entry points, checked by the host): K % 4 == 0, so every row of A and B, and every
//   batch offset, starts on a 4-element unit.
// workgroup memory: 2048 f32 = 8 KB (the reduction buffer).
// reference: matmul_forward.ref.ts (matmulRef)

struct U {
  M: u32,
  N: u32,
  K: u32,
  b_stride: u32,   // elements between batches of B (0 = broadcast)
  alpha: f32,
  has_bias: u32,
  accumulate: u32,
  trans_a: u32,
  trans_b: u32,
  b_kind: u32,     // 0 f32, 1 f16, 2 bf16
  _pad0: u32,
  _pad1: u32,
}

override WG: u32 = 64u;   // lanes per workgroup, all striding over K
override MR: u32 = 8u;    // rows of A (and C) per workgroup
override NC: u32 = 4u;    // columns of C per workgroup (NC·MR·WG <= RED)
const VMAX = 32u;         // NC·MR partial sums per lane, at most
const RED = 2048u;        // reduction buffer, f32: [NC·MR][WG]
override G = WG / 8u;     // first reduction level: each of G lanes sums 8 lanes of one value

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> a: array<f32>;            // main_any
@group(0) @binding(1) var<storage, read> a4: array<vec4<f32>>;     // main_vec_*
@group(0) @binding(2) var<storage, read> b: array<u32>;            // main_any
@group(0) @binding(2) var<storage, read> b4: array<vec4<u32>>;     // main_vec_f32: 4 f32
@group(0) @binding(2) var<storage, read> b2: array<vec2<u32>>;     // main_vec_half: 4 halves
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

var<workgroup> red: array<f32, RED>;  // [NC·MR][WG] partial sums, then group sums

// Which part of C a workgroup owns. live is workgroup-uniform (a grid1d tail group has nothing).
struct Tile {
  n0: u32,   // first column
  m0: u32,   // first row
  z: u32,    // batch entry
  live: bool,
}

fn tile_of(wid: vec3u, nwg: vec3u) -> Tile {
  let g = wid.x + wid.y * nwg.x;     // column group
  let rb = (u.M + MR - 1u) / MR;     // row blocks per batch entry
  return Tile(g * NC, (wid.z % rb) * MR, wid.z / rb, g * NC < u.N);
}

// Element e of B (flat index) as f32, whatever its storage dtype (main_any).
fn load_b(e: u32) -> f32 {
  if (u.b_kind == 0u) { return bitcast<f32>(b[e]); }
  let w = b[e >> 1u];               // the word holding elements 2i (low half) and 2i+1 (high half)
  let hi = (e & 1u) == 1u;
  if (u.b_kind == 1u) {
    let p = unpack2x16float(w);
    return select(p.x, p.y, hi);
  }
  return bitcast<f32>(select(w << 16u, w & 0xffff0000u, hi));  // bf16 = top half of an f32
}

// Four halves (two words, element 2i low) as f32: f16 exactly, bf16 by moving it to the top half.
fn unpack4(w: vec2<u32>) -> vec4<f32> {
  if (u.b_kind == 1u) { return vec4(unpack2x16float(w.x), unpack2x16float(w.y)); }
  return bitcast<vec4<f32>>(vec4(w.x << 16u, w.x & 0xffff0000u, w.y << 16u, w.y & 0xffff0000u));
}

// Sums value v = c·MR + m of acc over the WG lanes and writes C[z, m0+m, n0+c], in one round
// (the host keeps NC·MR·WG <= RED): every lane parks its partials in red[v·WG + lane]; lane group g
// (< G) of value v sums lanes g, g+G, ... (8 of them, stride G: conflict-free reads) into
// red[v·WG + g]; then lane v adds the G group sums in order. Same order every run. Both barriers
// are in uniform control flow (the caller returned early only for a whole workgroup).
fn finish(acc: ptr<function, array<f32, VMAX>>, t: u32, tile: Tile) {
  let V = NC * MR;
  for (var v = 0u; v < V; v++) { red[v * WG + t] = (*acc)[v]; }
  workgroupBarrier();
  for (var p = t; p < V * G; p += WG) {
    let base = (p / G) * WG + p % G;     // value p / G, lane group p % G
    var s = red[base];
    for (var i = 1u; i < 8u; i++) { s += red[base + i * G]; }
    red[base] = s;                       // only this lane reads or writes slot base now
  }
  workgroupBarrier();
  if (t < V) {
    var s = red[t * WG];
    for (var g = 1u; g < G; g++) { s += red[t * WG + g]; }
    let n = tile.n0 + t / MR;
    let m = tile.m0 + t % MR;
    if (n < u.N && m < u.M) {
      let o = (tile.z * u.M + m) * u.N + n;   // out[z, m, n]
      var x = u.alpha * s;
      if (u.has_bias != 0u) { x += bias[n]; }
      if (u.accumulate != 0u) { x += out[o]; }
      out[o] = x;
    }
  }
}

// Rows past M and columns past N are clamped to the last valid one: their loads stay in bounds and
// their sums are computed but never stored (so no select on the data, and no 0·Inf).
fn row_of(tile: Tile, m: u32) -> u32 { return min(tile.m0 + m, u.M - 1u); }
fn col_of(tile: Tile, c: u32) -> u32 { return min(tile.n0 + c, u.N - 1u); }

@compute @workgroup_size(WG)
fn main_vec_f32(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                @builtin(local_invocation_index) t: u32) {
  let tile = tile_of(wid, nwg);
  if (!tile.live) { return; }
  let K4 = u.K / 4u;                       // vec4 units per row of A and of W
  let a_off = tile.z * u.M * K4;           // A[z], in vec4
  let b_off = tile.z * (u.b_stride / 4u);  // W[z], in vec4 (0 when broadcast)
  var acc: array<f32, VMAX>;               // acc[c·MR + m]: lane's part of C[m0+m, n0+c]
  for (var j = t; j < K4; j += WG) {
    var x: array<vec4<f32>, 8>;            // A[m0+m, 4j..4j+3], loaded once, used NC times
    for (var m = 0u; m < MR; m++) { x[m] = a4[a_off + row_of(tile, m) * K4 + j]; }
    for (var c = 0u; c < NC; c++) {
      let w = bitcast<vec4<f32>>(b4[b_off + col_of(tile, c) * K4 + j]);  // W[n0+c, 4j..4j+3]
      for (var m = 0u; m < MR; m++) { acc[c * MR + m] += dot(x[m], w); }
    }
  }
  finish(&acc, t, tile);
}

@compute @workgroup_size(WG)
fn main_vec_half(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                 @builtin(local_invocation_index) t: u32) {
  let tile = tile_of(wid, nwg);
  if (!tile.live) { return; }
  let K4 = u.K / 4u;                       // 4-element units per row
  let a_off = tile.z * u.M * K4;           // A[z], in vec4
  let b_off = tile.z * (u.b_stride / 4u);  // W[z], in vec2<u32> (4 halves)
  var acc: array<f32, VMAX>;
  for (var j = t; j < K4; j += WG) {
    var x: array<vec4<f32>, 8>;
    for (var m = 0u; m < MR; m++) { x[m] = a4[a_off + row_of(tile, m) * K4 + j]; }
    for (var c = 0u; c < NC; c++) {
      let w = unpack4(b2[b_off + col_of(tile, c) * K4 + j]);  // W[n0+c, 4j..4j+3]
      for (var m = 0u; m < MR; m++) { acc[c * MR + m] += dot(x[m], w); }
    }
  }
  finish(&acc, t, tile);
}

@compute @workgroup_size(WG)
fn main_any(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
            @builtin(local_invocation_index) t: u32) {
  let tile = tile_of(wid, nwg);
  if (!tile.live) { return; }
  let ta = u.trans_a != 0u;
  let tb = u.trans_b != 0u;
  let a_off = tile.z * u.M * u.K;          // A[z]
  let b_off = tile.z * u.b_stride;         // B[z] (0 when broadcast)
  var acc: array<f32, VMAX>;
  for (var k = t; k < u.K; k += WG) {
    var x: array<f32, 8>;                  // op(A)[m0+m, k]
    for (var m = 0u; m < MR; m++) {
      let r = row_of(tile, m);
      x[m] = a[a_off + select(r * u.K + k, k * u.M + r, ta)];
    }
    for (var c = 0u; c < NC; c++) {
      let n = col_of(tile, c);
      let w = load_b(b_off + select(k * u.N + n, n * u.K + k, tb));  // op(B)[k, n]
      for (var m = 0u; m < MR; m++) { acc[c * MR + m] += x[m] * w; }
    }
  }
  finish(&acc, t, tile);
}
