// token-classes.ts on real generated items (src/tasks) tokenized by the lab's default model's tokenizer
// (models/lab-default: byte-level BPE, 1 024 tokens, digits one per token), as the model sees them:
// "Question: <question>\nAnswer:" and the worked answer after it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { tokenizerFromJSON } from '../model/tokenizer.ts';
import { qaPrompt } from '../train/data.ts';
import { generateArithmetic, type ArithItem } from '../../tasks/arithmetic.ts';
import { generateConlang, englishForms, parseVelmicWord, type ConlangItem } from '../../tasks/conlang.ts';
import { tokenSpans, tokensInRanges, mathClasses, operatorRanges, findVelmicWords, velmicClasses, itemClasses, type TokenSpans } from './token-classes.ts';

const dir = new URL('../../../models/lab-default/', import.meta.url);
const tok = tokenizerFromJSON({
  tokenizerJSON: JSON.parse(readFileSync(new URL('tokenizer.json', dir), 'utf8')),
  tokenizerConfig: JSON.parse(readFileSync(new URL('tokenizer_config.json', dir), 'utf8')),
});
/** Prompt + worked answer, tokenized, with spans. */
function encode(item: { question: string; answer: string }): { ids: number[]; spans: TokenSpans } {
  const ids = tok.encode(`${qaPrompt(item.question)} ${item.answer}`, { addSpecialTokens: true });
  return { ids, spans: tokenSpans(tok, ids) };
}
const piece = (s: TokenSpans, t: number) => s.text.slice(s.start[t], s.end[t]);
const on = (m: Uint8Array) => [...m.keys()].filter((i) => m[i]);
/** The whitespace-delimited word of the text around token t. */
function wordAt(s: TokenSpans, t: number): string {
  let a = s.start[t], b = s.end[t];
  while (a < b && /\s/.test(s.text[a])) a++;
  while (a > 0 && !/\s/.test(s.text[a - 1])) a--;
  while (b < s.text.length && !/\s/.test(s.text[b])) b++;
  return s.text.slice(a, b);
}

const ARITH = generateArithmetic('heldout', 60, 2) as ArithItem[];
const CONLANG = [...generateConlang('heldout', 60, 2), ...generateConlang('train', 60, 1)] as ConlangItem[];

test('token spans tile the decoded text; each ASCII token\'s span is its own decoding; split UTF-8 goes to the completing token', () => {
  for (const it of [ARITH[0], CONLANG[0]]) {
    const { ids, spans } = encode(it);
    assert.equal(Array.from(ids, (_, t) => piece(spans, t)).join(''), spans.text);
    ids.forEach((id, t) => assert.equal(piece(spans, t), tok.decode([id])));
  }
  const ids = tok.encode('6 × 7 = 42 ÷ 1 — é', { addSpecialTokens: true });
  const s = tokenSpans(tok, ids);
  assert.equal(s.text, '6 × 7 = 42 ÷ 1 — é');
  assert.equal(Array.from(ids, (_, t) => piece(s, t)).join(''), s.text);
  assert.ok(ids.some((id, t) => tok.decode([id]).includes('\ufffd') && piece(s, t) === ''), 'some byte token holds part of a character');
  const ops = on(mathClasses(s).operators).map((t) => piece(s, t).trim());
  assert.deepEqual(ops.join('|').replace(/\|/g, ''), '×=÷', 'operators × = ÷ (not the dash)');
});

test('arithmetic items: number tokens are exactly the tokens containing a digit; operators are the steps\' symbols, not << >> or hyphens', () => {
  for (const it of ARITH) {
    const { ids, spans } = encode(it);
    const { numbers, operators } = mathClasses(spans);
    ids.forEach((id, t) => assert.equal(numbers[t], /\d/.test(tok.decode([id])) ? 1 : 0));
    // each answer line "a*b = <<a*b=c>>c" writes its operator twice and "=" twice
    const answerAt = spans.text.indexOf('Answer:');
    const answerOps = operatorRanges(spans.text).filter(([a]) => a > answerAt).map(([a, b]) => spans.text.slice(a, b));
    assert.deepEqual(answerOps.sort(), it.meta.steps.flatMap((st) => [st.op, st.op, '=', '=']).sort(), it.id);
    for (const t of on(operators)) assert.match(piece(spans, t), /[-+*/=]/);
    assert.ok(!on(operators).some((t) => /^\s*(<<|>>)\s*$/.test(piece(spans, t))));
  }
  assert.deepEqual(operatorRanges('yo-yos cost 5-2 <<5-2=3>> a<b'), [[13, 14], [19, 20], [21, 22], [27, 28]]);
  assert.deepEqual(findVelmicWords(ARITH.map((i) => `${i.question} ${i.answer}`).join(' ')), [], 'no arithmetic word parses as Velmic');
});

