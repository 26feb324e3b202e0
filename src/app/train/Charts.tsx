// Live charts of a run, one small SVG per metric, drawn with d3 (the project's rule: scales, axes
// and line shapes come from d3): d3-scale maps step → x and value → y, d3-axis draws the ticks,
// d3-shape's line() the paths and area() a band (a GRPO reward's ± std). React owns the SVG; d3 fills
// the axis groups. Each chart exposes what it plots (data-points, data-last: its first series) for
// tests, and screen readers get a one-line summary.
import { useEffect, useMemo, useRef } from 'react';
import { area, axisBottom, axisLeft, format, line, scaleLinear, select } from 'd3';
import type { StepLine } from '../../engine/api.ts';

const W = 300;
const H = 165;
const M = { top: 10, right: 12, bottom: 30, left: 56 };

/** One line of a chart: points (step, value), optionally a band [lo, hi] around it. */
export interface Series {
  name: string;
  color: string;
  pts: { x: number; y: number; lo?: number; hi?: number }[];
  dashed?: boolean;
}

interface Metric {
  key: string;
  title: string;
  value: (l: StepLine) => number;
  fmt: string;
  color: string;
  floor0: boolean;
}

const METRICS: Metric[] = [
  { key: 'loss', title: 'Loss', value: (l) => l.loss, fmt: '.3~f', color: '#2f5d8a', floor0: true },
  { key: 'grad-norm', title: 'Gradient norm (before clipping)', value: (l) => l.grad_norm, fmt: '.3~g', color: '#b35806', floor0: false },
  { key: 'lr', title: 'Learning rate', value: (l) => l.lr, fmt: '.1e', color: '#1e7b45', floor0: true },
  { key: 'tokens-per-s', title: 'Tokens / s', value: (l) => l.tokens_per_s, fmt: '.3~s', color: '#6a51a3', floor0: true },
];

/** The points of one value over the lines, non-finite values (and nulls) left out. */
export function pointsOf<L extends StepLine>(lines: L[], value: (l: L) => number | null | undefined, band?: (l: L) => [number, number]): Series['pts'] {
  const out: Series['pts'] = [];
  for (const l of lines) {
    const y = value(l);
    if (typeof y !== 'number' || !Number.isFinite(y)) continue;
    const b = band?.(l);
    out.push(b && Number.isFinite(b[0]) && Number.isFinite(b[1]) ? { x: l.step, y, lo: b[0], hi: b[1] } : { x: l.step, y });
  }
  return out;
}

export function TrainCharts({ lines, totalSteps }: { lines: StepLine[]; totalSteps: number }) {
  return (
    <div className="train-charts" data-testid="train-charts">
      {METRICS.map((m) => (
        <SeriesChart
          key={m.key}
          testid={`train-${m.key}-chart`}
          title={m.title}
          fmt={m.fmt}
          floor0={m.floor0}
          totalSteps={totalSteps}
          series={[{ name: m.title, color: m.color, pts: pointsOf(lines, m.value) }]}
        />
      ))}
    </div>
  );
}

/** A d3 format for values up to `max` in size: plain for 0.001 … 10⁴, else an exponent (tick labels stay within the margin). */
const autoFormat = (max: number) => (max === 0 || (max >= 1e-3 && max < 1e4) ? '.3~g' : '.2~e');

