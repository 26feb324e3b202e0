// matmul: C[..., M, N] = alpha · op(A) · op(B) + bias (+ C if accumulate), six kernel versions:
//   'naive'  — matmul_forward_naive.wgsl: one invocation per output, every option a uniform;
//   'tiled'  — matmul_forward_tiled.wgsl: 8x8 register tiles in 64x64 or 128x128 workgroup tiles,
//              specialised by pipeline constants (trans flags, B dtype, tile size);
//   'gemv'   — matmul_forward_gemv.wgsl: for few rows (decode): a workgroup per NC columns x MR
//              rows, its lanes stride over K reading B once (vec4 / 4 halves per load for x·Wᵀ);
//   'splitk' — the tiled kernel (or vec4: splitInner) over S ranges of K into a scratch
//              [batch, S, M, N], then matmul_forward_splitk.wgsl (or its four-columns form, splitk4) sums the S partials in order: for
//              few tiles and long K;
//   'vec4'   — matmul_forward_vec4.wgsl: the tiled design with vec4 global loads, no per-element
//              bounds checks and 16-deep K steps where workgroup memory allows, in 64x64, 128x64 or
//              128x128 tiles (pickVec4Tile); f32 B whose contiguous dims are multiples of 4 only
//              (vec4Applies), forcing it elsewhere throws;
//   'vec4h'  — matmul_forward_vec4.wgsl with f16 workgroup tiles: vec4 in mixed precision (operands rounded
//              to f16, f32 products and sums), where the device has shader-f16; opt-in only
//              (rt.kernelPrefs.precision = 'f16': then it runs wherever vec4 would, split-K included).
// 'auto' (pickMatmulVersion, matmul_plan.ts): gemv for M <= 16, naive for tiny dims, splitk when the
// tiled kernel would leave the GPU half idle and K can be split, else tiled; where vec4 applies and
// the runtime prefers it (rt.kernelPrefs.matmul, the default), vec4 runs instead of tiled or naive,
// and as split-K's first pass. Every version but vec4 handles every case (forcing one never falls
// back to another; it may just be slow); vec4 forced where it does not apply throws.
import { cdiv, grid1d, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import type { Tensor } from '../src/engine/gpu/tensor.ts';
import type { SplitkReduceBatch } from './splitk_reduce_batch.ts';
import { addScale } from './add_scale.ts';
import { lowRankArgs, matmulSplitkReduceSpec, matmulSplitkReduce4Spec, packSplitkReduce, reduceVec4, type AfterProduct, type LowRankTerm } from './matmul_forward_splitk.ts';
import {
  GEMV_COLS, GEMV_RED, GEMV_WIDE_MIN_STEPS, matmulVersions, pickMatmulTile, pickMatmulVersion, pickVec4Tile, planColumnSplit, planSplitK,
  vec4Applies, vec4Bk, vec4Prefetch, vec4WorkgroupBytes, type ColumnSplit, type MatmulTile, type MatmulVersion,
} from './matmul_plan.ts';

import { matmulGemvSpecs, matmulNaiveSpec, pitchSpec, tiledSpec, vec4Spec } from './matmul_forward_specs.ts';

export * from './matmul_plan.ts';
export { KK_COPIES, matmulGemvSpecs, matmulNaiveSpec, matmulTiledSpec, matmulVec4hSpec, matmulVec4Spec, vec4Spec, writeOutKk } from './matmul_forward_specs.ts';
export { matmulSplitkReduceSpec, packSplitkReduce, type AfterProduct, type LowRankTerm } from './matmul_forward_splitk.ts';

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
  /**
   * out = result + addend (needs `out`, not accumulate; addend shaped as out, in another buffer): read by the split-K
   * reduce as it writes, else copied into out first (an add_scale dispatch, which keeps the compute pass) and accumulated
   */
  addend?: Tensor;
  /** write here instead of a new tensor */
  out?: Tensor;
  /** force a kernel version; 'auto' (default) picks by shape */
  version?: MatmulVersion | 'auto';
  /** tiled / splitk: force the workgroup tile (tests, benchmarks); default picks by the number of tiles */
  tile?: MatmulTile;
  /**
   * tiled / splitk: compile transA/transB/B dtype into the pipeline (default true: fastest, one pipeline
   * per combination). false: one pipeline per tile reads them from uniforms (tests on lavapipe,
   * where each pipeline takes seconds to compile).
   */
  specialize?: boolean;
  /** vec4 only: force a column split (planColumnSplit's form; tests, benchmarks); default: by rt.kernelPrefs.tail */
  columnSplit?: ColumnSplit;
  /** splitk only: force the number of K ranges S (rounded so that ranges are multiples of 8; tests, tuning) */
  splits?: number;
  /** vec4 only: the workgroup tile's width in N when it differs from its height `tile` (a rectangular tile) */
  tileN?: MatmulTile;
  /** vec4 (and split-K over it): K per step, 8 or 16 (default 16 where workgroup memory allows, see vec4Bk) */
  bk?: 8 | 16 | 32;
  /**
   * benchmarks only (`bench -- kernels --vec4-variants`): another source for the vec4 kernel, with its bindings and
   * pipeline constants, timed beside it; bk may then be 32, and the device alone judges its workgroup memory
   */
  vec4Spec?: KernelSpec;
  /** vec4: register prefetch of the next K step (default: on, off at tile 128x128, see vec4Prefetch) */
  prefetch?: boolean;
  /**
   * vec4 (and split-K over it): the workgroups take their tiles GROUP_M tile rows down before one column right
   * (matmul_forward_vec4.wgsl GROUP_M), so a column tile of B is read from memory once per group of rows; default 0,
   * the dispatch order (opt-in until measured on the GPU machine)
   */
  groupM?: number;
  /**
   * splitk without bias, batch 1: hand the partial sums to this batch, whose reduces are recorded four to a dispatch
   * (splitk_reduce_batch.ts), instead of dispatching this product's reduce now. `out` is written only when the batch
   * flushes: for outputs nothing reads before then (a step's parameter gradients).
   */
  reduceBatch?: SplitkReduceBatch;
  /**
   * splitk only: the kernel of the first pass (default: vec4 where it applies and rt.kernelPrefs.matmul is 'vec4',
   * vec4h instead when rt.kernelPrefs.precision is 'f16'; else tiled)
   */
  splitInner?: 'tiled' | 'vec4' | 'vec4h';
  /** gemv only: rows of A per workgroup (default: the next of 1, 2, 4, 8 at or above M) */
  gemvRows?: GemvRows;
  /** gemv only: lanes per workgroup (default by row length, see GEMV_WIDE_MIN_STEPS) */
  gemvLanes?: 64 | 256;
  /**
   * a low-rank term added to the result (LoRA's): its orElse runs after the product (the default, rt.kernelPrefs.lowrank
   * 'none'), or it is folded into the split-K reduce where there is one ('reduce'; 'all': also into the vec4 kernel's
   * K steps); an AfterProduct's orElse always runs after
   */
  lowRank?: LowRankTerm | AfterProduct;
}

