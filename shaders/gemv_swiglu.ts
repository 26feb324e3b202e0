// gemv_swiglu: the Llama/Qwen2 MLP's first half for few rows (decode, M ≤ 16), in one dispatch:
//   act = silu(h·Wgᵀ) · (h·Wuᵀ),  h = RMSNorm(x; g, eps) when `norm` is given, else h = x.
// Replaces rmsnorm_forward + gate matmul + up matmul + swiglu_forward (4 dispatches, 3 temporaries).
import code from './gemv_swiglu.wgsl';
import { cdiv, grid1d, packUniforms, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import type { Tensor } from '../src/engine/gpu/tensor.ts';
import { kindOf, normRows, planGemvNorm, type GemvNormTuning } from './gemv_rmsnorm.ts';

const BINDINGS = ['uniform', 'read', 'read', 'read', 'read', 'storage'] as const;
/** entry points: vec4 f32 W, 4-halves W (both need K % 4 == 0), and one element per step (any K) */
export const gemvSwigluSpecs = {
  vecF32: { name: 'gemv_swiglu', code, entryPoint: 'main_vec_f32', bindings: BINDINGS },
  vecHalf: { name: 'gemv_swiglu', code, entryPoint: 'main_vec_half', bindings: BINDINGS },
  any: { name: 'gemv_swiglu', code, entryPoint: 'main_any', bindings: BINDINGS },
} satisfies Record<string, KernelSpec>;

/** Hidden units per workgroup by default: 2 columns of Wg + 2 of Wu = 4 W rows per load step (as gemv's 4). */
export const GEMV_SWIGLU_COLS = 2;

export interface GemvSwigluOptions extends GemvNormTuning {
  /** write here (f32 [..., F]) instead of a new tensor */
  out?: Tensor;
}

/**
 * silu(h·Wgᵀ)·(h·Wuᵀ) with h = RMSNorm(x; norm.g, norm.eps), or h = x when norm is null.
 *   x [..., K] f32 (M = product of the leading dims; fast for M ≤ 16), norm.g [K] f32/f16/bf16,
 *   Wg, Wu [F, K] of one dtype (f32/f16/bf16).
 * Returns act [..., F] f32 (the input of down_proj).
 */
export function gemvSwiglu(rt: Runtime, x: Tensor, norm: { g: Tensor; eps: number } | null, Wg: Tensor, Wu: Tensor, opts: GemvSwigluOptions = {}): Tensor {
  const [M, K] = normRows(x, norm?.g ?? null, norm?.eps ?? 0, 'gemv_swiglu');
  if (Wg.shape.length !== 2 || Wg.shape[1] !== K) throw new Error(`gemv_swiglu: Wg must be [F, ${K}], got ${Wg}`);
  if (Wu.shape.length !== 2 || Wu.shape[0] !== Wg.shape[0] || Wu.shape[1] !== K || Wu.dtype !== Wg.dtype) {
    throw new Error(`gemv_swiglu: Wu must match Wg ${Wg}, got ${Wu}`);
  }
  const wKind = kindOf(Wg.dtype, 'gemv_swiglu: W');
  const F = Wg.shape[0];
  const outShape = [...x.shape.slice(0, -1), F]; // [..., F]
  const out = opts.out ?? rt.empty(outShape, 'f32', 'gemv_swiglu.out');
  if (out.dtype !== 'f32' || out.shape.length !== outShape.length || out.shape.some((d, i) => d !== outShape[i])) {
    throw new Error(`gemv_swiglu: out must be f32 [${outShape}], got ${out}`);
  }
  // a writable binding must not alias any other binding of the dispatch
  if ([x, norm?.g, Wg, Wu].some((t) => t && t.buffer === out.buffer)) throw new Error('gemv_swiglu: out must not share a buffer with an input');
  if (M === 0 || F === 0) return out;

  const p = planGemvNorm(M, K, 2, GEMV_SWIGLU_COLS, opts);
  const spec = !p.vec ? gemvSwigluSpecs.any : wKind === 0 ? gemvSwigluSpecs.vecF32 : gemvSwigluSpecs.vecHalf;
  const groups = cdiv(F, p.cols);
  const [gx, gy] = grid1d(groups);
  const rowBlocks = cdiv(M, p.rows);
  if (rowBlocks > 65535) throw new Error(`gemv_swiglu: ${M} rows need ${rowBlocks} row blocks (> 65535)`);
  rt.dispatch(spec, {
    tensors: [x, norm?.g ?? x, Wg, Wu, out], // no norm: bind x in g's place (never read)
    uniforms: packUniforms([
      ['u32', M], ['u32', K], ['u32', F], ['f32', norm?.eps ?? 0],
      ['u32', norm ? 1 : 0], ['u32', wKind], ['u32', norm ? kindOf(norm.g.dtype, 'gemv_swiglu: g') : 0], ['u32', groups],
    ]),
    constants: { WG: p.lanes, MR: p.rows, NC: p.cols },
    workgroups: [gx, gy, rowBlocks],
  });
  return out;
}
