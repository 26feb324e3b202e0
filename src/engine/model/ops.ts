// Operations of the block that pick their kernels by shape, as matmul picks its version: with few rows
// (decode) the RMSNorm folds into the GEMV that follows it (ln1 + q|k|v, ln2 + gate/up + SwiGLU, final norm
// + unembed: one dispatch each instead of two to four), which keeps W reads to one pass for up to 16 rows;
// with more rows, or when the caller needs the normalised input (a hook, an adapter, the backward), the
// RMSNorm and matmul kernels run apart.
//
// Legend: N rows, C = d_model, F = d_mlp; W [out, C] (HF layout: y = x Wᵀ).
import type { Runtime } from '../gpu/runtime.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { matmul, type MatmulOptions } from '../../../shaders/matmul_forward.ts';
import { rmsnormForward } from '../../../shaders/rmsnorm_forward.ts';
import { gemvRmsnorm } from '../../../shaders/gemv_rmsnorm.ts';
import { gemvSwiglu } from '../../../shaders/gemv_swiglu.ts';
import { swigluForward, swigluForwardFused } from '../../../shaders/swiglu_forward.ts';
import { stackedRows } from './block-adapters.ts';

/** At most this many rows take the fused kernels (their W reads stay one pass up to 16 rows). */
export const FUSED_MAX_ROWS = 16;

/**
 * rmsnorm(x; g) · Wᵀ (+ b) for x [..., C] → y [N, out]. `fuse` allows the fused kernel (the caller does not
 * need h); it runs when the rows are few. Otherwise also h = rmsnorm(x; g) (shaped as x) and rstd [...], and
 * `between(h)`, when given, runs between the norm and the product: its hook point (an edit of h flows into the
 * product) and the product's low-rank term (an adapter's), which it returns.
 */
export function normLinear(
  rt: Runtime, x: Tensor, g: Tensor, eps: number, W: Tensor, b: Tensor | null, fuse: boolean, between?: (h: Tensor) => MatmulOptions['lowRank'],
): { y: Tensor; h: Tensor | null; rstd: Tensor | null } {
  const C = x.shape[x.shape.length - 1];
  const N = x.numel / C;
  if (fuse && N <= FUSED_MAX_ROWS) return { y: gemvRmsnorm(rt, x.view([N, C]), g, eps, [W], b), h: null, rstd: null }; // [N, out]
  const { y: h, rstd } = rmsnormForward(rt, x, g, eps); // as x
  const lowRank = between?.(h);
  const y = matmul(rt, h.view([N, C]), W, { transB: true, bias: b ?? undefined, lowRank }); // [N, out]
  return { y, h, rstd };
}

/**
 * silu(rmsnorm(x; g) · Wgᵀ) · (rmsnorm(x; g) · Wuᵀ) for x [N, C] → [N, F], when the caller needs none of the
 * parts: one fused dispatch for few rows, else the RMSNorm, the gate|up product (one where Wg and Wu are stacked:
 * weights.ts; else two) and SwiGLU (their buffers freed here).
 */
export function normSwiglu(rt: Runtime, x: Tensor, g: Tensor, eps: number, Wg: Tensor, Wu: Tensor): Tensor {
  const [N, C] = x.shape;
  if (N <= FUSED_MAX_ROWS) return gemvSwiglu(rt, x, { g, eps }, Wg, Wu); // [N, F]
  const { y: h, rstd } = rmsnormForward(rt, x, g, eps); // [N, C]
  rstd.dispose();
  const hr = h.view([N, C]);
  const Wgu = stackedRows([Wg, Wu]); // [2F, C]
  if (Wgu) {
    const gu = matmul(rt, hr, Wgu, { transB: true }); // [N, 2F] gate | up
    h.dispose();
    const act = swigluForwardFused(rt, gu); // [N, F]
    gu.dispose();
    return act;
  }
  const [gate, up] = [matmul(rt, hr, Wg, { transB: true }), matmul(rt, hr, Wu, { transB: true })]; // [N, F] each
  h.dispose();
  const act = swigluForward(rt, gate, up); // [N, F]
  gate.dispose();
  up.dispose();
  return act;
}
