// Tests of the arithmetic task generator and of the task registry / scorer (src/tasks/index.ts).
// Pure TypeScript, no GPU: run with
//   node tools/run-node.mjs --test --test-reporter=spec src/tasks/arithmetic.test.ts
// Answers are exact integers, so every check is exact equality (no tolerance is involved).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  generateArithmetic, applyOp, questionNumbers, heldoutByNumbers, ARITH_TEMPLATES, ARITH_STRUCTURES,
  type ArithItem, type Op,
} from './arithmetic.ts';
import { STORIES } from './arithmetic-stories.ts';
import { TASKS, getTask, score, extractFinal, toSftRow, toSftJsonl } from './index.ts';
import { normalizeText } from './rng.ts';
import { phraseWords, ngrams } from './phrasing.testlib.ts';

// Two train sets and one held-out set with DIFFERENT seeds (leakage must not depend on seeds).
// HELD is 3000 items so that each of the ~125 train stories (≈ 12 expected items each, with
// held-out numbers) and each phrasing of the held-out-only stories occurs in it.
const TRAIN = generateArithmetic('train', 3000, 1);
const TRAIN2 = generateArithmetic('train', 3000, 2);
const HELD = generateArithmetic('heldout', 3000, 2);
const ALL = [...TRAIN, ...TRAIN2, ...HELD];
const words = (s: string) => s.trim().split(/\s+/).length;
const HELD_ONLY = new Set(ARITH_TEMPLATES.filter((t) => t.heldoutOnly).map((t) => t.id));
const TRAIN_STORIES = new Set(ARITH_TEMPLATES.filter((t) => !t.heldoutOnly).map((t) => t.id));
// The number rule written out here (not only through heldoutByNumbers, so a change to it is caught).
const firstIs2mod3 = (it: ArithItem) => questionNumbers(it.question)[0] % 3 === 2;

test('arithmetic: same (split, n, seed) gives identical items; prefixes are stable; seeds differ', () => {
  assert.deepEqual(generateArithmetic('train', 60, 7), generateArithmetic('train', 60, 7));
  assert.deepEqual(generateArithmetic('heldout', 20, 7), generateArithmetic('heldout', 60, 7).slice(0, 20));
  const a = generateArithmetic('train', 60, 7).map((x) => x.question);
  const b = generateArithmetic('train', 60, 8).map((x) => x.question);
  // Different seeds: unrelated streams, so (almost) no question coincides position by position.
  assert.ok(a.filter((q, i) => q === b[i]).length <= 1, 'seeds 7 and 8 gave the same items');
  assert.equal(new Set(TRAIN.map((x) => x.id)).size, TRAIN.length, 'ids are unique');
  assert.equal(new Set(TRAIN.map((x) => normalizeText(x.question))).size, TRAIN.length, 'questions are distinct');
  assert.throws(() => generateArithmetic('test' as 'train', 1, 1), /split/);
});

test('arithmetic: every <<a op b=c>> annotation is right and meta recomputes the final answer', () => {
  const ann = /<<(\d+)([-+*/])(\d+)=(\d+)>>(\d+)/g;
  for (const it of ALL) {
    const ctx = `${it.id}: ${it.question}\n${it.answer}`;
    // No unfilled slot or bad number in the text (a table typo would show up here).
    assert.ok(!/[{}]|undefined|NaN/.test(it.question + it.answer), `unfilled slot in ${ctx}`);
    // Annotations in the text: arithmetic right, and the number shown after ">>" is the result.
    const found = [...it.answer.matchAll(ann)].map((m) => {
      const [a, op, b, c, shown] = [Number(m[1]), m[2] as Op, Number(m[3]), Number(m[4]), Number(m[5])];
      assert.equal(applyOp(a, op, b), c, `wrong annotation ${m[0]} in ${ctx}`);
      assert.equal(shown, c, `shown result differs from annotation in ${ctx}`);
      return { a, op, b, c };
    });
    assert.deepEqual(found, it.meta.steps, `annotations differ from meta.steps in ${ctx}`);
    assert.ok(found.length >= 1 && found.length <= 3, `1–3 steps expected in ${ctx}`);
    // One reasoning line per step, then the "####" line.
    assert.equal(it.answer.split('\n').length, found.length + 1, ctx);
    // Recompute from meta: each operand is written in the question or is an earlier result.
    assert.deepEqual(it.meta.numbers, questionNumbers(it.question));
    const known = new Set(questionNumbers(it.question));
    let last = NaN;
    for (const s of it.meta.steps) {
      assert.ok(known.has(s.a) && known.has(s.b), `operand of ${s.a}${s.op}${s.b} comes from nowhere in ${ctx}`);
      last = applyOp(s.a, s.op, s.b);
      assert.ok(Number.isInteger(last) && last >= 0 && last < 10000, `result ${last} breaks the number rules in ${ctx}`);
      assert.equal(last, s.c);
      known.add(last);
    }
    assert.equal(it.final, String(last), ctx);
    assert.equal(it.answer.split('\n').at(-1), `#### ${it.final}`, ctx);
  }
});

