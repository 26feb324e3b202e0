// Self-check cases for matmul (naive, tiled, vec4 and vec4h versions, forced; vec4 also at its 128x64 tile and in
// two column blocks;
// vec4h only where the GPU has shader-f16),
// softmax and attention (fwd + bwd, flash and rows versions: the pickers' defaults are the vec4 and rows
// kernels, kernel-prefs.ts).
// Shapes are tiny (SwiftShader runs ~0.25 GFLOP/s) and not multiples of the tiles (16 naive and
// attention, 64 tiled) or the workgroup (256). Tolerances are the kernels' own tests'.

import type { SelfCheckCase } from '../selfcheck.ts';
import type { Runtime } from '../gpu/runtime.ts';
import type { Rng } from '../util/rng.ts';
import { defineCase, readAndFree, readAllAndFree, concat } from './helpers.ts';
import { matmul } from '../../../shaders/matmul_forward.ts';
import { matmulRef } from '../../../shaders/matmul_forward.ref.ts';
import { softmax } from '../../../shaders/softmax_forward.ts';
import { softmaxRef } from '../../../shaders/softmax_forward.ref.ts';
import { attentionForward } from '../../../shaders/attention_forward.ts';
import { attentionForwardRef, type AttnDims } from '../../../shaders/attention_forward.ref.ts';
import { attentionBackward } from '../../../shaders/attention_backward.ts';
import { attentionBackwardRef } from '../../../shaders/attention_backward.ref.ts';
import { attentionApply, attentionPattern, attentionScores } from '../../../shaders/attention_explicit.ts';
import { attentionApplyRef, attentionPatternRef, attentionScoresRef } from '../../../shaders/attention_explicit.ref.ts';
import { attentionExplicitBackward } from '../../../shaders/attention_explicit_backward.ts';
import { explicitBackwardRef } from '../../../shaders/attention_explicit_backward.ref.ts';
import { copyColumns } from '../../../shaders/copy_columns.ts';
import { copyColumnsRef } from '../../../shaders/copy_columns.ref.ts';

// matmul test tolerance: rtol 1e-4 plus atol 1e-5·sqrt(K)·|a|max·|b|max (a K-term fp32 sum drifts by
// ~6e-8·sqrt(K) of that scale; 100x room for other summation orders) + 1e-6·|bias|max (one rounding)
const matmulTol = (K: number, scaleAB: number, scaleAdd = 0) => ({ rtol: 1e-4, atol: 1e-5 * Math.sqrt(K) * scaleAB + 1e-6 * scaleAdd });

const MP = { M: 9, N: 23, K: 37 }; // plain, tiled kernel: one 64×64 tile, mostly padding
const MT = { M: 7, N: 19, K: 40 }; // transB + bias, naive kernel: 16×16 tiles, partial in both dims
const MV = { M: 36, N: 44, K: 20 }; // transB + bias, vec4 kernel: multiples of 4, not of the 64 tile or of BK 16
const MR = { M: 132, N: 68, K: 20 }; // the vec4 kernel's 128x64 tile (pickVec4Tile's middle choice): past one tile in each dim
const MC = { M: 36, N: 200, K: 20 }; // the vec4 kernel's column split: columns 0..127 in a 128 tile, 128..199 in 64 tiles
const SM = { rows: 3 * 5, n: 37 };

/** x·Wᵀ + bias on the MV shape by vec4 or vec4h (forced), to `tol`; `skip` where the version cannot run */
function vec4BiasCase(version: 'vec4' | 'vec4h', note: string, tol: { rtol: number; atol: number }, skip?: (rt: Runtime) => string | null): SelfCheckCase {
  return defineCase({
    name: `matmul_forward.${version}`,
    shape: `[${MV.M}, ${MV.K}] · [${MV.N}, ${MV.K}]ᵀ + bias, version ${version}${note}`,
    tol,
    skip,
    inputs: (rng) => ({ a: rng.uniform(MV.M * MV.K), w: rng.uniform(MV.N * MV.K), bias: rng.uniform(MV.N, -2, 2) }),
    gpu: (rt, i) => {
      const a = rt.upload(i.a, [MV.M, MV.K]); // [M, K]
      const w = rt.upload(i.w, [MV.N, MV.K]); // [N, K]
      const bias = rt.upload(i.bias, [MV.N]); // [N]
      return readAndFree(rt, matmul(rt, a, w, { transB: true, bias, version }), a, w, bias); // [M, N]
    },
    ref: (i) => matmulRef(i.a, i.w, MV.M, MV.N, MV.K, { transB: true, bias: i.bias }),
  });
}

