// matmul_forward (version 'vec4') — C[z] = alpha · op(A[z]) · op(B[z]) + bias (+ C[z] if accumulate),
// for f32 A and B whose contiguous dims are multiples of 4 (every projection of the models).
//
// The tiled kernel's design (matmul_forward_tiled.wgsl: 8x8 register tiles in 64x64 or 128x128
// workgroup tiles, k-major workgroup tiles as vec4, register prefetch), with the per-element costs of
// its loads taken out:
//   - global loads are whole vec4s (one load per 4 elements instead of 4 scalar loads, each with its
//     own index, bounds test and select);
//   - rows of A and columns of B past M / N are loaded as they come (the next rows, or, past the
//     end of the binding, whatever WebGPU's bounds guarantee returns): they only feed outputs past
//     M / N, which are never stored. Only K must be exact, and there a vec4 is wholly in or out of
//     [k_begin, k_end) (K, k_begin and k_end are multiples of 4): one select, which also replaces
//     what a load past K read (another row's values, possibly Inf) before it meets a product;
//   - BK, the K of one step, may be 16 (pipeline constant): half the barriers per FMA, where the
//     device has the workgroup memory (2·16·(BM/4 + 1)·16 B = 16896 B for 128x128).
//
// legend: M rows of C, N columns of C, K reduction length, z batch index
// bindings (group 0):
//   0 uniform  U (below; the tiled kernel's layout plus the low-rank term's four words; its b_kind word is ldn here: B is f32)
//   1 read     a:    [batch, M, K] f32, or [batch, K, M] when trans_a — as vec4: K % 4 == 0 (M % 4 with trans_a)
//   2 read     b:    [batch|1, K, N] f32, or [batch|1, N, K] when trans_b — as vec4: N % 4 == 0 (K % 4 with trans_b)
//   3 read     bias: [N] f32 (read only when has_bias)
//   4 read     P:    [M, p_stride] f32 (LOWRANK only)
//   5 read     Q:    [lr_k, N] f32, or [N, lr_k] when trans_b (LOWRANK only)
//   6 storage  out:  [batch, M, N] f32 (read too when accumulate); split-K: [batch, S, M, N] raw partial
//                    sums, as in the tiled kernel (k_chunk a multiple of 4)
// LOWRANK (override; batch 1, no split-K, no trans_a, alpha 1): + lr_alpha · P[m, p_offset ..+lr_k] · Q(.., n), LoRA's
//   term of the projection (matmul_forward.ts MatmulOptions.lowRank), as lr_k more K steps after the product's own:
//   their loads read P (scaled by lr_alpha) and Q instead of A and B, in the same layouts (P like A: K contiguous; Q
//   like B). lr_k, p_stride and p_offset are multiples of 4. Without it the kernel is as before (the branches fold away).
// overrides: TX, TY ∈ {8, 16} (tile 8·TY rows × 8·TX columns: 64 or 128 each), BK ∈ {8, 16},
//   TRANS_A / TRANS_B (2: read from u), PREFETCH (register prefetch; matmul_forward.ts turns it off at 128x128,
//   where it measured faster without: H100, 2048³ 0.541 → 0.498 ms, 4096³ 4.13 → 3.93, lm_head −5 to −8%).
// column block (ldn > N; matmul_forward.ts's wave split): the product's N columns are a block of a wider one, whose
//   row stride ldn is out's and B's (without trans_b); a, b, bias and out are bound from the block's first column
// dispatch: [ceil(N / BN), ceil(M / BM), batch · max(splits, 1)]; GROUP_M (override, default 0) reorders which tile
//   a workgroup takes, not the grid
// reference: matmul_forward.ref.ts (matmulRef)
//
// Version 'vec4h' is this file with the alias S below set to f16 (matmul_forward.ts writes `enable f16;` before it
// and replaces the alias line): A and B are rounded to f16 as they are staged into workgroup memory (half the bytes:
// 16-deep K steps fit at tile 128 within WebGPU's default 16 KiB), products and sums stay f32: torch autocast's
// numbers, error ≤ 2·2^-11·Σ|a||b| plus f32's. Operands must lie within f16's range (|x| < 65504): larger ones
// become Inf. At S = f32 the conversions below are the identity.

alias S = f32; // the workgroup tiles' element type (vec4h: f16)

