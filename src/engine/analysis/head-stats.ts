// Per-head attention statistics of ONE prompt and ONE layer (issue 12, item 2). Pure TypeScript over
// typed arrays: no GPU, no node:*. The pattern comes from blocks.{l}.attn.hook_pattern, captured
// [B, H, T, S] by model.forward (inspect.ts reads it for B = 1, S = T); pass one prompt's [H, T, S]
// slice. Legend (CONVENTIONS §21): H heads, T positions, q query position, k key position,
// p = p[h][q][k] the softmax row of query q (causal: keys 0..q are visible, k > q is never read).
// Accumulation is in float64 whatever the input type.
//
// QUERY SET Q. Every statistic is a mean over the queries q in Q; default Q = {1, ..., T−1}. q = 0 is
// always EXCLUDED (it sees only key 0, so its entropy is 0, its sink mass 1, it has no previous token,
// and log(q+1) = 0 cannot normalise it); `queries` may narrow Q (e.g. to the answer's positions).
// inspect.ts's headStats averages over q = 0..T−1 instead (q = 0 included): the numbers differ by
// that row. This module supersedes it for analysis; inspect.ts keeps its view-side summary.
//
// PER-QUERY STATISTICS (for head h and query q ∈ Q):
//   entropy      e(q)   = −Σ_{k≤q} p_k·ln p_k                    (nats; 0·ln 0 = 0)
//   entropyNorm         = e(q) / ln(q+1)                          (1 = uniform over the q+1 visible keys)
//   sink                = p_0                                     (first-token / "attention sink" mass)
//   prevToken           = p_{q−1}                                 (previous-token mass)
//   selfMass            = p_q                                     (diagonal)
//   maxProb             = max_{k≤q} p_k
//   distance     d(q)   = Σ_{k≤q} p_k·(q − k)                     (mean attention distance, positions)
//   relDistance         = d(q) / q                                (0 = self only, 1 = all on key 0)
//   induction           = Σ_{k∈K(q)} p_k,  K(q) = { j+1 : j < q, ids[j] = ids[q] }   (a set: each key once)
//   mass:<class>        = Σ_{k≤q, class[k]} p_k                   (target mass; the query itself counts
//                                                                  if it belongs to the class)
// INDUCTION. K(q) is "the token after each earlier copy of the current token". Olsson et al. (2022)
// and TransformerLens's induction score run a REPEATED RANDOM sequence [r_1..r_L, r_1..r_L] and average,
// over the second half's queries, the attention on key q−L+1 (the token after the previous copy;
// TransformerLens takes the mean of the diagonal at offset 1−L). Ours runs on NATURAL prompts: a query
// may have several earlier copies (mass summed over all of them, as Olsson et al.'s prefix-matching
// definition does), or none; queries without a copy are SKIPPED, so the mean is over the n_induction
// queries that have one (reported; mean = null when there are none — no NaN). When j = q−1, j+1 = q
// (the query itself, a repeated token) and counts. On [r, r] with distinct r_i, K(q) = {q−L+1} for the
// second half and ∅ for the first, so both definitions agree there.
//
// POSITION CONTROL. (a) Bins of relative position: query q falls in bin b = min(nb−1, ⌊nb·q/T⌋) of
// nb (default 5) bins over [0, 1); each statistic is averaged per bin (with its count; null when empty),
// so prompt sets of different lengths compare bin by bin. (b) Regression on x = ln(q+1): OLS
// y(q) = a + b·x(q) over the queries of Q (intercept, slope, n). Within one prompt the residuals of
// its own fit have mean 0 by construction, so the RESIDUAL MEAN is taken against a REFERENCE fit —
// `fitLogPosition` pooled over the query tables of a reference set (e.g. both tasks' prompts) — and
// reported when `positionFit` holds that stat: mean_q [y(q) − a_ref − b_ref·x(q)]. That is the
// statistic with the expected value at each position removed; feed it to selectivity.ts. A fit with
// n = 1 or one distinct x has slope 0 and intercept = mean y; with n = 0 it has n = 0 and yields null.

