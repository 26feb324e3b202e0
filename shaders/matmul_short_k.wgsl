// matmul_short_k — C[M, N] (+)= alpha · T[M, r] · W[r, N] for a short reduction (r <= 64): LoRA's dx += dxa·A, a
// memory-bound read-modify-write of C. One invocation per vec4 of C: r products of a T value (the row's r values
// are shared by its invocations) and a vec4 of W, then one vec4 load and store of C. The tiled matmuls ran this
// shape as 64x64 tiles of 64 invocations, each adding 64 values into C one by one: 21 µs a [1024, 896] product in
// the H100's stream, for 7 MB of traffic.
//
// legend: M rows, N columns (a multiple of 4), r the reduction
// bindings (group 0):
//   0 uniform  U { M: u32, N: u32, r: u32, alpha: f32, accumulate: u32 }
//   1 read     t:   [M, r] f32
//   2 read     w:   [r, N] f32 as vec4 rows
//   3 storage  out: [M, N] f32 as vec4 (read too when accumulate)
// dispatch: [ceil(N / 4 / 64), M] workgroups of 64: workgroup (x, m) owns vec4 64x .. 64x+63 of row m
// reference: matmul_short_k.ref.ts (matmulShortKRef)
// Each output sums j = 0 .. r-1 in order: deterministic.

struct U {
  M: u32,
  N: u32,
  r: u32,
  alpha: f32,
  accumulate: u32,
}

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> t: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) i: u32) {
  let N4 = u.N / 4u;
  let n4 = 64u * wid.x + i;
  let m = wid.y;
  if (n4 >= N4 || m >= u.M) { return; }
  var acc = vec4(0.0);
  for (var j = 0u; j < u.r; j++) {
    acc += t[m * u.r + j] * w[j * N4 + n4];
  }
  let o = m * N4 + n4;
  var x = u.alpha * acc;
  if (u.accumulate != 0u) { x += out[o]; }
  out[o] = x;
}
