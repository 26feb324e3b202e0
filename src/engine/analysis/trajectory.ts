// The interpretability report along a training run (issue 12, item 5: "on each checkpoint of a run"):
// reports of the same two prompt sets made with the base model (step 0, adapter off) and with each
// checkpoint's adapter, gathered into series — the logit lens per layer, each head's ablation effect per
// task and each head's task selectivity (Cohen's d) per statistic, step by step — and the heads whose
// causal effect or selectivity moved most since the first point. Every point must be comparable with the
// first (report-diff.ts decides: same architecture, prompt sets, seeds and settings), so a change in a
// series is a change of the weights, not of the measurement. `lab analyze checkpoints` writes it.
import { ALPHA } from './report.ts';
import { diffReports, type ReportDiff } from './report-diff.ts';
import { taggedJson, parseTaggedJson, type ReportData } from './report-data.ts';

/** The checkpoints a trajectory visits: every `every`-th step, and the last (the CLI's --every and the page's "every k-th"). */
export function checkpointSteps(checkpoints: readonly number[], every: number): number[] {
  const sorted = [...checkpoints].sort((a, b) => a - b);
  return sorted.filter((s, i) => s % every === 0 || i === sorted.length - 1);
}

export interface TrajectoryPoint {
  /** optimizer step of the checkpoint; 0 = the base model */
  step: number;
  report: ReportData;
}

export interface HeadSeries {
  layer: number;
  head: number;
  /** [steps] mean change of the answer's log-prob when the head is ablated, per task */
  ablation: { a: number[]; b: number[] };
  /** [steps] Cohen's d (task A − task B) per statistic; NaN where a report has no row */
  selectivity: Record<string, number[]>;
}

export interface TrajectoryHead {
  layer: number;
  head: number;
  /** what moved: "ablation on <label>" or a statistic */
  what: string;
  /** the series' value at the first point, at the last, and the largest |value − first| on the way */
  first: number;
  last: number;
  maxChange: number;
  /** at which step the largest change was seen */
  atStep: number;
  line: string;
}

export interface Trajectory {
  schema: 'lab-analysis-trajectory-v1';
  model: ReportDiff['model'] & { name: string };
  tasks: ReportDiff['tasks'];
  reproduce: ReportDiff['reproduce'];
  steps: number[];
  /** the adapter of each point (null: the base model) */
  adapters: (string | null)[];
  /** [steps][L + 1] mean log-prob of the final answer's tokens read after each layer, per task */
  lens: { a: number[][]; b: number[][] };
  /** [steps] the model's own answer log-prob (the lens's last layer), per task */
  answer: { a: number[]; b: number[] };
  /** [L·H] layer-major */
  heads: HeadSeries[];
  /** per point after the first: the diff's summary against the first point */
  changes: { step: number; selectivity: ReportDiff['summary']['selectivity']; causal: ReportDiff['summary']['causal'] }[];
  /** by largest change since the first point: ablation effects, then selectivity (raw statistics) */
  top: { causal: TrajectoryHead[]; selectivity: TrajectoryHead[] };
}

const fmt = (x: number) => (Number.isFinite(x) ? (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(2)) : String(x));

/** The largest |x − first| of a series, where it happened; NaN and ±∞ steps are skipped. */
function moved(series: number[], steps: number[]): { maxChange: number; atStep: number } {
  let maxChange = 0, atStep = steps[0];
  for (let i = 1; i < series.length; i++) {
    const d = series[i] - series[0];
    if (Number.isFinite(d) && Math.abs(d) > Math.abs(maxChange)) [maxChange, atStep] = [d, steps[i]];
  }
  return { maxChange, atStep };
}

/**
 * The trajectory of `points` (sorted here by step; steps must differ). Throws IncomparableReportsError (from
 * diffReports) naming the first point that cannot be compared with the first.
 */