export type GemvRows = 1 | 2 | 4 | 8;

/** How gemv runs a shape: entry point, rows and columns per workgroup, lanes. */
export interface GemvPlan {
  spec: KernelSpec;
  rows: GemvRows;
  cols: number;
  lanes: 64 | 256;
  /** [gx, gy, batch · row blocks] */
  groups: [number, number, number];
}

/**
 * Entry point: vec4 loads for x·Wᵀ with K % 4 == 0 (f32 or halves), else the element path. Rows: the
 * next of 1, 2, 4, 8 at or above M (larger M runs row blocks, each reading all of B). Lanes: see
 * GEMV_WIDE_MIN_STEPS. Columns: GEMV_COLS, fewer where the reduction buffer needs it.
 */
export function planGemv(
  M: number, N: number, K: number, batch: number,
  o: { transA?: boolean; transB?: boolean; dtype?: 'f32' | 'f16' | 'bf16'; rows?: GemvRows; lanes?: 64 | 256 } = {},
): GemvPlan {
  const rows: GemvRows = o.rows ?? (M <= 1 ? 1 : M <= 2 ? 2 : M <= 4 ? 4 : 8);
  if (![1, 2, 4, 8].includes(rows)) throw new Error(`matmul: gemvRows must be 1, 2, 4 or 8, got ${String(rows)}`);
  // vec loads need every row of A and W to start on a 4-element unit (and K > 0: a vec binding
  // must be at least one vector long)
  const vec = !o.transA && !!o.transB && K > 0 && K % 4 === 0;
  const spec = !vec ? matmulGemvSpecs.any : (o.dtype ?? 'f32') === 'f32' ? matmulGemvSpecs.vecF32 : matmulGemvSpecs.vecHalf;
  const lanes = o.lanes ?? ((vec ? K / 4 : K) >= GEMV_WIDE_MIN_STEPS ? 256 : 64);
  if (lanes !== 64 && lanes !== 256) throw new Error(`matmul: gemvLanes must be 64 or 256, got ${String(lanes)}`);
  const cols = Math.max(1, Math.min(GEMV_COLS, GEMV_RED / (lanes * rows)));
  const colGroups = cdiv(N, cols);
  const zGroups = batch * cdiv(M, rows);
  const [gx, gy] = grid1d(colGroups);
  return { spec, rows, cols, lanes, groups: [gx, gy, zGroups] };
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
  const { o, folded } = product(rt, a, b, opts);
  if (opts.lowRank && !folded) opts.lowRank.orElse(o);
  return o;
}

