// The optimizer loop around TrainGraph: trainable parameters (LoRA adapters or every base weight),
// gradient accumulation over micro-batches, global-norm clipping and AdamW, all on the GPU; one
// read-back per optimizer step (loss, norm, clip coefficient) to report and to stop on NaN/Inf
// before a bad update is applied.
//
// Semantics follow transformers' Trainer + torch.optim.AdamW (see sft-common conventions):
//   loss of a step = Σ token CE over the step's micro-batches / counted tokens of the step;
//   lr for optimizer step i (0-based) = schedule(i); AdamW's bias correction uses t = i + 1;
//   weight decay on every LoRA matrix; in full training not on norms and biases (Trainer's rule).
import type { Runtime } from '../gpu/runtime.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { gradNormClip } from '../../../shaders/grad_norm.ts';
import { adamwStep } from '../../../shaders/adamw.ts';
import { unpackHalf } from '../../../shaders/unpack_half.ts';
import type { LlamaModel } from '../model/llama.ts';
import { packParams, type ParamChunk, type ParamSpec } from './flat-params.ts';
import { loraParams, type LoraSetup } from './lora-params.ts';
import { TrainGraph, type FullGrads, type LoraState, type MicroBatch, type PolicyHead, type StepOptions } from './graph.ts';
import { hash32 } from '../util/hash32.ts';
import { lrAt, type LrScheduleName as LrSchedule } from './schedule.ts';

export interface OptimConfig {
  lr: number;
  schedule: LrSchedule;
  warmupSteps: number;
  totalSteps: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** 0 = no clipping */
  maxGradNorm: number;
  /** recompute block activations in the backward (less memory, ~1/3 more compute) */
  recompute?: boolean;
}

/** One trainable tensor with its gradient and AdamW moments; `name` is the PEFT/HF name (or the lab's stacked qkv). */
export interface TrainParam {
  name: string;
  p: Tensor;
  g: Tensor;
  m: Tensor;
  v: Tensor;
  decay: boolean;
}

export interface StepMetrics {
  /** optimizer steps done, after this one (1-based) */
  step: number;
  loss: number;
  gradNorm: number;
  lr: number;
  /** counted (trained) tokens, and all positions of the step's micro-batches (padding included) */
  trainedTokens: number;
  tokens: number;
  /** CPU time spent recording and submitting the step's GPU work (ms), waits excluded */
  recordMs: number;
  /**
   * the part of recordMs after the loss read (the optimizer's update): the first GPU call after a wait also carries
   * the driver's deferred work for the step (lavapipe: 12-17 ms for a 30-layer model's step in a probe; BENCHMARKS.md)
   */
  updateMs: number;
}

/** A micro-batch of the policy objective: rows [N · 4] = old log-prob, reference log-prob, advantage, weight per position. */
export interface PolicyMicroBatch extends MicroBatch {
  rows: Float32Array;
  /** this micro-batch's sampling temperature, in place of the head's (GRPO arms sample at several) */
  temperature?: number;
}

/** The policy head's settings (graph.ts PolicyHead without its tensors). */
export type PolicyHeadConfig = Omit<PolicyHead, 'rows' | 'logp'>;

export interface PolicyStepMetrics {
  step: number;
  loss: number;
  gradNorm: number;
  lr: number;
  /** all positions of the step's micro-batches (padding included) */
  tokens: number;
  recordMs: number;
  /** per micro-batch, [N] log-probs of each row's label (0 where not counted) */
  logp: Float32Array[];
}

export class NonFiniteError extends Error {
  override name = 'NonFiniteError';
  constructor(
    readonly step: number,
    readonly loss: number,
    readonly gradNorm: number,
  ) {
    super(`step ${step}: ${Number.isFinite(loss) ? `gradient norm is ${gradNorm}` : `loss is ${loss}`}; no update applied`);
  }
}

export type { LoraSetup } from './lora-params.ts';

export class Trainer {
  readonly graph: TrainGraph;
  /** optimizer steps taken */
  step = 0;
  /** base of the dropout mask seeds (each step and micro-batch mixes in its own index) */
  seed = 0;

  private constructor(
    readonly rt: Runtime,
    readonly model: LlamaModel,
    /** every trainable tensor, as slices of `chunks` (flat-params.ts) */
    readonly params: TrainParam[],
    readonly chunks: ParamChunk[],
    readonly lora: LoraState | null,
    readonly full: FullGrads | null,
    public optim: OptimConfig,
  ) {
    this.graph = new TrainGraph(rt, model.cfg, model.w);
  }

