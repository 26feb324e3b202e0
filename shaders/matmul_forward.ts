// matmul: C[..., M, N] = alpha · op(A) · op(B) + bias (+ C if accumulate), two kernel versions:
//   'naive' — matmul_forward_naive.wgsl: one invocation per output, every option a uniform;
//   'tiled' — matmul_forward_tiled.wgsl: 8x8 register tiles in 64x64 or 128x128 workgroup tiles,
//             specialised by pipeline constants (trans flags, B dtype, tile size).
// 'auto' picks tiled when M, N, K are all >= 32 (below that a tile is mostly padding), else naive.
import naiveCode from './matmul_forward_naive.wgsl';
import tiledCode from './matmul_forward_tiled.wgsl';
import { cdiv, packUniforms, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import type { Tensor } from '../src/engine/gpu/tensor.ts';

const BINDINGS = ['uniform', 'read', 'read', 'read', 'storage'] as const;
export const matmulNaiveSpec: KernelSpec = { name: 'matmul_forward_naive', code: naiveCode, bindings: BINDINGS };
export const matmulTiledSpec: KernelSpec = { name: 'matmul_forward_tiled', code: tiledCode, bindings: BINDINGS };

export const matmulVersions = ['naive', 'tiled'] as const;
export type MatmulVersion = (typeof matmulVersions)[number];

/** Edge of the tiled kernel's square workgroup tile: 64 (64 invocations) or 128 (256 invocations). */
export type MatmulTile = 64 | 128;

export interface MatmulOptions {
  /** a is [..., K, M] instead of [..., M, K] */
  transA?: boolean;
  /** b is [..., N, K] instead of [..., K, N] (nn.Linear weights [out, in]: y = x Wᵀ) */
  transB?: boolean;
  /** default 1 */
  alpha?: number;
  /** [N] f32, added after alpha */
  bias?: Tensor;
  /** out += result (needs `out`) */
  accumulate?: boolean;
  /** write here instead of a new tensor */
  out?: Tensor;
  /** force a kernel version; 'auto' (default) picks by shape */
  version?: 'naive' | 'tiled' | 'auto';
  /** tiled only: force the workgroup tile (tests, benchmarks); default picks by the number of tiles */
  tile?: MatmulTile;
  /**
   * tiled only: compile transA/transB/B dtype into the pipeline (default true: fastest, one pipeline
   * per combination). false: one pipeline per tile reads them from uniforms (tests on lavapipe,
   * where each pipeline takes seconds to compile).
   */
  specialize?: boolean;
}

/** FLOPs of a matmul (one multiply + one add per term). */
export const matmulFlops = (M: number, N: number, K: number, batch = 1): number => 2 * M * N * K * batch;

/** Version 'auto' resolves to: tiled once every dim fills at least a quarter of a 128-wide tile. */
export function pickMatmulVersion(M: number, N: number, K: number): MatmulVersion {
  return M >= 32 && N >= 32 && K >= 32 ? 'tiled' : 'naive';
}

/**
 * Tile picked for the tiled kernel: 128x128 (highest reuse per load) when that still gives enough
 * workgroups to fill a large GPU (an H100/H200 has 132 SMs, each runs two such workgroups), else
 * 64x64, which makes 4x more, smaller workgroups (e.g. [2048, 576] outputs: 80 vs 288 workgroups).
 */
export function pickMatmulTile(M: number, N: number, batch: number): MatmulTile {
  return cdiv(M, 128) * cdiv(N, 128) * batch >= 132 ? 128 : 64;
}

const B_KIND = { f32: 0, f16: 1, bf16: 2 } as const;
const MAX_GROUPS = 65535;

/**
 * C[..., M, N] = alpha · op(A) · op(B) + bias (+ C if accumulate).
 * A: f32 [...batch, M, K] ([...batch, K, M] with transA).
 * B: f32, f16 or bf16 [...batch, K, N] or [K, N] (broadcast over the batch); [.., N, K] with transB.
 * Returns `opts.out` when given, else a new [...batch, M, N] f32 tensor.
 */
export function matmul(rt: Runtime, a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const { transA = false, transB = false, alpha = 1, bias, accumulate = false, out } = opts;
  // ---- shapes and dtypes ----
  if (a.dtype !== 'f32') throw new Error(`matmul: a must be f32, got ${a}`);
  if (b.dtype !== 'f32' && b.dtype !== 'f16' && b.dtype !== 'bf16') throw new Error(`matmul: b must be f32, f16 or bf16, got ${b}`);
  if (a.shape.length < 2 || b.shape.length < 2) throw new Error(`matmul: a and b need at least 2 dims, got ${a} and ${b}`);
  const batchDims = a.shape.slice(0, -2);
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const M = transA ? ac : ar;
  const K = transA ? ar : ac;
  const Kb = transB ? bc : br;
  const N = transB ? br : bc;
  if (K !== Kb) throw new Error(`matmul: inner dims differ: ${a}${transA ? 'ᵀ' : ''} · ${b}${transB ? 'ᵀ' : ''} (K ${K} vs ${Kb})`);
  const bBatchDims = b.shape.slice(0, -2);
  const broadcastB = bBatchDims.length === 0;
  if (!broadcastB && (bBatchDims.length !== batchDims.length || bBatchDims.some((d, i) => d !== batchDims[i]))) {
    throw new Error(`matmul: b's batch dims must equal a's or be absent: ${a} vs ${b}`);
  }
  const batch = batchDims.reduce((p, d) => p * d, 1);
  const outShape = [...batchDims, M, N]; // [...batch, M, N]
  if (bias && (bias.dtype !== 'f32' || bias.shape.length !== 1 || bias.shape[0] !== N)) {
    throw new Error(`matmul: bias must be f32 [${N}], got ${bias}`);
  }
  if (accumulate && !out) throw new Error('matmul: accumulate needs `out`');
  if (out) {
    if (out.dtype !== 'f32' || out.shape.length !== outShape.length || out.shape.some((d, i) => d !== outShape[i])) {
      throw new Error(`matmul: out must be f32 [${outShape}], got ${out}`);
    }
    // WebGPU forbids a writable binding aliasing another binding of the same dispatch
    if (out.buffer === a.buffer || out.buffer === b.buffer || (bias && out.buffer === bias.buffer)) {
      throw new Error('matmul: out must not share a buffer with a, b or bias');
    }
  }
  const o = out ?? rt.empty(outShape, 'f32', 'matmul.out'); // [...batch, M, N]
  if (batch === 0 || M === 0 || N === 0) return o;
  if (batch > MAX_GROUPS) throw new Error(`matmul: batch ${batch} exceeds ${MAX_GROUPS} (one workgroup row per batch entry); fold it into M`);

  // ---- version and dispatch ----
  const version = !opts.version || opts.version === 'auto' ? pickMatmulVersion(M, N, K) : opts.version;
  if (version !== 'naive' && version !== 'tiled') throw new Error(`matmul: unknown version '${String(version)}'`);
  const bStride = broadcastB ? 0 : K * N; // elements between B[z] and B[z+1]
  const tensors = [a, b, bias ?? a, o]; // unused bias slot: bind a (read-only aliasing is allowed)
  // one uniform layout for both kernels (struct U in both .wgsl files)
  const uniforms = packUniforms([
    ['u32', M], ['u32', N], ['u32', K], ['u32', bStride], ['f32', alpha], ['u32', bias ? 1 : 0], ['u32', accumulate ? 1 : 0],
    ['u32', transA ? 1 : 0], ['u32', transB ? 1 : 0], ['u32', B_KIND[b.dtype]], ['u32', 0], ['u32', 0],
  ]);
  if (version === 'naive') {
    const groups: [number, number, number] = [cdiv(N, 16), cdiv(M, 16), batch];
    checkGroups(groups);
    rt.dispatch(matmulNaiveSpec, { tensors, uniforms, workgroups: groups });
    return o;
  }
  const tile = opts.tile ?? pickMatmulTile(M, N, batch);
  if (tile !== 64 && tile !== 128) throw new Error(`matmul: tile must be 64 or 128, got ${String(tile)}`);
  const groups: [number, number, number] = [cdiv(N, tile), cdiv(M, tile), batch];
  checkGroups(groups);
  const T = tile / 8; // invocations per tile edge (each owns 8x8 outputs): TX = TY
  // 2 / 3 = "read the uniform" (see trans_a() in the .wgsl)
  const spec = opts.specialize ?? true;
  const constants = spec
    ? { TX: T, TY: T, TRANS_A: transA ? 1 : 0, TRANS_B: transB ? 1 : 0, B_KIND: B_KIND[b.dtype] }
    : { TX: T, TY: T, TRANS_A: 2, TRANS_B: 2, B_KIND: 3 };
  rt.dispatch(matmulTiledSpec, { tensors, uniforms, workgroups: groups, constants });
  return o;
}

function checkGroups(g: readonly number[]): void {
  if (g.some((d) => d > MAX_GROUPS)) throw new Error(`matmul: dispatch [${g}] exceeds ${MAX_GROUPS} workgroups per dimension`);
}
