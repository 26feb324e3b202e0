// The registry, and the rule that lets the rewards run in the browser worker: no node: imports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { REWARDS } from './index.ts';

test('every reward by name scores a sample', () => {
  const s = { output: '<reasoning>\nr\n</reasoning>\n<answer>\n4\n</answer>\n', reference: '#### 4' };
  assert.equal(REWARDS.gsm8k(s), 1);
  assert.equal(REWARDS['gsm8k-format'](s), 3.5);
  assert.equal(REWARDS.chrf({ output: 'tâ ṯî', reference: 'tâ ṯî' }), 100);
  assert.equal(REWARDS['chrf++']({ output: 'tâ ṯî', reference: 'tâ ṯî' }), 100);
  assert.equal(REWARDS['stoney-rubric']({ output: 'tâ ṯî', reference: 'tâ ṯî' }), 1);
});

test('src/rewards/ (tests aside) imports nothing from node', () => {
  const dir = new URL('./', import.meta.url);
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
  assert.ok(files.length >= 7);
  for (const f of files) assert.doesNotMatch(readFileSync(new URL(f, dir), 'utf8'), /from ['"]node:|require\(/, f);
});
