// matmul_atb — C[M, n] (+)= alpha · Aᵀ · B with A [K, M] and B [K, n]: a product whose reduction runs down the rows
// of both operands, with a few columns of output: LoRA's weight gradients, dB = s·dyᵀ·xa ([out, r], K = the batch's
// rows) and dA = dxaᵀ·x ([r, in]). One dispatch: K is split across each workgroup's invocations and their partial
// sums added in workgroup memory, where split-K (matmul_forward's 'splitk') writes partial sums and needs a reduce.
// A may be a column window of a wider matrix (dy as a window of the fused q|k|v gradient), and so may B.
//
// legend: M rows of C, n columns of C (both multiples of 4), K reduction length (rows of A and B)
// bindings (group 0):
//   0 uniform  U (below): job 0's product and job 1's; A's row k starts at vec4 k·lda4 + aoff4, B's at k·ldb4 + boff4
//   1 read     a0:   [K, lda4] vec4 (C's rows m .. m+3 at k: one vec4)
//   2 read     b0:   [K, ldb4] vec4 (C's columns c .. c+3 at k: one vec4)
//   3 storage  out0: [M, n] f32 (read too when accumulate)
//   4-6        a1, b1, out1: job 1's (JOBS = 2); with JOBS = 1 the caller binds job 0's again (never read)
// Two jobs (override JOBS = 2): two independent products in one dispatch, LoRA's dB and dA of one adapter: the first
// u.rows0 rows of workgroups run job 0, the rest job 1 (each with its own shapes, windows and blocks); a workgroup
// whose columns lie past its job's n returns at once. Neither job may read what the other writes.
// Row blocks (seg_b4 > 0): the dB of adapters stacked on one input whose output gradients are neighbouring windows
// of one dy (q|k|v): C's rows from seg1 (and from seg2) read B's columns seg_b4 (and 2·seg_b4) vec4 further on, B
// being their x·Aᵀ side by side; seg1 and seg2 are multiples of 4, so a workgroup's rows are in one block.
// dispatch: [ceil(n / 16), M / 4] (two jobs: [max of both, M0 / 4 + M1 / 4]): workgroup (x, y) owns rows 4y .. 4y+3
// and columns 16x .. 16x+15 of its job's C
// reference: matmul_atb.ref.ts (matmulAtBRef)
//
// Invocation t owns column quad t % 4 of the tile (4 columns) and K lane t / 4 of 64: it sums the 4 × 4 outer products
// of rows k ≡ lane (mod 64), two rows a round (their loads issued together), in increasing k. The 64 lanes' sums are
// then added in a fixed tree (64 → 32 → 16 in registers through workgroup memory, then 16 in lane order): the result
// does not depend on timing. A first version (one column and 16 lanes an invocation, K/16 dependent rounds) lost to
// split-K in the step: too few workgroups for its long chains of loads (BENCHMARKS.md).

struct Job {
  M: u32,
  n: u32,
  K: u32,
  lda4: u32,
  aoff4: u32,
  ldb4: u32,
  boff4: u32,
  alpha: f32,
  accumulate: u32,
  seg_b4: u32, // B vec4 a row block further on (0: one block)
  seg1: u32,   // first row of block 1
  seg2: u32,   // first row of block 2
}

struct U {
  j0: Job,
  j1: Job,
  rows0: u32, // workgroup rows of job 0 (M0 / 4)
}

override JOBS: u32 = 1u;

const CQ = 4u;      // column quads per workgroup (16 columns)
const LANES = 64u;  // K lanes
const OUTS = 64u;   // outputs per workgroup: 4 rows × 16 columns, o = 16·row + 4·quad + column in quad
const PITCH = 65u;  // red's lane pitch

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> a0: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b0: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out0: array<f32>;
@group(0) @binding(4) var<storage, read> a1: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> b1: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> out1: array<f32>;

var<workgroup> red: array<f32, 32u * PITCH>; // red[lane·PITCH + o], up to 32 lanes at a time