/** matmul without the low-rank term's orElse: whether the split-K reduce added the term. */
function product(rt: Runtime, a: Tensor, b: Tensor, opts: MatmulOptions): { o: Tensor; folded: boolean } {
  const { transA = false, transB = false, alpha = 1, bias, out } = opts;
  let accumulate = opts.accumulate ?? false;
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
  const addend = opts.addend;
  if (addend) {
    if (!out || accumulate) throw new Error('matmul: addend needs `out` and no accumulate');
    if (addend.dtype !== 'f32' || addend.shape.length !== outShape.length || addend.shape.some((d, i) => d !== outShape[i])) throw new Error(`matmul: addend must be f32 [${outShape}], got ${addend}`);
    if (addend.buffer === out.buffer) throw new Error('matmul: addend must not share a buffer with out');
  }
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
  if (batch === 0 || M === 0 || N === 0) return { o, folded: false };
  if (batch > MAX_GROUPS) throw new Error(`matmul: batch ${batch} exceeds ${MAX_GROUPS} (one workgroup row per batch entry); fold it into M`);

  // ---- version and dispatch ----
  const auto = !opts.version || opts.version === 'auto';
  let version = auto ? pickMatmulVersion(M, N, K, batch) : opts.version!;
  if (!(matmulVersions as readonly string[]).includes(version)) throw new Error(`matmul: unknown version '${String(version)}'`);
  const bStride = broadcastB ? 0 : K * N; // elements between B[z] and B[z+1]
  const tensors = [a, b, bias ?? a, o]; // unused bias slot: bind a (read-only aliasing is allowed)
  const bDtype = b.dtype as keyof typeof B_KIND; // checked above
  // one uniform layout for the naive, tiled and gemv kernels (struct U in their .wgsl files)
  const pack = (al: number, withBias: boolean, acc: boolean, kChunk = 0, splits = 0, lr?: ReturnType<typeof lowRankArgs>) =>
    packMatmul(M, N, K, bStride, al, withBias, acc, transA, transB, B_KIND[bDtype], kChunk, splits, lr);
  // a low-rank term the kernels may fold (2-D products only); an AfterProduct's runs after the product in any case
  const term = opts.lowRank && 'p' in opts.lowRank && batch === 1 && rt.kernelPrefs.lowrank !== 'none' ? opts.lowRank : null;
  const fitsVec4 = vec4Applies(M, N, K, { transA, transB, dtype: bDtype });
  // the runtime's choice: vec4 for what 'auto' would run tiled, and as split-K's first pass (even when
  // the caller asked for split-K by name); a caller's explicit 'tiled' or splitInner stands
  const preferVec4 = fitsVec4 && rt.kernelPrefs.matmul === 'vec4';
  // and for what it would run naive (a short K or a narrow N, LoRA's products with r = 16: the naive
  // kernel re-reads A and B per output; H100, same run: dx += dxa·A, K = r, 0.030 → 0.013 ms,
  // dxa = dy·B, N = r, 0.115 → 0.063 ms, dB = dyᵀ·xa 0.50 → 0.27 ms)
  // mixed precision (opt-in) runs wherever vec4 would
  const half = rt.kernelPrefs.precision === 'f16';
  if (preferVec4 && auto && (version === 'tiled' || version === 'naive')) version = half ? 'vec4h' : 'vec4';
  const inner = opts.splitInner ?? (preferVec4 ? (half ? 'vec4h' : 'vec4') : 'tiled'); // split-K's first pass
  if ((version === 'vec4h' || (version === 'splitk' && inner === 'vec4h')) && !rt.ctx.hasF16) {
    throw new Error(`matmul: f16 precision (version vec4h) needs the GPU feature shader-f16, which ${rt.ctx.summary.description || 'this GPU'} does not offer; use precision f32`);
  }
  const isVec4 = version === 'vec4' || version === 'vec4h';
  if (opts.tileN !== undefined && !isVec4) throw new Error(`matmul: tileN (a rectangular tile) is for version vec4 only, not ${version}`);
  if (addend && (version !== 'splitk' || opts.reduceBatch)) {
    addScale(rt, addend, 1, null, 0, o); // out = addend, then the product accumulates into it
    accumulate = true;
  }
  if (version === 'naive') {
    const groups: [number, number, number] = [cdiv(N, 16), cdiv(M, 16), batch];
    checkGroups(groups);
    rt.dispatch(matmulNaiveSpec, { tensors, uniforms: pack(alpha, !!bias, accumulate), workgroups: groups });
    return { o, folded: false };
  }
  if (version === 'gemv') {
    const p = planGemv(M, N, K, batch, { transA, transB, dtype: bDtype, rows: opts.gemvRows, lanes: opts.gemvLanes });
    checkGroups(p.groups);
    const code = 1000 + p.lanes + 1e4 * p.rows + 1e5 * p.cols;
    const constants = CANON.get(code) ?? canon(code, { WG: p.lanes, MR: p.rows, NC: p.cols });
    rt.dispatch(p.spec, { tensors, uniforms: pack(alpha, !!bias, accumulate), workgroups: p.groups, constants });
    return { o, folded: false };
  }
  const tiledConstants = (tile: number) => {
    if (tile !== 64 && tile !== 128) throw new Error(`matmul: tile must be 64 or 128, got ${String(tile)}`);
    const T = tile / 8; // invocations per tile edge (each owns 8x8 outputs): TX = TY
    // 2 / 3 = "read the uniform" (see trans_a() in the .wgsl)
    const [ta, tb, bk] = (opts.specialize ?? true) ? [transA ? 1 : 0, transB ? 1 : 0, B_KIND[bDtype]] : [2, 2, 3];
    const code = T + 100 * ta + 300 * tb + 900 * bk;
    return CANON.get(code) ?? canon(code, { TX: T, TY: T, TRANS_A: ta, TRANS_B: tb, B_KIND: bk });
  };
  // the vec4 kernel: the tiled kernel's constants less B_KIND (B is f32), plus BK
  const groupM = opts.groupM ?? 0;
  if (!Number.isInteger(groupM) || groupM < 0 || groupM > 64) throw new Error(`matmul: groupM must be an integer from 0 to 64, got ${String(groupM)}`);
  const vec4Constants = (tile: MatmulTile, tileN: MatmulTile = tile, half = false, lowRank = false) => {
    if (tileN !== 64 && tileN !== 128) throw new Error(`matmul: tileN must be 64 or 128, got ${String(tileN)}`);
    const { B_KIND: bKind, ...c } = tiledConstants(tile);
    const limit = Number(rt.device.limits.maxComputeWorkgroupStorageSize);
    const vecBytes = half ? 8 : 16; // vec4h stages f16 tiles
    const bk = opts.bk ?? vec4Bk(limit, tile, tileN, vecBytes);
    if (bk !== 8 && bk !== 16 && !(bk === 32 && opts.vec4Spec)) throw new Error(`matmul: bk must be 8 or 16, got ${String(bk)}`);
    const bytes = vec4WorkgroupBytes(tile, bk, tileN, vecBytes);
    if (bytes > limit && !opts.vec4Spec) throw new Error(`matmul vec4: tile ${tile}x${tileN} with bk ${bk} needs ${bytes} B of workgroup memory, this device has ${limit}`);
    const prefetch = opts.prefetch ?? vec4Prefetch(tile, tileN);
    // prefetch adds a half, the low-rank term a quarter: no (integer) code of the other kernels can meet them
    // GROUP_M only where set: a variant source (vec4Spec) may not declare it
    const g = groupM > 0 && !opts.vec4Spec ? groupM : 0;
    const code = 1e6 + c.TY + 100 * c.TRANS_A + 300 * c.TRANS_B + 900 * bKind + 1e4 * tileN + 1e3 * bk + (prefetch ? 0.5 : 0) + (lowRank ? 0.25 : 0) + 1e7 * g;
    return CANON.get(code) ?? canon(code, { ...c, TX: tileN / 8, BK: bk, PREFETCH: prefetch ? 1 : 0, ...(lowRank ? { LOWRANK: 1 } : {}), ...(g ? { GROUP_M: g } : {}) });
  };
  if (version === 'tiled' || isVec4) {
    // a forced tile is square unless tileN says otherwise; else the picker's
    const square = (t: MatmulTile): [MatmulTile, MatmulTile] => [t, t];
    const [tile, tileN] = opts.tile !== undefined ? [opts.tile, opts.tileN ?? opts.tile]
      : isVec4 ? pickVec4Tile(M, N, batch) : square(pickMatmulTile(M, N, batch));
    const groups: [number, number, number] = [cdiv(N, tileN), cdiv(M, tile), batch];
    checkGroups(groups);
    if (isVec4) {
      if (!fitsVec4) throw new Error(`matmul ${version}: needs f32 b and the contiguous dims of a and b to be multiples of 4, got ${a}${transA ? 'ᵀ' : ''} · ${b}${transB ? 'ᵀ' : ''}`);
      const h = version === 'vec4h';
      // the low-rank term as more K steps of this dispatch, where the kernel takes it (a 2-D product, P like A and Q like B)
      const t = term && rt.kernelPrefs.lowrank === 'all' && !transA && alpha === 1 && !opts.vec4Spec && (term.starts ?? [0]).length === 1 && !!term.transQ === !transB
        && [term.k, term.p.shape[1], term.pOffset ?? 0].every((v) => v % 4 === 0) ? term : null;
      const lr = t ? lowRankArgs(t, M, N, o) : undefined;
      // a partial last wave of 128 × 128 tiles: two column blocks (planColumnSplit), the second in smaller tiles
      const splittable = batch === 1 && !t && !opts.vec4Spec && groupM === 0 && opts.tile === undefined;
      const split = opts.columnSplit ?? (rt.kernelPrefs.tail === 'columns' && splittable ? planColumnSplit(M, N) : null);
      if (split) {
        const { n1 } = split;
        if (!splittable) throw new Error(`matmul ${version}: a column split needs batch 1 and no tile, groupM, vec4Spec or folded low-rank term`);
        if (!Number.isInteger(n1) || n1 <= 0 || n1 % 128 !== 0 || n1 >= N) throw new Error(`matmul ${version}: a column split's n1 must be a positive multiple of 128 below N = ${N}, got ${n1}`);
        columnBlocks(rt, split, { a, b, bias, o, M, N, K, alpha, accumulate, transA, transB, half: h }, vec4Constants);
        return { o, folded: false };
      }
      const constants = vec4Constants(tile, tileN, h, !!t);
      rt.dispatch(opts.vec4Spec ? pitchSpec(opts.vec4Spec, tile, tileN) : vec4Spec(tile, tileN, h, constants.BK as 8 | 16), {
        tensors: [a, b, bias ?? a, t?.p ?? a, t?.q ?? a, o], uniforms: pack(alpha, !!bias, accumulate, 0, 0, lr), workgroups: groups, constants,
      });
      return { o, folded: !!t };
    }
    rt.dispatch(tiledSpec(tile), { tensors, uniforms: pack(alpha, !!bias, accumulate), workgroups: groups, constants: tiledConstants(tile) });
    return { o, folded: false };
  }
  // splitk: pass 1 = tiled (or vec4) kernel over S K-ranges into partial [batch, S, M, N] (raw sums:
  // alpha 1, no bias, no accumulate); pass 2 sums the S slices in order and applies the epilogue.
  let plan = planSplitK(M, N, K, batch, { tile: opts.tile, splits: opts.splits });
  const sliceBytes = batch * M * N * 4;
  const maxSplits = Math.floor(Number(rt.device.limits.maxStorageBufferBindingSize) / sliceBytes);
  if (maxSplits < 1) throw new Error(`matmul splitk: the partial sums of one range (${sliceBytes} bytes) exceed this GPU's storage binding size`);
  if (plan.splits > maxSplits) plan = planSplitK(M, N, K, batch, { tile: plan.tile, splits: maxSplits });
  const { tile, splits, chunk } = plan;
  // vec4 as the first pass at either tile: alone, the tiled kernel at tile 128 timed as fast or faster (H100:
  // Qwen2.5 gate_proj dx [1024, 896] K 4864, 4 ranges: tiled 0.33 ms, vec4 0.49), but in the step it lost
  // (the next run, tiled at 128: 0.5B step 136.5 → 146.4 ms, 135M profile 126.1 → 129.2 ms of GPU time)
  if (inner !== 'tiled' && !fitsVec4) throw new Error(`matmul splitk: splitInner ${inner} needs f32 b and contiguous dims that are multiples of 4, got ${a} · ${b}`);
  const groups: [number, number, number] = [cdiv(N, tile), cdiv(M, tile), batch * splits];
  checkGroups(groups);
  const partial = rt.empty([batch, splits, M, N], 'f32', 'matmul.splitk_partial'); // [batch, S, M, N]
  const pass1 = { tensors: [a, b, a, partial], uniforms: pack(1, false, false, chunk, splits), workgroups: groups };
  if (inner !== 'tiled') {
    const constants = vec4Constants(tile, tile, inner === 'vec4h');
    rt.dispatch(vec4Spec(tile, tile, inner === 'vec4h', constants.BK as 8 | 16), { ...pass1, tensors: [a, b, a, a, a, partial], constants });
  }
  else rt.dispatch(tiledSpec(tile), { ...pass1, constants: tiledConstants(tile) });
  if (opts.reduceBatch && !bias && batch === 1) {
    opts.reduceBatch.add(partial, o, splits, alpha, accumulate); // the batch disposes the partial after its dispatch
    return { o, folded: false };
  }
  const total = batch * M * N;
  const lowRank = term ? lowRankArgs(term, M, N, o) : undefined;
  const reduceUniforms = packSplitkReduce({ MN: M * N, total, S: splits, N, alpha, bias: !!bias, accumulate, addend: !!addend, lowRank });
  const v4 = reduceVec4(N, lowRank); // four columns an invocation
  rt.dispatch(v4 ? matmulSplitkReduce4Spec : matmulSplitkReduceSpec, {
    tensors: [partial, bias ?? partial, term?.p ?? partial, term?.q ?? partial, addend ?? partial, o],
    uniforms: reduceUniforms,
    workgroups: grid1d(cdiv(v4 ? total / 4 : total, 256)),
  });
  partial.dispose(); // recorded dispatches still use it (queue order)
  return { o, folded: !!term };
}

