// Micro-batches, data order and a resumable data cursor for SFT.
//
// Legend: B = rows in a micro-batch, T = longest row of the micro-batch (positions), L = a row's length.
//
// Padding mirrors transformers' DataCollatorForLanguageModeling / TRL's collator with
// padding_side="right": rows are padded on the right with the pad id, labels are -100 on padding
// (and attention_mask 0, which the trainer derives from `lengths`). The targets are the labels
// already SHIFTED as transformers' ForCausalLMLoss does (shift_labels = labels[..., 1:] padded with
// -100), so the GPU cross-entropy reads labels[b, t] = the id position t must predict, or -100.
import { IGNORE_INDEX, type SftExample } from './data.ts';

export interface MicroBatch {
  /** [B*T] row-major token ids, right-padded with padId. */
  ids: Int32Array;
  /** [B*T] SHIFTED labels, the GPU cross-entropy targets: labels[b*T + t] = row b labels[t+1]; -100 at t >= L_b - 1. */
  labels: Int32Array;
  B: number;
  T: number;
  /** [B] real (unpadded) length of each row: attention_mask[b, t] = t < lengths[b]. */
  lengths: Int32Array;
  /** Targets != -100 in this micro-batch. */
  counted: number;
  /** [B] JSONL line numbers of the rows, in batch order. */
  rows: number[];
}

/** Builds one micro-batch from `rows` (at least one). */
export function makeMicroBatch(rows: SftExample[], padId: number): MicroBatch {
  if (rows.length === 0) throw new Error('makeMicroBatch: no rows');
  if (!Number.isInteger(padId) || padId < 0) throw new Error(`makeMicroBatch: pad id ${padId} must be a non-negative integer`);
  const B = rows.length;
  const T = Math.max(...rows.map((r) => r.input_ids.length));
  const ids = new Int32Array(B * T).fill(padId); // [B, T]
  const labels = new Int32Array(B * T).fill(IGNORE_INDEX); // [B, T] shifted
  const lengths = new Int32Array(B); // [B]
  let counted = 0;
  for (let b = 0; b < B; b++) {
    const r = rows[b];
    const L = r.input_ids.length;
    if (r.labels.length !== L) throw new Error(`row at line ${r.line}: ${r.labels.length} labels for ${L} ids`);
    lengths[b] = L;
    ids.set(r.input_ids, b * T);
    // Position t predicts token t+1: target = labels[t+1] for t < L-1; the last real position
    // and all padding stay -100.
    for (let t = 0; t < L - 1; t++) {
      const y = r.labels[t + 1];
      labels[b * T + t] = y;
      if (y !== IGNORE_INDEX) counted++;
    }
  }
  return { ids, labels, B, T, lengths, counted, rows: rows.map((r) => r.line) };
}

