// Autoregressive generation with the KV cache: one prefill over the (left-padded) prompts, then
// one position per step. Positions follow transformers' generate for padded batches:
// position_ids = cumsum(attention_mask) − 1, and padding keys are masked out of attention.
//
// Greedy decoding and plain sampling (temperature only) run pipelined: the argmax, or the draw
// (shaders/sample_tokens: the CPU sampler's inverse CDF in id order, u from the sequence's RNG stream), is
// taken on the GPU and feeds the next step directly, so step t+1 is recorded while step t still runs;
// tokens come back LAG steps later (EOS checks and onStep see them then; a few steps past an EOS may be
// computed and are dropped). Sampling with top-k / top-p sorts each row on the CPU, one step at a time.
import type { Tensor } from '../gpu/tensor.ts';
import type { LlamaModel } from './llama.ts';
import { KVCache } from './kvcache.ts';
import { checkSampling, Sampler, tokenLogprob, type Sampling } from './sampling.ts';
import { Rng } from '../util/rng.ts';
import { argmax } from '../../../shaders/argmax.ts';
import { sampleTokens } from '../../../shaders/sample_tokens.ts';

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
   * Sampling only: one RNG seed per sequence ([B]); sequence b draws from its own stream, one value a
   * step, so its tokens do not depend on the other sequences of the batch. Default: one stream
   * (sampling.seed) for the batch, drawn in sequence order each step.
   */
  seeds?: number[];
  /**
   * Sampling only, with `seeds`: one temperature per sequence ([B]) in place of sampling.temperature
   * (GRPO arms that sample at different temperatures in one batch).
   */
  temperatures?: number[];
  /**
   * Sampling only: called after each step, in step order, with the tokens drawn for every sequence and
   * [B] each token's log_softmax(logits / the sequence's temperature) over the whole vocabulary (what
   * GRPO keeps as the sampling policy's log-prob; top-k / top-p shape the draw, not this number). Plain
   * sampling: from the GPU draw (f32), a few steps late as onStep; a finished sequence's entries are
   * whatever it drew (ignore them). Top-k / top-p: computed on the CPU in float64; a finished sequence
   * has the pad id and NaN.
   */
  onSampled?: (step: number, tokens: number[], logprobs: number[]) => void;
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
  checkSampling(opts.sampling);
  if ((opts.seeds || opts.onSampled) && opts.sampling.kind === 'greedy') throw new Error('generate: seeds and onSampled are for sampling');
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
    const s = opts.sampling;
    if (s.kind === 'greedy' || (s.topK === undefined && (s.topP === undefined || s.topP >= 1))) return await pipelined(model, p, opts);
    return await sampledOnCpu(model, p, opts);
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

/** Sampling with top-k / top-p: each step's logits read back and drawn on the CPU (Sampler), one step at a time. */
async function sampledOnCpu(model: LlamaModel, p: Prepared, opts: GenerateOptions): Promise<number[][]> {
  const { rt, cfg } = model;
  const { sampling, seeds } = opts;
  if (sampling.kind !== 'sample') throw new Error('generate: internal: sampledOnCpu without sampling');
  const temperature = (b: number) => opts.temperatures?.[b] ?? sampling.temperature;
  const shared = new Sampler(sampling);
  // one sampler per sequence when each has its own seed, else all share one stream
  const samplers = Array.from({ length: p.B }, (_, b) => (seeds ? new Sampler({ ...sampling, seed: seeds[b], temperature: temperature(b) }) : shared));
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
    const logprobs = new Array<number>(p.B).fill(NaN); // [B]
    const chosen = Array.from({ length: p.B }, (_, b) => {
      if (finished[b]) return p.pad;
      const t = samplers[b].next(row(b));
      if (opts.onSampled) logprobs[b] = tokenLogprob(row(b), t, temperature(b));
      return t;
    });
    opts.onSampled?.(step, chosen, logprobs);
    const done = take(p, out, finished, chosen, opts);
    opts.onStep?.(step, chosen);
    if (done || step + 1 === opts.maxNewTokens) break;
    idsT = rt.upload(Int32Array.from(chosen), [p.B, 1], 'i32', 'ids');
    positions = positions ? Int32Array.from(p.next) : undefined;
    for (let b = 0; b < p.B; b++) p.next[b]++;
  }
  return out;
}

/**
 * Sampling's per-step input to sample_tokens: [B, 2] (1 / temperature, u) per sequence, u drawn from the
 * sequence's own stream (seeds) or from one stream in sequence order.
 */
function drawParams(B: number, s: Extract<Sampling, { kind: 'sample' }>, opts: GenerateOptions): () => Float32Array {
  const streams = opts.seeds ? opts.seeds.map((seed) => new Rng(seed)) : null;
  const shared = new Rng(s.seed ?? 0);
  const invT = Array.from({ length: B }, (_, b) => 1 / (opts.temperatures?.[b] ?? s.temperature));
  return () => {
    const out = new Float32Array(2 * B);
    for (let b = 0; b < B; b++) [out[2 * b], out[2 * b + 1]] = [invT[b], (streams ? streams[b] : shared).next()];
    return out;
  };
}

/**
 * Greedy and plain sampling: each step's tokens chosen on the GPU (argmax, or sample_tokens with one u a
 * sequence from its stream) and fed to the next step without a read-back; tokens (and log-probs) read back
 * LAG steps late.
 */
async function pipelined(model: LlamaModel, p: Prepared, opts: GenerateOptions): Promise<number[][]> {
  const { rt, cfg } = model;
  const draw = opts.sampling.kind === 'sample' ? drawParams(p.B, opts.sampling, opts) : null;
  const out: number[][] = Array.from({ length: p.B }, () => []);
  const finished = new Array<boolean>(p.B).fill(false);
  const reads: Promise<[ArrayLike<number>, ArrayLike<number> | null]>[] = []; // tokens (and log-probs) of step s
  let idsT: Tensor = rt.upload(p.ids, [p.B, p.T0], 'i32', 'ids');
  let positions = p.positions;
  let taken = 0; // steps whose tokens have been consumed
  let done = false;
  const consume = async (upTo: number) => {
    for (; taken < upTo && !done; taken++) {
      const [tokens, logprobs] = await reads[taken];
      const chosen = Array.from(tokens);
      if (logprobs) opts.onSampled?.(taken, chosen, Array.from(logprobs));
      done = take(p, out, finished, chosen, opts);
      opts.onStep?.(taken, chosen);
    }
  };
  try {
    for (let step = 0; step < opts.maxNewTokens && !done; step++) {
      if (opts.signal?.aborted) throw new GenerationCancelled(`generation cancelled after ${taken} tokens`);
      const { logits } = model.forward(idsT, { cache: p.cache, positions, logits: 'last' }); // [B, 1, V]
      idsT.dispose();
      if (draw) {
        const params = rt.upload(draw(), [p.B, 2], 'f32', 'sample.params'); // [B, 2]
        const next = rt.empty([p.B, 1], 'i32', 'ids'); // [B, 1] this step's tokens, the next step's input
        const { logp } = sampleTokens(rt, logits!.view([p.B, cfg.d_vocab]), params, { tokens: next }); // logp [B]
        params.dispose();
        idsT = next;
        reads.push(Promise.all([rt.read(next), rt.read(logp)])); // copied now (queue order), resolved later
        logp.dispose();
      } else {
        idsT = argmax(rt, logits!).reshape([p.B, 1]); // [B, 1] i32: this step's tokens, the next step's input
        reads.push(rt.read(idsT).then((t) => [t, null]));
      }
      logits!.dispose();
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
