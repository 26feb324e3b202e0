// Before/after on the Analyze page, its pure parts: the diff of the current report against the pinned
// one (the engine's diffReports, src/engine/analysis/report-diff.ts, which needs no GPU, called here
// as ReportView calls renderReport), what the page says when the two cannot be compared, and the two
// layer × head maps of the change, drawn by the report's own heatmapFigure (RdBu, one bar a figure):
//   - selectivity: Δd of one statistic on its own scale (dots: CIs disjoint), beside d before | after (dots: q < α)
//   - ablation: Δ effect (after − before) on task A | task B (dots: CIs disjoint)
//
// Legend: L layers, H heads, S statistics.
import { diffReports, IncomparableReportsError, type ReportDiff } from '../../engine/analysis/report-diff.ts';
import type { ReportData } from '../../engine/api.ts';
import { D_CAP, D_MIN_RANGE, fmt, fmtP, heatmapFigure, type MapCell } from '../../engine/analysis/report-figures.ts';

/** Entries in each ranked list of the page (diff.json keeps every pair). */
export const DIFF_TOP = 20;

/** The two reports as the page names them in messages. */
export const DIFF_NAMES: [string, string] = ['the pinned report', 'the current report'];

export type Comparison =
  | { ok: true; diff: ReportDiff; /** the pinned report itself: nothing can differ */ same: boolean; /** nothing changed */ none: boolean }
  | { ok: false; /** IncomparableReportsError (else: a report the diff cannot read) */ incomparable: boolean; message: string };

/** The engine's refusal without its last sentence, which is about the CLI's flags; the page says its own. */
export const pageMessage = (message: string): string => message.replace(/\s*Make both with the same `lab analyze report` arguments[\s\S]*$/, '');

/** The diff of `after` (the current report) against `before` (the pinned one), or why there is none. */
export function compareReports(before: ReportData, after: ReportData, opts: { allowDifferentModel?: boolean; top?: number } = {}): Comparison {
  try {
    const diff = diffReports(before, after, { top: opts.top ?? DIFF_TOP, allowDifferentModel: opts.allowDifferentModel ?? false, names: DIFF_NAMES });
    const none = diff.summary.selectivity.changed === 0 && diff.summary.causal.changed === 0;
    return { ok: true, diff, same: before.createdAt === after.createdAt, none };
  } catch (e) {
    const incomparable = e instanceof IncomparableReportsError;
    return { ok: false, incomparable, message: incomparable ? pageMessage((e as Error).message) : (e as Error).message };
  }
}

/** The statistic the Δd map opens on: the one of the largest |Δd|, else the first. */
export const topStat = (diff: ReportDiff): string => diff.top.selectivity[0]?.stat ?? diff.stats[0] ?? '';

/** The colour range of a d map: its largest finite |d|, at least D_MIN_RANGE (a small d is not painted as large), at most D_CAP. */
const dRange = (xs: number[]) => Math.max(D_MIN_RANGE, Math.min(D_CAP, maxAbs(xs)));
const maxAbs = (xs: number[]) => Math.max(0, ...xs.filter(Number.isFinite).map(Math.abs));
/** Smallest colour range of the Δd map: 0.2 pooled SDs, Cohen's "small"; a smaller largest change stays pale. */
export const DELTA_D_MIN_RANGE = 0.2;

export interface DiffFigure {
  name: string;
  svg: string;
}

/** The file name of a statistic's Δd map: `diff-selectivity-<stat>.svg` (as the report's selectivityKey). */
export const selectivityDiffName = (stat: string): string => `diff-selectivity-${stat.replace(/[^A-Za-z0-9._-]/g, '-')}.svg`;

/**
 * One statistic per layer and head: Δd = d_after − d_before on its own colour scale (dots: the two 95%
 * CIs disjoint; the hover text is the engine's line), and d before | after on the report's d scale (dots:
 * q < α). Two figures, because a Δd of 0.3 would be invisible on a scale that a d of 15 saturates.
 */
