// Choosing the next token from one row of logits, as transformers' generate does:
// greedy = argmax (first index on ties, like torch.argmax); sampling applies temperature, then
// top-k, then top-p (nucleus: the smallest set of most likely tokens whose probability reaches p,
// never empty), then draws from the renormalised distribution with a seeded RNG.
import { Rng } from '../util/rng.ts';

export type Sampling = { kind: 'greedy' } | { kind: 'sample'; temperature: number; topK?: number; topP?: number; seed?: number };

export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

export class Sampler {
  private rng: Rng;
  constructor(readonly spec: Sampling) {
    if (spec.kind === 'sample') {
      if (!(spec.temperature > 0)) throw new Error(`temperature must be > 0 (use greedy for 0), got ${spec.temperature}`);
      if (spec.topK !== undefined && !(Number.isInteger(spec.topK) && spec.topK > 0)) throw new Error(`top-k must be a positive integer, got ${spec.topK}`);
      if (spec.topP !== undefined && !(spec.topP > 0 && spec.topP <= 1)) throw new Error(`top-p must be in (0, 1], got ${spec.topP}`);
    }
    this.rng = new Rng(spec.kind === 'sample' ? (spec.seed ?? 0) : 0);
  }

  /** Candidate tokens with their probabilities after temperature / top-k / top-p, most likely first. */
  distribution(row: ArrayLike<number>): { ids: Int32Array; probs: Float64Array } {
    if (this.spec.kind === 'greedy') return { ids: Int32Array.of(argmax(row)), probs: Float64Array.of(1) };
    const { temperature, topK, topP } = this.spec;
    const V = row.length;
    const order = new Int32Array(V);
    for (let i = 0; i < V; i++) order[i] = i;
    // stable descending sort by logit: ties keep the lower id first
    const sorted = Array.from(order).sort((a, b) => row[b] - row[a] || a - b);
    let n = topK !== undefined ? Math.min(topK, V) : V;
    const maxLogit = row[sorted[0]] / temperature;
    const probs = new Float64Array(n);
    let z = 0;
    for (let i = 0; i < n; i++) z += probs[i] = Math.exp(row[sorted[i]] / temperature - maxLogit);
    for (let i = 0; i < n; i++) probs[i] /= z;
    if (topP !== undefined && topP < 1) {
      // transformers' TopPLogitsWarper: ascending cumulative mass; a token goes when the mass of
      // itself and everything less likely is <= 1 − p; the most likely token always stays
      let tail = 0;
      let keep = n;
      for (let i = n - 1; i > 0; i--) {
        tail += probs[i];
        if (tail <= 1 - topP) keep = i;
        else break;
      }
      n = keep;
      let z2 = 0;
      for (let i = 0; i < n; i++) z2 += probs[i];
      for (let i = 0; i < n; i++) probs[i] /= z2;
    }
    return { ids: Int32Array.from(sorted.slice(0, n)), probs: probs.slice(0, n) };
  }

  next(row: ArrayLike<number>): number {
    if (this.spec.kind === 'greedy') return argmax(row);
    const { ids, probs } = this.distribution(row);
    let u = this.rng.next();
    for (let i = 0; i < ids.length; i++) {
      u -= probs[i];
      if (u < 0) return ids[i];
    }
    return ids[ids.length - 1];
  }
}
