// The self-check registry: one entry per kernel check, run in this order by runSelfCheck
// (src/engine/selfcheck.ts) in the browser worker, the page or Node.
//
// Adding a kernel: import its host function and reference, then append an entry:
//   defineCase({
//     name: 'rmsnorm_forward', shape: 'T=7, C=33',
//     tol: { atol: 1e-5, rtol: 1e-5 },              // why this tolerance, in one line
//     inputs: (rng) => ({ x: rng.normal(7 * 33), w: rng.uniform(33, 0.5, 1.5) }),
//     gpu: (rt, i) => readAndFree(rt, rmsnormForward(rt, rt.upload(i.x, [7, 33]), rt.upload(i.w, [33]), 1e-6)),
//     ref: (i) => rmsnormForwardRef(i.x, i.w, 7, 33, 1e-6),
//   }),
// Shapes stay tiny: in the browser without a GPU, WebGPU runs on SwiftShader at ~0.25 GFLOP/s.
// Sizes that are not multiples of the workgroup size catch missing bounds checks.

import type { Runtime } from './gpu/runtime.ts';
import type { Tensor } from './gpu/tensor.ts';
// type-only: selfcheck.ts imports this file, so no runtime import back (no module cycle)
import type { SelfCheckCase } from './selfcheck.ts';
import { addScale, scale } from '../../shaders/add_scale.ts';
import { addScaleRef } from '../../shaders/add_scale.ref.ts';

/** Typed helper for registry entries (keeps each entry's inputs type checked). */
export function defineCase<I>(c: SelfCheckCase<I>): SelfCheckCase {
  return c as unknown as SelfCheckCase;
}

/** Read `out` back, then give it and the given inputs back to the pool. */
export async function readAndFree(rt: Runtime, out: Tensor, ...inputs: Tensor[]): Promise<ArrayLike<number>> {
  try {
    return await rt.read(out);
  } finally {
    for (const t of [out, ...inputs]) t.dispose();
  }
}

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
];
