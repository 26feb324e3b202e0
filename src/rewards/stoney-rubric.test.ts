// stoney-rubric on synthetic strings (invented syllables in a Stoney-like orthography; no Stoney data).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { charBagF1, compileVerificationPattern, rubricNormalize, stoneyRubricParts, stoneyRubricReward } from './stoney-rubric.ts';
import { RewardInputError } from './types.ts';

const near = (a: number, b: number, what = ''): void => assert.ok(Math.abs(a - b) <= 1e-12, `${what}: ${a} vs ${b}`);

test('normalisation: NFC, lower case, whitespace collapsed; ʼ and \' stay different', () => {
  assert.equal(rubricNormalize('  TÂṮÎ\t ẖû\n'), 'tâṯî ẖû');
  assert.equal(rubricNormalize('ta\u0302'), 'tâ'); // NFD → NFC
  assert.notEqual(rubricNormalize('kʼa'), rubricNormalize("k'a"));
});

test('char-bag F1 ignores spaces and order; counts code points', () => {
  near(charBagF1('ab c', 'cba'), 1);
  near(charBagF1('aab', 'ab'), (2 * (2 / 3) * 1) / (2 / 3 + 1)); // P 2/3, R 1
  near(charBagF1('', ''), 1);
  near(charBagF1('', 'a'), 0);
  near(charBagF1('xyz', 'abc'), 0);
});

test('0.6 exact + 0.3 charF1 + 0.1 pattern', () => {
  const task = { verification_pattern: '^mî\\s+\\S+$', hints: ['ignored when a pattern is given'] };
  const perfect = stoneyRubricParts({ output: 'mî  ṮÂwa', reference: 'mî ṯâwa', task });
  assert.deepEqual(perfect, { exact: 1, charF1: 1, verification: 1, verificationKind: 'pattern', total: 1 });
  // the pattern sees the output's own case (it may say (?i)); exact and charF1 do not
  assert.deepEqual(stoneyRubricParts({ output: 'Mî ṯâwa', reference: 'mî ṯâwa', task }).verification, 0);
  const partial = stoneyRubricParts({ output: 'mî ṯawa', reference: 'mî ṯâwa', task });
  assert.equal(partial.exact, 0);
  near(partial.charF1, (2 * (5 / 6) * (5 / 6)) / (5 / 6 + 5 / 6), 'charF1');
  near(partial.total, 0.3 * partial.charF1 + 0.1, 'total');
  assert.equal(stoneyRubricParts({ output: 'ṯâwa mî', reference: 'mî ṯâwa', task }).verification, 0);
});

test('pattern: searched anywhere, NFC, Python (?i) and (?P<name>) translated; a broken one is an error', () => {
  assert.ok(compileVerificationPattern('(?i)ẖû').test('TÂ ẖû'.normalize('NFC')));
  assert.ok(compileVerificationPattern('(?i)ẖû').test('ẖÛ'));
  assert.ok(compileVerificationPattern('(?P<w>ka)-(?P=w)').test('x ka-ka y'));
  assert.ok(compileVerificationPattern('a\\-b').test('a-b')); // valid only without the u flag
  // an NFD pattern still matches an NFC output, and the reverse
  assert.equal(stoneyRubricParts({ output: 'sâ', reference: 'x', task: { verification_pattern: 'sa\u0302' } }).verification, 1);
  assert.equal(stoneyRubricParts({ output: 'sa\u0302', reference: 'x', task: { verification_pattern: 'sâ' } }).verification, 1);
  assert.throws(() => stoneyRubricReward({ output: 'a', reference: 'a', task: { verification_pattern: '(unclosed' } }), RewardInputError);
});

test('hints when the pattern is empty: the share present in the output (normalised substrings)', () => {
  const task = { verification_pattern: '', hints: ['ṮÂ', 'gâ  îẖ', 'absent', '  '] };
  const p = stoneyRubricParts({ output: 'ṯâwa gâ îẖ', reference: 'ṯâwa gâ îẖ', task });
  assert.equal(p.verificationKind, 'hints');
  near(p.verification!, 2 / 3); // the blank hint is dropped
  near(p.total, 0.6 + 0.3 + 0.1 * (2 / 3));
});

test('no pattern and no hints: exact and charF1 keep their proportions, a perfect answer scores 1', () => {
  const p = stoneyRubricParts({ output: 'ûṯ', reference: 'ûṯ', task: { verification_pattern: '', hints: [] } });
  assert.deepEqual(p, { exact: 1, charF1: 1, verification: null, verificationKind: 'none', total: 1 });
  near(stoneyRubricReward({ output: 'ûx', reference: 'ûṯ' }), (0.3 * 0.5) / 0.9);
  assert.throws(() => stoneyRubricReward({ output: 'a' }), RewardInputError);
});
