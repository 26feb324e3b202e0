// matmul_skinny: C[M, n] (+)= alpha · A[M, K] · op(B) in one dispatch, for outputs a few columns wide (LoRA's x·Aᵀ
// and dy·B, n = r): matmul_skinny.wgsl. Where split-K ran these as two dispatches (partial sums, then their reduce).
import code from './matmul_skinny.wgsl';
import { cdiv, packUniforms, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import { expectShape, type Tensor } from '../src/engine/gpu/tensor.ts';

export const matmulSkinnySpec: KernelSpec = { name: 'matmul_skinny', code, bindings: ['uniform', 'read', 'read', 'read', 'storage'] };

/** Widest output the LoRA paths send here (rank 64): each 16 columns more re-read all of A. */
export const SKINNY_MAX_N = 64;
/** Rows of C per workgroup (matmul_skinny.wgsl RM) and columns (COLS). */
const RM = 4;
const COLS = 16;

/** Whether matmulSkinny suits [M, K] · op(B) → [M, n]: n at most SKINNY_MAX_N, K a positive multiple of 4. */
export const skinnyApplies = (M: number, n: number, K: number): boolean => M > 0 && n > 0 && n <= SKINNY_MAX_N && K > 0 && K % 4 === 0;

export interface MatmulSkinnyOptions {
  /** B is [n, K] and op(B) = Bᵀ (LoRA's x·Aᵀ with A [r, in]); else B is [K, n] (dy·B with B [out, r]) */
  transB?: boolean;
  alpha?: number;
  /** write here ([M, n] f32) instead of a new tensor */
  out?: Tensor;
  /** out += instead of out = */
  accumulate?: boolean;
}

const CONSTANTS = { trans: Object.freeze({ TRANS_B: 1 }), plain: Object.freeze({ TRANS_B: 0 }) };

/** a [M, K] f32, b [n, K] (transB) or [K, n] f32 → [M, n]: alpha · a · op(b) (+ out). */
export function matmulSkinny(rt: Runtime, a: Tensor, b: Tensor, opts: MatmulSkinnyOptions = {}): Tensor {
  const { transB = false, alpha = 1, accumulate = false } = opts;
  if (a.shape.length !== 2 || b.shape.length !== 2) throw new Error(`matmul_skinny: a ${a} and b ${b} must be 2-D`);
  const [M, K] = a.shape;
  const n = transB ? b.shape[0] : b.shape[1];
  expectShape(a, [M, K], 'matmul_skinny a', ['f32']);
  expectShape(b, transB ? [n, K] : [K, n], `matmul_skinny b${transB ? ' (transB)' : ''}`, ['f32']);
  if (K % 4 !== 0 || K === 0) throw new Error(`matmul_skinny: K = ${K} must be a positive multiple of 4 (a ${a})`);
  if (M === 0 || n === 0) throw new Error(`matmul_skinny: empty output [${M}, ${n}]`);
  if (!Number.isFinite(alpha)) throw new Error(`matmul_skinny: alpha must be finite, got ${alpha}`);
  if (accumulate && !opts.out) throw new Error('matmul_skinny: accumulate needs out');
  const out = opts.out ?? rt.empty([M, n], 'f32', 'matmul_skinny.out');
  expectShape(out, [M, n], 'matmul_skinny out', ['f32']);
  if (out.buffer === a.buffer || out.buffer === b.buffer) throw new Error('matmul_skinny: out must not share a buffer with a or b');
  const uniforms = packUniforms([['u32', M], ['u32', n], ['u32', K], ['f32', alpha], ['u32', accumulate ? 1 : 0]]);
  rt.dispatch(matmulSkinnySpec, { tensors: [a, b, b, out], uniforms, workgroups: [cdiv(n, COLS), cdiv(M, RM)], constants: transB ? CONSTANTS.trans : CONSTANTS.plain });
  return out;
}
