// Before/after training (issue 12, item 5): two interpretability reports (report-data.ts) of the same
// prompt sets on the same model — adapter off vs on, or one checkpoint of a run vs another — compared
// head by head. Pure TypeScript, no GPU and no node: imports; `lab analyze diff` (src/cli/analyze-diff.ts)
// reads two report.json files and writes this diff as diff.json.
//
// Legend: L layers, H heads, S statistics (raw ones and resid:<stat>, position-controlled).
//
// COMPARABLE means: the same architecture (L, H, d_model, vocabulary) and model name (unless
// allowDifferentModel: a full fine-tune's checkpoint folder has another name), the same two prompt sets
// (label, the file's sha256, rows used and rows in the file, the example prompts), the same seed, bootstrap
// and permutation counts, query set and ablation mode, and the same statistics. Only the weights (the
// adapter) may differ; anything else is an IncomparableReportsError listing every difference.
//
// WHAT "CHANGED" MEANS, statistically — read this before the ranking:
//   Δd = d_after − d_before (Cohen's d of task A vs task B, per statistic and head) and Δeffect =
//   effect_after − effect_before (the mean change of the answer's log-prob when the head is ablated, per
//   task) are point differences. They are NOT tested: report.json keeps no per-prompt values, and the
//   proper test — a paired bootstrap or permutation over the same prompts under both weights — needs them.
//   · significance changed: q < alpha in one report and not in the other. Each q is Benjamini–Hochberg
//     within its own report and statistic; a head can cross alpha by a small change near the threshold
//     (the difference between "significant" and "not significant" is not itself significant).
//   · CIs disjoint: the two 95% percentile-bootstrap CIs, each from its OWN report's resamples, do not
//     overlap. A conservative indicator, not a test of the difference: two CIs can overlap while the
//     difference is real, and the same prompts feed both reports (paired, correlated estimates), which a
//     pair of separate CIs ignores. null when the reports have no bootstrap (nBoot 0: the CI is the point).
//   · the rankings sort L·H·S (and 2·L·H) noisy differences by size: the top of any such list is large
//     partly by chance. Selectivity (|Δd|, in pooled SDs) and causal effects (|Δeffect|, in nats) are
//     ranked apart, their units differ.
//   Δ is exactly 0 when before equals after (also d = ±∞ on both sides); NaN when a side has no row.
import { parseTaggedJson, taggedJson, type HeadEffect, type ReportData } from './report-data.ts';
import type { SelectivityRow } from './selectivity.ts';
import { ALPHA } from './report.ts';
import { fmt, fmtP } from './report-figures.ts';

/** The two reports cannot be compared; the message lists every difference. */
export class IncomparableReportsError extends Error {
  override name = 'IncomparableReportsError';
}

export interface DiffOptions {
  /** entries in each ranked list (default 20) */
  top?: number;
  /** q below this marks a head significant (default report.ts's ALPHA, 0.05) */
  alpha?: number;
  /** compare reports of differently named model folders of one architecture (full fine-tune checkpoints) */
  allowDifferentModel?: boolean;
  /** what to call the two reports in messages (default "before", "after"; the CLI gives the files) */
  names?: [string, string];
}

/** One statistic at one head, before and after. */
export interface SelectivityChange {
  stat: string;
  /** a position-controlled statistic (resid:<stat>) */
  controlled: boolean;
  layer: number;
  head: number;
  /** the report's row; null: that report has no row here (fewer than 2 prompts with a value on a task) */
  before: SelectivityRow | null;
  after: SelectivityRow | null;
  /** d_after − d_before */
  deltaD: number;
  significantBefore: boolean;
  significantAfter: boolean;
  ciDisjoint: boolean | null;
  line: string;
}

/** One head's ablation effect on one task's answer, before and after. */
export interface CausalChange {
  task: 'a' | 'b';
  label: string;
  layer: number;
  head: number;
  before: HeadEffect | null;
  after: HeadEffect | null;
  /** mean effect after − before (nats of the answer's summed log-prob) */
  delta: number;
  ciDisjoint: boolean | null;
  line: string;
}

