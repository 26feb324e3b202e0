// rmsnorm_backward — gradients of y = x·rstd·w, rstd = 1/sqrt(mean(x²) + eps), per row of C
//
// With xhat = x·rstd and g = w·dy (per element):
//   dx_j = rstd · (g_j − xhat_j · mean_k(xhat_k · g_k))        (activation gradient: overwritten)
//          (+ res_j when has_res: the residual stream's own gradient, the add a block's backward needs after it)
//   dw_j += Σ_rows dy_j · xhat_j                                (parameter gradient: accumulated)
// xhat is formed as x·rstd (O(1) after the product), so rows of huge |x| (1e18) stay finite; rstd itself
// must be a normal f32, i.e. max|x| below ~1e37 (beyond, GPUs may flush it to 0 and dx becomes 0).
//
// Three entry points, one KernelSpec each (their bindings overlap in number, never within one):
//
// main — dx, one workgroup of 256 per row; dispatch grid1d(N), row = wid.x + wid.y * nwg.x
//   0 uniform  U { N: u32, C: u32, rows_per_chunk: u32, n_chunks: u32, has_res: u32 }
//   1 read     x:    [N, C] f32
//   2 read     w:    [C]    f32 | f16 | bf16 (array<u32>, W_DTYPE as in rmsnorm_forward)
//   3 read     rstd: [N]    f32 (from rmsnorm_forward)
//   4 read     dy:   [N, C] f32
//   5 storage  dx:   [N, C] f32
//   6 read     res:  [N, C] f32 (read only when has_res)
// dw_partial — partial[k, j] = Σ over rows k·R .. k·R+R-1 (R = rows_per_chunk) of dy·xhat, rows in order
//   dispatch (ceil(C / 256), n_chunks); thread = column j = wid.x·256 + lid, chunk k = wid.y
//   0 uniform U; 1 read x [N, C]; 2 read rstd [N]; 3 read dy [N, C]; 4 storage partial [n_chunks, C] f32
// dw_reduce — dw[j] += Σ_k partial[k, j], k in order (deterministic: no atomics anywhere)
//   dispatch ceil(C / 256); 0 uniform U; 1 read partial [n_chunks, C]; 2 storage dw [C] f32
//
// reference: rmsnorm_backward.ref.ts (rmsnormBackwardRef)

struct U { N: u32, C: u32, rows_per_chunk: u32, n_chunks: u32, has_res: u32 }

override W_DTYPE: u32 = 0u;
const WG = 256u;

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<f32>;

// main
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> rstd: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
@group(0) @binding(6) var<storage, read> res: array<f32>;

// dw_partial
@group(0) @binding(2) var<storage, read> rstd_p: array<f32>;
@group(0) @binding(3) var<storage, read> dy_p: array<f32>;
@group(0) @binding(4) var<storage, read_write> partial: array<f32>;

// dw_reduce
@group(0) @binding(1) var<storage, read> partial_r: array<f32>;
@group(0) @binding(2) var<storage, read_write> dw: array<f32>;

var<workgroup> red: array<f32, WG>;

fn load_w(j: u32) -> f32 {
  if (W_DTYPE == 0u) { return bitcast<f32>(w[j]); }
  let word = w[j >> 1u];
  if (W_DTYPE == 1u) { return unpack2x16float(word)[j & 1u]; }
  return bitcast<f32>(select(word << 16u, word & 0xffff0000u, (j & 1u) == 1u)); // bf16
}

// Fixed-order tree sum over the workgroup; every invocation gets the result.
fn reduce_sum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  return red[0];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= u.N) { return; } // uniform over the workgroup
  let base = row * u.C;
  let r = rstd[row];

  // c = mean_k(xhat_k · w_k · dy_k)
  var s = 0.0;
  for (var j = lid; j < u.C; j += WG) { s += (x[base + j] * r) * load_w(j) * dy[base + j]; }
  let c = reduce_sum(s, lid) / f32(u.C);

  for (var j = lid; j < u.C; j += WG) {
    var g = r * (load_w(j) * dy[base + j] - (x[base + j] * r) * c); // [N, C]
    if (u.has_res != 0u) { g += res[base + j]; } // the same sum as add_scale(res, 1, g, 1): addition commutes exactly
    dx[base + j] = g;
  }
}

@compute @workgroup_size(WG)
fn dw_partial(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let j = wid.x * WG + lid;
  if (j >= u.C) { return; }
  let r0 = wid.y * u.rows_per_chunk;
  let r1 = min(r0 + u.rows_per_chunk, u.N);
  // neighbouring threads read neighbouring columns of one row: coalesced
  var acc = 0.0;
  for (var n = r0; n < r1; n++) { acc += dy_p[n * u.C + j] * (x[n * u.C + j] * rstd_p[n]); }
  partial[wid.y * u.C + j] = acc; // [n_chunks, C]
}

@compute @workgroup_size(WG)
fn dw_reduce(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let j = wid.x * WG + lid;
  if (j >= u.C) { return; }
  var acc = 0.0;
  for (var k = 0u; k < u.n_chunks; k++) { acc += partial_r[k * u.C + j]; }
  dw[j] += acc; // [C]
}
