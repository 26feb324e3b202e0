// One training micro-batch on the GPU: the Llama forward with the activations the backward needs,
// the causal-LM loss, and the backward into LoRA adapters and/or every base weight. The inference
// forward (model/llama.ts) stays lean; this file is its training twin, in the same order.
//
// Legend: B batch, T tokens (right-padded), N = B·T rows, C = d_model, H = n_heads,
//         Hkv = n_kv_heads, D = d_head, W = (H + 2·Hkv)·D (fused q|k|v width), F = d_mlp, V = d_vocab.
// Linear weights are HF [out, in]: y = x Wᵀ, so dx = dy W and dW = dyᵀ x.
//
// Right padding needs no attention mask: with causal attention a real token never sees a later
// pad, and pad rows have target -100, so they add nothing to the loss or to any gradient.
//
// Gradients ACCUMULATE into the caller's (zeroed) tensors, so micro-batches of one optimizer step
// add up. The loss is scaled by the caller's `gradScale` = 1 / (counted tokens of the whole step):
// summed over the step's micro-batches this gives transformers' mean over the step's tokens.
import type { Runtime } from '../gpu/runtime.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { matmul, type MatmulOptions } from '../../../shaders/matmul_forward.ts';
import { ropeBackward } from '../../../shaders/rope_backward.ts';
import { embeddingForward } from '../../../shaders/embedding_forward.ts';
import { embeddingBackward } from '../../../shaders/embedding_backward.ts';
import { rmsnormForward } from '../../../shaders/rmsnorm_forward.ts';
import { rmsnormBackward } from '../../../shaders/rmsnorm_backward.ts';
import { ropeKvWrite } from '../../../shaders/rope_kv_write.ts';
import { ropeQkvBackward } from '../../../shaders/rope_qkv_backward.ts';
import { attentionForward } from '../../../shaders/attention_forward.ts';
import { attentionBackward } from '../../../shaders/attention_backward.ts';
import { swigluForward } from '../../../shaders/swiglu_forward.ts';
import { swigluBackward } from '../../../shaders/swiglu_backward.ts';
import { crossEntropyForward } from '../../../shaders/cross_entropy_forward.ts';
import { crossEntropyBackward } from '../../../shaders/cross_entropy_backward.ts';
import { policyLogitGrad } from '../../../shaders/policy_logit_grad.ts';
import { addScale } from '../../../shaders/add_scale.ts';
import { loraForward } from '../../../shaders/lora_forward.ts';
import { dropout, type DropoutSeed } from '../../../shaders/dropout.ts';
import { hash32 } from '../util/hash32.ts';
import { ropeInvFreq, type ModelConfig } from '../model/config.ts';
import type { BlockWeights, ModelWeights } from '../model/weights.ts';
import { HOOKS } from '../model/hooks.ts';
import { GraphHookPoints, type GraphHooks } from './graph-hooks.ts';

// the seven PEFT target names, defined with the adapter files
import { LORA_TARGETS, type LoraTarget } from './adapter.ts';
export { LORA_TARGETS, type LoraTarget };

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

export interface MicroBatch {
  ids: Int32Array; // [B·T] token ids, right-padded
  labels: Int32Array; // [B·T] already SHIFTED (the cross-entropy targets): row b's labels[t + 1] at t, -100 = not counted
  B: number;
  T: number;
}

export interface StepOptions {
  /** multiplies the summed token losses: 1 / counted tokens of the whole optimizer step */
  gradScale: number;
  /** recompute each block's forward during the backward instead of keeping its activations */
  recompute?: boolean;
  /** rows of logits materialised at once (memory: 2 · rows · V floats); default so that ≤ 32 M floats */
  ceChunkRows?: number;
  /** u32 seed of this micro-batch's LoRA dropout masks (each layer/target mixes in its own index) */
  dropoutSeed?: number;
  /** GRPO's per-token policy objective instead of the cross-entropy (the loss is then the caller's to compute) */
  policy?: PolicyHead;
  /**
   * Any other head on the final normalised hidden states (a reward model's scalar head): gets
   * ln_final's output xf [N, C] and returns d loss / d xf [N, C] (a new tensor; the graph disposes it).
   * Replaces the unembedding and the loss; it must accumulate its own parameters' gradients.
   */
  head?: (xf: Tensor) => Tensor;
  /** hook points read and written in this micro-batch's forward and backward (./graph-hooks.ts) */
  hooks?: GraphHooks;
}

