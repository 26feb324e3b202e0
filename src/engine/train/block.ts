// The backward of the one Llama block (model/block.ts, which the training graph runs forward with `keep`):
// from d resid_post to d resid_pre, accumulating into LoRA adapters (their products: lora-backward.ts) and/or every
// base weight, with the gradient edits of the hook points (graph-hooks.ts). Functions of a BlockContext (the
// TrainGraph: runtime, config, weights, the step's hook points and dropout seeds), so that graph.ts holds the step
// around them.
//
// Legend: B batch, T tokens, N = B·T rows, C = d_model, H = n_heads, Hkv = n_kv_heads, D = d_head,
//         W = (H + 2·Hkv)·D (fused q|k|v width), F = d_mlp. Linear weights are HF [out, in]: y = x Wᵀ.
import type { Runtime } from '../gpu/runtime.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { matmul } from '../../../shaders/matmul_forward.ts';
import { ropeBackward } from '../../../shaders/rope_backward.ts';
import { rmsnormBackward } from '../../../shaders/rmsnorm_backward.ts';
import { ropeQkvBackward } from '../../../shaders/rope_qkv_backward.ts';
import { attentionBackward } from '../../../shaders/attention_backward.ts';
import { attentionExplicitBackward } from '../../../shaders/attention_explicit_backward.ts';
import { swigluBackward, swigluBackwardFused } from '../../../shaders/swiglu_backward.ts';
import { copyColumns } from '../../../shaders/copy_columns.ts';
import type { DropoutSeed } from '../../../shaders/dropout.ts';
import type { ModelConfig } from '../model/config.ts';
import type { ModelWeights } from '../model/weights.ts';
import { HOOKS, qkvWindows, windowIn, windowOut } from '../model/hooks.ts';
import type { BlockActs } from '../model/block.ts';
import { qkvBlocks, stackedRows, GATE_UP } from '../model/block-adapters.ts';
import type { GraphHookPoints } from './graph-hooks.ts';
import { adapterBackward, fusedWindow, qkvWindow, type AdapterBackward, type LoraState } from './lora-backward.ts';
import type { ColumnRange } from '../../../shaders/lora_forward.ts';
import type { LoraTarget } from './adapter.ts';

export type { LoraSlot, LoraState } from './lora-backward.ts';

/** Gradients of every base weight (full-parameter training), shaped like ModelWeights. */
export interface FullGrads {
  embed: Tensor; // [V, C]
  blocks: { ln1: Tensor; wqkv: Tensor; bqkv: Tensor | null; wo: Tensor; ln2: Tensor; wgate: Tensor; wup: Tensor; wdown: Tensor }[];
  lnFinal: Tensor; // [C]
  /** [V, C]; the same tensor as `embed` when the embeddings are tied */
  unembed: Tensor;
}

/** What a block's backward needs of its graph. */
export interface BlockContext {
  readonly rt: Runtime;
  readonly cfg: ModelConfig;
  readonly w: ModelWeights;
  readonly invFreq: Float32Array;
  /** fused q|k|v width */
  readonly W: number;
  /** the current step's hook points */
  readonly hp: GraphHookPoints;
  dropoutSeed(l: number, t: LoraTarget): DropoutSeed;
}

/** hook_q and hook_k of layer l before RoPE (hook_v is the unroped v, written where the graph keeps it). */
const preRopeParts = (ctx: BlockContext, l: number) => qkvWindows(ctx.cfg, l).slice(0, 2);

/**
 * dOut [N, C] = d resid_post → d resid_pre [N, C] (new); parameter gradients accumulate. It runs in a tensor
 * scope: every temporary is freed when it ends (a throw included) but the result; the [N, F] ones are freed
 * early, as soon as they are dead (the backward's largest: the pool gives their buffers on).
 */
