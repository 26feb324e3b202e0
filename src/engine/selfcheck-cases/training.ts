// Self-check cases for the training kernels: cross-entropy (fwd rows, fwd mean, bwd), AdamW, the
// global grad norm, LoRA (fwd, bwd), and the products a LoRA step runs its adapters with (matmul_skinny and
// matmul_atb over column / row blocks of a fused q|k|v gradient, matmul_short_k, lora_forward's blocks). Shapes are tiny (SwiftShader runs ~0.25 GFLOP/s) and not
// multiples of the workgroup sizes (256, 16×16). Tolerances are the kernels' own tests'.

import type { SelfCheckCase } from '../selfcheck.ts';
import type { Rng } from '../util/rng.ts';
import { usingKernelPrefs } from '../gpu/kernel-prefs.ts';
import { defineCase, readAllAndFree, readAndFree, concat } from './helpers.ts';
import { crossEntropyForward, IGNORE_INDEX } from '../../../shaders/cross_entropy_forward.ts';
import { crossEntropyForwardRef } from '../../../shaders/cross_entropy_forward.ref.ts';
import { crossEntropyBackward } from '../../../shaders/cross_entropy_backward.ts';
import { crossEntropyBackwardRef } from '../../../shaders/cross_entropy_backward.ref.ts';
import { adamwStep, type AdamWHyper } from '../../../shaders/adamw.ts';
import { adamwRef } from '../../../shaders/adamw.ref.ts';
import { gradNormClip } from '../../../shaders/grad_norm.ts';
import { gradNormClipRef } from '../../../shaders/grad_norm.ref.ts';
import { loraForward, loraForwardBlocks } from '../../../shaders/lora_forward.ts';
import { loraForwardBlocksRef, loraForwardRef } from '../../../shaders/lora_forward.ref.ts';
import { loraBackward } from '../../../shaders/lora_backward.ts';
import { loraBackwardRef } from '../../../shaders/lora_backward.ref.ts';
import { matmulSkinny } from '../../../shaders/matmul_skinny.ts';
import { matmulSkinnyBlocksRef } from '../../../shaders/matmul_skinny.ref.ts';
import { atbJob, runAtb } from '../../../shaders/matmul_atb.ts';
import { matmulAtBRef } from '../../../shaders/matmul_atb.ref.ts';
import { matmulShortK } from '../../../shaders/matmul_short_k.ts';
import { matmulShortKRef } from '../../../shaders/matmul_short_k.ref.ts';
import { matmul } from '../../../shaders/matmul_forward.ts';
import { matmulRef } from '../../../shaders/matmul_forward.ref.ts';

// ---- cross-entropy: N rows of V logits, two ignored rows -----------------------------------------
const CE = { N: 9, V: 50, gradScale: 0.37 };

function ceInputs(rng: Rng) {
  const logits = rng.normal(CE.N * CE.V, 2); // [N, V]
  const targets = rng.ints(CE.N, 0, CE.V); // [N]
  targets[1] = targets[5] = IGNORE_INDEX; // ignored rows: loss 0, gradient 0, not counted
  targets[CE.N - 1] = CE.V - 1; // the last class
  return { logits, targets };
}

// ---- AdamW: one step at t = 3 from non-zero moments, with a clip coefficient -------------------
const AW = { n: 300, gStd: 1e-2, clip: 0.8 };
const AW_HP: AdamWHyper = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, step: 3 };
// m and v are compared scaled by these (in float64, on both sides), so that one atol serves p, m, v
const M_SCALE = 0.1, V_SCALE = 10;

// ---- LoRA: y += scale · (x Aᵀ) Bᵀ ------------------------------------------------------------
const LO = { N: 9, din: 37, r: 3, dout: 23, scale: 2 }; // scale = alpha / r, not 1 so a lost scale shows

