// matmul_atb — C[M, n] (+)= alpha · Aᵀ · B with A [K, M] and B [K, n]: a product whose reduction runs down the rows
// of both operands, with a few columns of output: LoRA's weight gradients, dB = s·dyᵀ·xa ([out, r], K = the batch's
// rows) and dA = dxaᵀ·x ([r, in]). One dispatch: K is split across each workgroup's invocations and their partial
// sums added in workgroup memory, where split-K (matmul_forward's 'splitk') writes partial sums and needs a reduce.
// A may be a column window of a wider matrix (dy as a window of the fused q|k|v gradient), and so may B.
//
// legend: M rows of C, n columns of C (both multiples of 4), K reduction length (rows of A and B)
// bindings (group 0):
//   0 uniform  U (below): A's row k starts at vec4 k·lda4 + aoff4, B's at vec4 k·ldb4 + boff4
//   1 read     a:   [K, lda4] vec4 (C's rows m .. m+3 at k: one vec4)
//   2 read     b:   [K, ldb4] vec4 (C's columns c .. c+3 at k: one vec4)
//   3 storage  out: [M, n] f32 (read too when accumulate)
// Row blocks (seg_b4 > 0): the dB of adapters stacked on one input whose output gradients are neighbouring windows
// of one dy (q|k|v): C's rows from seg1 (and from seg2) read B's columns seg_b4 (and 2·seg_b4) vec4 further on, B
// being their x·Aᵀ side by side; seg1 and seg2 are multiples of 4, so a workgroup's rows are in one block.
// dispatch: [ceil(n / 16), M / 4]: workgroup (x, y) owns rows 4y .. 4y+3 and columns 16x .. 16x+15
// reference: matmul_atb.ref.ts (matmulAtBRef)
//
// Invocation t owns column quad t % 4 of the tile (4 columns) and K lane t / 4 of 64: it sums the 4 × 4 outer products
// of rows k ≡ lane (mod 64), two rows a round (their loads issued together), in increasing k. The 64 lanes' sums are
// then added in a fixed tree (64 → 32 → 16 in registers through workgroup memory, then 16 in lane order): the result
// does not depend on timing. A first version (one column and 16 lanes an invocation, K/16 dependent rounds) lost to
// split-K in the step: too few workgroups for its long chains of loads (BENCHMARKS.md).

struct U {
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

const CQ = 4u;      // column quads per workgroup (16 columns)
const LANES = 64u;  // K lanes
const OUTS = 64u;   // outputs per workgroup: 4 rows × 16 columns, o = 16·row + 4·quad + column in quad
const PITCH = 65u;  // red's lane pitch

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

var<workgroup> red: array<f32, 32u * PITCH>; // red[lane·PITCH + o], up to 32 lanes at a time

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
  let quad = t % CQ;
  let lane = t / CQ;
  let m0 = 4u * wid.y;
  let c0 = 16u * wid.x;
  // a quad past n loads the last one (a valid address); its sums are never stored
  let qa = u.aoff4 + m0 / 4u;
  let qb = u.boff4 + u.seg_b4 * (u32(m0 >= u.seg1) + u32(m0 >= u.seg2)) + min(c0 + 4u * quad, u.n - 4u) / 4u;
  var acc: array<vec4<f32>, 4>;
  var k = lane;
  for (; k + LANES < u.K; k += 2u * LANES) {
    let a0 = a[k * u.lda4 + qa];
    let b0 = b[k * u.ldb4 + qb];
    let a1 = a[(k + LANES) * u.lda4 + qa];
    let b1 = b[(k + LANES) * u.ldb4 + qb];
    acc[0] += a0 * b0.x; acc[1] += a0 * b0.y; acc[2] += a0 * b0.z; acc[3] += a0 * b0.w;
    acc[0] += a1 * b1.x; acc[1] += a1 * b1.y; acc[2] += a1 * b1.z; acc[3] += a1 * b1.w;
  }
  if (k < u.K) {
    let a0 = a[k * u.lda4 + qa];
    let b0 = b[k * u.ldb4 + qb];
    acc[0] += a0 * b0.x; acc[1] += a0 * b0.y; acc[2] += a0 * b0.z; acc[3] += a0 * b0.w;
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
    if (m < u.M && c < u.n) {
      let o = m * u.n + c;
      var x = u.alpha * s;
      if (u.accumulate != 0u) { x += out[o]; }
      out[o] = x;
    }
  }
}
