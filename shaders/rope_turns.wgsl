// rope_turns — shared by the RoPE kernels (prepended to rope_forward.wgsl and rope_kv_write.wgsl by
// their host files; not a kernel on its own). Needs the including kernel to declare
//   @group(0) @binding(..) var<storage, read> tab: array<f32>;   // [half, 4] turn pieces, see rope_forward.wgsl
// and gives turns(p, i) = (p · inv_freq_i / 2π) mod 1 without forming p · inv_freq in f32.

const TAU = 6.283185307179586;

// (p · g_i) mod 1, in [0, 1). p = ph·4096 + pl with 0 <= pl < 4096, |ph| < 4096: both products exact.
fn turns(p: i32, i: u32) -> f32 {
  let ph = f32(p >> 12u) * 4096.0; // arithmetic shift: floor(p / 4096), also for p < 0
  let pl = f32(p & 4095);
  var s = 0.0;
  for (var k = 3i; k >= 0i; k--) { // smallest pieces first
    let g = tab[i * 4u + u32(k)];
    s = fract(s + fract(pl * g));
    s = fract(s + fract(ph * g));
  }
  return s;
}

// angle in [−π, π) of position p at frequency i
fn rope_angle(p: i32, i: u32) -> f32 {
  let t = turns(p, i);
  return (t - select(0.0, 1.0, t >= 0.5)) * TAU;
}