export function selectivityDiffFigures(diff: ReportDiff, stat: string): { delta: DiffFigure; sides: DiffFigure } {
  const [A, B] = [diff.tasks.a.label, diff.tasks.b.label];
  const rows = diff.selectivity.filter((s) => s.stat === stat); // [L·H]
  const { layers: L, heads: H } = diff.model;
  const side = (pick: 'before' | 'after'): MapCell[] =>
    rows.flatMap((s) => {
      const r = s[pick];
      return r ? [{ layer: s.layer, head: s.head, value: r.d, mark: r.q < diff.alpha, title: `L${s.layer}H${s.head} ${stat}, ${pick}: d ${fmt(r.d)} [${fmt(r.ciLow)}, ${fmt(r.ciHigh)}], q ${fmtP(r.q)}` }] : [];
    });
  const cells: MapCell[] = rows.filter((s) => !Number.isNaN(s.deltaD)).map((s) => ({ layer: s.layer, head: s.head, value: s.deltaD, mark: !!s.ciDisjoint, title: s.line }));
  const mD = Math.max(DELTA_D_MIN_RANGE, Math.min(D_CAP, maxAbs(rows.map((s) => s.deltaD))));
  const name = selectivityDiffName(stat);
  const delta = heatmapFigure({
    key: name, L, H, m: mD,
    title: `${stat}: Δd, after − before`,
    desc: `Layer by head map of the change of Cohen's d of ${stat} (${A} vs ${B}) from the pinned report (before) to the current one (after); positive (blue): moved towards ${A}; colour saturates at |Δd| = ${fmt(mD)}.`,
    panels: [{ title: 'Δd', cells }],
    barLabel: 'Δd', barEnds: [`towards ${A}`, `towards ${B}`],
    markNote: 'dot: the two 95% CIs disjoint; grey: no data',
  });
  const m = dRange(rows.flatMap((s) => [s.before?.d ?? NaN, s.after?.d ?? NaN]));
  const sidesName = name.replace(/\.svg$/, '-d.svg');
  const sides = heatmapFigure({
    key: sidesName, L, H, m,
    title: `${stat}: Cohen's d, before | after`,
    desc: `Layer by head maps of Cohen's d of ${stat} between ${A} (positive, blue) and ${B} (negative, red) in the pinned report (before) and the current one (after); colour saturates at |d| = ${fmt(m)}.`,
    panels: [{ title: 'before', cells: side('before') }, { title: 'after', cells: side('after') }],
    barLabel: "Cohen's d", barEnds: [`higher on ${A}`, `higher on ${B}`],
    markNote: `dot: q < ${diff.alpha}; grey: no data`,
  });
  return { delta: { name, svg: delta }, sides: { name: sidesName, svg: sides } };
}

/** diff-ablation.svg: Δ ablation effect (after − before, nats of the answer's log-prob) on task A | task B. */
export function ablationDiffFigure(diff: ReportDiff): DiffFigure {
  const [A, B] = [diff.tasks.a.label, diff.tasks.b.label];
  const cells = (task: 'a' | 'b'): MapCell[] =>
    diff.causal.filter((c) => c.task === task && !Number.isNaN(c.delta)).map((c) => ({ layer: c.layer, head: c.head, value: c.delta, mark: !!c.ciDisjoint, title: c.line }));
  const m = maxAbs(diff.causal.map((c) => c.delta));
  const name = 'diff-ablation.svg';
  const svg = heatmapFigure({
    key: name, L: diff.model.layers, H: diff.model.heads, m: m > 0 ? m : 1,
    title: `Ablation: change of the effect on the answer's log-prob, ${A} | ${B}`,
    desc: `Layer by head maps of Δ = effect after − effect before, where an effect is the mean change of the final answer's log-prob when the head is ablated (${diff.reproduce.ablation}), for ${A} (left) and ${B} (right).`,
    panels: [{ title: A, cells: cells('a') }, { title: B, cells: cells('b') }],
    barLabel: 'Δ effect (nats)', barEnds: ['ablating it costs the answer less', 'ablating it costs the answer more'],
    markNote: 'dot: the two 95% CIs disjoint; grey: no data',
  });
  return { name, svg };
}
