// One training micro-batch on the GPU: the Llama forward with the activations the backward needs,
// the causal-LM loss, and the backward into LoRA adapters and/or every base weight. The blocks are the
// model's own (model/block.ts, run with `keep`, as the inference forward runs them without); their backward
// is in ./block.ts.
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
import { ReplayStore, tensorsIn } from '../gpu/replay.ts';
import { SLICE_ALIGN, type Tensor } from '../gpu/tensor.ts';
import { matmul } from '../../../shaders/matmul_forward.ts';
import { embeddingForward } from '../../../shaders/embedding_forward.ts';
import { embeddingBackward } from '../../../shaders/embedding_backward.ts';
import { rmsnormForward } from '../../../shaders/rmsnorm_forward.ts';
import { rmsnormBackward } from '../../../shaders/rmsnorm_backward.ts';
import { crossEntropyForward } from '../../../shaders/cross_entropy_forward.ts';
import { crossEntropyBackward } from '../../../shaders/cross_entropy_backward.ts';
import { policyLogitGrad } from '../../../shaders/policy_logit_grad.ts';
import { addScale } from '../../../shaders/add_scale.ts';
import type { DropoutSeed } from '../../../shaders/dropout.ts';
import { hash32 } from '../util/hash32.ts';
import { ropeInvFreq, type ModelConfig } from '../model/config.ts';
import type { ModelWeights } from '../model/weights.ts';
import { HOOKS } from '../model/hooks.ts';
import { GraphHookPoints, type GraphHooks } from './graph-hooks.ts';
import { blockBackward, type BlockContext, type FullGrads, type LoraState } from './block.ts';
import { blockForward, disposeActs, type BlockActs } from '../model/block.ts';

// the seven PEFT target names, defined with the adapter files
import { LORA_TARGETS, type LoraTarget } from './adapter.ts';
export { LORA_TARGETS, type LoraTarget };

export type { LoraSlot, LoraState, FullGrads } from './block.ts';

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
  /** rows of logits materialised at once (memory: 2 · rows · V floats); default defaultCeChunkRows(V, N) */
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

/** Rows per logits chunk for N rows: the caller's (StepOptions.ceChunkRows), else defaultCeChunkRows, within [1, N]. */
const ceRows = (N: number, V: number, asked?: number): number => Math.max(1, Math.min(N, asked ?? defaultCeChunkRows(V, N)));

/**
 * Rows of logits per chunk for N rows: the fewest chunks whose logits stay within 32 M floats (128 MB, WebGPU's default
 * storage binding limit), their rows spread evenly and rounded up to a multiple of 128 (the vocabulary matmul's row
 * tile; still within the cap), so no chunk is a short tail: SmolLM2's V = 49152 and 2 048 rows ran 640, 640, 640 and
 * 128 rows (the last a partial wave of tiles), now four of 512. At Qwen2.5's V = 151936, 220 rows fit: eight chunks
 * of 128 for 1 024 rows, as before (256 MB chunks of 384 rows measured no faster on an H100 and took 0.6 GiB more,
 * BENCHMARKS.md twenty-fifth session). Where fewer than 128 rows fit: as many as fit.
 */
