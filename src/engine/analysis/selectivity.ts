// Task selectivity of attention heads (issue 12, item 2): given one statistic's per-prompt values for
// task A (n_A prompts, e.g. Velmic) and task B (n_B, e.g. arithmetic) at every (layer, head), how
// different are the tasks, how sure are we, and which heads survive multiple comparisons? Pure
// TypeScript, float64, seeded (src/engine/util/rng.ts): the same input and seed give the same table.
//
// EFFECT SIZE (Cohen's d with the pooled unbiased SD):
//   m_X = mean of X,  s²_X = Σ(x − m_X)² / (n_X − 1)
//   s_p = sqrt( ((n_A − 1)·s²_A + (n_B − 1)·s²_B) / (n_A + n_B − 2) )
//   d   = (m_A − m_B) / s_p          (no small-sample correction; Hedges' g = d·(1 − 3/(4(n_A+n_B)−9)))
//   s_p = 0 (both tasks constant): d = 0 when the means are equal, else ±Infinity (never NaN).
//   Positive d: the statistic is larger on task A. n_A, n_B ≥ 2 and finite values are required.
// BOOTSTRAP CI (percentile): B resamples (default 2000); each draws n_A prompts from A and n_B from B
// WITH replacement (tasks resampled separately, sizes kept) and computes d*; the CI is the
// (1−level)/2 and (1+level)/2 quantiles of the d* with linear interpolation between order statistics
// (numpy's default "linear" / Hyndman–Fan type 7). Default level 0.95.
// PERMUTATION TEST (two-sided): pool the n_A + n_B values, draw n_perm random relabelings (default
// 5000; first n_A of a seeded Fisher–Yates shuffle → A), count |d*| ≥ |d| (with a relative slack of
// 1e-12 so the identity relabeling, computed by the same arithmetic, always counts as a tie), and
//   p = (1 + #{|d*| ≥ |d|}) / (1 + n_perm)      (never 0; smallest value 1/(1 + n_perm)).
// MULTIPLE COMPARISONS across all m cells of one call (every layer × head given):
//   Benjamini–Hochberg q-values: sort p ascending p_(1) ≤ … ≤ p_(m); q_(i) = min_{j ≥ i} min(1, m·p_(j)/j)
//     (statsmodels multipletests 'fdr_bh' / R p.adjust "BH"); reject at FDR α where q < α.
//   Holm step-down adjusted p: p^H_(i) = max_{j ≤ i} min(1, (m − j + 1)·p_(j))  ('holm'; FWER).
// SEEDS: each cell draws from its own Rng, seeded from (seed, layer, head, stream) through hash32, so a
// cell's CI and p do not depend on which other cells are in the call or in what order.
import { Rng } from '../util/rng.ts';
import { hash32 } from '../util/hash32.ts';

export interface SelectivityCell {
  layer: number;
  head: number;
  /** per-prompt values of task A [n_A] */
  a: ArrayLike<number>;
  /** per-prompt values of task B [n_B] */
  b: ArrayLike<number>;
}

export interface SelectivityOptions {
  /** bootstrap resamples (default 2000; 0 skips the CI: ciLow = ciHigh = d) */
  nBoot?: number;
  /** random relabelings (default 5000; 0 skips the test: p = 1) */
  nPerm?: number;
  seed?: number;
  /** CI level (default 0.95) */
  level?: number;
}

export interface SelectivityRow {
  layer: number;
  head: number;
  nA: number;
  nB: number;
  meanA: number;
  meanB: number;
  /** pooled unbiased SD s_p */
  sdPooled: number;
  /** Cohen's d = (meanA − meanB) / sdPooled */
  d: number;
  ciLow: number;
  ciHigh: number;
  /** two-sided permutation p-value */
  p: number;
  /** Benjamini–Hochberg q-value over the call's cells */
  q: number;
  /** Holm-adjusted p-value over the call's cells */
  pHolm: number;
}

/** Mean, unbiased variance (two-pass). */
function moments(x: ArrayLike<number>): { n: number; mean: number; v: number } {
  const n = x.length;
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i];
  const mean = s / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (x[i] - mean) ** 2;
  return { n, mean, v: n > 1 ? ss / (n - 1) : 0 };
}

/** d from the group means, pooled SD; the s_p = 0 convention of the header. */
const dOf = (mA: number, mB: number, sp: number): number => (sp > 0 ? (mA - mB) / sp : mA === mB ? 0 : mA > mB ? Infinity : -Infinity);

