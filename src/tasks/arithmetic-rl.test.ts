// Tests of the tasks' rl split (issue 11: prompts for GRPO that the SFT never saw and the test does not
// hold). Pure TypeScript, no GPU:
//   node tools/run-node.mjs --test --test-reporter=spec src/tasks/arithmetic-rl.test.ts
// Arithmetic: rule 3 of arithmetic.ts (the RL-only stories, train-class numbers). Velmic: the train root space.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateArithmetic, applyOp, questionNumbers, heldoutByNumbers, ARITH_STRUCTURES } from './arithmetic.ts';
import { STORIES } from './arithmetic-stories.ts';
import { RL_STORIES } from './arithmetic-rl-stories.ts';
import { generateConlang, SPLIT_ROOTS, isHeldoutRoot } from './conlang.ts';
import { SPLITS, getTask } from './index.ts';
import { normalizeText } from './rng.ts';
import { ngrams } from './phrasing.testlib.ts';

const RL = generateArithmetic('rl', 2000, 11);
const TRAIN = generateArithmetic('train', 2000, 1);
const HELD = generateArithmetic('heldout', 2000, 2);
const RL_IDS = new Set(RL_STORIES.map((s) => s.id));

test('rl split: a split like the others — named in SPLITS, deterministic, a stream of its own', () => {
  assert.deepEqual([...SPLITS], ['train', 'heldout', 'rl']);
  assert.deepEqual(generateArithmetic('rl', 30, 4), generateArithmetic('rl', 80, 4).slice(0, 30));
  for (const t of ['arithmetic', 'conlang']) {
    const rl = getTask(t).generate('rl', 20, 1).map((x) => x.question), train = getTask(t).generate('train', 20, 1).map((x) => x.question);
    assert.ok(rl.filter((q, i) => q === train[i]).length <= 1, `${t}: rl seed 1 repeats train seed 1`);
    assert.ok(getTask(t).generate('rl', 3, 1).every((x) => x.split === 'rl' && x.id.startsWith(`${t}-rl-1-`)));
  }
  assert.throws(() => generateArithmetic('test' as 'rl', 1, 1), /split must be one of train, heldout, rl/);
  assert.throws(() => generateConlang('test' as 'rl', 1, 1), /split must be one of train, heldout, rl/);
});

test('rl split: the RL-only story table — 2+ stories for every structure, ids of their own, slots as the rules ask', () => {
  for (const st of ARITH_STRUCTURES) assert.ok(RL_STORIES.filter((s) => s.st === st).length >= 2, `structure ${st} has < 2 RL stories`);
  for (const s of RL_STORIES) assert.ok(ARITH_STRUCTURES.includes(s.st), `RL story ${s.id}: unknown structure ${s.st}`);
  assert.equal(RL_IDS.size, RL_STORIES.length, 'RL story ids are unique');
  for (const s of STORIES) assert.ok(!RL_IDS.has(s.id), `story id ${s.id} is both a train/held-out and an RL story`);
  for (const s of RL_STORIES) {
    assert.ok(!s.held, `RL story ${s.id} is marked held-out`);
    const numSlots = (q: string) => [...new Set([...q.matchAll(/\{([a-d])\}/g)].map((m) => m[1]))].sort().join('');
    assert.equal(new Set(s.q.map(numSlots)).size, 1, `RL story ${s.id}: phrasings write different number slots`);
    assert.ok(s.q.length >= 2, `RL story ${s.id}: one phrasing`);
    for (const v of Object.values(s.w)) for (const x of [v].flat()) assert.ok(!/\d|[{}]/.test(x), `RL story ${s.id}: word "${x}"`);
  }
});

