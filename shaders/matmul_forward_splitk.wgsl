// matmul_forward (version 'splitk', second pass) — out[z, m, n] = alpha · Σ_s partial[z, s, m, n]
// + bias[n] (+ out[z, m, n] if accumulate).
//
// The first pass is the tiled kernel (matmul_forward_tiled.wgsl) with splits = S: each of its
// workgroups sums one K range of one tile into its slice of `partial`. This pass adds the S slices
// in index order s = 0, 1, ..., S-1, so the result does not depend on scheduling (deterministic),
// and applies the epilogue the first pass left out. One invocation per output element: neighbours
// read neighbouring addresses of each slice (coalesced); the S loads are independent.
//
// legend: M rows, N columns, S number of K ranges, z batch index; MN = M·N
// bindings (group 0):
//   0 uniform  U (below)
//   1 read     partial: [batch, S, M, N] f32 (raw sums of each K range, no alpha)
//   2 read     bias:    [N] f32 (read only when has_bias)
//   3 storage  out:     [batch, M, N] f32 (read too when accumulate)
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
  _pad0: u32,
}

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

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
  out[i] = x;
}
