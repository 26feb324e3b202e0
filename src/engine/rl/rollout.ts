// GRPO rollouts (issue 11, item 1, the engine part): G completions of one prompt, sampled as ONE batch
// with the KV cache (the group is the batch: G copies of the prompt, no padding), and the per-token
// log-probs the objective needs.
//
// Legend (as objective.ts): G completions in the group (rows), T completion positions (columns, the
// longest completion; shorter rows are padded), T0 prompt tokens, V vocabulary.
//
// Semantics follow TRL's GRPOTrainer (trl/trainer/grpo_trainer.py):
//   - log-probs are log_softmax(logits / temperature) at the sampled token, over the whole vocabulary
//     (TRL's _get_per_token_logps_and_entropies divides by the temperature and takes a log-softmax;
//     top-k / top-p shape the sampling, not these numbers);
//   - the completion mask is 1 up to and including the first EOS (or every token when none came), 0 after.
// rollouts() keeps the log-probs of the very logits the sampler read (generate's onSampled: computed with the
// draw on the GPU for plain sampling, f32; in float64 on the CPU with top-k / top-p; no second forward);
// sequenceLogprobs() recomputes them by one teacher-forced forward over prompt + completion, which is what
// the policy (and, with the adapter off, the reference) log-probs of a GRPO step use.
//
// Reproducibility: sequence g samples from its own RNG stream, seeded with the g-th 32-bit draw of
// Rng(seed) (sequenceSeeds). Its tokens therefore depend only on (seed, g, model, prompt, options),
// not on when the other sequences stop, and seeds s and s + 1 give unrelated groups (a plain seed + g
// would share G − 1 streams between them).
import type { LlamaModel } from '../model/llama.ts';
import { generate } from '../model/generate.ts';
import { tokenLogprob } from '../model/sampling.ts';
import { Rng } from '../util/rng.ts';

export const MIN_GROUP = 2;
export const MAX_GROUP = 16;

export interface RolloutOptions {
  /** G, completions of the prompt (2..16: one decode step is one fused batch of ≤ 16 rows) */
  groupSize: number;
  maxNewTokens: number;
  /** > 0; the log-probs are of logits / temperature */
  temperature: number;
  topP?: number;
  topK?: number;
  /** the group's seed; sequence g uses sequenceSeeds(seed, G)[g] */
  seed: number;
  /** defaults to the model config's eos_token_ids; [] = never stop early */
  eosTokenIds?: number[];
  signal?: AbortSignal;
}

export interface Rollout {
  /** [G][T] new tokens; T = the longest completion, shorter rows padded with the pad id */
  tokens: number[][];
  /** [G][T] 1 up to and including the first EOS (or all maxNewTokens), 0 after */
  mask: number[][];
  /** [G][T] log_softmax(logits / temperature) at each sampled token (TRL's old_per_token_logps); 0 where mask is 0 */
  logp: Float64Array[];
  /** [G] tokens per completion (the EOS counted) = the row sums of mask */
  lengths: number[];
}

/** The per-sequence seeds of a group: the first G 32-bit draws of Rng(seed). */
export function sequenceSeeds(seed: number, G: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: G }, () => Math.floor(rng.next() * 2 ** 32));
}


function checkPrompt(model: LlamaModel, fn: string, promptIds: number[], newTokens: number): void {
  const { d_vocab: V, n_ctx } = model.cfg;
  if (promptIds.length === 0) throw new Error(`${fn}: the prompt needs at least one token`);
  for (const id of promptIds) if (!(Number.isInteger(id) && id >= 0 && id < V)) throw new Error(`${fn}: token id ${id} is outside the vocabulary (0..${V - 1})`);
  if (promptIds.length + newTokens > n_ctx) throw new Error(`${fn}: ${promptIds.length} prompt + ${newTokens} new tokens exceed the model's context of ${n_ctx}; shorten the prompt or lower max new tokens`);
}