struct U {
  M: u32,
  N: u32,
  K: u32,
  b_stride: u32,   // elements between batches of B (0 = broadcast); a multiple of 4
  alpha: f32,
  has_bias: u32,
  accumulate: u32,
  trans_a: u32,
  trans_b: u32,
  ldn: u32,        // the row stride of out, and of B without trans_b: 0 = N (a column block of a wider product: batch 1)
  k_chunk: u32,
  splits: u32,
  lr_k: u32,       // LOWRANK: the term's length
  lr_alpha: f32,
  p_stride: u32,   // row stride of P in elements
  p_offset: u32,   // P's first column
}

override TX: u32 = 16u;
override TY: u32 = 16u;
override TRANS_A: u32 = 2u;
override TRANS_B: u32 = 2u;
override BK: u32 = 8u;           // K per step: 8 or 16
// register prefetch: the next step's global loads issued before this step's products (the tiled kernel's design);
// without it (false), a step's loads come just before they are staged, and a second resident workgroup hides them
override PREFETCH: bool = true;
override LOWRANK: bool = false;
// GROUP_M > 0: the workgroups, in launch order (x fastest), walk GROUP_M tile rows down before they move one tile column
// right, so the GROUP_M workgroups that read a column tile of B run together and share it through L2 (each column tile
// comes from memory once, not once per tile row: the vocabulary products' B is 113-544 MB). 0: tile (wid.x, wid.y).
override GROUP_M: u32 = 0u;
override WG = TX * TY;
override BM = 8u * TY;
override BN = 8u * TX;
// the row pitch of the workgroup tiles, in vec4: BM/4 + 1 and BN/4 + 1 (one vec4 of padding). Constants, not overrides:
// the tiles are 2-D arrays, whose inner length must be a constant; matmul_forward.ts writes these two lines for each
// tile (pitchSpec). 2-D tiles measured 3-7 % faster than the same tiles as 1-D arrays at 128x128 on the H100 (2048³
// 0.49-0.51 → 0.47 ms, the vocabulary products 8.19 → 7.67 ms), with no clamp to lose in the inner loop. A larger
// pitch than BM/4 + 1 stays correct (only memory and bank pattern change), so this file as written runs every tile.
const AS_ROW = 33u;
const BS_ROW = 33u;
override CA = 2u * BK / TX;      // vec4 of A each invocation moves per step: BK·BM/4 / WG ∈ {1, 2, 4}
override CB = 2u * BK / TY;
override KQ = BK / 4u;           // vec4 along k per row of a step

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> P: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> Q: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;

var<workgroup> As: array<array<vec4<S>, AS_ROW>, BK>;  // As[k][m/4] = A[m..m+3, k]
var<workgroup> Bs: array<array<vec4<S>, BS_ROW>, BK>;  // Bs[k][n/4] = B[k, n..n+3]

// the row stride of out and of B (without trans_b): N, or a wider product's (u.ldn; ldn % 4 == 0)
fn ldn() -> u32 { return select(u.N, u.ldn, u.ldn != 0u); }
fn trans_a() -> bool { if (TRANS_A == 2u) { return u.trans_a != 0u; } return TRANS_A == 1u; }
fn trans_b() -> bool { if (TRANS_B == 2u) { return u.trans_b != 0u; } return TRANS_B == 1u; }

// ---- chunks: vec4 number e (= c·WG + t) of a step's tile --------------------------------------
// k contiguous (A; B with trans_b): row r = e / KQ of the tile, k = 4·(e % KQ): KQ neighbouring
//   invocations read one row's 4·BK contiguous bytes (whole 32-byte sectors), and the transposed
//   stores (4 scalars into As[k..k+3][r/4].r%4) hit distinct banks for BK 8 (the padded row pitch
//   is ≡ 4 words mod 32), at most two-way conflicts for BK 16.
// m / n contiguous (A with trans_a; B): vec4 d = e % (BD/4) at k = e / (BD/4): a warp reads 512
//   contiguous bytes and stores neighbouring vec4s.

// LOWRANK: the first k of the term's steps, after the product's own (K rounded up to whole steps)
fn lr_begin() -> u32 { return (u.K + BK - 1u) / BK * BK; }

