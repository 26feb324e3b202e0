// The backward of one block's LoRA adapters (train/block.ts calls it where each projection's output gradient is ready,
// before the projection's input-gradient product): dA and dB accumulate, and what the adapters add to the input
// gradient comes back as that product's low-rank term (dxa·A: added after it, or folded into it where its kernel can
// and KernelPrefs.lowrank asks). Each adapter's (or group's) dB and dA run as one matmul_atb dispatch of two jobs.
// Adapters that share an input and were stacked by the forward (one x·Aᵀ for q|k|v, one for gate|up:
// model/block-adapters.ts stackedRows) run as one group: their dy·B side by side in one dxa, one dA product and one dx
// term; q|k|v with their B factors back to back also take their dy·B and dB as column / row blocks of one product over
// the fused gradient dqkv. Anything the kernels cannot take runs per adapter, on contiguous copies where a window will
// not do.
//
// Legend: N rows, r rank, k adapters in a group, W fused q|k|v width. Linear weights are HF [out, in]: y = x Wᵀ.
import type { Runtime } from '../gpu/runtime.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { matmul, type LowRankTerm, type MatmulOptions } from '../../../shaders/matmul_forward.ts';
import { matmulShortK, shortKApplies } from '../../../shaders/matmul_short_k.ts';
import { atbApplies, atbJob, runAtb, type AtbJob } from '../../../shaders/matmul_atb.ts';
import { matmulSkinny, skinnyApplies } from '../../../shaders/matmul_skinny.ts';
import { SplitkReduceBatch } from '../../../shaders/splitk_reduce_batch.ts';
import { copyColumns } from '../../../shaders/copy_columns.ts';
import { dropout, type DropoutSeed } from '../../../shaders/dropout.ts';
import type { ColumnRange } from '../../../shaders/lora_forward.ts';
import type { ModelConfig } from '../model/config.ts';
import type { BlockActs } from '../model/block.ts';
import { loraSkinny, qkvColumns, stackedRows, type AdapterTerm } from '../model/block-adapters.ts';
import type { LoraTarget } from './adapter.ts';

/** One adapter on one linear layer, with its gradients (accumulated). */
export interface LoraSlot {
  A: Tensor; // [r, in]
  B: Tensor; // [out, r]
  dA: Tensor; // [r, in]
  dB: Tensor; // [out, r]
}

export interface LoraState {
  /** alpha / r */
  scale: number;
  /** lora_dropout p on each adapter's input (training only); 0 or absent = none */
  dropout?: number;
  /** slots[layer][target] (undefined where no adapter) */
  slots: Partial<Record<LoraTarget, LoraSlot>>[];
}

/**
 * Kernel for LoRA's weight-gradient products dA and dB where matmul_atb cannot run them (one side r wide, the
 * reduction over the N rows; its input gradient dy·B goes through loraSkinny), by the reduction's length K: split-K
 * when it is long (the 16×16-tile kernels looped over all of it in 36-128 workgroups, a third of a step's GPU
 * time on an H200), else what 'auto' picks (vec4 where it applies and is preferred, else naive).
 */
const skinny = (K: number): MatmulOptions['version'] => (K >= 256 ? 'splitk' : 'auto');

/**
 * LoRA's input gradient dxa [N, r] · A [r, in] (into out, accumulating, when given): a memory-bound product (r ≤ 64
 * terms an output) that matmul_short_k runs one invocation per vec4, where the tiled kernels gave it 64 invocations a
 * 64x64 tile (H100 in the stream: 21.3 µs a dispatch at 1024 × 16 × 896).
 */
function dxaA(rt: Runtime, dxa: Tensor, A: Tensor, out?: Tensor): Tensor {
  const [N, r] = dxa.shape;
  if (shortKApplies(N, r, A.shape[1])) return matmulShortK(rt, dxa, A, out ? { out, accumulate: true } : {});
  return matmul(rt, dxa, A, out ? { out, accumulate: true } : {});
}

/** dx += dxa [N, k] · A [k, in] as a low-rank term of the base dx product (dxaA after it, or folded: KernelPrefs.lowrank). */
function dxTerm(rt: Runtime, dxa: Tensor, A: Tensor): LowRankTerm {
  return { p: dxa, q: A, transQ: true, k: A.shape[0], alpha: 1, orElse: (dxIn) => dxaA(rt, dxa, A, dxIn) };
}

/**
 * Whether an adapter's backward reads its output gradient dy in place: columns offset .. offset+width of rows ld
 * long, N of them, rank r (matmul_skinny for dy·B, matmul_atb for dyᵀ·xa: row length, offset and width multiples of 4).
 */
const readsInPlace = (N: number, r: number, ld: number, { offset, width }: ColumnRange): boolean =>
  offset % 4 === 0 && ld % 4 === 0 && skinnyApplies(N, r, width) && atbApplies(width, r, N);

/** Window w of a fused gradient [N, ld] (gate|up's halves) when a rank-r adapter's backward can read it in place. */
export const fusedWindow = (N: number, r: number, ld: number, w: ColumnRange): boolean => r > 0 && readsInPlace(N, r, ld, w);

