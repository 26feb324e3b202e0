// lora_forward — one tiled "NT" matmul, C (+)= alpha · P Qᵀ, dispatched twice by loraForward:
//   stage 1:  xa = x Aᵀ               P = x  [N, in],  Q = A [r, in],   C = xa [N, r],   alpha = 1,     accumulate = 0
//   stage 2:  y += scale · xa Bᵀ      P = xa [N, r],   Q = B [out, r],  C = y  [N, stride], alpha = scale, accumulate = 1
// In both stages P and Q are row-major with the reduced dimension K contiguous (x·Aᵀ and xa·Bᵀ
// read A and B row by row), so one kernel serves both.
// Column window of C (stage 2): y may be a wider row [N, c_stride] of which the adapter owns the
// columns c_offset .. c_offset+Nc (e.g. q_proj's columns of the fused q|k|v projection
// [N, (H+2Hkv)·D]); columns outside the window are neither read nor written. Stage 1 passes
// c_stride = Nc, c_offset = 0 (xa is a plain [N, r]).
// Column blocks (stage 2, loraForwardBlocks): adapters stacked on one input whose outputs are neighbouring windows of
// one y (q|k|v) in one dispatch: C's columns from seg1 (and from seg2) read P's columns from p_offset + seg_r (and
// + 2·seg_r), Q being their B factors back to back. seg1 and seg2 are multiples of 16, so a tile is in one block;
// seg_r = 0 (every other dispatch): one block.
// Row window of P (stage 2): xa may be a window of a wider [N, p_stride] (the x·Aᵀ of adapters stacked on one input,
// q|k|v or gate|up): row m's K values start at m·p_stride + p_offset. Stage 1 passes p_stride = K, p_offset = 0.
//
// bindings (group 0):
//   0 uniform  U { M: u32, Nc: u32, K: u32, alpha: f32, accumulate: u32, c_stride: u32, c_offset: u32, p_stride: u32,
//                 p_offset: u32, seg_r: u32, seg1: u32, seg2: u32 }
//   1 read     P: [M, p_stride] f32, window P[m, p_offset + k] for k < K
//   2 read     Q: [Nc, K] f32
//   3 storage  C: [M, c_stride] f32, window C[m, c_offset + c] for c < Nc:
//              C[m, c_offset + c] = (accumulate ? C[m, c_offset + c] : 0) + alpha · Σ_k P[m, k] · Q[c, k]
// dispatch: [ceil(Nc / 16), ceil(M / 16)] workgroups of 16×16; workgroup (wx, wy) owns the
//   16×16 output tile at rows 16·wy.., cols 16·wx..; each invocation owns one output element.
// reference: lora_forward.ref.ts (loraForwardRef)
//
// The K loop walks 16-wide slabs: the workgroup stages a 16×16 slab of P and of Q in shared
// memory (coalesced: neighbouring invocations read neighbouring k), then each invocation does 16
// multiply-adds from shared memory. Each output is a fixed-order sum over k (deterministic).
// Rows/cols past M, Nc, K load zeros, so no size needs to be a multiple of 16; out-of-range
// invocations still take part in the barriers and only skip the final write.

struct U {
  M: u32, Nc: u32, K: u32, alpha: f32, accumulate: u32,
  c_stride: u32, // row stride of C in elements (>= c_offset + Nc)
  c_offset: u32, // first column of C this dispatch owns
  p_stride: u32, // row stride of P in elements (>= p_offset + K)
  p_offset: u32, // first column of P read
  seg_r: u32,    // P columns a column block further on (0: one block)
  seg1: u32,     // first column of block 1 (a multiple of 16)
  seg2: u32,     // first column of block 2
}

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> P: array<f32>;
@group(0) @binding(2) var<storage, read> Q: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;

const TS: u32 = 16u; // tile side (output rows, output cols, and K slab)

// Ps[i][k] = P[m0 + i, k0 + k]; Qs[j][k] = Q[c0 + j, k0 + k]. Rows padded to 17 so that reading
// Qs[tx][kk] across tx (stride 17) hits distinct banks.  2 · 16 · 17 · 4 B = 2176 B.
var<workgroup> Ps: array<array<f32, 17>, 16>;
var<workgroup> Qs: array<array<f32, 17>, 16>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let tx = lid.x; // column within the tile (fast index)
  let ty = lid.y; // row within the tile
  let m0 = wid.y * TS;
  let c0 = wid.x * TS;
  let m = m0 + ty; // output row this invocation owns
  let c = c0 + tx; // output col this invocation owns

  let p_off = u.p_offset + u.seg_r * (u32(c0 >= u.seg1) + u32(c0 >= u.seg2)); // this tile's column block
  var acc = 0.0;
  let nslabs = (u.K + TS - 1u) / TS;
  for (var s = 0u; s < nslabs; s++) {
    // invocation (tx, ty) loads element k0+tx of row ty of each slab: P row m (= m0+ty) and
    // Q row c0+ty, so consecutive tx read consecutive addresses; out of range loads 0
    let k = s * TS + tx;
    let qc = c0 + ty;
    var pv = 0.0;
    var qv = 0.0;
    if (m < u.M && k < u.K) { pv = P[m * u.p_stride + p_off + k]; }
    if (qc < u.Nc && k < u.K) { qv = Q[qc * u.K + k]; }
    Ps[ty][tx] = pv;
    Qs[ty][tx] = qv;
    workgroupBarrier();
    for (var kk = 0u; kk < TS; kk++) {
      acc += Ps[ty][kk] * Qs[tx][kk];
    }
    workgroupBarrier(); // slab fully consumed before the next one overwrites it
  }

  if (m < u.M && c < u.Nc) {
    let o = m * u.c_stride + u.c_offset + c; // C[m, c_offset + c] inside the window
    // accumulate == 0 must not read C: stage 1 writes a fresh pooled buffer that may hold NaN
    var v = u.alpha * acc;
    if (u.accumulate != 0u) { v += C[o]; }
    C[o] = v;
  }
}