  /**
   * LoRA on the given targets of every layer. PEFT's default init: A ~ U(−1/√in, 1/√in) (kaiming
   * uniform with a = √5), B = 0, so training starts from the base model exactly (lora-params.ts).
   */
  static lora(rt: Runtime, model: LlamaModel, setup: LoraSetup, optim: OptimConfig): Trainer {
    const { lora, params, chunks } = loraParams(rt, model, setup);
    const tr = new Trainer(rt, model, params, chunks, lora, null, optim);
    tr.seed = (setup.seed ?? 0) >>> 0;
    return tr;
  }

  /** Every base weight trainable. Half weights are widened to f32 in place on the model (training needs f32). */
  static full(rt: Runtime, model: LlamaModel, optim: OptimConfig): Trainer {
    const w = model.w;
    const widen = (t: Tensor): Tensor => {
      if (t.dtype === 'f32') return t;
      const f = unpackHalf(rt, t);
      w.all[w.all.indexOf(t)] = f;
      t.dispose();
      return f;
    };
    const tied = w.unembed === w.embed;
    w.embed = widen(w.embed);
    w.unembed = tied ? w.embed : widen(w.unembed);
    w.lnFinal = widen(w.lnFinal);
    for (const b of w.blocks) for (const k of ['ln1', 'wqkv', 'wo', 'ln2', 'wgate', 'wup', 'wdown'] as const) b[k] = widen(b[k]);
    // every weight as a parameter spec, in a fixed order (its name, shape and decay group)
    const entries: { spec: ParamSpec; get: () => Tensor; set: (t: Tensor) => void }[] = [];
    const add = (name: string, decay: boolean, get: () => Tensor, set: (t: Tensor) => void) => entries.push({ spec: { name, shape: [...get().shape], decay }, get, set });
    add('model.embed_tokens.weight', true, () => w.embed, (t) => ((w.embed = t), tied && (w.unembed = t)));
    w.blocks.forEach((b, l) => {
      const p = `model.layers.${l}.`;
      add(`${p}input_layernorm.weight`, false, () => b.ln1, (t) => (b.ln1 = t));
      add(`${p}self_attn.qkv_proj.weight`, true, () => b.wqkv, (t) => (b.wqkv = t)); // q|k|v stacked rows (weights.ts)
      if (b.bqkv) add(`${p}self_attn.qkv_proj.bias`, false, () => b.bqkv!, (t) => (b.bqkv = t));
      add(`${p}self_attn.o_proj.weight`, true, () => b.wo, (t) => (b.wo = t));
      add(`${p}post_attention_layernorm.weight`, false, () => b.ln2, (t) => (b.ln2 = t));
      add(`${p}mlp.gate_proj.weight`, true, () => b.wgate, (t) => (b.wgate = t));
      add(`${p}mlp.up_proj.weight`, true, () => b.wup, (t) => (b.wup = t));
      add(`${p}mlp.down_proj.weight`, true, () => b.wdown, (t) => (b.wdown = t));
    });
    add('model.norm.weight', false, () => w.lnFinal, (t) => (w.lnFinal = t));
    if (!tied) add('lm_head.weight', true, () => w.unembed, (t) => (w.unembed = t));
    // move each weight into its slice of the packed buffers; the model then reads the slices
    const { params, chunks } = packParams(rt, entries.map((e) => e.spec));
    const olds = new Set<Tensor>(); // what the weights were, or the buffers they were slices of (gate|up: weights.ts)
    entries.forEach((e, i) => {
      const old = e.get();
      rt.copy(old, 0, params[i].p, 0, old.numel);
      e.set(params[i].p);
      olds.add(old.root());
    });
    for (const old of olds) {
      const at = w.all.indexOf(old);
      if (at >= 0) w.all.splice(at, 1);
      old.dispose();
    }
    for (const c of chunks) w.all.push(c.p); // the model owns its (packed) weights from now on
    const g = (name: string) => params.find((x) => x.name === name)?.g ?? null;
    const fullGrads: FullGrads = {
      embed: g('model.embed_tokens.weight')!,
      blocks: w.blocks.map((_, l) => {
        const p = `model.layers.${l}.`;
        return {
          ln1: g(`${p}input_layernorm.weight`)!, wqkv: g(`${p}self_attn.qkv_proj.weight`)!, bqkv: g(`${p}self_attn.qkv_proj.bias`),
          wo: g(`${p}self_attn.o_proj.weight`)!, ln2: g(`${p}post_attention_layernorm.weight`)!, wgate: g(`${p}mlp.gate_proj.weight`)!,
          wup: g(`${p}mlp.up_proj.weight`)!, wdown: g(`${p}mlp.down_proj.weight`)!,
        };
      }),
      lnFinal: g('model.norm.weight')!,
      unembed: tied ? g('model.embed_tokens.weight')! : g('lm_head.weight')!,
    };
    return new Trainer(rt, model, params, chunks, null, fullGrads, optim);
  }

