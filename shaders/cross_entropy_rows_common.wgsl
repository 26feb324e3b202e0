// cross_entropy_rows_common — shared by cross_entropy_forward.wgsl, cross_entropy_backward.wgsl and
// policy_logit_grad.wgsl, prepended by their host files; not a kernel on its own. Needs the including kernel to
// declare the row's logits twice at one binding: `logits: array<f32>` (scalar entry points) and
// `logits4: array<vec4<f32>>` (the V % 4 == 0 ones).
//
// The two passes over a row that both kernels make, one workgroup of WG per row: its max, then Σ exp(x − max)
// (exp never overflows; a row of ±1e30 or all-equal logits stays exact in the log domain). The sum is blocked:
// each thread adds BLOCK strided terms (BLOCK4 vec4s, 4 terms summed pairwise each) into a block sum before adding
// that to its running total, then a 256-way tree joins the threads: error ≤ (BLOCK + ⌈V/(256·BLOCK)⌉ + 8) ulp of
// the sum (≈ 60 ulp ≈ 3.6e-6 relative at V = 151936, typically ≈ 1e-7).
// Its host also prepends workgroup_reduce_common.wgsl (WG, wg_max, wg_sum) before it. The reductions hold barriers:
// call them from workgroup-uniform control flow only.

const BLOCK: u32 = 16u;
const BLOCK4: u32 = 4u; // vec4 per block: 16 terms, as BLOCK scalars
const IGNORE: i32 = -100;
const NEG_BIG: f32 = -3.402823e+38;

// max of logits[base .. base + V) (coalesced: thread lid reads lid, lid+256, ...)
fn row_max(lid: u32, base: u32, V: u32) -> f32 {
  var mx = NEG_BIG;
  for (var i = lid; i < V; i += WG) { mx = max(mx, logits[base + i]); }
  return wg_max(lid, mx);
}

// Σ exp(logits[base + i] − m) over the row, each term in (0, 1] when m is its max; blocked (see header)
fn row_sumexp(lid: u32, base: u32, V: u32, m: f32) -> f32 {
  var acc = 0.0;
  var i = lid;
  loop {
    if (i >= V) { break; }
    var blk = 0.0;
    for (var j = 0u; j < BLOCK && i < V; j++) {
      blk += exp(logits[base + i] - m);
      i += WG;
    }
    acc += blk;
  }
  return wg_sum(lid, acc);
}

// row_max over logits4[base4 .. base4 + V4)
fn row_max4(lid: u32, base4: u32, V4: u32) -> f32 {
  var mx = NEG_BIG;
  for (var i = lid; i < V4; i += WG) {
    let x = logits4[base4 + i];
    mx = max(mx, max(max(x.x, x.y), max(x.z, x.w)));
  }
  return wg_max(lid, mx);
}

// row_sumexp over logits4[base4 .. base4 + V4)
fn row_sumexp4(lid: u32, base4: u32, V4: u32, m: f32) -> f32 {
  var acc = 0.0;
  var i = lid;
  loop {
    if (i >= V4) { break; }
    var blk = 0.0;
    for (var j = 0u; j < BLOCK4 && i < V4; j++) {
      let e = exp(logits4[base4 + i] - vec4(m));
      blk += (e.x + e.y) + (e.z + e.w);
      i += WG;
    }
    acc += blk;
  }
  return wg_sum(lid, acc);
}
