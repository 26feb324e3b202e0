// The report as the Analyze page shows it: frameDoc takes the <style> out (given to the frame as a
// constructed sheet: the lab's CSP, inherited by srcdoc, blocks inline styles), turns style="" into
// data-lab-style="" and fragment links into about:srcdoc#… ones, and changes nothing else; the note
// when the loaded model or adapter is not the report's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ModelSummary, ReportData } from '../../engine/api.ts';
import { renderReport } from '../../engine/analysis/report.ts';
import { frameDoc } from './frame.ts';
import { mismatch } from './ReportView.tsx';

const L = 2, H = 2;
const heads = Array.from({ length: L * H }, (_, i) => ({ layer: Math.floor(i / H), head: i % H }));
const sample = (): ReportData => ({
  schema: 'lab-analysis-report-v1',
  createdAt: '2026-12-05T08:00:00.000Z',
  reproduce: { command: 'the lab page: {"n":3} style="x" <style>', seed: 0, nBoot: 50, nPerm: 50, queries: 'answer', ablation: 'zero', labCommit: null },
  model: { name: 'lab-micro', layers: L, heads: H, dModel: 48, vocab: 512 },
  adapter: null,
  tasks: {
    a: { label: 'arithmetic', file: 'a.jsonl', n: 3, rows: 3, sha256: 'ab'.repeat(32), provenance: null, examples: ['Question: 1+1?'] },
    b: { label: 'Velmic', file: 'b.jsonl', n: 3, rows: 3, sha256: 'cd'.repeat(32), provenance: null, examples: ['Question: sela?'] },
  },
  selectivity: { entropyNorm: heads.map(({ layer, head }) => ({ layer, head, nA: 3, nB: 3, meanA: 0.5, meanB: 0.4, sdPooled: 0.1, d: 1 + layer, ciLow: 0.5, ciHigh: 2, p: 0.2, q: 0.3, pHolm: 1 })) },
  lens: { a: { logprob: [-5, -3, -1], logprobCi: [[-6, -4], [-4, -2], [-2, 0]], rank: [9, 3, 0], n: 3 }, b: { logprob: [-6, -5, -4], logprobCi: [[-7, -5], [-6, -4], [-5, -3]], rank: [20, 9, 4], n: 3 } },
  ablation: { a: heads.map(({ layer, head }) => ({ layer, head, mean: -0.1, ci: [-0.2, 0] as [number, number], n: 3 })), b: heads.map(({ layer, head }) => ({ layer, head, mean: -0.3, ci: [-0.5, -0.1] as [number, number], n: 3 })) },
  seconds: { 'head statistics': 1 },
});

test('frameDoc: the styles out of the markup, fragment links kept in the frame, nothing else changed', () => {
  const { html } = renderReport(sample());
  const { srcdoc, css } = frameDoc(html);
  assert.ok(css.includes('h1{font-size:24px'), 'the stylesheet is handed over');
  assert.doesNotMatch(srcdoc, /<style/i);
  assert.doesNotMatch(srcdoc, / style="/);
  assert.match(srcdoc, / data-lab-style="width:[\d.]+px"/);
  assert.doesNotMatch(srcdoc, / href="#/);
  assert.match(srcdoc, / href="about:srcdoc#heads"/);
  assert.match(srcdoc, /Content-Security-Policy/, 'the report keeps its own policy');
  // the escaped text that looks like markup stays as it was
  assert.match(srcdoc, /style=&quot;x&quot; &lt;style&gt;/);
  // undoing the three changes gives the page back
  const back = srcdoc.replace(/<\/title>/, `</title><style>${css}</style>`).replace(/ data-lab-style="/g, ' style="').replace(/ href="about:srcdoc#/g, ' href="#');
  assert.equal(back, html);
});

test('mismatch: a note unless the loaded model and adapter are the report’s', () => {
  const r = sample();
  const summary = (name: string, adapter: string | null) => ({ name, adapter: adapter ? { name: adapter } : null }) as unknown as ModelSummary;
  assert.equal(mismatch(r, summary('lab-micro', null)), null);
  assert.match(mismatch(r, summary('lab-micro', 'sft (run 1)'))!, /adapter sft \(run 1\).*the base model/);
  assert.match(mismatch(r, summary('lab-default', null))!, /lab-default/);
  assert.match(mismatch(r, undefined)!, /No model is loaded/);
  assert.equal(mismatch({ ...r, adapter: { name: 'sft (run 1)' } }, summary('lab-micro', 'sft (run 1)')), null);
});
