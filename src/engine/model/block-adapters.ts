// The block's LoRA adapters in the forward (model/block.ts), as low-rank terms of the projections they adapt: each
// adapter's x·Aᵀ is made first (one product for the adapters stacked on one input: q|k|v, gate|up), then the
// projection's matmul takes scale · xa·Bᵀ as its `lowRank` term (shaders/matmul_forward.ts LowRankTerm), which the
// split-K reduce adds in its own pass (no dispatch of its own); where the projection ends in no such reduce, or the
// term is a window of a wider output, the term's orElse adds it with lora_forward after the product, as before.
// Also the helpers the adapters' backward shares (train/lora-backward.ts): the r-wide products, the stacked factors,
// q|k|v's windows.
//
// Legend: N rows, r rank, k adapters stacked on one input, W = (H + 2·Hkv)·D (fused q|k|v width).
// Linear weights are HF [out, in]: y = x Wᵀ.
import type { Runtime } from '../gpu/runtime.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { matmul, GEMV_MAX_M, type AfterProduct, type LowRankTerm } from '../../../shaders/matmul_forward.ts';
import { loraForward, loraForwardBlocks, type ColumnWindow } from '../../../shaders/lora_forward.ts';
import { matmulSkinny, skinnyApplies } from '../../../shaders/matmul_skinny.ts';
import { dropout } from '../../../shaders/dropout.ts';
import type { ModelConfig } from './config.ts';
import type { LoraTarget } from '../train/adapter.ts';
import type { DropoutSeed } from '../../../shaders/dropout.ts';

/**
 * LoRA adapters applied unmerged: y = x Wᵀ + scale · (dropout(x) Aᵀ) Bᵀ on each adapted (layer, target).
 * The trainer's LoraState is one (its slots also hold gradients), so rollouts sample the policy being trained.
 */
export interface AdapterSlots {
  /** alpha / r */
  scale: number;
  /** lora_dropout p on each adapter's input, applied only where activations are kept (training); 0 or absent = none */
  dropout?: number;
  /** slots[layer][target]: A [r, in], B [out, r]; undefined (or a missing layer) = no adapter there */
  slots: readonly Partial<Record<LoraTarget, { A: Tensor; B: Tensor }>>[];
}

/** What the adapters' forward needs of a block's environment (model/block.ts BlockEnv is one). */
export interface AdapterEnv {
  readonly rt: Runtime;
  readonly cfg: ModelConfig;
  readonly lora: AdapterSlots | null;
  /** seeds of the adapters' dropout masks (training with dropout) */
  dropoutSeed?(l: number, t: LoraTarget): DropoutSeed;
}

/** What a block keeps of its adapters for the backward (part of model/block.ts BlockActs). */
export interface AdapterActs {
  /**
   * x·Aᵀ per adapter: [N, r], or, for adapters stacked on one input (q|k|v, gate|up: stackedRows), one [N, k·r]
   * tensor they share, each owning the r columns from xaCol[t]
   */
  xa: Partial<Record<LoraTarget, Tensor>>;
  xaCol: Partial<Record<LoraTarget, number>>;
  xd: Partial<Record<LoraTarget, Tensor>>; // [N, in] dropout(x) per adapter, when dropout > 0
}

/** Column window of a q/k/v adapter inside the fused projection rows [N, W]. */
export function qkvColumns(cfg: ModelConfig, t: 'q_proj' | 'k_proj' | 'v_proj'): ColumnWindow & { offset: number; stride: number } {
  const { n_heads: H, n_kv_heads: Hkv, d_head: D } = cfg;
  const offset = t === 'q_proj' ? 0 : t === 'k_proj' ? H * D : (H + Hkv) * D;
  return { offset, stride: (H + 2 * Hkv) * D };
}

/**
 * LoRA's products with an r-wide output, x [M, K] → [M, r]: x·Aᵀ (forward, A [r, in], transB) and alpha·dy·B
 * (backward, B [out, r]). Decode rows (≤ GEMV_MAX_M): what 'auto' picks (gemv). Training and prefill rows: one
 * matmul_skinny dispatch (split-K took two, its partial sums and their reduce: on the H100 the adapters' many small
 * dispatches cost more than their work); where it cannot run, split-K when the reduction is long (on an H200 the
 * 16×16-tile LoRA kernels ran 36-128 workgroups each looping over the whole reduction, a third of a step's GPU time),
 * else 'auto'.
 */