/**
 * The GRPO loss head (rl/grpo.ts): the logits are divided by the sampling temperature, each counted
 * row's log-prob of its label is written to `logp`, and the gradient is the objective's per-token
 * d loss / d logp (shaders/policy_logit_grad.ts) from the row inputs. `gradScale` is not used.
 */
export interface PolicyHead {
  temperature: number;
  /** [N, 4] per row: old log-prob, reference log-prob, advantage, normalisation weight (0 = not counted) */
  rows: Tensor;
  /** [N] out (zeroed by the caller): log_softmax(logits / temperature) at the label; 0 for uncounted rows */
  logp: Tensor;
  epsLow: number;
  epsHigh: number;
  beta: number;
  /** first iteration on fresh rollouts: old = logp, the ratio is exactly 1 */
  onPolicy: boolean;
}

/** What one block keeps for its backward. */
interface BlockActs {
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

const disposeActs = (a: BlockActs, keepX: boolean): void => {
  for (const t of [a.h1, a.rstd1, a.q, a.k, a.v, a.att, a.lse, a.mid, a.h2, a.rstd2, a.gate, a.up, a.act]) t.dispose();
  for (const t of Object.values(a.xa)) t?.dispose();
  for (const t of Object.values(a.xd)) t?.dispose();
  a.attRaw?.dispose();
  if (!keepX) a.x.dispose();
};

export class TrainGraph {
  readonly invFreq: Float32Array;
  readonly W: number;
  /** the current micro-batch's dropout seed (set by step) */
  private seed = 0;
  /** the current forward's hook points (set by step, hidden, nll) */
  private hp: GraphHookPoints;

  constructor(
    readonly rt: Runtime,
    readonly cfg: ModelConfig,
    readonly w: ModelWeights,
  ) {
    this.invFreq = ropeInvFreq(cfg);
    this.W = (cfg.n_heads + 2 * cfg.n_kv_heads) * cfg.d_head;
    this.hp = new GraphHookPoints(rt, undefined, cfg.n_layers);
  }

  /** Column window of a q/k/v adapter inside the fused projection output [N, W]. */
  qkvWindow(t: 'q_proj' | 'k_proj' | 'v_proj'): { offset: number; stride: number } {
    const { n_heads: H, n_kv_heads: Hkv, d_head: D } = this.cfg;
    const offset = t === 'q_proj' ? 0 : t === 'k_proj' ? H * D : (H + Hkv) * D;
    return { offset, stride: this.W };
  }

