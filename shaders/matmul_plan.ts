// Planning for matmul_forward.ts: the kernel versions, the thresholds of 'auto', and the pickers and plans
// that choose a version, a tile or a split of K from a shape alone (no GPU: the tests and the benchmark
// harness call them directly). matmul_forward.ts re-exports all of it.
import { cdiv } from '../src/engine/gpu/kernel.ts';

/** 'vec4h' is vec4 in mixed precision (operands rounded to f16, f32 products and sums): opt-in, needs `shader-f16`. */
export const matmulVersions = ['naive', 'tiled', 'gemv', 'splitk', 'vec4', 'vec4h'] as const;
export type MatmulVersion = (typeof matmulVersions)[number];

// ---- thresholds of 'auto' and of the gemv / split-K plans --------------------------------------
// First guesses from the H200 numbers (132 SMs; tiled at 64x64 tiles reaches ~7-10 TFLOP/s when it
// makes < ~300 workgroups, 27 TFLOP/s at 128x128 with >= 256). To be tuned with
// `npm run bench -- kernels` on the GPU machine: it times every version on every case.

/**
 * M at or below this → gemv (decode and small batches). Up to 8 rows B is read once; 9..16 rows
 * read it twice, still memory-bound. Was 8: on the H200 decode at batch 16 then fell to the naive
 * kernel (M = 16 < TILED_MIN_DIM) and ran at 0.23-0.50x HF transformers.
 */
export const GEMV_MAX_M = 16;
/** N or K below this → naive (a tiled workgroup would be mostly padding); small M above GEMV_MAX_M stays tiled. */
export const TILED_MIN_DIM = 32;
/** Fewer 128x128 output tiles than this (about one per SM) → split-K, when K allows >= 2 ranges. */
export const SPLITK_MAX_TILES = 132;
/** Split-K aims at this many resident invocations: 132 SMs x 2 workgroups of 256. */
export const SPLITK_TARGET_INVOCATIONS = 132 * 512;
/** Split-K ranges hold at least this many K (below, the partial round trip outweighs the FMAs). */
export const SPLITK_MIN_CHUNK = 128;
/**
 * gemv: output columns per workgroup (x is loaded once per K unit and used for NC columns), at most:
 * the reduction buffer holds cols·rows·lanes <= 2048 partial sums (4 with 64 lanes, min(4, 8/rows) with 256).
 */
export const GEMV_COLS = 4;
/** gemv: partial sums its reduction buffer holds (cols · rows · lanes). */
export const GEMV_RED = 2048;
/**
 * gemv: rows of B with at least this many load steps (K/4 on the vec paths, K on the element path)
 * → 256 lanes per workgroup, else 64. More lanes put more of B in flight at once (a decode matmul
 * reads ~1-20 MB: a few rounds of memory latency); fewer waste fewer idle lanes on short rows.
 */
export const GEMV_WIDE_MIN_STEPS = 192;

/** Edge of the tiled kernel's square workgroup tile: 64 (64 invocations) or 128 (256 invocations). */
export type MatmulTile = 64 | 128;

/** FLOPs of a matmul (one multiply + one add per term). */
export const matmulFlops = (M: number, N: number, K: number, batch = 1): number => 2 * M * N * K * batch;

/**
 * Version 'auto' resolves to: gemv for M <= GEMV_MAX_M; naive while N or K is below TILED_MIN_DIM;
 * splitk when there are fewer than SPLITK_MAX_TILES 128x128 tiles and K splits into >= 2 ranges;
 * else tiled.
 */
export function pickMatmulVersion(M: number, N: number, K: number, batch = 1): MatmulVersion {
  if (M <= GEMV_MAX_M) return 'gemv';
  if (N < TILED_MIN_DIM || K < TILED_MIN_DIM) return 'naive';
  if (cdiv(M, 128) * cdiv(N, 128) * batch < SPLITK_MAX_TILES && planSplitK(M, N, K, batch).splits >= 2) return 'splitk';
  return 'tiled';
}

/**
 * Tile picked for the tiled kernel: 128x128 (highest reuse per load) when that still gives enough
 * workgroups to fill a large GPU (an H100/H200 has 132 SMs, each runs two such workgroups), else
 * 64x64, which makes 4x more, smaller workgroups (e.g. [2048, 576] outputs: 80 vs 288 workgroups).
 */
export function pickMatmulTile(M: number, N: number, batch: number): MatmulTile {
  return cdiv(M, 128) * cdiv(N, 128) * batch >= 132 ? 128 : 64;
}

/**
 * The vec4 kernel reads A and B as vec4 along their contiguous dim: it needs f32 B, K > 0 and that
 * dim a multiple of 4 for both (A: K, or M with transA; B: N, or K with transB).
 */
export function vec4Applies(M: number, N: number, K: number, o: { transA?: boolean; transB?: boolean; dtype?: string } = {}): boolean {
  return (o.dtype ?? 'f32') === 'f32' && K > 0 && (o.transA ? M : K) % 4 === 0 && (o.transB ? K : N) % 4 === 0;
}

