// The validation session's pure parts: the item files the page reads, the edits a speaker makes (a rating
// is of one output and never moves to another), progress, and the store that writes every change through
// to the device and gives it back after a reload. Synthetic strings with Stoney characters, no real data.
//
//   node tools/run-node.mjs --test --test-concurrency=1 src/app/validate/session.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { memoryKv } from '../kept.testlib.ts';
import { applyEdit, nextUnjudged, parseItemsJsonl, progressOf, ratedOutput, type ItemSource, type ValidationItem } from './session.ts';
import { judgementKey, SESSION_KEY, type SessionKv } from './persist.ts';
import { createValidateStore } from './validateStore.ts';
import { promptsOf, requestFor } from './generate.ts';

const jsonl = (...rows: unknown[]) => rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n');
const NOW = '2026-12-01T10:00:00.000Z';

test('item files: {prompt, output}, {prompt, outputs}, a lab grpo samples line; NFC; bad lines reported and skipped', () => {
  const text = jsonl(
    { prompt: 'Say "thank you" in Stoney', output: 'îsqoxes' },
    { prompt: 'p2', outputs: ['qâṯẖax', 'zîzâx'] },
    { prompt: 'p3', outputs: ['same', 'same', 'other', 'third'] }, // repeats dropped, the first two different kept
    { step: 3, line: 7, prompt: 'p4', completions: [{ text: 'ûŋ', reward: 1 }, { text: 'ûŋ' }, { text: 'qâx' }] },
    '',
    { prompt: 'p5' },
    { output: 'no prompt' },
    'not json',
    { prompt: 'p6', outputs: ['  ', ''] },
    { prompt: 'a\u0302', output: 't\u0331h\u0331' }, // decomposed: comes out composed
  );
  const { items, problems, samples } = parseItemsJsonl(text, 'items.jsonl', 'fabc');
  assert.deepEqual(items.map((it) => it.outputs), [['îsqoxes'], ['qâṯẖax', 'zîzâx'], ['same', 'other'], ['ûŋ', 'qâx'], ['ṯẖ']]);
  assert.deepEqual(items.map((it) => it.id), ['fabc:1', 'fabc:2', 'fabc:3', 'fabc:4', 'fabc:10']);
  assert.equal(items[4].prompt, 'â');
  assert.equal(samples, true);
  assert.deepEqual(problems.map((p) => p.line), [6, 7, 8, 9]);
  assert.match(problems[0].message, /^items\.jsonl:6: expected \{"prompt", "output"\}/);
  assert.match(problems[1].message, /no "prompt"/);
  assert.match(problems[3].message, /no non-empty output/);
});

const one: ValidationItem = { id: 's:1', prompt: 'p', outputs: ['qâx'], source: 's', line: 1 };
const two: ValidationItem = { id: 's:2', prompt: 'q', outputs: ['îzâ', 'ûŋ'], source: 's', line: 2 };

test('edits: a rating is of the only output, or of the chosen one of two; a changed choice clears it', () => {
  let j = applyEdit(one, undefined, { rating: 'correct' }, NOW)!;
  assert.equal(j.rating, 'correct');
  assert.equal(j.updatedAt, NOW);
  assert.equal(ratedOutput(one, j), 'qâx');
  assert.equal(applyEdit(one, j, { choice: 'A' }, NOW), null, 'one output: nothing to choose');

  assert.equal(applyEdit(two, undefined, { rating: 'wrong' }, NOW), null, 'two outputs, none chosen: no rating yet');
  j = applyEdit(two, undefined, { choice: 'B' }, NOW)!;
  j = applyEdit(two, j, { rating: 'partly' }, NOW)!;
  assert.equal(ratedOutput(two, j), 'ûŋ');
  assert.equal(applyEdit(two, j, { choice: 'B' }, NOW)!.rating, 'partly', 'the same choice keeps the rating');
  const other = applyEdit(two, j, { choice: 'A' }, NOW)!;
  assert.deepEqual([other.choice, other.rating], ['A', null], 'the rating was of B: it must not become a rating of A');
  assert.equal(applyEdit(two, j, { rating: null }, NOW)!.rating, null, 'a rating can be taken back');
  j = applyEdit(two, j, { correction: 'îzâ ṯẖe' }, NOW)!;
  j = applyEdit(two, j, { comment: 'a dialect word' }, NOW)!;
  assert.deepEqual([j.correction, j.comment, j.choice, j.rating], ['îzâ ṯẖe', 'a dialect word', 'B', 'partly']);
});

test('progress and the next unjudged item', () => {
  const items = [one, two, { ...one, id: 's:3' }];
  const judgements = { 's:1': applyEdit(one, undefined, { rating: 'wrong' }, NOW)!, 's:3': applyEdit(one, undefined, { comment: ' ' }, NOW)! };
  assert.deepEqual(progressOf(items, judgements), { total: 3, judged: 1, rated: 1, chosen: 0, corrected: 0 }, 'a blank comment is not a judgement');
  assert.equal(nextUnjudged(items, judgements, 0), 1);
  assert.equal(nextUnjudged(items, judgements, 1), 2);
  assert.equal(nextUnjudged([one], { 's:1': judgements['s:1'] }, 0), -1);
});