export function buildTrajectory(points: readonly TrajectoryPoint[], opts: { top?: number; allowDifferentModel?: boolean } = {}): Trajectory {
  if (points.length < 2) throw new Error(`a trajectory needs at least 2 points (the base and a checkpoint), got ${points.length}`);
  const pts = [...points].sort((x, y) => x.step - y.step);
  for (let i = 1; i < pts.length; i++) if (pts[i].step === pts[i - 1].step) throw new Error(`two reports for step ${pts[i].step}`);
  const first = pts[0].report;
  const name = (p: TrajectoryPoint) => `step ${p.step}${p.report.adapter ? ` (${p.report.adapter.name})` : ''}`;
  const diffs = pts.slice(1).map((p) => ({ step: p.step, diff: diffReports(first, p.report, { allowDifferentModel: opts.allowDifferentModel, names: [name(pts[0]), name(p)], top: 0 }) }));
  const d0 = diffs[0].diff;
  const { layers: L, heads: H } = first.model;
  const steps = pts.map((p) => p.step);
  const stats = Object.keys(first.selectivity);
  const at = <T extends { layer: number; head: number }>(rows: readonly T[], l: number, h: number) => rows.find((r) => r.layer === l && r.head === h);

  const heads: HeadSeries[] = [];
  for (let l = 0; l < L; l++) {
    for (let h = 0; h < H; h++) {
      heads.push({
        layer: l, head: h,
        ablation: { a: pts.map((p) => at(p.report.ablation.a, l, h)?.mean ?? NaN), b: pts.map((p) => at(p.report.ablation.b, l, h)?.mean ?? NaN) },
        selectivity: Object.fromEntries(stats.map((s) => [s, pts.map((p) => at(p.report.selectivity[s] ?? [], l, h)?.d ?? NaN)])),
      });
    }
  }

  const top = opts.top ?? 10;
  const rank = (xs: TrajectoryHead[]) => xs.filter((x) => x.maxChange !== 0).sort((x, y) => Math.abs(y.maxChange) - Math.abs(x.maxChange)).slice(0, top);
  const entry = (hs: HeadSeries, what: string, series: number[], unit: string): TrajectoryHead => {
    const m = moved(series, steps);
    return {
      layer: hs.layer, head: hs.head, what, first: series[0], last: series[series.length - 1], ...m,
      line: `L${hs.layer}H${hs.head} ${what}: ${fmt(series[0])} at step ${steps[0]} → ${fmt(series[series.length - 1])} at step ${steps[steps.length - 1]}` +
        ` (largest change ${m.maxChange > 0 ? '+' : ''}${fmt(m.maxChange)}${unit} at step ${m.atStep})`,
    };
  };
  const [la, lb] = [first.tasks.a.label, first.tasks.b.label];
  const causal = rank(heads.flatMap((hs) => [entry(hs, `ablation on ${la}`, hs.ablation.a, ' nats'), entry(hs, `ablation on ${lb}`, hs.ablation.b, ' nats')]));
  const selectivity = rank(heads.flatMap((hs) => stats.filter((s) => !s.startsWith('resid:')).map((s) => entry(hs, `${s} selectivity d`, hs.selectivity[s], ''))));
  const lensOf = (t: 'a' | 'b') => pts.map((p) => [...p.report.lens[t].logprob]);
  const lens = { a: lensOf('a'), b: lensOf('b') };
  return {
    schema: 'lab-analysis-trajectory-v1',
    model: { ...d0.model, name: first.model.name },
    tasks: d0.tasks,
    reproduce: d0.reproduce,
    steps,
    adapters: pts.map((p) => p.report.adapter?.name ?? null),
    lens,
    answer: { a: lens.a.map((r) => r[r.length - 1]), b: lens.b.map((r) => r[r.length - 1]) },
    heads,
    changes: diffs.map(({ step, diff }) => ({ step, selectivity: diff.summary.selectivity, causal: diff.summary.causal })),
    top: { causal, selectivity },
  };
}

/** A few lines for a terminal: the answer's log-prob per step and the heads that moved most. */
export function formatTrajectory(t: Trajectory, n = 8): string {
  const lines = [
    `${t.model.name}: ${t.steps.length} points (steps ${t.steps.join(', ')}), tasks ${t.tasks.a.label} (n ${t.tasks.a.n}) and ${t.tasks.b.label} (n ${t.tasks.b.n})`,
    `answer log-prob, ${t.tasks.a.label}: ${t.answer.a.map(fmt).join(' → ')}`,
    `answer log-prob, ${t.tasks.b.label}: ${t.answer.b.map(fmt).join(' → ')}`,
    ...t.changes.map((c) => `step ${c.step} vs step ${t.steps[0]}: ${c.causal.ciDisjoint} of ${c.causal.pairs} head ablation effects and ${c.selectivity.ciDisjoint} of ${c.selectivity.pairs} selectivities moved beyond their 95% CIs; ${c.selectivity.becameSignificant} became task-selective (q < ${ALPHA}), ${c.selectivity.lostSignificance} stopped being`),
    'heads whose causal effect moved most:',
    ...t.top.causal.slice(0, n).map((h) => `  ${h.line}`),
    'heads whose selectivity moved most:',
    ...t.top.selectivity.slice(0, n).map((h) => `  ${h.line}`),
  ];
  return lines.join('\n');
}

/** trajectory.json's text (tagged non-finite numbers, as report.json). */
export const trajectoryToJson = (t: Trajectory): string => taggedJson(t, 1);
export const trajectoryFromJson = (text: string): Trajectory => parseTaggedJson(text) as Trajectory;
