// One transformer block of the training graph (graph.ts): its forward, keeping what the backward needs,
// and its backward into LoRA adapters and/or every base weight, with the hook points of graph-hooks.ts.
// Functions of a BlockContext (the TrainGraph: runtime, config, weights, the step's hook points and
// dropout seeds), so that graph.ts holds the step around them.
//
// Legend: B batch, T tokens, N = B·T rows, C = d_model, H = n_heads, Hkv = n_kv_heads, D = d_head,
//         W = (H + 2·Hkv)·D (fused q|k|v width), F = d_mlp. Linear weights are HF [out, in]: y = x Wᵀ.
import type { Runtime } from '../gpu/runtime.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { matmul, type MatmulOptions } from '../../../shaders/matmul_forward.ts';
import { ropeBackward } from '../../../shaders/rope_backward.ts';
import { rmsnormForward } from '../../../shaders/rmsnorm_forward.ts';
import { rmsnormBackward } from '../../../shaders/rmsnorm_backward.ts';
import { ropeKvWrite } from '../../../shaders/rope_kv_write.ts';
import { ropeQkvBackward } from '../../../shaders/rope_qkv_backward.ts';
import { attentionForward } from '../../../shaders/attention_forward.ts';
import { attentionScores } from '../../../shaders/attention_explicit.ts';
import { attentionBackward } from '../../../shaders/attention_backward.ts';
import { swigluForward } from '../../../shaders/swiglu_forward.ts';
import { swigluBackward } from '../../../shaders/swiglu_backward.ts';
import { addScale } from '../../../shaders/add_scale.ts';
import { loraForward } from '../../../shaders/lora_forward.ts';
import { dropout, type DropoutSeed } from '../../../shaders/dropout.ts';
import type { ModelConfig } from '../model/config.ts';
import type { BlockWeights, ModelWeights } from '../model/weights.ts';
import { HOOKS, qkvWindows, windowIn, windowOut } from '../model/hooks.ts';
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

/** What a block needs of its graph. */
export interface BlockContext {
  readonly rt: Runtime;
  readonly cfg: ModelConfig;
  readonly w: ModelWeights;
  readonly invFreq: Float32Array;
  /** fused q|k|v width */
  readonly W: number;
  /** the current forward's hook points */
  readonly hp: GraphHookPoints;
  qkvWindow(t: 'q_proj' | 'k_proj' | 'v_proj'): { offset: number; stride: number };
  dropoutSeed(l: number, t: LoraTarget): DropoutSeed;
}

/** What one block keeps for its backward. */
export interface BlockActs {
  x: Tensor; // [N, C] resid_pre (input of ln1)
  h1: Tensor; // [N, C] ln1(x)
  rstd1: Tensor; // [N]
  q: Tensor; // [B, T, H, D] roped
  k: Tensor; // [B, T, Hkv, D] roped
  v: Tensor; // [B, T, Hkv, D]
  att: Tensor; // [B, T, H, D] attention output (z before o_proj), as o_proj saw it
  attRaw?: Tensor; // [B, T, H, D] the attention kernel's output, when a hook edited z (the attention backward needs it)
  lse: Tensor; // [B, H, T]
  mid: Tensor; // [N, C] resid_mid
  h2: Tensor; // [N, C] ln2(mid)
  rstd2: Tensor; // [N]
  gate: Tensor; // [N, F]
  up: Tensor; // [N, F]
  act: Tensor; // [N, F] silu(gate)·up
  xa: Partial<Record<LoraTarget, Tensor>>; // [N, r] x·Aᵀ per adapter
  xd: Partial<Record<LoraTarget, Tensor>>; // [N, in] dropout(x) per adapter, when dropout > 0
}

/**
 * Kernel for LoRA's skinny products (one side only r wide): split-K when the reduction is long
 * (measured on an H200: the 16×16-tile LoRA kernels ran 36-128 workgroups each looping over the
 * whole reduction, a third of a step's GPU time), the naive kernel otherwise.
 */
const skinny = (K: number): MatmulOptions['version'] => (K >= 256 ? 'splitk' : 'naive');

