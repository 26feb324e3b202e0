// matmul_forward (version 1, naive) — C[z] = alpha · op(A[z]) · op(B[z]) + bias (+ C[z] if accumulate)
//
// One invocation per output element; a plain K loop in f32. Every option is a uniform (runtime
// branch), so one pipeline serves all cases. Slow but obviously right: the tiled kernel is checked
// against the same reference, and this one is the fallback for tiny shapes.
//
// legend: M rows of C, N columns of C, K reduction length, z batch index (0 <= z < batch)
// bindings (group 0):
//   0 uniform  U (below)
//   1 read     a:    [batch, M, K] f32, or [batch, K, M] when trans_a
//   2 read     b:    [batch|1, K, N], or [batch|1, N, K] when trans_b; dtype by b_kind:
//                    0 f32 (bits, bitcast), 1 f16, 2 bf16 (two halves per u32, element 2i in the low half)
//                    b_stride = K*N between batches, 0 when B is broadcast over the batch
//   3 read     bias: [N] f32 (read only when has_bias; bound to any tensor otherwise)
//   4 storage  out:  [batch, M, N] f32 (read too when accumulate)
// dispatch: [ceil(N / 16), ceil(M / 16), batch] workgroups of 16x16; x → column n, y → row m, z → batch
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

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<u32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

// Element e of B (flat index, batch offset included) as f32, whatever its storage dtype.
fn load_b(e: u32) -> f32 {
  if (u.b_kind == 0u) { return bitcast<f32>(b[e]); }
  let w = b[e >> 1u];            // the word holding elements 2i (low half) and 2i+1 (high half)
  let hi = (e & 1u) == 1u;
  if (u.b_kind == 1u) {
    let p = unpack2x16float(w);  // f16 → f32 exactly
    return select(p.x, p.y, hi);
  }
  // bf16 is the top half of an f32: move it there (low half) or mask the low bits away (high half)
  return bitcast<f32>(select(w << 16u, w & 0xffff0000u, hi));
}

@compute @workgroup_size(16, 16)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let n = gid.x;
  let m = gid.y;
  let z = gid.z;
  if (m >= u.M || n >= u.N) { return; }
  let a_off = z * u.M * u.K;     // start of A[z]
  let b_off = z * u.b_stride;    // start of B[z] (0 when broadcast)
  var acc = 0.0;
  for (var k = 0u; k < u.K; k++) {
    // op(A)[m, k] and op(B)[k, n] in their stored layouts
    let ia = select(m * u.K + k, k * u.M + m, u.trans_a != 0u);
    let ib = select(k * u.N + n, n * u.K + k, u.trans_b != 0u);
    acc += a[a_off + ia] * load_b(b_off + ib);
  }
  let o = (z * u.M + m) * u.N + n;  // out[z, m, n]
  var v = u.alpha * acc;
  if (u.has_bias != 0u) { v += bias[n]; }
  if (u.accumulate != 0u) { v += out[o]; }
  out[o] = v;
}
