// report.ts: a synthetic report (2 layers × 3 heads) rendered to HTML and SVG; checks that every figure
// is there and well-formed (a small XML tag-balance checker: Node has no DOMParser), that the page
// carries the labels, model, command and the crafted significant head, escapes hostile labels, fetches
// nothing (no http(s) URL of its own), and says when a prompt set has no provenance record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReportData } from './report-data.ts';
import type { SelectivityRow } from './selectivity.ts';
import { renderReport, selectivityKey, firstTopLayer } from './report.ts';
import { fmt, fmtP } from './report-figures.ts';

const L = 2, H = 3;

/** A row per head; `crafted` overrides one head. */
function rows(seed: number, crafted?: { layer: number; head: number } & Partial<SelectivityRow>): SelectivityRow[] {
  return Array.from({ length: L * H }, (_, i) => {
    const [layer, head] = [Math.floor(i / H), i % H];
    const d = Math.sin(seed + i) * 0.8; // |d| < 0.8: never outranks the crafted rows
    const base: SelectivityRow = { layer, head, nA: 20, nB: 20, meanA: 0.3 + d / 10, meanB: 0.3, sdPooled: 0.1, d, ciLow: d - 0.5, ciHigh: d + 0.5, p: 0.3, q: 0.6, pHolm: 1 };
    return crafted && crafted.layer === layer && crafted.head === head ? { ...base, ...crafted } : base;
  });
}

function sample(over: Partial<ReportData> = {}): ReportData {
  const lensCurve = (shift: number) => ({
    logprob: [-9, -5 + shift, -1 + shift],
    logprobCi: [[-9.5, -8.5], [-5.5 + shift, -4.5 + shift], [-1.2 + shift, -0.8 + shift]] as [number, number][],
    rank: [900, 4 + shift, 0.2],
    n: 12,
  });
  const effects = (k: number) => Array.from({ length: L * H }, (_, i) => ({ layer: Math.floor(i / H), head: i % H, mean: -k * (i + 1) / 10, ci: [-k * (i + 1) / 10 - 0.05, -k * (i + 1) / 10 + 0.05] as [number, number], n: 12 }));
  return {
    schema: 'lab-analysis-report-v1',
    createdAt: '2026-12-20T10:30:00.000Z',
    reproduce: { command: 'lab analyze report --model tiny-llama --a velmic.jsonl --b arith.jsonl --seed 7', seed: 7, nBoot: 200, nPerm: 500, queries: 'answer', ablation: 'zero', labCommit: 'abc1234' },
    model: { name: 'tiny-llama-2x3', layers: L, heads: H, dModel: 48, vocab: 512 },
    adapter: null,
    tasks: {
      a: { label: 'Velmic', file: 'velmic.jsonl', n: 12, rows: 40, sha256: 'ab'.repeat(32), provenance: { generator: 'lab tasks', license: 'CC-BY-4.0', permission_status: 'own work', source: 'https://example.org/velmic-terms', seed: 3 }, examples: ['Translate: "tor velmi" -> ?\n#### mira'] },
      b: { label: 'arithmetic', file: 'arith.jsonl', n: 12, rows: 12, sha256: 'cd'.repeat(32), provenance: null, examples: ['What is 2 + 3 * 4?\n#### 14'] },
    },
    selectivity: {
      entropyNorm: rows(1, { layer: 1, head: 2, d: 2.5, ciLow: 1.4, ciHigh: 3.6, p: 0.0002, q: 0.0012, meanA: 0.71, meanB: 0.42 }),
      sink: rows(2),
      'mass:numbers': rows(3, { layer: 0, head: 1, d: -1.9, ciLow: -2.8, ciHigh: -1.1, p: 0.03, q: 0.09 }), // large but not significant
      'resid:entropy': rows(4),
      'resid:distance': rows(5, { layer: 0, head: 0, d: Infinity, ciLow: Infinity, ciHigh: Infinity, p: 0.001, q: 0.004 }),
      entropy: rows(6), // raw and unmapped: ranked? no (not a main statistic)
    },
    lens: { a: lensCurve(0), b: lensCurve(2) },
    ablation: { a: effects(1), b: effects(0.5) },
    seconds: { heads: 12.3, lens: 4.56, ablation: 30 },
    ...over,
  };
}