/** Cohen's d with the pooled unbiased SD, and its parts. */
export function cohensD(a: ArrayLike<number>, b: ArrayLike<number>): { d: number; meanA: number; meanB: number; sdPooled: number } {
  if (a.length < 2 || b.length < 2) throw new Error(`selectivity: each task needs at least 2 prompts (got ${a.length} and ${b.length})`);
  for (const [x, name] of [[a, 'A'], [b, 'B']] as const) {
    for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) throw new Error(`selectivity: task ${name} value ${i} is ${x[i]}`);
  }
  const A = moments(a), B = moments(b);
  const sdPooled = Math.sqrt(((A.n - 1) * A.v + (B.n - 1) * B.v) / (A.n + B.n - 2));
  return { d: dOf(A.mean, B.mean, sdPooled), meanA: A.mean, meanB: B.mean, sdPooled };
}

/** d of a split given as sums over A and B (values centred beforehand to keep s² − m² stable). */
function dFromSums(sA: number, qA: number, nA: number, sB: number, qB: number, nB: number): number {
  const mA = sA / nA, mB = sB / nB;
  const ssA = Math.max(0, qA - sA * mA), ssB = Math.max(0, qB - sB * mB);
  return dOf(mA, mB, Math.sqrt((ssA + ssB) / (nA + nB - 2)));
}

/** Quantile of sorted values, linear interpolation (numpy "linear", type 7). */
export function quantileSorted(x: ArrayLike<number>, p: number): number {
  const h = (x.length - 1) * p, lo = Math.floor(h), hi = Math.min(x.length - 1, lo + 1);
  if (x[lo] === x[hi]) return x[lo]; // also keeps ±Infinity − ±Infinity from making NaN
  return x[lo] + (h - lo) * (x[hi] - x[lo]);
}

/** A cell's own seeded stream: (seed, layer, head, stream) → Rng. */
function cellRng(seed: number, layer: number, head: number, stream: number): Rng {
  return new Rng(hash32(hash32(hash32(hash32(seed >>> 0) ^ layer) ^ head) ^ stream));
}

/** Percentile bootstrap CI of d (tasks resampled separately). */
export function bootstrapCI(a: ArrayLike<number>, b: ArrayLike<number>, nBoot: number, level: number, rng: Rng): [number, number] {
  const nA = a.length, nB = b.length;
  const c = moments([...Array.from(a), ...Array.from(b)]).mean; // centre (d is shift-invariant)
  const ds = new Float64Array(nBoot);
  for (let r = 0; r < nBoot; r++) {
    let sA = 0, qA = 0, sB = 0, qB = 0;
    for (let i = 0; i < nA; i++) { const x = a[rng.int(0, nA)] - c; sA += x; qA += x * x; }
    for (let i = 0; i < nB; i++) { const x = b[rng.int(0, nB)] - c; sB += x; qB += x * x; }
    ds[r] = dFromSums(sA, qA, nA, sB, qB, nB);
  }
  ds.sort();
  return [quantileSorted(ds, (1 - level) / 2), quantileSorted(ds, (1 + level) / 2)];
}

/** Two-sided permutation p-value of d: (1 + #{|d*| ≥ |d|}) / (1 + nPerm). */
export function permutationP(a: ArrayLike<number>, b: ArrayLike<number>, nPerm: number, rng: Rng): number {
  const nA = a.length, nB = b.length, n = nA + nB;
  const pool = Float64Array.from([...Array.from(a), ...Array.from(b)]);
  const c = moments(pool).mean;
  let sT = 0, qT = 0;
  for (let i = 0; i < n; i++) { pool[i] -= c; sT += pool[i]; qT += pool[i] * pool[i]; }
  const split = (): number => {
    let sA = 0, qA = 0;
    for (let i = 0; i < nA; i++) { sA += pool[i]; qA += pool[i] * pool[i]; }
    return Math.abs(dFromSums(sA, qA, nA, sT - sA, qT - qA, nB));
  };
  const d0 = split(); // the observed labels, by the same arithmetic as the relabelings
  const bar = Number.isFinite(d0) ? d0 - 1e-12 * Math.max(1, d0) : d0;
  let hits = 0;
  for (let r = 0; r < nPerm; r++) {
    for (let i = 0; i < nA; i++) { // partial Fisher–Yates: positions 0..nA−1 get a uniform random subset
      const j = rng.int(i, n);
      const t = pool[i]; pool[i] = pool[j]; pool[j] = t;
    }
    if (split() >= bar) hits++;
  }
  return (1 + hits) / (1 + nPerm);
}

/** Ascending order of p (stable: ties keep input order). */
const order = (p: readonly number[]): number[] => p.map((_, i) => i).sort((i, j) => p[i] - p[j] || i - j);