  /** One optimizer step over the micro-batches of the step (gradient accumulation). */
  trainStep(micro: readonly MicroBatch[]): Promise<StepMetrics> {
    return this.rt.repeat('train.step', () => this.trainStepOnce(micro));
  }

  private async trainStepOnce(micro: readonly MicroBatch[]): Promise<StepMetrics> {
    const { rt } = this;
    let trained = 0, tokens = 0;
    for (const mb of micro) {
      for (const t of mb.labels) if (t !== -100) trained++;
      tokens += mb.ids.length;
    }
    if (trained === 0) throw new Error(`step ${this.step + 1}: no trained token in the step's ${micro.length} micro-batches`);
    const t0 = performance.now();
    const { loss, nc } = this.record(micro, () => ({ gradScale: 1 / trained }));
    const stats = rt.empty([3], 'f32', 'train.stats'); // [loss, norm, coef]: one read-back
    rt.copy(loss, 0, stats, 0, 1);
    rt.copy(nc, 0, stats, 1, 2);
    loss.dispose();
    let recordMs = performance.now() - t0;
    const [lossV, norm] = (await rt.read(stats)) as Float32Array;
    stats.dispose();
    const t1 = performance.now();
    const lr = this.update(nc, lossV, norm);
    const updateMs = performance.now() - t1;
    recordMs += updateMs;
    return { step: this.step, loss: lossV, gradNorm: norm, lr, trainedTokens: trained, tokens, recordMs, updateMs };
  }

  /**
   * One optimizer step of GRPO's policy objective (rl/grpo.ts): each micro-batch (one group of
   * completions) carries its per-row inputs [N, 4] (old log-prob, reference log-prob, advantage,
   * normalisation weight); the gradient is the objective's, so the weights must already sum the
   * whole step's normalisation. `lossOf` gets each micro-batch's per-row log-probs (read back with the
   * gradient norm, before the update) and returns the loss; a non-finite loss or norm stops the step
   * before the update, as trainStep does.
   */
  policyStep(micro: readonly PolicyMicroBatch[], head: PolicyHeadConfig, lossOf: (logp: Float32Array[]) => number): Promise<PolicyStepMetrics> {
    return this.rt.repeat('train.policy', () => this.policyStepOnce(micro, head, lossOf));
  }

  private async policyStepOnce(micro: readonly PolicyMicroBatch[], head: PolicyHeadConfig, lossOf: (logp: Float32Array[]) => number): Promise<PolicyStepMetrics> {
    const { rt } = this;
    let tokens = 0;
    for (const mb of micro) {
      if (mb.rows.length !== mb.ids.length * 4) throw new Error(`policy step: rows need 4 values per position (${mb.ids.length * 4}), got ${mb.rows.length}`);
      tokens += mb.ids.length;
    }
    const t0 = performance.now();
    const rows = micro.map((mb) => rt.upload(mb.rows, [mb.ids.length, 4], 'f32', 'train.policy_rows')); // [N, 4] each
    const logps = micro.map((mb) => rt.zeros([mb.ids.length], 'f32', 'train.logp')); // [N] each
    const { loss: none, nc } = this.record(micro, (i) => ({ gradScale: 1, policy: { ...head, temperature: micro[i].temperature ?? head.temperature, rows: rows[i], logp: logps[i] } }));
    none.dispose(); // the policy head adds no loss: the caller computes it from the log-probs
    for (const t of rows) t.dispose();
    let recordMs = performance.now() - t0;
    const norm = ((await rt.read(nc)) as Float32Array)[0];
    const host: Float32Array[] = [];
    for (const t of logps) {
      host.push((await rt.read(t)) as Float32Array);
      t.dispose();
    }
    const loss = lossOf(host);
    const t1 = performance.now();
    const lr = this.update(nc, loss, norm);
    recordMs += performance.now() - t1;
    return { step: this.step, loss, gradNorm: norm, lr, tokens, recordMs, logp: host };
  }

  /**
   * One optimizer step with a custom head on ln_final's output (graph.ts StepOptions.head), e.g. a
   * reward model's scalar head: `head(i, xf)` returns d loss / d xf for micro-batch i and records its
   * own parameters' gradients itself; `loss` is the step's loss as the caller computed it (for the
   * metrics and the non-finite stop). Clipping covers the trainer's parameters only.
   */
  headStep(micro: readonly MicroBatch[], head: (i: number, xf: Tensor) => Tensor, loss: number): Promise<{ step: number; loss: number; gradNorm: number; lr: number; tokens: number; recordMs: number }> {
    return this.rt.repeat('train.head', () => this.headStepOnce(micro, head, loss));
  }

