import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validationReward, verdictValue, type Validation } from './validations.ts';
import { combineRewards, RewardInputError } from './types.ts';
import { gsm8kReward } from './gsm8k.ts';

const stored: Validation[] = [
  { prompt: 'say hello', output: 'hâ', verdict: 'good' },
  { prompt: 'say hello', output: 'ha', verdict: 'bad' },
  { prompt: 'say hello', output: 'hâwa', verdict: 'good' },
  { prompt: 'say hello', output: 'hâwa', verdict: 0.5 }, // a second speaker, graded
];

test("verdicts: 'good' 1, 'bad' 0, a number in [0, 1] itself; several of one output → their mean", () => {
  const r = validationReward(stored);
  assert.equal(r({ prompt: 'say hello', output: 'hâ' }), 1);
  assert.equal(r({ prompt: 'say hello', output: 'ha' }), 0);
  assert.equal(r({ prompt: 'say hello', output: 'hâwa' }), 0.75);
  assert.equal(r({ prompt: 'say hello', output: 'ha\u0302' }), 1); // NFD output finds the NFC validation
  assert.throws(() => verdictValue(1.5), RewardInputError);
  assert.throws(() => verdictValue('fine' as never), RewardInputError);
});

test('an unvalidated output is an error unless a value for it is given; a sample needs its prompt', () => {
  assert.throws(() => validationReward(stored)({ prompt: 'say hello', output: 'other' }), /no speaker has validated/);
  assert.equal(validationReward(stored, { unvalidated: 0.25 })({ prompt: 'say hello', output: 'other' }), 0.25);
  assert.equal(validationReward(stored, { unvalidated: 0.25 })({ prompt: 'another prompt', output: 'hâ' }), 0.25);
  assert.throws(() => validationReward(stored)({ output: 'hâ' }), RewardInputError);
});

test('combineRewards: per-reward values and the weighted total; duplicate names, bad weights and NaN are errors', () => {
  const combined = combineRewards([
    { name: 'speakers', weight: 0.5, fn: validationReward([{ prompt: 'p', output: '#### 3', verdict: 'good' }]) },
    { name: 'gsm8k', weight: 2, fn: gsm8kReward },
  ]);
  assert.deepEqual(combined({ prompt: 'p', output: '#### 3', reference: '3' }), { total: 2.5, parts: { speakers: 1, gsm8k: 1 } });
  const f = () => 1;
  assert.throws(() => combineRewards([{ name: 'a', weight: 1, fn: f }, { name: 'a', weight: 1, fn: f }]), RewardInputError);
  assert.throws(() => combineRewards([{ name: 'a', weight: NaN, fn: f }]), RewardInputError);
  assert.throws(() => combineRewards([{ name: 'a', weight: 1, fn: () => NaN }])({ output: '' }), /returned NaN/);
});
