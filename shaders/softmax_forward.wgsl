// softmax_forward — out[r, :] = softmax(x[r, :]) over the last dim, numerically stable
//
// bindings (group 0):
//   0 uniform  U { rows: u32, n: u32 }   rows = numel / n, n = length of the last dim (1..150000+)
//   1 read     x:   [rows, n] f32   (any leading shape, flattened to rows)
//   2 storage  out: [rows, n] f32
// dispatch: grid1d(rows) workgroups of 256; workgroup w = wid.x + wid.y * nwg.x owns row w
// reference: softmax_forward.ref.ts (softmaxRef)
//
// Pass 1: each thread walks its strided elements keeping an online (max m, sum s of exp(x - m));
// the 256 pairs are merged by a tree reduction in workgroup memory. Pass 2 writes exp(x - m) / s.
// Every exp argument is <= 0, so nothing overflows even for ±1e30 or ±3.4e38 logits. A row whose
// entries are all -inf has s = 0 and is written as zeros (torch would give NaN).

struct U { rows: u32, n: u32 }

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

const WG: u32 = 256u;
const NEG_BIG: f32 = -3.402823e+38; // start value of the running max (never -inf: no inf - inf)

var<workgroup> sm_m: array<f32, WG>; // per-thread running max, then the tree-reduced max
var<workgroup> sm_s: array<f32, WG>; // per-thread sum of exp(x - m), rescaled as maxima merge

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  // uniform across the workgroup, so the early return keeps barriers in uniform control flow
  if (row >= u.rows) { return; }
  let base = row * u.n;

  // pass 1: online max and sum over x[row, lid], x[row, lid + 256], ...
  var m = NEG_BIG;
  var s = 0.0;
  for (var j = lid; j < u.n; j += WG) {
    let v = x[base + j];
    if (v > m) {
      s = s * exp(m - v) + 1.0; // rescale the old sum to the new max; exp(v - v) = 1
      m = v;
    } else {
      s += exp(v - m);
    }
  }
  sm_m[lid] = m;
  sm_s[lid] = s;
  workgroupBarrier();

  // tree reduction of (m, s) pairs: m = max(m1, m2), s = s1·e^(m1-m) + s2·e^(m2-m)
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) {
      let m1 = sm_m[lid];
      let m2 = sm_m[lid + stride];
      let mm = max(m1, m2);
      sm_s[lid] = sm_s[lid] * exp(m1 - mm) + sm_s[lid + stride] * exp(m2 - mm);
      sm_m[lid] = mm;
    }
    workgroupBarrier();
  }
  let row_max = sm_m[0];
  let row_sum = sm_s[0]; // >= 1 unless every entry is -inf

  // pass 2: normalise (a division, not a multiply by 1/s: one rounding instead of two)
  for (var j = lid; j < u.n; j += WG) {
    var p = 0.0;
    if (row_sum > 0.0) { p = exp(x[base + j] - row_max) / row_sum; }
    out[base + j] = p;
  }
}