/** Row-major pattern [H, T, S] of one prompt and one layer; S ≥ T (padded key columns are ignored). */
export interface PatternLayout {
  H: number;
  T: number;
  /** Row stride (keys per row); default T. */
  S?: number;
}

export interface HeadStatsOptions {
  /** Token ids [T]; needed for `induction` (without them K(q) = ∅ for every q). */
  ids?: ArrayLike<number>;
  /** Target classes: per class a mask [T] over KEY positions (true / nonzero = in the class). */
  classes?: Readonly<Record<string, ArrayLike<boolean | number>>>;
  /** Query positions Q (default 1..T−1); 0 is dropped, duplicates merged, order ignored. */
  queries?: ArrayLike<number>;
  /** Relative-position bins (default 5). */
  bins?: number;
  /** Reference fits (from fitLogPosition) whose residual means are reported, by stat name. */
  positionFit?: Readonly<Record<string, LogPositionFit>>;
}

/** Statistics every head gets; class masses are added as `mass:<class>`. */
export const BASE_STATS = ['entropy', 'entropyNorm', 'sink', 'prevToken', 'selfMass', 'maxProb', 'distance', 'relDistance', 'induction'] as const;

/** All stat names for a set of class names, in column order. */
export function statNames(classNames: readonly string[] = []): string[] {
  return [...BASE_STATS, ...classNames.map((c) => `mass:${c}`)];
}

/** One head's per-query values: q [nQ], a column [nQ] per stat, hasCopy [nQ] (induction defined). */
export interface QueryTable {
  head: number;
  /** Prompt length (for the relative-position bins). */
  T: number;
  q: Int32Array;
  cols: Record<string, Float64Array>;
  hasCopy: Uint8Array;
}

/** OLS of a stat on ln(q+1): y ≈ intercept + slope·ln(q+1), over n queries. */
export interface LogPositionFit {
  n: number;
  intercept: number;
  slope: number;
}

export interface StatBin {
  /** Relative-position range [lo, hi) of q/T. */
  lo: number;
  hi: number;
  nQueries: number;
  nInduction: number;
  mean: Record<string, number | null>;
}

export interface HeadStatSummary {
  head: number;
  nQueries: number;
  /** Queries with an earlier copy of their token (those the induction mean is over). */
  nInduction: number;
  mean: Record<string, number | null>;
  bins: StatBin[];
  /** Within-prompt fit per stat (its slope says how the stat moves with position in this prompt). */
  fit: Record<string, LogPositionFit>;
  /** Residual means against options.positionFit (only the stats it holds); null without it. */
  residual: Record<string, number | null> | null;
}

/** The sorted query set Q, checked against T. */
function querySet(T: number, queries?: ArrayLike<number>): Int32Array {
  if (!queries) return Int32Array.from({ length: Math.max(0, T - 1) }, (_, i) => i + 1);
  const s = new Set<number>();
  for (let i = 0; i < queries.length; i++) {
    const q = queries[i];
    if (!Number.isInteger(q) || q < 0 || q >= T) throw new Error(`head-stats: query position ${q} is outside 0..${T - 1}`);
    if (q > 0) s.add(q);
  }
  return Int32Array.from([...s].sort((a, b) => a - b));
}

/** Keys K(q) = { j+1 : j < q, ids[j] = ids[q] } for every q (independent of the head). */
export function inductionKeys(ids: ArrayLike<number>): number[][] {
  const seen = new Map<number, number[]>(); // token id → earlier positions j
  const out: number[][] = [];
  for (let q = 0; q < ids.length; q++) {
    const prev = seen.get(ids[q]) ?? [];
    out.push(prev.map((j) => j + 1));
    prev.push(q);
    seen.set(ids[q], prev);
  }
  return out;
}

