// Tests of the arithmetic task generator and of the task registry / scorer (src/tasks/index.ts).
// Pure TypeScript, no GPU: run with
//   node tools/run-node.mjs --test --test-reporter=spec src/tasks/*.test.ts
// Answers are exact integers, so every check is exact equality (no tolerance is involved).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateArithmetic, applyOp, questionNumbers, heldoutByNumbers, ARITH_TEMPLATES, type ArithItem, type Op } from './arithmetic.ts';
import { TASKS, getTask, score, extractFinal, toSftRow, toSftJsonl } from './index.ts';
import { normalizeText } from './rng.ts';

// One train set and one held-out set with DIFFERENT seeds (leakage must not depend on seeds).
const TRAIN = generateArithmetic('train', 1500, 1);
const HELD = generateArithmetic('heldout', 400, 2);
const ALL = [...TRAIN, ...HELD];
const words = (s: string) => s.trim().split(/\s+/).length;

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
    // Annotations in the text: arithmetic right, and the number shown after ">>" is the result.
    const found = [...it.answer.matchAll(ann)].map((m) => {
      const [a, op, b, c, shown] = [Number(m[1]), m[2] as Op, Number(m[3]), Number(m[4]), Number(m[5])];
      assert.equal(applyOp(a, op, b), c, `wrong annotation ${m[0]} in ${ctx}`);
      assert.equal(shown, c, `shown result differs from annotation in ${ctx}`);
      return { a, op, b, c };
    });
    assert.deepEqual(found, it.meta.steps, `annotations differ from meta.steps in ${ctx}`);
    assert.ok(found.length >= 1 && found.length <= 3, `1–3 steps expected in ${ctx}`);
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

test('arithmetic: split rule — held-out templates and number class never reach train; no leakage', () => {
  const heldoutOnly = new Set(ARITH_TEMPLATES.filter((t) => t.heldoutOnly).map((t) => t.id));
  assert.equal(heldoutOnly.size, 4);
  assert.ok(ARITH_TEMPLATES.length >= 16, 'at least 12 templates (16+ here)');
  for (const it of TRAIN) {
    assert.ok(!heldoutOnly.has(it.meta.template), `held-out template ${it.meta.template} in train`);
    assert.ok(!heldoutByNumbers(it.meta.numbers), `train item with held-out first number: ${it.question}`);
  }
  for (const it of HELD) {
    assert.equal(it.meta.heldoutOnly, heldoutOnly.has(it.meta.template));
    assert.ok(it.meta.heldoutOnly || heldoutByNumbers(it.meta.numbers), `held-out item fits no held-out rule: ${it.question}`);
  }
  // Both rules are exercised and every template occurs.
  assert.ok(HELD.filter((x) => x.meta.heldoutOnly).length > 100 && HELD.filter((x) => !x.meta.heldoutOnly).length > 100);
  assert.deepEqual(new Set(HELD.filter((x) => x.meta.heldoutOnly).map((x) => x.meta.template)), heldoutOnly);
  assert.equal(new Set(TRAIN.map((x) => x.meta.template)).size, ARITH_TEMPLATES.length - 4);
  // Leakage: no normalised held-out question appears in train (also vs a train set of the same seed).
  const trainQ = new Set([...TRAIN, ...generateArithmetic('train', 1500, 2)].map((x) => normalizeText(x.question)));
  assert.equal(HELD.filter((x) => trainQ.has(normalizeText(x.question))).length, 0);
  // Variety: 1–3 steps all occur, and finals are spread out (memorising answers fails).
  assert.deepEqual(new Set(TRAIN.map((x) => x.meta.steps.length)), new Set([1, 2, 3]));
  const counts = new Map<string, number>();
  for (const x of TRAIN) counts.set(x.final, (counts.get(x.final) ?? 0) + 1);
  assert.ok(counts.size > 200 && Math.max(...counts.values()) < 0.05 * TRAIN.length, 'finals too concentrated');
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
  for (const it of [TRAIN[0], HELD.find((x) => x.meta.heldoutOnly)!]) {
    console.log(`--- ${it.id} [${it.meta.template}]\nQ: ${it.question}\nA: ${it.answer}`);
  }
});