export const disposeActs = (a: BlockActs, keepX: boolean): void => {
  for (const t of [a.h1, a.rstd1, a.q, a.k, a.v, a.att, a.lse, a.mid, a.h2, a.rstd2, a.gate, a.up, a.act]) t.dispose();
  for (const t of Object.values(a.xa)) t?.dispose();
  for (const t of Object.values(a.xd)) t?.dispose();
  a.attRaw?.dispose();
  if (!keepX) a.x.dispose();
};

/**
 * y [N, out] (+)= lora(xIn) for one target, if it has an adapter (y[:, window] for q/k/v).
 * Returns xa [N, r] and, with dropout, the dropped input xd [N, in] (both kept for the backward).
 */
function loraFwd(ctx: BlockContext, lora: LoraState | null, l: number, t: LoraTarget, xIn: Tensor, y: Tensor, xa: BlockActs['xa'], xd: BlockActs['xd'], window?: { offset: number; stride: number }): void {
  const s = lora?.slots[l]?.[t];
  if (!s) return;
  const p = lora!.dropout ?? 0;
  const x = p > 0 ? dropout(ctx.rt, xIn, p, ctx.dropoutSeed(l, t)) : xIn; // [N, in]
  if (p > 0) xd[t] = x;
  xa[t] = matmul(ctx.rt, x, s.A, { transB: true, version: skinny(x.shape[1]) }); // [N, r] = x Aᵀ
  loraForward(ctx.rt, x, s.A, s.B, y, lora!.scale, { yCols: window, xa: xa[t] }); // y[:, window] += scale · xa Bᵀ
}

/** hook_q and hook_k of layer l before RoPE (hook_v is the unroped v, written where the graph keeps it). */
const preRopeParts = (ctx: BlockContext, l: number) => qkvWindows(ctx.cfg, l).slice(0, 2);