/** A chart of one or more series over steps; a legend when there are several. `fmt` 'auto' picks by the values' size. */
export function SeriesChart(props: { testid: string; title: string; fmt: string; series: Series[]; totalSteps: number; floor0?: boolean; note?: string }) {
  const { testid, title, series, totalSteps, floor0 } = props;
  const xAxis = useRef<SVGGElement>(null);
  const yAxis = useRef<SVGGElement>(null);
  const all = series.flatMap((s) => s.pts);
  const { x, y } = useMemo(() => {
    const maxStep = Math.max(totalSteps, ...all.map((p) => p.x), 1);
    const ys = all.flatMap((p) => [p.y, p.lo ?? p.y, p.hi ?? p.y]);
    const lo = ys.length ? Math.min(...ys) : undefined;
    const hi = ys.length ? Math.max(...ys) : undefined;
    const pad = lo === undefined || hi === undefined ? 1 : (hi - lo) * 0.08 || Math.abs(hi) * 0.1 || 1;
    const y0 = lo === undefined ? 0 : floor0 ? Math.max(0, lo - pad) : lo - pad;
    const x = scaleLinear().domain([Math.min(1, maxStep), maxStep]).range([M.left, W - M.right]);
    const y = scaleLinear().domain([y0, hi === undefined ? 1 : hi + pad]).nice().range([H - M.bottom, M.top]);
    return { x, y };
  }, [JSON.stringify(all), totalSteps, floor0]);
  const fmtSpec = props.fmt === 'auto' ? autoFormat(Math.max(...y.domain().map(Math.abs))) : props.fmt;

  useEffect(() => {
    const steps = x.domain()[1] - x.domain()[0];
    const xa = axisBottom(x).ticks(Math.min(6, Math.max(1, steps))).tickFormat(format('d'));
    if (xAxis.current) select(xAxis.current).call(xa);
    if (yAxis.current) select(yAxis.current).call(axisLeft(y).ticks(4).tickFormat(format(fmtSpec)));
  }, [x, y, fmtSpec]);

  type P = Series['pts'][number];
  const path = line<P>()
    .x((p) => x(p.x))
    .y((p) => y(p.y));
  const band = area<P>()
    .x((p) => x(p.x))
    .y0((p) => y(p.lo ?? p.y))
    .y1((p) => y(p.hi ?? p.y));
  const first = series[0]?.pts ?? [];
  const last = first.at(-1);
  const fmt = format(fmtSpec);
  const summary = last
    ? `${title}: ${series.map((s) => (s.pts.length ? `${s.name} ${fmt(s.pts.at(-1)!.y)}` : '')).filter(Boolean).join(', ')} at step ${last.x} (${first.length} points)`
    : `${title}: no steps yet`;
  return (
    <figure className="chart" data-testid={testid} data-points={first.length} data-last={last ? String(last.y) : ''}>
      <figcaption>
        <span>{title}</span>
        {series.length === 1 ? <strong>{last ? fmt(last.y) : '—'}</strong> : null}
      </figcaption>
      {series.length > 1 ? (
        <div className="chart-legend small">
          {series.map((s) => (
            <span key={s.name}>
              <i style={{ background: s.color }} className={s.dashed ? 'dashed' : undefined} />
              {s.name} <strong>{s.pts.length ? fmt(s.pts.at(-1)!.y) : '—'}</strong>
            </span>
          ))}
        </div>
      ) : null}
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={summary}>
        <g ref={xAxis} className="axis" transform={`translate(0,${H - M.bottom})`} />
        <g ref={yAxis} className="axis" transform={`translate(${M.left},0)`} />
        <text className="chart-axis-label" x={M.left - 10} y={H - M.bottom + 21} textAnchor="end">
          step
        </text>
        {series.map((s) => {
          const banded = s.pts.filter((p) => p.lo !== undefined);
          const d = s.pts.length ? path(s.pts) : null;
          return (
            <g key={s.name}>
              {banded.length ? <path d={band(banded) ?? undefined} fill={s.color} opacity={0.16} stroke="none" /> : null}
              {d ? <path d={d} fill="none" stroke={s.color} strokeWidth={1.8} strokeDasharray={s.dashed ? '4 3' : undefined} /> : null}
              {s.pts.length <= 60
                ? s.pts.map((p) => <circle key={p.x} cx={x(p.x)} cy={y(p.y)} r={2.6} fill={s.color} />)
                : s.pts.length
                  ? <circle cx={x(s.pts.at(-1)!.x)} cy={y(s.pts.at(-1)!.y)} r={3} fill={s.color} />
                  : null}
            </g>
          );
        })}
        {all.length === 0 ? (
          <text x={(M.left + W - M.right) / 2} y={(H - M.bottom + M.top) / 2} textAnchor="middle" className="chart-empty">
            {props.note ?? 'waiting for the first step'}
          </text>
        ) : null}
      </svg>
    </figure>
  );
}
