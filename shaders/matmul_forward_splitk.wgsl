// matmul_forward (version 'splitk', second pass) — out[z, m, n] = alpha · Σ_s partial[z, s, m, n]
// + bias[n] (+ out[z, m, n] if accumulate, or + addend[z, m, n]) (+ a low-rank term, batch 1 only; below).
//
// The first pass is the tiled kernel (matmul_forward_tiled.wgsl) with splits = S: each of its
// workgroups sums one K range of one tile into its slice of `partial`. This pass adds the S slices
// in index order s = 0, 1, ..., S-1, so the result does not depend on scheduling (deterministic),
// and applies the epilogue the first pass left out. One invocation per output element: neighbours
// read neighbouring addresses of each slice (coalesced); the S loads are independent.
//
// The low-rank term (lr_k > 0; batch 1): LoRA's product folded into this pass, one dispatch fewer than adding it
// apart (matmul_forward.ts, MatmulOptions.lowRank):
//   + lr_alpha · Σ_{j < lr_k} P[m, p_offset + blk(n)·lr_k + j] · Q(n, j)
//   Q(n, j) = Q[n·lr_k + j] (q_trans 0: Q [N, lr_k], LoRA's B [out, r]) or Q[j·N + n] (q_trans 1: Q [lr_k, N], LoRA's A)
//   blk(n) = column block of n: 0, 1 from seg1, 2 from seg2 (0 = no such block): q|k|v's adapters side by side in P
//   (one x·Aᵀ for the three), their B factors back to back in Q. Summed in order j = 0..lr_k-1 after the rest.
//
// legend: M rows, N columns, S number of K ranges, z batch index; MN = M·N
// bindings (group 0):
//   0 uniform  U (below)
//   1 read     partial: [batch, S, M, N] f32 (raw sums of each K range, no alpha)
//   2 read     bias:    [N] f32 (read only when has_bias)
//   3 read     P:       [M, p_stride] f32 (read only when lr_k > 0)
//   4 read     Q:       [N, lr_k] or [lr_k, N] f32 (read only when lr_k > 0)
//   5 read     addend:  [batch, M, N] f32 (read only when has_addend: out = ... + addend, e.g. a residual kept as it was)
//   6 storage  out:     [batch, M, N] f32 (read too when accumulate)
// dispatch: grid1d(ceil(batch·M·N / 256)) workgroups of 256; element i = (wid.x + wid.y·nwg.x)·256 + lane
// reference: matmul_forward.ref.ts (matmulRef)

struct U {
  MN: u32,        // elements of one [M, N] slice
  total: u32,     // batch · M · N outputs
  S: u32,         // K ranges (slices per batch entry)
  N: u32,         // columns: bias index = i % N
  alpha: f32,
  has_bias: u32,
  accumulate: u32,
  lr_k: u32,      // low-rank term's length (0: none)
  lr_alpha: f32,
  p_stride: u32,  // row stride of P in elements
  p_offset: u32,  // P's first column read
  q_trans: u32,   // 0: Q [N, lr_k]; 1: Q [lr_k, N]
  seg1: u32,      // first column of block 1 (0: one block)
  seg2: u32,      // first column of block 2 (0: at most two)
  has_addend: u32,
}

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> P: array<f32>;
@group(0) @binding(4) var<storage, read> Q: array<f32>;
@group(0) @binding(5) var<storage, read> addend: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) t: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + t;  // output element [z, m, n] flattened
  if (i >= u.total) { return; }
  let z = i / u.MN;
  let r = i % u.MN;                              // [m, n] within the slice
  let p0 = z * u.S * u.MN + r;                   // partial[z, 0, m, n]
  var s = 0.0;
  for (var k = 0u; k < u.S; k++) { s += partial[p0 + k * u.MN]; }  // fixed order: s = 0..S-1
  var x = u.alpha * s;
  if (u.has_bias != 0u) { x += bias[r % u.N]; }
  if (u.accumulate != 0u) { x += out[i]; }
  if (u.has_addend != 0u) { x += addend[i]; }
  if (u.lr_k != 0u) {
    let m = r / u.N;
    let n = r % u.N;
    let blk = select(0u, 1u, u.seg1 != 0u && n >= u.seg1) + select(0u, 1u, u.seg2 != 0u && n >= u.seg2);
    let p0 = m * u.p_stride + u.p_offset + blk * u.lr_k;
    var l = 0.0;
    if (u.q_trans == 0u) {
      let q0 = n * u.lr_k;
      for (var j = 0u; j < u.lr_k; j++) { l += P[p0 + j] * Q[q0 + j]; }
    } else {
      for (var j = 0u; j < u.lr_k; j++) { l += P[p0 + j] * Q[j * u.N + n]; }
    }
    x += u.lr_alpha * l;
  }
  out[i] = x;
}
