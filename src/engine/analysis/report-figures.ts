// The report's figures (issue 12, item 6) as standalone SVG strings: layer × head maps (Cohen's d of a
// statistic, ablation effects) and line charts (the logit lens by layer). No DOM and no node: imports —
// the same code runs in Node (`lab analyze report`) and in the page. d3 gives the scales and colour maps
// only; the markup is written here. Every figure has a <title>/<desc>, axis labels, a legend or colour
// bar, a viewBox and a sans-serif font; every text from the data is escaped. Element ids carry the
// figure's own prefix, so several figures inlined in one HTML page never share an id.
//
// Legend: L layers, H heads. Maps put the layer on x (0..L−1) and the head on y (0..H−1).
// Colours: RdBu, diverging around 0 over a symmetric domain; blue = positive, red = negative (as on the
// Compare page: blue = more on task A). Task A's curves are blue and solid, task B's red and dashed.
import { interpolateRdBu, rgb, scaleDiverging, scaleLinear, scaleSymlog } from 'd3';
import type { HeadEffect, LensCurve, ReportData } from './report-data.ts';
import type { SelectivityRow } from './selectivity.ts';

export const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif";
export const COLOR_A = interpolateRdBu(0.9);
export const COLOR_B = interpolateRdBu(0.1);
const MISSING = '#e5e7eb';
const INK = '#1f2933', MUTED = '#52606d', GRID = '#e4e7eb';

/** Text or attribute value → safe HTML/SVG text (& < > " ' escaped). */
export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** 3 significant digits; exponent form below 1e-3 or from 1e5; ±∞ and n/a; a typographic minus. */
export function fmt(x: number, digits = 3): string {
  if (typeof x !== 'number' || Number.isNaN(x)) return 'n/a';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '−∞';
  if (x === 0) return '0';
  const a = Math.abs(x);
  const s = a >= 1e5 || a < 1e-3 ? x.toExponential(digits - 1).replace('e+', 'e') : String(Number(x.toPrecision(digits)));
  return s.replace(/-/g, '−');
}

/** p- and q-values: "<0.001" below 0.001, else 3 significant digits. */
export const fmtP = (p: number): string => (p < 0.001 ? '<0.001' : fmt(p));

/** Round to 0.1 px (keeps the markup short and deterministic). */
const r1 = (x: number): string => String(Math.round(x * 10) / 10);
/** A rough width in px of `s` at font size `size` (sans-serif averages ~0.56 em per character). */
const textWidth = (s: string, size: number): number => s.length * size * 0.56;

/** Figure ids: letters, digits and dashes only. */
export const idOf = (key: string): string => 'fig-' + key.replace(/\.svg$/, '').replace(/[^A-Za-z0-9-]/g, '-');

/** The <svg> root with the title/desc pair that names it for screen readers. */
function svgRoot(id: string, w: number, h: number, title: string, desc: string, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${r1(w)} ${r1(h)}" width="${r1(w)}" height="${r1(h)}" role="img" aria-labelledby="${id}-t ${id}-d" font-family="${esc(FONT)}" font-size="11" fill="${INK}">` +
    `<title id="${id}-t">${esc(title)}</title><desc id="${id}-d">${esc(desc)}</desc>` +
    `<rect width="100%" height="100%" fill="#fff"/>` +
    `<text x="12" y="20" font-size="14" font-weight="600">${esc(title)}</text>${body}</svg>`;
}

const text = (x: number, y: number, s: string, attrs = ''): string => `<text x="${r1(x)}" y="${r1(y)}"${attrs ? ' ' + attrs : ''}>${esc(s)}</text>`;

/** A symmetric diverging scale over [−m, m]; values beyond are clamped, NaN is `MISSING`. */
export function divergingScale(m: number): (v: number) => string {
  const a = m > 0 && Number.isFinite(m) ? m : 1;
  const s = scaleDiverging(interpolateRdBu).domain([-a, 0, a]);
  return (v) => (Number.isNaN(v) ? MISSING : s(Math.max(-a, Math.min(a, v))));
}

/** Black or white, whichever reads on `fill`. */
function contrast(fill: string): string {
  const c = rgb(fill);
  return 0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b > 140 ? '#111' : '#fff';
}

