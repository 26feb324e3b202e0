// lora_backward_tn — the LoRA weight gradients: G += alpha · Pᵀ Q, a reduction over the long
// token axis N (= batch·tokens, e.g. 2048). loraBackward dispatches it twice:
//   dB += scale · dyᵀ xa    P = dy  [N, stride], Q = xa [N, r],  G = dB [out, r], alpha = scale
//   dA += dxaᵀ x            P = dxa [N, r],      Q = x  [N, in], G = dA [r, in],  alpha = 1
// Column window of P (stage dB): dy may be a wider row [N, p_stride] of which the adapter's output
// is the columns p_offset .. p_offset+M (M = out; e.g. q_proj's columns of the fused q|k|v
// gradient); only those are read. Stage dA passes p_stride = M, p_offset = 0.
//
// bindings (group 0):
//   0 uniform  U { M: u32, Nc: u32, Nr: u32, alpha: f32, p_stride: u32, p_offset: u32, _pad0: u32, _pad1: u32 }
//   1 read     P: [Nr, p_stride] f32, window P[n, p_offset + m] for m < M
//   2 read     Q: [Nr, Nc] f32
//   3 storage  G: [M, Nc]  f32   G[m, c] += alpha · Σ_n P[n, p_offset + m] · Q[n, c]   (caller-zeroed; accumulates)
// dispatch: [ceil(Nc / 16), ceil(M / 16)] workgroups of 16×16; workgroup (wx, wy) owns the
//   16×16 tile of G at rows 16·wy.., cols 16·wx..; each invocation owns one element of G.
// reference: lora_backward.ref.ts (loraBackwardRef)
//
// Deterministic, no atomics: each element of G is summed by one invocation in a fixed order over
// n. N is walked in 16-row slabs staged in shared memory: 16 rows × the tile's 16 columns of P and
// of Q, each read with consecutive invocations on consecutive addresses (rows are contiguous), so
// every value fetched from memory is used 16 times. Out-of-range rows/cols load zeros.

struct U {
  M: u32, Nc: u32, Nr: u32, alpha: f32,
  p_stride: u32, // row stride of P in elements (>= p_offset + M)
  p_offset: u32, // first column of P's window
  _pad0: u32, _pad1: u32, // 8 scalars = 32 B, a multiple of 16 as packUniforms pads
}

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> P: array<f32>;
@group(0) @binding(2) var<storage, read> Q: array<f32>;
@group(0) @binding(3) var<storage, read_write> G: array<f32>;

const TS: u32 = 16u; // tile side (rows of G, cols of G, and N slab)

// Ps[n][i] = P[n0 + n, m0 + i]; Qs[n][j] = Q[n0 + n, c0 + j].  2 · 16 · 16 · 4 B = 2 KiB.
var<workgroup> Ps: array<array<f32, 16>, 16>;
var<workgroup> Qs: array<array<f32, 16>, 16>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let tx = lid.x; // column within the tile (fast index)
  let ty = lid.y; // row within the tile; also the slab row this invocation loads
  let m0 = wid.y * TS;
  let c0 = wid.x * TS;
  let m = m0 + ty; // row of G this invocation owns
  let c = c0 + tx; // col of G this invocation owns

  var acc = 0.0;
  let nslabs = (u.Nr + TS - 1u) / TS;
  for (var s = 0u; s < nslabs; s++) {
    let n = s * TS + ty; // token row this invocation loads
    // P: row n, window column m0+tx.  Q: row n, column c0+tx (= c).  Out of range → 0 (columns
    // outside P's window are never touched).
    var pv = 0.0;
    var qv = 0.0;
    if (n < u.Nr && m0 + tx < u.M) { pv = P[n * u.p_stride + u.p_offset + m0 + tx]; }
    if (n < u.Nr && c < u.Nc) { qv = Q[n * u.Nc + c]; }
    Ps[ty][tx] = pv;
    Qs[ty][tx] = qv;
    workgroupBarrier();
    for (var nn = 0u; nn < TS; nn++) {
      acc += Ps[nn][ty] * Qs[nn][tx];
    }
    workgroupBarrier(); // slab fully consumed before the next one overwrites it
  }

  if (m < u.M && c < u.Nc) {
    let o = m * u.Nc + c;
    G[o] = G[o] + u.alpha * acc; // parameter gradient: accumulate
  }
}