/** Per-query values of every statistic, one table per head. */
export function queryTables(pattern: ArrayLike<number>, layout: PatternLayout, opts: HeadStatsOptions = {}): QueryTable[] {
  const { H, T } = layout;
  const S = layout.S ?? T;
  if (!(Number.isInteger(H) && H > 0 && Number.isInteger(T) && T > 0 && S >= T)) throw new Error(`head-stats: bad layout H=${H} T=${T} S=${S}`);
  if (pattern.length < H * T * S) throw new Error(`head-stats: pattern has ${pattern.length} values, [H=${H}, T=${T}, S=${S}] needs ${H * T * S}`);
  if (opts.ids && opts.ids.length !== T) throw new Error(`head-stats: ${opts.ids.length} ids for T=${T} positions`);
  const classNames = Object.keys(opts.classes ?? {});
  const masks = classNames.map((c) => {
    const m = opts.classes![c];
    if (m.length !== T) throw new Error(`head-stats: class "${c}" has a mask of ${m.length}, T=${T}`);
    return Uint8Array.from({ length: T }, (_, k) => (m[k] ? 1 : 0));
  });
  const Q = querySet(T, opts.queries);
  const nQ = Q.length;
  const keys = opts.ids ? inductionKeys(opts.ids) : null;
  const out: QueryTable[] = [];
  for (let h = 0; h < H; h++) {
    const cols: Record<string, Float64Array> = {};
    for (const s of statNames(classNames)) cols[s] = new Float64Array(nQ);
    const hasCopy = new Uint8Array(nQ);
    for (let i = 0; i < nQ; i++) {
      const q = Q[i];
      const row = (h * T + q) * S; // p[h][q][·]
      let e = 0, mx = 0, dist = 0;
      const mass = new Float64Array(masks.length);
      for (let k = 0; k <= q; k++) {
        const p = pattern[row + k];
        if (!Number.isFinite(p)) throw new Error(`head-stats: pattern[${h}][${q}][${k}] = ${p}`);
        if (p > 0) e -= p * Math.log(p);
        if (p > mx) mx = p;
        dist += p * (q - k);
        for (let c = 0; c < masks.length; c++) if (masks[c][k]) mass[c] += p;
      }
      cols.entropy[i] = e;
      cols.entropyNorm[i] = e / Math.log(q + 1);
      cols.sink[i] = pattern[row];
      cols.prevToken[i] = pattern[row + q - 1];
      cols.selfMass[i] = pattern[row + q];
      cols.maxProb[i] = mx;
      cols.distance[i] = dist;
      cols.relDistance[i] = dist / q;
      const K = keys ? keys[q] : [];
      if (K.length > 0) {
        hasCopy[i] = 1;
        let m = 0;
        for (const k of K) m += pattern[row + k];
        cols.induction[i] = m;
      }
      for (let c = 0; c < masks.length; c++) cols[`mass:${classNames[c]}`][i] = mass[c];
    }
    out.push({ head: h, T, q: Q, cols, hasCopy });
  }
  return out;
}

/** Whether query i of the table counts for `stat` (induction only where a copy exists). */
const counts = (t: QueryTable, stat: string, i: number): boolean => stat !== 'induction' || t.hasCopy[i] === 1;

function column(t: QueryTable, stat: string): Float64Array {
  const c = t.cols[stat];
  if (!c) throw new Error(`head-stats: no statistic "${stat}" (have ${Object.keys(t.cols).join(', ')})`);
  return c;
}

/** Mean of `stat` over the queries i with keep(i); null when none. */
function meanOf(t: QueryTable, stat: string, keep: (i: number) => boolean): number | null {
  const c = column(t, stat);
  let s = 0, n = 0;
  for (let i = 0; i < c.length; i++) if (keep(i) && counts(t, stat, i)) { s += c[i]; n++; }
  return n ? s / n : null;
}

