// policy_logit_grad — the GRPO per-token objective (src/engine/rl/objective.ts, grpoObjective) turned
// into the gradient w.r.t. logits: the RL loss head's replacement for cross_entropy_backward.
//
// Per row i with target t = t_i and rows_i = (old, ref, A, w):
//   logp = x_t − lse,  r = exp(logp − old) (old = logp when on_policy: r = 1 exactly),
//   c = clamp(r, lo, hi),  d = (c·A < r·A) ? 0 : −A·r,  d += β·(1 − exp(ref − logp)) if β ≠ 0,
//   dlogits_ij = (softmax(x_i)_j − [j == t]) · s,  s = −w·d   (d logp / d x_j = [j == t] − p_j)
//   logp_i = logp.
// Rows with t == -100 or w == 0 give dlogits 0 and logp 0 (rows_i is then never used: it may hold
// NaN); a target outside [0, V) that is not -100 gives a NaN row and NaN logp.
// Activation gradient: overwrites dlogits (=), never accumulates.
//
// bindings (group 0):
//   0 uniform  U { n_rows: u32 (N), vocab: u32 (V), lo: f32 (1 − ε_low), hi: f32 (1 + ε_high),
//                  beta: f32, on_policy: u32 (0/1), nan: f32 (quiet NaN from host), _pad }
//   1 read     logits:  [N, V] f32, row-major
//   2 read     targets: [N] i32 (class index or -100)
//   3 read     lse:     [N] f32   logsumexp per row, from cross_entropy_forward
//   4 read     rows:    [N, 4] f32 (old_logp, ref_logp, advantage, weight)
//   5 storage  dlogits: [N, V] f32 (may not alias an input)
//   6 storage  logp:    [N] f32
// dispatch: grid1d(N) workgroups of 256, one workgroup per row (row = wid.x + wid.y·nwg.x).
// reference: policy_logit_grad.ref.ts (policyLogitGradRef)
//
// Numerics as cross_entropy_backward: p = exp(x − lse) while |lse| < LSE_EXACT; otherwise the row's
// max m and Σ = Σ exp(x − m) are recomputed as the forward does, p = exp(x − m) / Σ and
// logp = (x_t − m) − log Σ (x_t − lse would lose all of logp for a row of ±1e30), by
// cross_entropy_rows_common.wgsl (prepended by the host, with IGNORE, after workgroup_reduce_common.wgsl: WG and the
// reductions).
const LSE_EXACT: f32 = 64.0; // |lse| < 64 → ulp(lse) ≤ 2^-18, rounding ≤ 1.9e-6 relative on p

struct U { n_rows: u32, vocab: u32, lo: f32, hi: f32, beta: f32, on_policy: u32, nan: f32, _pad: u32 }

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> logits4: array<vec4<f32>>; // the same buffer as vec4: the shared row helpers name it; unused here
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read> lse: array<f32>;
@group(0) @binding(4) var<storage, read> rows: array<f32>;
@group(0) @binding(5) var<storage, read_write> dlogits: array<f32>;
@group(0) @binding(6) var<storage, read_write> logp: array<f32>;

var<workgroup> sh_t: i32;            // this row's target, weight and lse, broadcast so branches stay uniform
var<workgroup> sh_w: f32;
var<workgroup> sh_lse: f32;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= u.n_rows) { return; }
  let V = u.vocab;
  let base = row * V; // start of row `row` in logits and dlogits
  let rb = row * 4u;  // start of rows[row, :]

  if (lid == 0u) {
    sh_t = targets[row];
    sh_w = rows[rb + 3u];
    sh_lse = lse[row];
  }
  // workgroupUniformLoad: a barrier plus a value the uniformity analysis knows is uniform
  let t = workgroupUniformLoad(&sh_t);
  let w = workgroupUniformLoad(&sh_w);
  let l = workgroupUniformLoad(&sh_lse);

  if (t == IGNORE || w == 0.0) { // ignored or zero-weight token: no gradient, rows_i unused
    for (var i = lid; i < V; i += WG) { dlogits[base + i] = 0.0; }
    if (lid == 0u) { logp[row] = 0.0; }
    return;
  }
  if (t < 0 || u32(t) >= V) {
    for (var i = lid; i < V; i += WG) { dlogits[base + i] = u.nan; }
    if (lid == 0u) { logp[row] = u.nan; }
    return;
  }
  let tt = u32(t);
  let xt = logits[base + tt];

  // softmax as p_j = exp(x_j − off) · inv, and logp of the target
  var off = l;
  var inv = 1.0;
  var lp = xt - l;
  if (!(abs(l) < LSE_EXACT)) {
    // huge |lse| (or NaN): recompute max and Σ exactly like the forward
    let m = row_max(lid, base, V);
    let s = row_sumexp(lid, base, V, m);
    off = m;
    inv = 1.0 / s;
    lp = (xt - m) - log(s);
  }

  // dℓ/dlogp of grpoObjective (every thread computes the same scalar)
  let old = select(rows[rb], lp, u.on_policy != 0u);
  let a = rows[rb + 2u];
  let r = exp(lp - old);
  let c = clamp(r, u.lo, u.hi);
  var d = select(-a * r, 0.0, c * a < r * a); // clipped branch strictly smaller: c is a constant
  if (u.beta != 0.0) { d += u.beta * (1.0 - exp(rows[rb + 1u] - lp)); }
  let scale = -w * d;

  for (var k = lid; k < V; k += WG) {
    let p = exp(logits[base + k] - off) * inv;
    dlogits[base + k] = (p - select(0.0, 1.0, k == tt)) * scale;
  }
  if (lid == 0u) { logp[row] = lp; }
}
