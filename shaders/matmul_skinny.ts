// matmul_skinny: C[M, n] (+)= alpha · A[M, K] · op(B) in one dispatch, for outputs a few columns wide (LoRA's x·Aᵀ
// and dy·B, n = r): matmul_skinny.wgsl. Where split-K ran these as two dispatches (partial sums, then their reduce).
import code from './matmul_skinny.wgsl';
import { cdiv, packUniforms, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import { expectShape, type Tensor } from '../src/engine/gpu/tensor.ts';
import { checkBlockStarts, resolveColumnWindow, type ColumnRange, type ColumnWindow } from './lora_forward.ts';

export const matmulSkinnySpec: KernelSpec = { name: 'matmul_skinny', code, bindings: ['uniform', 'read', 'read', 'read', 'storage'] };

/** Widest output the LoRA paths send here (rank 64): each 16 columns more re-read all of A. */
export const SKINNY_MAX_N = 64;
/** Rows of C per workgroup (matmul_skinny.wgsl RM) and columns (COLS). */
const RM = 4;
const COLS = 16;

/** Whether matmulSkinny suits [M, K] · op(B) → [M, n]: n at most SKINNY_MAX_N, K a positive multiple of 4. */
export const skinnyApplies = (M: number, n: number, K: number): boolean => M > 0 && n > 0 && n <= SKINNY_MAX_N && K > 0 && K % 4 === 0;

export interface MatmulSkinnyOptions {
  /** a's columns offset .. offset+width are the K values (a is [M, lda]; offset, width and lda multiples of 4) */
  aCols?: ColumnRange;
  /** B is [n, K] and op(B) = Bᵀ (LoRA's x·Aᵀ with A [r, in]); else B is [K, n] (dy·B with B [out, r]) */
  transB?: boolean;
  alpha?: number;
  /** write here ([M, n] f32, or [M, stride] with outCols) instead of a new tensor */
  out?: Tensor;
  /** C is out's columns offset .. offset+n (out [M, stride]: the x·Aᵀ or dy·B of adapters stacked on one input) */
  outCols?: ColumnWindow;
  /**
   * K's blocks (their starts: 0 first, multiples of 4, at most three; not with transB): B is [K, r] and C [M, k·r],
   * C's columns t·r .. (t+1)·r - 1 summing over block t of K only (q|k|v's dy·B from the fused dqkv in one dispatch)
   */
  blocks?: readonly number[];
  /** out += instead of out = */
  accumulate?: boolean;
}

const CONSTANTS = { trans: Object.freeze({ TRANS_B: 1 }), plain: Object.freeze({ TRANS_B: 0 }) };

/** a [M, K] (or [M, lda] with aCols) f32, b [n, K] (transB) or [K, n] f32 → [M, n]: alpha · a · op(b) (+ out). */
export function matmulSkinny(rt: Runtime, a: Tensor, b: Tensor, opts: MatmulSkinnyOptions = {}): Tensor {
  const { transB = false, alpha = 1, accumulate = false } = opts;
  if (a.shape.length !== 2 || b.shape.length !== 2) throw new Error(`matmul_skinny: a ${a} and b ${b} must be 2-D`);
  const [M, lda] = a.shape;
  const { offset, width: K } = opts.aCols ?? { offset: 0, width: lda };
  if (opts.aCols && (!Number.isInteger(offset) || !Number.isInteger(K) || offset < 0 || offset % 4 !== 0 || lda % 4 !== 0 || offset + K > lda)) {
    throw new Error(`matmul_skinny: a's columns ${offset}..${offset + K} must fit in ${a}, its row length and the offset multiples of 4`);
  }
  const blocks = opts.blocks ?? [0];
  if (blocks.length > 1 && transB) throw new Error('matmul_skinny: blocks need B [K, r] (not transB)');
  checkBlockStarts(blocks, K, 4, 'matmul_skinny: blocks (K)');
  const n = (transB ? b.shape[0] : b.shape[1]) * blocks.length;
  expectShape(a, [M, lda], 'matmul_skinny a', ['f32']);
  expectShape(b, transB ? [n, K] : [K, n / blocks.length], `matmul_skinny b${transB ? ' (transB)' : ''}`, ['f32']);
  if (K % 4 !== 0 || K === 0) throw new Error(`matmul_skinny: K = ${K} must be a positive multiple of 4 (a ${a})`);
  if (M === 0 || n === 0) throw new Error(`matmul_skinny: empty output [${M}, ${n}]`);
  if (!Number.isFinite(alpha)) throw new Error(`matmul_skinny: alpha must be finite, got ${alpha}`);
  if (accumulate && !opts.out) throw new Error('matmul_skinny: accumulate needs out');
  if (opts.outCols && !opts.out) throw new Error('matmul_skinny: outCols needs out');
  const oc = resolveColumnWindow(opts.outCols, n, 'matmul_skinny outCols');
  const out = opts.out ?? rt.empty([M, n], 'f32', 'matmul_skinny.out');
  expectShape(out, [M, oc.stride], 'matmul_skinny out', ['f32']);
  if (out.buffer === a.buffer || out.buffer === b.buffer) throw new Error('matmul_skinny: out must not share a buffer with a or b');
  const uniforms = packUniforms([['u32', M], ['u32', n], ['u32', K], ['f32', alpha], ['u32', accumulate ? 1 : 0], ['u32', lda / 4], ['u32', offset / 4], ['u32', oc.stride], ['u32', oc.offset],
    ['u32', blocks.length > 1 ? n / blocks.length : 0], ['u32', blocks[1] ?? K], ['u32', blocks[2] ?? K]]);
  rt.dispatch(matmulSkinnySpec, { tensors: [a, b, b, out], uniforms, workgroups: [cdiv(n, COLS), cdiv(M, RM)], constants: transB ? CONSTANTS.trans : CONSTANTS.plain });
  return out;
}
