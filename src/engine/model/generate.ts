// Autoregressive generation with the KV cache: one prefill over the (left-padded) prompts, then
// one position per step. Positions follow transformers' generate for padded batches:
// position_ids = cumsum(attention_mask) − 1, and padding keys are masked out of attention.
import type { LlamaModel } from './llama.ts';
import { KVCache } from './kvcache.ts';
import { Sampler, type Sampling } from './sampling.ts';

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
  /** called after each step with the tokens chosen for every sequence */
  onStep?: (step: number, tokens: number[]) => void;
}

export class GenerationCancelled extends Error {
  override name = 'GenerationCancelled';
}

/** Returns the new tokens of each prompt (EOS included when it ended the sequence). */
export async function generate(model: LlamaModel, prompts: number[][], opts: GenerateOptions): Promise<number[][]> {
  const { rt, cfg } = model;
  const B = prompts.length;
  if (B === 0) return [];
  if (prompts.some((p) => p.length === 0)) throw new Error('generate: every prompt needs at least one token');
  if (!(Number.isInteger(opts.maxNewTokens) && opts.maxNewTokens >= 0)) throw new Error(`generate: max new tokens must be an integer >= 0, got ${opts.maxNewTokens}`);
  for (const p of prompts) for (const id of p) if (!(id >= 0 && id < cfg.d_vocab)) throw new Error(`generate: token id ${id} is outside the vocabulary (0..${cfg.d_vocab - 1})`);
  if (opts.maxNewTokens === 0) return prompts.map(() => []);
  const eos = new Set(opts.eosTokenIds ?? cfg.eos_token_ids);
  const pad = opts.padTokenId ?? [...eos][0] ?? 0;
  const T0 = Math.max(...prompts.map((p) => p.length));
  const capacity = T0 + opts.maxNewTokens;
  if (capacity > cfg.n_ctx) throw new Error(`generate: ${T0} prompt + ${opts.maxNewTokens} new tokens exceed the model's context of ${cfg.n_ctx}`);
  const cache = new KVCache(rt, cfg, B, Math.max(1, capacity));
  const sampler = new Sampler(opts.sampling);
  const out: number[][] = prompts.map(() => []);
  const finished = new Array<boolean>(B).fill(false);
  try {
    // prefill: left-pad to T0; padding positions get position 1 (as transformers) and are masked
    const ids = new Int32Array(B * T0).fill(pad); // [B, T0]
    const pos = new Int32Array(B * T0).fill(1); // [B, T0]
    const next = new Int32Array(B); // next position of each sequence
    prompts.forEach((p, b) => {
      const padN = T0 - p.length;
      if (padN) cache.setPadding(b, Array.from({ length: padN }, (_, j) => j));
      p.forEach((id, t) => {
        ids[b * T0 + padN + t] = id;
        pos[b * T0 + padN + t] = t;
      });
      next[b] = p.length;
    });
    let idsT = rt.upload(ids, [B, T0], 'i32', 'ids');
    let positions: Int32Array | undefined = prompts.some((p) => p.length !== T0) ? pos : undefined;
    for (let step = 0; step < opts.maxNewTokens; step++) {
      if (opts.signal?.aborted) throw new GenerationCancelled(`generation cancelled after ${step} tokens`);
      const { logits } = model.forward(idsT, { cache, positions, logits: 'last' }); // [B, 1, V]
      idsT.dispose();
      const rows = (await rt.read(logits!)) as Float32Array;
      logits!.dispose();
      const chosen: number[] = [];
      for (let b = 0; b < B; b++) {
        const tok = finished[b] ? pad : sampler.next(rows.subarray(b * cfg.d_vocab, (b + 1) * cfg.d_vocab));
        chosen.push(tok);
        if (!finished[b]) {
          out[b].push(tok);
          if (!opts.ignoreEos && eos.has(tok)) finished[b] = true;
        }
      }
      opts.onStep?.(step, chosen);
      if (finished.every(Boolean) || step + 1 === opts.maxNewTokens) break;
      idsT = rt.upload(Int32Array.from(chosen), [B, 1], 'i32', 'ids');
      positions = positions ? Int32Array.from(next) : undefined;
      for (let b = 0; b < B; b++) next[b]++;
    }
  } finally {
    cache.dispose();
  }
  return out;
}