  /**
   * Forward + backward of one micro-batch. Adds the scaled loss (Σ token CE · gradScale) into a new
   * [1] tensor `lossAcc + …` that is returned (the old one is disposed), and accumulates gradients
   * into `lora` slots and/or `full`.
   */
  step(mb: MicroBatch, lossAcc: Tensor, lora: LoraState | null, full: FullGrads | null, opts: StepOptions): Tensor {
    const { rt, cfg, w } = this;
    const { B, T } = mb;
    const N = B * T;
    const C = cfg.d_model;
    if (mb.ids.length !== N || mb.labels.length !== N) throw new Error(`train step: ids/labels need ${N} values for [${B}, ${T}]`);
    if (T > cfg.n_ctx) throw new Error(`train step: ${T} tokens exceed the model's context of ${cfg.n_ctx}`);

    this.seed = (opts.dropoutSeed ?? 0) >>> 0;
    const hp = (this.hp = new GraphHookPoints(rt, opts.hooks, cfg.n_layers));
    const ids = rt.upload(mb.ids, [B, T], 'i32', 'train.ids'); // [B, T]
    let x = hp.at(HOOKS.embed, embeddingForward(rt, ids, w.embed).reshape([N, C])); // [N, C]
    ids.dispose();
    const acts: (BlockActs | null)[] = [];
    const inputs: Tensor[] = []; // resid_pre of each block (kept in both modes)
    for (let l = 0; l < cfg.n_layers; l++) {
      const a = this.blockForward(l, x, B, T, lora);
      inputs.push(x);
      x = a.out;
      if (opts.recompute) {
        disposeActs(a.acts, true);
        acts.push(null);
      } else acts.push(a.acts);
    }

    // ---- final norm, logits in row chunks, loss and dlogits → dx of the last residual ----
    const { y: xf, rstd: rstdF } = rmsnormForward(rt, x, w.lnFinal, cfg.rms_norm_eps); // [N, C]
    hp.at(HOOKS.lnFinal, xf);
    const dxf = opts.head ? opts.head(xf) : rt.zeros([N, C], 'f32', 'train.dxf'); // [N, C]; rows of chunks with no target stay 0
    const V = cfg.d_vocab;
    const rows = Math.max(1, Math.min(N, opts.ceChunkRows ?? Math.floor((32 << 20) / V)));
    for (let r0 = opts.head ? N : 0; r0 < N; r0 += rows) {
      const R = Math.min(rows, N - r0);
      const tgtHost = mb.labels.subarray(r0, r0 + R);
      let counted = 0;
      for (const t of tgtHost) if (t !== -100) counted++;
      if (counted === 0) continue; // no target in these rows: no loss, zero gradient
      const xc = rt.empty([R, C], 'f32', 'train.xf_rows'); // [R, C]
      rt.copy(xf, r0 * C, xc, 0, R * C);
      const tgt = rt.upload(Int32Array.from(tgtHost), [R], 'i32', 'train.targets'); // [R]
      const pol = opts.policy;
      const inv = pol ? 1 / pol.temperature : 1; // the policy's logits are logits / temperature
      const logits = matmul(rt, xc, w.unembed, { transB: true, alpha: inv }); // [R, V]
      const ce = crossEntropyForward(rt, logits, tgt);
      let dlogits: Tensor; // [R, V] d loss / d (logits · inv)
      if (pol) {
        const rowsIn = rt.empty([R, 4], 'f32', 'train.policy_rows'); // [R, 4]
        rt.copy(pol.rows, r0 * 4, rowsIn, 0, R * 4);
        const g = policyLogitGrad(rt, logits, tgt, ce.lse, rowsIn, { epsLow: pol.epsLow, epsHigh: pol.epsHigh, beta: pol.beta, onPolicy: pol.onPolicy });
        rt.copy(g.logp, 0, pol.logp, r0, R);
        for (const t of [rowsIn, g.logp]) t.dispose();
        dlogits = g.dlogits;
      } else {
        // loss: mean over the chunk's counted rows → Σ rows · gradScale
        const next = addScale(rt, lossAcc, 1, ce.loss, counted * opts.gradScale);
        lossAcc.dispose();
        lossAcc = next;
        dlogits = crossEntropyBackward(rt, logits, tgt, ce.lse, ce.count, { gradScale: counted * opts.gradScale }); // [R, V]
      }
      logits.dispose();
      for (const t of [ce.loss, ce.rowLoss, ce.lse, ce.count, tgt]) t.dispose();
      const dxc = matmul(rt, dlogits, w.unembed, { alpha: inv }); // [R, C] = inv · dlogits · U
      rt.copy(dxc, 0, dxf, r0 * C, R * C);
      dxc.dispose();
      if (full) matmul(rt, dlogits, xc, { transA: true, alpha: inv, out: full.unembed, accumulate: true }); // dU += inv · dlogitsᵀ xf  [V, C]
      dlogits.dispose();
      xc.dispose();
    }
    let dx = rmsnormBackward(rt, x, w.lnFinal, rstdF, hp.grad(HOOKS.lnFinal, dxf), full?.lnFinal ?? null).dx; // [N, C]
    for (const t of [xf, rstdF, dxf, x]) t.dispose();

    // ---- blocks, last to first ----
    for (let l = cfg.n_layers - 1; l >= 0; l--) {
      let a = acts[l];
      if (!a) {
        const again = this.blockForward(l, inputs[l], B, T, lora, true); // recompute
        again.out.dispose();
        a = again.acts;
      }
      const dxIn = this.blockBackward(l, a, dx, B, T, lora, full);
      dx.dispose();
      dx = dxIn;
      disposeActs(a, false); // a.x === inputs[l]
    }
    hp.grad(HOOKS.embed, dx);
    if (full) embeddingBackward(rt, mb.ids, dx, full.embed); // dE += scatter of d hook_embed
    dx.dispose();
    return lossAcc;
  }