/** Benjamini–Hochberg q-values (statsmodels 'fdr_bh'). */
export function bhAdjust(p: readonly number[]): number[] {
  const m = p.length, o = order(p), q = new Array<number>(m);
  let run = 1;
  for (let r = m - 1; r >= 0; r--) {
    run = Math.min(run, (m * p[o[r]]) / (r + 1));
    q[o[r]] = run;
  }
  return q;
}

/** Holm step-down adjusted p-values (statsmodels 'holm'). */
export function holmAdjust(p: readonly number[]): number[] {
  const m = p.length, o = order(p), out = new Array<number>(m);
  let run = 0;
  for (let r = 0; r < m; r++) {
    run = Math.max(run, Math.min(1, (m - r) * p[o[r]]));
    out[o[r]] = run;
  }
  return out;
}

/** d, bootstrap CI, permutation p per cell; BH q and Holm p across all cells of the call. */
export function selectivity(cells: readonly SelectivityCell[], opts: SelectivityOptions = {}): SelectivityRow[] {
  const nBoot = opts.nBoot ?? 2000, nPerm = opts.nPerm ?? 5000, seed = opts.seed ?? 0, level = opts.level ?? 0.95;
  if (!(level > 0 && level < 1)) throw new Error(`selectivity: level must be in (0, 1), got ${level}`);
  const rows = cells.map((c): SelectivityRow => {
    const { d, meanA, meanB, sdPooled } = cohensD(c.a, c.b);
    const [ciLow, ciHigh] = nBoot > 0 ? bootstrapCI(c.a, c.b, nBoot, level, cellRng(seed, c.layer, c.head, 1)) : [d, d];
    const p = nPerm > 0 ? permutationP(c.a, c.b, nPerm, cellRng(seed, c.layer, c.head, 2)) : 1;
    return { layer: c.layer, head: c.head, nA: c.a.length, nB: c.b.length, meanA, meanB, sdPooled, d, ciLow, ciHigh, p, q: 1, pHolm: 1 };
  });
  const ps = rows.map((r) => r.p);
  const q = bhAdjust(ps), h = holmAdjust(ps);
  rows.forEach((r, i) => { r.q = q[i]; r.pHolm = h[i]; });
  return rows;
}

export interface RankedRow extends SelectivityRow {
  rank: number;
  /** q < alpha (BH at FDR alpha) */
  significant: boolean;
}

/** Rows by |d| descending (ties: layer, head), ranked from 1, with q < alpha flagged. */
export function rankSelectivity(rows: readonly SelectivityRow[], alpha = 0.05): RankedRow[] {
  return [...rows]
    .sort((x, y) => Math.abs(y.d) - Math.abs(x.d) || x.layer - y.layer || x.head - y.head)
    .map((r, i) => ({ ...r, rank: i + 1, significant: r.q < alpha }));
}

/** Plain-text table of ranked rows (CLI / logs): "*" marks q < alpha. */
export function formatSelectivityTable(rows: readonly RankedRow[], statName = 'stat'): string {
  const f = (x: number, k = 3) => (Number.isFinite(x) ? x.toFixed(k) : String(x));
  const g = (x: number) => (x < 1e-3 ? x.toExponential(1) : x.toFixed(4));
  const head = `rank  L.H    d(${statName})   95% CI              meanA     meanB       p        q       holm`;
  return [head, ...rows.map((r) => `${String(r.rank).padStart(4)}  ${`${r.layer}.${r.head}`.padEnd(5)} ${f(r.d).padStart(8)}${r.significant ? '*' : ' '} [${f(r.ciLow)}, ${f(r.ciHigh)}]`.padEnd(42) +
    `${f(r.meanA, 4).padStart(8)}  ${f(r.meanB, 4).padStart(8)}  ${g(r.p).padStart(7)}  ${g(r.q).padStart(7)}  ${g(r.pHolm).padStart(7)}`)].join('\n');
}

/** Percentile bootstrap CI of one sample's mean (the logit-lens curves, ablation effects); NaNs dropped. */
export function bootstrapMeanCI(x: ArrayLike<number>, nBoot: number, level: number, rng: Rng): { mean: number; ci: [number, number]; n: number } {
  const v = Array.from(x).filter((y) => Number.isFinite(y));
  const n = v.length;
  if (n === 0) return { mean: NaN, ci: [NaN, NaN], n: 0 };
  const mean = v.reduce((a, b) => a + b, 0) / n;
  if (nBoot <= 0 || n === 1) return { mean, ci: [mean, mean], n };
  const ms = new Float64Array(nBoot);
  for (let r = 0; r < nBoot; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += v[rng.int(0, n)];
    ms[r] = s / n;
  }
  ms.sort();
  return { mean, ci: [quantileSorted(ms, (1 - level) / 2), quantileSorted(ms, (1 + level) / 2)], n };
}
