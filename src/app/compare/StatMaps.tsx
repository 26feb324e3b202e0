// Per-head statistics of both prompts as layer × head maps (one sequential scale per statistic,
// shared by both sides) and their difference language − math on a diverging scale, each with a
// legend. Values on hover (SVG <title>) and in data-value for tests.
import type { InspectResult } from '../../engine/engine.ts';
import type { ColorScale } from './colors.ts';
import { Legend } from './Legend.tsx';
import { statRows } from './stats.ts';
import { SIDE_LABEL } from './prompts.ts';

export function StatGrid({ m, scale, testid, title, fmt }: { m: number[][]; scale: ColorScale; testid: string; title: string; fmt: (v: number) => string }) {
  const L = m.length, H = m[0]?.length ?? 0;
  const c = Math.max(12, Math.min(22, Math.floor(150 / Math.max(H, 1))));
  const left = 24, top = 14;
  return (
    <svg className="stat-grid" width={left + H * c + 2} height={top + L * c + 2} role="img" aria-label={title} data-testid={testid}>
      {Array.from({ length: H }, (_, h) => (
        <text key={`h${h}`} x={left + (h + 0.5) * c} y={10} textAnchor="middle" className="axis-tick">
          {H > 12 && h % 2 ? '' : h}
        </text>
      ))}
      {m.map((row, l) => (
        <g key={l}>
          <text x={left - 4} y={top + (l + 0.5) * c + 3} textAnchor="end" className="axis-tick">
            {L > 16 && l % 2 ? '' : l}
          </text>
          {row.map((v, h) => (
            <rect key={h} x={left + h * c} y={top + l * c} width={c - 1} height={c - 1} fill={scale(v)} data-layer={l} data-head={h} data-value={v}>
              <title>{`${title} · layer ${l}, head ${h}: ${fmt(v)}`}</title>
            </rect>
          ))}
        </g>
      ))}
    </svg>
  );
}

export function StatMaps({ left, right }: { left: InspectResult; right: InspectResult }) {
  const rows = statRows(left, right);
  const fmt = (v: number) => v.toFixed(3);
  const signed = (v: number) => (v > 0 ? '+' : '') + v.toFixed(3);
  return (
    <section className="stat-maps" data-testid="compare-stats" aria-labelledby="stats-h">
      <h3 id="stats-h">Per-head statistics (rows: layers, columns: heads)</h3>
      <p className="muted small">
        Averaged over query positions, from the full pattern (sink included). Difference: blue = higher for {SIDE_LABEL.left.toLowerCase()}, red = higher for{' '}
        {SIDE_LABEL.right.toLowerCase()}.
      </p>
      <div className="stat-table">
        <span />
        <span className="stat-col">{SIDE_LABEL.left}</span>
        <span className="stat-col">{SIDE_LABEL.right}</span>
        <span className="stat-col">
          {SIDE_LABEL.left} − {SIDE_LABEL.right}
        </span>
        {rows.map((r) => [
          <span key={`${r.key}-name`} className="stat-name" title={r.what}>
            {r.label}
            <Legend scale={r.scale} label="" width={150} />
          </span>,
          <StatGrid key={`${r.key}-l`} m={r.left} scale={r.scale} testid={`stat-${r.key}-left`} title={`${r.label}, ${SIDE_LABEL.left}`} fmt={fmt} />,
          <StatGrid key={`${r.key}-r`} m={r.right} scale={r.scale} testid={`stat-${r.key}-right`} title={`${r.label}, ${SIDE_LABEL.right}`} fmt={fmt} />,
          <span key={`${r.key}-d`} className="stat-diff">
            <StatGrid m={r.diff} scale={r.diffScale} testid={`stat-${r.key}-diff`} title={`${r.label}, ${SIDE_LABEL.left} − ${SIDE_LABEL.right}`} fmt={signed} />
            <Legend scale={r.diffScale} label="" width={150} />
          </span>,
        ])}
      </div>
    </section>
  );
}