  /**
   * Forward only: ln_final's output [N, C] (TransformerLens' ln_final.hook_normalized) with the adapters
   * in `lora` (null = the base weights) and no dropout; activations are freed per block.
   */
  hidden(mb: MicroBatch, lora: LoraState | null, hooks?: GraphHooks): Tensor {
    const { rt, cfg, w } = this;
    const hp = (this.hp = new GraphHookPoints(rt, hooks, cfg.n_layers));
    const { B, T } = mb;
    const N = B * T;
    const C = cfg.d_model;
    if (mb.ids.length !== N) throw new Error(`forward: ids need ${N} values for [${B}, ${T}]`);
    if (T > cfg.n_ctx) throw new Error(`forward: ${T} tokens exceed the model's context of ${cfg.n_ctx}`);
    const noDrop = lora && lora.dropout ? { ...lora, dropout: 0 } : lora;
    const ids = rt.upload(mb.ids, [B, T], 'i32', 'train.ids'); // [B, T]
    let x = hp.at(HOOKS.embed, embeddingForward(rt, ids, w.embed).reshape([N, C])); // [N, C]
    ids.dispose();
    for (let l = 0; l < cfg.n_layers; l++) {
      const a = this.blockForward(l, x, B, T, noDrop);
      disposeActs(a.acts, false); // frees x (the block's input) too
      x = a.out;
    }
    const { y: xf, rstd } = rmsnormForward(rt, x, w.lnFinal, cfg.rms_norm_eps); // [N, C]
    rstd.dispose();
    x.dispose();
    return hp.at(HOOKS.lnFinal, xf);
  }

  /**
   * Forward only: the negative log-prob of each row's label under log_softmax(logits / temperature),
   * [N] (0 for rows with label -100), with the adapters in `lora` (null = the base weights: GRPO's
   * reference policy) and no dropout. The caller negates on the host. Activations are freed per block.
   */
  nll(mb: MicroBatch, lora: LoraState | null, temperature: number, ceChunkRows?: number, hooks?: GraphHooks): Tensor {
    const { rt, cfg, w } = this;
    const { B, T } = mb;
    const N = B * T;
    const C = cfg.d_model;
    if (mb.labels.length !== N) throw new Error(`nll: labels need ${N} values for [${B}, ${T}]`);
    const xf = this.hidden(mb, lora, hooks); // [N, C]
    const out = rt.zeros([N], 'f32', 'train.nll'); // [N]
    const V = cfg.d_vocab;
    const rows = Math.max(1, Math.min(N, ceChunkRows ?? Math.floor((32 << 20) / V)));
    for (let r0 = 0; r0 < N; r0 += rows) {
      const R = Math.min(rows, N - r0);
      const tgtHost = mb.labels.subarray(r0, r0 + R);
      if (tgtHost.every((t) => t === -100)) continue;
      const xc = rt.empty([R, C], 'f32', 'train.xf_rows'); // [R, C]
      rt.copy(xf, r0 * C, xc, 0, R * C);
      const tgt = rt.upload(Int32Array.from(tgtHost), [R], 'i32', 'train.targets'); // [R]
      const logits = matmul(rt, xc, w.unembed, { transB: true, alpha: 1 / temperature }); // [R, V]
      const ce = crossEntropyForward(rt, logits, tgt);
      rt.copy(ce.rowLoss, 0, out, r0, R);
      for (const t of [xc, tgt, logits, ce.loss, ce.rowLoss, ce.lse, ce.count]) t.dispose();
    }
    xf.dispose();
    return out;
  }

  /** Mask seed of adapter (l, t) in this micro-batch: the layer and target are the high word. */
  dropoutSeed(l: number, t: LoraTarget): DropoutSeed {
    return { lo: this.seed, hi: hash32(l * LORA_TARGETS.length + LORA_TARGETS.indexOf(t) + 1) };
  }

  /**
   * y [N, out] (+)= lora(xIn) for one target, if it has an adapter (y[:, window] for q/k/v).
   * Returns xa [N, r] and, with dropout, the dropped input xd [N, in] (both kept for the backward).
   */
  private loraFwd(lora: LoraState | null, l: number, t: LoraTarget, xIn: Tensor, y: Tensor, xa: BlockActs['xa'], xd: BlockActs['xd'], window?: { offset: number; stride: number }): void {
    const s = lora?.slots[l]?.[t];
    if (!s) return;
    const p = lora!.dropout ?? 0;
    const x = p > 0 ? dropout(this.rt, xIn, p, this.dropoutSeed(l, t)) : xIn; // [N, in]
    if (p > 0) xd[t] = x;
    xa[t] = matmul(this.rt, x, s.A, { transB: true, version: skinny(x.shape[1]) }); // [N, r] = x Aᵀ
    loraForward(this.rt, x, s.A, s.B, y, lora!.scale, { yCols: window, xa: xa[t] }); // y[:, window] += scale · xa Bᵀ
  }

