// The backward of the one Llama block (model/block.ts, which the training graph runs forward with `keep`):
// from d resid_post to d resid_pre, accumulating into LoRA adapters and/or every base weight, with the
// gradient edits of the hook points (graph-hooks.ts). Functions of a BlockContext (the TrainGraph: runtime,
// config, weights, the step's hook points and dropout seeds), so that graph.ts holds the step around them.
//
// Legend: B batch, T tokens, N = B·T rows, C = d_model, H = n_heads, Hkv = n_kv_heads, D = d_head,
//         W = (H + 2·Hkv)·D (fused q|k|v width), F = d_mlp. Linear weights are HF [out, in]: y = x Wᵀ.
import type { Runtime } from '../gpu/runtime.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { matmul, type MatmulOptions } from '../../../shaders/matmul_forward.ts';
import { matmulShortK, shortKApplies } from '../../../shaders/matmul_short_k.ts';
import { SplitkReduceBatch } from '../../../shaders/splitk_reduce_batch.ts';
import { ropeBackward } from '../../../shaders/rope_backward.ts';
import { rmsnormBackward } from '../../../shaders/rmsnorm_backward.ts';
import { ropeQkvBackward } from '../../../shaders/rope_qkv_backward.ts';
import { attentionBackward } from '../../../shaders/attention_backward.ts';
import { swigluBackward } from '../../../shaders/swiglu_backward.ts';
import { addScale } from '../../../shaders/add_scale.ts';
import { dropout, type DropoutSeed } from '../../../shaders/dropout.ts';
import type { ModelConfig } from '../model/config.ts';
import type { ModelWeights } from '../model/weights.ts';
import { HOOKS, qkvWindows, windowIn, windowOut } from '../model/hooks.ts';
import { loraSkinny, type BlockActs } from '../model/block.ts';
import type { GraphHookPoints } from './graph-hooks.ts';
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