export interface MapCell {
  layer: number;
  head: number;
  value: number;
  /** the hover text */
  title: string;
  /** drawn with a dot (significant, or CI excluding 0) */
  mark: boolean;
}

export interface MapOptions {
  key: string;
  title: string;
  desc: string;
  L: number;
  H: number;
  panels: { title: string; cells: MapCell[] }[];
  /** half-width of the symmetric colour domain */
  m: number;
  barLabel: string;
  /** what the top (+m) and bottom (−m) ends of the colour bar mean */
  barEnds: [string, string];
  /** what a dot means (shown under the maps) */
  markNote: string;
}

/** Layer × head maps side by side with one shared vertical colour bar. */
export function heatmapFigure(o: MapOptions): string {
  const id = idOf(o.key), nP = o.panels.length;
  const L = Math.max(1, o.L), H = Math.max(1, o.H);
  const c = Math.max(8, Math.min(36, Math.floor(860 / (L * nP)), Math.floor(320 / H))); // cell size, px
  const left = 58, top = 60, gap = 40, pw = L * c, ph = H * c;
  const barX = left + nP * pw + (nP - 1) * gap + 28, barH = Math.max(ph, 120);
  const endsW = Math.max(...o.barEnds.map((s) => textWidth(s, 10)));
  const width = Math.max(barX + 48 + Math.max(endsW - 40, 0) + 24, textWidth(o.title, 14) * 1.1 + 30, textWidth(o.markNote, 10) + 30);
  const height = top + barH + 62;
  const m = o.m > 0 && Number.isFinite(o.m) ? o.m : 1; // an all-zero map still gets a bar
  const color = divergingScale(m);
  const step = (size: number) => (size >= 18 ? 1 : size >= 10 ? 2 : 5); // label every k-th row/column
  let body = '';
  o.panels.forEach((p, k) => {
    const x0 = left + k * (pw + gap);
    if (nP > 1) body += text(x0 + pw / 2, top - 10, p.title, 'text-anchor="middle" font-weight="600"');
    const byCell = new Map(p.cells.map((cell) => [`${cell.layer}.${cell.head}`, cell]));
    for (let l = 0; l < L; l++) {
      for (let h = 0; h < H; h++) {
        const cell = byCell.get(`${l}.${h}`);
        const fill = cell ? color(cell.value) : MISSING;
        const [x, y] = [x0 + l * c, top + h * c];
        body += `<rect x="${r1(x)}" y="${r1(y)}" width="${c}" height="${c}" fill="${fill}" stroke="#fff" stroke-width="0.5"><title>${esc(cell ? cell.title : `layer ${l}, head ${h}: no data`)}</title></rect>`;
        if (cell?.mark) body += `<circle cx="${r1(x + c / 2)}" cy="${r1(y + c / 2)}" r="${r1(Math.max(1.5, c * 0.16))}" fill="${contrast(fill)}" pointer-events="none"/>`;
      }
    }
    body += `<rect x="${r1(x0)}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="${MUTED}" stroke-width="0.75"/>`;
    for (let l = 0; l < L; l += step(c)) body += text(x0 + l * c + c / 2, top + ph + 13, String(l), 'text-anchor="middle"');
    body += text(x0 + pw / 2, top + ph + 30, 'layer', 'text-anchor="middle"');
    if (k === 0) {
      for (let h = 0; h < H; h += step(c)) body += text(x0 - 6, top + h * c + c / 2 + 4, String(h), 'text-anchor="end"');
      body += text(-(top + ph / 2), 22, 'head', 'text-anchor="middle" transform="rotate(-90)"');
    }
  });
  // the colour bar: +m at the top, −m at the bottom, 0 in the middle
  const gid = `${id}-grad`;
  let stops = '';
  for (let i = 0; i <= 10; i++) stops += `<stop offset="${i / 10}" stop-color="${color(-m + (2 * m * i) / 10)}"/>`;
  body += `<defs><linearGradient id="${gid}" x1="0" y1="1" x2="0" y2="0">${stops}</linearGradient></defs>`;
  body += `<rect x="${r1(barX)}" y="${top}" width="12" height="${barH}" fill="url(#${gid})" stroke="${MUTED}" stroke-width="0.5"/>`;
  const bar = scaleLinear().domain([-m, m]).range([top + barH, top]);
  for (const t of bar.ticks(5)) {
    const y = bar(t);
    body += `<line x1="${r1(barX + 12)}" x2="${r1(barX + 16)}" y1="${r1(y)}" y2="${r1(y)}" stroke="${MUTED}"/>` + text(barX + 19, y + 4, fmt(t));
  }
  body += text(barX, top - 22, o.barLabel, 'font-weight="600"');
  body += text(barX, top - 8, o.barEnds[0], `font-size="10" fill="${MUTED}"`) + text(barX, top + barH + 14, o.barEnds[1], `font-size="10" fill="${MUTED}"`);
  body += text(left, height - 10, o.markNote, `font-size="10" fill="${MUTED}"`);
  return svgRoot(id, width, height, o.title, o.desc, body);
}

