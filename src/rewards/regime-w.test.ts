// Regime W per trajectory, on synthetic outputs ("step step … #### n").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupAdvantages } from '../engine/rl/objective.ts';
import { REGIME_W_ARMS, regimeWParts, regimeWReward } from './regime-w.ts';
import { RewardInputError, type Sample } from './types.ts';

const near = (a: number, b: number, what = ''): void => assert.ok(Math.abs(a - b) <= 1e-12, `${what}: ${a} vs ${b}`);
/** k words of reasoning, then "#### answer" (k + 2 words in all). */
const out = (k: number, answer: string | number): string => `${'step '.repeat(k)}\n#### ${answer}`;
const group = (outputs: string[], reference = '#### 18'): Sample[] => outputs.map((output) => ({ output, reference }));

test('the arms: 4 precise and 4 reflective system prompts, each at temperatures 0.2, 0.3, 0.4, 0.5', () => {
  assert.equal(REGIME_W_ARMS.length, 8);
  for (const style of ['precise', 'reflective'] as const) {
    const arms = REGIME_W_ARMS.filter((a) => a.style === style);
    assert.deepEqual(arms.map((a) => a.temperature), [0.2, 0.3, 0.4, 0.5]);
    for (const a of arms) assert.match(a.system, /#### <number>/);
  }
  assert.equal(new Set(REGIME_W_ARMS.map((a) => a.id)).size, 8);
  assert.equal(new Set(REGIME_W_ARMS.map((a) => a.system)).size, 8);
  assert.ok(Object.isFrozen(REGIME_W_ARMS) && Object.isFrozen(REGIME_W_ARMS[0]));
});

test('s_end: the share of the OTHER trajectories with the same answer; 0 without an answer or alone', () => {
  const p = regimeWParts(group([out(10, 18), out(10, '18.0'), out(10, 17), 'no numbers here', 'Answer: 18']));
  assert.deepEqual(p.map((x) => x.answer), ['18', '18.0', '17', null, '18']);
  near(p[0].sEnd, 2 / 4); // 18.0 and the "Answer: 18" agree (gsm8k's numeric comparison); itself does not count
  near(p[1].sEnd, 2 / 4);
  near(p[4].sEnd, 2 / 4);
  near(p[2].sEnd, 0); // alone with 17: 0, not 1/5
  near(p[3].sEnd, 0); // no answer
  assert.equal(regimeWParts(group([out(10, 18)]))[0].sEnd, 0); // a group of 1
  assert.deepEqual(regimeWParts(group([out(10, 18), out(3, 18)])).map((x) => x.sEnd), [1, 1]);
  assert.deepEqual(regimeWParts(group(['no answer', 'none either'])).map((x) => x.sEnd), [0, 0]); // two "no answer"s do not agree
});

test('s_path: 1 at the median reasoning length, exp(−|len − median| / max(median, 1)) elsewhere', () => {
  const p = regimeWParts(group([out(10, 18), out(20, 18), out(40, 18)]));
  assert.deepEqual(p.map((x) => x.reasoningWords), [10, 20, 40]);
  near(p[1].sPath, 1);
  near(p[0].sPath, Math.exp(-10 / 20));
  near(p[2].sPath, Math.exp(-20 / 20));
  const even = regimeWParts(group([out(10, 1), out(20, 2), out(30, 3), out(40, 4)])); // median 25
  near(even[1].sPath, Math.exp(-5 / 25));
  near(even[3].sPath, Math.exp(-15 / 25));
  const short = regimeWParts(group([out(0, 18), out(0, 18), out(2, 18)])); // median 0: divided by 1
  near(short[0].sPath, 1);
  near(short[2].sPath, Math.exp(-2));
  // the reasoning ends where the answer's match starts; with no answer it is the whole output
  const forms = regimeWParts(group(['a b c Answer: 18', 'a b 7 c d 9', 'just some words here', out(4, 18)]));
  assert.deepEqual(forms.map((x) => x.reasoningWords), [3, 5, 4, 4]);
  assert.deepEqual(forms.map((x) => x.words), [5, 6, 4, 6]);
});

test('s_cf is the placeholder 0.5; s_wm = 0.4 s_end + 0.3 s_path + 0.3 s_cf; reward = ±correct + 0.7 s_wm − penalty', () => {
  const p = regimeWParts(group([out(10, 18), out(20, 18), out(40, 17), 'nothing']));
  for (const x of p) {
    assert.equal(x.sCf, 0.5);
    near(x.sWm, 0.4 * x.sEnd + 0.3 * x.sPath + 0.3 * 0.5);
    near(x.reward, (x.correct ? 1 : -0.5) + 0.7 * x.sWm);
  }
  assert.deepEqual(p.map((x) => x.correct), [true, true, false, false]);
  assert.deepEqual(regimeWReward(group([out(10, 18), out(20, 18), out(40, 17), 'nothing'])), p.map((x) => x.reward));
});

test('length penalty: 0.001 a word past 400 words of the whole output', () => {
  const alone = (k: number): number => regimeWParts(group([out(k, 18)]))[0].reward; // s_end 0, s_path 1: s_wm 0.45
  near(alone(398), 1 + 0.7 * 0.45); // 400 words: no penalty
  near(alone(399), 1 + 0.7 * 0.45 - 0.001); // 401 words
  near(alone(498), 1 + 0.7 * 0.45 - 0.1); // 500 words
  const wrong = regimeWParts(group([out(598, 17)]))[0]; // 600 words, wrong
  assert.equal(wrong.words, 600);
  near(wrong.reward, -0.5 + 0.7 * 0.45 - 0.2);
});

test('GRPO: per-trajectory Regime W gives non-zero advantages where the answers differ; the old group score gives none', () => {
  // one trajectory per arm: five say 18 (right), two say 17, one gives no answer; all equally long
  const samples = group([out(30, 18), out(30, 18), out(30, 18), out(30, 18), out(30, 18), out(30, 17), out(30, 17), 'step '.repeat(32)]);
  const r = regimeWReward(samples);
  assert.equal(r.length, REGIME_W_ARMS.length);
  for (const scale of ['group', 'none'] as const) {
    const adv = groupAdvantages(r, scale);
    assert.ok(adv.some((a) => Math.abs(a) > 0.1), `${scale}: ${[...adv]}`);
    for (let i = 0; i < 5; i++) assert.ok(adv[i] > 0, `right answer ${i}: ${adv[i]}`);
    for (let i = 5; i < 8; i++) assert.ok(adv[i] < 0, `wrong or no answer ${i}: ${adv[i]}`);
    assert.ok(adv[5] > adv[7], 'agreeing with one other beats no answer');
    // the original: one number for the whole group (here its mean), given to every member
    const groupScore = r.reduce((s, x) => s + x, 0) / r.length;
    const old = groupAdvantages(new Array(r.length).fill(groupScore), scale);
    for (const a of old) assert.ok(Math.abs(a) < 1e-9, `${scale}: old advantage ${a}`);
  }
  // all correct and agreeing, but of different lengths: s_path still tells them apart
  const lengths = groupAdvantages(regimeWReward(group([out(10, 18), out(30, 18), out(30, 18), out(90, 18)])));
  assert.ok(lengths[1] > 0 && lengths[2] > 0 && lengths[0] < 0 && lengths[3] < 0, `${[...lengths]}`);
});

test('every sample needs a reference; an empty group scores nothing', () => {
  assert.throws(() => regimeWReward([{ output: out(3, 18), reference: '18' }, { output: out(3, 18) }]), RewardInputError);
  assert.throws(() => regimeWReward(group([out(3, 18)], 'eighteen')), RewardInputError);
  assert.deepEqual(regimeWReward([]), []);
});
