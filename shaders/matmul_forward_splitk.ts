// matmul_forward's split-K second pass (matmul_forward_splitk.wgsl): its kernel, its uniform block, and the low-rank
// term it can add (LoRA's product, folded into the pass that writes the projection: matmul's `lowRank`). The host
// function is matmul's (matmul_forward.ts); reference matmulRef (matmul_forward.ref.ts, its lowRank option), tests in
// matmul_forward.test.ts.
import splitkCode from './matmul_forward_splitk.wgsl';
import splitk4Code from './matmul_forward_splitk4.wgsl';
import { packUniforms, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Tensor } from '../src/engine/gpu/tensor.ts';
import { checkBlockStarts } from './lora_forward.ts';

export const matmulSplitkReduceSpec: KernelSpec = {
  name: 'matmul_forward_splitk',
  code: splitkCode,
  bindings: ['uniform', 'read', 'read', 'read', 'read', 'read', 'storage'],
};

/** The same pass four columns an invocation (vec4 loads; where reduceVec4 says it applies). */
export const matmulSplitkReduce4Spec: KernelSpec = { ...matmulSplitkReduceSpec, name: 'matmul_forward_splitk4', code: splitk4Code };

/**
 * Whether the vec4 reduce applies: N a multiple of 4, and a low-rank term's column blocks too (each vec4 of columns in
 * one block), with k a multiple of 4 where Q is [N, k] (read as vec4s along j).
 */
export function reduceVec4(N: number, lowRank?: ReduceArgs['lowRank']): boolean {
  if (N % 4 !== 0) return false;
  if (!lowRank) return true;
  return lowRank.seg1 % 4 === 0 && lowRank.seg2 % 4 === 0 && (lowRank.transQ || lowRank.k % 4 === 0);
}

/** What a caller adds to a product's result after it (`orElse(out)`): a low-rank term that cannot be folded. */
export interface AfterProduct {
  /** adds the term to out, the product's result */
  orElse(out: Tensor): void;
}

/**
 * A low-rank term added to a product: out[m, n] += alpha · Σ_{j<k} p[m, pOffset + blk(n)·k + j] · q(n, j), with
 * q(n, j) = q[n, j] (q [N, k]: LoRA's B) or, with transQ, q[j, n] (q [k, N]: LoRA's A), and blk(n) the column block
 * of n (`starts`; one block by default). matmul folds it into the split-K reduce where the product ends in one (no
 * dispatch of its own, 2-D products only); anywhere else it calls `orElse(out)` after the product, which must add the
 * same term.
 */
export interface LowRankTerm extends AfterProduct {
  /** [M, stride] f32 (stride ≥ pOffset + blocks·k) */
  p: Tensor;
  pOffset?: number;
  /** [N, k] f32, or [k, N] with transQ */
  q: Tensor;
  transQ?: boolean;
  k: number;
  alpha: number;
  /** the first column of each block: [0], [0, s1] or [0, s1, s2] (default [0]) */
  starts?: readonly number[];
}

/** The split-K reduce's uniform block (matmul_forward_splitk.wgsl's U): 16 words. */
export interface ReduceArgs {
  MN: number; total: number; S: number; N: number; alpha: number; bias: boolean; accumulate: boolean; addend?: boolean;
  lowRank?: { k: number; alpha: number; pStride: number; pOffset: number; transQ: boolean; seg1: number; seg2: number };
}
export function packSplitkReduce(r: ReduceArgs): ArrayBuffer {
  const l = r.lowRank;
  return packUniforms([
    ['u32', r.MN], ['u32', r.total], ['u32', r.S], ['u32', r.N], ['f32', r.alpha], ['u32', r.bias ? 1 : 0], ['u32', r.accumulate ? 1 : 0],
    ['u32', l?.k ?? 0], ['f32', l?.alpha ?? 0], ['u32', l?.pStride ?? 0], ['u32', l?.pOffset ?? 0], ['u32', l?.transQ ? 1 : 0], ['u32', l?.seg1 ?? 0], ['u32', l?.seg2 ?? 0], ['u32', r.addend ? 1 : 0],
  ]);
}

/** Checks a low-rank term against the product's M × N and out; the reduce's arguments for it. */
export function lowRankArgs(t: LowRankTerm, M: number, N: number, out: Tensor): NonNullable<ReduceArgs['lowRank']> {
  const { p, q, k, pOffset = 0, starts = [0], transQ = false } = t;
  const what = `matmul lowRank (${M} x ${N})`;
  if (!Number.isInteger(k) || k < 1) throw new Error(`${what}: k must be a positive integer, got ${k}`);
  if (p.dtype !== 'f32' || p.shape.length !== 2 || p.shape[0] !== M) throw new Error(`${what}: p must be f32 [${M}, stride], got ${p}`);
  checkBlockStarts(starts, N, 1, `${what}: block starts`);
  if (!Number.isInteger(pOffset) || pOffset < 0 || pOffset + starts.length * k > p.shape[1]) {
    throw new Error(`${what}: p's columns ${pOffset}..${pOffset + starts.length * k} do not fit in ${p}`);
  }
  const qShape = transQ ? [k, N] : [N, k];
  if (q.dtype !== 'f32' || q.shape.length !== 2 || q.shape[0] !== qShape[0] || q.shape[1] !== qShape[1]) throw new Error(`${what}: q must be f32 [${qShape}], got ${q}`);
  if (out.buffer === p.buffer || out.buffer === q.buffer) throw new Error(`${what}: out must not share a buffer with p or q`);
  return { k, alpha: t.alpha, pStride: p.shape[1], pOffset, transQ, seg1: starts[1] ?? 0, seg2: starts[2] ?? 0 };
}
