// dropout — inverted dropout with a counter-based mask (no RNG state on the GPU, no mask tensor):
//   out[i] = (accumulate ? out[i] : 0) + x[i] · keep(i) / (1 − p),   keep(i) = mix(i, seed) >= threshold
// The same (seed, i) always gives the same keep bit, so the backward (and a recomputed forward)
// rebuilds the forward's mask by calling this kernel again with the same seed: d x = dropout(d out).
// keep(i) holds with probability 1 − threshold / 2^32 = 1 − p (threshold = round(p · 2^32)).
//
// bindings (group 0):
//   0 uniform  U { n: u32, seed_lo: u32, seed_hi: u32, threshold: u32, inv_keep: f32, accumulate: u32, _p0: u32, _p1: u32 }
//   1 read     x:   [n] f32
//   2 storage  out: [n] f32   (read when accumulate; must not alias x)
// dispatch: grid1d(ceil(n / 256)) workgroups of 256
// reference: dropout.ref.ts (dropoutRef, keepBit: the same hash in TypeScript)

struct U { n: u32, seed_lo: u32, seed_hi: u32, threshold: u32, inv_keep: f32, accumulate: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

// lowbias32 (C. Wellons' hash prospector): a full-avalanche 32-bit integer hash
fn hash32(v: u32) -> u32 {
  var h = v;
  h ^= h >> 16u;
  h *= 0x7feb352du;
  h ^= h >> 15u;
  h *= 0x846ca68bu;
  h ^= h >> 16u;
  return h;
}

// element i's draw: two rounds keyed by both seed words (seed_hi separates layers/targets)
fn draw(i: u32) -> u32 {
  return hash32(hash32(i ^ u.seed_lo) + u.seed_hi);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i >= u.n) { return; }
  var v = 0.0;
  if (draw(i) >= u.threshold) { v = x[i] * u.inv_keep; }
  if (u.accumulate != 0u) { v += out[i]; }
  out[i] = v;
}
