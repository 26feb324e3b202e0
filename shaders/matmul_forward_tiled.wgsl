// matmul_forward (version 2, tiled) — C[z] = alpha · op(A[z]) · op(B[z]) + bias (+ C[z] if accumulate)
//
// Shared-memory tiling + 8x8 register tiling (the classic sgemm design: CUTLASS / llm.c / siboehm's
// "kernel 6"). A workgroup of TX*TY invocations computes a BM x BN = 8TY x 8TX tile of C and walks K
// in steps of BK = 8:
//   - the A tile [BM, BK] and B tile [BK, BN] go to workgroup memory k-major (As[k][m], Bs[k][n]),
//     as vec4 along m / n, each k-row padded by one vec4 (bank conflicts: see the loaders);
//   - each invocation keeps an 8x8 block of C in 16 vec4 registers and, per k, reads 2 vec4 of A
//     and 2 vec4 of B from workgroup memory (4 vector loads for 64 FMAs);
//   - the next K step is loaded from global memory into registers while this one is computed
//     (register prefetch), so one workgroup buffer and two barriers per step suffice.
// Invocation (tx, ty) owns rows {4ty..4ty+3} ∪ {BM/2+4ty..+3} and columns {4tx..4tx+3} ∪ {BN/2+4tx..+3}
// of the tile: split halves keep both the vec4 reads of As/Bs and the output stores contiguous
// across neighbouring invocations.
//
// legend: M rows of C, N columns of C, K reduction length, z batch index
// bindings (group 0):
//   0 uniform  U (below; same layout as matmul_forward_naive.wgsl)
//   1 read     a:    [batch, M, K] f32, or [batch, K, M] when trans_a
//   2 read     b:    [batch|1, K, N], or [batch|1, N, K] when trans_b; stored as u32 words:
//                    kind 0 f32 bits, 1 f16 / 2 bf16 two halves per word (element 2i low half)
//   3 read     bias: [N] f32 (read only when has_bias)
//   4 storage  out:  [batch, M, N] f32 (read too when accumulate); with split-K (splits = S > 1):
//                    [batch, S, M, N] raw partial sums (the host sets alpha 1, no bias, no accumulate)
// split-K (version 'splitk', see matmul_forward.ts): workgroup z = batch·S + s sums only K range
//   [s·k_chunk, min(K, (s+1)·k_chunk)) and writes slice [z, s] of the partial buffer, which
//   matmul_forward_splitk.wgsl then reduces. splits = 0 or 1 is the plain kernel: one range [0, K).
// overrides (pipeline constants): TX, TY ∈ {8, 16} (tile 64x64 with 64 invocations, or 128x128 with
//   256); TRANS_A, TRANS_B, B_KIND fixed per pipeline by the host, or left to the uniforms.
// dispatch: [ceil(N / BN), ceil(M / BM), batch · max(splits, 1)]
// alignment: none assumed. Global loads are scalar with bounds checks (any M, N, K, odd half offsets);
//   see the loaders for why they still move whole 32-byte sectors.
// workgroup memory: 2 · BK · (BM/4 + 1) · 16 B = 8448 B for 128x128 (≤ 16384).
// reference: matmul_forward.ref.ts (matmulRef)

struct U {        // same layout as the naive kernel's
  M: u32,
  N: u32,
  K: u32,
  b_stride: u32,   // elements between batches of B (0 = broadcast)
  alpha: f32,
  has_bias: u32,
  accumulate: u32,
  trans_a: u32,    // read only when the override TRANS_A is 2 (likewise trans_b, b_kind)
  trans_b: u32,
  b_kind: u32,
  k_chunk: u32,    // split-K: K elements per split (a multiple of BK); unused when splits <= 1
  splits: u32,     // split-K: S, the number of K ranges (0 or 1: no split)
}

override TX: u32 = 16u;          // invocations along n
override TY: u32 = 16u;          // invocations along m
override TRANS_A: u32 = 2u;      // 0 / 1: fixed at pipeline creation; 2: read from u (see below)
override TRANS_B: u32 = 2u;
override B_KIND: u32 = 3u;       // 0 f32, 1 f16, 2 bf16; 3: read from u
const BK = 8u;
override WG = TX * TY;           // invocations per workgroup
override BM = 8u * TY;           // tile rows
override BN = 8u * TX;           // tile columns
// the row pitch of the workgroup tiles, in vec4: BM/4 + 1 and BN/4 + 1 (one vec4 of padding). Constants: the tiles are
// 2-D arrays, as in matmul_forward_vec4.wgsl (where 2-D tiles measured 4-11 % faster at 128x128 on the H100), and
// matmul_forward.ts writes these two lines for each tile (pitchSpec); a larger pitch stays correct.
const AS_ROW = 33u;
const BS_ROW = 33u;
override CA = 16u / TX;          // A chunks (vec4) each invocation moves per K step: BK·BM/4 / WG
override CB = 16u / TY;          // B chunks likewise

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<u32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

