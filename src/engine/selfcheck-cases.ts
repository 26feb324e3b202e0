// The self-check registry: one entry per kernel check, run in this order by runSelfCheck
// (src/engine/selfcheck.ts) in the browser worker, the page or Node.
//
// Adding a kernel: import its host function and reference in the group file it belongs to
// (selfcheck-cases/{matmul,layers,training}.ts), then append an entry:
//   defineCase({
//     name: 'swiglu_forward', shape: 'N=7, F=37',
//     tol: { atol: 1e-6, rtol: 1e-5 },              // why this tolerance, in one line
//     inputs: (rng) => ({ gate: rng.normal(7 * 37, 2), up: rng.normal(7 * 37) }),
//     gpu: (rt, i) => {
//       const g = rt.upload(i.gate, [7, 37]), u = rt.upload(i.up, [7, 37]); // [N, F] each
//       return readAndFree(rt, swigluForward(rt, g, u), g, u);            // frees output and inputs
//     },
//     ref: (i) => swigluForwardRef(i.gate, i.up),
//   }),
// Several outputs: readAllAndFree(rt, [out1, out2], ...inputs) and concat(ref1, ref2) compare their
// concatenation under one tolerance. Every tensor a case makes (inputs, outputs, side outputs such
// as lse) goes back to the pool. The Node engine test also requires each case's worst error ≤ 1e-5.
// Shapes stay tiny: in the browser without a GPU, WebGPU runs on SwiftShader at ~0.25 GFLOP/s.
// Sizes that are not multiples of the workgroup size catch missing bounds checks.

// type-only: selfcheck.ts imports this file, so no runtime import back (no module cycle)
import type { SelfCheckCase } from './selfcheck.ts';
import { defineCase, readAndFree } from './selfcheck-cases/helpers.ts';
import { LAYER_CASES } from './selfcheck-cases/layers.ts';
import { TRAINING_CASES } from './selfcheck-cases/training.ts';
import { MATMUL_CASES } from './selfcheck-cases/matmul.ts';
import { addScale, scale } from '../../shaders/add_scale.ts';
import { addScaleRef } from '../../shaders/add_scale.ref.ts';

export { defineCase, readAndFree, readAllAndFree, concat } from './selfcheck-cases/helpers.ts';

export const SELF_CHECK_CASES: readonly SelfCheckCase[] = [
  defineCase({
    name: 'add_scale',
    shape: 'n=1000',
    // fp32 elementwise vs float64: one rounding per op, a few ulp of |values| <= 9
    tol: { atol: 1e-6, rtol: 1e-6 },
    inputs: (rng) => ({ n: 1000, a: rng.uniform(1000, -3, 3), b: rng.uniform(1000, -3, 3) }),
    gpu: (rt, i) => {
      const a = rt.upload(i.a, [i.n]), b = rt.upload(i.b, [i.n]); // [n], [n]
      return readAndFree(rt, addScale(rt, a, 0.5, b, -2), a, b); // [n]
    },
    ref: (i) => addScaleRef(i.a, 0.5, i.b, -2),
  }),
  defineCase({
    name: 'scale',
    shape: 'n=257',
    // fp32 product vs float64: one rounding
    tol: { atol: 1e-6, rtol: 1e-6 },
    inputs: (rng) => ({ n: 257, a: rng.normal(257, 2) }),
    gpu: (rt, i) => {
      const a = rt.upload(i.a, [i.n]); // [n]
      return readAndFree(rt, scale(rt, a, -1.75), a); // [n]
    },
    ref: (i) => addScaleRef(i.a, -1.75, null, 0),
  }),
  ...MATMUL_CASES,
  ...LAYER_CASES,
  ...TRAINING_CASES,
];