test('arithmetic: the story tables — ≥ 12 structures, ≥ 120 stories, each structure has train AND held-out stories', () => {
  assert.ok(ARITH_STRUCTURES.length >= 12, `${ARITH_STRUCTURES.length} structures`);
  assert.ok(ARITH_TEMPLATES.length >= 120, `${ARITH_TEMPLATES.length} stories`);
  assert.equal(new Set(ARITH_TEMPLATES.map((t) => t.id)).size, ARITH_TEMPLATES.length, 'story ids are unique');
  for (const st of ARITH_STRUCTURES) {
    const mine = ARITH_TEMPLATES.filter((t) => t.structure === st);
    // Every held-out story has train siblings of the same structure (split rule 1).
    assert.ok(mine.length >= 3, `structure ${st} has ${mine.length} stories`);
    assert.ok(mine.filter((t) => t.heldoutOnly).length >= 1, `structure ${st} has no held-out-only story`);
    // Wording variety: a model must see many wordings of a structure to learn it from the words.
    assert.ok(mine.filter((t) => !t.heldoutOnly).length >= 7, `structure ${st} has < 7 train stories`);
  }
  for (const t of ARITH_TEMPLATES) assert.ok(ARITH_STRUCTURES.includes(t.structure), `unknown structure of ${t.id}`);
  assert.ok(ARITH_TEMPLATES.filter((t) => t.phrasings >= 2).length >= 100, 'most stories have phrasing variants');
  // ARITH_TEMPLATES is STORIES seen from outside; the tests below read STORIES directly.
  assert.deepEqual(ARITH_TEMPLATES.map((t) => t.id), STORIES.map((s) => s.id));
  for (const s of STORIES) {
    // Every phrasing of a story writes the same number slots (each operand is in every question),
    // and word-list entries carry no digits (the first digits of a question are a number slot).
    const numSlots = (q: string) => [...new Set([...q.matchAll(/\{([a-d])\}/g)].map((m) => m[1]))].sort().join('');
    assert.equal(new Set(s.q.map(numSlots)).size, 1, `story ${s.id}: phrasings write different number slots`);
    for (const v of Object.values(s.w)) for (const x of [v].flat()) assert.ok(!/\d|[{}]/.test(x), `story ${s.id}: word "${x}"`);
  }
});

// Textual distance between train and held-out-only stories: the held-out stories test a NEW
// wording, so no train phrasing may share a run of 5 consecutive words with any held-out
// phrasing (any structure); phrasing.testlib.ts says how words are compared.
test('arithmetic: no train phrasing shares a 5-word run with a held-out-only phrasing', () => {
  assert.deepEqual(phraseWords("{N}'s {a}-page book costs ${b}."), ['_', 's', '_', 'page', 'book', 'costs', '_']);
  const held = new Map<string, string>(); // 5-gram → held-out story id
  for (const s of STORIES.filter((x) => x.held)) for (const q of s.q) for (const g of ngrams(q)) held.set(g, s.id);
  assert.ok(held.size > 100, 'held-out phrasings give 5-grams');
  const hits: string[] = [];
  for (const s of STORIES.filter((x) => !x.held)) {
    s.q.forEach((q, i) => {
      for (const g of new Set(ngrams(q))) if (held.has(g)) hits.push(`${s.st}/${s.id} phrasing ${i}: "${g}" (held-out ${held.get(g)})`);
    });
  }
  assert.deepEqual(hits, [], `train phrasings share 5-word runs with held-out phrasings:\n${hits.join('\n')}`);
});

