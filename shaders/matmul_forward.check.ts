// Shared by matmul_forward.test.ts and matmul_forward_gemv.test.ts: one matmul call on seeded random
// inputs against matmulRef (float64), with the project's matmul tolerance.
import { matmul, type MatmulOptions } from './matmul_forward.ts';
import { matmulRef } from './matmul_forward.ref.ts';
import { testRuntime } from '../src/engine/testing/gpu.ts';
import { assertAllClose } from '../src/engine/testing/allclose.ts';
import type { Rng } from '../src/engine/testing/rng.ts';
import { toHalfBits, fromHalfBits } from '../src/engine/gpu/half.ts';

// Tolerance, fp32 kernel vs float64 reference: rtol 1e-4 (project matmul tolerance) plus an atol for
// sums that cancel: a K-term fp32 sum of products of size ≤ |alpha|·max|a|·max|b| drifts by about
// 6e-8·sqrt(K) of that (random-walk rounding); 1e-5·sqrt(K) leaves ~100x room for the kernels' other
// summation orders, yet a wrong index or a lost term is off by O(1) of that scale. Bias and C
// (accumulate) add one rounding of their own size.
// The last term: WGSL lets a GPU flush subnormal f32 values to zero (NVIDIA does, lavapipe does not),
// so each of the K products or partial sums may lose up to the smallest normal, 2^-126 ≈ 1.18e-38.
// It only matters for inputs scaled near 1e-19 (measured on the H200: split-K at |x| ~ 1e-17 lost 1.06e-38).
export function tolFor(K: number, scaleAB: number, scaleAdd = 0) {
  return { rtol: 1e-4, atol: 1e-5 * Math.sqrt(Math.max(K, 1)) * scaleAB + 1e-6 * scaleAdd + Math.max(K, 1) * 2 ** -126 };
}
export const maxAbs = (x: ArrayLike<number>) => Array.from(x).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

export interface Case {
  M: number;
  N: number;
  K: number;
  transA?: boolean;
  transB?: boolean;
  batch?: number;        // leading dim of a (omitted: 2-D a)
  broadcastB?: boolean;  // b has no batch dim
  dtype?: 'f32' | 'f16' | 'bf16';
  bias?: boolean;
  alpha?: number;
  accumulate?: boolean;
  addend?: boolean;      // out = result + a given tensor (into a new out)
  mag?: number;          // inputs uniform in [-mag, mag]
}

/** Runs one matmul with `run` options against matmulRef on seeded random inputs; returns the report. */
export async function check(rng: Rng, c: Case, run: MatmulOptions, name: string) {
  const rt = await testRuntime();
  const { M, N, K, transA = false, transB = false, dtype = 'f32', alpha = 1, mag = 1 } = c;
  const batch = c.batch ?? 1;
  const lead = c.batch === undefined ? [] : [c.batch];
  const bBatch = c.broadcastB || c.batch === undefined ? 1 : batch;
  const a = rng.uniform(batch * M * K, -mag, mag); // [batch, M, K] or [batch, K, M]
  let b: Float32Array = rng.uniform(bBatch * K * N, -mag, mag); // [bBatch, K, N] or [bBatch, N, K]
  const bLead = c.broadcastB || c.batch === undefined ? [] : lead;
  const bShape = [...bLead, ...(transB ? [N, K] : [K, N])];
  let tb;
  if (dtype === 'f32') tb = rt.upload(b, bShape);
  else {
    const bits = toHalfBits(b, dtype);
    b = fromHalfBits(bits, dtype); // the reference sees the same rounded values as the kernel
    tb = rt.upload(bits, bShape, dtype);
  }
  const ta = rt.upload(a, [...lead, ...(transA ? [K, M] : [M, K])]);
  const bias = c.bias ? rng.uniform(N, -2, 2) : undefined;
  const prev = c.accumulate || c.addend ? rng.uniform(batch * M * N, -2, 2) : undefined; // C before the call, or the addend
  const out = prev ? (c.addend ? rt.empty([...lead, M, N]) : rt.upload(prev, [...lead, M, N])) : undefined;
  const addend = c.addend ? rt.upload(prev!, [...lead, M, N]) : undefined;
  const got = await rt.read(
    matmul(rt, ta, tb, { ...run, transA, transB, alpha, bias: bias && rt.upload(bias, [N]), accumulate: c.accumulate, out, addend }),
  );
  const ref = matmulRef(a, b, M, N, K, { transA, transB, batch, broadcastB: bBatch === 1 && batch > 1, bias, alpha, accumulateInto: prev });
  const tol = tolFor(K, Math.abs(alpha) * maxAbs(a) * maxAbs(b), (bias ? maxAbs(bias) : 0) + (prev ? maxAbs(prev) : 0));
  return assertAllClose(got, ref, tol, `${name} ${JSON.stringify(c)}`);
}
