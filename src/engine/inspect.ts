// Attention patterns of a prompt with per-head statistics (the Compare page, the attention view,
// `lab forward --attn`'s browser twin): blocks.{l}.attn.hook_pattern of the asked layers, read as
// [head][query][key], and per head the entropy, largest probability, first-token, previous-token and
// self mass. Kept apart from model loading (session.ts): interpretability grows here.
import type { LlamaModel } from './model/llama.ts';
import { HOOKS } from './model/llama.ts';
import type { LabTokenizer } from './model/tokenizer.ts';
import { CancelledError } from './errors.ts';

export interface InspectRequest {
  text: string;
  /** token ids to inspect instead of tokenizing `text` (e.g. a prompt and the tokens generated after it) */
  ids?: number[];
  /** layers whose patterns are returned (statistics too); keep it to a few */
  layers: number[];
  /** add the tokenizer's special tokens (e.g. BOS); default true */
  addSpecialTokens?: boolean;
}

export interface InspectToken {
  id: number;
  /** decoded text of this token alone */
  text: string;
  /** the vocabulary entry (e.g. "Ġthe") */
  raw: string;
}

export interface InspectLayer {
  layer: number;
  /** blocks.{l}.attn.hook_pattern: [head][query][key], causal (zeros above the diagonal) */
  pattern: number[][][];
  stats: HeadStats[];
}

export interface InspectResult {
  tokens: InspectToken[];
  n_heads: number;
  layers: InspectLayer[];
  ms: number;
}

/** Per-head summary of one pattern, each averaged over the query positions. */
export interface HeadStats {
  head: number;
  /** −Σ p·ln p over keys (nats): 0 = one key, ln(q+1) = uniform over the visible keys */
  entropy: number;
  /** the largest probability in the row */
  maxProb: number;
  /** attention to the first token (often an "attention sink") */
  firstToken: number;
  /** attention to the previous token (queries 1..T−1; 0 for a one-token prompt) */
  prevToken: number;
  /** attention to itself (the diagonal) */
  self: number;
}

/** Statistics of one head's causal pattern [query][key]. */
export function headStats(head: number, p: number[][]): HeadStats {
  const T = p.length;
  let entropy = 0, maxProb = 0, firstToken = 0, prevToken = 0, self = 0;
  for (let q = 0; q < T; q++) {
    const row = p[q];
    let e = 0, m = 0;
    for (let k = 0; k <= q; k++) {
      const x = row[k];
      if (x > 0) e -= x * Math.log(x);
      if (x > m) m = x;
    }
    entropy += e;
    maxProb += m;
    firstToken += row[0];
    self += row[q];
    if (q > 0) prevToken += row[q - 1];
  }
  return { head, entropy: entropy / T, maxProb: maxProb / T, firstToken: firstToken / T, prevToken: T > 1 ? prevToken / (T - 1) : 0, self: self / T };
}

/** Longest prompt `inspect` accepts: patterns grow with T². */
export const INSPECT_MAX_TOKENS = 256;

/** One forward pass over the prompt capturing blocks.{l}.attn.hook_pattern of the asked layers, with per-head statistics. */
export async function inspectPatterns(model: LlamaModel, tok: LabTokenizer, req: InspectRequest, signal?: AbortSignal): Promise<InspectResult> {
  const { rt, cfg } = model;
  const t0 = performance.now();
  const ids = req.ids ? [...req.ids] : tok.encode(req.text, { addSpecialTokens: req.addSpecialTokens ?? true });
  const T = ids.length;
  const badId = ids.find((i) => !Number.isInteger(i) || i < 0 || i >= cfg.d_vocab);
  if (badId !== undefined) throw new Error(`Token id ${badId} is outside the vocabulary (0..${cfg.d_vocab - 1}).`);
  if (T === 0) throw new Error('The prompt is empty: type some text first.');
  if (T > Math.min(INSPECT_MAX_TOKENS, cfg.n_ctx)) throw new Error(`The prompt is ${T} tokens; attention views take at most ${Math.min(INSPECT_MAX_TOKENS, cfg.n_ctx)}. Shorten it.`);
  const layers = [...new Set(req.layers)];
  const bad = layers.filter((l) => !(Number.isInteger(l) && l >= 0 && l < cfg.n_layers));
  if (bad.length) throw new Error(`No layer ${bad.join(', ')}: this model has layers 0..${cfg.n_layers - 1}.`);
  if (layers.length === 0) throw new Error('Choose at least one layer.');
  if (signal?.aborted) throw new CancelledError('Inspect was cancelled.');
  const H = cfg.n_heads;
  const idsT = rt.upload(Int32Array.from(ids), [1, T], 'i32', 'ids'); // [B=1, T]
  const { captures } = model.forward(idsT, { capture: new Set(layers.map(HOOKS.pattern)), logits: 'none' });
  idsT.dispose();
  const out: InspectLayer[] = [];
  try {
    for (const l of layers) {
      const flat = (await rt.read(captures.get(HOOKS.pattern(l))!)) as Float32Array; // [1, H, T, S=T]
      const pattern: number[][][] = [];
      for (let h = 0; h < H; h++) {
        const rows: number[][] = [];
        for (let q = 0; q < T; q++) rows.push(Array.from(flat.subarray((h * T + q) * T, (h * T + q + 1) * T))); // [key]
        pattern.push(rows); // [query][key]
      }
      out.push({ layer: l, pattern, stats: pattern.map((p, h) => headStats(h, p)) });
    }
  } finally {
    for (const t of captures.values()) t.dispose();
  }
  const tokens = ids.map((id) => ({ id, text: tok.decode([id]), raw: tok.idToToken(id) ?? String(id) }));
  return { tokens, n_heads: H, layers: out, ms: performance.now() - t0 };
}
