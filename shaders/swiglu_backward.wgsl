// swiglu_backward — gradients of out = silu(gate)·up, elementwise (activation gradients: overwritten)
//   s = sigmoid(g);  dup = dout·silu(g) = dout·g·s;  dgate = dout·up·s·(1 + g·(1 − s))
//
// Fused (F > 0): gate and up are the column halves of gu [N, 2F] (bound to both), and dgate, dup go into the column
// halves of dgu [N, 2F], bound at dgate (WebGPU allows no two writable bindings of one buffer; dup's binding is then
// a spare, unused): the gradient of the one gate|up product (swiglu_forward.wgsl's fused form).
//
// bindings (group 0):
//   0 uniform  U { n: u32, F: u32, _pad1: u32, _pad2: u32 }   (F = 0: apart)
//   1 read     gate:  [N, F] f32, or gu [N, 2F]
//   2 read     up:    [N, F] f32, or gu
//   3 read     dout:  [N, F] f32
//   4 storage  dgate: [N, F] f32, or dgu [N, 2F]
//   5 storage  dup:   [N, F] f32, or a spare (fused)
// dispatch: grid1d(ceil(n / 256)) workgroups of 256; i = (wid.x + wid.y * nwg.x) * 256 + lid
// The host prepends swiglu_halves.wgsl (halves).
// reference: swiglu_backward.ref.ts (swigluBackwardRef)
//
// s and 1 − s = sigmoid(−g) both come from e = exp(−|g|) ∈ (0, 1]: no overflow for any finite g
// (exp(g) / (1 + exp(g)) would give Inf/Inf = NaN at g = 1e4), and 1 − s keeps its precision for
// large g instead of rounding to 0 (harmless at 1e-5, but free).

struct U { n: u32, F: u32, _pad1: u32, _pad2: u32 }

const WG = 256u;

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> gate: array<f32>;
@group(0) @binding(2) var<storage, read> up: array<f32>;
@group(0) @binding(3) var<storage, read> dout: array<f32>;
@group(0) @binding(4) var<storage, read_write> dgate: array<f32>;
@group(0) @binding(5) var<storage, read_write> dup: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= u.n) { return; }
  let at = halves(i, u.F); // gate's and up's element i (swiglu_halves.wgsl)
  let gi = at.x;
  let ui = at.y;
  let g = gate[gi];
  let e = exp(-abs(g)); // (0, 1]
  let big = 1.0 / (1.0 + e); // sigmoid(|g|)
  let small = e / (1.0 + e); // sigmoid(−|g|)
  let s = select(small, big, g >= 0.0); // sigmoid(g)
  let sm = select(big, small, g >= 0.0); // 1 − sigmoid(g)
  let d = dout[i];
  let dg = d * up[ui] * s * (1.0 + g * sm);
  let du = d * (g * s);
  dgate[gi] = dg; // [N, F], or dgu's gate half
  if (u.F != 0u) { dgate[ui] = du; } else { dup[i] = du; } // dgu's up half, or [N, F]
}
