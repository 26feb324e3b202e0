// Autoregressive generation with the KV cache: one prefill over the (left-padded) prompts, then
// one position per step. Positions follow transformers' generate for padded batches:
// position_ids = cumsum(attention_mask) − 1, and padding keys are masked out of attention.
//
// Greedy decoding runs pipelined: the argmax is taken on the GPU and feeds the next step directly, so
// step t+1 is recorded while step t still runs; tokens come back LAG steps later (EOS checks and
// onStep see them then; a few steps past an EOS may be computed and are dropped). Sampling draws on
// the CPU from each step's logits, one step at a time.
import type { Tensor } from '../gpu/tensor.ts';
import type { LlamaModel } from './llama.ts';
import { KVCache } from './kvcache.ts';
import { Sampler, type Sampling } from './sampling.ts';
import { argmax } from '../../../shaders/argmax.ts';

export interface GenerateOptions {
  maxNewTokens: number;
  sampling: Sampling;
  /** keep going past EOS (benchmarks, fixed-length runs) */
  ignoreEos?: boolean;
  /** defaults to the model config's eos_token_ids */
  eosTokenIds?: number[];
  /** id used for left padding (never attended to); defaults to the first EOS id or 0 */
  padTokenId?: number;
  signal?: AbortSignal;
  /** called after each step with the tokens chosen for every sequence (in order; greedy: a few steps late) */
  onStep?: (step: number, tokens: number[]) => void;
  /**
   * Sampling only: one RNG seed per sequence ([B]); sequence b draws from its own stream, so its tokens
   * do not depend on the other sequences of the batch. Default: one stream (sampling.seed) for the batch.
   */
  seeds?: number[];
  /**
   * Sampling only, with `seeds`: one temperature per sequence ([B]) in place of sampling.temperature
   * (GRPO arms that sample at different temperatures in one batch).
   */
  temperatures?: number[];
  /**
   * Sampling only: called after each step with the logits the sampler read, one row [V] per sequence
   * (views of this step's read-back, before temperature; valid during the call only), and the tokens
   * chosen from them (a finished sequence's row is there too, its token is the pad id), and [B] each
   * token's log_softmax(row / temperature) where the sampler computed it (plain sampling: Sampler.logprob),
   * else NaN (top-k / top-p, finished sequences).
   */
  onLogits?: (step: number, rows: Float32Array[], tokens: number[], logprobs: number[]) => void;
}

export class GenerationCancelled extends Error {
  override name = 'GenerationCancelled';
}

/** Steps the greedy pipeline runs ahead of the tokens it has read back. */
const LAG = 2;

interface Prepared {
  B: number;
  T0: number;
  ids: Int32Array; // [B, T0] left-padded
  positions: Int32Array | undefined; // [B, T0] when padded
  next: Int32Array; // [B] next position of each sequence
  cache: KVCache;
  eos: Set<number>;
  pad: number;
}

/** Checks prompts and limits before anything is allocated; returns the padded prompt length. */
function validate(model: LlamaModel, prompts: number[][], opts: GenerateOptions): number {
  const { cfg } = model;
  if (prompts.some((p) => p.length === 0)) throw new Error('generate: every prompt needs at least one token');
  if (!(Number.isInteger(opts.maxNewTokens) && opts.maxNewTokens >= 0)) throw new Error(`generate: max new tokens must be an integer >= 0, got ${opts.maxNewTokens}`);
  for (const p of prompts) for (const id of p) if (!(id >= 0 && id < cfg.d_vocab)) throw new Error(`generate: token id ${id} is outside the vocabulary (0..${cfg.d_vocab - 1})`);
  if ((opts.seeds || opts.onLogits) && opts.sampling.kind === 'greedy') throw new Error('generate: seeds and onLogits are for sampling (greedy runs on the GPU pipeline)');
  if (opts.seeds && opts.seeds.length !== prompts.length) throw new Error(`generate: ${opts.seeds.length} seeds for ${prompts.length} prompts`);
  if (opts.temperatures) {
    if (opts.sampling.kind === 'greedy' || !opts.seeds) throw new Error('generate: per-sequence temperatures need sampling with per-sequence seeds');
    if (opts.temperatures.length !== prompts.length) throw new Error(`generate: ${opts.temperatures.length} temperatures for ${prompts.length} prompts`);
    for (const t of opts.temperatures) if (!(t > 0 && Number.isFinite(t))) throw new Error(`generate: temperature must be > 0, got ${t}`);
  }
  const T0 = Math.max(0, ...prompts.map((p) => p.length));
  if (T0 + opts.maxNewTokens > cfg.n_ctx) throw new Error(`generate: ${T0} prompt + ${opts.maxNewTokens} new tokens exceed the model's context of ${cfg.n_ctx}`);
  return T0;
}

function prepare(model: LlamaModel, prompts: number[][], T0: number, opts: GenerateOptions): Prepared {
  const { rt, cfg } = model;
  const B = prompts.length;
  const eos = new Set(opts.eosTokenIds ?? cfg.eos_token_ids);
  const pad = opts.padTokenId ?? [...eos][0] ?? 0;
  const capacity = T0 + opts.maxNewTokens;
  const cache = new KVCache(rt, cfg, B, Math.max(1, capacity));
  // left-pad to T0; padding positions get position 1 (as transformers) and are masked
  const ids = new Int32Array(B * T0).fill(pad);
  const pos = new Int32Array(B * T0).fill(1);
  const next = new Int32Array(B);
  prompts.forEach((p, b) => {
    const padN = T0 - p.length;
    if (padN) cache.setPadding(b, Array.from({ length: padN }, (_, j) => j));
    p.forEach((id, t) => {
      ids[b * T0 + padN + t] = id;
      pos[b * T0 + padN + t] = t;
    });
    next[b] = p.length;
  });
  return { B, T0, ids, positions: prompts.some((p) => p.length !== T0) ? pos : undefined, next, cache, eos, pad };
}