/**
 * A 2-D vec4 product as two column blocks (planColumnSplit): columns [0, n1) in 128 × 128 tiles, [n1, N) in the
 * split's tail tiles, each a dispatch whose out, B and bias are bound from its first column, with out's (and B's,
 * without transB) row stride N (the vec4 kernel's ldn). n1 is a multiple of 128, so every binding offset is a multiple
 * of 512 bytes past the tensor's own.
 */
function columnBlocks(
  rt: Runtime, split: ColumnSplit,
  p: { a: Tensor; b: Tensor; bias?: Tensor; o: Tensor; M: number; N: number; K: number; alpha: number; accumulate: boolean; transA: boolean; transB: boolean; half: boolean },
  constantsFor: (tile: MatmulTile, tileN: MatmulTile, half: boolean) => Record<string, number>,
): void {
  const { a, b, bias, o, M, N, K } = p;
  const n1 = split.n1;
  const blocks: [number, number, MatmulTile, MatmulTile][] = [[0, n1, 128, 128], [n1, N - n1, ...split.tailTile]];
  for (const [c0, n, tile, tileN] of blocks) {
    const bBlock = c0 === 0 ? b : p.transB ? b.slice(c0 * K, [n * K]) : b.slice(c0, [K * N - c0]);
    const biasBlock = bias && c0 > 0 ? bias.slice(c0, [n]) : bias;
    const oBlock = c0 === 0 ? o : o.slice(c0, [M * N - c0]);
    const groups: [number, number, number] = [cdiv(n, tileN), cdiv(M, tile), 1];
    checkGroups(groups);
    const constants = constantsFor(tile, tileN, p.half);
    rt.dispatch(vec4Spec(tile, tileN, p.half, constants.BK as 8 | 16), {
      tensors: [a, bBlock, biasBlock ?? a, a, a, oBlock],
      uniforms: packMatmul(M, n, K, 0, p.alpha, !!bias, p.accumulate, p.transA, p.transB, N, 0, 0),
      workgroups: groups,
      constants,
    });
  }
}