test('arithmetic: every phrasing of every story is generated (so the checks above cover all of them)', () => {
  // A phrasing becomes a regex: slots match any text, the rest literally.
  const esc = (t: string) => t.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
  const rx = (q: string) => new RegExp('^' + q.split(/\{\w+\}/).map(esc).join('.+?') + '$');
  for (const s of STORIES) {
    const pool = (s.held ? HELD : [...TRAIN, ...TRAIN2]).filter((x) => x.meta.template === s.id);
    s.q.forEach((q, i) => {
      const r = rx(q);
      assert.ok(pool.some((x) => r.test(x.question)), `story ${s.id}: phrasing ${i} never generated`);
    });
  }
});

test('arithmetic: grammar spot checks — no "a" before a vowel, no "1" before a plural in train stories', () => {
  for (const it of ALL) {
    assert.ok(!/\b[Aa] [aeiouAEIOU]/.test(it.question), `"a" before a vowel: ${it.question}`);
    // Number slots that reach 1 (the discarded count c of "bags") are written "{c} of them".
    // The held-out-only story "oranges" writes "{c} bad ones" and can read "1 bad ones": it is
    // left as it is (held-out stories are fixed), so this check covers train stories only.
    if (!it.meta.heldoutOnly) assert.ok(!/(^|[^\d$])1 (?!of\b)[a-z]+s\b/.test(it.question), `"1" before a plural: ${it.question}`);
  }
  // c = 1 is rare in a sample (≈ 2% of "bags" items), so the wording rule is also checked in the table.
  for (const s of STORIES.filter((x) => x.st === 'bags' && !x.held)) {
    for (const q of s.q) assert.ok(!/\{c\} (?!of\b|that\b)/.test(q), `story ${s.id}: write "{c} of them", not "{c} <plural>": ${q}`);
  }
});

test('arithmetic: split rules — held-out stories and number class never reach train (two seeds); no leakage', () => {
  for (const it of [...TRAIN, ...TRAIN2]) {
    assert.ok(!HELD_ONLY.has(it.meta.template), `held-out-only story ${it.meta.template} in train`);
    assert.equal(it.meta.heldoutOnly, false);
    assert.ok(!firstIs2mod3(it) && !heldoutByNumbers(it.meta.numbers), `train item with held-out first number: ${it.question}`);
  }
  for (const it of HELD) {
    assert.equal(it.meta.heldoutOnly, HELD_ONLY.has(it.meta.template));
    // Rule 1 (held-out-only story, any numbers) or rule 2 (train story, first number ≡ 2 mod 3).
    assert.ok(it.meta.heldoutOnly || (firstIs2mod3(it) && heldoutByNumbers(it.meta.numbers)), `held-out item fits no held-out rule: ${it.question}`);
  }
  // Half/half: 3000 items, p = 0.5 each → σ = 27.4, ± 5 σ is 1363..1637.
  const r1 = HELD.filter((x) => x.meta.heldoutOnly).length;
  assert.ok(r1 > 1363 && r1 < 1637, `${r1} of 3000 held-out items from held-out-only stories`);
  // Every story occurs where it may: held-out-only stories in HELD, train stories in TRAIN and
  // (with held-out numbers) in HELD.
  assert.deepEqual(new Set(HELD.filter((x) => x.meta.heldoutOnly).map((x) => x.meta.template)), HELD_ONLY);
  assert.deepEqual(new Set(HELD.filter((x) => !x.meta.heldoutOnly).map((x) => x.meta.template)), TRAIN_STORIES);
  assert.deepEqual(new Set(TRAIN.map((x) => x.meta.template)), TRAIN_STORIES);
  // Each held-out item's structure is trained on (in the actual train set, not just the tables).
  const trainStructs = new Set(TRAIN.map((x) => x.meta.structure));
  for (const it of HELD) assert.ok(trainStructs.has(it.meta.structure), `structure ${it.meta.structure} never in train`);
  // Leakage: no normalised held-out question appears in train (train seeds 1 and 2; held-out seed 2).
  const trainQ = new Set([...TRAIN, ...TRAIN2].map((x) => normalizeText(x.question)));
  assert.equal(HELD.filter((x) => trainQ.has(normalizeText(x.question))).length, 0);
  // Variety: 1–3 steps all occur, and finals are spread out (memorising answers fails).
  assert.deepEqual(new Set(TRAIN.map((x) => x.meta.steps.length)), new Set([1, 2, 3]));
  const counts = new Map<string, number>();
  for (const x of TRAIN) counts.set(x.final, (counts.get(x.final) ?? 0) + 1);
  assert.ok(counts.size > 300 && Math.max(...counts.values()) < 0.05 * TRAIN.length, 'finals too concentrated');
});

