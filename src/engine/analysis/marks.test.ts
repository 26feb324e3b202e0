// marks.ts: a prompt-set row's own token classes. The texts here are invented (English and made-up words in a
// Stoney-like orthography, not Stoney Nakoda): the tests check where marks land, never what a word means.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { tokenizerFromJSON } from '../model/tokenizer.ts';
import { qaPrompt } from '../train/data.ts';
import { checkMarks, markRanges, markClasses } from './marks.ts';
import { tokenSpans } from './token-classes.ts';
import { parseTaskRows } from './task-rows.ts';
import { analysisPrompt } from './heads.ts';

const dir = new URL('../../../models/lab-default/', import.meta.url);
const tok = tokenizerFromJSON({
  tokenizerJSON: JSON.parse(readFileSync(new URL('tokenizer.json', dir), 'utf8')),
  tokenizerConfig: JSON.parse(readFileSync(new URL('tokenizer_config.json', dir), 'utf8')),
});
const texts = (q: string, r: Record<string, readonly (readonly [number, number])[]>) =>
  Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.map(([a, b]) => q.slice(a, b))]));

test('a text marks each occurrence as a whole word or phrase; brackets mark parts of it', () => {
  const q = 'The men and the women saw two men. Kâwathabi = the old men; kâwatha = the old man.';
  assert.deepEqual(markRanges(q, { w: ['men'] }).w, [[4, 7], [30, 33], [55, 58]]); // not the "men" of "women" (at 18)
  assert.deepEqual(texts(q, markRanges(q, { p: ['the old men', 'two men'] })), { p: ['the old men', 'two men'] });
  assert.deepEqual(markRanges(q, { affix: ['Kâwatha[bi]'] }).affix, [[42, 44]]);
  assert.throws(() => markRanges(q, { affix: ['kâwatha[bi]'] }), /does not occur/); // case-sensitive
  assert.deepEqual(texts(q, markRanges(q, { m: ['[Kâ]wa[tha]bi'] })), { m: ['Kâ', 'tha'] });
  assert.deepEqual(texts(q, markRanges(q, { root: ['[kâwatha]'] })), { root: ['kâwatha'] }); // the word alone, not in Kâwathabi
});

