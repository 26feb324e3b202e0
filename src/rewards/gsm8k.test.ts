import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { extractGsm8kAnswer, gsm8kAnswersEqual, gsm8kReferenceAnswer, gsm8kReward, locateGsm8kAnswer, officialGsm8kAnswer } from './gsm8k.ts';
import { RewardInputError } from './types.ts';

test("official extraction: the first '#### n' (one space), commas removed", () => {
  assert.equal(officialGsm8kAnswer('so 9*2=<<9*2=18>>18\n#### 18'), '18');
  assert.equal(officialGsm8kAnswer('#### 1,234,567'), '1234567');
  assert.equal(officialGsm8kAnswer('#### -3.5\nQuestion: …\n#### 99'), '-3.5');
  assert.equal(officialGsm8kAnswer('####18'), null); // the official regex wants one space
  assert.equal(officialGsm8kAnswer('#### $18'), null);
});

test("fallbacks: the last 'Answer: n', else the last number; which rule found it is reported", () => {
  assert.deepEqual(extractGsm8kAnswer('Answer: 5. Wait, no. Answer: $1,200'), { answer: '1200', how: 'answer' });
  assert.deepEqual(extractGsm8kAnswer('answer:-7'), { answer: '-7', how: 'answer' });
  assert.deepEqual(extractGsm8kAnswer('16-3-4 = 9 eggs, 9*2 = 18 dollars.'), { answer: '18', how: 'last-number' });
  assert.deepEqual(extractGsm8kAnswer('from 10 down to -4'), { answer: '-4', how: 'last-number' });
  assert.deepEqual(extractGsm8kAnswer('she had 16-3'), { answer: '3', how: 'last-number' }); // a hyphen after a digit is no sign
  assert.deepEqual(extractGsm8kAnswer('x2'), { answer: '2', how: 'last-number' });
  assert.deepEqual(extractGsm8kAnswer('#### 4\nAnswer: 5'), { answer: '4', how: 'hash' });
  assert.deepEqual(extractGsm8kAnswer('no numbers here'), { answer: null, how: null });
});

test('locate: the same answer as extract, and where the match it came from starts', () => {
  assert.deepEqual(locateGsm8kAnswer('a b\n#### 1,800\n#### 9'), { answer: '1800', how: 'hash', index: 4 });
  assert.deepEqual(locateGsm8kAnswer('Answer: 5. no, answer: 6'), { answer: '6', how: 'answer', index: 15 });
  assert.deepEqual(locateGsm8kAnswer('from 10 down to -4'), { answer: '-4', how: 'last-number', index: 16 });
  assert.deepEqual(locateGsm8kAnswer('nothing'), { answer: null, how: null, index: -1 });
  for (const t of ['#### 4\nAnswer: 5', 'x2', 'she had 16-3', '####18 then 19', '']) {
    const { index, ...rest } = locateGsm8kAnswer(t);
    assert.deepEqual(rest, extractGsm8kAnswer(t), t);
    assert.ok(index >= -1 && index < Math.max(t.length, 1), t);
  }
});

test('numeric comparison: 18 = 18.0 = 18. and 1,000 = 1000; 18.01 ≠ 18; non-numbers compare as strings', () => {
  assert.ok(gsm8kAnswersEqual('18', '18.0'));
  assert.ok(gsm8kAnswersEqual('18.', '18'));
  assert.ok(gsm8kAnswersEqual('.5', '0.5'));
  assert.ok(gsm8kAnswersEqual('-0', '0'));
  assert.ok(!gsm8kAnswersEqual('18.01', '18'));
  assert.ok(!gsm8kAnswersEqual('1.2.3', '1.2'));
  assert.ok(gsm8kAnswersEqual('1.2.3', '1.2.3'));
  assert.equal(gsm8kReward({ output: 'The total is 1,000.0 dollars', reference: '#### 1000' }), 1);
  assert.equal(gsm8kReward({ output: '#### 18.0', reference: '18' }), 1);
  assert.equal(gsm8kReward({ output: '#### 17', reference: '18' }), 0);
  assert.equal(gsm8kReward({ output: 'I do not know', reference: '18' }), 0);
  assert.equal(gsm8kReward({ output: '', reference: '18' }), 0);
});

test('the reference: a GSM8K answer or a bare number; anything else is an error', () => {
  assert.equal(gsm8kReferenceAnswer('work\n#### 1,500'), '1500');
  assert.equal(gsm8kReferenceAnswer(' 42 '), '42');
  assert.throws(() => gsm8kReferenceAnswer('forty-two'), RewardInputError);
  assert.throws(() => gsm8kReward({ output: '1' }), RewardInputError);
});

test('every GSM8K reference answer scores 1 against itself and 0 against its answer + 1 (shared sample, read only)', (t) => {
  const file = new URL('../../../shared/data/gsm8k/test.jsonl', import.meta.url);
  if (!existsSync(file)) return t.skip('../shared/data/gsm8k/test.jsonl is not here');
  const rows = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { answer: string });
  for (const r of rows) {
    assert.equal(gsm8kReward({ output: r.answer, reference: r.answer }), 1);
    const n = Number(gsm8kReferenceAnswer(r.answer));
    assert.equal(gsm8kReward({ output: `#### ${n + 1}`, reference: r.answer }), 0);
  }
});
