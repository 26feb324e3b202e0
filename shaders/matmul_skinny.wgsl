// matmul_skinny — C[M, n] = alpha · A[M, K] · op(B) (+ C when accumulate), for outputs a few columns wide: LoRA's
// x·Aᵀ (forward, n = r, K = in) and dy·B (backward, n = r, K = out; dy may be a column window of the fused q|k|v
// gradient). One dispatch: K is split across each
// workgroup's invocations and their partial sums are added in workgroup memory, where split-K (matmul_forward's
// 'splitk') needs a second dispatch for its reduce (on the H100 a LoRA step's dispatches cost more than their work).
//
// legend: M rows, n columns, K reduction length (a multiple of 4)
// bindings (group 0):
//   0 uniform  U { M: u32, n: u32, K: u32, alpha: f32, accumulate: u32, lda4: u32, aoff4: u32, ldo: u32, ooff: u32,
//                 seg_r: u32, seg1: u32, seg2: u32 }
//   1 read     a:   [M, lda4] vec4: row m's K values start at vec4 m·lda4 + aoff4 (K % 4 == 0)
//   2 read     b:   [K, n] f32 (read when !TRANS_B)
//   3 read     b4:  [n, K] f32 as vec4 rows (read when TRANS_B; the same buffer as b)
//   4 storage  out: [M, ldo] f32, C[m, c] at m·ldo + ooff + c (a window when adapters share a stacked output; read
//                    too when accumulate)
// overrides: TRANS_B (B is [n, K] and op(B) = Bᵀ)
// Column blocks (seg_r > 0, B [K, seg_r], not TRANS_B): the dy·B of adapters stacked on one input whose output
// gradients are neighbouring windows of one dy (q|k|v): C's columns t·seg_r .. (t+1)·seg_r - 1 sum over K's block t
// only (k from seg_t to seg_t+1: 0, seg1, seg2, K) against B's rows there, B being their B factors back to back.
// dispatch: [ceil(n / 16), ceil(M / 4)]: workgroup (x, y) owns rows 4y .. 4y+3 and columns 16x .. 16x+15
// reference: matmul_skinny.ref.ts (matmulSkinnyRef)
//
// Each of the 256 invocations owns one column c of the tile and one K lane l: it sums its 4 rows' products over the
// vec4 steps k4 ≡ l (mod 16). With TRANS_B the lane is the fast index (neighbouring invocations read neighbouring
// vec4 of a row of A and of B); without it the column is (neighbours read neighbouring floats of a row of B). Then
// 64 invocations add the 16 lanes of one (row, column) in lane order: the result does not depend on timing.

struct U {
  M: u32,
  n: u32,
  K: u32,
  alpha: f32,
  accumulate: u32,
  lda4: u32,
  aoff4: u32,
  ldo: u32,
  ooff: u32,
  seg_r: u32,
  seg1: u32,
  seg2: u32,
}

override TRANS_B: bool = true;

const RM = 4u;     // rows per workgroup
const COLS = 16u;  // columns per workgroup
const LANES = 16u; // K lanes per (row, column)
const PITCH = 17u; // red's row pitch: 16 lanes + 1, so the 64 summing invocations hit distinct banks

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

var<workgroup> red: array<f32, RM * COLS * PITCH>; // red[(i·COLS + col)·PITCH + lane]

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
  let col = select(t % COLS, t / LANES, TRANS_B);
  let lane = select(t / COLS, t % LANES, TRANS_B);
  let K4 = u.K / 4u;
  let m0 = RM * wid.y;
  let c0 = COLS * wid.x;
  // rows / columns past the end load row M-1 / column n-1 (valid addresses); their sums are never stored
  let cc = min(c0 + col, u.n - 1u);
  let r0 = min(m0, u.M - 1u) * u.lda4 + u.aoff4;
  let r1 = min(m0 + 1u, u.M - 1u) * u.lda4 + u.aoff4;
  let r2 = min(m0 + 2u, u.M - 1u) * u.lda4 + u.aoff4;
  let r3 = min(m0 + 3u, u.M - 1u) * u.lda4 + u.aoff4;
  var s0 = 0.0;
  var s1 = 0.0;
  var s2 = 0.0;
  var s3 = 0.0;
  // this column's K range and B column: all of K and column cc, or (blocks) its block's range and column cc % seg_r
  var kb = 0u;
  var ke = K4;
  var bc = cc;
  var ldb = u.n;
  if (u.seg_r > 0u) {
    let blk = cc / u.seg_r;
    kb = select(select(0u, u.seg1, blk >= 1u), u.seg2, blk >= 2u) / 4u;
    ke = select(select(u.seg1, u.seg2, blk >= 1u), u.K, blk >= 2u) / 4u;
    bc = cc % u.seg_r;
    ldb = u.seg_r;
  }
  for (var k4 = kb + lane; k4 < ke; k4 += LANES) {
    var bv: vec4<f32>;
    if (TRANS_B) {
      bv = b4[cc * K4 + k4];
    } else {
      let k = 4u * k4;
      bv = vec4(b[k * ldb + bc], b[(k + 1u) * ldb + bc], b[(k + 2u) * ldb + bc], b[(k + 3u) * ldb + bc]);
    }
    s0 += dot(a[r0 + k4], bv);
    s1 += dot(a[r1 + k4], bv);
    s2 += dot(a[r2 + k4], bv);
    s3 += dot(a[r3 + k4], bv);
  }
  red[col * PITCH + lane] = s0;
  red[(COLS + col) * PITCH + lane] = s1;
  red[(2u * COLS + col) * PITCH + lane] = s2;
  red[(3u * COLS + col) * PITCH + lane] = s3;
  workgroupBarrier();
  if (t < RM * COLS) {
    let base = t * PITCH; // row t / COLS, column t % COLS
    var s = 0.0;
    for (var l = 0u; l < LANES; l++) { s += red[base + l]; }
    let m = m0 + t / COLS;
    let c = c0 + t % COLS;
    if (m < u.M && c < u.n) {
      let o = m * u.ldo + u.ooff + c;
      var x = u.alpha * s;
      if (u.accumulate != 0u) { x += out[o]; }
      out[o] = x;
    }
  }
}