/** Target t's window of the fused q|k|v gradient when the adapter's backward can read it in place, else null. */
export function qkvWindow(cfg: ModelConfig, t: 'q_proj' | 'k_proj' | 'v_proj', r: number, N: number): ColumnRange | null {
  const { offset, stride } = qkvColumns(cfg, t);
  const { n_heads: H, n_kv_heads: Hkv, d_head: D } = cfg;
  const w = { offset, width: (t === 'q_proj' ? H : Hkv) * D };
  return readsInPlace(N, r, stride, w) ? w : null;
}

/** What the adapters' backward of one block needs: its activations, the adapters, N rows, the dropout masks' seeds. */
export interface AdapterBackwardEnv {
  rt: Runtime;
  l: number;
  a: BlockActs;
  lora: LoraState | null;
  N: number;
  dropoutSeed(t: LoraTarget): DropoutSeed;
}

/**
 * The adapters' backward runs before the projection's input-gradient product dx = dy·W: dA and dB accumulate at once,
 * and what the adapters add to dx [N, in] comes back as that product's low-rank term (matmul's lowRank: added after it,
 * or folded into it: KernelPrefs.lowrank).
 */
export interface AdapterBackward {
  /** target t from its output gradient dy [N, out] (or dy's window cols of a wider one); its term of dx */
  one(t: LoraTarget, xIn: Tensor, dy: Tensor, cols?: ColumnRange): AdapterTerm | undefined;
  /** the adapters of ts that share the input xIn, as a group where they can be (the file's head); their term of dx */
  shared(ts: readonly LoraTarget[], xIn: Tensor, dys: (t: LoraTarget) => [Tensor, ColumnRange | undefined], fused?: { dy: Tensor; starts: number[] | null }): AdapterTerm | undefined;
  /** records the split-K reduces still pending (the fallback path's): call once the block's adapters are done */
  flush(): void;
}