/** Block l's forward; `again`: a recompute in the backward (no captures; resid_pre is already edited). */
export function blockForward(ctx: BlockContext, l: number, x: Tensor, B: number, T: number, lora: LoraState | null, again = false): { out: Tensor; acts: BlockActs } {
  const { rt, cfg, hp } = ctx;
  const bw: BlockWeights = ctx.w.blocks[l];
  const [N, C] = [B * T, cfg.d_model];
  const [H, Hkv, D] = [cfg.n_heads, cfg.n_kv_heads, cfg.d_head];
  const xa: BlockActs['xa'] = {};
  const xd: BlockActs['xd'] = {};
  const lf = (t: LoraTarget, xIn: Tensor, y: Tensor, window?: { offset: number; stride: number }) => loraFwd(ctx, lora, l, t, xIn, y, xa, xd, window);

  hp.at(HOOKS.residPre(l), x, again, again);
  const { y: h1, rstd: rstd1 } = rmsnormForward(rt, x, bw.ln1, cfg.rms_norm_eps); // [N, C]
  hp.at(HOOKS.ln1(l), h1, again);
  const qkv = matmul(rt, h1, bw.wqkv, { transB: true, bias: bw.bqkv ?? undefined }); // [N, W]
  for (const t of ['q_proj', 'k_proj', 'v_proj'] as const) lf(t, h1, qkv, ctx.qkvWindow(t));
  // hook_q / hook_k before RoPE: windows of the fused rows, copied out when wanted; an edit is written back before RoPE
  for (const [name, heads, at] of preRopeParts(ctx, l)) {
    if (!hp.wants(name)) continue;
    const part = hp.at(name, windowOut(rt, qkv, B, T, heads, D, at, name), again); // [B, T, heads, D]
    if (hp.edited(name)) windowIn(rt, part, qkv, at);
    part.dispose();
  }
  const k = rt.empty([B, T, Hkv, D], 'f32', 'train.k'); // [B, T, Hkv, D]
  const v = rt.empty([B, T, Hkv, D], 'f32', 'train.v'); // [B, T, Hkv, D]
  const q = ropeKvWrite(rt, qkv.view([B, T, ctx.W]), H, Hkv, k, v, { cacheAt: 0, offset: 0, invFreq: ctx.invFreq }); // [B, T, H, D]
  qkv.dispose();
  for (const [name, t] of [[HOOKS.rotQ(l), q], [HOOKS.rotK(l), k], [HOOKS.v(l), v]] as const) hp.at(name, t, again);
  if (!again && hp.captured(HOOKS.attnScores(l))) hp.report(HOOKS.attnScores(l), attentionScores(rt, q, k), true); // [B, H, T, T] (read only)
  const writeProbs = !again && hp.captured(HOOKS.pattern(l));
  const a = attentionForward(rt, q, k, v, { offset: 0, writeProbs }); // out [B, T, H, D], lse [B, H, T] (probs [B, H, T, T])
  if (a.probs) hp.report(HOOKS.pattern(l), a.probs, true);
  let attRaw: Tensor | undefined;
  if (hp.edited(HOOKS.z(l))) {
    attRaw = rt.empty(a.out.shape, 'f32', 'train.att_raw'); // [B, T, H, D]
    rt.copy(a.out, 0, attRaw, 0, a.out.numel);
  }
  const z = hp.at(HOOKS.z(l), a.out, again).view([N, H * D]); // [N, H·D]

  const mid = rt.empty([N, C], 'f32', 'train.mid'); // [N, C] = x + z Woᵀ (+ lora)
  rt.copy(x, 0, mid, 0, N * C);
  matmul(rt, z, bw.wo, { transB: true, out: mid, accumulate: true });
  lf('o_proj', z, mid);
  if (!again && hp.captured(HOOKS.attnOut(l))) hp.report(HOOKS.attnOut(l), addScale(rt, mid, 1, x, -1), true); // [N, C]
  hp.at(HOOKS.residMid(l), mid, again);

  const { y: h2, rstd: rstd2 } = rmsnormForward(rt, mid, bw.ln2, cfg.rms_norm_eps); // [N, C]
  hp.at(HOOKS.ln2(l), h2, again);
  const gate = matmul(rt, h2, bw.wgate, { transB: true }); // [N, F]
  lf('gate_proj', h2, gate);
  const up = matmul(rt, h2, bw.wup, { transB: true }); // [N, F]
  lf('up_proj', h2, up);
  const act = hp.at(HOOKS.mlpPost(l), swigluForward(rt, gate, up), again); // [N, F]

  const out = rt.empty([N, C], 'f32', 'train.resid_post'); // [N, C] = mid + act Wdᵀ (+ lora)
  rt.copy(mid, 0, out, 0, N * C);
  matmul(rt, act, bw.wdown, { transB: true, out, accumulate: true });
  lf('down_proj', act, out);
  if (!again && hp.captured(HOOKS.mlpOut(l))) hp.report(HOOKS.mlpOut(l), addScale(rt, out, 1, mid, -1), true); // [N, C]
  hp.at(HOOKS.residPost(l), out, again);
  return { out, acts: { x, h1, rstd1, q, k, v, att: a.out, attRaw, lse: a.lse, mid, h2, rstd2, gate, up, act, xa, xd } };
}