/** Micro-batches of `batchSize` rows taken in `order` (indices into examples); the last may be smaller. */
export function* microBatches(examples: SftExample[], order: number[], batchSize: number, padId: number): Generator<MicroBatch> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batch size ${batchSize} must be a positive integer`);
  for (let i = 0; i < order.length; i += batchSize) {
    yield makeMicroBatch(order.slice(i, i + batchSize).map((k) => examples[k]), padId);
  }
}

// ---- data order -----------------------------------------------------------------------------

/** mulberry32: a 32-bit PRNG; integer-only arithmetic, so identical on every JS engine and platform. */
function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    let t = (s = (s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0; // uniform u32
  };
}

/** splitmix32-style finaliser: decorrelates the (seed, epoch) pairs before they seed mulberry32. */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * The row order of one epoch: identity when shuffle is false, else a Fisher–Yates permutation
 * driven by mulberry32 seeded with mix32(seed ^ mix32(epoch + 0x9e3779b9)). Deterministic per
 * (seed, epoch) and the same on every run and platform. (Like transformers' Trainer, which reseeds
 * its RandomSampler per epoch, each epoch gets a fresh order; the permutation itself is ours, not
 * torch.randperm's.) j is drawn with a multiply-shift on u32, whose bias (< n / 2^32) is irrelevant here.
 */
export function epochOrder(n: number, epoch: number, seed: number, shuffle: boolean): number[] {
  if (!Number.isInteger(n) || n < 0) throw new Error(`epochOrder: n = ${n} must be a non-negative integer`);
  const order = Array.from({ length: n }, (_, i) => i); // [n]
  if (!shuffle) return order;
  const next = mulberry32(mix32((seed >>> 0) ^ mix32((epoch + 0x9e3779b9) >>> 0)));
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor((next() * (i + 1)) / 4294967296); // uniform in [0, i]
    const tmp = order[i];
    order[i] = order[j];
    order[j] = tmp;
  }
  return order;
}

// ---- resumable cursor -----------------------------------------------------------------------

export interface CursorOptions {
  /** Rows per micro-batch (per_device_train_batch_size). */
  batchSize: number;
  /** Micro-batches per optimizer step (gradient_accumulation_steps). */
  gradAccum: number;
  seed: number;
  shuffle: boolean;
  padId: number;
}

/** Where the cursor stands: the next row is epochOrder(n, epoch, ...)[index]. Plain JSON. */
export interface CursorState {
  epoch: number;
  index: number;
}

export interface StepBatches {
  /** gradAccum micro-batches of batchSize rows each. */
  micro: MicroBatch[];
  /** Sum of the micro-batches' counted targets: the loss of the step is sum(CE) / counted. */
  counted: number;
  /** Epoch of the step's first row (0-based). */
  epoch: number;
}

/** Optimizer steps needed for `epochs` passes over n rows at batchSize × gradAccum rows per step. */
export function stepsForEpochs(n: number, epochs: number, batchSize: number, gradAccum: number): number {
  return Math.ceil((n * epochs) / (batchSize * gradAccum));
}

/**
 * Yields the micro-batches of one optimizer step at a time. The rows form one endless stream —
 * epoch 0's order, then epoch 1's, … — and each step takes the next batchSize × gradAccum of them,
 * so a step may straddle two epochs and every step has the same number of rows. (transformers'
 * Trainer instead ends each epoch with a short step; a fixed step size keeps the loss scale and the
 * LR schedule's step count simple.) state() after a step, saved with a checkpoint and given back to
 * the constructor, continues with exactly the rows that would have come next.
 */
export class DataCursor {
  private epoch: number;
  private index: number;
  private orderEpoch = -1;
  private order: number[] = [];

  constructor(
    private readonly examples: SftExample[],
    private readonly opts: CursorOptions,
    state: CursorState = { epoch: 0, index: 0 },
  ) {
    if (examples.length === 0) throw new Error('DataCursor: no examples');
    for (const k of ['batchSize', 'gradAccum'] as const) {
      if (!Number.isInteger(opts[k]) || opts[k] < 1) throw new Error(`DataCursor: ${k} = ${opts[k]} must be a positive integer`);
    }
    if (!Number.isInteger(state.epoch) || state.epoch < 0 || !Number.isInteger(state.index) || state.index < 0 || state.index >= examples.length) {
      throw new Error(`DataCursor: state ${JSON.stringify(state)} does not fit ${examples.length} examples`);
    }
    this.epoch = state.epoch;
    this.index = state.index;
  }

  /** The position of the next row, to save with a checkpoint (JSON-serialisable copy). */
  state(): CursorState {
    return { epoch: this.epoch, index: this.index };
  }

  /** Index into examples of the next row, advancing (and wrapping into the next epoch). */
  private nextRow(): number {
    if (this.orderEpoch !== this.epoch) {
      this.order = epochOrder(this.examples.length, this.epoch, this.opts.seed, this.opts.shuffle);
      this.orderEpoch = this.epoch;
    }
    const k = this.order[this.index];
    if (++this.index === this.examples.length) {
      this.index = 0;
      this.epoch++;
    }
    return k;
  }

  /** The micro-batches of the next optimizer step. */
  nextStep(): StepBatches {
    const epoch = this.epoch;
    const micro: MicroBatch[] = [];
    for (let m = 0; m < this.opts.gradAccum; m++) {
      const rows: SftExample[] = [];
      for (let b = 0; b < this.opts.batchSize; b++) rows.push(this.examples[this.nextRow()]);
      micro.push(makeMicroBatch(rows, this.opts.padId));
    }
    return { micro, counted: micro.reduce((s, mb) => s + mb.counted, 0), epoch };
  }
}