export function blockBackward(ctx: BlockContext, l: number, a: BlockActs, dOut: Tensor, B: number, T: number, lora: LoraState | null, full: FullGrads | null): Tensor {
  return ctx.rt.scope(() => backward(ctx, l, a, dOut, B, T, lora, full));
}

function backward(ctx: BlockContext, l: number, a: BlockActs, dOut: Tensor, B: number, T: number, lora: LoraState | null, full: FullGrads | null): Tensor {
  const { rt, cfg, hp } = ctx;
  const bw = ctx.w.blocks[l];
  const g = full?.blocks[l];
  hp.grad(HOOKS.residPost(l), dOut);
  const [N, C] = [B * T, cfg.d_model];
  const [H, D] = [cfg.n_heads, cfg.d_head];
  const slot = (t: LoraTarget) => lora?.slots[l]?.[t];
  const adapters = adapterBackward({ rt, l, a, lora, N, dropoutSeed: (t) => ctx.dropoutSeed(l, t) });
  /**
   * The gradient reaching a projection that joins the residual (hook_attn_out / hook_mlp_out): the residual's
   * own, or, when the point's edit has a backward, a copy of it with that backward applied (the residual path
   * keeps the unedited one).
   */
  const projGrad = (name: string, dResid: Tensor): Tensor => {
    if (!hp.editsGrad(name)) return dResid;
    const d = rt.empty(dResid.shape, 'f32', `${name}.grad`); // [N, C]
    rt.copy(dResid, 0, d, 0, dResid.numel);
    return hp.grad(name, d);
  };

  // ---- MLP: out = mid + act Wdᵀ (hook_mlp_out = act Wdᵀ) ----
  const dDown = projGrad(HOOKS.mlpOut(l), dOut); // [N, C]
  const dAct = matmul(rt, dDown, bw.wdown, { lowRank: adapters.one('down_proj', a.act, dDown) }); // [N, F] = dDown · Wd (+ the adapter's)
  hp.grad(HOOKS.mlpPost(l), dAct);
  if (g) matmul(rt, dDown, a.act, { transA: true, out: g.wdown, accumulate: true }); // dWd += dDownᵀ act  [C, F]
  const dh2 = a.gu ? gateUpFused(ctx, l, a, a.gu, dAct, adapters, g, lora) : gateUpApart(ctx, l, a, dAct, adapters, g); // [N, C]
  hp.grad(HOOKS.ln2(l), dh2);
  const dMid = hp.grad(HOOKS.residMid(l), rmsnormBackward(rt, a.mid, bw.ln2, a.rstd2, dh2, g?.ln2 ?? null, { residual: dOut }).dx); // [N, C] residual + norm path

  // ---- attention: mid = x + z Woᵀ (hook_attn_out = z Woᵀ) ----
  const z = a.att.view([N, H * D]);
  const dO = projGrad(HOOKS.attnOut(l), dMid); // [N, C]
  const dz = matmul(rt, dO, bw.wo, { lowRank: adapters.one('o_proj', z, dO) }); // [N, H·D] (+ the adapter's)
  hp.grad(HOOKS.z(l), dz.view(a.att.shape));
  if (g) matmul(rt, dO, z, { transA: true, out: g.wo, accumulate: true }); // dWo += dOᵀ z  [C, H·D]
  const dAtt = dz.view(a.att.shape); // [B, T, H, D]
  // dk, dv may stay per query head, summed over each kv head's group by rope_qkv_backward as it reads them, where
  // nothing else reads them: no gradient edit at hook_rot_k / hook_v, and the k / v adapters read dqkv's windows
  const kvRead = hp.editsGrad(HOOKS.rotK(l)) || hp.editsGrad(HOOKS.v(l)) || (['k_proj', 'v_proj'] as const).some((t) => slot(t) && !qkvWindow(cfg, t, slot(t)!.B.shape[1], N));
  const { dq, dk, dv, kvGroup } = a.explicit
    ? // a hook edited the scores or the pattern: their explicit steps run back, each edit's backward where it sat
      { ...attentionExplicitBackward(rt, a.q, a.k, a.v, a.explicit.p, a.explicit.pz, dAtt, { onDp: (g) => hp.grad(HOOKS.pattern(l), g), onDs: (g) => hp.grad(HOOKS.attnScores(l), g) }), kvGroup: 1 }
    : attentionBackward(rt, a.q, a.k, a.v, a.attRaw ?? a.att, a.lse!, dAtt, { offset: 0, sumKv: kvRead });
  hp.grad(HOOKS.rotQ(l), dq);
  if (kvGroup === 1) for (const [name, t] of [[HOOKS.rotK(l), dk], [HOOKS.v(l), dv]] as const) hp.grad(name, t);
  const dqkv = ropeQkvBackward(rt, dq, dk, dv, { invFreq: ctx.invFreq, kvGroup }).reshape([N, ctx.W]); // [N, W]
  // an edit of hook_q / hook_k (before RoPE) edits its window of the fused gradient; the adapter then reads that window
  const preGrad = new Map<string, Tensor>();
  for (const [name, heads, at] of preRopeParts(ctx, l)) {
    if (!hp.editsGrad(name)) continue;
    const part = hp.grad(name, windowOut(rt, dqkv, B, T, heads, D, at, `${name}.grad`)); // [B, T, heads, D]
    windowIn(rt, part, dqkv, at);
    preGrad.set(name, part);
  }
  // the q/k/v adapters' output gradients are dqkv's windows (RoPE undone, hook edits written back): read in place
  // where the kernels take windows, else as contiguous copies (dq and dk with RoPE undone again, dv)
  const rows = (t: Tensor) => t.view([N, t.numel / N]);
  const qkvDy = (t: LoraTarget): [Tensor, ColumnRange | undefined] => {
    const cols = qkvWindow(cfg, t as 'q_proj' | 'k_proj' | 'v_proj', slot(t)!.B.shape[1], N);
    if (cols) return [dqkv, cols];
    if (t === 'v_proj') return [rows(dv), undefined];
    const [name, d] = t === 'q_proj' ? [HOOKS.q(l), dq] : [HOOKS.k(l), dk];
    return [rows(preGrad.get(name) ?? ropeBackward(rt, d, { theta: 0, invFreq: ctx.invFreq })), undefined]; // [N, heads·D]
  };
  const qkvTerm = adapters.shared(['q_proj', 'k_proj', 'v_proj'], a.h1, qkvDy, { dy: dqkv, starts: qkvBlocks(cfg, 4) });
  const dh1 = matmul(rt, dqkv, bw.wqkv, { lowRank: qkvTerm }); // [N, C] = dqkv · Wqkv (+ the adapters')
  hp.grad(HOOKS.ln1(l), dh1);
  if (g) {
    matmul(rt, dqkv, a.h1, { transA: true, out: g.wqkv, accumulate: true }); // [W, C]
    if (g.bqkv) {
      const ones = rt.upload(new Float32Array(N).fill(1), [N, 1], 'f32', 'train.ones'); // [N, 1]
      matmul(rt, ones, dqkv, { transA: true, out: g.bqkv.view([1, ctx.W]), accumulate: true }); // db += Σ_rows dqkv
    }
  }
  const dx = hp.grad(HOOKS.residPre(l), rmsnormBackward(rt, a.x, bw.ln1, a.rstd1, dh1, g?.ln1 ?? null, { residual: dMid }).dx); // [N, C] residual + norm path
  adapters.flush();
  return dx;
}