var<workgroup> As: array<array<vec4<f32>, AS_ROW>, BK>;  // [BK][BM/4 + 1] vec4: As[k][m/4] = A[m..m+3, k]
var<workgroup> Bs: array<array<vec4<f32>, BS_ROW>, BK>;  // [BK][BN/4 + 1] vec4: Bs[k][n/4] = B[k, n..n+3]

// Trans flags and B dtype: the host fixes them as pipeline constants (the loads then carry no
// selects or branches on them); the "read from u" values give one pipeline for every case, which
// tests use to cover all cases with two compiles (lavapipe takes seconds per pipeline).
fn trans_a() -> bool { if (TRANS_A == 2u) { return u.trans_a != 0u; } return TRANS_A == 1u; }
fn trans_b() -> bool { if (TRANS_B == 2u) { return u.trans_b != 0u; } return TRANS_B == 1u; }
fn b_kind() -> u32 { if (B_KIND == 3u) { return u.b_kind; } return B_KIND; }

// ---- global loads ------------------------------------------------------------------------------
// op(A)[m, k] from A[z] at a_off; 0 outside [M, k_end) (tile edges and the K tail; k_end = K unless
// split). Branch-free: an outside element reads a[0] and is then replaced by 0 (a predicated load).
fn load_a(a_off: u32, m: u32, k: u32, k_end: u32) -> f32 {
  let inside = m < u.M && k < k_end;
  let v = a[select(0u, a_off + select(m * u.K + k, k * u.M + m, trans_a()), inside)];
  return select(0.0, v, inside);
}

// op(B)[k, n] from B[z] at b_off, unpacked to f32; 0 outside [k_end, N].
fn load_b(b_off: u32, k: u32, n: u32, k_end: u32) -> f32 {
  let inside = k < k_end && n < u.N;
  let e = select(0u, b_off + select(k * u.N + n, n * u.K + k, trans_b()), inside);
  let kind = b_kind();
  var v: f32;
  if (kind == 0u) {
    v = bitcast<f32>(b[e]);
  } else {
    let w = b[e >> 1u];          // halves: element 2i in the low 16 bits of word i, 2i+1 in the high
    let hi = (e & 1u) == 1u;
    if (kind == 1u) {
      let p = unpack2x16float(w);
      v = select(p.x, p.y, hi);
    } else {
      v = bitcast<f32>(select(w << 16u, w & 0xffff0000u, hi));  // bf16 = top half of an f32
    }
  }
  return select(0.0, v, inside);
}

// A chunk is 4 consecutive indices d4*4..d4*4+3 (m for A, n for B) at one k: one vec4 of As/Bs.
// Which chunk invocation slot `e` (= c·WG + t) moves depends on which dim is contiguous in memory:
//   k contiguous (A, or B with trans_b): k = e % BK, d4 = e / BK → a warp's j-th load covers
//     4 rows x 8 consecutive k = 4 whole 32-byte sectors; the vec4 stores of 8 neighbours land in
//     8 different bank quads thanks to the 1-vec4 row padding (row pitch 4·(BM+4) words ≡ 4k mod 32).
//   m/n contiguous (A with trans_a, B): d4 = e % (BD/4), k = e / (BD/4) → a warp reads 512
//     contiguous bytes of one row (its 4 scalar loads hit the same sectors; the repeats come from
//     L1) and stores neighbouring vec4s (conflict-free).
fn chunk_k(e: u32, k_contig: bool, bd: u32) -> u32 { return select(e / (bd / 4u), e % BK, k_contig); }
fn chunk_d4(e: u32, k_contig: bool, bd: u32) -> u32 { return select(e % (bd / 4u), e / BK, k_contig); }

fn load_a_chunk(a_off: u32, m0: u32, k0: u32, e: u32, ke: u32) -> vec4<f32> {
  let k = k0 + chunk_k(e, !trans_a(), BM);
  let m = m0 + 4u * chunk_d4(e, !trans_a(), BM);
  return vec4(load_a(a_off, m, k, ke), load_a(a_off, m + 1u, k, ke), load_a(a_off, m + 2u, k, ke), load_a(a_off, m + 3u, k, ke));
}

fn load_b_chunk(b_off: u32, n0: u32, k0: u32, e: u32, ke: u32) -> vec4<f32> {
  let k = k0 + chunk_k(e, trans_b(), BN);
  let n = n0 + 4u * chunk_d4(e, trans_b(), BN);
  return vec4(load_b(b_off, k, n, ke), load_b(b_off, k, n + 1u, ke), load_b(b_off, k, n + 2u, ke), load_b(b_off, k, n + 3u, ke));
}

