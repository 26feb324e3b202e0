// cross_entropy_backward — gradient of the mean cross-entropy (cross_entropy_forward) w.r.t. logits.
//
//   dlogits_ij = (softmax(logits_i)_j − [j == t_i]) · grad_scale / count   for counted rows,
//   dlogits_ij = 0     for ignored rows (t_i == -100), and every row when count == 0,
//   dlogits_ij = NaN   for a target outside [0, V) that is not -100 (the forward's NaN row).
// Activation gradient: overwrites dlogits (=), never accumulates.
//
// bindings (group 0):
//   0 uniform  U { n_rows: u32 (N), vocab: u32 (V), grad_scale: f32, nan: f32 (quiet NaN from host) }
//   1 read     logits:  [N, V] f32, row-major
//   2 read     targets: [N] i32 (class index or -100)
//   3 read     lse:     [N] f32   logsumexp per row, from cross_entropy_forward
//   4 read     count:   [1] u32   counted rows, from cross_entropy_forward
//   5 storage  dlogits: [N, V] f32 (may not alias logits)
// dispatch: grid1d(N) workgroups of 256, one workgroup per row (row = wid.x + wid.y·nwg.x).
// entry points: `main`, and `main4` for V % 4 == 0 (every real vocabulary): the same arithmetic per element on
//   vec4 loads and stores (the same buffers through vec4 views), the exact path as the forward's `rows4`.
// reference: cross_entropy_backward.ref.ts (crossEntropyBackwardRef)
//
// Numerics: softmax = exp(x − lse), as torch's log_softmax backward does. Its relative error is the
// rounding of lse (≤ ½ ulp(lse)) plus exp's. For |lse| ≥ LSE_EXACT that rounding would exceed
// ~2e-6 (and for lse ≈ 1e30 it loses log Σ entirely: all-equal rows would give p = 1, not 1/V), so
// such rows recompute max and Σ exp(x − max) from the logits exactly as the forward does (two more
// reads of the row, cross_entropy_rows_common.wgsl, prepended by the host) and use p = exp(x − max) / Σ.
// Real model logits stay on the one-read path.
const LSE_EXACT: f32 = 64.0; // |lse| < 64 → ulp(lse) ≤ 2^-18, rounding ≤ 1.9e-6 relative on p

struct U { n_rows: u32, vocab: u32, grad_scale: f32, nan: f32 }

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read> lse: array<f32>;
@group(0) @binding(4) var<storage, read> count: array<u32>;
@group(0) @binding(5) var<storage, read_write> dlogits: array<f32>;
@group(0) @binding(1) var<storage, read> logits4: array<vec4<f32>>;          // the same buffers as vec4, for `main4`
@group(0) @binding(5) var<storage, read_write> dlogits4: array<vec4<f32>>;

var<workgroup> sh_t: i32;            // this row's target, broadcast so branches on it stay uniform
var<workgroup> sh_lse: f32;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= u.n_rows) { return; }
  let V = u.vocab;
  let base = row * V; // start of row `row` in logits and dlogits

  if (lid == 0u) {
    sh_t = targets[row];
    sh_lse = lse[row];
  }
  // workgroupUniformLoad: a barrier plus a value the uniformity analysis knows is uniform,
  // so the early returns and the reductions in the branch below are legal
  let t = workgroupUniformLoad(&sh_t);
  let l = workgroupUniformLoad(&sh_lse);

  if (t == IGNORE) {
    for (var i = lid; i < V; i += WG) { dlogits[base + i] = 0.0; }
    return;
  }
  if (t < 0 || u32(t) >= V) {
    for (var i = lid; i < V; i += WG) { dlogits[base + i] = u.nan; }
    return;
  }
  let tt = u32(t);
  let c = count[0];
  let scale = select(0.0, u.grad_scale / f32(c), c > 0u); // c == 0 only if every row is ignored

  if (abs(l) < LSE_EXACT) {
    // one read of the row: p = exp(x − lse)
    for (var i = lid; i < V; i += WG) {
      let p = exp(logits[base + i] - l);
      dlogits[base + i] = (p - select(0.0, 1.0, i == tt)) * scale;
    }
  } else {
    // huge |lse| (or NaN): recompute max and Σ exactly like the forward, p = exp(x − m) / Σ
    let m = row_max(lid, base, V);
    let inv_s = 1.0 / row_sumexp(lid, base, V, m);
    for (var k = lid; k < V; k += WG) {
      let p = exp(logits[base + k] - m) * inv_s;
      dlogits[base + k] = (p - select(0.0, 1.0, k == tt)) * scale;
    }
  }
}

// onehot(tt) over the 4 classes 4·i .. 4·i + 3
fn hot4(i: u32, tt: u32) -> vec4<f32> {
  return select(vec4(0.0), vec4(1.0), vec4(4u * i) + vec4(0u, 1u, 2u, 3u) == vec4(tt));
}

@compute @workgroup_size(256)
fn main4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= u.n_rows) { return; }
  let V = u.vocab;
  let V4 = V / 4u;
  let base4 = row * V4;

  if (lid == 0u) {
    sh_t = targets[row];
    sh_lse = lse[row];
  }
  let t = workgroupUniformLoad(&sh_t);
  let l = workgroupUniformLoad(&sh_lse);

  if (t == IGNORE) {
    for (var i = lid; i < V4; i += WG) { dlogits4[base4 + i] = vec4(0.0); }
    return;
  }
  if (t < 0 || u32(t) >= V) {
    for (var i = lid; i < V4; i += WG) { dlogits4[base4 + i] = vec4(u.nan); }
    return;
  }
  let tt = u32(t);
  let c = count[0];
  let scale = select(0.0, u.grad_scale / f32(c), c > 0u);

  if (abs(l) < LSE_EXACT) {
    for (var i = lid; i < V4; i += WG) {
      let p = exp(logits4[base4 + i] - vec4(l));
      dlogits4[base4 + i] = (p - hot4(i, tt)) * scale;
    }
  } else {
    let m = row_max4(lid, base4, V4);
    let inv_s = 1.0 / row_sumexp4(lid, base4, V4, m);
    for (var k = lid; k < V4; k += WG) {
      let p = exp(logits4[base4 + k] - vec4(m)) * inv_s;
      dlogits4[base4 + k] = (p - hot4(k, tt)) * scale;
    }
  }
}