// a step of the low-rank term: P's columns p_offset + k0 .. (as A, K contiguous), scaled by lr_alpha
fn load_p(m0: u32, k0: u32, e: u32) -> vec4<f32> {
  let k = k0 + 4u * (e % KQ);
  let v = P[((m0 + e / KQ) * u.p_stride + u.p_offset + k) / 4u];
  return select(vec4(0.0), u.lr_alpha * v, k < u.lr_k);
}

// a step of the low-rank term: Q's rows (or columns, with trans_b) k0 .., as B
fn load_q(n0: u32, k0: u32, e: u32) -> vec4<f32> {
  if (!trans_b()) { // Q is [lr_k, N]
    let k = k0 + e / (BN / 4u);
    let v = Q[k * (u.N / 4u) + n0 / 4u + e % (BN / 4u)];
    return select(vec4(0.0), v, k < u.lr_k);
  }
  let k = k0 + 4u * (e % KQ); // Q is [N, lr_k]
  let v = Q[((n0 + e / KQ) * u.lr_k + k) / 4u];
  return select(vec4(0.0), v, k < u.lr_k);
}

fn load_a(a4: u32, m0: u32, k0: u32, e: u32, ke: u32) -> vec4<f32> {
  if (LOWRANK && k0 >= lr_begin()) { return load_p(m0, k0 - lr_begin(), e); }
  if (trans_a()) { // A[z] is [K, M]
    let k = k0 + e / (BM / 4u);
    let v = a[a4 + k * (u.M / 4u) + m0 / 4u + e % (BM / 4u)];
    return select(vec4(0.0), v, k < ke);
  }
  let k = k0 + 4u * (e % KQ);
  let v = a[a4 + ((m0 + e / KQ) * u.K + k) / 4u];
  return select(vec4(0.0), v, k < ke);
}

fn load_b(b4: u32, n0: u32, k0: u32, e: u32, ke: u32) -> vec4<f32> {
  if (LOWRANK && k0 >= lr_begin()) { return load_q(n0, k0 - lr_begin(), e); }
  if (!trans_b()) { // B[z] is [K, N]
    let k = k0 + e / (BN / 4u);
    let v = b[b4 + k * (ldn() / 4u) + n0 / 4u + e % (BN / 4u)];
    return select(vec4(0.0), v, k < ke);
  }
  let k = k0 + 4u * (e % KQ);
  let v = b[b4 + ((n0 + e / KQ) * u.K + k) / 4u];
  return select(vec4(0.0), v, k < ke);
}

fn store_a(e: u32, v32: vec4<f32>) {
  let v = vec4<S>(v32);
  if (trans_a()) { As[e / (BM / 4u)][e % (BM / 4u)] = v; return; }
  let r = e / KQ;
  let k4 = 4u * (e % KQ);
  let i = r / 4u;
  let c = r % 4u;
  As[k4][i][c] = v.x;
  As[k4 + 1u][i][c] = v.y;
  As[k4 + 2u][i][c] = v.z;
  As[k4 + 3u][i][c] = v.w;
}

fn store_b(e: u32, v32: vec4<f32>) {
  let v = vec4<S>(v32);
  if (!trans_b()) { Bs[e / (BN / 4u)][e % (BN / 4u)] = v; return; }
  let r = e / KQ;
  let k4 = 4u * (e % KQ);
  let i = r / 4u;
  let c = r % 4u;
  Bs[k4][i][c] = v.x;
  Bs[k4 + 1u][i][c] = v.y;
  Bs[k4 + 2u][i][c] = v.z;
  Bs[k4 + 3u][i][c] = v.w;
}

// ---- epilogue: out[z, m, n..n+3] = alpha·v + bias (+ out), skipping what lies outside [M, N] ----
// With accumulate, a row's old values are all loaded (load4) before any of its stores: a load after a store to the
// same buffer waits for it, so a load-add-store per element made 64 round trips to memory one after another.
fn load4(o_off: u32, m: u32, n: u32) -> vec4<f32> {
  var v = vec4(0.0);
  if (u.accumulate == 0u || m >= u.M) { return v; }
  for (var j = 0u; j < 4u; j++) {
    if (n + j < u.N) { v[j] = out[o_off + m * ldn() + n + j]; }
  }
  return v;
}

