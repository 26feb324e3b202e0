// Tests of the Velmic puzzle generator. Velmic is a constructed, synthetic language (not a real
// language); these tests also check that every item says so. Pure TypeScript, no GPU:
//   node tools/run-node.mjs --test --test-reporter=spec src/tasks/*.test.ts
// Answers are strings compared exactly (after whitespace/case normalisation); no tolerance applies.
//
// The solvability check works from the TEXT of each item (the example lines and the target),
// parsing Velmic words back into morphemes, so it does not simply trust the generator's bookkeeping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  generateConlang, VELMIC_LABEL, VELMIC_LEXICON, RESERVED_ROOTS, AFFIX, MAX_ITEM_CHARS,
  parseVelmicWord, englishForms, sentenceVelmic, sentenceEnglish, npVelmic, npEnglish, type ConlangItem,
} from './conlang.ts';
import { score } from './index.ts';
import { normalizeText } from './rng.ts';

const TRAIN = generateConlang('train', 800, 1);
const HELD = generateConlang('heldout', 300, 2);
const ALL = [...TRAIN, ...HELD];
const SUFFIXES = [`-${AFFIX.PL}`, `-${AFFIX.POSS}`, `-${AFFIX.ACC}`];
const PAST = `${AFFIX.PAST}-`;
const byRoot = new Map(VELMIC_LEXICON.map((e) => [e.root, e]));

/** The pieces of an item's text: example pairs and the target in both languages. */
function parse(it: ConlangItem) {
  const lines = it.question.split('\n');
  const examples = lines.slice(1, -1).map((l) => {
    const [velmic, english] = l.split(' = ');
    return { velmic, english };
  });
  const task = lines.at(-1)!;
  const given = task.slice(task.indexOf(': ') + 2);
  const target = it.meta.kind === 'to_english' ? { velmic: given, english: it.final } : { velmic: it.final, english: given };
  return { header: lines[0], examples, task, target };
}
/** Morphemes of every word of a Velmic string; fails the test on a word that does not parse. */
function morphemes(velmic: string): string[][] {
  return velmic.split(' ').map((w) => {
    const m = parseVelmicWord(w);
    assert.ok(m, `"${w}" is not a Velmic word`);
    return m;
  });
}

test('conlang: same (split, n, seed) gives identical items; prefixes are stable; seeds differ', () => {
  assert.deepEqual(generateConlang('train', 40, 7), generateConlang('train', 40, 7));
  assert.deepEqual(generateConlang('heldout', 10, 7), generateConlang('heldout', 40, 7).slice(0, 10));
  const a = generateConlang('train', 40, 7).map((x) => x.question);
  const b = generateConlang('train', 40, 8).map((x) => x.question);
  assert.ok(a.filter((q, i) => q === b[i]).length <= 1, 'seeds 7 and 8 gave the same items');
  assert.equal(new Set(TRAIN.map((x) => normalizeText(x.question))).size, TRAIN.length, 'questions are distinct');
});

test('conlang: every item is labelled as a constructed, synthetic language', () => {
  assert.match(VELMIC_LABEL, /constructed/);
  assert.match(VELMIC_LABEL, /not a real language/);
  for (const it of ALL) {
    assert.equal(it.language, VELMIC_LABEL, it.id);
    assert.match(parse(it).header, /^Velmic is a constructed language \(synthetic, not real\)/, it.id);
  }
});

test('conlang: the lexicon is invented from the Velmic syllables (no affix syllable, all distinct)', () => {
  assert.deepEqual(['noun', 'verb', 'adj'].map((k) => VELMIC_LEXICON.filter((e) => e.kind === k).length), [40, 20, 9]);
  assert.equal(new Set(VELMIC_LEXICON.map((e) => e.root)).size, VELMIC_LEXICON.length);
  for (const e of VELMIC_LEXICON) {
    assert.match(e.root, /^([vfltksrdn][aeiou]){2}$/, e.root);
    assert.match(e.root, /[vf]/, `${e.root} lacks a labiodental`);
    for (const a of Object.values(AFFIX)) assert.ok(e.root.slice(0, 2) !== a && e.root.slice(2) !== a, `${e.root} holds affix ${a}`);
  }
});