/**
 * Kernel for LoRA's weight-gradient products dA and dB (one side r wide, the reduction over the N rows; its input
 * gradient dy·B goes through loraSkinny), by the reduction's length K: split-K
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
  // the adapters' dA and dB (nothing reads them before the optimizer) take their split-K reduces four to a dispatch
  const reduces = new SplitkReduceBatch(rt);
  /**
   * Adapter backward for target t, from its own output gradient dy [N, out] (contiguous): dA and dB
   * accumulate, the input gradient adds into dxIn [N, in].
   */
  const loraBwd = (t: LoraTarget, xIn: Tensor, dy: Tensor, dxIn: Tensor) => {
    const s = slot(t);
    if (!s) return;
    const xa = a.xa[t]!; // [N, r]
    const scale = lora!.scale;
    const dxa = loraSkinny(rt, dy, s.B, { alpha: scale }); // [N, r] = scale · dy B
    matmul(rt, dy, xa, { transA: true, alpha: scale, out: s.dB, accumulate: true, version: skinny(N), reduceBatch: reduces }); // dB += scale · dyᵀ xa  [out, r]
    const xd = a.xd[t]; // dropout(x) when the adapter drops its input
    matmul(rt, dxa, xd ?? xIn, { transA: true, out: s.dA, accumulate: true, version: skinny(N), reduceBatch: reduces }); // dA += dxaᵀ x  [r, in]
    if (xd) {
      // through the dropout: dx += mask ⊙ (dxa A) / (1 − p), the forward's mask rebuilt from its seed
      const g = dxaA(rt, dxa, s.A); // [N, in]
      dropout(rt, g, lora!.dropout!, ctx.dropoutSeed(l, t), { out: dxIn, accumulate: true });
    } else dxaA(rt, dxa, s.A, dxIn); // dx += dxa A  [N, in]
  };

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
  const dAct = matmul(rt, dDown, bw.wdown); // [N, F] = dDown · Wd
  loraBwd('down_proj', a.act, dDown, dAct);
  hp.grad(HOOKS.mlpPost(l), dAct);
  if (g) matmul(rt, dDown, a.act, { transA: true, out: g.wdown, accumulate: true }); // dWd += dDownᵀ act  [C, F]
  const { dgate, dup } = swigluBackward(rt, a.gate, a.up, dAct); // [N, F] each
  dAct.dispose(); // early: [N, F]
  const dh2 = matmul(rt, dgate, bw.wgate); // [N, C]
  matmul(rt, dup, bw.wup, { out: dh2, accumulate: true });
  loraBwd('gate_proj', a.h2, dgate, dh2);
  loraBwd('up_proj', a.h2, dup, dh2);
  hp.grad(HOOKS.ln2(l), dh2);
  if (g) {
    matmul(rt, dgate, a.h2, { transA: true, out: g.wgate, accumulate: true }); // [F, C]
    matmul(rt, dup, a.h2, { transA: true, out: g.wup, accumulate: true }); // [F, C]
  }
  dgate.dispose(); // early: [N, F]
  dup.dispose();
  const dMidNorm = rmsnormBackward(rt, a.mid, bw.ln2, a.rstd2, dh2, g?.ln2 ?? null).dx; // [N, C]
  const dMid = hp.grad(HOOKS.residMid(l), addScale(rt, dOut, 1, dMidNorm, 1)); // [N, C] residual + norm path

  // ---- attention: mid = x + z Woᵀ (hook_attn_out = z Woᵀ) ----
  const z = a.att.view([N, H * D]);
  const dO = projGrad(HOOKS.attnOut(l), dMid); // [N, C]
  const dz = matmul(rt, dO, bw.wo); // [N, H·D]
  loraBwd('o_proj', z, dO, dz);
  hp.grad(HOOKS.z(l), dz.view(a.att.shape));
  if (g) matmul(rt, dO, z, { transA: true, out: g.wo, accumulate: true }); // dWo += dOᵀ z  [C, H·D]
  const { dq, dk, dv } = attentionBackward(rt, a.q, a.k, a.v, a.attRaw ?? a.att, a.lse, dz.view(a.att.shape), { offset: 0 });
  for (const [name, t] of [[HOOKS.rotQ(l), dq], [HOOKS.rotK(l), dk], [HOOKS.v(l), dv]] as const) hp.grad(name, t);
  const dqkv = ropeQkvBackward(rt, dq, dk, dv, { invFreq: ctx.invFreq }).reshape([N, ctx.W]); // [N, W]
  // an edit of hook_q / hook_k (before RoPE) edits its window of the fused gradient; the adapter then reads that window
  const preGrad = new Map<string, Tensor>();
  for (const [name, heads, at] of preRopeParts(ctx, l)) {
    if (!hp.editsGrad(name)) continue;
    const part = hp.grad(name, windowOut(rt, dqkv, B, T, heads, D, at, `${name}.grad`)); // [B, T, heads, D]
    windowIn(rt, part, dqkv, at);
    preGrad.set(name, part);
  }
  const dh1 = matmul(rt, dqkv, bw.wqkv); // [N, C] = dqkv · Wqkv
  // the q/k/v adapters take their own contiguous output gradients: dq and dk with RoPE undone, dv
  const rows = (t: Tensor) => t.view([N, t.numel / N]);
  for (const [t, name, d] of [['q_proj', HOOKS.q(l), dq], ['k_proj', HOOKS.k(l), dk]] as const) {
    if (!slot(t)) continue;
    const dU = preGrad.get(name) ?? ropeBackward(rt, d, { theta: 0, invFreq: ctx.invFreq }); // [B, T, heads, D]
    loraBwd(t, a.h1, rows(dU), dh1);
  }
  loraBwd('v_proj', a.h1, rows(dv), dh1);
  hp.grad(HOOKS.ln1(l), dh1);
  if (g) {
    matmul(rt, dqkv, a.h1, { transA: true, out: g.wqkv, accumulate: true }); // [W, C]
    if (g.bqkv) {
      const ones = rt.upload(new Float32Array(N).fill(1), [N, 1], 'f32', 'train.ones'); // [N, 1]
      matmul(rt, ones, dqkv, { transA: true, out: g.bqkv.view([1, ctx.W]), accumulate: true }); // db += Σ_rows dqkv
    }
  }
  const dxNorm = rmsnormBackward(rt, a.x, bw.ln1, a.rstd1, dh1, g?.ln1 ?? null).dx; // [N, C]
  const dx = hp.grad(HOOKS.residPre(l), addScale(rt, dMid, 1, dxNorm, 1)); // [N, C]
  reduces.flush();
  return dx;
}