export interface Series {
  label: string;
  color: string;
  dashed: boolean;
  /** [x] values; non-finite values break the line */
  y: number[];
  /** [x] (low, high) band, drawn translucent */
  band?: [number, number][];
  /** hover text of point i */
  pointTitle: (i: number) => string;
}

export interface LineOptions {
  key: string;
  title: string;
  desc: string;
  xLabels: string[];
  xTitle: string;
  yTitle: string;
  series: Series[];
  y: 'linear' | 'symlog';
  /** a dashed horizontal reference line */
  ref?: { y: number; label: string };
}

/** Runs of consecutive indices where `ok(i)` holds. */
function runs(n: number, ok: (i: number) => boolean): number[][] {
  const out: number[][] = [];
  let cur: number[] = [];
  for (let i = 0; i < n; i++) {
    if (ok(i)) cur.push(i);
    else if (cur.length) (out.push(cur), (cur = []));
  }
  if (cur.length) out.push(cur);
  return out;
}

/** Curves over the L + 1 points of the residual stream, with bands, a legend above the plot and hover points. */
export function lineFigure(o: LineOptions): string {
  const id = idOf(o.key), n = o.xLabels.length;
  const width = Math.max(640, textWidth(o.title, 14) * 1.1 + 30), height = 380;
  const left = 70, right = 24, top = 66, bottom = 58, pw = width - left - right, ph = height - top - bottom;
  const x = scaleLinear().domain([0, Math.max(1, n - 1)]).range([left, left + pw]);
  const vals = o.series.flatMap((s) => [...s.y, ...(s.band ?? []).flat()]).filter((v) => Number.isFinite(v));
  let y: (v: number) => number, ticks: number[];
  if (o.y === 'symlog') {
    // rank 0 (the top token) sits on the axis; decades 1, 10, 100 … above it
    const top10 = 10 ** Math.max(1, Math.ceil(Math.log10(Math.max(1, ...vals))));
    const s = scaleSymlog().constant(1).domain([0, top10]).range([top + ph, top]);
    (y = (v) => s(v)), (ticks = [0, ...Array.from({ length: Math.round(Math.log10(top10)) + 1 }, (_, k) => 10 ** k)]);
  } else {
    const s = scaleLinear().domain(vals.length ? [Math.min(...vals, o.ref?.y ?? Infinity), Math.max(...vals, o.ref?.y ?? -Infinity)] : [0, 1]).nice().range([top + ph, top]);
    (y = (v) => s(v)), (ticks = s.ticks(6));
  }
  let body = '';
  for (const t of ticks) body += `<line x1="${left}" x2="${r1(left + pw)}" y1="${r1(y(t))}" y2="${r1(y(t))}" stroke="${GRID}"/>` + text(left - 6, y(t) + 4, o.y === 'symlog' ? String(t) : fmt(t), 'text-anchor="end"');
  const xStep = Math.ceil(n / Math.max(1, Math.floor(pw / 34)));
  for (let i = 0; i < n; i += xStep) body += `<line x1="${r1(x(i))}" x2="${r1(x(i))}" y1="${r1(top + ph)}" y2="${r1(top + ph + 4)}" stroke="${MUTED}"/>` + text(x(i), top + ph + 16, o.xLabels[i], 'text-anchor="middle"');
  body += `<rect x="${left}" y="${top}" width="${r1(pw)}" height="${r1(ph)}" fill="none" stroke="${MUTED}" stroke-width="0.75"/>`;
  body += text(left + pw / 2, height - 14, o.xTitle, 'text-anchor="middle"');
  body += text(-(top + ph / 2), 18, o.yTitle, 'text-anchor="middle" transform="rotate(-90)"');
  if (o.ref) body += `<line x1="${left}" x2="${r1(left + pw)}" y1="${r1(y(o.ref.y))}" y2="${r1(y(o.ref.y))}" stroke="${MUTED}" stroke-dasharray="2 3"/>` + text(left + pw - 4, y(o.ref.y) - 4, o.ref.label, `text-anchor="end" font-size="10" fill="${MUTED}"`);
  for (const s of o.series) {
    const band = s.band;
    if (band) {
      for (const run of runs(n, (i) => Number.isFinite(band[i]?.[0]) && Number.isFinite(band[i]?.[1]))) {
        const pts = [...run.map((i) => `${r1(x(i))},${r1(y(band[i][1]))}`), ...[...run].reverse().map((i) => `${r1(x(i))},${r1(y(band[i][0]))}`)];
        body += `<polygon points="${pts.join(' ')}" fill="${s.color}" fill-opacity="0.16" stroke="none"/>`;
      }
    }
    for (const run of runs(n, (i) => Number.isFinite(s.y[i]))) {
      body += `<polyline points="${run.map((i) => `${r1(x(i))},${r1(y(s.y[i]))}`).join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 3"' : ''}/>`;
      for (const i of run) {
        const [cx, cy] = [x(i), y(s.y[i])];
        const shape = s.dashed ? `<rect x="${r1(cx - 3.5)}" y="${r1(cy - 3.5)}" width="7" height="7"` : `<circle cx="${r1(cx)}" cy="${r1(cy)}" r="3.5"`;
        body += `${shape} fill="${s.color}" stroke="#fff" stroke-width="1"><title>${esc(s.pointTitle(i))}</title>${s.dashed ? '</rect>' : '</circle>'}`;
      }
    }
  }
  // legend: one entry per series, in a row above the plot
  let lx = left;
  for (const s of o.series) {
    body += `<line x1="${r1(lx)}" x2="${r1(lx + 26)}" y1="42" y2="42" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 3"' : ''}/>`;
    body += s.band ? `<rect x="${r1(lx)}" y="36" width="26" height="12" fill="${s.color}" fill-opacity="0.16"/>` : '';
    body += text(lx + 32, 46, s.label);
    lx += 32 + textWidth(s.label, 11) + 22;
  }
  if (o.series.some((s) => s.band)) body += text(lx, 46, '(band: 95% CI)', `fill="${MUTED}" font-size="10"`);
  if (!vals.length) body += text(left + pw / 2, top + ph / 2, 'no data', `text-anchor="middle" fill="${MUTED}"`);
  return svgRoot(id, width, height, o.title, o.desc, body);
}

