// swiglu_forward — out = silu(gate) · up, silu(g) = g·sigmoid(g), elementwise (Llama/Qwen2 MLP)
//
// Fused (F > 0): gate and up are the two column halves of one product's rows gu [N, 2F] (x·[Wgate; Wup]ᵀ, one
// matmul for both), bound to both bindings: gate = gu[r, c], up = gu[r, F + c] for output i = r·F + c.
//
// bindings (group 0):
//   0 uniform  U { n: u32, F: u32, _pad1: u32, _pad2: u32 }   (F = 0: gate and up apart)
//   1 read     gate: [N, F] f32   (any shape; n = numel), or gu [N, 2F]
//   2 read     up:   [N, F] f32,  or gu again
//   3 storage  out:  [N, F] f32
// dispatch: grid1d(ceil(n / 256)) workgroups of 256; i = (wid.x + wid.y * nwg.x) * 256 + lid
// The host prepends swiglu_halves.wgsl (halves).
// reference: swiglu_forward.ref.ts (swigluForwardRef)
//
// sigmoid from e = exp(−|g|) ∈ (0, 1]: exp never overflows, so |g| up to 3e38 gives no Inf/NaN
// (g = −1e4: sigmoid = 0, silu = −0; g = 1e4: sigmoid = 1, silu = g).

struct U { n: u32, F: u32, _pad1: u32, _pad2: u32 }

const WG = 256u;

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> gate: array<f32>;
@group(0) @binding(2) var<storage, read> up: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn sigmoid(g: f32) -> f32 {
  let e = exp(-abs(g)); // (0, 1]
  return select(e / (1.0 + e), 1.0 / (1.0 + e), g >= 0.0);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= u.n) { return; }
  let at = halves(i, u.F); // gate's and up's element i (swiglu_halves.wgsl)
  let gi = at.x;
  let ui = at.y;
  let g = gate[gi];
  out[i] = g * sigmoid(g) * up[ui]; // [N, F]
}
