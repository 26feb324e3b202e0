// Self-check cases for the per-token layer kernels: RMSNorm, RoPE, SwiGLU, embedding (fwd + bwd).
// Shapes are tiny (SwiftShader runs ~0.25 GFLOP/s) and not multiples of the workgroup size (256).
// Tolerances are the kernels' own tests' (shaders/<name>.test.ts), with the reason beside each.

import type { SelfCheckCase } from '../selfcheck.ts';
import type { Rng } from '../util/rng.ts';
import { defineCase, readAllAndFree, readAndFree, concat } from './helpers.ts';
import { toHalfBits, fromHalfBits } from '../gpu/half.ts';
import { rmsnormForward } from '../../../shaders/rmsnorm_forward.ts';
import { rmsnormForwardRef } from '../../../shaders/rmsnorm_forward.ref.ts';
import { rmsnormBackward } from '../../../shaders/rmsnorm_backward.ts';
import { rmsnormBackwardRef } from '../../../shaders/rmsnorm_backward.ref.ts';
import { ropeForward, ropeInvFreq } from '../../../shaders/rope_forward.ts';
import { ropeForwardRef, ropePositions } from '../../../shaders/rope_forward.ref.ts';
import { ropeBackward } from '../../../shaders/rope_backward.ts';
import { ropeBackwardRef } from '../../../shaders/rope_backward.ref.ts';
import { swigluForward } from '../../../shaders/swiglu_forward.ts';
import { swigluForwardRef } from '../../../shaders/swiglu_forward.ref.ts';
import { swigluBackward } from '../../../shaders/swiglu_backward.ts';
import { swigluBackwardRef } from '../../../shaders/swiglu_backward.ref.ts';
import { embeddingForward } from '../../../shaders/embedding_forward.ts';
import { embeddingForwardRef } from '../../../shaders/embedding_forward.ref.ts';
import { embeddingBackward } from '../../../shaders/embedding_backward.ts';
import { embeddingBackwardRef } from '../../../shaders/embedding_backward.ref.ts';

// ---- RMSNorm: N rows of C channels -----------------------------------------------------------
const RN = { N: 7, C: 33, eps: 1e-6 };

// ---- RoPE: forward at small positions, backward at per-token positions past 2^15 ----------------
const RF = { T: 7, H: 3, D: 10, theta: 10000, offset: 3 }; // 7·3·5 = 105 pairs
const RB = { B: 2, T: 4, H: 2, D: 12, theta: 1e6, offset: 7 }; // 2·4·2·6 = 96 pairs
// Tolerance: WGSL promises sin/cos only to 2^-11 absolute on [−π, π] (spec, "accuracy of built-in
// functions"), and SwiftShader (Chromium without a GPU) uses it: ~4e-4 off on |x| ~ 2. An output
// x1·cos a ∓ x2·sin a is then off by ≤ 2^-11·(|x1| + |x2|) ≤ 2^-10 for inputs in [−1, 1]; the angle
// reduction adds ≤ 3e-6 rad. The kernel test's 1e-5 / 2e-5 hold where sin/cos are accurate (lavapipe:
// worst 1.5e-6 here; the Node engine test keeps every case's error ≤ 1e-5), not on every device.
const ROPE_TOL = { atol: 2 ** -10, rtol: 1e-5 };

// ---- SwiGLU and embedding -------------------------------------------------------------------
const SW = { N: 7, F: 37 };
const EM = { V: 50, C: 19, N: 9 };

/** Ids with repeats (frequent small ids), the last id V − 1, and two out-of-range ids (−1, V). */
function embeddingIds(rng: Rng, N: number, V: number): Int32Array {
  const ids = Int32Array.from({ length: N }, (_, n) => (n % 3 === 0 ? rng.int(0, 4) : rng.int(0, V)));
  ids[N - 3] = V - 1;
  ids[N - 2] = -1; // skipped: zero row forward, no gradient backward
  ids[N - 1] = V;
  return ids;
}