// ---- the report's figures, from its data ----

/** What each statistic measures (captions and hover text). resid:<stat> is described from <stat>. */
export const STAT_TEXT: Record<string, string> = {
  entropy: 'attention entropy (nats)',
  entropyNorm: 'attention entropy / ln(visible keys) (1 = uniform)',
  sink: 'attention mass on the first token (sink)',
  prevToken: 'attention mass on the previous token',
  selfMass: 'attention mass on the query itself',
  maxProb: 'largest attention weight',
  distance: 'mean distance to the attended keys (tokens)',
  relDistance: 'mean distance / query position (0 = self, 1 = first token)',
  induction: 'mass on the tokens after earlier copies of the query token (induction)',
};

export function statText(stat: string): string {
  if (stat.startsWith('resid:')) return `${statText(stat.slice(6))}, minus its expected value at the query's position (log-position fit over both sets)`;
  if (stat.startsWith('mass:')) return `attention mass on "${stat.slice(5)}" tokens`;
  return STAT_TEXT[stat] ?? stat;
}

/** The file name of a statistic's map: `selectivity-<stat>.svg`, characters outside [A-Za-z0-9._-] → '-' (mass:numbers → mass-numbers). */
export const selectivityKey = (stat: string): string => `selectivity-${stat.replace(/[^A-Za-z0-9._-]/g, '-')}.svg`;

