import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stepClauses, stepsReward } from './steps.ts';
import { RewardInputError } from './types.ts';
import { getTask } from '../tasks/index.ts';

const velmic = 'Words: vifu = mouse, favi = young, lefi = swim.\nRules: -ri = plural; -su = my; lo- = past; adjective after noun.\n#### vifurisu favi lolefi';

test('clauses: labels dropped, split at ", " "; " and sentence full stops, lower-cased; nothing after the last "####"', () => {
  assert.deepEqual(stepClauses(velmic), ['vifu = mouse', 'favi = young', 'lefi = swim', '-ri = plural', '-su = my', 'lo- = past', 'adjective after noun']);
  // decimals and the calculator annotation stay whole; the label goes
  assert.deepEqual(stepClauses('In total: 2.5*4 = <<2.5*4=10>>10  Cups.\n#### 10'), ['2.5*4 = <<2.5*4=10>>10 cups']);
  assert.deepEqual(stepClauses('#### 4'), []);
  assert.deepEqual(stepClauses('no answer line, just words'), ['no answer line', 'just words']);
});

test('F1 over clauses with multiplicity: the whole reference scores 1, each right root pair adds credit', () => {
  assert.equal(stepsReward({ output: velmic, reference: velmic }), 1);
  // one of the three root pairs wrong (the Velmic model's usual error): 6 of 7 clauses on each side
  const oneWrong = velmic.replace('favi = young', 'favi = mouse');
  assert.equal(stepsReward({ output: oneWrong, reference: velmic }), (2 * 6) / 14);
  // order is not scored; a repeated clause counts once against a reference that has it once
  const reordered = 'Words: lefi = swim, vifu = mouse, favi = young.\nRules: adjective after noun; lo- = past; -su = my; -ri = plural.\n#### x';
  assert.equal(stepsReward({ output: reordered, reference: velmic }), 1);
  assert.equal(stepsReward({ output: 'Words: vifu = mouse, vifu = mouse.', reference: 'Words: vifu = mouse.' }), (2 * 1) / 3);
  assert.equal(stepsReward({ output: '#### vifurisu favi lolefi', reference: velmic }), 0); // no steps
  assert.equal(stepsReward({ output: '', reference: velmic }), 0);
});

test('bad references are errors that say why', () => {
  assert.throws(() => stepsReward({ output: 'a' }), RewardInputError);
  assert.throws(() => stepsReward({ output: 'a', reference: '#### 4' }), /steps: the reference has no worked steps/);
});

test("every embedded task item's answer scores 1 against itself and below 1 against another item's", () => {
  for (const name of ['arithmetic', 'conlang']) {
    const items = getTask(name).generate('heldout', 20, 5);
    for (const it of items) assert.equal(stepsReward({ output: it.answer, reference: it.answer }), 1, it.answer);
    for (let i = 1; i < items.length; i++) assert.ok(stepsReward({ output: items[i - 1].answer, reference: items[i].answer }) < 1);
  }
});