type BlockGrads = FullGrads['blocks'][number];

/**
 * dh2 [N, C] from the SwiGLU output's gradient dAct [N, F] (freed here) where the forward ran gate|up as one product gu
 * [N, 2F] (weights stacked: weights.ts): dgu = dgate | dup side by side, then one product dgu · [Wg; Wu] with the
 * adapters' term, the adapters' backward reading dgu's halves in place, and one weight-gradient product where the
 * full gradients lie stacked too.
 */
function gateUpFused(ctx: BlockContext, l: number, a: BlockActs, gu: Tensor, dAct: Tensor, adapters: AdapterBackward, g: BlockGrads | undefined, lora: LoraState | null): Tensor {
  const { rt, cfg } = ctx;
  const bw = ctx.w.blocks[l];
  const F = cfg.d_mlp;
  const N = gu.shape[0];
  const wgu = stackedRows([bw.wgate, bw.wup]); // [2F, C]
  if (!wgu) throw new Error(`layer ${l}: the forward ran gate|up as one product, but ${bw.wgate} and ${bw.wup} no longer lie back to back`);
  const dgu = swigluBackwardFused(rt, gu, dAct); // [N, 2F] dgate | dup
  dAct.dispose(); // early: [N, F]
  const half = (t: LoraTarget): ColumnRange => ({ offset: t === 'gate_proj' ? 0 : F, width: F });
  /** t's half of dgu as a contiguous [N, F] */
  const copyHalf = (t: LoraTarget): Tensor => {
    const d = rt.empty([N, F], 'f32', `${t}.dy`);
    copyColumns(rt, dgu, d, { cols: F, srcOffset: half(t).offset, dstOffset: 0 });
    return d;
  };
  // each adapter's dy: its half of dgu, read in place where the kernels can, else a copy
  const r = lora?.slots[l]?.gate_proj?.B.shape[1] ?? lora?.slots[l]?.up_proj?.B.shape[1] ?? 0;
  const dy = (t: LoraTarget): [Tensor, ColumnRange | undefined] => (fusedWindow(N, r, 2 * F, half(t)) ? [dgu, half(t)] : [copyHalf(t), undefined]);
  const term = adapters.shared(GATE_UP, a.h2, dy, { dy: dgu, starts: F % 4 === 0 ? [0, F] : null });
  const dh2 = matmul(rt, dgu, wgu, { lowRank: term }); // [N, C] = dgu · [Wg; Wu] (+ the adapters')
  if (g) {
    const gwgu = stackedRows([g.wgate, g.wup]); // [2F, C]
    if (gwgu) matmul(rt, dgu, a.h2, { transA: true, out: gwgu, accumulate: true }); // [2F, C] += dguᵀ h2
    else for (const t of GATE_UP) matmul(rt, copyHalf(t), a.h2, { transA: true, out: t === 'gate_proj' ? g.wgate : g.wup, accumulate: true }); // [F, C]
  }
  dgu.dispose(); // early: [N, 2F]
  return dh2;
}

/** As gateUpFused where gate and up ran as two products (a.gate, a.up [N, F]): two products each way. */
function gateUpApart(ctx: BlockContext, l: number, a: BlockActs, dAct: Tensor, adapters: AdapterBackward, g: BlockGrads | undefined): Tensor {
  const { rt } = ctx;
  const bw = ctx.w.blocks[l];
  const { dgate, dup } = swigluBackward(rt, a.gate!, a.up!, dAct); // [N, F] each
  dAct.dispose(); // early: [N, F]
  const dh2 = matmul(rt, dgate, bw.wgate); // [N, C]
  const guTerm = adapters.shared(GATE_UP, a.h2, (t) => [t === 'gate_proj' ? dgate : dup, undefined]);
  matmul(rt, dup, bw.wup, { out: dh2, accumulate: true, lowRank: guTerm }); // dh2 += dup · Wu (+ the adapters')
  if (g) {
    matmul(rt, dgate, a.h2, { transA: true, out: g.wgate, accumulate: true }); // [F, C]
    matmul(rt, dup, a.h2, { transA: true, out: g.wup, accumulate: true }); // [F, C]
  }
  dgate.dispose(); // early: [N, F]
  dup.dispose();
  return dh2;
}