/** |d| beyond this saturates the colour of the selectivity maps. */
export const D_CAP = 3;
/** Smallest colour range: a map whose largest |d| is tiny is not painted as if it were large. */
export const D_MIN_RANGE = 0.5;

/** Layer × head map of Cohen's d of one statistic; dots: q < 0.05. */
export function selectivityFigure(data: ReportData, stat: string, rows: readonly SelectivityRow[]): string {
  const [A, B] = [data.tasks.a.label, data.tasks.b.label];
  const maxD = Math.max(0, ...rows.map((r) => Math.abs(r.d)).filter((d) => !Number.isNaN(d)));
  const m = Math.max(D_MIN_RANGE, Math.min(D_CAP, maxD));
  const cells: MapCell[] = rows.map((r) => ({
    layer: r.layer, head: r.head, value: r.d, mark: r.q < 0.05,
    title: `head ${r.layer}.${r.head}, ${stat}: d = ${fmt(r.d)}, 95% CI [${fmt(r.ciLow)}, ${fmt(r.ciHigh)}], p = ${fmtP(r.p)}, q = ${fmtP(r.q)}; mean ${A} ${fmt(r.meanA)}, ${B} ${fmt(r.meanB)} (n ${r.nA}, ${r.nB})`,
  }));
  return heatmapFigure({
    key: selectivityKey(stat), L: data.model.layers, H: data.model.heads, m,
    title: `${stat}: Cohen's d, ${A} vs ${B}`,
    desc: `Layer by head map of Cohen's d of ${statText(stat)} between ${A} (positive, blue) and ${B} (negative, red); colour saturates at |d| = ${fmt(m)}; a dot marks q < 0.05 (Benjamini-Hochberg over the heads).`,
    panels: [{ title: stat, cells }],
    barLabel: "Cohen's d", barEnds: [`higher on ${A}`, `higher on ${B}`],
    markNote: `dot: q < 0.05 (BH over the ${rows.length} heads); grey: no data${maxD > D_CAP ? `; colour capped at |d| = ${D_CAP}` : ''}`,
  });
}

/** Lens x labels: "embed" (blocks.0.hook_resid_pre), then the block whose output it is: "0" … "L−1" (blocks.k.hook_resid_post). */
export const lensLabels = (L: number): string[] => ['embed', ...Array.from({ length: L }, (_, k) => String(k))];
export const LENS_X_TITLE = 'residual stream after block (embed: before block 0)';

/** lens.svg (mean log-prob with CI bands) and lens-rank.svg (mean rank, symlog y). */
export function lensFigures(data: ReportData): Record<string, string> {
  const L = data.model.layers, xs = lensLabels(L);
  const tasks: [string, LensCurve, string, boolean][] = [[data.tasks.a.label, data.lens.a, COLOR_A, false], [data.tasks.b.label, data.lens.b, COLOR_B, true]];
  const where = (i: number) => (i === 0 ? 'embedding' : `after block ${i - 1}`);
  const lp = lineFigure({
    key: 'lens.svg', xLabels: xs, xTitle: LENS_X_TITLE, yTitle: "mean log-prob of the answer's tokens", y: 'linear',
    title: "Logit lens: log-prob of the final answer's tokens by layer",
    desc: `Mean log-probability the logit lens gives the final answer's tokens at each point of the residual stream, for ${tasks.map(([l, c]) => `${l} (n = ${c.n})`).join(' and ')}, with 95% bootstrap CI bands.`,
    series: tasks.map(([label, c, color, dashed]) => ({
      label: `${label} (n = ${c.n})`, color, dashed, y: c.logprob, band: c.logprobCi,
      pointTitle: (i) => `${label}, ${where(i)}: mean log-prob ${fmt(c.logprob[i])} [${fmt(c.logprobCi[i]?.[0])}, ${fmt(c.logprobCi[i]?.[1])}]`,
    })),
  });
  const rk = lineFigure({
    key: 'lens-rank.svg', xLabels: xs, xTitle: LENS_X_TITLE, yTitle: "mean rank of the answer's tokens (0 = top)", y: 'symlog', ref: { y: 1, label: 'rank 1' },
    title: "Logit lens: rank of the final answer's tokens by layer",
    desc: `Mean rank (0 = the top token; symmetric-log scale) of the final answer's tokens under the logit lens at each point of the residual stream, for ${tasks.map(([l]) => l).join(' and ')}.`,
    series: tasks.map(([label, c, color, dashed]) => ({ label: `${label} (n = ${c.n})`, color, dashed, y: c.rank, pointTitle: (i) => `${label}, ${where(i)}: mean rank ${fmt(c.rank[i])}` })),
  });
  return { 'lens.svg': lp, 'lens-rank.svg': rk };
}

