// lora_forward: the adapter half of a PEFT LoRA nn.Linear(in, out),
//   y += scale · (dropout(x) Aᵀ) Bᵀ      x [N, in], A [r, in], B [out, r], y [N, out], scale = alpha / r
// The base half (x Wᵀ + b) is another kernel's job; the caller runs it first and passes its y.
// Two dispatches of lora_forward.wgsl (a tiled C (+)= alpha·P Qᵀ):
//   1. xa = x Aᵀ          [N, r]   (kept: the backward needs it for dB)
//   2. y += scale · xa Bᵀ [N, out] (in place)
// Column window (opts.yCols): y may be a wider row [N, stride] — the fused q|k|v projection
// [N, (H+2Hkv)·D] — and the adapter then adds into y[:, offset .. offset+out) only.
//
// Dropout: only `dropout: 0` is accepted for now (training parity is checked with dropout 0). A
// later version will take a caller-made keep-mask (no RNG here) and apply x·mask/(1−p) while
// staging x in stage 1; the backward will then need the same mask for dA.
import code from './lora_forward.wgsl';
import { cdiv, packUniforms, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import { expectShape, type Tensor } from '../src/engine/gpu/tensor.ts';

export const loraForwardSpec: KernelSpec = { name: 'lora_forward', code, bindings: ['uniform', 'read', 'read', 'storage'] };

/** Output tile side of lora_forward.wgsl (16×16 invocations, one output each). */
const TS = 16;

/**
 * A column window of a wider row-major matrix: rows are `stride` elements long and the adapter
 * owns columns offset .. offset+width (width = out). Shared with lora_backward.ts (dyCols).
 */
export interface ColumnWindow {
  offset: number;
  stride: number;
}

/**
 * Checks a column window for a matrix whose window is `width` wide; returns the default
 * { offset: 0, stride: width } when none is given.
 */
export function resolveColumnWindow(cols: ColumnWindow | undefined, width: number, what: string): ColumnWindow {
  if (!cols) return { offset: 0, stride: width };
  const { offset, stride } = cols;
  if (!Number.isInteger(offset) || !Number.isInteger(stride) || offset < 0 || stride < 1) {
    throw new Error(`${what}: offset ${offset} and stride ${stride} must be integers, offset >= 0, stride >= 1`);
  }
  if (offset + width > stride) throw new Error(`${what}: window ${offset}..${offset + width} does not fit in stride ${stride}`);
  return { offset, stride };
}

/** Columns offset .. offset+width of a wider row-major matrix (its last dimension is the row length). */
export interface ColumnRange {
  offset: number;
  width: number;
}

/**
 * Checks the starts of the blocks a blocked product runs (adapters stacked on one input whose outputs or gradients
 * are neighbouring windows: q|k|v): 0 first, rising, each a multiple of `multiple` and below `bound`, at most three.
 */
export function checkBlockStarts(starts: readonly number[], bound: number, multiple: number, what: string): void {
  if (starts.length > 3 || starts[0] !== 0 || starts.some((s, i) => s % multiple !== 0 || (i > 0 && s <= starts[i - 1]) || s >= bound)) {
    throw new Error(`${what} ${starts.join(', ')} must rise from 0 below ${bound} in multiples of ${multiple} (at most three)`);
  }
}

export interface LoraForwardOptions {
  /** dropout probability on the adapter's input; only 0 is supported for now */
  dropout?: number;
  /** y is [N, stride] and the adapter updates y[:, offset .. offset+out); default { 0, out } */
  yCols?: ColumnWindow;
  /**
   * xa = x Aᵀ [N, r] computed elsewhere (e.g. by the split-K matmul, faster for long rows): stage 1
   * is skipped and this tensor is returned as `xa` (the caller still owns it).
   */
  xa?: Tensor;
  /** xa is [N, stride] and the adapter's x Aᵀ is its columns offset .. offset+r (adapters stacked on one input) */
  xaCols?: ColumnWindow;
}

/**
 * Records C[m, cOff + c] = (accumulate ? C[m, cOff + c] : 0) + alpha · (P[M, K] · Q[Nc, K]ᵀ)[m, c]
 * with lora_forward.wgsl, C being [M, cStride]. Shapes are checked by the caller.
 */
function matmulNT(
  rt: Runtime, P: Tensor, Q: Tensor, C: Tensor, M: number, Nc: number, K: number, alpha: number, accumulate: boolean,
  cols: ColumnWindow = { offset: 0, stride: Nc }, pCols: ColumnWindow = { offset: 0, stride: K }, blocks: number[] = [0],
): void {
  const NONE = 0xffffffff;
  rt.dispatch(loraForwardSpec, {
    tensors: [P, Q, C],
    uniforms: packUniforms([
      ['u32', M], ['u32', Nc], ['u32', K], ['f32', alpha], ['u32', accumulate ? 1 : 0],
      ['u32', cols.stride], ['u32', cols.offset], ['u32', pCols.stride], ['u32', pCols.offset],
      ['u32', blocks.length > 1 ? K : 0], ['u32', blocks[1] ?? NONE], ['u32', blocks[2] ?? NONE],
    ]),
    workgroups: [cdiv(Nc, TS), cdiv(M, TS)],
  });
}

/**
 * y += scale · (x Aᵀ) Bᵀ, in place on `y` (on its columns offset..offset+out with opts.yCols).
 * Returns xa = x Aᵀ ([N, r], a new tensor the caller owns: keep it for loraBackward, then dispose it).
 */
export function loraForward(
  rt: Runtime,
  x: Tensor, // [N, in]
  A: Tensor, // [r, in]
  B: Tensor, // [out, r]
  y: Tensor, // [N, out] (or [N, yCols.stride]), updated in place
  scale: number,
  opts: LoraForwardOptions = {},
): { xa: Tensor } {
  if ((opts.dropout ?? 0) !== 0) throw new Error(`lora_forward: dropout ${opts.dropout} is not supported yet (only 0)`);
  if (!Number.isFinite(scale)) throw new Error(`lora_forward: scale must be finite, got ${scale}`);
  if (x.shape.length !== 2 || A.shape.length !== 2) throw new Error(`lora_forward: x ${x} and A ${A} must be 2-D`);
  const [N, din] = x.shape;
  const [r] = A.shape;
  if (r < 1) throw new Error(`lora_forward: rank must be >= 1, got ${A}`);
  expectShape(x, [N, din], 'lora_forward x', ['f32']);
  expectShape(A, [r, din], 'lora_forward A', ['f32']);
  if (B.shape.length !== 2) throw new Error(`lora_forward: B ${B} must be 2-D [out, r]`);
  const dout = B.shape[0];
  expectShape(B, [dout, r], 'lora_forward B', ['f32']);
  const yCols = resolveColumnWindow(opts.yCols, dout, 'lora_forward yCols');
  expectShape(y, [N, yCols.stride], 'lora_forward y', ['f32']);
  // y is written while x, xa are read: it must not share their buffers
  if (y.buffer === x.buffer) throw new Error('lora_forward: y must not alias x');

  if (opts.xaCols && !opts.xa) throw new Error('lora_forward: xaCols needs xa');
  const xaCols = resolveColumnWindow(opts.xaCols, r, 'lora_forward xaCols');
  if (opts.xa) {
    expectShape(opts.xa, [N, xaCols.stride], 'lora_forward xa', ['f32']);
    if (y.buffer === opts.xa.buffer) throw new Error('lora_forward: y must not alias xa');
  }
  const xa = opts.xa ?? rt.empty([N, r], 'f32', 'lora_forward.xa'); // [N, r]
  if (!opts.xa) matmulNT(rt, x, A, xa, N, r, din, 1, false); // xa = x Aᵀ             [N, r]
  matmulNT(rt, xa, B, y, N, dout, r, scale, true, yCols, xaCols); // y[:, window] += scale · xa Bᵀ  [N, out]
  return { xa };
}

/** Most adapters loraForwardBlocks takes in one dispatch (q, k and v). */
export const LORA_BLOCKS_MAX = 3;

/**
 * y += scale · xa_t B_tᵀ on each column block t of y, in one dispatch: the adapters stacked on one input whose outputs
 * are neighbouring windows of one y (q|k|v of the fused projection). xa [N, k·r] holds their x·Aᵀ side by side, B
 * [W, r] their B factors back to back (block t's rows starts[t] .. starts[t+1]), y [N, W]; starts[0] = 0 and each
 * start a multiple of 16 (a tile of the kernel lies in one block).
 */
export function loraForwardBlocks(rt: Runtime, xa: Tensor, B: Tensor, y: Tensor, scale: number, starts: readonly number[]): void {
  if (!Number.isFinite(scale)) throw new Error(`lora_forward: scale must be finite, got ${scale}`);
  if (B.shape.length !== 2 || xa.shape.length !== 2) throw new Error(`lora_forward blocks: xa ${xa} and B ${B} must be 2-D`);
  const [W, r] = B.shape;
  const [N, kr] = xa.shape;
  const k = starts.length;
  if (k < 1 || k > LORA_BLOCKS_MAX || kr !== k * r) throw new Error(`lora_forward blocks: ${k} blocks (at most ${LORA_BLOCKS_MAX}) of rank ${r} need xa [N, ${k * r}], got ${xa}`);
  checkBlockStarts(starts, W, TS, 'lora_forward blocks: starts');
  expectShape(y, [N, W], 'lora_forward blocks y', ['f32']);
  expectShape(xa, [N, kr], 'lora_forward blocks xa', ['f32']);
  if (y.buffer === xa.buffer || y.buffer === B.buffer) throw new Error('lora_forward blocks: y must not alias xa or B');
  matmulNT(rt, xa, B, y, N, W, r, scale, true, { offset: 0, stride: W }, { offset: 0, stride: kr }, [...starts]);
}