function loraInputs(rng: Rng) {
  const { N, din, r, dout } = LO;
  return {
    x: rng.uniform(N * din, -1, 1), // [N, in]
    A: rng.uniform(r * din, -0.5, 0.5), // [r, in]
    B: rng.uniform(dout * r, -0.5, 0.5), // [out, r]
  };
}

// ---- a LoRA step's grouped products: q|k|v of a fused gradient dqkv [N, W], windows starting at QKV.starts ----
const QKV = { N: 11, W: 48, r: 4, starts: [0, 32, 40], din: 20 }; // q 32 wide, k and v 8 (16 for lora_forward's tiles)
const QKV16 = { N: 11, W: 64, r: 4, starts: [0, 32, 48] }; // lora_forward's blocks: starts multiples of its 16-tile
// fp32 sums of ≤ 48 products of |x| < 1: the matmul tolerance (1e-4 relative) with 1e-5·sqrt(K) absolute
const groupTol = (K: number) => ({ rtol: 1e-4, atol: Number((1e-5 * Math.sqrt(K)).toPrecision(2)) });

export const TRAINING_CASES: readonly SelfCheckCase[] = [
  defineCase({
    name: 'cross_entropy_forward',
    shape: `N=${CE.N}, V=${CE.V}, 2 ignored rows (rowLoss ‖ lse)`,
    // 1e-5 relative, plus 1e-6 absolute: WGSL's log() near 1 has absolute error ≤ 2^-21 (spec)
    tol: { atol: 1e-6, rtol: 1e-5 },
    inputs: ceInputs,
    gpu: (rt, i) => {
      const logits = rt.upload(i.logits, [CE.N, CE.V]), targets = rt.upload(i.targets, [CE.N]); // [N, V], [N]
      const f = crossEntropyForward(rt, logits, targets); // rowLoss [N], lse [N], loss [1], count [1]
      return readAllAndFree(rt, [f.rowLoss, f.lse], logits, targets, f.loss, f.count);
    },
    ref: (i) => {
      const r = crossEntropyForwardRef(i.logits, i.targets, CE.N, CE.V);
      return concat(r.rowLoss, r.lse);
    },
  }),
  defineCase({
    name: 'cross_entropy_forward.mean',
    shape: `N=${CE.N}, V=${CE.V} (loss ‖ count)`,
    // the mean of a few f32 row losses (blocked + tree): 1e-5 relative; count is an exact integer
    tol: { atol: 0, rtol: 1e-5 },
    inputs: ceInputs,
    gpu: (rt, i) => {
      const logits = rt.upload(i.logits, [CE.N, CE.V]), targets = rt.upload(i.targets, [CE.N]);
      const f = crossEntropyForward(rt, logits, targets);
      return readAllAndFree(rt, [f.loss, f.count], logits, targets, f.rowLoss, f.lse); // count: u32 read as its value
    },
    ref: (i) => {
      const r = crossEntropyForwardRef(i.logits, i.targets, CE.N, CE.V);
      return [r.loss, r.count];
    },
  }),
  defineCase({
    name: 'cross_entropy_backward',
    shape: `N=${CE.N}, V=${CE.V}, gradScale ${CE.gradScale}`,
    // softmax − onehot, scaled: 1e-5 relative; atol 1e-7 for probabilities that underflow to ~0
    tol: { atol: 1e-7, rtol: 1e-5 },
    inputs: ceInputs,
    gpu: (rt, i) => {
      const logits = rt.upload(i.logits, [CE.N, CE.V]), targets = rt.upload(i.targets, [CE.N]);
      const f = crossEntropyForward(rt, logits, targets); // lse and count feed the backward
      const d = crossEntropyBackward(rt, logits, targets, f.lse, f.count, { gradScale: CE.gradScale }); // [N, V]
      return readAndFree(rt, d, logits, targets, f.loss, f.rowLoss, f.lse, f.count);
    },
    ref: (i) => crossEntropyBackwardRef(i.logits, i.targets, CE.N, CE.V, CE.gradScale),
  }),
  defineCase({
    name: 'adamw',
    shape: `n=${AW.n}, step ${AW_HP.step}, clip ${AW.clip} (p ‖ ${M_SCALE}·m ‖ ${V_SCALE}·v)`,
    // the kernel test's tolerances, 1e-6 relative with absolute floors 1e-6·lr (p), 1e-6·gStd (m),
    // 1e-6·gStd² (v): f32 rounds p twice a step, m and v keep the rounding of the terms they sum.
    // m·0.1 and v·10 turn those floors into one: 1e-9 = 1e-6·lr.
    tol: { atol: 1e-6 * AW_HP.lr, rtol: 1e-6 },
    inputs: (rng) => {
      const g = rng.normal(AW.n, AW.gStd);
      return { p: rng.normal(AW.n, 0.5), g, m: rng.normal(AW.n, AW.gStd), v: rng.normal(AW.n, AW.gStd).map((x) => x * x) };
    },
    gpu: async (rt, i) => {
      const [p, g, m, v] = [i.p, i.g, i.m, i.v].map((a) => rt.upload(a, [AW.n])); // [n] each
      const clip = rt.upload(new Float32Array([AW.clip]), [1]); // [1] clip coefficient
      adamwStep(rt, p, g, m, v, clip, AW_HP); // p, m, v in place
      const r = await readAllAndFree(rt, [p, m, v], g, clip);
      return r.map((x, k) => (k < AW.n ? x : k < 2 * AW.n ? x * M_SCALE : x * V_SCALE));
    },
    ref: (i) => {
      const r = adamwRef(i.p, i.g, i.m, i.v, AW.clip, AW_HP);
      return concat(r.p, r.m.map((x) => x * M_SCALE), r.v.map((x) => x * V_SCALE));
    },
  }),
  defineCase({
    name: 'grad_norm',
    shape: 'grads [37] + [5, 60], maxNorm 1 ([norm, coef])',
    // Σ g² of non-negative f32 terms (blocked + tree) → ≲ 3e-6 relative; sqrt halves it: 1e-5 relative
    tol: { atol: 0, rtol: 1e-5 },
    inputs: (rng) => ({ a: rng.normal(37, 0.1), b: rng.normal(300, 0.1) }), // norm ≈ 1.8 → coef ≈ 0.55
    gpu: (rt, i) => {
      const a = rt.upload(i.a, [37]), b = rt.upload(i.b, [5, 60]);
      return readAndFree(rt, gradNormClip(rt, [a, b], 1), a, b); // [2] = [norm, coef]
    },
    ref: (i) => gradNormClipRef([i.a, i.b], 1),
  }),
  defineCase({
    name: 'lora_forward',
    shape: `N=${LO.N}, in=${LO.din}, r=${LO.r}, out=${LO.dout} (xa ‖ y +=)`,
    // fp32 matmul-class sums: 1e-4 relative; atol 1e-6·max|xa| (2.51 here; the y update's max is 3.60)
    // as the kernel test, for sums that cancel to ~0
    tol: { atol: 2.5e-6, rtol: 1e-4 },
    inputs: (rng) => ({ ...loraInputs(rng), y0: rng.uniform(LO.N * LO.dout, -1, 1) }), // y0: the base output, kept
    gpu: (rt, i) => {
      const { N, din, r, dout } = LO;
      const x = rt.upload(i.x, [N, din]), A = rt.upload(i.A, [r, din]), B = rt.upload(i.B, [dout, r]);
      const y = rt.upload(i.y0, [N, dout]); // [N, out], updated in place
      const { xa } = loraForward(rt, x, A, B, y, LO.scale); // xa [N, r]
      return readAllAndFree(rt, [xa, y], x, A, B);
    },
    ref: (i) => {
      const r = loraForwardRef(i.x, i.A, i.B, i.y0, LO.N, LO.din, LO.r, LO.dout, LO.scale);
      return concat(r.xa, r.y);
    },
  }),
  defineCase({
    name: 'lora_backward',
    shape: `N=${LO.N}, in=${LO.din}, r=${LO.r}, out=${LO.dout} (dA ‖ dB ‖ dx, all +=)`,
    // fp32 matmul-class sums: 1e-4 relative; atol 1e-6·max|update| as the kernel test, taken from the
    // smallest update here (dx: 3.85; dA 11.9, dB 10.4), for sums that cancel to ~0
    tol: { atol: 3.8e-6, rtol: 1e-4 },
    inputs: (rng) => {
      const v = loraInputs(rng);
      const { N, din, r, dout } = LO;
      // xa as the forward gives it (float64 forward rounded to f32)
      const xa = Float32Array.from(loraForwardRef(v.x, v.A, v.B, new Float32Array(N * dout), N, din, r, dout, LO.scale).xa); // [N, r]
      // gradients hold earlier values: the kernels add to them
      return { ...v, xa, dy: rng.uniform(N * dout, -1, 1), dA0: rng.uniform(r * din, -1, 1), dB0: rng.uniform(dout * r, -1, 1), dx0: rng.uniform(N * din, -1, 1) };
    },
    gpu: (rt, i) => {
      const { N, din, r, dout } = LO;
      const x = rt.upload(i.x, [N, din]), A = rt.upload(i.A, [r, din]), B = rt.upload(i.B, [dout, r]);
      const xa = rt.upload(i.xa, [N, r]), dy = rt.upload(i.dy, [N, dout]);
      const dA = rt.upload(i.dA0, [r, din]), dB = rt.upload(i.dB0, [dout, r]), dx = rt.upload(i.dx0, [N, din]);
      loraBackward(rt, x, A, B, xa, dy, LO.scale, { dA, dB, dx });
      return readAllAndFree(rt, [dA, dB, dx], x, A, B, xa, dy);
    },
    ref: (i) => {
      const r = loraBackwardRef(i.x, i.A, i.B, i.xa, i.dy, LO.N, LO.din, LO.r, LO.dout, LO.scale, { dA0: i.dA0, dB0: i.dB0, dx0: i.dx0 });
      return concat(r.dA, r.dB, r.dx!);
    },
  }),
  defineCase({
    name: 'matmul_skinny.blocks',
    shape: `dqkv [${QKV.N}, ${QKV.W}] · B [${QKV.W}, ${QKV.r}] by blocks ${QKV.starts.join('|')} → dxa [${QKV.N}, ${3 * QKV.r}], alpha 2, +=`,
    tol: groupTol(QKV.W),
    inputs: (rng) => ({ dy: rng.uniform(QKV.N * QKV.W), B: rng.uniform(QKV.W * QKV.r), o0: rng.uniform(QKV.N * 3 * QKV.r) }),
    gpu: (rt, i) => {
      const { N, W, r, starts } = QKV;
      const dy = rt.upload(i.dy, [N, W]), B = rt.upload(i.B, [W, r]), out = rt.upload(i.o0, [N, 3 * r]); // dqkv, B_q|B_k|B_v, dxa
      matmulSkinny(rt, dy, B, { alpha: 2, blocks: starts, out, accumulate: true });
      return readAndFree(rt, out, dy, B);
    },
    ref: (i) => matmulSkinnyBlocksRef(i.dy, i.B, QKV.N, QKV.W, 0, QKV.W, QKV.r, QKV.starts, { alpha: 2, accumulateInto: i.o0 }),
  }),
  defineCase({
    name: 'matmul_atb',
    shape: `dB [${QKV.W}, ${QKV.r}] += 2 · dqkvᵀ · xa (row blocks ${QKV.starts.join('|')}), dA [${3 * QKV.r}, ${QKV.din}] += dxaᵀ · x (K = ${QKV.N}), one dispatch of two jobs`,
    tol: groupTol(QKV.N),
    inputs: (rng) => {
      const { N, W, r, din } = QKV;
      return { dy: rng.uniform(N * W), xa: rng.uniform(N * 3 * r), dB0: rng.uniform(W * r), dxa: rng.uniform(N * 3 * r), x: rng.uniform(N * din), dA0: rng.uniform(3 * r * din) };
    },
    gpu: (rt, i) => {
      const { N, W, r, din, starts } = QKV;
      const dy = rt.upload(i.dy, [N, W]), xa = rt.upload(i.xa, [N, 3 * r]), dB = rt.upload(i.dB0, [W, r]); // dqkv, stacked xa, dB_q|dB_k|dB_v
      const dxa = rt.upload(i.dxa, [N, 3 * r]), x = rt.upload(i.x, [N, din]), dA = rt.upload(i.dA0, [3 * r, din]); // stacked dxa, x, dA_q|dA_k|dA_v
      // as the training step runs them: both products in one dispatch (two jobs)
      runAtb(rt, [atbJob(rt, dy, xa, { alpha: 2, bCols: { offset: 0, width: r }, blocks: starts, out: dB, accumulate: true }), atbJob(rt, dxa, x, { out: dA, accumulate: true })]);
      return readAllAndFree(rt, [dB, dA], dy, xa, dxa, x);
    },
    ref: (i) => {
      const { N, W, r, din, starts } = QKV;
      const dB = matmulAtBRef(i.dy, i.xa, N, { ld: W, offset: 0, width: W }, { ld: 3 * r, offset: 0, width: r }, { alpha: 2, accumulateInto: i.dB0, blocks: starts });
      const dA = matmulAtBRef(i.dxa, i.x, N, { ld: 3 * r, offset: 0, width: 3 * r }, { ld: din, offset: 0, width: din }, { accumulateInto: i.dA0 });
      return concat(dB, dA);
    },
  }),
  defineCase({
    name: 'matmul_short_k',
    shape: `dx [${QKV.N}, ${QKV.din}] += dxa [${QKV.N}, ${3 * QKV.r}] · A [${3 * QKV.r}, ${QKV.din}]`,
    tol: groupTol(3 * QKV.r),
    inputs: (rng) => ({ t: rng.uniform(QKV.N * 3 * QKV.r), w: rng.uniform(3 * QKV.r * QKV.din), o0: rng.uniform(QKV.N * QKV.din) }),
    gpu: (rt, i) => {
      const { N, r, din } = QKV;
      const t = rt.upload(i.t, [N, 3 * r]), w = rt.upload(i.w, [3 * r, din]), out = rt.upload(i.o0, [N, din]);
      matmulShortK(rt, t, w, { out, accumulate: true });
      return readAndFree(rt, out, t, w);
    },
    ref: (i) => matmulShortKRef(i.t, i.w, QKV.N, 3 * QKV.r, QKV.din, { accumulateInto: i.o0 }),
  }),
  defineCase({
    name: 'lora_forward.blocks',
    shape: `y [${QKV16.N}, ${QKV16.W}] += 2 · xa_t B_tᵀ on column blocks ${QKV16.starts.join('|')}, r ${QKV16.r}`,
    tol: groupTol(QKV16.r),
    inputs: (rng) => ({ xa: rng.uniform(QKV16.N * 3 * QKV16.r), B: rng.uniform(QKV16.W * QKV16.r), y0: rng.uniform(QKV16.N * QKV16.W) }),
    gpu: (rt, i) => {
      const { N, W, r, starts } = QKV16;
      const xa = rt.upload(i.xa, [N, 3 * r]), B = rt.upload(i.B, [W, r]), y = rt.upload(i.y0, [N, W]); // stacked xa, B_q|B_k|B_v, fused rows
      loraForwardBlocks(rt, xa, B, y, 2, starts);
      return readAndFree(rt, y, xa, B);
    },
    ref: (i) => loraForwardBlocksRef(i.xa, i.B, i.y0, QKV16.N, QKV16.W, QKV16.r, 2, QKV16.starts),
  }),
  // the adapters' terms folded into the projection (model/block-adapters.ts; opt-in, KernelPrefs.lowrank): q|k|v's in
  // the split-K reduce, as column blocks, beside an addend (a kept residual); an input gradient's dxa·A as the vec4
  // kernel's last K steps
  defineCase({
    name: 'matmul_forward.splitk_lowrank',
    shape: `y [${QKV.N}, ${QKV.W}] = x [${QKV.N}, ${QKV.din}] · Wᵀ + y0 + 2 · xa_t B_tᵀ on column blocks ${QKV.starts.join('|')}, 2 K ranges`,
    tol: groupTol(QKV.din + QKV.r),
    inputs: (rng) => ({ x: rng.uniform(QKV.N * QKV.din), w: rng.uniform(QKV.W * QKV.din), y0: rng.uniform(QKV.N * QKV.W), xa: rng.uniform(QKV.N * 3 * QKV.r), B: rng.uniform(QKV.W * QKV.r) }),
    gpu: (rt, i) => {
      const { N, W, r, din, starts } = QKV;
      const x = rt.upload(i.x, [N, din]), w = rt.upload(i.w, [W, din]), y0 = rt.upload(i.y0, [N, W]), xa = rt.upload(i.xa, [N, 3 * r]), B = rt.upload(i.B, [W, r]);
      const y = rt.empty([N, W]);
      usingKernelPrefs(rt, { lowrank: 'reduce' }, () => matmul(rt, x, w, { transB: true, version: 'splitk', splits: 2, out: y, addend: y0, lowRank: { p: xa, q: B, k: r, alpha: 2, starts, orElse: () => { throw new Error('the term was not folded'); } } }));
      return readAndFree(rt, y, x, w, y0, xa, B);
    },
    ref: (i) => matmulRef(i.x, i.w, QKV.N, QKV.W, QKV.din, { transB: true, accumulateInto: i.y0, lowRank: { p: i.xa, pStride: 3 * QKV.r, q: i.B, k: QKV.r, alpha: 2, starts: QKV.starts } }),
  }),
  defineCase({
    name: 'matmul_forward.vec4_lowrank',
    shape: `dx [${QKV.N}, ${QKV.din}] = dy [${QKV.N}, ${QKV.W}] · W + dxa [${QKV.N}, ${3 * QKV.r}] · A [${3 * QKV.r}, ${QKV.din}], version vec4`,
    tol: groupTol(QKV.W + 3 * QKV.r),
    inputs: (rng) => ({ dy: rng.uniform(QKV.N * QKV.W), w: rng.uniform(QKV.W * QKV.din), dxa: rng.uniform(QKV.N * 3 * QKV.r), A: rng.uniform(3 * QKV.r * QKV.din) }),
    gpu: (rt, i) => {
      const { N, W, r, din } = QKV;
      const dy = rt.upload(i.dy, [N, W]), w = rt.upload(i.w, [W, din]), dxa = rt.upload(i.dxa, [N, 3 * r]), A = rt.upload(i.A, [3 * r, din]);
      const dx = usingKernelPrefs(rt, { lowrank: 'all' }, () => matmul(rt, dy, w, { version: 'vec4', lowRank: { p: dxa, q: A, transQ: true, k: 3 * r, alpha: 1, orElse: () => { throw new Error('the term was not folded'); } } }));
      return readAndFree(rt, dx, dy, w, dxa, A);
    },
    ref: (i) => matmulRef(i.dy, i.w, QKV.N, QKV.din, QKV.W, { lowRank: { p: i.dxa, pStride: 3 * QKV.r, q: i.A, transQ: true, k: 3 * QKV.r, alpha: 1 } }),
  }),
];
