// The Compare page's pure parts: the drawn matrix with and without the first-token sink, the
// prompts' provenance (embedded item vs edited by user), the stepped row of a generated token, and
// the adapter on/off view's choices and per-head changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffCells, maxAbsCell, viewPattern, viewRow } from './transform.ts';
import { adapterChoices, compareTerms, runIdOfActive, statDeltaRows } from './adapters.ts';
import { exportProblem } from '../../engine/train/governance.ts';
import type { RunRecord } from '../../engine/api.ts';
import { defaultPrompts, describeProvenance, embeddedPrompt, withText } from './prompts.ts';

// a causal pattern [query][key], rows summing to 1; row 3 puts everything on the sink
const P = [
  [1, 0, 0, 0],
  [0.5, 0.5, 0, 0],
  [0.2, 0.3, 0.5, 0],
  [1, 0, 0, 0],
];

test('viewPattern without hiding: the engine values, null above the diagonal', () => {
  const v = viewPattern(P, false);
  assert.deepEqual(v, [
    [1, null, null, null],
    [0.5, 0.5, null, null],
    [0.2, 0.3, 0.5, null],
    [1, 0, 0, 0],
  ]);
});

test('viewPattern hiding the sink: key 0 and row 0 gone, rows renormalised over keys 1..q', () => {
  const v = viewPattern(P, true);
  assert.deepEqual(v[0], [null, null, null, null]);
  assert.deepEqual(v[1], [null, 1, null, null]);
  assert.equal(v[2][0], null);
  assert.ok(Math.abs((v[2][1] as number) - 0.375) < 1e-12 && Math.abs((v[2][2] as number) - 0.625) < 1e-12);
  // a row entirely on the sink has nothing left to show: zeros, not NaN
  assert.deepEqual(v[3], [null, 0, 0, 0]);
});

test('prompts: embedded by default, edited when the text changes, embedded again when restored', () => {
  const d = defaultPrompts();
  assert.equal(d.left.provenance.kind, 'embedded');
  assert.match(d.left.text, /^Question: Velmic is a constructed language/);
  assert.match(d.left.text, /\nAnswer:$/);
  assert.equal(d.right.provenance.kind === 'embedded' && d.right.provenance.task, 'arithmetic');
  const edited = withText(d.right, d.right.text + ' ');
  assert.equal(edited.provenance.kind, 'edited');
  assert.match(describeProvenance(edited.provenance), /^edited by user \(from arithmetic problem arithmetic-heldout-0-0\)$/);
  assert.deepEqual(withText(edited, d.right.text), embeddedPrompt('arithmetic', 0));
});

test('viewRow: row q of viewPattern, keys 0..q only', () => {
  for (const hide of [false, true]) {
    for (let q = 0; q < P.length; q++) assert.deepEqual(viewRow(P, q, hide), viewPattern(P, hide)[q].slice(0, q + 1), `q ${q}, hideSink ${hide}`);
  }
});

test('diffCells and maxAbsCell: adapter − base, null where either is not drawn', () => {
  const a = [[1, null], [0.25, 0.75]], b = [[1, null], [0.5, 0.5]];
  assert.deepEqual(diffCells(a, b), [[0, null], [0.25, -0.25]]);
  assert.equal(maxAbsCell([diffCells(a, b)]), 0.25);
  assert.equal(maxAbsCell([[[null]]]), 0);
});

test('adapter choices: finished LoRA runs only, the active one marked; an imported active adapter has no run', () => {
  const run = (id: string, over: Record<string, unknown> = {}) =>
    ({ id, name: `n-${id}`, hasResult: true, step: 1, config: { full: false, lora: { r: 8 } }, ...over }) as unknown as RunRecord;
  const runs = [run('a'), run('b', { hasResult: false }), run('c', { config: { full: true, lora: { r: 8 } } }), run('d')];
  assert.deepEqual(adapterChoices(runs, null).map((c) => c.runId), ['a', 'd']);
  assert.equal(runIdOfActive('n-d (run d)', runs), 'd');
  assert.equal(runIdOfActive('run a', runs), 'a');
  assert.equal(runIdOfActive('imported-x', runs), null);
  const lora = { r: 8, alpha: 16, targets: ['q_proj'] };
  assert.deepEqual(adapterChoices(runs, { name: 'n-d (run d)', ...lora }).filter((c) => c.active).map((c) => c.runId), ['d']);
  const imported = adapterChoices(runs, { name: 'imported-x', ...lora });
  assert.deepEqual([imported[0].runId, imported[0].active, imported.length], [null, true, 3]);
  // statistics change: adapter − base per head, one symmetric domain for both sides
  const res = (e: number, p: number[][]) => ({ tokens: [], n_heads: 1, ms: 0, layers: [{ layer: 0, pattern: [p], stats: [{ head: 0, entropy: e, maxProb: 1, firstToken: 1, prevToken: 0, self: 0 }] }] });
  const one = [[1, 0], [0.5, 0.5]], two = [[1, 0], [0.75, 0.25]];
  const rows = statDeltaRows({ left: { base: res(0.2, one), adapter: res(0.5, two) }, right: { base: res(0.4, one), adapter: res(0.3, one) } });
  assert.equal(rows[0].key, 'maxAbs');
  assert.deepEqual(rows[0].delta, { left: [[0.25]], right: [[0]] });
  const ent = rows.find((r) => r.key === 'entropy')!;
  assert.ok(Math.abs(ent.delta.left[0][0] - 0.3) < 1e-12 && Math.abs(ent.delta.right[0][0] + 0.1) < 1e-12);
  assert.deepEqual(ent.scale.domain().map((x) => Math.round(x * 1e9) / 1e9), [-0.3, 0, 0.3]);
});

test('compare exports inherit the terms of the adapters that made them; the base model and adapters without terms add none; a run revoked since marks them', () => {
  const terms = (sources: string[], release: boolean) => ({ inherited: { prohibited_uses: [], contains_sensitive_content: false, sources, release_approved: release } });
  const run = (id: string, over: Record<string, unknown> = {}) => ({ id, name: `n-${id}`, hasResult: true, step: 1, config: { full: false, lora: { r: 8 } }, ...over }) as unknown as RunRecord;
  const runs = [run('own'), run('gone', { revoked: { at: 't', reason: 'record x is restricted' } })];
  assert.equal(compareTerms([{ name: 'base' }, null, { name: 'imported-x' }], runs), null);
  const own = compareTerms([{ name: 'n-own (run own)', terms: terms(['lab_tasks_arithmetic'], true) }], runs)!;
  assert.deepEqual([own.adapters, own.inherited.sources, exportProblem(own)], [[{ name: 'n-own (run own)', sources: ['lab_tasks_arithmetic'] }], ['lab_tasks_arithmetic'], null]);
  // several adapters (the one compared against the base, a generation's): the strictest terms win, each adapter once
  const both = compareTerms([{ name: 'run own', terms: terms(['lab_tasks_arithmetic'], true) }, { name: 'imported', terms: terms(['rows'], false) }, { name: 'run own', terms: terms(['lab_tasks_arithmetic'], true) }], runs)!;
  assert.deepEqual(both.adapters.map((a) => a.name), ['run own', 'imported']);
  assert.match(exportProblem(both) ?? '', /approved_for_public_release/);
  assert.match(exportProblem(compareTerms([{ name: 'run gone', terms: terms(['x'], true) }], runs)) ?? '', /withdrawn \(record x is restricted\)/);
});
