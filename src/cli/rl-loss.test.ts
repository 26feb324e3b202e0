// `lab rl-loss --in <file.json> --out <file.json>` as a script uses it: the fixture's first case gives
// numpy's advantages, losses and gradient; bad input is one `lab:` line naming the field and index.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runLab } from './lab-run.testlib.ts';
import { assertAllClose } from '../engine/testing/allclose.ts';

const tmp = mkdtempSync(join(tmpdir(), 'lab-rl-loss-'));
const fixture = JSON.parse(readFileSync(join(ROOT, 'models/fixtures/rl/objective.json'), 'utf8'));
const first = fixture.cases[0];

function lab(...args: string[]) {
  const r = runLab(args, 60_000);
  return { ...r, stderr: r.stderr.split('\n').filter((l) => l.startsWith('lab:')).join('\n') };
}

test('rl-loss on the fixture\'s first case writes {advantages, loss_sequence_mean, loss_token_mean, grad_logp} equal to numpy', () => {
  const inPath = join(tmp, 'in.json'), out = join(tmp, 'out.json');
  // the form: epsilon_high and scale_rewards are optional (the first case uses their defaults)
  const { epsilon_high, scale_rewards, ...inputs } = first.inputs;
  assert.equal(epsilon_high, inputs.epsilon);
  assert.equal(scale_rewards, 'group');
  writeFileSync(inPath, JSON.stringify(inputs));
  const r = lab('rl-loss', '--in', inPath, '--out', out);
  assert.equal(r.code, 0, r.stderr);
  const got = JSON.parse(readFileSync(out, 'utf8'));
  assert.deepEqual(Object.keys(got).sort(), ['advantages', 'grad_logp', 'loss_sequence_mean', 'loss_token_mean']);
  const tol = { atol: 1e-15, rtol: 1e-12 };
  assertAllClose(got.advantages, first.expected.advantages, tol, 'advantages');
  assertAllClose([got.loss_sequence_mean, got.loss_token_mean], [first.expected.loss_sequence_mean, first.expected.loss_token_mean], tol, 'losses');
  assert.equal(got.grad_logp.length, inputs.mask.length);
  assertAllClose(got.grad_logp.flat(), first.expected.grad_logp.flat(), tol, 'grad_logp');
});

test('rl-loss: ragged rows, a row with no counted token, NaN and G < 2 are one error line naming the field', () => {
  const cases: [string, (x: any) => void, RegExp][] = [
    ['ragged', (x) => x.ref_logp[1].push(0), /ref_logp\[1\] has 9 entries; expected T = 8/],
    ['empty row', (x) => (x.mask[2] = x.mask[2].map(() => 0)), /mask\[2\] has no masked-in token/],
    ['G < 2', (x) => { x.rewards = [1]; }, /"rewards" has 1 entry; a group needs G ≥ 2/],
  ];
  for (const [name, edit, re] of cases) {
    const x = structuredClone(first.inputs);
    edit(x);
    const inPath = join(tmp, `bad-${name}.json`);
    writeFileSync(inPath, JSON.stringify(x));
    const r = lab('rl-loss', '--in', inPath, '--out', join(tmp, 'bad.json'));
    assert.equal(r.code, 1, `${name}: ${r.stderr}`);
    assert.match(r.stderr, re, name);
    assert.equal(r.stderr.split('\n').length, 1, name);
  }
  const nan = join(tmp, 'bad-nan.json');
  writeFileSync(nan, JSON.stringify(first.inputs).replace(/"rewards":\[[^,\]]+/, '"rewards":[NaN'));
  const r = lab('rl-loss', '--in', nan, '--out', join(tmp, 'bad.json'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^lab: RlInputError: rewards\[0\] is NaN; expected a finite number$/);
  const u = lab('rl-loss', '--in', nan);
  assert.equal(u.code, 2);
  assert.match(u.stderr, /--in <file.json> and --out <file.json> are required/);
});
