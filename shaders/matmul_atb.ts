// matmul_atb: C[M, n] (+)= alpha · Aᵀ · B, A [K, M], B [K, n], in one dispatch (matmul_atb.wgsl): LoRA's weight
// gradients dB = s·dyᵀ·xa and dA = dxaᵀ·x, whose reduction runs over a batch's rows, where split-K wrote partial sums
// and reduced them in a second dispatch. Either operand may be a column window of a wider row-major matrix.
import code from './matmul_atb.wgsl';
import { cdiv, packUniforms, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import { expectShape, type Tensor } from '../src/engine/gpu/tensor.ts';
import { checkBlockStarts, type ColumnRange } from './lora_forward.ts';

export const matmulAtBSpec: KernelSpec = { name: 'matmul_atb', code, bindings: ['uniform', 'read', 'read', 'storage'] };

/** Rows of C per workgroup (matmul_atb.wgsl: one vec4 of A) and columns (four quads). */
const RM = 4;
const COLS = 16;
const MAX_GROUPS = 65535;

/** Whether matmulAtB runs Aᵀ [M, K] · B [K, n]: M and n multiples of 4, within a dispatch's workgroup counts. */
export const atbApplies = (M: number, n: number, K: number): boolean => M >= 4 && M % 4 === 0 && n >= 4 && n % 4 === 0 && K >= 1 && cdiv(M, RM) <= MAX_GROUPS && cdiv(n, COLS) <= MAX_GROUPS;

export interface MatmulAtBOptions {
  alpha?: number;
  /** A's columns used (default all): C's rows are these columns */
  aCols?: ColumnRange;
  /** B's columns used (default all): C's columns */
  bCols?: ColumnRange;
  /**
   * C's row blocks (their starts: 0 first, multiples of 4, at most three): rows of block t read B's columns t·n
   * further on than bCols says (q|k|v's dB from dqkv and their x·Aᵀ side by side, in one dispatch)
   */
  blocks?: readonly number[];
  /** write here ([M, n] f32) instead of a new tensor */
  out?: Tensor;
  /** out += instead of out = */
  accumulate?: boolean;
}

function window(t: Tensor, w: ColumnRange | undefined, what: string): { ld: number; offset: number; width: number } {
  if (t.shape.length !== 2) throw new Error(`matmul_atb: ${what} ${t} must be 2-D`);
  const ld = t.shape[1];
  const { offset, width } = w ?? { offset: 0, width: ld };
  if (!Number.isInteger(offset) || !Number.isInteger(width) || offset < 0 || width < 1 || offset + width > ld) {
    throw new Error(`matmul_atb: ${what} columns ${offset}..${offset + width} do not fit in ${t}`);
  }
  return { ld, offset, width };
}

/** a [K, lda] f32, b [K, ldb] f32 (row lengths multiples of 4) → [M, n] = alpha · a[:, aCols]ᵀ · b[:, bCols] (+ out). */
export function matmulAtB(rt: Runtime, a: Tensor, b: Tensor, opts: MatmulAtBOptions = {}): Tensor {
  const { alpha = 1, accumulate = false } = opts;
  const wa = window(a, opts.aCols, 'a');
  const wb = window(b, opts.bCols, 'b');
  const K = a.shape[0];
  const [M, n] = [wa.width, wb.width];
  expectShape(a, [K, wa.ld], 'matmul_atb a', ['f32']);
  expectShape(b, [K, wb.ld], 'matmul_atb b', ['f32']);
  if ([wa.ld, wa.offset, wb.ld, wb.offset].some((v) => v % 4 !== 0) || !atbApplies(M, n, K)) {
    throw new Error(`matmul_atb: the operands' row lengths, column offsets and widths must be multiples of 4 (a ${a}, columns ${wa.offset}..${wa.offset + M}; b ${b}, columns ${wb.offset}..${wb.offset + n})`);
  }
  const blocks = opts.blocks ?? [0];
  checkBlockStarts(blocks, M, 4, 'matmul_atb: blocks (M)');
  if (wb.offset + blocks.length * n > wb.ld) throw new Error(`matmul_atb: ${blocks.length} blocks of b columns ${wb.offset}.. (${n} each) do not fit in ${b}`);
  if (!Number.isFinite(alpha)) throw new Error(`matmul_atb: alpha must be finite, got ${alpha}`);
  if (accumulate && !opts.out) throw new Error('matmul_atb: accumulate needs out');
  const out = opts.out ?? rt.empty([M, n], 'f32', 'matmul_atb.out');
  expectShape(out, [M, n], 'matmul_atb out', ['f32']);
  if (out.buffer === a.buffer || out.buffer === b.buffer) throw new Error('matmul_atb: out must not share a buffer with a or b');
  const uniforms = packUniforms([
    ['u32', M], ['u32', n], ['u32', K], ['u32', wa.ld / 4], ['u32', wa.offset / 4], ['u32', wb.ld / 4], ['u32', wb.offset / 4], ['f32', alpha], ['u32', accumulate ? 1 : 0],
    ['u32', blocks.length > 1 ? n / 4 : 0], ['u32', blocks[1] ?? 0xffffffff], ['u32', blocks[2] ?? 0xffffffff],
  ]);
  rt.dispatch(matmulAtBSpec, { tensors: [a, b, out], uniforms, workgroups: [cdiv(n, COLS), cdiv(M, RM)] });
  return out;
}