  /** Block l's forward; `again`: a recompute in the backward (no captures; resid_pre is already edited). */
  private blockForward(l: number, x: Tensor, B: number, T: number, lora: LoraState | null, again = false): { out: Tensor; acts: BlockActs } {
    const { rt, cfg, hp } = this;
    const bw: BlockWeights = this.w.blocks[l];
    const [N, C] = [B * T, cfg.d_model];
    const [H, Hkv, D] = [cfg.n_heads, cfg.n_kv_heads, cfg.d_head];
    const xa: BlockActs['xa'] = {};
    const xd: BlockActs['xd'] = {};
    const lf = (t: LoraTarget, xIn: Tensor, y: Tensor, window?: { offset: number; stride: number }) => this.loraFwd(lora, l, t, xIn, y, xa, xd, window);

    hp.at(HOOKS.residPre(l), x, again, again);
    const { y: h1, rstd: rstd1 } = rmsnormForward(rt, x, bw.ln1, cfg.rms_norm_eps); // [N, C]
    hp.at(HOOKS.ln1(l), h1, again);
    const qkv = matmul(rt, h1, bw.wqkv, { transB: true, bias: bw.bqkv ?? undefined }); // [N, W]
    for (const t of ['q_proj', 'k_proj', 'v_proj'] as const) lf(t, h1, qkv, this.qkvWindow(t));
    const k = rt.empty([B, T, Hkv, D], 'f32', 'train.k'); // [B, T, Hkv, D]
    const v = rt.empty([B, T, Hkv, D], 'f32', 'train.v'); // [B, T, Hkv, D]
    const q = ropeKvWrite(rt, qkv.view([B, T, this.W]), H, Hkv, k, v, { cacheAt: 0, offset: 0, invFreq: this.invFreq }); // [B, T, H, D]
    qkv.dispose();
    for (const [name, t] of [[HOOKS.rotQ(l), q], [HOOKS.rotK(l), k], [HOOKS.v(l), v]] as const) hp.at(name, t, again);
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
  private blockBackward(l: number, a: BlockActs, dOut: Tensor, B: number, T: number, lora: LoraState | null, full: FullGrads | null): Tensor {
    const { rt, cfg, hp } = this;
    const bw = this.w.blocks[l];
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
        dropout(rt, g, lora!.dropout!, this.dropoutSeed(l, t), { out: dxIn, accumulate: true });
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
    const dqkv = ropeQkvBackward(rt, dq, dk, dv, { invFreq: this.invFreq }).reshape([N, this.W]); // [N, W]
    const dh1 = matmul(rt, dqkv, bw.wqkv); // [N, C] = dqkv · Wqkv
    // the q/k/v adapters take their own contiguous output gradients: dq and dk with RoPE undone, dv
    const rows = (t: Tensor) => t.view([N, t.numel / N]);
    if (slot('q_proj')) {
      const dqU = ropeBackward(rt, dq, { theta: 0, invFreq: this.invFreq }); // [B, T, H, D]
      loraBwd('q_proj', a.h1, rows(dqU), dh1);
      dqU.dispose();
    }
    if (slot('k_proj')) {
      const dkU = ropeBackward(rt, dk, { theta: 0, invFreq: this.invFreq }); // [B, T, Hkv, D]
      loraBwd('k_proj', a.h1, rows(dkU), dh1);
      dkU.dispose();
    }
    loraBwd('v_proj', a.h1, rows(dv), dh1);
    for (const t of [dq, dk, dv]) t.dispose();
    hp.grad(HOOKS.ln1(l), dh1);
    if (g) {
      matmul(rt, dqkv, a.h1, { transA: true, out: g.wqkv, accumulate: true }); // [W, C]
      if (g.bqkv) {
        const ones = rt.upload(new Float32Array(N).fill(1), [N, 1], 'f32', 'train.ones'); // [N, 1]
        matmul(rt, ones, dqkv, { transA: true, out: g.bqkv.view([1, this.W]), accumulate: true }); // db += Σ_rows dqkv
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
}