test('conlang: answers recompute from meta and follow from the examples (solvability)', () => {
  for (const it of ALL) {
    const ctx = `${it.id}:\n${it.question}\n${it.answer}`;
    const { examples, target } = parse(it);
    // Recompute: the examples and the final answer are the renderings of the stored structures.
    assert.deepEqual(examples, it.meta.examples.map((s) => ({ velmic: sentenceVelmic(s), english: sentenceEnglish(s) })), ctx);
    const t = it.meta.target, p = it.meta.phrase;
    const expect = t ? { velmic: sentenceVelmic(t), english: sentenceEnglish(t) } : { velmic: npVelmic(p!, false), english: npEnglish(p!) };
    assert.deepEqual(target, expect, ctx);
    assert.equal(it.answer.split('\n').at(-1), `#### ${it.final}`, ctx);
    assert.ok(examples.length >= 3 && examples.length <= 6, ctx);
    const reasoning = it.answer.split('\n').length - 1;
    assert.ok(reasoning >= 1 && reasoning <= 3, ctx);

    // The target is new: not an example sentence, and a target phrase is not inside any example.
    assert.ok(examples.every((e) => e.velmic !== target.velmic && e.english !== target.english), `target among examples\n${ctx}`);
    if (p) assert.ok(examples.every((e) => !` ${e.english} `.includes(` ${target.english} `)), `phrase shown verbatim\n${ctx}`);

    // Every pair aligns word for word: each English content word is the gloss of one Velmic root,
    // and each "my" is one -su (catches a rendering that drops or swaps a word).
    for (const pair of [...examples, target]) {
      const roots = morphemes(pair.velmic).map((w) => byRoot.get(w.find((m) => byRoot.has(m))!)!);
      const content = pair.english.split(' ').filter((w) => w !== 'the' && w !== 'my');
      assert.equal(roots.length, content.length, `word count differs: ${pair.velmic} = ${pair.english}`);
      const free = [...roots];
      for (const w of content) {
        const k = free.findIndex((e) => englishForms(e).includes(w));
        assert.ok(k >= 0, `"${w}" has no Velmic root in: ${pair.velmic} = ${pair.english}`);
        free.splice(k, 1);
      }
      // Tense: the English verb is in the past form exactly when the Velmic verb has lo-.
      const verb = roots.find((e) => e.kind === 'verb');
      if (verb) {
        const past = pair.english.split(' ').includes(englishForms(verb)[2]);
        assert.equal(past, morphemes(pair.velmic).flat().includes(PAST), `tense differs: ${pair.velmic} = ${pair.english}`);
      }
      const mys = pair.english.split(' ').filter((w) => w === 'my').length;
      assert.equal(morphemes(pair.velmic).flat().filter((m) => m === `-${AFFIX.POSS}`).length, mys, `${pair.velmic} = ${pair.english}`);
    }
    const exWords = examples.map((e) => ({ words: morphemes(e.velmic), english: e.english.split(' ') }));
    const flat = exWords.flatMap((e) => e.words);
    for (const word of morphemes(target.velmic)) {
      for (const m of word) {
        const root = byRoot.get(m);
        if (root) {
          // Each root occurs in an example whose English shows one of its forms.
          const shown = exWords.some((e) => e.words.some((w) => w.includes(m)) && englishForms(root).some((f) => e.english.includes(f)));
          assert.ok(shown, `root ${m} (${root.gloss}) is not shown with its meaning\n${ctx}`);
        } else {
          // Each affix occurs ALONE on some example word, so its meaning can be isolated.
          assert.ok(flat.some((w) => w.includes(m) && w.length === 2), `affix ${m} never shown alone\n${ctx}`);
        }
      }
      // Stacked suffixes: their relative order is shown by some example word.
      const sfx = word.filter((m) => SUFFIXES.includes(m));
      for (let i = 0; i + 1 < sfx.length; i++) {
        assert.ok(flat.some((w) => w.indexOf(sfx[i]) >= 0 && w.indexOf(sfx[i]) < w.indexOf(sfx[i + 1])), `order ${sfx[i]} ${sfx[i + 1]} unseen\n${ctx}`);
      }
    }
    // Word-order rules used by the target are shown: SOV (an object word) and noun–adjective.
    const tw = morphemes(target.velmic);
    if (tw.some((w) => w.includes(`-${AFFIX.ACC}`))) assert.ok(flat.some((w) => w.includes(`-${AFFIX.ACC}`)), `no SOV example\n${ctx}`);
    if (tw.some((w) => byRoot.get(w[0])?.kind === 'adj')) assert.ok(flat.some((w) => byRoot.get(w[0])?.kind === 'adj'), `no adjective example\n${ctx}`);
    // Contrast: an affix the examples use is also missing somewhere (else it looks like part of a root).
    const nounWords = flat.filter((w) => byRoot.get(w.find((m) => byRoot.has(m))!)?.kind === 'noun');
    const verbWords = flat.filter((w) => byRoot.get(w.find((m) => byRoot.has(m))!)?.kind === 'verb');
    for (const a of [`-${AFFIX.PL}`, `-${AFFIX.POSS}`]) {
      if (nounWords.some((w) => w.includes(a))) assert.ok(nounWords.some((w) => !w.includes(a)), `${a} never absent\n${ctx}`);
    }
    if (verbWords.some((w) => w.includes(PAST))) assert.ok(verbWords.some((w) => !w.includes(PAST)), `${PAST} never absent\n${ctx}`);
  }
  // All three puzzle kinds occur in both splits.
  for (const set of [TRAIN, HELD]) assert.equal(new Set(set.map((x) => x.meta.kind)).size, 3);
});

