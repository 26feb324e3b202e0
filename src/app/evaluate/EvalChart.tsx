// The table as a chart: one horizontal bar per model (its score) with its 95% CI as a whisker, on the
// metric's whole range (0–1, or 0–100 for chrF) so that bars of different tables compare by eye. d3
// makes the scales and the axis (the project's rule for charts); React owns the SVG. A bar's colour
// says its kind: the base model grey, SFT blue, GRPO green, DPO purple, an adapter from files orange.
import { useEffect, useMemo, useRef } from 'react';
import { axisBottom, format, scaleBand, scaleLinear, select } from 'd3';
import type { EvalTable } from '../../engine/api.ts';
import { kindLabel, metricMax } from './form.ts';

const W = 560;
const ROW = 26;
// the right margin holds each bar's value, clear of the whiskers
const M = { top: 6, right: 60, bottom: 34, left: 190 };

export const KIND_COLOR: Record<string, string> = { base: '#8a94a6', SFT: '#2f5d8a', GRPO: '#1e7b45', DPO: '#6a51a3', 'REWARD-MODEL': '#b35806', adapter: '#b35806' };

/** The label and kind of a row, as the table shows them. */
export function rowKind(r: EvalTable['rows'][number]): string {
  return r.run ? kindLabel(r.run.kind) : r.adapter ? 'adapter' : 'base';
}

/** A row's short name: the run's name, the adapter's, or "base". */
export const rowName = (r: EvalTable['rows'][number]): string => r.run?.name ?? r.adapter ?? 'base';

export function EvalChart({ table }: { table: EvalTable }) {
  const axis = useRef<SVGGElement>(null);
  const rows = table.rows;
  const H = M.top + M.bottom + ROW * rows.length;
  const max = metricMax(table.metric);
  const { x, y } = useMemo(
    () => ({
      x: scaleLinear().domain([0, max]).range([M.left, W - M.right]),
      y: scaleBand<number>().domain(rows.map((_, i) => i)).range([M.top, H - M.bottom]).padding(0.28),
    }),
    [rows, max, H],
  );
  const fmt = format(max === 1 ? '.3f' : '.1f');
  useEffect(() => {
    if (axis.current) select(axis.current).call(axisBottom(x).ticks(5).tickFormat(format(max === 1 ? '.1f' : 'd')));
  }, [x, max]);
  const summary = `${table.metric} on ${table.data}: ${rows.map((r) => `${rowName(r)} ${fmt(r.score)} [${fmt(r.ci95[0])}, ${fmt(r.ci95[1])}]`).join('; ')}`;
  return (
    <figure className="chart eval-chart" data-testid="eval-chart" data-bars={rows.length}>
      <figcaption>
        <span>
          {table.metric} with its 95% bootstrap CI ({table.n} rows)
        </span>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={summary}>
        <g ref={axis} className="axis" transform={`translate(0,${H - M.bottom})`} />
        <text className="chart-axis-label" x={(M.left + W - M.right) / 2} y={H - 4} textAnchor="middle">
          {table.metric} score
        </text>
        {rows.map((r, i) => {
          const top = y(i)!, bh = y.bandwidth(), mid = top + bh / 2;
          const [lo, hi] = r.ci95;
          const name = rowName(r);
          return (
            <g key={i} data-testid="eval-bar" data-score={r.score} data-lo={lo} data-hi={hi}>
              <text x={M.left - 8} y={mid} dy="0.35em" textAnchor="end" className="eval-bar-label">
                {name.length > 26 ? `${name.slice(0, 25)}…` : name}
                <title>{r.adapter ?? 'base model'}</title>
              </text>
              <rect x={x(0)} y={top} width={Math.max(0, x(r.score) - x(0))} height={bh} fill={KIND_COLOR[rowKind(r)] ?? '#8a94a6'} opacity={0.85} />
              {/* the whisker: the CI from lo to hi, with caps */}
              <line x1={x(lo)} x2={x(hi)} y1={mid} y2={mid} stroke="#1d2330" strokeWidth={1.4} />
              <line x1={x(lo)} x2={x(lo)} y1={mid - bh / 2.6} y2={mid + bh / 2.6} stroke="#1d2330" strokeWidth={1.4} />
              <line x1={x(hi)} x2={x(hi)} y1={mid - bh / 2.6} y2={mid + bh / 2.6} stroke="#1d2330" strokeWidth={1.4} />
              <text x={W - 4} y={mid} dy="0.35em" className="eval-bar-value" textAnchor="end">
                {fmt(r.score)}
              </text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}