  private async headStepOnce(micro: readonly MicroBatch[], head: (i: number, xf: Tensor) => Tensor, loss: number): Promise<{ step: number; loss: number; gradNorm: number; lr: number; tokens: number; recordMs: number }> {
    const { rt } = this;
    const t0 = performance.now();
    const tokens = micro.reduce((a, mb) => a + mb.ids.length, 0);
    const { loss: none, nc } = this.record(micro, (i) => ({ gradScale: 1, head: (xf) => head(i, xf) }));
    none.dispose(); // a custom head adds no loss: the caller computed it
    let recordMs = performance.now() - t0;
    const norm = ((await rt.read(nc)) as Float32Array)[0];
    const t1 = performance.now();
    const lr = this.update(nc, loss, norm);
    recordMs += performance.now() - t1;
    return { step: this.step, loss, gradNorm: norm, lr, tokens, recordMs };
  }

  /**
   * Clears the gradients and records every micro-batch's forward and backward with `opts(i)` (dropout
   * masks differ per step and micro-batch, and repeat exactly on resume: a function of the step), then
   * the global gradient norm. Returns the summed loss [1] and [norm, clip coefficient].
   */
  private record(micro: readonly MicroBatch[], opts: (i: number) => Omit<StepOptions, 'recompute' | 'dropoutSeed'>): { loss: Tensor; nc: Tensor } {
    const { rt, optim } = this;
    for (const c of this.chunks) rt.clear(c.g);
    let loss = rt.zeros([1], 'f32', 'train.loss');
    micro.forEach((mb, i) => {
      const dropoutSeed = hash32((hash32(this.seed) + hash32(this.step * 4096 + i)) >>> 0);
      loss = this.graph.step(mb, loss, this.lora, this.full, { ...opts(i), recompute: optim.recompute, dropoutSeed });
    });
    const nc = gradNormClip(rt, this.chunks.map((c) => c.g), optim.maxGradNorm); // [norm, coef] over every gradient
    return { loss, nc };
  }

  /** A non-finite loss or gradient norm stops the step before any update (NonFiniteError); else AdamW. */
  private update(nc: Tensor, loss: number, norm: number): number {
    if (!Number.isFinite(loss) || !Number.isFinite(norm)) {
      nc.dispose();
      throw new NonFiniteError(this.step + 1, loss, norm);
    }
    return this.applyUpdate(nc);
  }

  /** AdamW on every chunk with this step's lr (clip coefficient from nc, then disposed); counts the step. */
  private applyUpdate(nc: Tensor): number {
    const { rt, optim } = this;
    const lr = lrAt(this.step, { lr: optim.lr, schedule: optim.schedule, warmupSteps: optim.warmupSteps, totalSteps: optim.totalSteps });
    for (const c of this.chunks) {
      adamwStep(rt, c.p, c.g, c.m, c.v, optim.maxGradNorm > 0 ? nc : null, {
        lr, beta1: optim.beta1, beta2: optim.beta2, eps: optim.eps, weightDecay: c.decay ? optim.weightDecay : 0, step: this.step + 1,
      });
    }
    nc.dispose();
    rt.flush();
    this.step++;
    return lr;
  }

  /** Host copies of parameters and AdamW moments, by name (checkpoints). */
  async exportState(): Promise<{ params: Map<string, Float32Array>; m: Map<string, Float32Array>; v: Map<string, Float32Array> }> {
    const out = { params: new Map<string, Float32Array>(), m: new Map<string, Float32Array>(), v: new Map<string, Float32Array>() };
    for (const p of this.params) {
      out.params.set(p.name, (await this.rt.read(p.p)) as Float32Array);
      out.m.set(p.name, (await this.rt.read(p.m)) as Float32Array);
      out.v.set(p.name, (await this.rt.read(p.v)) as Float32Array);
    }
    return out;
  }

  /** Restores what exportState wrote (resume); every parameter must be present with its size. */
  importState(step: number, s: { params: Map<string, Float32Array>; m: Map<string, Float32Array>; v: Map<string, Float32Array> }, where: string): void {
    this.rt.flush(); // queue writes must follow the work already recorded
    for (const p of this.params) {
      for (const [what, map, t] of [['parameter', s.params, p.p], ['exp_avg', s.m, p.m], ['exp_avg_sq', s.v, p.v]] as const) {
        const d = map.get(p.name);
        if (!d) throw new Error(`${where}: no ${what} for ${p.name}`);
        if (d.length !== t.numel) throw new Error(`${where}: ${what} ${p.name} has ${d.length} values, the model needs ${t.numel}`);
        this.rt.device.queue.writeBuffer(t.buffer, t.byteOffset, d.buffer as ArrayBuffer, d.byteOffset, d.byteLength);
      }
    }
    this.step = step;
  }

  dispose(): void {
    for (const c of this.chunks) {
      c.g.dispose();
      c.m.dispose();
      c.v.dispose();
      if (this.lora) c.p.dispose(); // full training: the model owns the packed weights
    }
  }
}