export function loraSkinny(rt: Runtime, x: Tensor, w: Tensor, o: { transB?: boolean; alpha?: number } = {}): Tensor {
  const [M, K] = x.shape;
  const n = o.transB ? w.shape[0] : w.shape[1];
  if (M <= GEMV_MAX_M) return matmul(rt, x, w, { ...o, version: 'auto' });
  if (skinnyApplies(M, n, K)) return matmulSkinny(rt, x, w, o);
  return matmul(rt, x, w, { ...o, version: K >= 256 ? 'splitk' : 'auto' });
}

/**
 * 2-D tensors of one row length that lie back to back in one buffer (a trainer packs a layer's A factors so, then its B
 * factors: trainer.ts), as one view of all their rows: the adapters that share an input then take one x·Aᵀ product
 * (and their backward one dA and one dx product); q|k|v's B factors [W, r] serve their outputs' windows of the fused
 * projection. Null when they do not (adapters loaded one by one, other shapes, fewer than two).
 */
export function stackedRows(ts: readonly Tensor[]): Tensor | null {
  if (ts.length < 2) return null;
  const din = ts[0].shape[1];
  let at = ts[0].byteOffset;
  let rows = 0;
  for (const t of ts) {
    if (t.shape.length !== 2 || t.shape[1] !== din || t.dtype !== 'f32' || t.buffer !== ts[0].buffer || t.byteOffset !== at) return null;
    at += t.byteLength;
    rows += t.shape[0];
  }
  const root = ts[0].root();
  if (root.buffer !== ts[0].buffer) return null;
  return root.slice((ts[0].byteOffset - root.byteOffset) / 4, [rows, din], `${ts[0].label}+${ts.length - 1}`);
}

/**
 * Where q, k and v's windows start in the fused q|k|v rows [N, W] (0, H·D, (H + Hkv)·D) when their three adapters can
 * run as column blocks of one product (each start a multiple of `align`), else null.
 */
export function qkvBlocks(cfg: ModelConfig, align: number): number[] | null {
  const starts = (['q_proj', 'k_proj', 'v_proj'] as const).map((t) => qkvColumns(cfg, t).offset);
  return starts.every((s) => s % align === 0) ? starts : null;
}

/** The MLP's gate and up projections, in the order of their fused product's column blocks (weights.ts). */
export const GATE_UP = ['gate_proj', 'up_proj'] as const;

/** Whether the adapter adapts any of `targets` in layer l. */
export function hasLora(lora: AdapterSlots | null, l: number, ...targets: LoraTarget[]): boolean {
  const slots = lora?.slots[l];
  return !!slots && targets.some((t) => slots[t]);
}

/** A projection's adapter term: folded into its matmul where it can be (LowRankTerm), else added after it (AfterProduct). */
export type AdapterTerm = LowRankTerm | AfterProduct;

/** The adapters' terms of block l's projections; what the backward needs goes into `kept` when activations are kept. */
export interface BlockAdapterTerms {
  /** target t on its input xIn [N, in]; `window`: its columns of a wider output (then never folded) */
  one(t: LoraTarget, xIn: Tensor, window?: ColumnWindow): AdapterTerm | undefined;
  /** the adapters of ts that share the input xIn (one x·Aᵀ where their A factors are stacked), by target */
  shared(ts: readonly LoraTarget[], xIn: Tensor, window?: (t: LoraTarget) => ColumnWindow | undefined): Partial<Record<LoraTarget, AdapterTerm>>;
  /** q, k and v as one term of the fused q|k|v product [N, W] (their B factors back to back as its column blocks) */
  qkv(xIn: Tensor): AdapterTerm | undefined;
  /** gate and up as one term of the fused gate|up product [N, 2F] (stackedRows of the weights: weights.ts), as qkv */
  gateUp(xIn: Tensor): AdapterTerm | undefined;
}