export interface ReportSide {
  modelName: string;
  adapter: string | null;
  createdAt: string;
  command: string;
  labCommit: string | null;
}

export interface ReportDiff {
  schema: 'lab-analysis-diff-v1';
  /** what both reports share */
  model: { layers: number; heads: number; dModel: number; vocab: number };
  tasks: { a: { label: string; file: string; sha256: string; n: number }; b: { label: string; file: string; sha256: string; n: number } };
  reproduce: { seed: number; nBoot: number; nPerm: number; queries: string; ablation: 'zero' | 'mean' };
  /** what differs by design */
  before: ReportSide;
  after: ReportSide;
  alpha: number;
  stats: string[];
  /** [S · L·H] statistic-major (report order), then layer, head */
  selectivity: SelectivityChange[];
  /** [2 · L·H] task A then B, then layer, head */
  causal: CausalChange[];
  summary: {
    selectivity: { pairs: number; changed: number; becameSignificant: number; lostSignificance: number; ciDisjoint: number };
    causal: { pairs: number; changed: number; ciDisjoint: number };
  };
  /** by |Δ| descending, only Δ ≠ 0, at most `top` each */
  top: { selectivity: SelectivityChange[]; causal: CausalChange[] };
}

/** Throws unless `d` has the parts of a lab-analysis-report-v1 that the diff reads. */
export function assertReport(d: ReportData, name: string): void {
  const hint = 'make it with `lab analyze report`';
  if (!d || typeof d !== 'object') throw new Error(`${name}: not a report (a JSON object of schema lab-analysis-report-v1); ${hint}`);
  if (d.schema !== 'lab-analysis-report-v1') throw new Error(`${name}: expected schema lab-analysis-report-v1, got ${JSON.stringify(d.schema)}; ${hint}`);
  const missing = ['model', 'reproduce', 'tasks', 'selectivity', 'ablation'].filter((k) => !d[k as keyof ReportData] || typeof d[k as keyof ReportData] !== 'object');
  if (!d.tasks?.a || !d.tasks?.b) missing.push('tasks.a/b');
  if (!Array.isArray(d.ablation?.a) || !Array.isArray(d.ablation?.b)) missing.push('ablation.a/b');
  if (missing.length) throw new Error(`${name}: the report lacks ${missing.join(', ')}; ${hint}`);
}

const show = (x: unknown) => {
  const s = JSON.stringify(x) ?? String(x);
  return s.length > 80 ? s.slice(0, 79) + '…' : s;
};

/** Every way the two reports differ beyond the weights; empty when comparable. */
function differences(x: ReportData, y: ReportData, allowDifferentModel: boolean): string[] {
  const out: string[] = [];
  const same = (what: string, a: unknown, b: unknown) => {
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push(`${what} ${show(a)} vs ${show(b)}`);
  };
  const shape = (d: ReportData) => `${d.model.layers} layers × ${d.model.heads} heads, d_model ${d.model.dModel}, vocabulary ${d.model.vocab}`;
  same('architecture', shape(x), shape(y));
  if (!allowDifferentModel) same('model', x.model.name, y.model.name);
  for (const t of ['a', 'b'] as const) {
    const [p, q] = [x.tasks[t], y.tasks[t]];
    same(`task ${t.toUpperCase()} label`, p.label, q.label);
    same(`task ${t.toUpperCase()} file sha256`, p.sha256, q.sha256);
    same(`task ${t.toUpperCase()} rows used`, `${p.n} of ${p.rows}`, `${q.n} of ${q.rows}`);
    if (p.sha256 === q.sha256 && p.n === q.n) same(`task ${t.toUpperCase()} example prompts`, p.examples, q.examples);
  }
  for (const k of ['seed', 'nBoot', 'nPerm', 'queries', 'ablation'] as const) same(k, x.reproduce[k], y.reproduce[k]);
  same('statistics', Object.keys(x.selectivity).sort(), Object.keys(y.selectivity).sort());
  return out;
}