fn store4(o_off: u32, m: u32, n: u32, v: vec4<f32>, old: vec4<f32>) {
  if (m >= u.M) { return; }
  for (var j = 0u; j < 4u; j++) {
    let c = n + j;
    if (c < u.N) {
      var x = u.alpha * v[j];
      if (u.has_bias != 0u) { x += bias[c]; }
      out[o_off + m * ldn() + c] = x + old[j]; // old is 0 without accumulate
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let tx = t % TX;
  let ty = t / TX;
  var tm = wid.y; // tile row and column of this workgroup
  var tn = wid.x;
  if (GROUP_M > 0u) {
    let id = wid.y * nwg.x + wid.x;      // launch order within this z
    let per = GROUP_M * nwg.x;           // workgroups of one group of GROUP_M tile rows
    let first = id / per * GROUP_M;      // the group's first tile row
    let rows = min(nwg.y - first, GROUP_M); // the last group may hold fewer
    let r = id % per;
    tm = first + r % rows;
    tn = r / rows;
  }
  let m0 = tm * BM;
  let n0 = tn * BN;
  let S = max(u.splits, 1u);
  let z = wid.z / S;
  let s = wid.z % S;
  let k_begin = s * u.k_chunk;
  let k_end = select(u.K, min(u.K, k_begin + u.k_chunk), S > 1u);
  let a4 = z * u.M * u.K / 4u;        // A[z] in vec4 (M·K is a multiple of 4)
  let b4 = z * u.b_stride / 4u;       // B[z] in vec4
  let ntiles = (max(k_end, k_begin) - k_begin + BK - 1u) / BK + select(0u, (u.lr_k + BK - 1u) / BK, LOWRANK);

  var acc: array<vec4<f32>, 16>;      // as in the tiled kernel: acc[2i] / acc[2i+1] = row i x left / right columns
  var ra0: vec4<f32>; var ra1: vec4<f32>; var ra2: vec4<f32>; var ra3: vec4<f32>;
  var rb0: vec4<f32>; var rb1: vec4<f32>; var rb2: vec4<f32>; var rb3: vec4<f32>;
  if (PREFETCH) {
    for (var kt = 0u; kt <= ntiles; kt++) {
      if (kt > 0u) {
        workgroupBarrier();  // everyone is done reading step kt-2
        store_a(t, ra0);
        if (CA > 1u) { store_a(WG + t, ra1); }
        if (CA > 2u) { store_a(2u * WG + t, ra2); store_a(3u * WG + t, ra3); }
        store_b(t, rb0);
        if (CB > 1u) { store_b(WG + t, rb1); }
        if (CB > 2u) { store_b(2u * WG + t, rb2); store_b(3u * WG + t, rb3); }
        workgroupBarrier();  // step kt-1 is in As/Bs
      }
      if (kt < ntiles) {     // step kt into registers while step kt-1 is computed
        let k0 = k_begin + kt * BK;
        ra0 = load_a(a4, m0, k0, t, k_end);
        if (CA > 1u) { ra1 = load_a(a4, m0, k0, WG + t, k_end); }
        if (CA > 2u) { ra2 = load_a(a4, m0, k0, 2u * WG + t, k_end); ra3 = load_a(a4, m0, k0, 3u * WG + t, k_end); }
        rb0 = load_b(b4, n0, k0, t, k_end);
        if (CB > 1u) { rb1 = load_b(b4, n0, k0, WG + t, k_end); }
        if (CB > 2u) { rb2 = load_b(b4, n0, k0, 2u * WG + t, k_end); rb3 = load_b(b4, n0, k0, 3u * WG + t, k_end); }
      }
      if (kt > 0u) {
        // matmul_forward.ts writes this loop out KK_COPIES times a turn (kk, kk + 1, ...): the NVIDIA compiler left it
        // rolled, 79 issue slots for 64 FMAs, each turn's loads just before the FMAs that wait on them (BENCHMARKS.md)
        for (var kk = 0u; kk < BK; kk++) {
          let a0 = vec4<f32>(As[kk][ty]);
          let a1 = vec4<f32>(As[kk][TY + ty]);
          let b0 = vec4<f32>(Bs[kk][tx]);
          let b1 = vec4<f32>(Bs[kk][TX + tx]);
          acc[0] += a0.x * b0;  acc[1] += a0.x * b1;
          acc[2] += a0.y * b0;  acc[3] += a0.y * b1;
          acc[4] += a0.z * b0;  acc[5] += a0.z * b1;
          acc[6] += a0.w * b0;  acc[7] += a0.w * b1;
          acc[8] += a1.x * b0;  acc[9] += a1.x * b1;
          acc[10] += a1.y * b0; acc[11] += a1.y * b1;
          acc[12] += a1.z * b0; acc[13] += a1.z * b1;
          acc[14] += a1.w * b0; acc[15] += a1.w * b1;
        }
      }
    }
  } else {
    // no prefetch: a step's loads just before they are staged. Its products repeat the lines above on purpose: one
    // loop steered by PREFETCH, and a load function returning a struct, each compiled slower on the H100 (BENCHMARKS.md)
    for (var kt = 0u; kt < ntiles; kt++) {
      let k0 = k_begin + kt * BK;
      ra0 = load_a(a4, m0, k0, t, k_end);
      if (CA > 1u) { ra1 = load_a(a4, m0, k0, WG + t, k_end); }
      if (CA > 2u) { ra2 = load_a(a4, m0, k0, 2u * WG + t, k_end); ra3 = load_a(a4, m0, k0, 3u * WG + t, k_end); }
      rb0 = load_b(b4, n0, k0, t, k_end);
      if (CB > 1u) { rb1 = load_b(b4, n0, k0, WG + t, k_end); }
      if (CB > 2u) { rb2 = load_b(b4, n0, k0, 2u * WG + t, k_end); rb3 = load_b(b4, n0, k0, 3u * WG + t, k_end); }
      workgroupBarrier();  // everyone is done reading step kt-1
      store_a(t, ra0);
      if (CA > 1u) { store_a(WG + t, ra1); }
      if (CA > 2u) { store_a(2u * WG + t, ra2); store_a(3u * WG + t, ra3); }
      store_b(t, rb0);
      if (CB > 1u) { store_b(WG + t, rb1); }
      if (CB > 2u) { store_b(2u * WG + t, rb2); store_b(3u * WG + t, rb3); }
      workgroupBarrier();  // step kt is in As/Bs
      // matmul_forward.ts writes this loop out BK times: the whole K step in one turn (at 128 x 128, 0-8 % faster on the
      // H100 than rolled; 2, 4 or 8 copies a turn were slower: BENCHMARKS.md, twenty-third session)
      for (var kk = 0u; kk < BK; kk++) {
        let a0 = vec4<f32>(As[kk][ty]);
        let a1 = vec4<f32>(As[kk][TY + ty]);
        let b0 = vec4<f32>(Bs[kk][tx]);
        let b1 = vec4<f32>(Bs[kk][TX + tx]);
        acc[0] += a0.x * b0;  acc[1] += a0.x * b1;
        acc[2] += a0.y * b0;  acc[3] += a0.y * b1;
        acc[4] += a0.z * b0;  acc[5] += a0.z * b1;
        acc[6] += a0.w * b0;  acc[7] += a0.w * b1;
        acc[8] += a1.x * b0;  acc[9] += a1.x * b1;
        acc[10] += a1.y * b0; acc[11] += a1.y * b1;
        acc[12] += a1.z * b0; acc[13] += a1.z * b1;
        acc[14] += a1.w * b0; acc[15] += a1.w * b1;
      }
    }
  }

  let o_off = wid.z * u.M * u.N;
  let r0 = m0 + 4u * ty;
  let r1 = m0 + BM / 2u + 4u * ty;
  let c0 = n0 + 4u * tx;
  let c1 = n0 + BN / 2u + 4u * tx;
  for (var i = 0u; i < 8u; i++) {
    var v0: vec4<f32>;
    var v1: vec4<f32>;
    switch i {
      case 0u: { v0 = acc[0]; v1 = acc[1]; }
      case 1u: { v0 = acc[2]; v1 = acc[3]; }
      case 2u: { v0 = acc[4]; v1 = acc[5]; }
      case 3u: { v0 = acc[6]; v1 = acc[7]; }
      case 4u: { v0 = acc[8]; v1 = acc[9]; }
      case 5u: { v0 = acc[10]; v1 = acc[11]; }
      case 6u: { v0 = acc[12]; v1 = acc[13]; }
      default: { v0 = acc[14]; v1 = acc[15]; }
    }
    let r = select(r0 + i, r1 + i - 4u, i >= 4u);
    let old0 = load4(o_off, r, c0);
    let old1 = load4(o_off, r, c1);
    store4(o_off, r, c0, v0, old0);
    store4(o_off, r, c1, v1, old1);
  }
}