const effectTitle = (label: string, e: HeadEffect) => `head ${e.layer}.${e.head}, ${label}: mean change of the answer log-prob ${fmt(e.mean)}, 95% CI [${fmt(e.ci[0])}, ${fmt(e.ci[1])}], n = ${e.n}`;
const maxAbs = (xs: number[]) => Math.max(0, ...xs.filter((v) => Number.isFinite(v)).map(Math.abs));

/** ablation.svg (task A and B side by side, one colour bar) and ablation-diff.svg (A − B). */
export function ablationFigures(data: ReportData): Record<string, string> {
  const [A, B] = [data.tasks.a.label, data.tasks.b.label];
  const { layers: L, heads: H } = data.model;
  const how = data.reproduce.ablation === 'mean' ? "set to its mean over the set" : 'set to zero';
  const cells = (label: string, es: HeadEffect[]): MapCell[] =>
    es.map((e) => ({ layer: e.layer, head: e.head, value: e.mean, mark: e.ci[0] > 0 || e.ci[1] < 0, title: effectTitle(label, e) }));
  const m = maxAbs([...data.ablation.a, ...data.ablation.b].map((e) => e.mean));
  const both = heatmapFigure({
    key: 'ablation.svg', L, H, m,
    title: `Head ablation: change of the answer's log-prob, ${A} | ${B}`,
    desc: `Mean over prompts of (ablated − base) log-probability of the final answer when one head's output (hook_z) is ${how}, per layer and head, for ${A} (left) and ${B} (right). Negative (red): the head helps the answer.`,
    panels: [{ title: A, cells: cells(A, data.ablation.a) }, { title: B, cells: cells(B, data.ablation.b) }],
    barLabel: 'Δ log-prob', barEnds: ['ablating helps', 'the head helps (ablating hurts)'],
    markNote: `dot: 95% CI excludes 0; head output ${how}; grey: no data`,
  });
  const bOf = new Map(data.ablation.b.map((e) => [`${e.layer}.${e.head}`, e]));
  const diff: MapCell[] = data.ablation.a.flatMap((a) => {
    const b = bOf.get(`${a.layer}.${a.head}`);
    return b ? [{ layer: a.layer, head: a.head, value: a.mean - b.mean, mark: false, title: `head ${a.layer}.${a.head}: ${A} ${fmt(a.mean)} − ${B} ${fmt(b.mean)} = ${fmt(a.mean - b.mean)}` }] : [];
  });
  const dd = heatmapFigure({
    key: 'ablation-diff.svg', L, H, m: maxAbs(diff.map((c) => c.value)),
    title: `Head ablation: ${A} − ${B}`,
    desc: `Difference of the mean ablation effects (${A} minus ${B}) per layer and head. Negative (red): ablating the head hurts ${A} more than ${B}.`,
    panels: [{ title: `${A} − ${B}`, cells: diff }],
    barLabel: 'Δ log-prob, A − B', barEnds: [`hurts ${B} more`, `hurts ${A} more`],
    markNote: `A = ${A}, B = ${B}; grey: no data`,
  });
  return { 'ablation.svg': both, 'ablation-diff.svg': dd };
}