// Attention: one sequence after a 2-token KV cache (S = offset + T), GQA with 3 query heads per kv head.
// q [T, H, D], k/v [S, Hkv, D], out [T, H, D], lse [H, T], probs [H, T, S]
const AT: AttnDims & { offset: number } = { B: 1, T: 7, S: 9, H: 6, Hkv: 2, D: 12, offset: 2 };
const NEG_BIG = Math.fround(-3.402823e38); // the kernel's lse for a row that sees no key (ref: -Infinity)
// The explicit steps' backward (training): a batch's own keys, GQA with 2 query heads per kv head.
const AX: AttnDims = { B: 1, T: 7, S: 7, H: 4, Hkv: 2, D: 8 };

function attnInputs(rng: Rng) {
  const { T, S, H, Hkv, D } = AT;
  return { q: rng.normal(T * H * D), k: rng.normal(S * Hkv * D), v: rng.normal(S * Hkv * D), dOut: rng.normal(T * H * D) };
}

/** Uploads q [T, H, D], k, v [S, Hkv, D] and runs the forward with probs (flash unless version 3: rows). */
function attnForwardGpu(rt: Runtime, i: ReturnType<typeof attnInputs>, version: 2 | 3 = 2) {
  const { T, S, H, Hkv, D, offset } = AT;
  const q = rt.upload(i.q, [T, H, D]), k = rt.upload(i.k, [S, Hkv, D]), v = rt.upload(i.v, [S, Hkv, D]);
  const f = attentionForward(rt, q, k, v, { offset, writeProbs: true, version }); // out [T, H, D], lse [H, T], probs [H, T, S]
  return { q, k, v, ...f, probs: f.probs! };
}

/** Attention backward (after the forward of the same version) against the float64 gradients. */
function attnBackwardCase(name: string, shape: string, version: 2 | 3): SelfCheckCase {
  return defineCase({
    name,
    shape,
    // fp32 recomputation of P from lse, the dP − Δ difference and sums over keys: 1e-3 relative + 1e-5 absolute
    tol: { atol: 1e-5, rtol: 1e-3 },
    inputs: attnInputs,
    gpu: (rt, i) => {
      const f = attnForwardGpu(rt, i, version);
      const dOut = rt.upload(i.dOut, [AT.T, AT.H, AT.D]); // [T, H, D]
      const g = attentionBackward(rt, f.q, f.k, f.v, f.out, f.lse, dOut, { offset: AT.offset, version }); // dq [T, H, D], dk, dv [S, Hkv, D]
      return readAllAndFree(rt, [g.dq, g.dk, g.dv], f.q, f.k, f.v, f.out, f.lse, f.probs, dOut);
    },
    ref: (i) => {
      const r = attentionBackwardRef(i.q, i.k, i.v, i.dOut, AT, { offset: AT.offset });
      return concat(r.dq, r.dk, r.dv);
    },
  });
}