test('a Velmic phrase puzzle, by hand: asked "black wolves", aligned example words of vivu = wolf and sefa = black', () => {
  const it = generateConlang('heldout', 1, 2)[0];
  assert.match(it.question, /Give the Velmic for: the black wolves$/); // the item this test was written from
  const { spans } = encode(it);
  const c = velmicClasses(it, spans);
  assert.deepEqual(c.groups.map((g) => [g.key, g.root, g.gloss]), [['adj:6', 'sefa', 'black'], ['noun:5', 'vivu', 'wolf']]);
  assert.deepEqual(on(c.asked).map((t) => piece(spans, t)), [' black', ' wolves']);
  assert.deepEqual([...new Set(on(c.alignedEnglish).map((t) => piece(spans, t)))].sort(), [' black', ' wolf', ' wolves']);
  // Velmic example words holding vivu or sefa: every noun word here is a vivu form; "vereka" (basket) and the verbs are not
  const words = [...new Set(on(c.alignedVelmic).map((t) => wordAt(spans, t)))].sort();
  assert.deepEqual(words, ['sefa', 'vivu', 'vivuka', 'vivuri', 'vivurika', 'vivusu']);
  assert.ok(on(c.aligned).every((t) => c.alignedVelmic[t] || c.alignedEnglish[t]));
  // affix pieces: tokens holding ri / su / ka / lo inside Velmic words ("vusu", "rika", " lovi", " lo", "vuka", "ka", ...)
  const pure = on(tokensInRanges(spans, findVelmicWords(spans.text).flatMap((w) => w.affixes), 'all')).map((t) => piece(spans, t).trim());
  assert.ok(pure.includes('ka') && pure.includes('lo'), pure.join('|'));
});

test('Velmic items (120, both splits): every aligned token sits in an example word of an asked root or gloss, every asked root is shown', () => {
  for (const it of CONLANG) {
    const { spans } = encode(it);
    const c = velmicClasses(it, spans);
    const qAt = spans.text.indexOf(it.question), taskAt = qAt + it.question.lastIndexOf('\n');
    assert.ok(c.groups.length > 0, it.id);
    for (const g of c.groups) {
      const entry = it.meta.lexicon.find((e) => e.root === g.root)!;
      assert.ok(g.velmic.length > 0 && g.english.length > 0, `${it.id}: ${g.root} = ${g.gloss} is shown in the examples`);
      assert.ok(g.asked.length > 0 && g.asked.every((t) => spans.start[t] >= taskAt), `${it.id}: asked ${g.root} in the task line`);
      for (const t of g.velmic) {
        const parts = parseVelmicWord(wordAt(spans, t));
        assert.ok(parts?.includes(g.root) && spans.end[t] <= taskAt, `${it.id}: "${wordAt(spans, t)}" holds ${g.root}`);
      }
      for (const t of g.english) assert.ok(englishForms(entry).includes(wordAt(spans, t)) && spans.end[t] <= taskAt, `${it.id}: "${wordAt(spans, t)}" glosses ${g.root}`);
    }
    // every Velmic word found is built on this puzzle's roots (no English word parses as Velmic)
    const roots = new Set(it.meta.lexicon.map((e) => e.root));
    for (const w of findVelmicWords(spans.text)) assert.ok(roots.has(spans.text.slice(...w.root)), `${it.id}: ${w.word}`);
    for (const t of on(c.affixPieces)) assert.ok(parseVelmicWord(wordAt(spans, t))!.length > 1, `${it.id}: affix token in "${wordAt(spans, t)}"`);
    const all = itemClasses(it, spans);
    assert.deepEqual(Object.keys(all).sort(), ['affixPieces', 'aligned', 'alignedEnglish', 'alignedVelmic', 'asked', 'numbers', 'operators', 'roots', 'velmicWords']);
    assert.equal(all.numbers.length, spans.start.length);
  }
  const a = encode(ARITH[0]);
  assert.deepEqual(Object.keys(itemClasses(ARITH[0], a.spans)), ['numbers', 'operators']);
});

test('a prompt that does not match its item\'s meta is refused, not guessed', () => {
  const it = generateConlang('heldout', 1, 2)[0];
  const { spans } = encode(it);
  const wrong = structuredClone(it);
  wrong.meta.examples[0].past = !wrong.meta.examples[0].past;
  assert.throws(() => velmicClasses(wrong, spans), /example line 1/);
  assert.throws(() => velmicClasses(generateConlang('heldout', 2, 2)[1], spans), /does not contain this item's question/);
});
