// The registry, and the rule that lets the rewards run in the browser worker: no node: imports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { combineGroupRewards, GROUP_REWARDS, REWARDS, regimeWParts, RewardInputError, type Sample } from './index.ts';

test('every reward by name scores a sample', () => {
  const s = { output: '<reasoning>\nr\n</reasoning>\n<answer>\n4\n</answer>\n', reference: '#### 4' };
  assert.equal(REWARDS.gsm8k(s), 1);
  assert.equal(REWARDS['gsm8k-format'](s), 3.5);
  assert.equal(REWARDS.chrf({ output: 'tâ ṯî', reference: 'tâ ṯî' }), 100);
  assert.equal(REWARDS['chrf++']({ output: 'tâ ṯî', reference: 'tâ ṯî' }), 100);
  assert.equal(REWARDS['stoney-rubric']({ output: 'tâ ṯî', reference: 'tâ ṯî' }), 1);
  assert.equal(REWARDS.exact({ output: 'so\n#### velo-ka', reference: '#### velo-ka' }), 1);
  assert.equal(REWARDS.exact(s), 0); // no "####" in the output
});

test('every group reward by name scores a group, one value per sample', () => {
  const group: Sample[] = [{ output: 'a b\n#### 4', reference: '#### 4' }, { output: 'a b c\n#### 5', reference: '#### 4' }];
  assert.deepEqual(GROUP_REWARDS['regime-w'](group), regimeWParts(group).map((p) => p.reward));
});

test('combineGroupRewards: per-sample and group rewards with weights, per sample in order', () => {
  const group: Sample[] = [
    { output: 'a b\n#### 4', reference: '#### 4' },
    { output: 'a b\n#### 4', reference: '#### 4' },
    { output: 'a b c\n#### 5', reference: '#### 4' },
  ];
  const w = regimeWParts(group).map((p) => p.reward);
  const combined = combineGroupRewards([
    { name: 'exact', weight: 2, fn: REWARDS.exact },
    { name: 'regime-w', weight: 0.5, group: GROUP_REWARDS['regime-w'] },
  ])(group);
  assert.equal(combined.length, 3);
  combined.forEach((c, i) => {
    const e = i < 2 ? 1 : 0;
    assert.deepEqual(c.parts, { exact: e, 'regime-w': w[i] });
    assert.equal(c.total, 2 * e + 0.5 * w[i]);
  });
  assert.deepEqual(combineGroupRewards([{ name: 'exact', weight: 1, fn: REWARDS.exact }])([]), []);
});

test('combineGroupRewards: the same checks as combineRewards, and one value per sample from a group reward', () => {
  const fn = REWARDS.exact;
  const group = (samples: readonly Sample[]): number[] => samples.map(() => 1);
  const one: Sample[] = [{ output: '#### 4', reference: '4' }];
  assert.throws(() => combineGroupRewards([{ name: 'a', weight: 1, fn }, { name: 'a', weight: 1, group }]), RewardInputError);
  assert.throws(() => combineGroupRewards([{ name: 'a', weight: NaN, fn }]), RewardInputError);
  assert.throws(() => combineGroupRewards([{ name: 'a', weight: Infinity, group }]), RewardInputError);
  assert.throws(() => combineGroupRewards([{ name: 'a', weight: 1, fn, group } as never]), RewardInputError);
  assert.throws(() => combineGroupRewards([{ name: 'a', weight: 1 } as never]), RewardInputError);
  assert.throws(() => combineGroupRewards([{ name: 'a', weight: 1, fn: () => NaN }])(one), RewardInputError);
  assert.throws(() => combineGroupRewards([{ name: 'a', weight: 1, group: () => [Infinity] }])(one), RewardInputError);
  assert.throws(() => combineGroupRewards([{ name: 'a', weight: 1, group: () => [1, 2] }])(one), RewardInputError);
  assert.throws(() => combineGroupRewards([{ name: 'a', weight: 1, group: () => [] }])(one), RewardInputError);
});

test('src/rewards/ (tests aside) imports nothing from node', () => {
  const dir = new URL('./', import.meta.url);
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
  assert.ok(files.length >= 7);
  for (const f of files) assert.doesNotMatch(readFileSync(new URL(f, dir), 'utf8'), /from ['"]node:|require\(/, f);
});
