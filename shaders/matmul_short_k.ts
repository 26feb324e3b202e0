// matmul_short_k: C[M, N] (+)= alpha · T[M, r] · W[r, N] for r <= 64 (LoRA's dx += dxa·A), one invocation per vec4
// of C (matmul_short_k.wgsl): the memory-bound product the tiled matmuls ran with 64 invocations a 64x64 tile.
import code from './matmul_short_k.wgsl';
import { cdiv, packUniforms, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import { expectShape, type Tensor } from '../src/engine/gpu/tensor.ts';

export const matmulShortKSpec: KernelSpec = { name: 'matmul_short_k', code, bindings: ['uniform', 'read', 'read', 'storage'] };

/** Longest reduction sent here: beyond it a tiled matmul reuses its loads better. */
export const SHORT_K_MAX = 64;
const MAX_ROWS = 65535; // one workgroup row per row of C

/** Whether matmulShortK runs [M, r] · [r, N]: 1 <= r <= SHORT_K_MAX, N a positive multiple of 4, M within a dispatch. */
export const shortKApplies = (M: number, r: number, N: number): boolean => M > 0 && M <= MAX_ROWS && r >= 1 && r <= SHORT_K_MAX && N > 0 && N % 4 === 0;

/** t [M, r], w [r, N] → out [M, N] = alpha · t w (+ out). */
export function matmulShortK(rt: Runtime, t: Tensor, w: Tensor, o: { alpha?: number; out?: Tensor; accumulate?: boolean } = {}): Tensor {
  const { alpha = 1, accumulate = false } = o;
  if (t.shape.length !== 2 || w.shape.length !== 2) throw new Error(`matmul_short_k: t ${t} and w ${w} must be 2-D`);
  const [M, r] = t.shape;
  const N = w.shape[1];
  expectShape(t, [M, r], 'matmul_short_k t', ['f32']);
  expectShape(w, [r, N], 'matmul_short_k w', ['f32']);
  if (!shortKApplies(M, r, N)) throw new Error(`matmul_short_k: needs 1 <= r <= ${SHORT_K_MAX}, N a multiple of 4 and M <= ${MAX_ROWS}; got t ${t}, w ${w}`);
  if (!Number.isFinite(alpha)) throw new Error(`matmul_short_k: alpha must be finite, got ${alpha}`);
  if (accumulate && !o.out) throw new Error('matmul_short_k: accumulate needs out');
  const out = o.out ?? rt.empty([M, N], 'f32', 'matmul_short_k.out');
  expectShape(out, [M, N], 'matmul_short_k out', ['f32']);
  if (out.buffer === t.buffer || out.buffer === w.buffer) throw new Error('matmul_short_k: out must not share a buffer with t or w');
  const uniforms = packUniforms([['u32', M], ['u32', N], ['u32', r], ['f32', alpha], ['u32', accumulate ? 1 : 0]]);
  rt.dispatch(matmulShortKSpec, { tensors: [t, w, out], uniforms, workgroups: [cdiv(N / 4, 64), M] });
  return out;
}
