// The interpretability report (issue 12, item 6): ReportData (report-data.ts) → one self-contained HTML
// page and its figures as standalone SVG files. Pure TypeScript, no DOM and no node: imports, so `lab
// analyze report` (Node) and the page (browser) render the same bytes from the same report.json.
//
// The page: CSS inline, every SVG inlined, no script, no external fetch (a Content-Security-Policy meta
// forbids any), printable. Every text from the data is escaped (esc), numbers have 3 significant digits,
// p- and q-values below 0.001 read "<0.001". Sections: header (model, adapter, date, how to reproduce),
// prompt sets (with their provenance records), task-selective heads (ranked table, maps), where the
// answer forms (logit lens), which heads the answer needs (ablation), example prompts, and the data-
// governance footer.
import type { HeadEffect, LensCurve, ReportData, ReportTaskSet } from './report-data.ts';
import type { SelectivityRow } from './selectivity.ts';
import { ablationFigures, esc, fmt, fmtP, lensFigures, selectivityFigure, selectivityKey, statText } from './report-figures.ts';

export { selectivityKey } from './report-figures.ts';

export interface RenderedReport {
  /** the whole page */
  html: string;
  /** file name → standalone SVG (selectivity-<stat>.svg, lens.svg, lens-rank.svg, ablation.svg, ablation-diff.svg) */
  figures: Record<string, string>;
}

/** The raw statistics the report maps and ranks (with every mass:<class>); resid: ones follow. */
export const MAIN_STATS = ['entropyNorm', 'sink', 'prevToken', 'relDistance', 'induction'];
/** The position-controlled statistics that get a map (every resid: one is ranked). */
export const MAPPED_RESID = ['resid:entropy', 'resid:distance'];
/** BH q below this marks a head significant. */
export const ALPHA = 0.05;

/** Statistics present in the data, in report order: main raw, mass:<class>, then the given resid: ones. */
function statsIn(sel: Record<string, SelectivityRow[]>, resid: (s: string) => boolean): string[] {
  const keys = Object.keys(sel);
  return [...MAIN_STATS.filter((s) => keys.includes(s)), ...keys.filter((s) => s.startsWith('mass:')), ...keys.filter((s) => s.startsWith('resid:') && resid(s))];
}
/** Statistics with a map (figure). */
export const mappedStats = (d: ReportData): string[] => statsIn(d.selectivity, (s) => MAPPED_RESID.includes(s));
/** Statistics of the ranked table. */
export const rankedStats = (d: ReportData): string[] => statsIn(d.selectivity, () => true);

/** The first lens point (0 = embed, k = after block k−1) whose mean rank is below 1, or −1. */
export const firstTopLayer = (c: LensCurve): number => c.rank.findIndex((r) => r < 1);

export function renderReport(data: ReportData): RenderedReport {
  if (data?.schema !== 'lab-analysis-report-v1') throw new Error(`renderReport: expected a report of schema lab-analysis-report-v1, got ${String(data?.schema)}; make it again with \`lab analyze report\``);
  const figures: Record<string, string> = {};
  for (const stat of mappedStats(data)) figures[selectivityKey(stat)] = selectivityFigure(data, stat, data.selectivity[stat]);
  Object.assign(figures, lensFigures(data), ablationFigures(data));
  const [A, B] = [data.tasks.a.label, data.tasks.b.label];
  const title = `Attention across tasks: ${A} vs ${B}`;
  const body = [header(data, title), promptSets(data), selective(data, figures), lens(data, figures), ablation(data, figures), examples(data)].join('\n');
  const footer = `<footer><p><strong>Data governance.</strong> Derived from the prompt sets above; it inherits their terms.</p>` +
    `<p class="muted">Made by Stoney-RL Lab${data.reproduce.labCommit ? ` at ${esc(data.reproduce.labCommit)}` : ''} from report.json (schema ${esc(data.schema)}).</p></footer>`;
  const html = `<!doctype html>\n<html lang="en"><head><meta charset="utf-8">` +
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)}</title><style>${CSS}</style></head>\n` +
    `<body><main>\n${body}\n</main>${footer}</body></html>\n`;
  return { html, figures };
}

/** A standalone SVG inlined in HTML: the xmlns is implied there (and keeps the page free of URLs). */
const inline = (svg: string) => svg.replace(' xmlns="http://www.w3.org/2000/svg"', '');
/** A figure with its caption; `sized`: as wide as the SVG (so small maps sit side by side and captions wrap under them). */
const figure = (figs: Record<string, string>, key: string, caption: string, sized = false) =>
  `<figure${sized ? ` style="width:${/ width="([\d.]+)"/.exec(figs[key])?.[1] ?? 600}px"` : ''}>${inline(figs[key])}<figcaption>${caption} <span class="muted">(${esc(key)})</span></figcaption></figure>`;
/** A table: header cells (already HTML) and rows of cells (already HTML); `num` marks right-aligned columns. */
function table(caption: string, head: string[], rows: string[][], num: number[] = [], rowClass: (i: number) => string = () => ''): string {
  const th = head.map((h, j) => `<th scope="col"${num.includes(j) ? ' class="num"' : ''}>${h}</th>`).join('');
  const tr = rows.map((r, i) => `<tr${rowClass(i) ? ` class="${rowClass(i)}"` : ''}>${r.map((c, j) => `<td${num.includes(j) ? ' class="num"' : ''}>${c}</td>`).join('')}</tr>`).join('\n');
  return `<table><caption>${caption}</caption><thead><tr>${th}</tr></thead><tbody>\n${tr || `<tr><td colspan="${head.length}">no rows</td></tr>`}\n</tbody></table>`;
}
const ci = (lo: number, hi: number) => `[${fmt(lo)}, ${fmt(hi)}]`;
const dateOf = (s: string) => {
  const t = Date.parse(s);
  return Number.isFinite(t) ? new Date(t).toISOString().slice(0, 16).replace('T', ' ') + ' UTC' : s;
};

function header(d: ReportData, title: string): string {
  const r = d.reproduce, m = d.model;
  const secs = Object.entries(d.seconds ?? {}).map(([k, v]) => `${esc(k)} ${fmt(v)} s`).join(', ');
  return `<header><h1>${esc(title)}</h1>