export function blockAdapterTerms(env: AdapterEnv, l: number, keep: boolean, kept: AdapterActs): BlockAdapterTerms {
  const { rt, cfg } = env;
  const slots = env.lora?.slots[l];
  const scale = env.lora?.scale ?? 0;
  const p = keep ? (env.lora?.dropout ?? 0) : 0; // dropout only where activations are kept (training)
  const one = (t: LoraTarget, xIn: Tensor, window?: ColumnWindow): AdapterTerm | undefined => {
    const s = slots?.[t];
    if (!s) return undefined;
    const xin = p > 0 ? dropout(rt, xIn, p, env.dropoutSeed!(l, t)) : xIn; // [N, in]
    const a = loraSkinny(rt, xin, s.A, { transB: true }); // [N, r] = x Aᵀ
    if (keep) {
      kept.xa[t] = a;
      if (p > 0) kept.xd[t] = xin;
    }
    const orElse = (y: Tensor) => loraForward(rt, xin, s.A, s.B, y, scale, { yCols: window, xa: a }); // y[:, window] += scale · a Bᵀ
    return window ? { orElse } : { p: a, q: s.B, k: a.shape[1], alpha: scale, orElse };
  };
  /** one x·Aᵀ [N, k·r] for the adapters of `here` where their A factors are stacked and no dropout makes inputs differ */
  const stackedXa = (here: readonly LoraTarget[], xIn: Tensor): { a: Tensor; r: number } | null => {
    const A = p === 0 ? stackedRows(here.map((t) => slots![t]!.A)) : null; // [k·r, in]
    if (!A) return null;
    const r = A.shape[0] / here.length;
    const a = loraSkinny(rt, xIn, A, { transB: true }); // [N, k·r] = x Aᵀ, the adapters side by side
    if (keep) here.forEach((t, i) => void ([kept.xa[t], kept.xaCol[t]] = [a, i * r]));
    return { a, r };
  };
  /** each adapter of `here`'s term from their stacked x·Aᵀ (its r columns of g.a) */
  const fromStacked = (here: readonly LoraTarget[], xIn: Tensor, g: { a: Tensor; r: number }, window?: (t: LoraTarget) => ColumnWindow | undefined) => {
    const terms: Partial<Record<LoraTarget, AdapterTerm>> = {};
    here.forEach((t, i) => {
      const s = slots![t]!;
      const w = window?.(t);
      const orElse = (y: Tensor) => loraForward(rt, xIn, s.A, s.B, y, scale, { yCols: w, xa: g.a, xaCols: { offset: i * g.r, stride: here.length * g.r } });
      terms[t] = w ? { orElse } : { p: g.a, pOffset: i * g.r, q: s.B, k: g.r, alpha: scale, orElse };
    });
    return terms;
  };
  const shared = (ts: readonly LoraTarget[], xIn: Tensor, window?: (t: LoraTarget) => ColumnWindow | undefined) => {
    const here = ts.filter((t) => slots?.[t]);
    const g = stackedXa(here, xIn);
    if (g) return fromStacked(here, xIn, g, window);
    const terms: Partial<Record<LoraTarget, AdapterTerm>> = {};
    for (const t of here) terms[t] = one(t, xIn, window?.(t));
    return terms;
  };
  /**
   * The adapters of ts as one term of a fused product [N, width] whose column blocks start at `starts` (one a target):
   * their B factors back to back as its column blocks, from one stacked x·Aᵀ, where they are all there and stacked;
   * else each adapter into its window of the fused rows.
   */
  const fused = (ts: readonly LoraTarget[], starts: readonly number[], width: number, xIn: Tensor): AdapterTerm | undefined => {
    if (!ts.some((t) => slots?.[t])) return undefined;
    const windows = (t: LoraTarget): ColumnWindow => ({ offset: starts[ts.indexOf(t)], stride: width });
    const all = ts.every((t) => slots?.[t]);
    const Bs = all ? stackedRows(ts.map((t) => slots![t]!.B)) : null; // [width, r]
    const g = Bs ? stackedXa(ts, xIn) : null; // [N, k·r], the adapters side by side
    // each into its window of the fused rows (from the stacked x·Aᵀ where there is one)
    const each = () => (g ? fromStacked(ts, xIn, g, windows) : shared(ts, xIn, windows));
    if (!g || !Bs) {
      const terms = each();
      return { orElse: (y) => ts.forEach((t) => terms[t]?.orElse(y)) };
    }
    const aligned = starts.every((s) => s % 16 === 0); // lora_forward's column blocks hold whole 16-column tiles
    const orElse = (y: Tensor) => {
      if (aligned) return loraForwardBlocks(rt, g.a, Bs, y, scale, starts);
      const terms = each();
      ts.forEach((t) => terms[t]!.orElse(y));
    };
    return { p: g.a, q: Bs, k: g.r, alpha: scale, starts, orElse };
  };
  const QKV = ['q_proj', 'k_proj', 'v_proj'] as const;
  const qkv = (xIn: Tensor) => fused(QKV, qkvBlocks(cfg, 1)!, qkvColumns(cfg, 'q_proj').stride, xIn);
  const gateUp = (xIn: Tensor) => fused(GATE_UP, [0, cfg.d_mlp], 2 * cfg.d_mlp, xIn);
  return { one, shared, qkv, gateUp };
}
