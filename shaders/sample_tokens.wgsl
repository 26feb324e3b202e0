// sample_tokens — one draw per row from softmax(x / T) on the GPU, so sampled decoding can feed each step's
// tokens to the next step without reading the logits back (generate's pipelined sampling). The draw is the
// CPU sampler's (src/engine/model/sampling.ts, Sampler.drawFull): an inverse CDF walked in id order,
// target = u · z with z = Σ exp((x − max) / T); the token is the first whose running sum passes the target
// (zero-weight tokens skipped; if rounding leaves the target unreached, the last token with weight).
// Also the drawn token's log-probability (x − max) / T − log z. f32 here, float64 in the reference: the
// token may differ where u falls within rounding of a CDF boundary; the log-prob to ~1e-6 of |log z|.
// NaN logits are skipped (weight 0), as the max skips them.
//
// bindings (group 0):
//   0 uniform  U { V: u32, rows: u32, chunk: u32 }
//   1 read     x:      [rows, V] f32  logits
//   2 read     params: [rows, 2] f32  per row: 1 / temperature, u ∈ [0, 1)
//   3 storage  tokens: [rows] i32
//   4 storage  logp:   [rows] f32
// dispatch: [rows] workgroups of 256. The max strides over the row; then invocation i sums the weights of
// its own chunk [i·chunk, (i+1)·chunk) into workgroup memory; invocation 0 walks the 256 chunk sums to the
// chunk that holds the target, then that chunk's weights to the token.
// reference: sample_tokens.ref.ts (sampleTokensRef)

struct U { V: u32, rows: u32, chunk: u32, _p0: u32 }

// WG (256), red and wg_max come from workgroup_reduce_common.wgsl, which sample_tokens.ts prepends
const NEG_BIG = -3.402823e+38;

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> params: array<f32>;
@group(0) @binding(3) var<storage, read_write> tokens: array<i32>;
@group(0) @binding(4) var<storage, read_write> logp: array<f32>;

// exp((v − mx) · inv_t), 0 for NaN
fn weight(v: f32, mx: f32, inv_t: f32) -> f32 {
  return select(0.0, exp((v - mx) * inv_t), v == v);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x;
  if (row >= u.rows) { return; } // uniform per workgroup
  let base = row * u.V;
  let inv_t = params[2u * row];
  let uu = params[2u * row + 1u];

  // 1. the row's max (NaN skipped)
  var m = NEG_BIG;
  for (var j = lid; j < u.V; j += WG) {
    let v = x[base + j];
    if (v == v) { m = max(m, v); }
  }
  let mx = wg_max(lid, m);

  // 2. each invocation's chunk sum of weights
  let lo = min(lid * u.chunk, u.V);
  let hi = min(lo + u.chunk, u.V);
  var s = 0.0;
  for (var j = lo; j < hi; j++) { s += weight(x[base + j], mx, inv_t); }
  red[lid] = s;
  workgroupBarrier();

  // 3. invocation 0: z, the chunk holding the target, then the token inside it
  if (lid == 0u) {
    var z = 0.0;
    for (var i = 0u; i < WG; i++) { z += red[i]; }
    let goal = uu * z;
    var acc = 0.0;
    var k = 0u; // the chunk: the first whose running sum passes the target, else the last with weight
    var found = false;
    for (var i = 0u; i < WG; i++) {
      if (red[i] <= 0.0) { continue; }
      k = i;
      if (acc + red[i] > goal) { found = true; break; }
      acc += red[i];
    }
    var left = goal - acc;
    let c0 = min(k * u.chunk, u.V);
    let c1 = min(c0 + u.chunk, u.V);
    var tok = c0;
    for (var j = c0; j < c1; j++) {
      let w = weight(x[base + j], mx, inv_t);
      if (w <= 0.0) { continue; }
      tok = j;
      left -= w;
      if (found && left < 0.0) { break; }
    }
    tokens[row] = i32(tok);
    logp[row] = (x[base + tok] - mx) * inv_t - log(z);
  }
}