const VOID = new Set(['meta', 'br', 'hr', 'img', 'input', 'link', 'col', 'wbr']);

/** Throws unless `s` is a sequence of balanced tags with quoted attributes and only known entities. */
function checkMarkup(s: string, html = false): void {
  const stack: string[] = [];
  const tags = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+(?:="[^"<]*")?)*)\s*(\/?)>|<!doctype html>|<!--[\s\S]*?-->/gi;
  let last = 0;
  for (const m of s.matchAll(tags)) {
    const between = s.slice(last, m.index);
    assert.ok(!/[<>]/.test(between), `stray < or > in text before …${s.slice(Math.max(0, m.index! - 60), m.index! + 20)}`);
    for (const e of between.matchAll(/&[^;\s]*;?/g)) assert.match(e[0], /^&(amp|lt|gt|quot|#39|#\d+);$/, `entity ${e[0]}`);
    last = m.index! + m[0].length;
    if (!m[2]) continue;
    const [, close, name, , self] = m;
    for (const e of (m[3] ?? '').matchAll(/&[^;\s"]*;?/g)) assert.match(e[0], /^&(amp|lt|gt|quot|#39|#\d+);$/, `entity in attribute ${e[0]}`);
    if (self || (html && VOID.has(name.toLowerCase()))) continue;
    if (!close) stack.push(name);
    else assert.equal(stack.pop(), name, `</${name}> closes <${stack[stack.length]}> at …${s.slice(m.index!, m.index! + 60)}`);
  }
  assert.ok(!/[<>]/.test(s.slice(last)), 'stray < or > at the end');
  assert.deepEqual(stack, [], 'unclosed tags');
}

test('the tag checker catches unbalanced, unquoted and unescaped markup', () => {
  checkMarkup('<svg><g><rect x="1"/></g><text>a &amp; b</text></svg>');
  assert.throws(() => checkMarkup('<svg><g></svg>'));
  assert.throws(() => checkMarkup('<svg><text>a < b</text></svg>'));
  assert.throws(() => checkMarkup('<svg><text>a & b</text></svg>'));
  assert.throws(() => checkMarkup('<svg><rect x=1/></svg>'));
});

test('every figure is there, standalone and well-formed, with title, desc, viewBox, axis text and a sans-serif font', () => {
  const { figures } = renderReport(sample());
  const expected = ['entropyNorm', 'sink', 'mass:numbers', 'resid:entropy', 'resid:distance'].map(selectivityKey).concat(['lens.svg', 'lens-rank.svg', 'ablation.svg', 'ablation-diff.svg']);
  assert.deepEqual(Object.keys(figures).sort(), [...expected].sort());
  assert.ok(figures['selectivity-mass-numbers.svg'] && !Object.keys(figures).some((k) => k.includes(':')), 'file names have no ":"');
  for (const [key, svg] of Object.entries(figures)) {
    assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 '), key);
    assert.ok(svg.endsWith('</svg>'), key);
    checkMarkup(svg);
    assert.match(svg, /<title id="[^"]+">[^<]+<\/title><desc id="[^"]+">[^<]+<\/desc>/, key);
    assert.match(svg, /font-family="[^"]*sans-serif"/, key);
  }
  // maps: L·H cells with a hover title; the crafted significant head has a dot; axis labels; colour bar
  const ent = figures[selectivityKey('entropyNorm')];
  assert.equal((ent.match(/<rect [^>]*><title>head /g) ?? []).length, L * H);
  assert.equal((ent.match(/<circle /g) ?? []).length, 1, 'one head with q < 0.05');
  assert.match(ent, /head 1\.2, entropyNorm: d = 2\.5, 95% CI \[1\.4, 3\.6\], p = &lt;0\.001, q = 0\.0012/);
  for (const s of ['>layer<', '>head<', 'linearGradient', "Cohen&#39;s d"]) assert.ok(ent.includes(s), s);
  assert.ok(figures['ablation.svg'].includes('>Velmic<') && figures['ablation.svg'].includes('>arithmetic<'), 'two panels');
  assert.equal((figures['ablation.svg'].match(/linearGradient id=/g) ?? []).length, 1, 'one shared colour bar');
  for (const k of ['lens.svg', 'lens-rank.svg']) assert.ok(figures[k].includes('>embed<') && figures[k].includes('Velmic (n = 12)'), k);
  // ids never repeat across the inlined figures
  const ids = Object.values(figures).flatMap((s) => [...s.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]));
  assert.equal(new Set(ids).size, ids.length);
});

test('the page: labels, model, adapter, reproduce block, ranked heads, lens sentences, ablation tables, footer', () => {
  const { html, figures } = renderReport(sample());
  checkMarkup(html, true);
  for (const s of ['<title>Attention across tasks: Velmic vs arithmetic</title>', 'tiny-llama-2x3', 'base model', '2026-12-20 10:30 UTC', 'lab analyze report --model tiny-llama --a velmic.jsonl --b arith.jsonl --seed 7', 'abc1234',
    'Prompt sets', 'Task-selective heads', 'Where the answer forms', 'Which heads the answer needs', 'Derived from the prompt sets above; it inherits their terms.', 'CC-BY-4.0', 'own work', 'velmic.jsonl', '12 of 40', 'abababababab']) {
    assert.ok(html.includes(s), s);
  }
  // the ranked table: the crafted significant head first, the large non-significant one second and unmarked
  const ranked = html.slice(html.indexOf('<section id="heads">'), html.indexOf('<h3>Maps</h3>'));
  const trs = ranked.split('<tr').slice(2); // [0]: before the table, [1]: the header row
  assert.match(trs[0], /^ class="sig"><td class="num">1<\/td><td>0\.0<\/td><td><span[^>]*>resid:distance<\/span><\/td>/, 'd = ∞ ranks first');
  const sig = trs[1];
  assert.ok(sig.startsWith(' class="sig"><td class="num">2</td><td>1.2</td>') && sig.includes('entropyNorm') && sig.includes('>2.5<') && sig.includes('[1.4, 3.6]') && sig.includes('&lt;0.001') && sig.includes('<strong>yes</strong>'), sig);
  const notSig = trs[2];
  assert.ok(notSig.startsWith('><td class="num">3</td><td>0.1</td>') && notSig.includes('mass:numbers') && notSig.includes('>−1.9<') && notSig.includes('<td>no</td>'), notSig);
  assert.ok(trs.some((t) => t.includes('resid:distance') && t.includes('>∞<')), 'infinite d shown as ∞');
  assert.ok(!ranked.includes('>entropy<'), 'raw entropy is not a main statistic');
  assert.ok(trs.length <= 15);
  // every figure is inlined, without the namespace URL
  for (const k of Object.keys(figures)) assert.ok(html.includes(`(${k})`), k);
  assert.equal((html.match(/<svg /g) ?? []).length, Object.keys(figures).length);
  // lens: A first drops below 1 after block 1 (index 2); B likewise
  assert.ok(html.includes('first drops below 1 after block 1'), 'lens sentence');
  // ablation tables: top heads by |mean| with CIs
  assert.ok(html.includes('Velmic: the 6 heads with the largest |mean effect|') && html.includes('<td>1.2</td><td class="num">−0.6</td><td>[−0.65, −0.55]</td>'));
  assert.ok(html.includes('<pre class="example">What is 2 + 3 * 4?\n#### 14</pre>'));
});

test('the page escapes the data, fetches nothing, and notes a missing provenance record', () => {
  const evil = '<script>alert(1)</script>';
  const d = sample();
  d.tasks.a.label = evil;
  d.tasks.b.examples = [`</pre><img src=x onerror=alert(2)>`];
  d.model.name = `"><svg onload=alert(3)>`;
  d.adapter = { name: 'lora <b>r8</b>' };
  d.selectivity[`mass:<i>x</i>`] = rows(9);
  d.tasks.a.n = '<b>n</b>' as never; // a hand-edited report.json: numbers are escaped too
  d.lens.a.n = '<b>n</b>' as never;
  const { html, figures } = renderReport(d);
  checkMarkup(html, true);
  for (const s of [html, ...Object.values(figures)]) {
    assert.ok(!/<script/i.test(s) && !/<img/i.test(s) && !/<svg onload/i.test(s) && !/<b>/.test(s) && !/<i>x/.test(s), 'no raw markup from the data');
  }
  for (const svg of Object.values(figures)) checkMarkup(svg);
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;') && html.includes('lora &lt;b&gt;r8&lt;/b&gt;'));
  assert.ok(html.includes('<span class="warn">no provenance record</span>'));
  // the only URL is the one the data gave (a provenance field); a CSP forbids every fetch
  assert.deepEqual([...html.matchAll(/https?:\/\/[^\s"'<&]*/g)].map((m) => m[0]), ['https://example.org/velmic-terms']);
  assert.ok(html.includes(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`));
  assert.ok(!/\bsrc=|@import|url\((?!#)/.test(html.replace(/onerror=alert\(2\)|src=x/g, '')), 'no external resource');
});

test('edge cases: the lens never reaching rank 1, NaN effects, a missing head, the wrong schema', () => {
  const d = sample();
  d.lens.b = { logprob: [-9, -8, -7], logprobCi: [[-9, -9], [NaN, NaN], [-7, -7]], rank: [900, 50, 3], n: 5 };
  d.ablation.b = d.ablation.b.slice(1).map((e, i) => (i === 0 ? { ...e, mean: NaN, ci: [NaN, NaN] as [number, number], n: 0 } : e));
  d.selectivity.sink = d.selectivity.sink.slice(2);
  const { html, figures } = renderReport(d);
  assert.equal(firstTopLayer(d.lens.b), -1);
  assert.ok(html.includes('does not drop below 1 within the model (after the last block it is 3)'));
  assert.ok(figures[selectivityKey('sink')].includes('layer 0, head 0: no data'));
  for (const svg of Object.values(figures)) (checkMarkup(svg), assert.ok(!svg.includes('NaN'), 'no NaN coordinates'));
  assert.throws(() => renderReport({ ...d, schema: 'v0' as never }), /schema lab-analysis-report-v1/);
});

test('number formats: 3 significant digits, exponents for tiny and huge values, p below 0.001', () => {
  assert.deepEqual([fmt(0.123456), fmt(-12.345), fmt(1234.5), fmt(0.00012345), fmt(123456), fmt(0), fmt(-Infinity), fmt(NaN)], ['0.123', '−12.3', '1230', '1.23e−4', '1.23e5', '0', '−∞', 'n/a']);
  assert.deepEqual([fmtP(0.0001), fmtP(0.0432), fmtP(1)], ['<0.001', '0.0432', '1']);
});

test('report.json round trip: ±∞ and NaN survive (tagged), so the report renders from its JSON as from its data', async () => {
  const { reportToJson, reportFromJson } = await import('./report-data.ts');
  const data = sample();
  const row = data.selectivity[Object.keys(data.selectivity)[0]][0];
  Object.assign(row, { d: Infinity, ciLow: -Infinity, ciHigh: Infinity });
  data.ablation.a[0].mean = NaN;
  const back = reportFromJson(reportToJson(data));
  const r0 = back.selectivity[Object.keys(back.selectivity)[0]][0];
  assert.deepEqual([r0.d, r0.ciLow, r0.ciHigh], [Infinity, -Infinity, Infinity]);
  assert.ok(Number.isNaN(back.ablation.a[0].mean));
  assert.equal(renderReport(back).html, renderReport(data).html);
  assert.ok(reportToJson(data).includes('{"$num"') || reportToJson(data).includes('"$num"'), 'non-finite numbers are tagged, not null');
});