export function defaultCeChunkRows(V: number, N: number): number {
  const fit = Math.floor((32 << 20) / V);
  if (fit < 128) return Math.max(1, fit);
  const cap = fit - (fit % 128);
  if (N <= cap) return N;
  return Math.min(cap, Math.ceil(N / Math.ceil(N / cap) / 128) * 128);
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


export class TrainGraph implements BlockContext {
  readonly invFreq: Float32Array;
  readonly W: number;
  /** the current micro-batch's dropout seed (set by step) */
  private seed = 0;
  /** the current forward's hook points (set by step, hidden, nll; read by ./block.ts) */
  hp: GraphHookPoints;
  /** each block's forward and backward of a step, recorded once and replayed (Runtime.replayable) */
  private replays = new ReplayStore();
  private ids = new WeakMap<object, number>();
  private nextId = 1;

  constructor(
    readonly rt: Runtime,
    readonly cfg: ModelConfig,
    readonly w: ModelWeights,
  ) {
    this.invFreq = ropeInvFreq(cfg);
    this.W = (cfg.n_heads + 2 * cfg.n_kv_heads) * cfg.d_head;
    this.hp = new GraphHookPoints(rt, undefined, cfg.n_layers);
  }

  /**
   * Block l's forward on x [N, C] (model/block.ts): with `keep`, the activations its backward needs, nothing
   * changed in place and LoRA dropout applied; `again`: a recompute in the backward (the hook points skip
   * their captures and resid_pre's edit, whose edited tensor is x).
   */
  private block(l: number, x: Tensor, B: number, T: number, lora: LoraState | null, keep: boolean, again = false): { out: Tensor; acts: BlockActs | null } {
    this.hp.again = again;
    try {
      return blockForward({ rt: this.rt, cfg: this.cfg, w: this.w, invFreq: this.invFreq, hp: this.hp, lora, dropoutSeed: (l, t) => this.dropoutSeed(l, t) }, l, x, B, T, { offset: 0, positions: null }, keep);
    } finally {
      this.hp.again = false;
    }
  }

  /**
   * `fn` (a block's forward or backward in a step) through Runtime.replayable, keyed by what decides its dispatches
   * beyond its inputs: the block and part, the shape, the adapter and full-gradient objects (their tensors are
   * bound as they are) and the kernel choices. Run as is where hooks are set or dropout draws new masks.
   */
  private replayed<T>(what: string, B: number, T: number, lora: LoraState | null, full: FullGrads | null, inputs: Tensor[], fn: () => T): T {
    if (!this.hp.none || (lora?.dropout ?? 0) > 0) return fn();
    const key = `${what}|${B}x${T}|${this.idOf(lora)}|${this.idOf(full)}|${JSON.stringify(this.rt.kernelPrefs)}`;
    return this.rt.replayable(this.replays, key, inputs, fn);
  }

  private idOf(o: object | null): number {
    if (!o) return 0;
    let id = this.ids.get(o);
    if (id === undefined) this.ids.set(o, (id = this.nextId++));
    return id;
  }

  /** Replay statistics of the training step's blocks (replays and captures so far). */
  get replayStats(): { replays: number; captures: number; lastBroken: string | null } {
    return { replays: this.replays.replays, captures: this.replays.captures, lastBroken: this.replays.lastBroken };
  }

  /**
   * Forward + backward of one micro-batch. Adds the scaled loss (Σ token CE · gradScale) into a new
   * [1] tensor `lossAcc + …` that is returned (the old one is disposed), and accumulates gradients
   * into `lora` slots and/or `full`.
   */
  step(mb: MicroBatch, lossAcc: Tensor, lora: LoraState | null, full: FullGrads | null, opts: StepOptions): Tensor {
    const { rt, cfg } = this;
    const { B, T } = mb;
    const N = B * T;
    if (mb.ids.length !== N || mb.labels.length !== N) throw new Error(`train step: ids/labels need ${N} values for [${B}, ${T}]`);
    if (T > cfg.n_ctx) throw new Error(`train step: ${T} tokens exceed the model's context of ${cfg.n_ctx}`);

    this.seed = (opts.dropoutSeed ?? 0) >>> 0;
    this.hp = new GraphHookPoints(rt, opts.hooks, cfg.n_layers); // before the scope: captures leave it
    // a tensor scope: what the step makes is freed when it ends, a throw included, but the new loss; the big
    // ones ([R, V] logits, each block's activations and gradient) are still freed as soon as they are dead
    return rt.scope(() => this.stepIn(mb, lossAcc, lora, full, opts));
  }

  private stepIn(mb: MicroBatch, lossAcc: Tensor, lora: LoraState | null, full: FullGrads | null, opts: StepOptions): Tensor {
    const { rt, cfg, w, hp } = this;
    const { B, T } = mb;
    const N = B * T;
    const C = cfg.d_model;
    const ids = rt.upload(mb.ids, [B, T], 'i32', 'train.ids'); // [B, T]
    let x = hp.at(HOOKS.embed, embeddingForward(rt, ids, w.embed).reshape([N, C])); // [N, C]
    const acts: (BlockActs | null)[] = [];
    const inputs: Tensor[] = []; // resid_pre of each block (kept in both modes)
    for (let l = 0; l < cfg.n_layers; l++) {
      const a = this.replayed(`f${l}`, B, T, lora, full, [x], () => this.block(l, x, B, T, lora, true));
      inputs.push(x);
      x = a.out;
      if (opts.recompute) {
        disposeActs(a.acts!, true);
        acts.push(null);
      } else acts.push(a.acts);
    }

    // ---- final norm, logits in row chunks, loss and dlogits → dx of the last residual ----
    const { y: xf, rstd: rstdF } = rmsnormForward(rt, x, w.lnFinal, cfg.rms_norm_eps); // [N, C]
    hp.at(HOOKS.lnFinal, xf);
    const V = cfg.d_vocab;
    const rows = ceRows(N, V, opts.ceChunkRows);
    const counts: number[] = []; // counted targets of each chunk of rows (none with a head: no loss here)
    for (let r0 = opts.head ? N : 0; r0 < N; r0 += rows) counts.push(mb.labels.subarray(r0, r0 + rows).reduce((n, t) => n + (t !== -100 ? 1 : 0), 0));
    // a chunk with no target leaves its rows of dxf 0
    const dxf = opts.head ? opts.head(xf) : counts.includes(0) ? rt.zeros([N, C], 'f32', 'train.dxf') : rt.empty([N, C], 'f32', 'train.dxf'); // [N, C]
    // a chunk's rows of xf and dxf as views where they start on a binding boundary (whole 128-row chunks do), else copies:
    // a buffer copy ends the compute pass
    const rowsOf = (t: Tensor, r0: number, R: number) => ((t.byteOffset + 4 * r0 * C) % SLICE_ALIGN === 0 ? t.slice(r0 * C, [R, C], `${t.label}.rows`) : null);
    for (let r0 = opts.head ? N : 0; r0 < N; r0 += rows) {
      const R = Math.min(rows, N - r0);
      const tgtHost = mb.labels.subarray(r0, r0 + R);
      const counted = counts[r0 / rows];
      if (counted === 0) continue; // no target in these rows: no loss, zero gradient
      let xc = rowsOf(xf, r0, R); // [R, C]
      if (!xc) {
        xc = rt.empty([R, C], 'f32', 'train.xf_rows');
        rt.copy(xf, r0 * C, xc, 0, R * C);
      }
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
        dlogits = g.dlogits;
      } else {
        // loss: mean over the chunk's counted rows → Σ rows · gradScale
        const next = addScale(rt, lossAcc, 1, ce.loss, counted * opts.gradScale);
        lossAcc.dispose();
        lossAcc = next;
        dlogits = crossEntropyBackward(rt, logits, tgt, ce.lse, ce.count, { gradScale: counted * opts.gradScale }); // [R, V]
      }
      logits.dispose(); // early: [R, V]
      const into = rowsOf(dxf, r0, R);
      const dxc = matmul(rt, dlogits, w.unembed, { alpha: inv, out: into ?? undefined }); // [R, C] = inv · dlogits · U
      if (!into) rt.copy(dxc, 0, dxf, r0 * C, R * C);
      if (full) matmul(rt, dlogits, xc, { transA: true, alpha: inv, out: full.unembed, accumulate: true }); // dU += inv · dlogitsᵀ xf  [V, C]
      dlogits.dispose(); // early: [R, V]
    }
    let dx = rmsnormBackward(rt, x, w.lnFinal, rstdF, hp.grad(HOOKS.lnFinal, dxf), full?.lnFinal ?? null).dx; // [N, C]

    // ---- blocks, last to first ----
    for (let l = cfg.n_layers - 1; l >= 0; l--) {
      let a = acts[l];
      if (!a) {
        const again = this.replayed(`r${l}`, B, T, lora, full, [inputs[l]], () => this.block(l, inputs[l], B, T, lora, true, true)); // recompute
        again.out.dispose();
        a = again.acts!;
      }
      const al = a; // (narrowed to non-null for the closure)
      const dxIn = this.replayed(`b${l}`, B, T, lora, full, [dx, ...tensorsIn(al)], () => blockBackward(this, l, al, dx, B, T, lora, full));
      dx.dispose(); // early: each block's [N, C]
      dx = dxIn;
      disposeActs(a, false); // a.x === inputs[l]
    }
    hp.grad(HOOKS.embed, dx);
    if (full) embeddingBackward(rt, mb.ids, dx, full.embed); // dE += scatter of d hook_embed
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
    // what is made here is freed when it returns, but ln_final's output (captures leave by escape, hp.depth)
    return rt.scope(() => {
      const ids = rt.upload(mb.ids, [B, T], 'i32', 'train.ids'); // [B, T]
      let x = hp.at(HOOKS.embed, embeddingForward(rt, ids, w.embed).reshape([N, C])); // [N, C]
      for (let l = 0; l < cfg.n_layers; l++) x = this.block(l, x, B, T, lora, false).out; // each block frees its input
      return hp.at(HOOKS.lnFinal, rmsnormForward(rt, x, w.lnFinal, cfg.rms_norm_eps).y); // [N, C]
    });
  }

  /**
   * Forward only: the negative log-prob of each row's label under log_softmax(logits / temperature),
   * [N] (0 for rows with label -100), with the adapters in `lora` (null = the base weights: GRPO's
   * reference policy) and no dropout. The caller negates on the host. Activations are freed per block.
   */
  nll(mb: MicroBatch, lora: LoraState | null, temperature: number, ceChunkRows?: number, hooks?: GraphHooks): Tensor {
    const { rt, cfg } = this;
    const { B, T } = mb;
    const N = B * T;
    if (mb.labels.length !== N) throw new Error(`nll: labels need ${N} values for [${B}, ${T}]`);
    const V = cfg.d_vocab;
    const rows = ceRows(N, V, ceChunkRows);
    // made before the scope: hooks' captures leave to the caller (GraphHookPoints' depth), not into this scope
    const xf = this.hidden(mb, lora, hooks); // [N, C]
    try {
      return rt.scope(() => this.rowNll(xf, mb.labels, temperature, rows));
    } finally {
      xf.dispose();
    }
  }

  /** −log softmax(xf · unembedᵀ / temperature) at each row's label, [N] (0 where the label is -100), `rows` rows at a time. */
  private rowNll(xf: Tensor, labels: Int32Array, temperature: number, rows: number): Tensor {
    const { rt, w } = this;
    const [N, C] = xf.shape;
    const out = rt.zeros([N], 'f32', 'train.nll'); // [N]
    for (let r0 = 0; r0 < N; r0 += rows) {
      const R = Math.min(rows, N - r0);
      const tgtHost = labels.subarray(r0, r0 + R);
      if (tgtHost.every((t) => t === -100)) continue;
      // a chunk's logits [R, V] are the big ones: freed before the next chunk
      rt.scope(() => {
        const xc = rt.empty([R, C], 'f32', 'train.xf_rows'); // [R, C]
        rt.copy(xf, r0 * C, xc, 0, R * C);
        const tgt = rt.upload(Int32Array.from(tgtHost), [R], 'i32', 'train.targets'); // [R]
        const logits = matmul(rt, xc, w.unembed, { transB: true, alpha: 1 / temperature }); // [R, V]
        rt.copy(crossEntropyForward(rt, logits, tgt).rowLoss, 0, out, r0, R);
      });
    }
    return out;
  }

  /** Mask seed of adapter (l, t) in this micro-batch: the layer and target are the high word. */
  dropoutSeed(l: number, t: LoraTarget): DropoutSeed {
    return { lo: this.seed, hi: hash32(l * LORA_TARGETS.length + LORA_TARGETS.indexOf(t) + 1) };
  }
}
