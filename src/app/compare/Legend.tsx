// A colour legend: the scale's gradient as a bar with d3's ticks under it, as SVG (text is text).
import { useId } from 'react';
import { gradientStops, legendTicks, tickCount, type ColorScale } from './colors.ts';

/** `ticks`: how many ticks to ask d3 for (default from the width; fewer for long labels such as −0.0001). */
export function Legend({ scale, label, width = 180, testid, ticks: n }: { scale: ColorScale; label: string; width?: number; testid?: string; ticks?: number }) {
  const id = useId().replace(/:/g, '');
  const ticks = legendTicks(scale, n ?? tickCount(width));
  // room for the end labels (half of the longest one on each side; 10 px digits are ≈ 6 px wide)
  const pad = Math.max(14, Math.ceil(Math.max(0, ...ticks.map((t) => t.label.length)) * 3.1));
  const bar = { x: pad, y: label ? 18 : 4, w: width - 2 * pad, h: 10 };
  return (
    <svg className="legend-svg" width={width} height={bar.y + 26} role="img" aria-label={`${label}: colour scale from ${scale.domain()[0]} to ${scale.domain().at(-1)}`} data-testid={testid}>
      <defs>
        <linearGradient id={id}>
          {gradientStops(scale).map((s, i) => (
            <stop key={i} offset={s.offset} stopColor={s.color} />
          ))}
        </linearGradient>
      </defs>
      {label ? (
        <text x={bar.x} y={12} className="legend-label">
          {label}
        </text>
      ) : null}
      <rect x={bar.x} y={bar.y} width={bar.w} height={bar.h} fill={`url(#${id})`} stroke="#c9ced6" strokeWidth={0.5} />
      {ticks.map((t) => (
        <g key={t.value} transform={`translate(${bar.x + t.pos * bar.w},${bar.y + bar.h})`}>
          <line y2={4} stroke="#667085" />
          <text y={14} textAnchor="middle" className="legend-tick">
            {t.label}
          </text>
        </g>
      ))}
    </svg>
  );
}
