// The per-head statistics of a comparison as layer × head matrices (from the engine's HeadStats),
// their difference language − math, and the colour domains: shared by the page and the exports.
import type { InspectResult } from '../../engine/engine.ts';
import { STATS, diffScale, statScale, type ColorScale } from './colors.ts';

export type StatKey = (typeof STATS)[number]['key'];

/** [layer][head] values of one statistic. */
export function statMatrix(r: InspectResult, key: StatKey): number[][] {
  return r.layers.map((L) => L.stats.map((s) => s[key]));
}

export interface StatRow {
  key: StatKey;
  label: string;
  what: string;
  left: number[][];
  right: number[][];
  /** left − right, i.e. language − math */
  diff: number[][];
  /** one sequential scale for both sides; a diverging one for the difference */
  scale: ColorScale;
  diffScale: ColorScale;
}

const maxOf = (m: number[][], f = (x: number) => x) => m.reduce((a, r) => r.reduce((b, x) => Math.max(b, f(x)), a), 0);

export function statRows(left: InspectResult, right: InspectResult): StatRow[] {
  return STATS.map(({ key, label, what }) => {
    const l = statMatrix(left, key), r = statMatrix(right, key);
    const diff = l.map((row, i) => row.map((x, j) => x - r[i][j]));
    // one domain for both sides: 0 up to the larger side's maximum (the legend gives the numbers)
    const top = Math.max(maxOf(l), maxOf(r));
    return { key, label, what, left: l, right: r, diff, scale: statScale(top), diffScale: diffScale(maxOf(diff, Math.abs)) };
  });
}