test('a range counts Unicode code points, as Python indexes a str', () => {
  const q = 'ṯẖa 𝔸 îyethka'; // ṯ ẖ (one code point each), a letter outside the BMP (two UTF-16 units)
  const r = markRanges(q, { a: [[0, 3], [6, 13]] }).a;
  assert.deepEqual(r.map(([x, y]) => q.slice(x, y)), ['ṯẖa', 'îyethka']);
  assert.deepEqual(markRanges(q, { b: [[4, 5]] }).b.map(([x, y]) => q.slice(x, y)), ['𝔸']);
  assert.throws(() => markRanges(q, { a: [[6, 14]] }), /marks\.a: range \[6,14\] ends past the question's 13 characters/);
});

test('a mark that marks nothing, or a bad class name or entry, is an error naming it', () => {
  const q = 'The dog ran.';
  assert.throws(() => markRanges(q, { aligned: ['cat'] }), /marks\.aligned: "cat" does not occur in the question as a whole word or phrase/);
  assert.throws(() => markRanges(q, { aligned: ['do'] }), /"do" does not occur/); // only inside "dog"
  assert.throws(() => markRanges(q, { x: ['d[o'] }), /leaves a bracket open/);
  assert.throws(() => markRanges(q, { x: ['d]o'] }), /closes a bracket it did not open/);
  assert.throws(() => markRanges(q, { x: ['d[]og'] }), /has an empty bracket/);
  assert.throws(() => markRanges(q, { x: ['[d[o]]g'] }), /opens a bracket inside another/);
  assert.throws(() => checkMarks(['dog']), /"marks" must be an object/);
  assert.throws(() => checkMarks({ '1st': [] }), /class name "1st" must start with a letter/);
  assert.throws(() => checkMarks({ numbers: [] }), /"numbers" is a built-in class/);
  assert.throws(() => checkMarks({ aligned: [] }, true), /"aligned" is a built-in class of this row/);
  assert.deepEqual(checkMarks({ aligned: [], affixPieces: ['dog', [0, 3]] }), { aligned: [], affixPieces: ['dog', [0, 3]] }); // free names outside Velmic items
  assert.throws(() => checkMarks({ x: 'dog' }), /marks\.x must be a list/);
  assert.throws(() => checkMarks({ x: [[3, 3]] }), /\[3,3\] is neither a text nor a \[start, end\] range/);
  assert.throws(() => checkMarks({ x: [[-1, 2]] }), /neither a text nor/);
  assert.throws(() => checkMarks({ x: ['[ ]'] }), /marks nothing/);
});

test('marks become token masks of the prompt: the tokens whose characters they mark, in the question only', () => {
  const question = 'The wolves saw the wolf. Nînabi = the wolves.';
  const ids = tok.encode(`${qaPrompt(question)} the wolves`, { addSpecialTokens: true });
  const spans = tokenSpans(tok, ids);
  const m = markClasses(question, { aligned: ['wolves'], affix: ['Nîna[bi]'], none: [] }, spans);
  const q0 = spans.text.indexOf(question);
  // expected, computed apart: a token is in a class when its span overlaps a marked non-space character
  const expect = (ranges: Array<[number, number]>) => Array.from(ids, (_, t) => {
    for (let c = spans.start[t]; c < spans.end[t]; c++) if (!/\s/.test(spans.text[c]) && ranges.some(([a, b]) => c >= q0 + a && c < q0 + b)) return 1;
    return 0;
  });
  const wolves = [...question.matchAll(/\bwolves\b/g)].map((x) => [x.index!, x.index! + 6] as [number, number]);
  assert.equal(wolves.length, 2);
  assert.deepEqual([...m.aligned], expect(wolves));
  assert.ok(m.aligned.slice(spans.text.indexOf('Answer:') > 0 ? ids.length - 3 : 0).every((x) => x === 0), 'the answer\'s "wolves" is not marked');
  const bi = question.indexOf('bi =');
  assert.deepEqual([...m.affix], expect([[bi, bi + 2]]));
  assert.ok(m.affix.some((x) => x));
  assert.deepEqual([...m.none], new Array(ids.length).fill(0));
  assert.throws(() => markClasses('not in the prompt', { a: [] }, spans), /does not contain the row's question/);
});

test('parseTaskRows reads marks (NFC), names the file and line of a bad one, and wants the same classes in every row', () => {
  const row = (q: string, marks?: unknown) => JSON.stringify({ question: q, answer: 'x', ...(marks === undefined ? {} : { marks }) });
  const rows = parseTaskRows([row('Iyâ = he speaks.', { aligned: ['Iya\u0302'], affixPieces: [] }), row('Wîyâ = woman.', { affixPieces: ['[Wî]yâ'], aligned: [] })].join('\n'), 'set.jsonl');
  assert.deepEqual(rows[0].marks, { aligned: ['Iyâ'], affixPieces: [] }); // decomposed â read composed, and found
  assert.throws(() => parseTaskRows(row('The dog.', { aligned: ['cat'] }), 'set.jsonl'), /^Error: set\.jsonl:1: marks\.aligned: "cat" does not occur/);
  assert.throws(() => parseTaskRows([row('The dog.', { a: ['dog'] }), row('The cat.', { b: ['cat'] })].join('\n'), 's.jsonl'),
    /s\.jsonl:2: marks b, but line 1 marks a: every row of a set marks the same classes/);
  assert.throws(() => parseTaskRows([row('The dog.'), '', row('The cat.', { b: ['cat'] })].join('\n'), 's.jsonl'), /s\.jsonl:3: marks b, but line 1 has no marks/);
  assert.throws(() => parseTaskRows([row('The dog.', { a: ['dog'] }), row('The cat.')].join('\n'), 's.jsonl'), /s\.jsonl:2: has no marks, but line 1 marks a/);
  assert.equal(parseTaskRows([row('The dog.'), row('The cat.')].join('\n'), 's.jsonl').length, 2);
});

test('a row\'s marks join its prompt\'s classes beside the built-in ones', () => {
  const [row] = parseTaskRows(JSON.stringify({ question: 'Tâga has 3 dogs and 4 cats. How many pets?', answer: '3 + 4 = 7\n#### 7', marks: { aligned: ['dogs', 'cats'] } }), 'r.jsonl');
  const p = analysisPrompt(tok, row);
  assert.deepEqual(Object.keys(p.classes).sort(), ['aligned', 'numbers', 'operators']);
  const spans = tokenSpans(tok, p.ids);
  const marked = [...p.classes.aligned.keys()].filter((t) => p.classes.aligned[t]).map((t) => spans.text.slice(spans.start[t], spans.end[t]).trim()).join('|');
  assert.match(marked, /dog/);
  assert.match(marked, /cat/);
  assert.ok(!/Tâ|has|many/.test(marked), marked);
});
