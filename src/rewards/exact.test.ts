import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exactFinalAnswer, exactReferenceAnswer, exactReward } from './exact.ts';
import { getTask, score } from '../tasks/index.ts';
import { RewardInputError } from './types.ts';

test("the final answer: the line after the LAST '####', whitespace collapsed, thousands commas dropped", () => {
  assert.equal(exactFinalAnswer('work\n#### 42'), '42');
  assert.equal(exactFinalAnswer('#### 7\nQuestion: more\n#### 1,234,567  \nQuestion: and more'), '1234567');
  assert.equal(exactFinalAnswer('####   velo   ka\t'), 'velo ka');
  assert.equal(exactFinalAnswer('####42'), '42'); // no space needed (unlike gsm8k's official rule)
  assert.equal(exactFinalAnswer('3,14 and 1,5'), null); // no "####"
  assert.equal(exactFinalAnswer('#### 3,14'), '3,14'); // not a thousands comma
  assert.equal(exactFinalAnswer('the answer is ####'), '');
});

test('the reference: its final answer, or all of it (trimmed, collapsed) when it has no "####"', () => {
  assert.equal(exactReferenceAnswer('2+2=4\n#### 4'), '4');
  assert.equal(exactReferenceAnswer('  velo \n ka '), 'velo ka');
  assert.equal(exactReferenceAnswer('1,000'), '1000');
  assert.throws(() => exactReferenceAnswer('work\n####  '), RewardInputError);
  assert.throws(() => exactReferenceAnswer('   '), RewardInputError);
  assert.throws(() => exactReward({ output: '#### 4' }), RewardInputError);
});

test('1 on an exact match (case ignored), 0 otherwise; an output with no "####" scores 0', () => {
  assert.equal(exactReward({ output: 'so #### 42', reference: '… #### 42' }), 1);
  assert.equal(exactReward({ output: '#### Velo-Ka', reference: '#### velo-ka' }), 1);
  assert.equal(exactReward({ output: '#### 1,000', reference: '1000' }), 1);
  assert.equal(exactReward({ output: '#### 42', reference: '42' }), 1);
  assert.equal(exactReward({ output: '42', reference: '42' }), 0); // no "####"
  assert.equal(exactReward({ output: '#### 42.', reference: '#### 42' }), 0);
  assert.equal(exactReward({ output: '#### 42.0', reference: '#### 42' }), 0);
  assert.equal(exactReward({ output: '#### velo ka', reference: '#### velo-ka' }), 0);
  assert.equal(exactReward({ output: '####', reference: '#### 42' }), 0);
  assert.equal(exactReward({ output: '', reference: '#### 42' }), 0);
});

test("every embedded task item scores 1 against its own answer and agrees with the task's score()", () => {
  for (const name of ['arithmetic', 'conlang']) {
    const task = getTask(name);
    for (const item of task.generate('heldout', 30, 7)) {
      assert.equal(exactReward({ output: item.answer, reference: item.answer }), 1, item.id);
      assert.equal(exactReward({ output: `#### ${item.final}`, reference: item.answer }), 1, item.id);
      assert.equal(exactReward({ output: `#### ${item.final}x`, reference: item.answer }), 0, item.id);
      for (const output of [item.answer, `#### ${item.final.toUpperCase()}`, `#### ${item.final}.`, item.final, '#### '])
        assert.equal(exactReward({ output, reference: item.answer }) === 1, score(item, output), `${item.id}: ${output}`);
    }
  }
});
