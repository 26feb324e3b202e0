// The Compare page's pure parts: the drawn matrix with and without the first-token sink, and the
// prompts' provenance (embedded item vs edited by user).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { viewPattern } from './transform.ts';
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