function checkTemperature(fn: string, temperature: number): void {
  if (!(temperature > 0 && Number.isFinite(temperature))) throw new Error(`${fn}: temperature must be > 0 (log-probs are of logits / temperature), got ${temperature}`);
}

/** Samples G completions of one prompt in one batched generate; see the file header for the semantics. */
export async function rollouts(model: LlamaModel, promptIds: number[], opts: RolloutOptions): Promise<Rollout> {
  return (await rolloutsBatch(model, [promptIds], { ...opts, seeds: [opts.seed] }))[0];
}

/** One sequence of a batched rollout: its prompt, sampling temperature and RNG seed. */
export interface RolloutRow {
  ids: number[];
  temperature: number;
  seed: number;
}

/** One sampled sequence: its new tokens (up to and including the first EOS) and their log-probs. */
export interface SampledRow {
  /** [n] the new tokens, unpadded */
  tokens: number[];
  /** [n] log_softmax(logits / the row's temperature) at each token, float64 */
  logp: number[];
}

/**
 * Any rows — each with its own prompt, temperature and seed — sampled as ONE generate, left-padded to
 * the longest prompt (padding keys are masked and positions start at 0 per row, as transformers'
 * generate does, so each row computes what it would alone, up to float rounding). Row r draws from
 * Rng(rows[r].seed) at rows[r].temperature; a small model's decode is bound by dispatches, so many
 * rows cost about what one does. GRPO's groups (rolloutsBatch) and its arms (several system prompts
 * and temperatures in one group, rl/grpo.ts) are both made of rows.
 */
export async function rolloutRows(model: LlamaModel, rows: readonly RolloutRow[], opts: Omit<RolloutOptions, 'seed' | 'groupSize' | 'temperature'>): Promise<SampledRow[]> {
  if (!(Number.isInteger(opts.maxNewTokens) && opts.maxNewTokens >= 1)) throw new Error(`rollouts: max new tokens must be an integer >= 1, got ${opts.maxNewTokens}`);
  for (const r of rows) {
    checkTemperature('rollouts', r.temperature);
    checkPrompt(model, 'rollouts', r.ids, opts.maxNewTokens);
  }
  if (rows.length === 0) return [];
  const eos = new Set(opts.eosTokenIds ?? model.cfg.eos_token_ids);
  const pad = [...eos][0] ?? 0; // as generate's default pad id
  const B = rows.length;
  const steps: number[][] = Array.from({ length: B }, () => []); // [B][≤ T] log-probs, as sampled
  const finished = new Array<boolean>(B).fill(false); // as generate's: a sequence ends at its first EOS
  const out = await generate(
    model,
    rows.map((r) => r.ids),
    {
      maxNewTokens: opts.maxNewTokens,
      sampling: { kind: 'sample', temperature: rows[0].temperature, topK: opts.topK, topP: opts.topP },
      seeds: rows.map((r) => r.seed),
      temperatures: rows.map((r) => r.temperature),
      eosTokenIds: [...eos],
      padTokenId: pad,
      signal: opts.signal,
      onSampled: (_step, chosen, logprobs) => {
        for (let i = 0; i < B; i++) {
          if (finished[i]) continue;
          steps[i].push(logprobs[i]);
          if (eos.has(chosen[i])) finished[i] = true;
        }
      },
    },
  );
  return out.map((tokens, r) => {
    if (steps[r].length !== tokens.length) throw new Error(`rollouts: internal: ${steps[r].length} log-probs for ${tokens.length} tokens of sequence ${r}`);
    return { tokens, logp: steps[r] };
  });
}

