// gemv_rmsnorm: RMSNorm folded into 1..3 projections x·W_sᵀ (+ bias) for few rows (decode, M ≤ 16):
//   y_s[m, n] = rstd[m] · Σ_k x[m,k]·g[k]·W_s[n,k] + bias_s[n],  rstd[m] = 1/sqrt(mean_k x[m,k]² + eps)
// One dispatch replaces rmsnorm_forward + up to 3 matmuls (ln1 + q/k/v; ln_final + lm_head).
// Also exports the plan shared with gemv_swiglu.ts (rows x lanes x columns per workgroup).
import code from './gemv_rmsnorm.wgsl';
import { cdiv, grid1d, packUniforms, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import type { DType, Tensor } from '../src/engine/gpu/tensor.ts';

const BINDINGS = ['uniform', 'read', 'read', 'read', 'read', 'read', 'read', 'storage'] as const;
/** entry points: vec4 f32 W, 4-halves W (both need K % 4 == 0), and one element per step (any K) */
export const gemvRmsnormSpecs = {
  vecF32: { name: 'gemv_rmsnorm', code, entryPoint: 'main_vec_f32', bindings: BINDINGS },
  vecHalf: { name: 'gemv_rmsnorm', code, entryPoint: 'main_vec_half', bindings: BINDINGS },
  any: { name: 'gemv_rmsnorm', code, entryPoint: 'main_any', bindings: BINDINGS },
} satisfies Record<string, KernelSpec>;

// ---- plan (shared with gemv_swiglu) ------------------------------------------------------------

export type GemvNormRows = 1 | 2 | 4 | 8 | 16;
/** Forces parts of the plan (tests, tuning); the rest is picked by shape. */
export interface GemvNormTuning {
  /** rows of x per workgroup (default: the next of 1, 2, 4, 8, 16 at or above M; larger M runs row blocks) */
  rows?: GemvNormRows;
  /** lanes per workgroup (default 256 for rows of >= GEMV_NORM_WIDE_MIN_STEPS load steps, else 64) */
  lanes?: 64 | 256;
  /** output columns per workgroup (default 4 for gemv_rmsnorm, 2 for gemv_swiglu, fewer if they do not fit) */
  cols?: number;
}
export interface GemvNormPlan {
  vec: boolean;      // vec4 / 4-halves loads (K % 4 == 0)
  rows: GemvNormRows;
  lanes: 64 | 256;
  cols: number;
  values: number;    // partial sums per lane reduced at the end: (perCol·cols + 1)·rows
}

/** Workgroup memory of the reduction, f32: values·lanes must fit (16 KB, the engine minimum). */
export const GEMV_NORM_RED = 4096;
/** Per-lane partial sums at most (VMAX in the .wgsl files). */
export const GEMV_NORM_VMAX = 80;
/** Load steps per row (K/4 on vec paths, K otherwise) at which 256 lanes beat 64 (as matmul's gemv). */
export const GEMV_NORM_WIDE_MIN_STEPS = 192;

/**
 * Rows, lanes, columns of a workgroup. perCol = dot products per output column and row (1 here; 2 in
 * gemv_swiglu: gate and up); one more value per row is its Σx². Lanes 256 drop to 64 when 256 would
 * leave room for fewer than 2 columns (e.g. 8 rows): more columns share each x load.
 */
export function planGemvNorm(M: number, K: number, perCol: number, defaultCols: number, t: GemvNormTuning = {}): GemvNormPlan {
  const rows = t.rows ?? (M <= 1 ? 1 : M <= 2 ? 2 : M <= 4 ? 4 : M <= 8 ? 8 : 16);
  if (![1, 2, 4, 8, 16].includes(rows)) throw new Error(`gemv_norm: rows must be 1, 2, 4, 8 or 16, got ${String(rows)}`);
  const vec = K > 0 && K % 4 === 0;
  const maxCols = (lanes: number) => Math.floor((Math.min(GEMV_NORM_RED / lanes, GEMV_NORM_VMAX) / rows - 1) / perCol);
  let lanes: 64 | 256 = t.lanes ?? ((vec ? K / 4 : K) >= GEMV_NORM_WIDE_MIN_STEPS ? 256 : 64);
  if (lanes !== 64 && lanes !== 256) throw new Error(`gemv_norm: lanes must be 64 or 256, got ${String(lanes)}`);
  if (!t.lanes && lanes === 256 && maxCols(256) < Math.min(2, defaultCols)) lanes = 64;
  const cols = t.cols ?? Math.min(defaultCols, maxCols(lanes));
  if (!Number.isInteger(cols) || cols < 1 || cols > maxCols(lanes)) {
    throw new Error(`gemv_norm: ${cols} columns x ${rows} rows x ${lanes} lanes do not fit (at most ${maxCols(lanes)} columns)`);
  }
  return { vec, rows, lanes, cols, values: (perCol * cols + 1) * rows };
}

/** Storage codes of W and g in the shaders: 0 f32 bits, 1 f16 / 2 bf16 two halves a word. */
export function kindOf(dtype: DType, what: string): number {
  const k = ({ f32: 0, f16: 1, bf16: 2 } as Partial<Record<DType, number>>)[dtype];
  if (k === undefined) throw new Error(`${what}: must be f32, f16 or bf16, got ${dtype}`);
  return k;
}

/** Checks x [..., K] f32 and g [K]; returns [M, K] with M the product of x's leading dims. */
export function normRows(x: Tensor, g: Tensor | null, eps: number, what: string): [number, number] {
  if (x.dtype !== 'f32' || x.shape.length < 1) throw new Error(`${what}: x must be f32 [..., K], got ${x}`);
  const K = x.shape[x.shape.length - 1];
  if (K < 1) throw new Error(`${what}: K must be >= 1, got ${x}`);
  if (g) {
    if (g.shape.length !== 1 || g.shape[0] !== K) throw new Error(`${what}: g must be [${K}], got ${g}`);
    kindOf(g.dtype, `${what}: g`);
    if (!(eps >= 0) || !Number.isFinite(eps)) throw new Error(`${what}: eps must be finite and >= 0, got ${eps}`);
  }
  return [x.numel / K, K];
}

// ---- gemv_rmsnorm ------------------------------------------------------------------------------

export type GemvRmsnormLayout = 'rows' | 'blocks';
/** Element offset of y_s[0, 0] in the output, and elements between its rows. */
export interface GemvSegment {
  offset: number;
  rowStride: number;
}
/** blocks layout: each segment starts on this many elements (256 bytes: any minStorageBufferOffsetAlignment). */
export const GEMV_RMSNORM_BLOCK_ALIGN = 64;

/**
 * Where each y_s [M, N_s] lies in the output of gemvRmsnorm.
 *  'rows'   — out [M, N]: row m is y_0[m, :] | y_1[m, :] | y_2[m, :] (what one x·[W_0; W_1; W_2]ᵀ gives);
 *  'blocks' — out flat: y_0 [M, N_0], then y_1 [M, N_1], then y_2 [M, N_2], each contiguous, each
 *             starting on GEMV_RMSNORM_BLOCK_ALIGN elements (so a view with a binding offset can
 *             hand each to the next kernel without a copy). For M = 1 the two coincide up to padding.
 */
export function gemvRmsnormLayout(M: number, Ns: readonly number[], layout: GemvRmsnormLayout = 'rows'): { segments: GemvSegment[]; size: number } {
  const N = Ns.reduce((a, b) => a + b, 0);
  const segments: GemvSegment[] = [];
  let at = 0;
  for (const n of Ns) {
    if (layout === 'rows') segments.push({ offset: at, rowStride: N });
    else segments.push({ offset: at, rowStride: n });
    at += layout === 'rows' ? n : Math.ceil((M * n) / GEMV_RMSNORM_BLOCK_ALIGN) * GEMV_RMSNORM_BLOCK_ALIGN;
  }
  const last = segments.length - 1;
  const size = layout === 'rows' ? M * N : segments[last].offset + M * Ns[last];
  return { segments, size };
}

export interface GemvRmsnormOptions extends GemvNormTuning {
  /** output layout (default 'rows'), see gemvRmsnormLayout */
  layout?: GemvRmsnormLayout;
  /** write here (f32, [...lead, N] for 'rows', [size] for 'blocks') instead of a new tensor */
  out?: Tensor;
}

/**
 * RMSNorm(x; g, eps) · [W_0; W_1; W_2]ᵀ + bias in one dispatch.
 *   x [..., K] f32 (M = product of the leading dims; fast for M ≤ 16), g [K] f32/f16/bf16,
 *   Ws: 1..3 weights [N_s, K] of one dtype (f32/f16/bf16), bias [N_0+N_1+N_2] f32 or null.
 * Returns 'rows': [..., N] f32 (y_s at columns N_0+..+N_{s-1} onwards); 'blocks': [size] f32.
 */
export function gemvRmsnorm(rt: Runtime, x: Tensor, g: Tensor, eps: number, Ws: readonly Tensor[], bias: Tensor | null, opts: GemvRmsnormOptions = {}): Tensor {
  const [M, K] = normRows(x, g, eps, 'gemv_rmsnorm');
  if (Ws.length < 1 || Ws.length > 3) throw new Error(`gemv_rmsnorm: 1 to 3 weights, got ${Ws.length}`);
  for (const W of Ws) {
    if (W.shape.length !== 2 || W.shape[1] !== K) throw new Error(`gemv_rmsnorm: weights must be [N, ${K}], got ${W}`);
    if (W.dtype !== Ws[0].dtype) throw new Error(`gemv_rmsnorm: weights must share one dtype, got ${Ws.join(', ')}`);
  }
  const wKind = kindOf(Ws[0].dtype, 'gemv_rmsnorm: W');
  const Ns = Ws.map((W) => W.shape[0]);
  const N = Ns.reduce((a, b) => a + b, 0);
  if (bias && (bias.dtype !== 'f32' || bias.shape.length !== 1 || bias.shape[0] !== N)) throw new Error(`gemv_rmsnorm: bias must be f32 [${N}], got ${bias}`);
  const layout = opts.layout ?? 'rows';
  if (layout !== 'rows' && layout !== 'blocks') throw new Error(`gemv_rmsnorm: unknown layout '${String(layout)}'`);
  const { segments, size } = gemvRmsnormLayout(M, Ns, layout);
  const outShape = layout === 'rows' ? [...x.shape.slice(0, -1), N] : [size]; // [..., N] or [size]
  const out = opts.out ?? rt.empty(outShape, 'f32', 'gemv_rmsnorm.out');
  if (out.dtype !== 'f32' || out.shape.length !== outShape.length || out.shape.some((d, i) => d !== outShape[i])) {
    throw new Error(`gemv_rmsnorm: out must be f32 [${outShape}], got ${out}`);
  }
  // a writable binding must not alias any other binding of the dispatch
  if ([x, g, ...Ws, bias].some((t) => t && t.buffer === out.buffer)) throw new Error('gemv_rmsnorm: out must not share a buffer with an input');
  if (M === 0 || N === 0) return out;

  const p = planGemvNorm(M, K, 1, 4, opts);
  const spec = !p.vec ? gemvRmsnormSpecs.any : wKind === 0 ? gemvRmsnormSpecs.vecF32 : gemvRmsnormSpecs.vecHalf;
  const ge: number[] = []; // column groups of segments 0..s, cumulative
  for (let s = 0; s < 3; s++) ge.push((ge[s - 1] ?? 0) + cdiv(Ns[s] ?? 0, p.cols));
  const [gx, gy] = grid1d(ge[2]);
  const rowBlocks = cdiv(M, p.rows);
  if (rowBlocks > 65535) throw new Error(`gemv_rmsnorm: ${M} rows need ${rowBlocks} row blocks (> 65535)`);
  const uniforms = packUniforms([
    ['u32', M], ['u32', K], ['f32', eps], ['u32', N],
    ['u32', Ns[0]], ['u32', Ns[1] ?? 0], ['u32', Ns[2] ?? 0], ['u32', bias ? 1 : 0],
    ['u32', ge[0]], ['u32', ge[1]], ['u32', ge[2]], ['u32', wKind],
    ['u32', kindOf(g.dtype, 'gemv_rmsnorm: g')], ['u32', layout === 'blocks' ? 1 : 0],
    ['u32', layout === 'blocks' ? (segments[1]?.offset ?? 0) : 0], ['u32', layout === 'blocks' ? (segments[2]?.offset ?? 0) : 0],
  ]);
  rt.dispatch(spec, {
    // absent weights and bias: bind W_0 / x again (read-only bindings may alias)
    tensors: [x, g, Ws[0], Ws[1] ?? Ws[0], Ws[2] ?? Ws[0], bias ?? x, out],
    uniforms,
    constants: { WG: p.lanes, MR: p.rows, NC: p.cols },
    workgroups: [gx, gy, rowBlocks],
  });
  return out;
}