/**
 * Workgroup memory of the vec4 kernel: As and Bs, BK k-rows of tile/4 + 1 vec4 each (tileN/4 + 1 for Bs), of
 * `vecBytes` each: 16 (vec4<f32>), or 8 for vec4h's vec4<f16>.
 */
export const vec4WorkgroupBytes = (tile: MatmulTile, bk: 8 | 16 | 32, tileN: MatmulTile = tile, vecBytes: 16 | 8 = 16): number =>
  bk * (tile / 4 + 1 + tileN / 4 + 1) * vecBytes;

/**
 * K per step of the vec4 kernel: 16 when the device's workgroup memory holds it (16896 B at tile 128 in f32, 8448 B
 * for vec4h's f16 tiles: within WebGPU's default 16384), else 8.
 */
export function vec4Bk(limit: number, tile: MatmulTile, tileN: MatmulTile = tile, vecBytes: 16 | 8 = 16): 8 | 16 {
  return vec4WorkgroupBytes(tile, 16, tileN, vecBytes) <= limit ? 16 : 8;
}

/**
 * Whether the vec4 kernel prefetches the next K step into registers: not at tile 128x128. There, without the
 * prefetch registers, a step's loads wait in the open, yet the kernel ran faster (H100, same run: 2048³ 0.541 →
 * 0.498 ms, 4096³ 4.13 → 3.93 ms, the vocabulary products 5-8%; small grids within noise), the registers saved
 * letting more warps stay resident to hide them. At 128x64 and 64x64 the prefetch stayed faster.
 */
export const vec4Prefetch = (tile: MatmulTile, tileN: MatmulTile = tile): boolean => !(tile === 128 && tileN === 128);

/**
 * Workgroup tile of the vec4 kernel, [rows, columns], by how evenly its 128x128 workgroups fill waves of
 * VEC4_TILE128_SLOTS (an H100/H200: 132 SMs x 2 resident workgroups of 256), `fill` = tiles / (waves ·
 * slots): 128x128 when fill >= VEC4_TILE128_FULL (full waves: the most reuse per load), 128x64 when fill
 * >= VEC4_TILE128_FILL (twice the workgroups, half as large, even out a partial wave), else 64x64 (4x
 * more, smaller workgroups that spread evenly). On an H100 (same runs), 2048³, 256 tiles (fill 0.97):
 * 128x128 0.54 ms, 128x64 0.69, 64x64 0.70; SmolLM2 gate_proj [2048, 1536], 192 tiles (0.73): 0.155,
 * 0.119, 0.156; Qwen2.5 gate_proj [1024, 4864], 304 tiles (0.58): 0.485, 0.350, 0.337; [2048, 576], 80
 * tiles (0.30): 64x64 0.087, 128x128 0.097; a 16 × 256 prefill's Qwen2.5 o_proj [4096, 896] and down_proj (K 4864),
 * 224 tiles (0.85): 128x128 0.221 / 1.147 ms, 128x64 0.303 / 1.540 (so FULL is 0.8, not 0.9). The slot count is the
 * GPU machine's; on a smaller GPU any shape fills waves better and the larger tiles do no harm.
 */
export const VEC4_TILE128_SLOTS = 264;
export const VEC4_TILE128_FULL = 0.8;
export const VEC4_TILE128_FILL = 0.65;
export function pickVec4Tile(M: number, N: number, batch: number): [MatmulTile, MatmulTile] {
  const tiles = cdiv(M, 128) * cdiv(N, 128) * batch;
  const fill = tiles / (Math.ceil(tiles / VEC4_TILE128_SLOTS) * VEC4_TILE128_SLOTS);
  return fill >= VEC4_TILE128_FULL ? [128, 128] : fill >= VEC4_TILE128_FILL ? [128, 64] : [64, 64];
}

/** How split-K runs a shape: the tiled kernel's tile, S ranges of `chunk` K each (the last shorter). */
export interface SplitKPlan {
  tile: MatmulTile;
  splits: number;
  chunk: number;
}

/**
 * The split-K cost model at tile 128 (fitted on an H100, BENCHMARKS.md twenty-fifth session: [1024, 896] products at
 * K 896, 4 864 and 9 728, S = 4, 8, 9 and 14, from each shape's S = 4 time: the others within 6 %, 8 of 12 within 3 %): t(S) ∝ 1 / fill(S) + S · SPLITK_PARTIAL_K / K,
 * where fill(S) is how evenly tiles · S workgroups fill waves of VEC4_TILE128_SLOTS (the FMAs, at ~41 TFLOP/s when
 * full) and the second term the partial sums' round trip (~1.2 TB/s, S · M · N · 8 bytes, against 2 · M · N · K FLOPs).
 */