/** Returns the new tokens of each prompt (EOS included when it ended the sequence). */
export async function generate(model: LlamaModel, prompts: number[][], opts: GenerateOptions): Promise<number[][]> {
  const T0 = validate(model, prompts, opts);
  if (prompts.length === 0 || opts.maxNewTokens === 0) return prompts.map(() => []);
  const p = prepare(model, prompts, T0, opts);
  try {
    return opts.sampling.kind === 'greedy' ? await greedyPipelined(model, p, opts) : await sampled(model, p, opts);
  } finally {
    p.cache.dispose();
  }
}

/** Appends step tokens to the outputs; returns true when every sequence has finished. */
function take(p: Prepared, out: number[][], finished: boolean[], tokens: ArrayLike<number>, opts: GenerateOptions): boolean {
  for (let b = 0; b < p.B; b++) {
    if (finished[b]) continue;
    out[b].push(tokens[b]);
    if (!opts.ignoreEos && p.eos.has(tokens[b])) finished[b] = true;
  }
  return finished.every(Boolean);
}

async function sampled(model: LlamaModel, p: Prepared, opts: GenerateOptions): Promise<number[][]> {
  const { rt, cfg } = model;
  const { sampling, seeds } = opts;
  const shared = new Sampler(sampling);
  // one sampler per sequence when each has its own seed, else all share one stream
  const samplers = Array.from({ length: p.B }, (_, b) => (seeds && sampling.kind === 'sample' ? new Sampler({ ...sampling, seed: seeds[b], temperature: opts.temperatures?.[b] ?? sampling.temperature }) : shared));
  const out: number[][] = Array.from({ length: p.B }, () => []);
  const finished = new Array<boolean>(p.B).fill(false);
  let idsT = rt.upload(p.ids, [p.B, p.T0], 'i32', 'ids');
  let positions = p.positions;
  for (let step = 0; step < opts.maxNewTokens; step++) {
    if (opts.signal?.aborted) throw new GenerationCancelled(`generation cancelled after ${step} tokens`);
    const { logits } = model.forward(idsT, { cache: p.cache, positions, logits: 'last' }); // [B, 1, V]
    idsT.dispose();
    const rows = (await rt.read(logits!)) as Float32Array;
    logits!.dispose();
    const row = (b: number) => rows.subarray(b * cfg.d_vocab, (b + 1) * cfg.d_vocab); // [V]
    const logprobs = new Array<number>(p.B).fill(NaN); // [B] the sampler's log-prob of its draw, where it keeps one
    const chosen = Array.from({ length: p.B }, (_, b) => {
      if (finished[b]) return p.pad;
      const t = samplers[b].next(row(b));
      logprobs[b] = samplers[b].logprob;
      return t;
    });
    opts.onLogits?.(step, Array.from({ length: p.B }, (_, b) => row(b)), chosen, logprobs);
    const done = take(p, out, finished, chosen, opts);
    opts.onStep?.(step, chosen);
    if (done || step + 1 === opts.maxNewTokens) break;
    idsT = rt.upload(Int32Array.from(chosen), [p.B, 1], 'i32', 'ids');
    positions = positions ? Int32Array.from(p.next) : undefined;
    for (let b = 0; b < p.B; b++) p.next[b]++;
  }
  return out;
}

async function greedyPipelined(model: LlamaModel, p: Prepared, opts: GenerateOptions): Promise<number[][]> {
  const { rt } = model;
  const out: number[][] = Array.from({ length: p.B }, () => []);
  const finished = new Array<boolean>(p.B).fill(false);
  const reads: Promise<ArrayLike<number>>[] = []; // tokens of step s, read back asynchronously
  let idsT: Tensor = rt.upload(p.ids, [p.B, p.T0], 'i32', 'ids');
  let positions = p.positions;
  let taken = 0; // steps whose tokens have been consumed
  let done = false;
  const consume = async (upTo: number) => {
    for (; taken < upTo && !done; taken++) {
      const tokens = await reads[taken];
      done = take(p, out, finished, tokens, opts);
      opts.onStep?.(taken, Array.from(tokens));
    }
  };
  try {
    for (let step = 0; step < opts.maxNewTokens && !done; step++) {
      if (opts.signal?.aborted) throw new GenerationCancelled(`generation cancelled after ${taken} tokens`);
      const { logits } = model.forward(idsT, { cache: p.cache, positions, logits: 'last' }); // [B, 1, V]
      idsT.dispose();
      idsT = argmax(rt, logits!).reshape([p.B, 1]); // [B, 1] i32: this step's tokens, the next step's input
      logits!.dispose();
      reads.push(rt.read(idsT)); // copies the tokens now (queue order), submits, resolves later
      positions = positions ? Int32Array.from(p.next) : undefined;
      for (let b = 0; b < p.B; b++) p.next[b]++;
      await consume(step + 1 - LAG); // wait only for tokens LAG steps old: the GPU stays busy
    }
    await consume(reads.length);
  } finally {
    idsT.dispose();
    await Promise.allSettled(reads); // no read left mapping a buffer after we return
  }
  return out;
}
