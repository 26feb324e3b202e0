// Live charts of a run, one small SVG per metric, drawn with d3 (the project's rule: scales, axes
// and line shapes come from d3): d3-scale maps step → x and value → y, d3-axis draws the ticks,
// d3-shape's line() the path. React owns the SVG; d3 fills the axis groups. Each chart exposes
// what it plots (data-points, data-last) for tests and screen readers get a one-line summary.
import { useEffect, useMemo, useRef } from 'react';
import { axisBottom, axisLeft, extent, format, line, scaleLinear, select } from 'd3';
import type { StepLine } from '../../engine/api.ts';

const W = 300;
const H = 165;
const M = { top: 10, right: 12, bottom: 30, left: 56 };

interface Metric {
  key: string;
  title: string;
  value: (l: StepLine) => number;
  fmt: string;
  color: string;
}

const METRICS: Metric[] = [
  { key: 'loss', title: 'Loss', value: (l) => l.loss, fmt: '.3~f', color: '#2f5d8a' },
  { key: 'grad-norm', title: 'Gradient norm (before clipping)', value: (l) => l.grad_norm, fmt: '.3~g', color: '#b35806' },
  { key: 'lr', title: 'Learning rate', value: (l) => l.lr, fmt: '.1e', color: '#1e7b45' },
  { key: 'tokens-per-s', title: 'Tokens / s', value: (l) => l.tokens_per_s, fmt: '.3~s', color: '#6a51a3' },
];

export function TrainCharts({ lines, totalSteps }: { lines: StepLine[]; totalSteps: number }) {
  return (
    <div className="train-charts" data-testid="train-charts">
      {METRICS.map((m) => (
        <LineChart key={m.key} metric={m} lines={lines} totalSteps={totalSteps} />
      ))}
    </div>
  );
}

function LineChart({ metric, lines, totalSteps }: { metric: Metric; lines: StepLine[]; totalSteps: number }) {
  const xAxis = useRef<SVGGElement>(null);
  const yAxis = useRef<SVGGElement>(null);
  const pts = useMemo(() => lines.map((l) => ({ x: l.step, y: metric.value(l) })).filter((p) => Number.isFinite(p.y)), [lines, metric]);
  const { x, y } = useMemo(() => {
    const maxStep = Math.max(totalSteps, pts.at(-1)?.x ?? 1, 1);
    const [lo, hi] = extent(pts, (p) => p.y) as [number | undefined, number | undefined];
    const pad = lo === undefined || hi === undefined ? 1 : (hi - lo) * 0.08 || Math.abs(hi) * 0.1 || 1;
    const y0 = lo === undefined ? 0 : metric.key === 'loss' || metric.key === 'lr' || metric.key === 'tokens-per-s' ? Math.max(0, lo - pad) : lo - pad;
    const x = scaleLinear().domain([Math.min(1, maxStep), maxStep]).range([M.left, W - M.right]);
    const y = scaleLinear().domain([y0, hi === undefined ? 1 : hi + pad]).nice().range([H - M.bottom, M.top]);
    return { x, y };
  }, [pts, totalSteps, metric.key]);

  useEffect(() => {
    const steps = x.domain()[1] - x.domain()[0];
    const xa = axisBottom(x).ticks(Math.min(6, Math.max(1, steps))).tickFormat(format('d'));
    if (xAxis.current) select(xAxis.current).call(xa);
    if (yAxis.current) select(yAxis.current).call(axisLeft(y).ticks(4).tickFormat(format(metric.fmt)));
  }, [x, y, metric.fmt]);

  const path = line<{ x: number; y: number }>()
    .x((p) => x(p.x))
    .y((p) => y(p.y))(pts);
  const last = pts.at(-1);
  const fmt = format(metric.fmt);
  const summary = last ? `${metric.title}: ${fmt(last.y)} at step ${last.x} (${pts.length} points)` : `${metric.title}: no steps yet`;
  return (
    <figure className="chart" data-testid={`train-${metric.key}-chart`} data-points={pts.length} data-last={last ? String(last.y) : ''}>
      <figcaption>
        <span>{metric.title}</span>
        <strong>{last ? fmt(last.y) : '—'}</strong>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={summary}>
        <g ref={xAxis} className="axis" transform={`translate(0,${H - M.bottom})`} />
        <g ref={yAxis} className="axis" transform={`translate(${M.left},0)`} />
        <text className="chart-axis-label" x={M.left - 10} y={H - M.bottom + 21} textAnchor="end">
          step
        </text>
        {path ? <path d={path} fill="none" stroke={metric.color} strokeWidth={1.8} /> : null}
        {pts.length <= 60
          ? pts.map((p) => <circle key={p.x} cx={x(p.x)} cy={y(p.y)} r={2.6} fill={metric.color} />)
          : last
            ? <circle cx={x(last.x)} cy={y(last.y)} r={3} fill={metric.color} />
            : null}
        {pts.length === 0 ? (
          <text x={(M.left + W - M.right) / 2} y={(H - M.bottom + M.top) / 2} textAnchor="middle" className="chart-empty">
            waiting for the first step
          </text>
        ) : null}
      </svg>
    </figure>
  );
}
