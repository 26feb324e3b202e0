// cross_entropy_forward — per-row cross-entropy fused with log-softmax over the vocabulary,
// then the mean over counted rows (transformers' causal-LM loss, labels already shifted).
//
// Three entry points share this module and one binding layout:
//   `rows4`: `rows` for V % 4 == 0 (every real vocabulary), reading the row as vec4 (4x fewer loads in flight per
//           byte: the scalar loop reached ~0.4 TB/s on an H100); the same blocked sums, so the same error bound;
//   `rows`: loss_i = logsumexp(logits_i) − logits_i[t_i]; 0 for t_i == -100 (ignored);
//           NaN for a target outside [0, V) that is not -100 (a visible error: no throw on a GPU).
//   `mean`: loss = Σ_counted loss_i / count, count = #rows with t_i != -100 (invalid rows count,
//           so their NaN reaches the mean); loss = 0 (not NaN) when count == 0.
//
// bindings (group 0):
//   0 uniform  U { n_rows: u32 (N), vocab: u32 (V), nan: f32 (a quiet NaN from the host), _pad }
//   1 read     logits:   [N, V] f32, row-major
//   2 read     targets:  [N] i32 (class index, or -100 = ignore)
//   3 storage  row_loss: [N] f32   (written by `rows`, read by `mean`)
//   4 storage  lse:      [N] f32   logsumexp of each row = max + log Σ exp(x − max)  (`rows`)
//   5 storage  loss:     [1] f32   mean over counted rows  (`mean`)
//   6 storage  count:    [1] u32   number of counted rows  (`mean`)
// dispatch: `rows`: grid1d(N) workgroups of 256, one workgroup per row (row = wid.x + wid.y·nwg.x);
//           `mean`: 1 workgroup of 256, after `rows` (same pass: WebGPU orders dispatches).
// reference: cross_entropy_forward.ref.ts (crossEntropyForwardRef)
//
// Numerics: the row's max and Σ exp(x − max) by cross_entropy_rows_common.wgsl (prepended by the host, with IGNORE,
// after workgroup_reduce_common.wgsl: WG and the reductions): ≤ 3.6e-6 absolute on log Σ at V = 151936. The row
// loss is formed as (max − x_t) + log Σ, two non-negative terms, so it keeps its relative precision when |max| is
// huge.

struct U { n_rows: u32, vocab: u32, nan: f32, _pad: u32 }

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> logits4: array<vec4<f32>>; // the same buffer, for `rows4` only
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read_write> row_loss: array<f32>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;
@group(0) @binding(5) var<storage, read_write> loss: array<f32>;
@group(0) @binding(6) var<storage, read_write> count: array<u32>;

var<workgroup> redc: array<u32, 256>;  // row counts for `mean`

@compute @workgroup_size(256)
fn rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= u.n_rows) { return; } // workgroup-uniform: the barriers below stay legal
  let V = u.vocab;
  let base = row * V; // start of logits[row, :]

  let m = row_max(lid, base, V);
  let s = row_sumexp(lid, base, V, m); // ≥ 1 (the max term is exp(0)); NaN if the row holds a NaN

  if (lid == 0u) {
    let log_s = log(s);
    lse[row] = m + log_s;
    let t = targets[row];
    var l = 0.0; // ignored row
    if (t != IGNORE) {
      if (t < 0 || u32(t) >= V) {
        l = u.nan; // invalid target: NaN so the mean (and the trainer) sees it
      } else {
        l = (m - logits[base + u32(t)]) + log_s; // both terms ≥ 0
      }
    }
    row_loss[row] = l;
  }
}

@compute @workgroup_size(256)
fn rows4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= u.n_rows) { return; } // workgroup-uniform: the barriers below stay legal
  let V = u.vocab;
  let V4 = V / 4u;
  let base4 = row * V4; // start of logits[row, :] in vec4

  let m = row_max4(lid, base4, V4);
  let s = row_sumexp4(lid, base4, V4, m);

  if (lid == 0u) {
    let log_s = log(s);
    lse[row] = m + log_s;
    let t = targets[row];
    var l = 0.0;
    if (t != IGNORE) {
      if (t < 0 || u32(t) >= V) {
        l = u.nan;
      } else {
        l = (m - logits4[base4 + u32(t) / 4u][u32(t) % 4u]) + log_s;
      }
    }
    row_loss[row] = l;
  }
}

@compute @workgroup_size(256)
fn mean(@builtin(local_invocation_index) lid: u32) {
  let N = u.n_rows;
  // blocked strided sum over rows, counting the rows that are not ignored
  var acc = 0.0;
  var cnt = 0u;
  var i = lid;
  loop {
    if (i >= N) { break; }
    var blk = 0.0;
    for (var j = 0u; j < BLOCK && i < N; j++) {
      if (targets[i] != IGNORE) {
        blk += row_loss[i];
        cnt += 1u;
      }
      i += WG;
    }
    acc += blk;
  }
  let total = wg_sum(lid, acc);

  redc[lid] = cnt;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { redc[lid] = redc[lid] + redc[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let c = redc[0];
    count[0] = c;
    loss[0] = select(0.0, total / f32(c), c > 0u); // all ignored → 0, not 0/0
  }
}
