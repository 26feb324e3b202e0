// Colour scales of the Compare page, all from d3 (the project's rule: scales and colour maps come
// from d3). Perceptually uniform and colour-blind safe:
//   attention       viridis, one scale for both sides (0..1, linear or square root)
//   statistics      cividis, one scale per statistic, shared by both sides
//   difference      RdBu, diverging around 0, symmetric: blue = more in the language prompt,
//                   red = more in the math prompt
import { format, interpolateCividis, interpolateRdBu, interpolateViridis, nice, rgb, scaleDiverging, scaleSequential, scaleSequentialSqrt } from 'd3';
import type { HeadStats } from '../../engine/engine.ts';

export type ScaleKind = 'linear' | 'sqrt';

/** value → CSS colour, with the domain it covers and a name for legends/exports. */
export interface ColorScale {
  (v: number): string;
  domain(): number[];
  /** tick values for a legend (d3's nice ticks) */
  ticks(n?: number): number[];
  tickFormat(n?: number, spec?: string): (v: number) => string;
}

export function attentionScale(kind: ScaleKind): ColorScale {
  const s = kind === 'sqrt' ? scaleSequentialSqrt(interpolateViridis) : scaleSequential(interpolateViridis);
  return s.domain([0, 1]).clamp(true) as unknown as ColorScale;
}

/** 0 .. max (rounded up to a nice number), for values ≥ 0. */
export function statScale(max: number): ColorScale {
  return scaleSequential(interpolateCividis).domain(nice(0, max > 0 ? max : 1, 5)).clamp(true) as unknown as ColorScale;
}

/** Diverging around 0 over [−m, m]; RdBu runs red → blue, so positive (language > math) is blue. */
export function diffScale(m: number): ColorScale {
  const a = m > 0 ? m : 1;
  return scaleDiverging(interpolateRdBu).domain([-a, 0, a]).clamp(true) as unknown as ColorScale;
}

/** How many ticks a legend `width` px wide asks d3 for (d3 may return a few more or fewer). */
export function tickCount(width: number): number {
  return Math.max(3, Math.floor(width / 40));
}

/**
 * A lookup table of `n` RGB triples over the scale's domain [d0, d1] (for drawing many cells with
 * putImageData): entry i is the colour of d0 + i/(n−1)·(d1−d0).
 */
export function colorTable(scale: ColorScale, n = 4096): Uint8ClampedArray {
  const [d0, d1] = [scale.domain()[0], scale.domain()[scale.domain().length - 1]];
  const out = new Uint8ClampedArray(n * 3);
  for (let i = 0; i < n; i++) {
    const c = rgb(scale(d0 + (i / (n - 1)) * (d1 - d0)));
    out.set([c.r, c.g, c.b], i * 3);
  }
  return out;
}

/** Colours of the masked (future) and hidden (sink) cells: neutral greys outside every colour map. */
export const MASKED_RGB: [number, number, number] = [238, 240, 243];
export const HIDDEN_RGB: [number, number, number] = [196, 200, 207];

/** The per-head statistics shown as layer × head maps (HeadStats fields). */
export const STATS: { key: keyof Omit<HeadStats, 'head'>; label: string; what: string }[] = [
  { key: 'entropy', label: 'Entropy (nats)', what: 'mean −Σ p·ln p over keys: low = focused, high = spread out' },
  { key: 'firstToken', label: 'First-token mass', what: 'mean attention to token 0 (an "attention sink" when high)' },
  { key: 'prevToken', label: 'Previous-token mass', what: 'mean attention to the token just before' },
  { key: 'self', label: 'Self mass', what: 'mean attention to the query token itself' },
];

/** Stops of a legend's gradient: the scale sampled evenly over its domain (offset 0..1). */
export function gradientStops(scale: ColorScale, n = 33): { offset: number; color: string }[] {
  const d = scale.domain();
  const [d0, d1] = [d[0], d[d.length - 1]];
  return Array.from({ length: n }, (_, i) => ({ offset: i / (n - 1), color: scale(d0 + (i / (n - 1)) * (d1 - d0)) }));
}

/** A legend's ticks: d3's nice tick values, their place along the bar (0..1) and their label. */
export function legendTicks(scale: ColorScale, n = 5): { value: number; pos: number; label: string }[] {
  const d = scale.domain();
  const [d0, d1] = [d[0], d[d.length - 1]];
  const fmt = scale.tickFormat(n);
  const out = scale
    .ticks(n)
    .filter((v) => v >= d0 && v <= d1)
    .map((v) => ({ value: v, pos: (v - d0) / (d1 - d0 || 1), label: fmt(v) }));
  if (out.length >= 2 || d1 === d0) return out;
  // d3 found at most one nice value inside a narrow domain (e.g. ±0.00014): label the ends too
  const short = format('.2~g');
  const ends = [d0, d1].map((v) => ({ value: v, pos: (v - d0) / (d1 - d0), label: short(v) }));
  return [ends[0], ...out.filter((t) => t.value !== d0 && t.value !== d1), ends[1]];
}
