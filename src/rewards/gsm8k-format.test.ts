// gsm8k-format against the recipe's own Python functions (models/fixtures/rewards/gsm8k_format.json, made by
// tools/golden/make_reward_fixtures.py with Python's re/str): every part of every case equal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { extractXmlAnswer, gsm8kFormatParts, gsm8kFormatReward, hashAnswer } from './gsm8k-format.ts';
import { RewardInputError } from './types.ts';

interface Case { id: string; output: string; reference: string; correctness: number; integer: number; strict: number; soft: number }
const fx: { cases: Case[] } = JSON.parse(readFileSync(new URL('../../models/fixtures/rewards/gsm8k_format.json', import.meta.url), 'utf8'));

test(`the four parts equal the recipe's Python functions on ${fx.cases.length} cases`, () => {
  for (const c of fx.cases) {
    const got = gsm8kFormatParts({ output: c.output, reference: c.reference });
    const want = { correctness: c.correctness, integer: c.integer, strict: c.strict, soft: c.soft };
    assert.deepEqual({ correctness: got.correctness, integer: got.integer, strict: got.strict, soft: got.soft }, want, c.id);
    assert.equal(got.total, c.correctness + c.integer + c.strict + c.soft, c.id);
  }
});

test('a perfect completion scores 3.5; the parts are what the header says', () => {
  const out = '<reasoning>\n2 + 2 = 4\n</reasoning>\n<answer>\n4\n</answer>\n';
  assert.deepEqual(gsm8kFormatParts({ output: out, reference: 'so 2+2=4\n#### 4' }), { correctness: 2, integer: 0.5, strict: 0.5, soft: 0.5, total: 3.5 });
  assert.equal(gsm8kFormatReward({ output: out, reference: '4' }), 3.5);
  // Python's "$" accepts one extra final newline, not two
  assert.equal(gsm8kFormatParts({ output: out + '\n', reference: '4' }).strict, 0.5);
  assert.equal(gsm8kFormatParts({ output: out + '\n\n', reference: '4' }).strict, 0);
  assert.equal(extractXmlAnswer('<answer>1</answer><answer> 2 </answer>'), '2');
  assert.equal(extractXmlAnswer('no tags '), 'no tags');
  assert.equal(hashAnswer('x #### 5 #### 6'), '5');
  assert.throws(() => gsm8kFormatReward({ output: out }), RewardInputError);
});