/** dOut [N, C] = d resid_post → d resid_pre [N, C] (new); parameter gradients accumulate. */
export function blockBackward(ctx: BlockContext, l: number, a: BlockActs, dOut: Tensor, B: number, T: number, lora: LoraState | null, full: FullGrads | null): Tensor {
  const { rt, cfg, hp } = ctx;
  const bw = ctx.w.blocks[l];
  const g = full?.blocks[l];
  hp.grad(HOOKS.residPost(l), dOut);
  const [N, C] = [B * T, cfg.d_model];
  const [H, D] = [cfg.n_heads, cfg.d_head];
  const slot = (t: LoraTarget) => lora?.slots[l]?.[t];
  /**
   * Adapter backward for target t, from its own output gradient dy [N, out] (contiguous): dA and dB
   * accumulate, the input gradient adds into dxIn [N, in].
   */
  const loraBwd = (t: LoraTarget, xIn: Tensor, dy: Tensor, dxIn: Tensor) => {
    const s = slot(t);
    if (!s) return;
    const xa = a.xa[t]!; // [N, r]
    const scale = lora!.scale;
    const dxa = matmul(rt, dy, s.B, { alpha: scale, version: skinny(dy.shape[1]) }); // [N, r] = scale · dy B
    matmul(rt, dy, xa, { transA: true, alpha: scale, out: s.dB, accumulate: true, version: skinny(N) }); // dB += scale · dyᵀ xa  [out, r]
    const xd = a.xd[t]; // dropout(x) when the adapter drops its input
    matmul(rt, dxa, xd ?? xIn, { transA: true, out: s.dA, accumulate: true, version: skinny(N) }); // dA += dxaᵀ x  [r, in]
    if (xd) {
      // through the dropout: dx += mask ⊙ (dxa A) / (1 − p), the forward's mask rebuilt from its seed
      const g = matmul(rt, dxa, s.A); // [N, in]
      dropout(rt, g, lora!.dropout!, ctx.dropoutSeed(l, t), { out: dxIn, accumulate: true });
      g.dispose();
    } else matmul(rt, dxa, s.A, { out: dxIn, accumulate: true }); // dx += dxa A  [N, in]
    dxa.dispose();
  };

  // ---- MLP: out = mid + act Wdᵀ ----
  const dAct = matmul(rt, dOut, bw.wdown); // [N, F] = dOut · Wd
  loraBwd('down_proj', a.act, dOut, dAct);
  hp.grad(HOOKS.mlpPost(l), dAct);
  if (g) matmul(rt, dOut, a.act, { transA: true, out: g.wdown, accumulate: true }); // dWd += dOutᵀ act  [C, F]
  const { dgate, dup } = swigluBackward(rt, a.gate, a.up, dAct); // [N, F] each
  dAct.dispose();
  const dh2 = matmul(rt, dgate, bw.wgate); // [N, C]
  matmul(rt, dup, bw.wup, { out: dh2, accumulate: true });
  loraBwd('gate_proj', a.h2, dgate, dh2);
  loraBwd('up_proj', a.h2, dup, dh2);
  hp.grad(HOOKS.ln2(l), dh2);
  if (g) {
    matmul(rt, dgate, a.h2, { transA: true, out: g.wgate, accumulate: true }); // [F, C]
    matmul(rt, dup, a.h2, { transA: true, out: g.wup, accumulate: true }); // [F, C]
  }
  dgate.dispose();
  dup.dispose();
  const dMidNorm = rmsnormBackward(rt, a.mid, bw.ln2, a.rstd2, dh2, g?.ln2 ?? null).dx; // [N, C]
  dh2.dispose();
  const dMid = hp.grad(HOOKS.residMid(l), addScale(rt, dOut, 1, dMidNorm, 1)); // [N, C] residual + norm path
  dMidNorm.dispose();

  // ---- attention: mid = x + z Woᵀ ----
  const z = a.att.view([N, H * D]);
  const dz = matmul(rt, dMid, bw.wo); // [N, H·D]
  loraBwd('o_proj', z, dMid, dz);
  hp.grad(HOOKS.z(l), dz.view(a.att.shape));
  if (g) matmul(rt, dMid, z, { transA: true, out: g.wo, accumulate: true }); // dWo += dMidᵀ z  [C, H·D]
  const { dq, dk, dv } = attentionBackward(rt, a.q, a.k, a.v, a.attRaw ?? a.att, a.lse, dz.view(a.att.shape), { offset: 0 });
  dz.dispose();
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
    if (!preGrad.has(name)) dU.dispose();
  }
  for (const t of preGrad.values()) t.dispose();
  loraBwd('v_proj', a.h1, rows(dv), dh1);
  for (const t of [dq, dk, dv]) t.dispose();
  hp.grad(HOOKS.ln1(l), dh1);
  if (g) {
    matmul(rt, dqkv, a.h1, { transA: true, out: g.wqkv, accumulate: true }); // [W, C]
    if (g.bqkv) {
      const ones = rt.upload(new Float32Array(N).fill(1), [N, 1], 'f32', 'train.ones'); // [N, 1]
      matmul(rt, ones, dqkv, { transA: true, out: g.bqkv.view([1, ctx.W]), accumulate: true }); // db += Σ_rows dqkv
      ones.dispose();
    }
  }
  dqkv.dispose();
  const dxNorm = rmsnormBackward(rt, a.x, bw.ln1, a.rstd1, dh1, g?.ln1 ?? null).dx; // [N, C]
  dh1.dispose();
  const dx = hp.grad(HOOKS.residPre(l), addScale(rt, dMid, 1, dxNorm, 1)); // [N, C]
  dMid.dispose();
  dxNorm.dispose();
  return dx;
}