export const LAYER_CASES: readonly SelfCheckCase[] = [
  defineCase({
    name: 'rmsnorm_forward',
    shape: `N=${RN.N}, C=${RN.C} (y ‖ rstd)`,
    // fp32 row sum of C squares (tree order) and a few roundings → ~1e-6 relative; 1e-5 leaves margin
    tol: { atol: 1e-6, rtol: 1e-5 },
    inputs: (rng) => ({ x: rng.normal(RN.N * RN.C), w: rng.uniform(RN.C, 0.5, 1.5) }),
    gpu: (rt, i) => {
      const x = rt.upload(i.x, [RN.N, RN.C]), w = rt.upload(i.w, [RN.C]); // [N, C], [C]
      const { y, rstd } = rmsnormForward(rt, x, w, RN.eps); // [N, C], [N]
      return readAllAndFree(rt, [y, rstd], x, w);
    },
    ref: (i) => {
      const r = rmsnormForwardRef(i.x, i.w, RN.N, RN.C, RN.eps);
      return concat(r.y, r.rstd);
    },
  }),
  defineCase({
    name: 'rmsnorm_backward',
    shape: `N=${RN.N}, C=${RN.C}, w bf16 (dx ‖ dw +=)`,
    // as the kernel test: 1e-5 relative; atol 1e-6 ≤ its per-row 1e-6·rstd·max|w·dy| (rstd ≈ 1 and
    // max|w·dy| > 1 here), the size of the dx terms that cancel; dw sums 7 rows → the same bound
    tol: { atol: 1e-6, rtol: 1e-5 },
    inputs: (rng) => {
      const bits = toHalfBits(rng.uniform(RN.C, 0.5, 1.5), 'bf16'); // bf16 weight: two halves per u32, odd C
      return { x: rng.normal(RN.N * RN.C), bits, w: fromHalfBits(bits, 'bf16'), dy: rng.normal(RN.N * RN.C), dw0: rng.normal(RN.C) };
    },
    gpu: (rt, i) => {
      const x = rt.upload(i.x, [RN.N, RN.C]); // [N, C]
      const w = rt.upload(i.bits, [RN.C], 'bf16'); // [C]
      const dy = rt.upload(i.dy, [RN.N, RN.C]); // [N, C]
      const dw = rt.upload(i.dw0, [RN.C]); // [C], accumulated into: starts non-zero
      const { y, rstd } = rmsnormForward(rt, x, w, RN.eps); // rstd [N] as training keeps it
      const { dx } = rmsnormBackward(rt, x, w, rstd, dy, dw); // [N, C]
      return readAllAndFree(rt, [dx, dw], x, w, dy, y, rstd);
    },
    ref: (i) => {
      const r = rmsnormBackwardRef(i.x, i.w, i.dy, RN.N, RN.C, RN.eps);
      return concat(r.dx, r.dw.map((v, c) => v + i.dw0[c]));
    },
  }),
  defineCase({
    name: 'rope_forward',
    shape: `T=${RF.T}, H=${RF.H}, D=${RF.D}, θ=1e4, offset ${RF.offset}`,
    // ROPE_TOL (see above): the kernel test's 1e-5 needs accurate sin/cos, which WGSL does not promise
    tol: ROPE_TOL,
    inputs: (rng) => ({ x: rng.uniform(RF.T * RF.H * RF.D, -1, 1) }), // |x| ≤ 1: ROPE_TOL's bound
    gpu: (rt, i) => {
      const x = rt.upload(i.x, [RF.T, RF.H, RF.D]); // [T, H, D]
      return readAndFree(rt, ropeForward(rt, x, { theta: RF.theta, offset: RF.offset }), x); // [T, H, D]
    },
    ref: (i) => ropeForwardRef(i.x, RF.T, RF.H, RF.D, ropePositions(RF.T, RF.T, RF.offset), ropeInvFreq(RF.theta, RF.D)),
  }),
  defineCase({
    name: 'rope_backward',
    shape: `B=${RB.B}, T=${RB.T}, H=${RB.H}, D=${RB.D}, θ=1e6, positions to 2^24−1`,
    // ROPE_TOL (see above). Positions up to 2^24 − 1 keep the check on the exact angle reduction:
    // an angle formed in f32 there is off by up to 1 rad, far outside it
    tol: ROPE_TOL,
    inputs: (rng) => {
      // per-token positions across the 12-bit split, 2^15 and the 2^24 − 1 limit (offset added)
      const pos = Int32Array.from([0, 4095, 4096, 32767, 32768, 1_000_003, 16_777_215 - RB.offset, 12345]);
      return { pos, dy: rng.uniform(RB.B * RB.T * RB.H * RB.D, -1, 1) }; // |dy| ≤ 1: ROPE_TOL's bound
    },
    gpu: (rt, i) => {
      const dy = rt.upload(i.dy, [RB.B, RB.T, RB.H, RB.D]); // [B, T, H, D]
      const pos = rt.upload(i.pos, [RB.B * RB.T]); // [B·T] i32
      const dx = ropeBackward(rt, dy, { theta: RB.theta, positions: pos, offset: RB.offset }); // [B, T, H, D]
      return readAndFree(rt, dx, dy, pos);
    },
    ref: (i) => {
      const R = RB.B * RB.T;
      return ropeBackwardRef(i.dy, R, RB.H, RB.D, ropePositions(R, RB.T, RB.offset, i.pos), ropeInvFreq(RB.theta, RB.D));
    },
  }),
  defineCase({
    name: 'swiglu_forward',
    shape: `N=${SW.N}, F=${SW.F}`,
    // a few roundings (exp, divide, 2 products) → ≲ 2e-6 relative; atol 1e-6 for values that underflow
    tol: { atol: 1e-6, rtol: 1e-5 },
    inputs: (rng) => {
      const gate = rng.normal(SW.N * SW.F, 2);
      gate.set([30, -30, 0, -1.2785], gate.length - 4); // saturated sigmoid both ways, 0, dgate's zero
      return { gate, up: rng.normal(SW.N * SW.F) };
    },
    gpu: (rt, i) => {
      const g = rt.upload(i.gate, [SW.N, SW.F]), u = rt.upload(i.up, [SW.N, SW.F]); // [N, F] each
      return readAndFree(rt, swigluForward(rt, g, u), g, u); // [N, F]
    },
    ref: (i) => swigluForwardRef(i.gate, i.up),
  }),
  defineCase({
    name: 'swiglu_backward',
    shape: `N=${SW.N}, F=${SW.F} (dgate ‖ dup)`,
    // as swiglu_forward: a few roundings → ≲ 2e-6 relative; atol 1e-6 for values that underflow
    tol: { atol: 1e-6, rtol: 1e-5 },
    inputs: (rng) => {
      const gate = rng.normal(SW.N * SW.F, 2);
      gate.set([30, -30, 0, -1.2785], gate.length - 4);
      return { gate, up: rng.normal(SW.N * SW.F), dout: rng.normal(SW.N * SW.F) };
    },
    gpu: (rt, i) => {
      const sh = [SW.N, SW.F];
      const g = rt.upload(i.gate, sh), u = rt.upload(i.up, sh), d = rt.upload(i.dout, sh); // [N, F] each
      const { dgate, dup } = swigluBackward(rt, g, u, d); // [N, F] each
      return readAllAndFree(rt, [dgate, dup], g, u, d);
    },
    ref: (i) => {
      const r = swigluBackwardRef(i.gate, i.up, i.dout);
      return concat(r.dgate, r.dup);
    },
  }),
  defineCase({
    name: 'embedding_forward',
    shape: `V=${EM.V}, C=${EM.C}, N=${EM.N}, bf16 table`,
    // a gather copies values (bf16 widens exactly to f32): bit-exact
    tol: { atol: 0, rtol: 0 },
    inputs: (rng) => {
      const bits = toHalfBits(rng.normal(EM.V * EM.C), 'bf16'); // odd C: rows straddle u32 words
      return { ids: embeddingIds(rng, EM.N, EM.V), bits, table: fromHalfBits(bits, 'bf16') };
    },
    gpu: (rt, i) => {
      const ids = rt.upload(i.ids, [EM.N]); // [N] i32
      const table = rt.upload(i.bits, [EM.V, EM.C], 'bf16'); // [V, C]
      return readAndFree(rt, embeddingForward(rt, ids, table), ids, table); // [N, C]
    },
    ref: (i) => embeddingForwardRef(i.ids, i.table, EM.V, EM.C),
  }),
  defineCase({
    name: 'embedding_backward',
    shape: `V=${EM.V}, C=${EM.C}, N=${EM.N} (dtable +=)`,
    // scatter sums: each dtable element sums its repeats in fp32 (≤ 9 terms here) → 1e-6 relative and absolute
    tol: { atol: 1e-6, rtol: 1e-6 },
    inputs: (rng) => ({ ids: embeddingIds(rng, EM.N, EM.V), dout: rng.normal(EM.N * EM.C), dtable0: rng.normal(EM.V * EM.C) }),
    gpu: (rt, i) => {
      const dout = rt.upload(i.dout, [EM.N, EM.C]); // [N, C]
      const dtable = rt.upload(i.dtable0, [EM.V, EM.C]); // [V, C], accumulated into: starts non-zero
      embeddingBackward(rt, i.ids, dout, dtable);
      return readAndFree(rt, dtable, dout);
    },
    ref: (i) => embeddingBackwardRef(i.ids, i.dout, EM.V, EM.C).map((v, k) => v + i.dtable0[k]),
  }),
];
