// Small seeded PRNG for the task generators (src/tasks/*). Deliberately separate from the test
// utilities in src/engine/testing: generated data sets must not change when test helpers do.
//
// mulberry32 (Tommy Ettinger's 32-bit generator): one u32 of state, period 2^32, good enough for
// shuffling templates and drawing small integers; identical output in Node and in browsers
// because it uses only Math.imul and 32-bit integer ops.

/** FNV-1a over the string forms of `parts`, then a murmur3 finaliser so that nearby seeds
 *  (1, 2, 3 ...) give unrelated streams. Used to derive one stream per (task, split, seed). */
export function hashSeed(...parts: Array<number | string>): number {
  let h = 0x811c9dc5;
  for (const ch of parts.join('\u0001')) {
    h ^= ch.codePointAt(0)!;
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class TaskRng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [lo, hi], both inclusive. */
  int(lo: number, hi: number): number {
    if (!(Number.isInteger(lo) && Number.isInteger(hi) && hi >= lo)) throw new Error(`TaskRng.int: bad range [${lo}, ${hi}]`);
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error('TaskRng.pick: empty list');
    return xs[Math.floor(this.next() * xs.length)];
  }

  /** Two different elements (xs must hold at least two). */
  pick2<T>(xs: readonly T[]): [T, T] {
    const i = this.int(0, xs.length - 1);
    const j = (i + this.int(1, xs.length - 1)) % xs.length;
    return [xs[i], xs[j]];
  }

  /** Fisher–Yates shuffle in place; returns the same array. */
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [xs[i], xs[j]] = [xs[j], xs[i]];
    }
    return xs;
  }
}

// ---- generation helpers shared by the task modules -------------------------------------------

/** Whitespace/case normalisation used for exact-match scoring and for duplicate/leakage checks. */
export function normalizeText(s: string): string {
  return s.trim().replace(/\s+/g, ' ').toLowerCase();
}

/**
 * Draws items from one seeded stream until `n` distinct questions are collected. `make` returns
 * null when a draw is rejected (e.g. a number rule failed); duplicates are skipped so that a data
 * set never trains twice on the same question. Sequential draws keep prefixes stable:
 * the first k items for (split, k, seed) equal the first k for (split, n > k, seed).
 */
export function collectDistinct<T extends { question: string }>(
  n: number,
  rng: TaskRng,
  make: (rng: TaskRng, index: number) => T | null,
  what: string,
): T[] {
  if (!Number.isInteger(n) || n < 0) throw new Error(`${what}: n must be a non-negative integer, got ${n}`);
  const out: T[] = [];
  const seen = new Set<string>();
  // Each accepted item may take a few rejected draws; the cap only guards against a bug looping forever.
  for (let draws = 0; out.length < n; draws++) {
    if (draws > 200 * n + 1000) throw new Error(`${what}: could not draw ${n} distinct items (got ${out.length})`);
    const item = make(rng, out.length);
    if (item === null) continue;
    const key = normalizeText(item.question);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(item);
  }
  return out;
}
