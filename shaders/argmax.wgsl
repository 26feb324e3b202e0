// argmax — index of the largest value of each row (greedy decoding on the GPU, so the next step can be
// recorded before this one's logits reach the CPU). Ties → the smallest index (torch.argmax). NaN
// entries are skipped (a row of only NaN gives 0); the reference does the same.
//
// bindings (group 0):
//   0 uniform  U { V: u32, rows: u32 }
//   1 read     x:   [rows, V] f32
//   2 storage  out: [rows] i32
// dispatch: [rows] workgroups of 256; each strides over its row, then a tree reduction in workgroup memory
// reference: argmax.ref.ts (argmaxRef)

struct U { V: u32, rows: u32, _p0: u32, _p1: u32 }

const WG = 256u;
const NEG_BIG = -3.402823e+38;

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<i32>;

var<workgroup> best_v: array<f32, WG>;
var<workgroup> best_i: array<u32, WG>;

// (v, i) beats (w, j) when larger, or equal with a smaller index
fn better(v: f32, i: u32, w: f32, j: u32) -> bool {
  return v > w || (v == w && i < j);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x;
  if (row >= u.rows) { return; } // uniform per workgroup: no barrier below is skipped by part of it
  let base = row * u.V;
  var bv = NEG_BIG;
  var bi = 0xffffffffu; // "none yet": loses every tie
  for (var j = lid; j < u.V; j += WG) {
    let v = x[base + j];
    if (v == v && better(v, j, bv, bi)) { // v == v is false for NaN
      bv = v;
      bi = j;
    }
  }
  best_v[lid] = bv;
  best_i[lid] = bi;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s && better(best_v[lid + s], best_i[lid + s], best_v[lid], best_i[lid])) {
      best_v[lid] = best_v[lid + s];
      best_i[lid] = best_i[lid + s];
    }
    workgroupBarrier();
  }
  if (lid == 0u) { out[row] = i32(select(best_i[0], 0u, best_i[0] == 0xffffffffu)); }
}