fn store_a_chunk(e: u32, v: vec4<f32>) { As[chunk_k(e, !trans_a(), BM)][chunk_d4(e, !trans_a(), BM)] = v; }
fn store_b_chunk(e: u32, v: vec4<f32>) { Bs[chunk_k(e, trans_b(), BN)][chunk_d4(e, trans_b(), BN)] = v; }

// ---- epilogue ----------------------------------------------------------------------------------
// out[z, m, n..n+3] = alpha·v + bias (+ out), skipping what lies outside [M, N].
fn store4(o_off: u32, m: u32, n: u32, v: vec4<f32>) {
  if (m >= u.M) { return; }
  for (var j = 0u; j < 4u; j++) {
    let c = n + j;
    if (c < u.N) {
      let o = o_off + m * u.N + c;
      var x = u.alpha * v[j];
      if (u.has_bias != 0u) { x += bias[c]; }
      if (u.accumulate != 0u) { x += out[o]; }
      out[o] = x;
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
  let tx = t % TX;
  let ty = t / TX;
  let m0 = wid.y * BM;                // tile origin in C
  let n0 = wid.x * BN;
  let S = max(u.splits, 1u);          // K ranges (1 = no split)
  let z = wid.z / S;                  // batch entry
  let s = wid.z % S;                  // K range of this workgroup
  let k_begin = s * u.k_chunk;        // 0 without split (s = 0)
  let k_end = select(u.K, min(u.K, k_begin + u.k_chunk), S > 1u);
  let a_off = z * u.M * u.K;          // A[z]
  let b_off = z * u.b_stride;         // B[z] (0 when broadcast)
  // workgroup-uniform: barriers below are in uniform control flow (an empty range gives 0 steps)
  let ntiles = (max(k_end, k_begin) - k_begin + BK - 1u) / BK;

  // 8x8 accumulators: acc[2i] = row i x columns 4tx.., acc[2i+1] = row i x columns BN/2+4tx..
  // (rows i < 4: 4ty+i; i >= 4: BM/2+4ty+i-4). Only constant indices below, so they stay in registers.
  var acc: array<vec4<f32>, 16>;

  // Register prefetch, written so that the loads and the FMAs each appear once in the code: trip kt
  // loads K step kt into registers, then computes step kt-1 from workgroup memory, so the global
  // loads are in flight during the FMAs. (CA, CB are 1 or 2; the second chunk folds away when unused.)
  var ra0: vec4<f32>;
  var ra1: vec4<f32>;
  var rb0: vec4<f32>;
  var rb1: vec4<f32>;
  for (var kt = 0u; kt <= ntiles; kt++) {
    if (kt > 0u) {
      workgroupBarrier();  // everyone is done reading step kt-2 from As/Bs
      store_a_chunk(t, ra0);
      store_b_chunk(t, rb0);
      if (CA > 1u) { store_a_chunk(WG + t, ra1); }
      if (CB > 1u) { store_b_chunk(WG + t, rb1); }
      workgroupBarrier();  // step kt-1 is in As/Bs
    }
    if (kt < ntiles) {
      let k0 = k_begin + kt * BK;
      ra0 = load_a_chunk(a_off, m0, k0, t, k_end);
      rb0 = load_b_chunk(b_off, n0, k0, t, k_end);
      if (CA > 1u) { ra1 = load_a_chunk(a_off, m0, k0, WG + t, k_end); }
      if (CB > 1u) { rb1 = load_b_chunk(b_off, n0, k0, WG + t, k_end); }
    }
    if (kt > 0u) {
      // at 64 x 64, matmul_forward.ts writes this loop out (writeOutKk): the whole K step in one turn
      for (var kk = 0u; kk < BK; kk++) {
        let a0 = As[kk][ty];       // A rows 4ty..4ty+3 at k
        let a1 = As[kk][TY + ty];  // A rows BM/2+4ty..
        let b0 = Bs[kk][tx];       // B columns 4tx..4tx+3 at k
        let b1 = Bs[kk][TX + tx];  // B columns BN/2+4tx..
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

  let o_off = wid.z * u.M * u.N;             // C[z], or partial [z, s] when split (wid.z = z·S + s)
  let r0 = m0 + 4u * ty;                     // first row of the upper half
  let r1 = m0 + BM / 2u + 4u * ty;           // first row of the lower half
  let c0 = n0 + 4u * tx;                     // first column of the left half
  let c1 = n0 + BN / 2u + 4u * tx;           // first column of the right half
  // Row i of the 8: a loop (32 inlined stores make lavapipe's compiler take ~30 s) whose switch keeps
  // every acc index constant, so acc is never dynamically indexed and stays in registers.
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
    store4(o_off, r, c0, v0);
    store4(o_off, r, c1, v1);
  }
}