const kvWithClear = (): SessionKv & { map: Map<string, unknown> } => {
  const kv = memoryKv();
  return { ...kv, clear: async () => kv.map.clear() };
};
const source = (id: string, name = 'items.jsonl'): ItemSource => ({ id, kind: 'file', name, loadedAt: NOW, sha256: 'ab'.repeat(32), items: 0, terms: null });

test('the store writes every change through: a new store on the same storage (a reload) has the whole session back', async () => {
  const kv = kvWithClear();
  const a = createValidateStore(kv, () => NOW);
  await a.getState().init();
  const { items } = parseItemsJsonl(jsonl({ prompt: 'p1', output: 'qâx' }, { prompt: 'p2', outputs: ['îzâ', 'ûŋ'] }), 'items.jsonl', 'f1');
  assert.deepEqual(await a.getState().addItems(source('f1'), items), { added: 2, skipped: 0 });
  assert.deepEqual(await a.getState().addItems(source('f1'), items), { added: 0, skipped: 2 }, 'the same file again adds nothing');
  const s = a.getState();
  s.edit('f1:1', { rating: 'correct' });
  s.edit('f1:2', { choice: 'A' });
  s.edit('f1:2', { rating: 'wrong' });
  for (const t of ['ṯ', 'ṯẖ', 'ṯẖâ']) s.edit('f1:2', { correction: t }); // keystrokes
  s.edit('f1:2', { comment: 'synthetic' });
  s.go(1);
  await s.flushed();
  assert.equal(a.getState().sources[0].items, 2);

  const b = createValidateStore(kv);
  await b.getState().init();
  const r = b.getState();
  assert.deepEqual(r.items, a.getState().items);
  assert.deepEqual(r.judgements, a.getState().judgements);
  assert.deepEqual(r.judgements['f1:2'], { rating: 'wrong', choice: 'A', correction: 'ṯẖâ', comment: 'synthetic', updatedAt: NOW });
  assert.equal(r.position, 1);
  assert.equal(r.unreadable, 0);

  // an entry this version cannot read is left where it is, never deleted: it is a speaker's work
  kv.map.set(judgementKey('f1:1'), { schema: 'lab-validate-judgement-v9', rating: 'good' });
  const c = createValidateStore(kv);
  await c.getState().init();
  assert.equal(c.getState().unreadable, 1);
  assert.equal(c.getState().judgements['f1:1'], undefined);
  assert.ok(kv.map.has(judgementKey('f1:1')));

  await c.getState().clearAll();
  assert.equal(kv.map.size, 0);
  assert.equal(c.getState().items.length, 0);
});

test('a failed write is shown, not swallowed; without storage the store still works and says nothing is kept', async () => {
  const kv = kvWithClear();
  const s = createValidateStore({ ...kv, set: async (k, v) => (k.startsWith('validate:j:') ? Promise.reject(new Error('QuotaExceededError')) : kv.set(k, v)) });
  await s.getState().init();
  await s.getState().addItems(source('f2'), [one].map((it) => ({ ...it, id: 'f2:1', source: 'f2' })));
  s.getState().edit('f2:1', { rating: 'partly' });
  await s.getState().flushed();
  assert.match(s.getState().saveError ?? '', /Not saved on this device: QuotaExceededError/);
  assert.ok(kv.map.has(SESSION_KEY));

  const none = createValidateStore(null);
  await none.getState().init();
  assert.equal(none.getState().kept, false);
  await none.getState().addItems(source('f3'), [{ ...one, id: 'f3:1', source: 'f3' }]);
  none.getState().edit('f3:1', { rating: 'correct' });
  assert.equal(none.getState().judgements['f3:1'].rating, 'correct');
});

test('generating items: prompts one a line (NFC); asked as the Generate panel asks; one greedy output or two seeded samples', () => {
  assert.deepEqual(promptsOf(' Say qâx \n\nSay u\u0302ŋ\n'), ['Say qâx', 'Say ûŋ']);
  const o = { prompts: ['Say qâx'], outputs: 2 as const, maxNewTokens: 16 };
  assert.deepEqual(requestFor('Say qâx', true, o, 0, 1), { messages: [{ role: 'user', content: 'Say qâx' }], maxNewTokens: 16, sampling: { kind: 'sample', temperature: 0.8, seed: 2 } });
  assert.deepEqual(requestFor('Say qâx', false, { ...o, outputs: 1 }, 3, 0), { prompt: 'Question: Say qâx\nAnswer:', maxNewTokens: 16, sampling: { kind: 'greedy' } });
});
