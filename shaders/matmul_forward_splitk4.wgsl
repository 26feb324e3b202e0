// matmul_forward (version 'splitk', second pass, four columns an invocation) — matmul_forward_splitk.wgsl's sums and
// epilogue, out[z, m, n..n+3] at once as vec4s, where N and every column block start are multiples of 4 (and, for a
// low-rank term with q_trans 0, lr_k too): the S slices' loads are vec4 (a quarter of the load instructions), and a
// low-rank term reads each P[m, j] once for the four columns and Q as vec4s, as matmul_short_k / lora_forward do,
// where the scalar pass read P and Q once an output (on an H100 that made the folded terms cost more than the
// dispatches they saved: BENCHMARKS.md, nineteenth session).
//
// The same sums as matmul_forward_splitk.wgsl in the same order (slices s = 0..S-1), except the low-rank term's: its
// Σ_j runs as dot products of four j at a time (q_trans 0) or four columns' FMAs in j order (q_trans 1), so it may
// round differently in the last bits.
//
// legend: M rows, N columns (N % 4 == 0), S number of K ranges, z batch index; MN = M·N
// bindings (group 0), as matmul_forward_splitk.wgsl with the [.., N]-shaped ones read as vec4:
//   0 uniform  U (matmul_forward_splitk.wgsl's)
//   1 read     partial: [batch, S, M, N] f32 as vec4
//   2 read     bias:    [N] f32 as vec4 (read only when has_bias)
//   3 read     P:       [M, p_stride] f32 (read only when lr_k > 0)
//   4 read     Q:       [N, lr_k] or [lr_k, N] f32 as vec4 (read only when lr_k > 0; lr_k % 4 == 0 when q_trans 0)
//   5 read     addend:  [batch, M, N] f32 as vec4 (read only when has_addend)
//   6 storage  out:     [batch, M, N] f32 as vec4 (read too when accumulate)
// dispatch: grid1d(ceil(batch·M·N / 4 / 256)) workgroups of 256; vec4 i = (wid.x + wid.y·nwg.x)·256 + lane
// reference: matmul_forward.ref.ts (matmulRef)

struct U {
  MN: u32, total: u32, S: u32, N: u32,
  alpha: f32, has_bias: u32, accumulate: u32, lr_k: u32,
  lr_alpha: f32, p_stride: u32, p_offset: u32, q_trans: u32,
  seg1: u32, seg2: u32, has_addend: u32,
}

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> partial: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bias: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> P: array<f32>;
@group(0) @binding(4) var<storage, read> Q: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> addend: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> out: array<vec4<f32>>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) t: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + t;     // vec4 index: outputs 4i..4i+3 of [z, m, n] flattened
  if (4u * i >= u.total) { return; }
  let MN4 = u.MN / 4u;
  let z = i / MN4;
  let r = i % MN4;                                  // vec4 [m, n/4] within the slice
  let p0 = z * u.S * MN4 + r;                       // partial[z, 0, m, n..n+3]
  var s = vec4(0.0);
  for (var k = 0u; k < u.S; k++) { s += partial[p0 + k * MN4]; }  // fixed order: s = 0..S-1
  var x = u.alpha * s;
  let N4 = u.N / 4u;
  if (u.has_bias != 0u) { x += bias[r % N4]; }
  if (u.accumulate != 0u) { x += out[i]; }
  if (u.has_addend != 0u) { x += addend[i]; }
  if (u.lr_k != 0u) {
    let m = r / N4;
    let n = 4u * (r % N4);                          // the first of the four columns (all in one block: starts % 4 == 0)
    let blk = select(0u, 1u, u.seg1 != 0u && n >= u.seg1) + select(0u, 1u, u.seg2 != 0u && n >= u.seg2);
    let pr = m * u.p_stride + u.p_offset + blk * u.lr_k; // P[m, its block's first j]
    var l = vec4(0.0);
    if (u.q_trans == 0u) {
      // Q [N, k]: column c's row n + c, four j at a time
      let K4 = u.lr_k / 4u;
      let q0 = n * K4;
      for (var j4 = 0u; j4 < K4; j4++) {
        let pv = vec4(P[pr + 4u * j4], P[pr + 4u * j4 + 1u], P[pr + 4u * j4 + 2u], P[pr + 4u * j4 + 3u]);
        l += vec4(dot(pv, Q[q0 + j4]), dot(pv, Q[q0 + K4 + j4]), dot(pv, Q[q0 + 2u * K4 + j4]), dot(pv, Q[q0 + 3u * K4 + j4]));
      }
    } else {
      // Q [k, N]: row j's columns n..n+3 as one vec4
      for (var j = 0u; j < u.lr_k; j++) { l += P[pr + j] * Q[j * N4 + n / 4u]; }
    }
    x += u.lr_alpha * l;
  }
  out[i] = x;
}