<dl class="meta"><dt>Model</dt><dd>${esc(m.name)} <span class="muted">(${esc(m.layers)} layers × ${esc(m.heads)} heads, d_model ${esc(m.dModel)}, vocabulary ${esc(m.vocab)})</span></dd>
<dt>Adapter</dt><dd>${d.adapter ? esc(d.adapter.name) : 'base model'}</dd>
<dt>Date</dt><dd>${esc(dateOf(d.createdAt))}</dd>
<dt>Tasks</dt><dd>A = ${esc(d.tasks.a.label)}, B = ${esc(d.tasks.b.label)}; queries: ${esc(r.queries)}</dd></dl>
<section class="repro" aria-labelledby="repro-h"><h2 id="repro-h">Reproduce</h2><pre>${esc(r.command)}</pre>
<p>seed ${esc(r.seed)} · bootstrap resamples ${esc(r.nBoot)} · permutations ${esc(r.nPerm)} · ablation ${esc(r.ablation)} · lab commit ${r.labCommit ? `<code>${esc(r.labCommit)}</code>` : 'not recorded'}${secs ? ` · time: ${secs}` : ''}</p></section>
<nav aria-label="Sections"><a href="#sets">Prompt sets</a> · <a href="#heads">Task-selective heads</a> · <a href="#lens">Where the answer forms</a> · <a href="#ablation">Which heads the answer needs</a> · <a href="#examples">Example prompts</a></nav></header>`;
}

/** A provenance value on one line: strings as they are, the rest as JSON, long values cut. */
const provValue = (v: unknown) => {
  const s = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
  return esc(s.length > 240 ? s.slice(0, 239) + '…' : s);
};
const KEY_FIELDS = ['generator', 'license', 'permission_status'];
function provenance(p: Record<string, unknown> | null): string {
  if (!p) return '<span class="warn">no provenance record</span>';
  const keys = [...KEY_FIELDS.filter((k) => k in p), ...Object.keys(p).filter((k) => !KEY_FIELDS.includes(k))];
  if (!keys.length) return '<span class="warn">empty provenance record</span>';
  return `<dl class="prov">${keys.map((k) => `<dt${KEY_FIELDS.includes(k) ? ' class="key"' : ''}>${esc(k)}</dt><dd>${provValue(p[k])}</dd>`).join('')}</dl>`;
}

function promptSets(d: ReportData): string {
  const row = (t: ReportTaskSet, which: string) => [`${which}: ${esc(t.label)}`, `<code>${esc(t.file)}</code>`, `${esc(t.n)} of ${esc(t.rows)}`, `<code title="${esc(t.sha256)}">${esc(t.sha256.slice(0, 12))}</code>`, provenance(t.provenance)];
  return `<section id="sets"><h2>Prompt sets</h2>
