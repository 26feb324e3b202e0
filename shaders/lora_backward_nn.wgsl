// lora_backward_nn — tiled "NN" matmul, C (+)= alpha · P Q, for the two activation-side products
// of the LoRA backward (loraBackward dispatches it twice):
//   dxa = scale · dy B     P = dy  [N, stride], Q = B [out, r], C = dxa [N, r],  alpha = scale, accumulate = 0
//   dx += dxa A            P = dxa [N, r],      Q = A [r, in],  C = dx  [N, in], alpha = 1,     accumulate = 1
// Column window of P (stage dxa): dy may be a wider row [N, p_stride] of which the adapter's output
// is the columns p_offset .. p_offset+K (K = out; e.g. q_proj's columns of the fused q|k|v
// gradient); only those are read. Stage dx passes p_stride = K, p_offset = 0.
//
// bindings (group 0):
//   0 uniform  U { M: u32, Nc: u32, K: u32, alpha: f32, accumulate: u32, p_stride: u32, p_offset: u32, _pad: u32 }
//   1 read     P: [M, p_stride] f32, window P[m, p_offset + k] for k < K
//   2 read     Q: [K, Nc] f32
//   3 storage  C: [M, Nc] f32   C[m, c] = (accumulate ? C[m, c] : 0) + alpha · Σ_k P[m, p_offset + k] · Q[k, c]
// dispatch: [ceil(Nc / 16), ceil(M / 16)] workgroups of 16×16; workgroup (wx, wy) owns the
//   16×16 output tile at rows 16·wy.., cols 16·wx..; each invocation owns one output element.
// reference: lora_backward.ref.ts (loraBackwardRef)
//
// K is walked in 16-wide slabs staged in shared memory: a 16×16 block of P (rows of the tile,
// k contiguous) and of Q (k rows, the tile's columns contiguous); both loads are coalesced along
// the fast invocation index. Each output is a fixed-order sum over k (deterministic, no atomics).
// Out-of-range rows/cols/k load zeros; every invocation takes part in the barriers.

struct U {
  M: u32, Nc: u32, K: u32, alpha: f32, accumulate: u32,
  p_stride: u32, // row stride of P in elements (>= p_offset + K)
  p_offset: u32, // first column of P's window
  _pad: u32,     // 8 scalars = 32 B, a multiple of 16 as packUniforms pads
}

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> P: array<f32>;
@group(0) @binding(2) var<storage, read> Q: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;

const TS: u32 = 16u; // tile side (output rows, output cols, and K slab)

// Ps[i][k] = P[m0 + i, k0 + k]; Qs[k][j] = Q[k0 + k, c0 + j].  2 · 16 · 16 · 4 B = 2 KiB.
var<workgroup> Ps: array<array<f32, 16>, 16>;
var<workgroup> Qs: array<array<f32, 16>, 16>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let tx = lid.x; // column within the tile (fast index)
  let ty = lid.y; // row within the tile
  let m = wid.y * TS + ty; // output row this invocation owns
  let c = wid.x * TS + tx; // output col this invocation owns

  var acc = 0.0;
  let nslabs = (u.K + TS - 1u) / TS;
  for (var s = 0u; s < nslabs; s++) {
    let k0 = s * TS;
    // P: row m, window column k0+tx.  Q: row k0+ty, column c.  Out of range → 0 (and columns
    // outside P's window are never touched, so whatever they hold cannot leak in).
    var pv = 0.0;
    var qv = 0.0;
    if (m < u.M && k0 + tx < u.K) { pv = P[m * u.p_stride + u.p_offset + k0 + tx]; }
    if (k0 + ty < u.K && c < u.Nc) { qv = Q[(k0 + ty) * u.Nc + c]; }
    Ps[ty][tx] = pv;
    Qs[ty][tx] = qv;
    workgroupBarrier();
    for (var kk = 0u; kk < TS; kk++) {
      acc += Ps[ty][kk] * Qs[kk][tx];
    }
    workgroupBarrier(); // slab fully consumed before the next one overwrites it
  }

  if (m < u.M && c < u.Nc) {
    let o = m * u.Nc + c;
    // accumulate == 0 must not read C (dxa is a fresh pooled buffer that may hold NaN)
    var v = u.alpha * acc;
    if (u.accumulate != 0u) { v += C[o]; }
    C[o] = v;
  }
}
