// matmul_atb: C[M, n] (+)= alpha · Aᵀ · B, A [K, M], B [K, n], in one dispatch (matmul_atb.wgsl): LoRA's weight
// gradients dB = s·dyᵀ·xa and dA = dxaᵀ·x, whose reduction runs over a batch's rows, where split-K wrote partial sums
// and reduced them in a second dispatch. Either operand may be a column window of a wider row-major matrix.
import code from './matmul_atb.wgsl';
import { cdiv, packUniforms, type KernelSpec, type UniformField } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import { expectShape, type Tensor } from '../src/engine/gpu/tensor.ts';
import { checkBlockStarts, type ColumnRange } from './lora_forward.ts';

export const matmulAtBSpec: KernelSpec = { name: 'matmul_atb', code, bindings: ['uniform', 'read', 'read', 'storage', 'read', 'read', 'storage'] };
/** the same source with two jobs a dispatch (override JOBS = 2): its own name, so the dispatch logs tell them apart */
export const matmulAtB2Spec: KernelSpec = { ...matmulAtBSpec, name: 'matmul_atb2' };
const ONE = Object.freeze({ JOBS: 1 });
const TWO = Object.freeze({ JOBS: 2 });
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

/** One product of a dispatch: its tensors (a, b, out), its uniform words (matmul_atb.wgsl's Job) and its grid. */
export interface AtbJob {
  a: Tensor;
  b: Tensor;
  out: Tensor;
  words: UniformField[];
  /** workgroups: column tiles, row tiles */
  grid: [number, number];
}

/** Checks a product's operands and options (the errors name the operand) and returns it as a job; allocates out if not given. */
export function atbJob(rt: Runtime, a: Tensor, b: Tensor, opts: MatmulAtBOptions = {}): AtbJob {
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
  const words: UniformField[] = [
    ['u32', M], ['u32', n], ['u32', K], ['u32', wa.ld / 4], ['u32', wa.offset / 4], ['u32', wb.ld / 4], ['u32', wb.offset / 4], ['f32', alpha], ['u32', accumulate ? 1 : 0],
    ['u32', blocks.length > 1 ? n / 4 : 0], ['u32', blocks[1] ?? 0xffffffff], ['u32', blocks[2] ?? 0xffffffff],
  ];
  return { a, b, out, words, grid: [cdiv(n, COLS), cdiv(M, RM)] };
}

/** a [K, lda] f32, b [K, ldb] f32 (row lengths multiples of 4) → [M, n] = alpha · a[:, aCols]ᵀ · b[:, bCols] (+ out). */
export function matmulAtB(rt: Runtime, a: Tensor, b: Tensor, opts: MatmulAtBOptions = {}): Tensor {
  return runAtb(rt, [atbJob(rt, a, b, opts)])[0];
}

/**
 * Runs one or two products (atbJob) in one dispatch and returns their outputs. Two jobs must be independent: neither
 * reads what the other writes (their outputs may share a buffer, in ranges apart).
 */
export function runAtb(rt: Runtime, jobs: readonly AtbJob[]): Tensor[] {
  if (jobs.length < 1 || jobs.length > 2) throw new Error(`matmul_atb: one or two jobs a dispatch, got ${jobs.length}`);
  const [j0, j1] = jobs;
  if (j1) {
    for (const [o, x] of [[j0.out, j1], [j1.out, j0]] as const) {
      if (o.buffer === x.a.buffer || o.buffer === x.b.buffer) throw new Error(`matmul_atb: one job's out ${o} shares a buffer with the other's operands`);
    }
    const apart = j0.out.buffer !== j1.out.buffer || j0.out.byteOffset + j0.out.byteLength <= j1.out.byteOffset || j1.out.byteOffset + j1.out.byteLength <= j0.out.byteOffset;
    if (!apart) throw new Error(`matmul_atb: the two jobs' outputs ${j0.out} and ${j1.out} overlap`);
    if (j0.grid[1] + j1.grid[1] > MAX_GROUPS) throw new Error(`matmul_atb: two jobs of ${j0.grid[1]} + ${j1.grid[1]} row tiles exceed a dispatch`);
  }
  // JOBS = 1 binds job 0's operands again and a 4-float stand-in for out1 (never read or written: two writable
  // bindings may not overlap)
  const spare = j1 ? null : rt.empty([4], 'f32', 'matmul_atb.no_job1');
  const second = j1 ?? j0;
  const uniforms = packUniforms([...j0.words, ...second.words, ['u32', j0.grid[1]], ['u32', 0], ['u32', 0], ['u32', 0]]);
  rt.dispatch(j1 ? matmulAtB2Spec : matmulAtBSpec, {
    tensors: [j0.a, j0.b, j0.out, second.a, second.b, j1 ? j1.out : spare!],
    uniforms,
    constants: j1 ? TWO : ONE,
    workgroups: [Math.max(j0.grid[0], second.grid[0]), j0.grid[1] + (j1 ? j1.grid[1] : 0)],
  });
  spare?.dispose(); // recorded work keeps using it in queue order
  return jobs.map((j) => j.out);
}