${table('The two prompt sets: rows used of rows in the file, the file\'s sha256 (first 12 hex digits; hover for all) and its provenance record.', ['Task', 'File', 'Rows used', 'sha256', 'Provenance'], [row(d.tasks.a, 'A'), row(d.tasks.b, 'B')], [2])}</section>`;
}

function selective(d: ReportData, figs: Record<string, string>): string {
  const [A, B] = [esc(d.tasks.a.label), esc(d.tasks.b.label)];
  const all = rankedStats(d).flatMap((stat) => d.selectivity[stat].filter((r) => !Number.isNaN(r.d)).map((r) => ({ stat, r })));
  const top = all.sort((x, y) => Math.abs(y.r.d) - Math.abs(x.r.d) || x.r.q - y.r.q).slice(0, 15);
  const rows = top.map(({ stat, r }, i) => [String(i + 1), esc(`${r.layer}.${r.head}`), `<span title="${esc(statText(stat))}">${esc(stat)}</span>`, fmt(r.meanA), fmt(r.meanB), fmt(r.d), ci(r.ciLow, r.ciHigh), esc(fmtP(r.p)), esc(fmtP(r.q)), r.q < ALPHA ? '<strong>yes</strong>' : 'no']);
  const nSig = all.filter(({ r }) => r.q < ALPHA).length;
  const maps = mappedStats(d).map((s) => figure(figs, selectivityKey(s), `<strong>${esc(s)}</strong>: ${esc(statText(s))}. Blue: higher on ${A}; red: higher on ${B}.`, true)).join('\n');
  return `<section id="heads"><h2>Task-selective heads</h2>
<p>For each head and statistic, Cohen's <em>d</em> compares the per-prompt values on ${A} (A) with those on ${B} (B): positive <em>d</em> means the statistic is larger on ${A}. The 95% CI is a percentile bootstrap, <em>p</em> a two-sided permutation test and <em>q</em> the Benjamini–Hochberg q-value over the heads of that statistic; a head is marked significant at q &lt; ${ALPHA}. Of the ${all.length} head–statistic pairs, ${nSig} ${nSig === 1 ? 'is' : 'are'} significant.</p>
<p><strong>Raw and position-controlled statistics.</strong> Raw statistics average the attention rows as they are, and several depend on where the query sits: a later query sees more keys, so its entropy is higher and its mass on any one key lower. The Velmic puzzles are longer than the arithmetic problems, so a raw difference between the sets can be a length effect. <code>entropyNorm</code> and <code>relDistance</code> are normalised by the visible keys; <code>resid:&lt;stat&gt;</code> is the statistic minus its expected value at the query's position (a log-position fit pooled over both sets), so it compares the tasks at equal positions. A head selective on the raw statistic but not on its <code>resid:</code> form is more likely a length effect than a task effect.</p>
${table(`The ${top.length} head-statistic pairs with the largest |d| (raw statistics and resid: ones).`, ['#', 'Head (layer.head)', 'Statistic', `Mean ${A}`, `Mean ${B}`, 'd', '95% CI', 'p', 'q', `q &lt; ${ALPHA}`], rows, [0, 3, 4, 5, 7, 8], (i) => (top[i].r.q < ALPHA ? 'sig' : ''))}
<h3>Maps</h3>
<p class="muted">Layer × head maps of Cohen's <em>d</em>, one per statistic; the colour is capped at |d| = 3; a dot marks q &lt; ${ALPHA}. Hover a cell for its numbers.</p>
${maps ? `<div class="maps">${maps}</div>` : '<p>No selectivity statistics in this report.</p>'}</section>`;
}

function lens(d: ReportData, figs: Record<string, string>): string {
  const sentence = (label: string, c: LensCurve) => {
    if (!c.rank.length || c.n === 0) return `<li><strong>${esc(label)}</strong>: no prompt had a final answer to read.</li>`;
    const k = firstTopLayer(c);
    const where = k < 0 ? `does not drop below 1 within the model (after the last block it is ${fmt(c.rank[c.rank.length - 1])})` : k === 0 ? 'is already below 1 at the embedding (before block 0)' : `first drops below 1 after block ${k - 1} (<code>blocks.${k - 1}.hook_resid_post</code>)`;
    return `<li><strong>${esc(label)}</strong> (n = ${esc(c.n)}): the mean rank of the answer's tokens ${where}.</li>`;
  };
  return `<section id="lens"><h2>Where the answer forms</h2>
<p>The logit lens reads the residual stream at each layer through the final norm and the unembedding, at the positions that predict the final answer's tokens (after the last <code>####</code>, teacher-forced). "embed" is the input to block 0; <em>k</em> is the output of block <em>k</em>.</p>
<ul>${sentence(d.tasks.a.label, d.lens.a)}${sentence(d.tasks.b.label, d.lens.b)}</ul>
${figure(figs, 'lens.svg', 'Mean log-probability of the final answer\'s tokens by layer, with 95% bootstrap CI bands.')}
${figure(figs, 'lens-rank.svg', 'Mean rank of the final answer\'s tokens by layer (0 = the top token; symmetric-log scale); the dotted line is rank 1.')}</section>`;
}

