// rmsnorm_forward — y = x / sqrt(mean(x²) + eps) · w, per row (transformers LlamaRMSNorm, in f32)
//
// bindings (group 0):
//   0 uniform  U { N: u32, C: u32, eps: f32, _pad: u32 }
//   1 read     x:    [N, C] f32
//   2 read     w:    [C]    f32, or f16/bf16 packed two per u32 (W_DTYPE says which)
//   3 storage  y:    [N, C] f32
//   4 storage  rstd: [N]    f32, 1/sqrt(mean(x²) + eps), saved for rmsnorm_backward
// override W_DTYPE: 0 = f32, 1 = f16, 2 = bf16
// dispatch: grid1d(N) workgroups of 256, one workgroup per row; row = wid.x + wid.y * nwg.x
// reference: rmsnorm_forward.ref.ts (rmsnormForwardRef)
//
// Overflow: x² overflows f32 once |x| > 1.8e19, and the row sum already at |x| ≈ 2.9e17 for C = 4096
// (torch in f32 then gives rstd = 0, y = 0). Here the row is first scaled by 2^-e with 2^e > max|x|
// (exact: a power of two), so each square is < 1 and the sum < C. Rows with max|x| < 1 are not
// scaled (e = 0), so eps·2^-2e never overflows. Non-finite x: the row gives NaN/0 as torch does.

struct U { N: u32, C: u32, eps: f32, _pad: u32 }

override W_DTYPE: u32 = 0u;
const WG = 256u;

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> rstd: array<f32>;

var<workgroup> red: array<f32, WG>;

// w[j] as f32, whatever its storage type (halves: element 2i in the low 16 bits of word i)
fn load_w(j: u32) -> f32 {
  if (W_DTYPE == 0u) { return bitcast<f32>(w[j]); }
  let word = w[j >> 1u];
  if (W_DTYPE == 1u) { return unpack2x16float(word)[j & 1u]; }
  // bf16 is the high half of an f32
  return bitcast<f32>(select(word << 16u, word & 0xffff0000u, (j & 1u) == 1u));
}

// Tree reduction over the workgroup (max or sum); every invocation gets the result.
// Fixed order, so the result is the same on every run.
fn reduce(v: f32, lid: u32, is_max: bool) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = select(red[lid] + red[lid + s], max(red[lid], red[lid + s]), is_max); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier(); // red is reused by the next reduction
  return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= u.N) { return; } // uniform over the workgroup: the barriers below stay legal
  let base = row * u.C;

  // pass 1: m = max|x| over the row → scale exponent e, 2^(e-1) <= m < 2^e
  var m = 0.0;
  for (var j = lid; j < u.C; j += WG) { m = max(m, abs(x[base + j])); }
  m = reduce(m, lid, true);
  var e = 0i;
  if (m >= 1.0 && m <= 3.402823e+38) { e = frexp(m).exp; }

  // pass 2: q = mean((x·2^-e)²), each square < 1
  var s = 0.0;
  for (var j = lid; j < u.C; j += WG) {
    let v = ldexp(x[base + j], -e);
    s += v * v;
  }
  let q = reduce(s, lid, false) / f32(u.C);

  // 1/sqrt(mean(x²) + eps) = 2^-e / sqrt(q + eps·2^-2e)
  let inv = inverseSqrt(q + ldexp(u.eps, -2 * e));
  if (lid == 0u) { rstd[row] = ldexp(inv, -e); }

  // pass 3: y = (x·2^-e)·inv·w — not x·rstd, since rstd underflows for |x| near the f32 maximum
  for (var j = lid; j < u.C; j += WG) {
    y[base + j] = ldexp(x[base + j], -e) * inv * load_w(j); // [N, C]
  }
}