test('rl split: no RL phrasing shares a 5-word run with any train or held-out phrasing (new wordings, rule 3)', () => {
  const seen = new Map<string, string>(); // 5-gram → story id
  for (const s of STORIES) for (const q of s.q) for (const g of ngrams(q)) seen.set(g, `${s.held ? 'held-out' : 'train'} ${s.id}`);
  assert.ok(seen.size > 500, 'the train and held-out phrasings give 5-grams');
  const hits: string[] = [];
  for (const s of RL_STORIES) s.q.forEach((q, i) => {
    for (const g of new Set(ngrams(q))) if (seen.has(g)) hits.push(`${s.id} phrasing ${i}: "${g}" (${seen.get(g)})`);
  });
  assert.deepEqual(hits, [], `RL phrasings share 5-word runs:\n${hits.join('\n')}`);
});

test('rl split: arithmetic items — only RL stories, train-class numbers, right annotations, every phrasing, no question of train or held-out', () => {
  const ann = /<<(\d+)([-+*/])(\d+)=(\d+)>>(\d+)/g;
  for (const it of RL) {
    const ctx = `${it.id}: ${it.question}\n${it.answer}`;
    assert.ok(RL_IDS.has(it.meta.template) && !it.meta.heldoutOnly, `not an RL story: ${ctx}`);
    assert.ok(!heldoutByNumbers(it.meta.numbers) && questionNumbers(it.question)[0] % 3 !== 2, `held-out number class: ${ctx}`);
    assert.ok(!/[{}]|undefined|NaN/.test(it.question + it.answer), `unfilled slot in ${ctx}`);
    assert.ok(it.question.trim().split(/\s+/).length <= 40, `question over 40 words: ${ctx}`);
    assert.ok(!/\b[Aa] [aeiouAEIOU]/.test(it.question), `"a" before a vowel: ${ctx}`);
    const found = [...it.answer.matchAll(ann)].map((m) => ({ a: Number(m[1]), op: m[2], b: Number(m[3]), c: Number(m[4]) }));
    assert.deepEqual(found, it.meta.steps, ctx);
    const known = new Set(questionNumbers(it.question));
    for (const s of it.meta.steps) {
      assert.ok(known.has(s.a) && known.has(s.b), `operand of ${s.a}${s.op}${s.b} comes from nowhere in ${ctx}`);
      assert.equal(applyOp(s.a, s.op, s.b), s.c, ctx);
      known.add(s.c);
    }
    assert.equal(it.answer.split('\n').at(-1), `#### ${it.final}`, ctx);
  }
  for (const it of [...TRAIN, ...HELD]) assert.ok(!RL_IDS.has(it.meta.template), `RL story in ${it.split}: ${it.id}`);
  // Every structure and every phrasing of every RL story occurs (so the checks above cover them all).
  assert.deepEqual(new Set(RL.map((x) => x.meta.structure)), new Set(ARITH_STRUCTURES));
  const esc = (t: string) => t.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
  for (const s of RL_STORIES) s.q.forEach((q, i) => {
    const rx = new RegExp('^' + q.split(/\{\w+\}/).map(esc).join('.+?') + '$');
    assert.ok(RL.some((x) => x.meta.template === s.id && rx.test(x.question)), `RL story ${s.id}: phrasing ${i} never generated`);
  });
  const other = new Set([...TRAIN, ...HELD].map((x) => normalizeText(x.question)));
  assert.equal(RL.filter((x) => other.has(normalizeText(x.question))).length, 0, 'an RL question is a train or held-out question');
});

test('rl split: Velmic puzzles draw their roots from the train root space only', () => {
  assert.deepEqual(SPLIT_ROOTS.rl, SPLIT_ROOTS.train);
  const train = new Set(SPLIT_ROOTS.train);
  const items = generateConlang('rl', 300, 11);
  for (const it of items) {
    const roots = it.meta.lexicon.map((l) => l.root);
    assert.ok(roots.length >= 3, `${it.id}: no lexicon`);
    for (const r of roots) assert.ok(train.has(r) && !isHeldoutRoot(r), `${it.id}: root ${r} is not a train root`);
    // the roots the puzzle's text shows are its lexicon's
    for (const r of roots) assert.ok(it.question.includes(r) || it.answer.includes(r), `${it.id}: root ${r} not in its text`);
  }
});