function ablation(d: ReportData, figs: Record<string, string>): string {
  const how = d.reproduce.ablation === 'mean' ? 'set to its mean over the prompt set' : 'set to zero';
  const topTable = (label: string, es: HeadEffect[]) => {
    const top = es.filter((e) => Number.isFinite(e.mean)).sort((x, y) => Math.abs(y.mean) - Math.abs(x.mean)).slice(0, 10);
    return table(`${esc(label)}: the ${top.length} heads with the largest |mean effect|`, ['#', 'Head', 'Mean Δ log-prob', '95% CI', 'n'], top.map((e, i) => [String(i + 1), esc(`${e.layer}.${e.head}`), fmt(e.mean), ci(e.ci[0], e.ci[1]), esc(e.n)]), [0, 2, 4]);
  };
  return `<section id="ablation"><h2>Which heads the answer needs</h2>
<p>Each head's output (<code>hook_z</code>) is ${how}, one head at a time, and the summed log-probability of the final answer's tokens is compared with the unablated model on the same prompt. The effect is the mean over prompts of (ablated − base), with a 95% bootstrap CI: negative means the head helps the answer.</p>
${figure(figs, 'ablation.svg', `Mean ablation effect per head on ${esc(d.tasks.a.label)} (left) and ${esc(d.tasks.b.label)} (right), one colour scale; a dot marks a CI that excludes 0.`)}
${figure(figs, 'ablation-diff.svg', `Difference of the mean effects, ${esc(d.tasks.a.label)} − ${esc(d.tasks.b.label)}: red heads matter more for ${esc(d.tasks.a.label)}, blue for ${esc(d.tasks.b.label)}.`)}
<div class="pair">${topTable(d.tasks.a.label, d.ablation.a)}${topTable(d.tasks.b.label, d.ablation.b)}</div></section>`;
}

function examples(d: ReportData): string {
  const one = (t: ReportTaskSet) => `<h3>${esc(t.label)}</h3>` + (t.examples.length ? t.examples.map((e) => `<pre class="example">${esc(e)}</pre>`).join('\n') : '<p class="muted">no examples recorded</p>');
  return `<section id="examples"><h2>Example prompts</h2>${one(d.tasks.a)}\n${one(d.tasks.b)}</section>`;
}

const CSS = `
:root{color-scheme:light;--ink:#1f2933;--muted:#52606d;--line:#d9e2ec;--bg:#f5f7fa}
*{box-sizing:border-box}
body{margin:0;font:14px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:var(--ink);background:#fff}
main,footer{max-width:1100px;margin:0 auto;padding:0 24px}
h1{font-size:24px;margin:24px 0 8px}h2{font-size:19px;margin:32px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}h3{font-size:15px;margin:20px 0 6px}
.muted{color:var(--muted)}.warn{color:#a61b1b;font-weight:600}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
pre{background:var(--bg);border:1px solid var(--line);border-radius:4px;padding:8px 10px;white-space:pre-wrap;word-break:break-word;margin:6px 0}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:8px 0}dl.meta dt{font-weight:600}dl.meta dd{margin:0}
dl.prov{display:grid;grid-template-columns:max-content 1fr;gap:0 10px;margin:0;font-size:12.5px}dl.prov dt{color:var(--muted)}dl.prov dt.key{color:var(--ink);font-weight:600}dl.prov dd{margin:0;word-break:break-word}
nav{margin:12px 0;font-size:13px}nav a{color:#1d4f91}
table{border-collapse:collapse;margin:10px 0;font-size:13px;width:100%}
caption{text-align:left;color:var(--muted);padding:4px 0;caption-side:top}
th,td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{background:var(--bg);font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.sig td{background:#eef6ff}tr.sig td:last-child{color:#0b4f9c}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:24px}
figure{margin:14px 0}.maps{display:flex;flex-wrap:wrap;gap:0 28px}.maps figure{flex:0 1 auto;max-width:100%}figure svg{max-width:100%;height:auto;display:block}
figcaption{font-size:13px;color:var(--ink);margin-top:4px}
footer{margin-top:36px;padding-top:10px;padding-bottom:24px;border-top:1px solid var(--line);font-size:13px}
@media (max-width:760px){.pair{grid-template-columns:1fr}}
@media print{body{font-size:11pt}main,footer{max-width:none;padding:0}nav{display:none}figure,table,pre,.repro{break-inside:avoid}h2,h3{break-after:avoid}a{color:inherit;text-decoration:none}}
@page{margin:16mm}
`;