/** G consecutive sampled rows as a group: tokens padded with `pad` to the group's longest completion, its mask and log-probs. */
export function toRollout(rows: readonly SampledRow[], pad: number): Rollout {
  const lengths = rows.map((r) => r.tokens.length);
  const T = Math.max(...lengths);
  const tokens = rows.map((r) => [...r.tokens, ...new Array<number>(T - r.tokens.length).fill(pad)]);
  const mask = lengths.map((n) => Array.from({ length: T }, (_, t) => (t < n ? 1 : 0)));
  const logp = rows.map((r) => {
    const a = new Float64Array(T);
    a.set(r.logp);
    return a;
  });
  return { tokens, mask, logp, lengths };
}

/**
 * The groups of several prompts (P) sampled as ONE generate of P·G rows (rolloutRows). Group j samples
 * with seeds[j] exactly as `rollouts` with seed seeds[j] does. Returns one Rollout per prompt, each
 * padded to its own longest completion.
 */
export async function rolloutsBatch(model: LlamaModel, prompts: number[][], opts: Omit<RolloutOptions, 'seed'> & { seeds: number[] }): Promise<Rollout[]> {
  const G = opts.groupSize;
  const P = prompts.length;
  if (!(Number.isInteger(G) && G >= MIN_GROUP && G <= MAX_GROUP)) throw new Error(`rollouts: group size must be an integer in ${MIN_GROUP}..${MAX_GROUP} (GRPO compares completions within a group), got ${G}`);
  if (opts.seeds.length !== P) throw new Error(`rollouts: ${opts.seeds.length} seeds for ${P} prompts`);
  checkTemperature('rollouts', opts.temperature);
  const rows = prompts.flatMap((ids, j) => sequenceSeeds(opts.seeds[j], G).map((seed) => ({ ids, temperature: opts.temperature, seed }))); // row j·G + g
  const out = await rolloutRows(model, rows, opts);
  const pad = [...new Set(opts.eosTokenIds ?? model.cfg.eos_token_ids)][0] ?? 0;
  return prompts.map((_, j) => toRollout(out.slice(j * G, (j + 1) * G), pad));
}

/**
 * Teacher-forced log-probs of given completions: one forward over prompt + completion for the whole
 * group ([G, T0 + T], right-padded; causal attention keeps padding out of earlier positions), and
 * log_softmax(logits / temperature) at each completion token. completions: [G][≤ T], rows may differ in
 * length (or be rollouts' padded rows); returns [G][T], 0 past each row's own length.
 * All logits [G, T0 + T, V] are read back at once: fine for the group sizes and contexts of this lab.
 */
export async function sequenceLogprobs(model: LlamaModel, promptIds: number[], completions: number[][], temperature: number): Promise<Float64Array[]> {
  const { rt, cfg } = model;
  const V = cfg.d_vocab;
  const G = completions.length;
  checkTemperature('sequenceLogprobs', temperature);
  if (G === 0) return [];
  const T = Math.max(...completions.map((c) => c.length));
  checkPrompt(model, 'sequenceLogprobs', promptIds, T);
  for (const c of completions) for (const id of c) if (!(Number.isInteger(id) && id >= 0 && id < V)) throw new Error(`sequenceLogprobs: token id ${id} is outside the vocabulary (0..${V - 1})`);
  const T0 = promptIds.length;
  const L = T0 + T; // positions per row
  const ids = new Int32Array(G * L); // [G, L]: prompt, completion, right padding with token 0
  completions.forEach((c, g) => {
    ids.set(promptIds, g * L);
    ids.set(c, g * L + T0);
  });
  const idsT = rt.upload(ids, [G, L], 'i32', 'ids');
  const { logits } = model.forward(idsT, { logits: 'all' }); // [G, L, V]
  idsT.dispose();
  const all = (await rt.read(logits!)) as Float32Array;
  logits!.dispose();
  // the token at completion position t is predicted by the logits at position T0 − 1 + t
  return completions.map((c, g) => {
    const a = new Float64Array(T);
    for (let t = 0; t < c.length; t++) {
      const at = (g * L + T0 - 1 + t) * V;
      a[t] = tokenLogprob(all.subarray(at, at + V), c[t], temperature);
    }
    return a;
  });
}