// job 0's operands, or job 1's (JOBS = 1 folds the branch away)
fn ld_a(jb: u32, i: u32) -> vec4<f32> {
  if (JOBS == 1u || jb == 0u) { return a0[i]; }
  return a1[i];
}
fn ld_b(jb: u32, i: u32) -> vec4<f32> {
  if (JOBS == 1u || jb == 0u) { return b0[i]; }
  return b1[i];
}
fn ld_out(jb: u32, o: u32) -> f32 {
  if (JOBS == 1u || jb == 0u) { return out0[o]; }
  return out1[o];
}
fn st_out(jb: u32, o: u32, x: f32) {
  if (JOBS == 1u || jb == 0u) { out0[o] = x; } else { out1[o] = x; }
}

// the 16 sums of this invocation (acc[j][i]: row i, column j of its quad) into red's row `slot`
fn put(slot: u32, quad: u32, acc: array<vec4<f32>, 4>) {
  for (var i = 0u; i < 4u; i++) {
    for (var j = 0u; j < 4u; j++) { red[slot * PITCH + 16u * i + 4u * quad + j] = acc[j][i]; }
  }
}

fn take(slot: u32, quad: u32, acc: ptr<function, array<vec4<f32>, 4>>) {
  for (var i = 0u; i < 4u; i++) {
    for (var j = 0u; j < 4u; j++) { (*acc)[j][i] += red[slot * PITCH + 16u * i + 4u * quad + j]; }
  }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
  let job = select(0u, 1u, JOBS == 2u && wid.y >= u.rows0);
  var j = u.j0;
  if (job == 1u) { j = u.j1; }
  let wy = wid.y - job * u.rows0;
  let m0 = 4u * wy;
  let c0 = 16u * wid.x;
  if (c0 >= j.n) { return; } // past this job's columns (the grid is as wide as the wider job)
  let quad = t % CQ;
  let lane = t / CQ;
  // a quad past n loads the last one (a valid address); its sums are never stored
  let qa = j.aoff4 + m0 / 4u;
  let qb = j.boff4 + j.seg_b4 * (u32(m0 >= j.seg1) + u32(m0 >= j.seg2)) + min(c0 + 4u * quad, j.n - 4u) / 4u;
  var acc: array<vec4<f32>, 4>;
  var k = lane;
  for (; k + LANES < j.K; k += 2u * LANES) {
    let a0v = ld_a(job, k * j.lda4 + qa);
    let b0v = ld_b(job, k * j.ldb4 + qb);
    let a1v = ld_a(job, (k + LANES) * j.lda4 + qa);
    let b1v = ld_b(job, (k + LANES) * j.ldb4 + qb);
    acc[0] += a0v * b0v.x; acc[1] += a0v * b0v.y; acc[2] += a0v * b0v.z; acc[3] += a0v * b0v.w;
    acc[0] += a1v * b1v.x; acc[1] += a1v * b1v.y; acc[2] += a1v * b1v.z; acc[3] += a1v * b1v.w;
  }
  if (k < j.K) {
    let a0v = ld_a(job, k * j.lda4 + qa);
    let b0v = ld_b(job, k * j.ldb4 + qb);
    acc[0] += a0v * b0v.x; acc[1] += a0v * b0v.y; acc[2] += a0v * b0v.z; acc[3] += a0v * b0v.w;
  }
  // 64 lanes → 32: lanes 32..63 hand theirs to lanes 0..31
  if (lane >= 32u) { put(lane - 32u, quad, acc); }
  workgroupBarrier();
  if (lane < 32u) { take(lane, quad, &acc); }
  workgroupBarrier();
  // 32 → 16
  if (lane >= 16u && lane < 32u) { put(lane - 16u, quad, acc); }
  workgroupBarrier();
  if (lane < 16u) { take(lane, quad, &acc); }
  workgroupBarrier();
  // 16 → 1, in lane order
  if (lane < 16u) { put(lane, quad, acc); }
  workgroupBarrier();
  if (t < OUTS) {
    var s = 0.0;
    for (var l = 0u; l < 16u; l++) { s += red[l * PITCH + t]; }
    let m = m0 + t / 16u;
    let c = c0 + t % 16u;
    if (m < j.M && c < j.n) {
      let o = m * j.n + c;
      var x = j.alpha * s;
      if (j.accumulate != 0u) { x += ld_out(job, o); }
      st_out(job, o, x);
    }
  }
}
