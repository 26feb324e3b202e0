// adamw — one torch.optim.AdamW step (decoupled weight decay), elementwise, in place on p, m, v.
//
// Per element, in torch's _single_tensor_adam order (f32 like torch on f32 tensors; the scalars
// below are computed by the host in float64, as Python does, then rounded to f32):
//   g  = grad · clip[clip_index]                    (only when use_clip: coefficient from grad_norm)
//   p  = p · (1 − lr·wd)                            param.mul_(1 − lr·weight_decay)
//   m  = lerp(m, g, 1 − β1)                         exp_avg.lerp_(grad, 1 − beta1), torch's two-branch lerp
//   v  = v·β2 + ((1 − β2)·g)·g                      exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 − beta2)
//   denom = sqrt(v) / sqrt(1 − β2^t) + eps          (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
//   p  = p + (−lr / (1 − β1^t)) · (m / denom)       param.addcdiv_(exp_avg, denom, value=−step_size)
//
// bindings (group 0):
//   0 uniform  U { n: u32, wd_factor: f32 (1 − lr·wd), lerp_w: f32 (1 − β1), beta2: f32,
//                  one_minus_beta2: f32, neg_step_size: f32 (−lr / (1 − β1^t)),
//                  bc2_sqrt: f32 (sqrt(1 − β2^t)), eps: f32, use_clip: u32, clip_index: u32, _pad ×2 }
//   1 read     grad: [n] f32 (any shape, flat)
//   2 read     clip: [1] or [2] f32; element clip_index multiplies grad (bound to grad when unused)
//   3 storage  p:    [n] f32 parameters (updated in place)
//   4 storage  m:    [n] f32 first moment, exp_avg (in place)
//   5 storage  v:    [n] f32 second moment, exp_avg_sq (in place)
// dispatch: grid1d(ceil(n / 256)) workgroups of 256; i = (wid.x + wid.y·nwg.x)·256 + lid.
// reference: adamw.ref.ts (adamwRef)

struct U {
  n: u32,
  wd_factor: f32,
  lerp_w: f32,
  beta2: f32,
  one_minus_beta2: f32,
  neg_step_size: f32,
  bc2_sqrt: f32,
  eps: f32,
  use_clip: u32,
  clip_index: u32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read> clip: array<f32>;
@group(0) @binding(3) var<storage, read_write> p: array<f32>;
@group(0) @binding(4) var<storage, read_write> m: array<f32>;
@group(0) @binding(5) var<storage, read_write> v: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i >= u.n) { return; }

  var g = grad[i];
  if (u.use_clip != 0u) { g = g * clip[u.clip_index]; } // clip_grad_norm_ scales the grads in place first

  // decoupled weight decay, before the moments (torch applies it first; wd = 0 gives factor 1 exactly)
  let pw = p[i] * u.wd_factor;

  // torch.lerp: weight < 0.5 → a + w·(b − a), else b − (b − a)·(1 − w)  (β1 = 0.9 takes the first)
  let m0 = m[i];
  let w = u.lerp_w;
  let m1 = select(g - (g - m0) * (1.0 - w), m0 + w * (g - m0), abs(w) < 0.5);

  // addcmul: self + value·t1·t2, evaluated (value·t1)·t2
  let v1 = v[i] * u.beta2 + (u.one_minus_beta2 * g) * g;

  let denom = sqrt(v1) / u.bc2_sqrt + u.eps;
  p[i] = pw + u.neg_step_size * (m1 / denom); // addcdiv: self + value·(t1 / t2)
  m[i] = m1;
  v[i] = v1;
}