/** after − before; exactly 0 when equal (so ±∞ on both sides is no change); NaN when either is NaN. */
const delta = (before: number, after: number) => (before === after ? 0 : after - before);
/** Two intervals with no point in common; null when either is degenerate-by-design or NaN. */
const disjoint = (a: readonly [number, number], b: readonly [number, number], haveCi: boolean): boolean | null =>
  !haveCi || [...a, ...b].some(Number.isNaN) ? null : a[1] < b[0] || b[1] < a[0];
const signed = (x: number) => (x > 0 ? '+' : '') + fmt(x);
const byKey = <T extends { layer: number; head: number }>(rows: readonly T[]) => new Map(rows.map((r) => [`${r.layer}.${r.head}`, r]));
/** By |Δ| descending (±∞ first); stable, so ties keep report order. Δ = 0 and NaN are left out. */
const rank = <T>(xs: T[], d: (x: T) => number, n: number) =>
  xs.filter((x) => d(x) !== 0 && !Number.isNaN(d(x))).sort((x, y) => Math.abs(d(y)) - Math.abs(d(x)) || 0).slice(0, n);

/** The head-by-head differences of two comparable reports; throws IncomparableReportsError when they are not. */
export function diffReports(before: ReportData, after: ReportData, opts: DiffOptions = {}): ReportDiff {
  const [nb, na] = opts.names ?? ['before', 'after'];
  assertReport(before, nb);
  assertReport(after, na);
  const diffs = differences(before, after, opts.allowDifferentModel ?? false);
  if (diffs.length) {
    throw new IncomparableReportsError(`${nb} and ${na} are not comparable: ${diffs.join('; ')}. ` +
      'Make both with the same `lab analyze report` arguments, changing only --adapter (or the model folder, with --allow-different-model).');
  }
  const alpha = opts.alpha ?? ALPHA, top = opts.top ?? 20;
  const { layers: L, heads: H } = before.model;
  const haveCi = before.reproduce.nBoot > 0;
  const heads = Array.from({ length: L * H }, (_, i) => [Math.floor(i / H), i % H] as const); // [L·H] (layer, head)
  const [A, B] = [before.tasks.a.label, before.tasks.b.label];

  const selState = (r: SelectivityRow | null) =>
    !r ? 'no data' : `${r.q < alpha ? `${r.d > 0 ? A : B}-selective` : 'not selective'} (d ${fmt(r.d)}, q ${fmtP(r.q)})`;
  const stats = Object.keys(before.selectivity);
  const selectivity = stats.flatMap((stat) => {
    const [rb, ra] = [byKey(before.selectivity[stat]), byKey(after.selectivity[stat])];
    return heads.map(([layer, head]): SelectivityChange => {
      const b = rb.get(`${layer}.${head}`) ?? null, a = ra.get(`${layer}.${head}`) ?? null;
      const deltaD = a && b ? delta(b.d, a.d) : NaN;
      const ciDisjoint = a && b ? disjoint([b.ciLow, b.ciHigh], [a.ciLow, a.ciHigh], haveCi) : null;
      const tail = Number.isNaN(deltaD) ? '' : `; Δd ${signed(deltaD)}${ciDisjoint ? ', CIs disjoint' : ''}`;
      return {
        stat, controlled: stat.startsWith('resid:'), layer, head, before: b, after: a, deltaD,
        significantBefore: !!b && b.q < alpha, significantAfter: !!a && a.q < alpha, ciDisjoint,
        line: `L${layer}H${head} ${stat}: ${selState(b)} → ${selState(a)}${tail}`,
      };
    });
  });

  const effState = (e: HeadEffect | null) => {
    if (!e) return 'no data';
    const what = e.ci[0] > 0 ? 'hurts the answer' : e.ci[1] < 0 ? 'helps the answer' : 'no clear effect';
    return `${what} (${fmt(e.mean)} [${fmt(e.ci[0])}, ${fmt(e.ci[1])}])`;
  };
  const causal = (['a', 'b'] as const).flatMap((task) => {
    const [eb, ea] = [byKey(before.ablation[task]), byKey(after.ablation[task])];
    const label = before.tasks[task].label;
    return heads.map(([layer, head]): CausalChange => {
      const b = eb.get(`${layer}.${head}`) ?? null, a = ea.get(`${layer}.${head}`) ?? null;
      const d = a && b ? delta(b.mean, a.mean) : NaN;
      const ciDisjoint = a && b ? disjoint(b.ci, a.ci, haveCi) : null;
      const tail = Number.isNaN(d) ? '' : `; Δ ${signed(d)}${ciDisjoint ? ', CIs disjoint' : ''}`;
      return { task, label, layer, head, before: b, after: a, delta: d, ciDisjoint, line: `L${layer}H${head} ablation on ${label}: ${effState(b)} → ${effState(a)}${tail}` };
    });
  });

  const changed = (d: number) => d !== 0 && !Number.isNaN(d);
  const side = (d: ReportData): ReportSide => ({ modelName: d.model.name, adapter: d.adapter?.name ?? null, createdAt: d.createdAt, command: d.reproduce.command, labCommit: d.reproduce.labCommit });
  const task = (t: ReportData['tasks']['a']) => ({ label: t.label, file: t.file, sha256: t.sha256, n: t.n });
  const { seed, nBoot, nPerm, queries, ablation } = before.reproduce;
  return {
    schema: 'lab-analysis-diff-v1',
    model: { layers: L, heads: H, dModel: before.model.dModel, vocab: before.model.vocab },
    tasks: { a: task(before.tasks.a), b: task(before.tasks.b) },
    reproduce: { seed, nBoot, nPerm, queries, ablation },
    before: side(before), after: side(after), alpha, stats, selectivity, causal,
    summary: {
      selectivity: {
        pairs: selectivity.length, changed: selectivity.filter((s) => changed(s.deltaD)).length,
        becameSignificant: selectivity.filter((s) => s.after && s.before && !s.significantBefore && s.significantAfter).length,
        lostSignificance: selectivity.filter((s) => s.after && s.before && s.significantBefore && !s.significantAfter).length,
        ciDisjoint: selectivity.filter((s) => s.ciDisjoint).length,
      },
      causal: { pairs: causal.length, changed: causal.filter((c) => changed(c.delta)).length, ciDisjoint: causal.filter((c) => c.ciDisjoint).length },
    },
    top: { selectivity: rank(selectivity, (s) => s.deltaD, top), causal: rank(causal, (c) => c.delta, top) },
  };
}

