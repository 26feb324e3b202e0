// An attention pattern [query × key] drawn on a <canvas> (a canvas draws T² cells cheaply). Rows
// are query positions (top to bottom), columns key positions (left to right); a cell's colour is
// its probability on a fixed 0..1 scale, so heads compare: ColorBrewer Blues by default, or the
// caller's `color` (the Compare page passes its d3 viridis scale). Cells above the diagonal (future
// keys, masked by causality) are hatched grey, not white; null cells (e.g. a hidden attention
// sink) are drawn a darker grey and read "hidden".
//
// Hover, or focus the canvas and use the arrow keys: the readout names the query token, the key
// token and the probability. `compact` draws a small multiple without labels or interaction.
import { useEffect, useRef, useState, type KeyboardEvent, type MouseEvent, type ReactNode } from 'react';
import { showToken } from './lab.tsx';

/** Sequential blues (ColorBrewer "Blues"), probability 0 → 1. */
const STOPS: [number, number, number][] = [
  [247, 251, 255],
  [198, 219, 239],
  [107, 174, 214],
  [33, 113, 181],
  [8, 48, 107],
];

export function colorOf(p: number): string {
  const x = Math.min(1, Math.max(0, p)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const t = x - i;
  const c = STOPS[i].map((a, j) => Math.round(a + (STOPS[i + 1][j] - a) * t));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

export const GRADIENT = `linear-gradient(to right, ${STOPS.map((c) => `rgb(${c.join(',')})`).join(', ')})`;

interface Layout {
  cell: number;
  left: number;
  top: number;
  width: number;
  height: number;
}

const FONT = '11px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';
const MAX_LABEL = 14; // characters of a token label

function label(t: string): string {
  const s = showToken(t);
  return s.length > MAX_LABEL ? `${s.slice(0, MAX_LABEL - 1)}…` : s;
}

function layout(T: number, compact: boolean, maxWidth: number, labelWidth: number): Layout {
  if (compact) {
    const cell = Math.max(1, Math.floor(maxWidth / T));
    return { cell, left: 0, top: 0, width: cell * T, height: cell * T };
  }
  const margin = Math.min(110, labelWidth + 8);
  const cell = Math.max(4, Math.min(40, Math.floor((maxWidth - margin) / T)));
  return { cell, left: margin, top: margin, width: margin + cell * T, height: margin + cell * T };
}

export interface HeatmapProps {
  pattern: (number | null)[][]; // [query][key]; null = hidden
  tokens: string[];
  compact?: boolean;
  maxWidth?: number;
  /** for the readout and the canvas' accessible name */
  title: string;
  /** probability → CSS colour (default: Blues over 0..1) */
  color?: (p: number) => string;
  /** replaces the default 0..1 Blues legend */
  legend?: ReactNode;
  /** extra attributes on the canvas (e.g. data-side) */
  attrs?: Record<string, string | number>;
}

export function Heatmap({ pattern, tokens, compact = false, maxWidth = 560, title, color = colorOf, legend, attrs }: HeatmapProps) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [cur, setCur] = useState<[number, number] | null>(null); // [query, key]
  const T = pattern.length;
  const [geo, setGeo] = useState<Layout | null>(null);

  useEffect(() => {
    const c = canvas.current;
    if (!c) return;
    const ctx = c.getContext('2d');
    if (!ctx) return;
    ctx.font = FONT;
    const labelWidth = compact ? 0 : Math.max(...tokens.map((t) => ctx.measureText(label(t)).width), 10);
    const g = layout(T, compact, maxWidth, labelWidth);
    const dpr = globalThis.devicePixelRatio || 1;
    c.width = Math.round(g.width * dpr);
    c.height = Math.round(g.height * dpr);
    c.style.width = `${g.width}px`;
    c.style.height = `${g.height}px`;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, g.width, g.height);
    let drawn = 0;
    for (let q = 0; q < T; q++) {
      for (let k = 0; k < T; k++) {
        const x = g.left + k * g.cell, y = g.top + q * g.cell;
        if (k > q) {
          // masked (future) key: light grey, hatched when cells are big enough to show it
          ctx.fillStyle = '#eef0f3';
          ctx.fillRect(x, y, g.cell, g.cell);
          if (g.cell >= 8) {
            ctx.strokeStyle = '#dde1e7';
            ctx.beginPath();
            ctx.moveTo(x, y + g.cell);
            ctx.lineTo(x + g.cell, y);
            ctx.stroke();
          }
          continue;
        }
        const p = pattern[q][k];
        ctx.fillStyle = p === null ? '#c4c8cf' : color(p);
        ctx.fillRect(x, y, g.cell, g.cell);
        if (p !== null) drawn++;
      }
    }
    if (!compact) {
      ctx.fillStyle = '#1d2330';
      ctx.font = FONT;
      ctx.textBaseline = 'middle';
      ctx.textAlign = 'right';
      // labels 11 px high: with smaller cells only every `step`-th token is labelled
      const step = Math.ceil(12 / g.cell);
      tokens.forEach((t, q) => q % step === 0 && ctx.fillText(label(t), g.left - 5, g.top + (q + 0.5) * g.cell));
      ctx.save();
      ctx.textAlign = 'left';
      tokens.forEach((t, k) => {
        if (k % step) return;
        ctx.save();
        ctx.translate(g.left + (k + 0.5) * g.cell, g.top - 5);
        ctx.rotate(-Math.PI / 2);
        ctx.fillText(label(t), 0, 0);
        ctx.restore();
      });
      ctx.restore();
      if (cur) {
        const [q, k] = cur;
        ctx.strokeStyle = '#e4572e';
        ctx.lineWidth = 2;
        ctx.strokeRect(g.left + k * g.cell + 1, g.top + q * g.cell + 1, g.cell - 2, g.cell - 2);
        ctx.lineWidth = 1;
      }
    }
    c.dataset.drawn = String(drawn);
    setGeo(g);
  }, [pattern, tokens, compact, maxWidth, T, cur, color]);

  const cellAt = (e: MouseEvent): [number, number] | null => {
    if (!geo) return null;
    const r = (e.target as HTMLCanvasElement).getBoundingClientRect();
    const k = Math.floor((e.clientX - r.left - geo.left) / geo.cell);
    const q = Math.floor((e.clientY - r.top - geo.top) / geo.cell);
    return q >= 0 && q < T && k >= 0 && k < T ? [q, k] : null;
  };
  const onKey = (e: KeyboardEvent) => {
    const moves: Record<string, [number, number]> = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const m = moves[e.key];
    if (!m) return;
    e.preventDefault();
    const [q, k] = cur ?? [0, 0];
    setCur([Math.min(T - 1, Math.max(0, q + m[0])), Math.min(T - 1, Math.max(0, k + m[1]))]);
  };

  if (compact) {
    return <canvas ref={canvas} className="heatmap compact" data-testid="heatmap-small" data-cells={T * T} aria-hidden="true" />;
  }
  const valueText = (q: number, k: number, long: boolean) => {
    const p = pattern[q][k];
    return k > q ? (long ? 'masked (future token)' : 'masked') : p === null ? 'hidden' : p.toFixed(4);
  };
  const readout = cur
    ? `query ${cur[0]} «${showToken(tokens[cur[0]])}» → key ${cur[1]} «${showToken(tokens[cur[1]])}»: ${valueText(cur[0], cur[1], true)}`
    : 'Hover a cell, or focus the map and use the arrow keys.';
  const tip = cur && geo ? { left: geo.left + (cur[1] + 1) * geo.cell + 8, top: geo.top + cur[0] * geo.cell - 4 } : null;
  return (
    <figure className="heatmap-figure">
      <div className="heatmap-wrap">
      <canvas
        ref={canvas}
        className="heatmap"
        data-testid="heatmap"
        data-cells={T * T}
        tabIndex={0}
        role="img"
        aria-label={`${title}: attention from each query token (rows) to each key token (columns)`}
        onMouseMove={(e) => setCur(cellAt(e) ?? cur)}
        onMouseLeave={() => setCur(null)}
        onKeyDown={onKey}
        {...attrs}
      />
      {tip && cur ? (
        <div className="tooltip" style={{ left: tip.left, top: tip.top }} aria-hidden="true">
          <div>
            <span className="muted">query</span> {showToken(tokens[cur[0]])} <span className="muted">#{cur[0]}</span>
          </div>
          <div>
            <span className="muted">key</span> {showToken(tokens[cur[1]])} <span className="muted">#{cur[1]}</span>
          </div>
          <strong>{valueText(cur[0], cur[1], false)}</strong>
        </div>
      ) : null}
      </div>
      <figcaption>
        <span className="readout" data-testid="heatmap-readout" aria-live="polite">
          {readout}
        </span>
        {legend ?? (
          <span className="legend">
            <span>0</span>
            <span className="ramp" style={{ background: GRADIENT }} />
            <span>1</span>
          </span>
        )}
      </figcaption>
    </figure>
  );
}