/** OLS of `stat` on ln(q+1), pooled over the queries of all `tables` (one head of many prompts, or one table). */
export function fitLogPosition(tables: readonly QueryTable[], stat: string): LogPositionFit {
  let n = 0, sx = 0, sy = 0;
  for (const t of tables) {
    const c = column(t, stat);
    for (let i = 0; i < c.length; i++) if (counts(t, stat, i)) { n++; sx += Math.log(t.q[i] + 1); sy += c[i]; }
  }
  if (n === 0) return { n: 0, intercept: 0, slope: 0 };
  const mx = sx / n, my = sy / n;
  let sxx = 0, sxy = 0;
  for (const t of tables) {
    const c = column(t, stat);
    for (let i = 0; i < c.length; i++) {
      if (!counts(t, stat, i)) continue;
      const dx = Math.log(t.q[i] + 1) - mx;
      sxx += dx * dx;
      sxy += dx * (c[i] - my);
    }
  }
  const slope = sxx > 0 ? sxy / sxx : 0;
  return { n, intercept: my - slope * mx, slope };
}

/** mean_q [y(q) − a − b·ln(q+1)] over the table's queries for `stat`; null when none or fit.n = 0. */
export function residualMean(t: QueryTable, stat: string, fit: LogPositionFit): number | null {
  if (fit.n === 0) return null;
  const c = column(t, stat);
  let s = 0, n = 0;
  for (let i = 0; i < c.length; i++) {
    if (!counts(t, stat, i)) continue;
    s += c[i] - fit.intercept - fit.slope * Math.log(t.q[i] + 1);
    n++;
  }
  return n ? s / n : null;
}

/** Means, relative-position bins, within-prompt fits and (with positionFit) residual means of one head. */
export function summarizeTable(t: QueryTable, opts: Pick<HeadStatsOptions, 'bins' | 'positionFit'> = {}): HeadStatSummary {
  const nb = opts.bins ?? 5;
  if (!(Number.isInteger(nb) && nb > 0)) throw new Error(`head-stats: bins must be a positive integer, got ${nb}`);
  const stats = Object.keys(t.cols);
  const all = () => true;
  const binOf = Int32Array.from(t.q, (q) => Math.min(nb - 1, Math.floor((nb * q) / t.T)));
  const mean: Record<string, number | null> = {};
  const fit: Record<string, LogPositionFit> = {};
  for (const s of stats) {
    mean[s] = meanOf(t, s, all);
    fit[s] = fitLogPosition([t], s);
  }
  const bins: StatBin[] = [];
  for (let b = 0; b < nb; b++) {
    const inBin = (i: number) => binOf[i] === b;
    const m: Record<string, number | null> = {};
    for (const s of stats) m[s] = meanOf(t, s, inBin);
    let nQ = 0, nI = 0;
    for (let i = 0; i < t.q.length; i++) if (inBin(i)) { nQ++; nI += t.hasCopy[i]; }
    bins.push({ lo: b / nb, hi: (b + 1) / nb, nQueries: nQ, nInduction: nI, mean: m });
  }
  let residual: Record<string, number | null> | null = null;
  if (opts.positionFit) {
    residual = {};
    for (const [s, f] of Object.entries(opts.positionFit)) residual[s] = residualMean(t, s, f);
  }
  let nInduction = 0;
  for (let i = 0; i < t.hasCopy.length; i++) nInduction += t.hasCopy[i];
  return { head: t.head, nQueries: t.q.length, nInduction, mean, bins, fit, residual };
}

/** Everything for one prompt and one layer: one summary per head. */
export function computeHeadStats(pattern: ArrayLike<number>, layout: PatternLayout, opts: HeadStatsOptions = {}): HeadStatSummary[] {
  return queryTables(pattern, layout, opts).map((t) => summarizeTable(t, opts));
}

/** [head][query][key] nested arrays (InspectLayer.pattern) → the flat [H, T, T] Float64Array this module reads. */
export function flattenPattern(p: readonly (readonly (readonly number[])[])[]): { data: Float64Array; layout: PatternLayout } {
  const H = p.length, T = H ? p[0].length : 0;
  const data = new Float64Array(H * T * T);
  for (let h = 0; h < H; h++) {
    if (p[h].length !== T) throw new Error(`head-stats: head ${h} has ${p[h].length} rows, head 0 has ${T}`);
    for (let q = 0; q < T; q++) for (let k = 0; k < T; k++) data[(h * T + q) * T + k] = p[h][q][k] ?? 0;
  }
  return { data, layout: { H, T } };
}
