// grad_norm — global L2 norm of a list of gradient tensors and the clip coefficient, as
// torch.nn.utils.clip_grad_norm_: total_norm = sqrt(Σ_tensors Σ g²),
// clip_coef = min(max_norm / (total_norm + 1e-6), 1). Entirely on the GPU, deterministic.
//
// Two entry points share this module and one binding layout (src, dst change meaning):
//   `partial`  (one dispatch per gradient tensor): workgroup w of W writes Σ g² over its grid-stride
//              share of the tensor into partials[offset + w].
//   `finalize` (one dispatch of 1 workgroup, after all partials): reduces partials[0..P) and
//              writes out = [total_norm, clip_coef].
//
// bindings (group 0):
//   0 uniform  U { n: u32, offset: u32, max_norm: f32, clip_on: u32 }
//              partial:  n = numel of this gradient, offset = its first slot in partials
//              finalize: n = P (number of partials), max_norm, clip_on = 0 → clip_coef = 1
//   1 read     src: partial: g [n] f32 (any shape, flat) | finalize: partials [P] f32
//   2 storage  dst: partial: partials [P] f32          | finalize: out [2] f32 = [total_norm, clip_coef]
// dispatch: partial: W = min(ceil(n / (256·BLOCK)), 1024) workgroups of 256 (W depends on n only,
//           so the summation order, and the result, are the same every run); finalize: 1 workgroup.
// The host prepends workgroup_reduce_common.wgsl (WG, wg_sum).
// reference: grad_norm.ref.ts (gradNormClipRef)
//
// Non-finite gradients: NaN² = NaN and Inf² = Inf propagate through the sums, so total_norm is NaN or
// Inf and the trainer can skip the step. Like torch: clip_coef = NaN for a NaN norm, 0 for an Inf norm
// (max_norm / Inf), and 1 whenever clipping is off. Σ g² is f32 (as torch for f32 grads): it
// overflows to Inf once the norm exceeds ~1.8e19.

const BLOCK: u32 = 16u;

struct U { n: u32, offset: u32, max_norm: f32, clip_on: u32 }

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

// NaN test on the bits: immune to compilers that assume no NaNs in float compares.
fn is_nan(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

@compute @workgroup_size(256)
fn partial(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let stride = nwg.x * WG; // grid-stride over the tensor
  var acc = 0.0;
  var i = wid.x * WG + lid;
  loop {
    if (i >= u.n) { break; }
    // blocked: BLOCK squares summed before joining the running total (error ~ (BLOCK + n/(stride·BLOCK)) ulp)
    var blk = 0.0;
    for (var j = 0u; j < BLOCK && i < u.n; j++) {
      let g = src[i];
      blk += g * g;
      i += stride;
    }
    acc += blk;
  }
  let s = wg_sum(lid, acc);
  if (lid == 0u) { dst[u.offset + wid.x] = s; }
}

@compute @workgroup_size(256)
fn finalize(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  var i = lid;
  loop {
    if (i >= u.n) { break; }
    var blk = 0.0;
    for (var j = 0u; j < BLOCK && i < u.n; j++) {
      blk += src[i];
      i += WG;
    }
    acc += blk;
  }
  let total = wg_sum(lid, acc); // Σ over every gradient of Σ g²
  if (lid == 0u) {
    let norm = sqrt(total);
    var coef = 1.0;
    if (u.clip_on != 0u) {
      // torch: clamp(max_norm / (norm + 1e-6), max=1); clamp keeps NaN, WGSL min() may not
      let c = u.max_norm / (norm + 1e-6);
      coef = select(min(c, 1.0), c, is_nan(c));
    }
    dst[0] = norm;
    dst[1] = coef;
  }
}
