// add_scale — elementwise out[i] = alpha * a[i] + beta * b[i]  (add: 1,1; scale: s,0; axpy: s,1)
//
// bindings (group 0):
//   0 uniform  U { n: u32, alpha: f32, beta: f32, _pad: u32 }
//   1 read     a:   [n] f32
//   2 read     b:   [n] f32   (ignored when beta == 0, but must be bound)
//   3 storage  out: [n] f32   (must not alias a or b: WebGPU forbids a buffer bound read and read_write)
// dispatch: grid1d(ceil(n / 256)) workgroups of 256; linear id = gid.x + gid.y * 65535 * 256 (see kernel.ts grid1d)
// reference: add_scale.ref.ts (addScaleRef)

struct U { n: u32, alpha: f32, beta: f32, _pad: u32 }

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i >= u.n) { return; }
  // beta == 0 must not read b: `0 * NaN` would leak a NaN from an unrelated buffer
  var v = u.alpha * a[i];
  if (u.beta != 0.0) { v += u.beta * b[i]; }
  out[i] = v;
}