/**
 * The uniform block U of the naive, tiled, gemv and vec4 kernels, written into one scratch buffer that every call
 * reuses: Runtime.dispatch copies uniforms into its arena before it returns, and each pack here is followed by
 * its dispatch before the next pack (no allocation per dispatch: ~45% of a training step's dispatches are matmuls).
 */
const U_SCRATCH = new ArrayBuffer(64); // 12 words (naive, tiled, gemv) and the vec4 kernel's four of its low-rank term
const U_VIEW = new DataView(U_SCRATCH);
function packMatmul(
  M: number, N: number, K: number, bStride: number, alpha: number, bias: boolean, acc: boolean,
  transA: boolean, transB: boolean, bKind: number /* the vec4 kernel: ldn (0 = N) */, kChunk: number, splits: number, lr?: ReturnType<typeof lowRankArgs>,
): ArrayBuffer {
  if (M >>> 0 !== M || N >>> 0 !== N || K >>> 0 !== K || bStride >>> 0 !== bStride) throw new Error(`matmul: M ${M}, N ${N}, K ${K}, B stride ${bStride} must be u32`);
  U_VIEW.setUint32(0, M, true);
  U_VIEW.setUint32(4, N, true);
  U_VIEW.setUint32(8, K, true);
  U_VIEW.setUint32(12, bStride, true);
  U_VIEW.setFloat32(16, alpha, true);
  U_VIEW.setUint32(20, bias ? 1 : 0, true);
  U_VIEW.setUint32(24, acc ? 1 : 0, true);
  U_VIEW.setUint32(28, transA ? 1 : 0, true);
  U_VIEW.setUint32(32, transB ? 1 : 0, true);
  U_VIEW.setUint32(36, bKind, true);
  U_VIEW.setUint32(40, kChunk, true);
  U_VIEW.setUint32(44, splits, true);
  U_VIEW.setUint32(48, lr?.k ?? 0, true);
  U_VIEW.setFloat32(52, lr?.alpha ?? 0, true);
  U_VIEW.setUint32(56, lr?.pStride ?? 0, true);
  U_VIEW.setUint32(60, lr?.pOffset ?? 0, true);
  return U_SCRATCH;
}

/**
 * One constants object per configuration (`code` a number unique to it; callers write CANON.get(code) ?? canon(code,
 * {...}) so the object is built only the first time): the runtime finds the compiled pipeline by the object itself
 * (KernelCache), so a dispatch builds no key string for it.
 */
const CANON = new Map<number, Record<string, number>>();
function canon(code: number, c: Record<string, number>): Record<string, number> {
  CANON.set(code, Object.freeze(c));
  return c;
}

function checkGroups(g: readonly number[]): void {
  if (g.some((d) => d > MAX_GROUPS)) throw new Error(`matmul: dispatch [${g}] exceeds ${MAX_GROUPS} workgroups per dimension`);
}