/** diff.json's text (report-data.ts taggedJson: d = ±∞ and a NaN Δ where a side has no row survive). Read it back with diffFromJson. */
export const diffToJson = (diff: ReportDiff, indent = 1): string => taggedJson(diff, indent);

/** The ReportDiff of a diff.json text. */
export const diffFromJson = (text: string): ReportDiff => parseTaggedJson(text) as ReportDiff;

/** The ranked lines for a terminal: a heading per list and "(none)" when nothing changed. */
export function formatDiff(diff: ReportDiff): string {
  const s = diff.summary;
  const who = (x: ReportSide) => `${x.modelName}${x.adapter ? ` + ${x.adapter}` : ''}`;
  return [
    `before: ${who(diff.before)}; after: ${who(diff.after)}; tasks A = ${diff.tasks.a.label}, B = ${diff.tasks.b.label}`,
    `selectivity: ${s.selectivity.changed} of ${s.selectivity.pairs} head-statistic pairs changed; ${s.selectivity.becameSignificant} became significant (q < ${diff.alpha}), ${s.selectivity.lostSignificance} lost it; ${s.selectivity.ciDisjoint} with disjoint CIs`,
    `top ${diff.top.selectivity.length} by |Δd|:`, ...(diff.top.selectivity.length ? diff.top.selectivity.map((c, i) => `  ${i + 1}. ${c.line}`) : ['  (none)']),
    `ablation: ${s.causal.changed} of ${s.causal.pairs} head-task effects changed; ${s.causal.ciDisjoint} with disjoint CIs`,
    `top ${diff.top.causal.length} by |Δ effect| (nats of the answer's log-prob):`, ...(diff.top.causal.length ? diff.top.causal.map((c, i) => `  ${i + 1}. ${c.line}`) : ['  (none)']),
    'Δ is a point difference, not a test; disjoint CIs (each from its own bootstrap) are a conservative indicator.',
  ].join('\n');
}