test('conlang: split rule — reserved roots never in train; every held-out target uses one; no leakage', () => {
  const reservedRoots = new Set(VELMIC_LEXICON.filter((e) => e.reserved).map((e) => e.root));
  assert.equal(reservedRoots.size, 14);
  const reservedKeys = new Set(RESERVED_ROOTS);
  for (const it of TRAIN) {
    assert.ok(!it.meta.roots.some((r) => reservedKeys.has(r)), `reserved root in train meta: ${it.id}`);
    // From the text as well: no word of the question or the answer is built on a reserved root.
    const text = `${it.question}\n${it.answer}`.match(/[a-z]+/g)!;
    assert.ok(!text.some((w) => reservedRoots.has(w.replace(/^lo(?=.{4}$)/, '').slice(0, 4)) && parseVelmicWord(w)), `reserved root in train text: ${it.id}`);
  }
  for (const it of HELD) {
    const tw = morphemes(parse(it).target.velmic).flat();
    assert.ok(tw.some((m) => reservedRoots.has(m)), `held-out target without a reserved root: ${it.id}`);
  }
  const trainQ = new Set([...TRAIN, ...generateConlang('train', 800, 2)].map((x) => normalizeText(x.question)));
  assert.equal(HELD.filter((x) => trainQ.has(normalizeText(x.question))).length, 0);
});

test(`conlang: items are short (question + answer < ${MAX_ITEM_CHARS} chars)`, () => {
  for (const it of ALL) assert.ok(it.question.length + it.answer.length < MAX_ITEM_CHARS, it.id);
});

test('conlang: score() accepts the final answer in any case/spacing and rejects a wrong one', () => {
  for (const it of ALL.slice(0, 50)) {
    assert.equal(score(it, it.answer), true);
    assert.equal(score(it, `Words: ...\n####   ${it.final.toUpperCase().replace(/ /g, '  ')}\n`), true);
    // One morpheme wrong: drop the last character of the answer (a letter of a root or affix).
    assert.equal(score(it, `#### ${it.final.slice(0, -1)}`), false);
    assert.equal(score(it, `#### ${it.final} extra`), false);
  }
});

test('conlang: two sample items (for reviewers)', () => {
  for (const it of [TRAIN.find((x) => x.meta.kind === 'to_english')!, HELD.find((x) => x.meta.kind === 'to_velmic')!]) console.log(`--- ${it.id} [${it.meta.kind}; ${it.language}]\nQ: ${it.question}\nA: ${it.answer}`);
});