export const MATMUL_CASES: readonly SelfCheckCase[] = [
  defineCase({
    name: 'matmul_forward.tiled',
    shape: `[${MP.M}, ${MP.K}] · [${MP.K}, ${MP.N}], version tiled`,
    tol: matmulTol(MP.K, 1), // inputs in [-1, 1]: |a|·|b| ≤ 1
    inputs: (rng) => ({ a: rng.uniform(MP.M * MP.K), b: rng.uniform(MP.K * MP.N) }),
    gpu: (rt, i) => {
      const a = rt.upload(i.a, [MP.M, MP.K]), b = rt.upload(i.b, [MP.K, MP.N]); // [M, K], [K, N]
      return readAndFree(rt, matmul(rt, a, b, { version: 'tiled' }), a, b); // [M, N]
    },
    ref: (i) => matmulRef(i.a, i.b, MP.M, MP.N, MP.K),
  }),
  defineCase({
    name: 'matmul_forward.naive',
    shape: `[${MT.M}, ${MT.K}] · [${MT.N}, ${MT.K}]ᵀ + bias, version naive`,
    tol: matmulTol(MT.K, 1, 2), // inputs in [-1, 1], bias in [-2, 2]
    inputs: (rng) => ({ a: rng.uniform(MT.M * MT.K), w: rng.uniform(MT.N * MT.K), bias: rng.uniform(MT.N, -2, 2) }),
    gpu: (rt, i) => {
      const a = rt.upload(i.a, [MT.M, MT.K]); // [M, K]
      const w = rt.upload(i.w, [MT.N, MT.K]); // [N, K], nn.Linear's [out, in]
      const bias = rt.upload(i.bias, [MT.N]); // [N]
      return readAndFree(rt, matmul(rt, a, w, { transB: true, bias, version: 'naive' }), a, w, bias); // [M, N]
    },
    ref: (i) => matmulRef(i.a, i.w, MT.M, MT.N, MT.K, { transB: true, bias: i.bias }),
  }),
  vec4BiasCase('vec4', '', matmulTol(MV.K, 1, 2)), // inputs in [-1, 1], bias in [-2, 2]
  defineCase({
    name: 'matmul_forward.vec4_128x64',
    shape: `[${MR.M}, ${MR.K}] · [${MR.N}, ${MR.K}]ᵀ, version vec4, tile 128 x 64`,
    tol: matmulTol(MR.K, 1, 0), // inputs in [-1, 1]
    inputs: (rng) => ({ a: rng.uniform(MR.M * MR.K), w: rng.uniform(MR.N * MR.K) }),
    gpu: (rt, i) => {
      const a = rt.upload(i.a, [MR.M, MR.K]); // [M, K]
      const w = rt.upload(i.w, [MR.N, MR.K]); // [N, K]
      return readAndFree(rt, matmul(rt, a, w, { transB: true, version: 'vec4', tile: 128, tileN: 64 }), a, w); // [M, N]
    },
    ref: (i) => matmulRef(i.a, i.w, MR.M, MR.N, MR.K, { transB: true }),
  }),
  defineCase({
    name: 'matmul_forward.vec4_columns',
    shape: `[${MC.M}, ${MC.K}] · [${MC.N}, ${MC.K}]ᵀ + bias, version vec4 in two column blocks (KernelPrefs.tail 'columns')`,
    tol: matmulTol(MC.K, 1, 2), // inputs in [-1, 1], bias in [-2, 2]
    inputs: (rng) => ({ a: rng.uniform(MC.M * MC.K), w: rng.uniform(MC.N * MC.K), bias: rng.uniform(MC.N, -2, 2) }),
    gpu: (rt, i) => {
      const a = rt.upload(i.a, [MC.M, MC.K]); // [M, K]
      const w = rt.upload(i.w, [MC.N, MC.K]); // [N, K]
      const bias = rt.upload(i.bias, [MC.N]); // [N]
      const columnSplit = { n1: 128, waves: 1, tailTile: [64, 64] as [64, 64] };
      return readAndFree(rt, matmul(rt, a, w, { transB: true, bias, version: 'vec4', columnSplit }), a, w, bias); // [M, N]
    },
    ref: (i) => matmulRef(i.a, i.w, MC.M, MC.N, MC.K, { transB: true, bias: i.bias }),
  }),
  // the kernel's bound, 2·2^-11·Σ|a||b| with Σ|a||b| ≤ K for inputs in [-1, 1], plus the f32 tolerance
  vec4BiasCase('vec4h', ' (f16 operands, f32 sums)', { rtol: 1e-4, atol: 2 ** -10 * MV.K + matmulTol(MV.K, 1, 2).atol }, (rt) =>
    rt.ctx.hasF16 ? null : 'this GPU has no shader-f16 (mixed precision is opt-in; f32 runs everywhere)'),
  defineCase({
    name: 'softmax_forward',
    shape: `[3, 5, ${SM.n}], a masked and a huge row`,
    // 1e-5 relative: exp(x − max) carries ~6e-8·|x − max| relative error (std 5 logits); atol 1e-12
    // only for tail probabilities below fp32's normal range, which may flush to zero
    tol: { atol: 1e-12, rtol: 1e-5 },
    inputs: (rng) => {
      const x = rng.normal(SM.rows * SM.n, 5); // [rows, n]
      for (let j = 0; j < SM.n; j += 2) x[SM.n + j] = -3.402823e38; // row 1: half its entries masked
      for (let j = 0; j < SM.n; j++) x[2 * SM.n + j] += 1e4; // row 2: huge logits (exp would overflow unshifted)
      return { x };
    },
    gpu: (rt, i) => {
      const x = rt.upload(i.x, [3, 5, SM.n]); // [3, 5, n]
      return readAndFree(rt, softmax(rt, x), x); // [3, 5, n]
    },
    ref: (i) => softmaxRef(i.x, SM.n),
  }),
  defineCase({
    name: 'attention_forward',
    shape: `T=${AT.T}, S=${AT.S} (offset ${AT.offset}), H=${AT.H}, Hkv=${AT.Hkv}, D=${AT.D}, flash (out)`,
    // fp32 dot products, exp and an online-softmax rescale per key block: 1e-3 relative + 1e-5 absolute
    tol: { atol: 1e-5, rtol: 1e-3 },
    inputs: attnInputs,
    gpu: (rt, i) => {
      const f = attnForwardGpu(rt, i);
      return readAndFree(rt, f.out, f.q, f.k, f.v, f.lse, f.probs);
    },
    ref: (i) => attentionForwardRef(i.q, i.k, i.v, AT, { offset: AT.offset }).out,
  }),
  defineCase({
    name: 'attention_forward.probs',
    shape: `as attention_forward, writeProbs (lse ‖ probs [H, T, S])`,
    // lse = m + log l: 1e-5 relative + 1e-5 absolute; probs 1e-5 absolute (the kernel test's), and as
    // probs ≤ 1 the shared 1e-5 relative adds at most another 1e-5
    tol: { atol: 1e-5, rtol: 1e-5 },
    inputs: attnInputs,
    gpu: (rt, i) => {
      const f = attnForwardGpu(rt, i);
      return readAllAndFree(rt, [f.lse, f.probs], f.q, f.k, f.v, f.out);
    },
    ref: (i) => {
      const r = attentionForwardRef(i.q, i.k, i.v, AT, { offset: AT.offset });
      return concat(r.lse.map((x) => (x === -Infinity ? NEG_BIG : x)), r.probs);
    },
  }),
  defineCase({
    name: 'attention_forward.rows',
    shape: `as attention_forward, version 3 (rows): out ‖ lse`,
    tol: { atol: 1e-5, rtol: 1e-3 }, // as attention_forward (lse is well within it: 1e-5 relative in the kernel test)
    inputs: attnInputs,
    gpu: (rt, i) => {
      const f = attnForwardGpu(rt, i, 3);
      return readAllAndFree(rt, [f.out, f.lse], f.q, f.k, f.v, f.probs);
    },
    ref: (i) => {
      const r = attentionForwardRef(i.q, i.k, i.v, AT, { offset: AT.offset });
      return concat(r.out, r.lse.map((x) => (x === -Infinity ? NEG_BIG : x)));
    },
  }),
  defineCase({
    name: 'attention_explicit',
    shape: `as attention_forward, batched [1, …]: scores → pattern → z (pattern ‖ z)`,
    // fp32 dot products of D = 12 terms, exp over ≤ 9 visible keys and a 9-term weighted sum: ~1e-6
    // relative here; 1e-5 absolute + 1e-4 relative leaves room for a device's less exact exp
    tol: { atol: 1e-5, rtol: 1e-4 },
    inputs: attnInputs,
    gpu: (rt, i) => {
      const { T, S, H, Hkv, D, offset } = AT;
      const q = rt.upload(i.q, [1, T, H, D]), k = rt.upload(i.k, [1, S, Hkv, D]), v = rt.upload(i.v, [1, S, Hkv, D]);
      const scores = attentionScores(rt, q, k, { offset }); // [1, H, T, S]
      const pattern = attentionPattern(rt, scores, { offset }); // [1, H, T, S]
      const z = attentionApply(rt, pattern, v); // [1, T, H, D]
      return readAllAndFree(rt, [pattern, z], q, k, v, scores);
    },
    ref: (i) => {
      const pattern = attentionPatternRef(attentionScoresRef(i.q, i.k, AT, { offset: AT.offset }), AT, { offset: AT.offset });
      return concat(pattern, attentionApplyRef(pattern, i.v, AT));
    },
  }),
  defineCase({
    name: 'attention_explicit_backward',
    shape: `this batch's own keys (T = S = ${AX.T}), H ${AX.H} / Hkv ${AX.Hkv}, D ${AX.D}: dq ‖ dk ‖ dv from dz`,
    // the forward's pattern (explicit steps), then gather and the softmax's backward chained with the scores and
    // apply steps: sums of ≤ 21 fp32 products of O(1) terms, ~1e-6 here; the forward's tolerance leaves room
    tol: { atol: 1e-5, rtol: 1e-4 },
    inputs: (rng: Rng) => {
      const { T, H, Hkv, D } = AX;
      return { q: rng.normal(T * H * D), k: rng.normal(T * Hkv * D), v: rng.normal(T * Hkv * D), dz: rng.normal(T * H * D) };
    },
    gpu: (rt, i) => {
      const { T, H, Hkv, D } = AX;
      const [q, dz] = [rt.upload(i.q, [1, T, H, D]), rt.upload(i.dz, [1, T, H, D])];
      const [k, v] = [rt.upload(i.k, [1, T, Hkv, D]), rt.upload(i.v, [1, T, Hkv, D])];
      const scores = attentionScores(rt, q, k); // [1, H, T, T]
      const p = attentionPattern(rt, scores); // [1, H, T, T]
      const g = attentionExplicitBackward(rt, q, k, v, p, p, dz);
      return readAllAndFree(rt, [g.dq, g.dk, g.dv], q, k, v, dz, scores, p);
    },
    ref: (i) => {
      const p = attentionPatternRef(attentionScoresRef(i.q, i.k, AX), AX);
      const g = explicitBackwardRef(i.q, i.k, i.v, p, p, i.dz, AX);
      return concat(g.dq, g.dk, g.dv);
    },
  }),
  defineCase({
    name: 'copy_columns',
    shape: `the k window of ${AT.T} fused q|k|v rows of ${(AT.H + 2 * AT.Hkv) * AT.D}`,
    tol: { atol: 0, rtol: 0 }, // a copy: bit for bit
    inputs: (rng) => ({ qkv: rng.normal(AT.T * (AT.H + 2 * AT.Hkv) * AT.D) }),
    gpu: (rt, i) => {
      const W = (AT.H + 2 * AT.Hkv) * AT.D, K = AT.Hkv * AT.D;
      const src = rt.upload(i.qkv, [AT.T, W]), dst = rt.zeros([AT.T, K]); // [T, W] → [T, Hkv·D]
      copyColumns(rt, src, dst, { cols: K, srcOffset: AT.H * AT.D, dstOffset: 0 });
      return readAndFree(rt, dst, src);
    },
    ref: (i) => {
      const W = (AT.H + 2 * AT.Hkv) * AT.D, K = AT.Hkv * AT.D;
      return copyColumnsRef(i.qkv, W, new Float64Array(AT.T * K), K, { cols: K, srcOffset: AT.H * AT.D, dstOffset: 0 });
    },
  }),
  attnBackwardCase('attention_backward', 'as attention_forward, flash (dq ‖ dk ‖ dv)', 2),
  attnBackwardCase('attention_backward.rows', 'as attention_backward, version 3 (rows) after the rows forward (dq ‖ dk ‖ dv)', 3),
];