export function adapterBackward(env: AdapterBackwardEnv): AdapterBackward {
  const { rt, l, a, lora, N, dropoutSeed } = env;
  const slot = (t: LoraTarget) => lora?.slots[l]?.[t];
  // the adapters' dA and dB (nothing reads them before the optimizer) take their split-K reduces four to a dispatch
  const reduces = new SplitkReduceBatch(rt);
  /** p's columns (all of them, or the window w) as a contiguous [N, width]: p itself, or a copy of the window */
  const solid = (p: Tensor, w?: ColumnRange): Tensor => {
    const rows = p.view([N, p.numel / N]);
    if (!w || (w.offset === 0 && w.width === rows.shape[1])) return rows;
    const d = rt.empty([N, w.width], 'f32', `${p.label}.cols`);
    copyColumns(rt, rows, d, { cols: w.width, srcOffset: w.offset, dstOffset: 0 });
    return d;
  };
  /**
   * out [M, n] += alpha · p[:, pw]ᵀ q[:, qw] for p, q of N rows (pw, qw: column windows, default all): a matmul_atb job
   * where it applies (windows read in place; `pairs` runs it), else split-K / 'auto' on contiguous copies, at once (null)
   */
  const weightGrad = (p: Tensor, pw: ColumnRange | undefined, q: Tensor, qw: ColumnRange | undefined, alpha: number, out: Tensor): AtbJob | null => {
    const [M, n] = out.shape;
    const [pr, qr] = [p.view([N, p.numel / N]), q.view([N, q.numel / N])];
    const fours = [pr.shape[1], qr.shape[1], pw?.offset ?? 0, qw?.offset ?? 0].every((v) => v % 4 === 0);
    if (fours && atbApplies(M, n, N)) return atbJob(rt, pr, qr, { alpha, aCols: pw, bCols: qw, out, accumulate: true });
    matmul(rt, solid(p, pw), solid(q, qw), { transA: true, alpha, out, accumulate: true, version: skinny(N), reduceBatch: reduces });
    return null;
  };
  /** weight-gradient jobs (independent of each other: dB and dA read activations, write gradients), two a dispatch */
  const pairs = (jobs: readonly (AtbJob | null)[]) => {
    const js = jobs.filter((j): j is AtbJob => j !== null);
    for (let i = 0; i < js.length; i += 2) runAtb(rt, js.slice(i, i + 2));
  };
  /** target t's x·Aᵀ: its own [N, r], or its window of the [N, k·r] it shares with the adapters stacked beside it */
  const xaOf = (t: LoraTarget): [Tensor, ColumnRange | undefined] => {
    const xa = a.xa[t]!;
    const at = a.xaCol[t];
    return at === undefined ? [xa, undefined] : [xa, { offset: at, width: slot(t)!.A.shape[0] }];
  };
  /**
   * Adapter backward for target t, from its output gradient dy [N, out] (contiguous), or dy's window cols of a wider
   * gradient (the fused q|k|v one): dA and dB accumulate; returns its term of the input gradient dx [N, in].
   */
  const loraBwd = (t: LoraTarget, xIn: Tensor, dy: Tensor, cols?: ColumnRange): AdapterTerm | undefined => {
    const s = slot(t);
    if (!s) return undefined;
    const scale = lora!.scale;
    const dxa = cols ? matmulSkinny(rt, dy, s.B, { alpha: scale, aCols: cols }) : loraSkinny(rt, dy, s.B, { alpha: scale }); // [N, r] = scale · dy B
    const xd = a.xd[t]; // dropout(x) when the adapter drops its input
    pairs([
      weightGrad(dy, cols, ...xaOf(t), scale, s.dB), // dB += scale · dyᵀ xa  [out, r]
      weightGrad(dxa, undefined, xd ?? xIn, undefined, 1, s.dA), // dA += dxaᵀ x  [r, in]
    ]);
    if (xd) {
      // through the dropout: dx += mask ⊙ (dxa A) / (1 − p), the forward's mask rebuilt from its seed
      return { orElse: (dxIn) => dropout(rt, dxaA(rt, dxa, s.A), lora!.dropout!, dropoutSeed(t), { out: dxIn, accumulate: true }) };
    }
    return dxTerm(rt, dxa, s.A); // dx += dxa A  [N, in]
  };
  /**
   * The adapters of `ts` that share the input xIn, each from its output gradient dys(t) (a tensor and, for q/k/v, its
   * window of dqkv): where the forward stacked them (one x·Aᵀ, BlockActs.xaCol) and the kernels take the shapes,
   * their dy·B go side by side into one dxa [N, k·r], then one product adds into their stacked dA and one term, dxa·A, is dx's;
   * else each on its own (loraBwd).
   */
  const loraBwdShared = (ts: readonly LoraTarget[], xIn: Tensor, dys: (t: LoraTarget) => [Tensor, ColumnRange | undefined], fused?: { dy: Tensor; starts: number[] | null }): AdapterTerm | undefined => {
    const here = ts.filter((t) => slot(t));
    if (!here.length) return undefined;
    const xaG = a.xa[here[0]];
    const stacked = here.length > 1 && !!xaG && here.every((t) => a.xa[t] === xaG && a.xaCol[t] !== undefined);
    const A = stacked ? stackedRows(here.map((t) => slot(t)!.A)) : null; // [k·r, in]
    const dA = stacked ? stackedRows(here.map((t) => slot(t)!.dA)) : null;
    const x = xIn.view([N, xIn.numel / N]);
    const [kr, din] = A?.shape ?? [0, 0];
    const r = kr / here.length;
    const dyOf = new Map(here.map((t) => [t, dys(t)] as const)); // once each: a dy may be a copy made for it
    // each dy (or its window) read in place by matmul_skinny and matmul_atb
    const fits = (t: LoraTarget) => {
      const [dy, w] = dyOf.get(t)!;
      const ld = dy.shape[dy.shape.length - 1];
      return readsInPlace(N, r, ld, w ?? { offset: 0, width: ld });
    };
    if (!A || !dA || !atbApplies(kr, din, N) || !shortKApplies(N, kr, din) || !here.every(fits)) {
      const terms = here.map((t) => loraBwd(t, xIn, ...dyOf.get(t)!));
      return { orElse: (dxIn) => terms.forEach((d) => d?.orElse(dxIn)) };
    }
    const scale = lora!.scale;
    const dxa = rt.empty([N, kr], 'f32', 'lora.dxa'); // [N, k·r]: each adapter's scale · dy B in its r columns
    // all of q, k, v with their B (and dB) back to back: dy·B and dB each one product over dqkv's column blocks
    const whole = fused?.starts && here.length === ts.length;
    const [Bs, dBs] = whole ? [stackedRows(here.map((t) => slot(t)!.B)), stackedRows(here.map((t) => slot(t)!.dB))] : [null, null]; // [W, r]
    const jobs: AtbJob[] = []; // the dB products, then dA's: two a dispatch
    if (Bs && dBs && fused!.starts) {
      const dy = fused!.dy; // [N, W]
      matmulSkinny(rt, dy, Bs, { alpha: scale, blocks: fused!.starts, out: dxa });
      jobs.push(atbJob(rt, dy, xaG!, { alpha: scale, bCols: { offset: 0, width: r }, blocks: fused!.starts, out: dBs, accumulate: true })); // dB += scale · dyᵀ xa
    } else here.forEach((t, i) => {
      const s = slot(t)!;
      const [dy, w] = dyOf.get(t)!;
      const dyr = dy.view([N, dy.numel / N]);
      matmulSkinny(rt, dyr, s.B, { alpha: scale, aCols: w, out: dxa, outCols: { offset: i * r, stride: kr } });
      jobs.push(atbJob(rt, dyr, xaG!, { alpha: scale, aCols: w, bCols: { offset: i * r, width: r }, out: s.dB, accumulate: true })); // dB += scale · dyᵀ xa
    });
    jobs.push(atbJob(rt, dxa, x, { out: dA, accumulate: true })); // dA += dxaᵀ x  [k·r, in], the adapters' dA back to back
    pairs(jobs);
    return dxTerm(rt, dxa, A); // dx += dxa A  [N, in]
  };

  return { one: loraBwd, shared: loraBwdShared, flush: () => reduces.flush() };
}