test('arithmetic: one structure, one answer shape — same ops and same line openings in train and held-out', () => {
  // Shape of an answer: the op sequence plus the first word of each reasoning line ("In", "For",
  // "Left:", "After", ...). A held-out story must produce exactly the shape its train siblings teach.
  const shapes = new Map<string, Set<string>>();
  for (const it of ALL) {
    const lines = it.answer.split('\n').slice(0, -1);
    const shape = it.meta.steps.map((s) => s.op).join('') + '|' + lines.map((l) => l.split(' ')[0]).join(' ');
    const set = shapes.get(it.meta.structure) ?? new Set<string>();
    set.add(shape);
    shapes.set(it.meta.structure, set);
  }
  assert.deepEqual(new Set(shapes.keys()), new Set(ARITH_STRUCTURES));
  for (const [st, set] of shapes) assert.equal(set.size, 1, `structure ${st} has several answer shapes: ${[...set].join(' / ')}`);
});

test('arithmetic: items are short (question ≤ 40 words, answer ≤ 60 words, both < 600 chars)', () => {
  for (const it of ALL) {
    assert.ok(words(it.question) <= 40, `question of ${words(it.question)} words: ${it.question}`);
    assert.ok(words(it.answer) <= 60, `answer of ${words(it.answer)} words: ${it.answer}`);
    assert.ok(it.question.length + it.answer.length < 600, it.id);
  }
});

test('score(): exact match after the last "####", whitespace/case only; toSftRow is GSM8K form', () => {
  const it: ArithItem = TRAIN[0];
  const f = it.final;
  assert.equal(score(it, it.answer), true);
  assert.equal(score(it, `blah\n####   ${f}  \nQuestion: next one`), true, 'trailing text on later lines is ignored');
  assert.equal(score(it, `#### 0\nwait\n#### ${f}`), true, 'the last marker counts');
  assert.equal(score(it, `#### ${f}\n#### ${Number(f) + 1}`), false, 'the last marker counts (wrong)');
  assert.equal(score(it, `#### ${Number(f) + 1}`), false);
  assert.equal(score(it, `#### ${f}.`), false, 'punctuation is not normalised away');
  assert.equal(score(it, `the answer is ${f}`), false, 'no marker, no credit');
  assert.equal(score(it, '####'), false, 'an empty final never matches');
  assert.equal(extractFinal('x #### A  b \n c'), 'A  b');
  assert.equal(extractFinal('nothing'), null);
  // Every generated answer scores itself as right.
  for (const x of HELD) assert.equal(score(x, x.answer), true, x.id);
  assert.deepEqual(toSftRow(it), { question: it.question, answer: it.answer });
  const jsonl = toSftJsonl(TRAIN.slice(0, 3)).trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(jsonl, TRAIN.slice(0, 3).map(toSftRow));
});

test('registry: names, descriptions, generate through getTask', () => {
  assert.deepEqual(TASKS.map((t) => t.name), ['arithmetic', 'conlang']);
  for (const t of TASKS) assert.ok(t.description.length > 20);
  assert.deepEqual(getTask('arithmetic').generate('train', 5, 3), generateArithmetic('train', 5, 3));
  assert.throws(() => getTask('gsm9k'), /unknown task "gsm9k"/);
  const c = getTask('conlang').generate('heldout', 2, 3);
  assert.equal(c.length, 2);
  assert.ok(c.every((x) => x.task === 'conlang' && x.split === 'heldout'));
});

test('arithmetic: two sample items (for reviewers)', () => {
  const held = HELD.find((x) => x.meta.heldoutOnly)!;
  const sibling = TRAIN.find((x) => x.meta.structure === held.meta.structure)!;
  for (const it of [sibling, held]) {
    console.log(`--- ${it.id} [${it.meta.structure}/${it.meta.template}]\nQ: ${it.question}\nA: ${it.answer}`);
  }
});