export const SPLITK_PARTIAL_K = 137;
export function splitKCost(tiles: number, S: number, K: number): number {
  const groups = tiles * S;
  const fill = groups / (Math.ceil(groups / VEC4_TILE128_SLOTS) * VEC4_TILE128_SLOTS);
  return 1 / fill + (S * SPLITK_PARTIAL_K) / K;
}
/** A split of K other than the target's is taken where the model puts it at least this much faster. */
export const SPLITK_MODEL_GAIN = 0.97;

/**
 * S fills SPLITK_TARGET_INVOCATIONS with tiles x S workgroups (floor: one round of resident
 * workgroups, not a second nearly empty one), ranges of at least SPLITK_MIN_CHUNK. Tile 128 when
 * its tiles can reach that target, else 64 (4x more workgroups per tile count). At tile 128 a larger S (up to 4x the
 * target) replaces it where splitKCost puts it >= 3 % faster: Qwen2.5's gate|up dx [1024, 896, K 9728] runs 9 ranges
 * (fill 0.95), not 4 (0.85): 0.541 → 0.508 ms on an H100. Ranges are multiples of the tiled kernel's K step (8), so S
 * may come out below the forced value.
 */
export function planSplitK(M: number, N: number, K: number, batch = 1, force: { tile?: MatmulTile; splits?: number } = {}): SplitKPlan {
  const maxS = Math.max(1, Math.floor(K / SPLITK_MIN_CHUNK));
  const tiles128 = cdiv(M, 128) * cdiv(N, 128) * batch;
  const tile = force.tile ?? (tiles128 * maxS * 256 >= SPLITK_TARGET_INVOCATIONS ? 128 : 64);
  const tiles = cdiv(M, tile) * cdiv(N, tile) * batch;
  const perGroup = (tile / 8) ** 2; // invocations per workgroup
  let want = force.splits ?? Math.min(maxS, Math.max(1, Math.floor(SPLITK_TARGET_INVOCATIONS / perGroup / tiles)));
  if (force.splits === undefined && tile === 128) {
    let best = want;
    for (let S = want + 1; S <= Math.min(maxS, 4 * want); S++) if (splitKCost(tiles, S, K) < splitKCost(tiles, best, K)) best = S;
    if (splitKCost(tiles, best, K) <= SPLITK_MODEL_GAIN * splitKCost(tiles, want, K)) want = best;
  }
  if (!Number.isInteger(want) || want < 1) throw new Error(`matmul: splits must be a positive integer, got ${want}`);
  if (K === 0) return { tile, splits: 1, chunk: 0 };
  const chunk = Math.ceil(Math.ceil(K / Math.min(want, K)) / 8) * 8; // K per range, a multiple of 8
  return { tile, splits: Math.ceil(K / chunk), chunk };
}

/**
 * A product of 128 × 128 tiles whose last wave is part empty, run as two column blocks (KernelPrefs.tail 'columns'):
 * the first `n1` columns in 128 × 128 tiles that fill `waves` whole waves of VEC4_TILE128_SLOTS, the other N − n1 in
 * `tailTile` tiles, 4× as many workgroups of a quarter the work, which spread over the SMs instead of running a wave
 * of their own. Two dispatches (the second waits for the first: both write out).
 */
export interface ColumnSplit {
  /** columns of the first block: a multiple of 128 */
  n1: number;
  waves: number;
  tailTile: [MatmulTile, MatmulTile];
}

/**
 * How much longer a 64 × 64 tile's work takes than the same work in 128 × 128 tiles (H100, K 896 products near a
 * whole wave: Qwen2.5 gate_proj [1 024, 4 864] 64 × 64 0.29-0.30 ms against ~0.24 ms a wave of 128 × 128 tiles at
 * 1.15 waves; the 128-row unembedding chunk ~15 % slower in 64 × 64 tiles than 128 × 128, twelfth session): the
 * planned tail's cost, in waves, is its 128 × 128 tiles · this / slots.
 */
export const TAIL_TILE_COST = 1.2;

/**
 * The column split of an [M, N] product (batch 1), or null: where the 128 × 128 tiles make less than one whole wave, or
 * fill their waves to ≥ 0.95 already, or where the split would not save ≥ 5 % of ceil(waves) by the model
 * (waves + tail tiles · TAIL_TILE_COST / slots). The first block takes as many whole column tiles as fit the whole waves.
 */
export function planColumnSplit(M: number, N: number): ColumnSplit | null {
  const P = VEC4_TILE128_SLOTS;
  const nx = cdiv(N, 128);
  const ny = cdiv(M, 128);
  const tiles = nx * ny;
  const waves = Math.floor(tiles / P);
  if (waves < 1 || tiles / (Math.ceil(tiles / P) * P) >= 0.95) return null;
  const mx = Math.floor((waves * P) / ny);
  if (mx < 1 || mx >= nx) return null;
  const cost = waves + ((nx - mx) * ny * TAIL_TILE_COST) / P;
  if (cost > 0.95 * Math.ceil(tiles / P)) return null;
  return { n1: mx * 128, waves, tailTile: [64, 64] };
}
