// The exported rewards.py gives the lab's numbers: each case is scored by the TypeScript reward
// (src/rewards) and by rewards.py through TRL's signature (reward(prompts, completions, **columns)),
// run with python3. Cases include the places where JavaScript and Python differ and the port must
// follow the TypeScript: JS \s / trim (U+FEFF in, U+001C out), the i flag (no "ſ" for "s"), a "-" after
// a letter, Python's isdigit (superscripts), NFC, Python-syntax patterns. chrF needs sacrebleu, which
// may be absent: then only the chrF cases are skipped, saying so.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REWARDS, GROUP_REWARDS, type RlTaskFields, type Sample } from '../../../rewards/index.ts';
import { REWARDS_PY } from './rewards-py.ts';

interface Case {
  reward: string;
  output: string;
  reference?: string;
  task?: RlTaskFields;
  /** score the output as a conversational completion ([{role: assistant, content}]) in Python */
  chat?: boolean;
}
interface GroupCase {
  group: string[];
  reference: string;
}

const GSM = 'Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips altogether.\n#### 72';
const VELMIC = 'Words: vifu = mouse, favi = young.\nOrder: adjective after noun.\n#### vifu favi';
const STRICT = '<reasoning>\nHalf of 36 is 18.\n</reasoning>\n<answer>\n18\n</answer>\n';

const CASES: Case[] = [
  // exact
  { reward: 'exact', output: 'The total is 1000.\n#### 1,000', reference: '#### 1000' },
  { reward: 'exact', output: 'so ####  Velo-KA \nmore text', reference: 'velo-ka' },
  { reward: 'exact', output: 'no hash 42', reference: '42' },
  { reward: 'exact', output: '#### 36.', reference: '36' },
  { reward: 'exact', output: 'x ####\u00a0 5\ufeff', reference: '#### 5' }, // JS trim drops U+FEFF, Python's strip() would not
  { reward: 'exact', output: '#### 1,234,567', reference: '1234567' },
  { reward: 'exact', output: '#### 12,3456', reference: '123456' },
  { reward: 'exact', output: '#### a\u2003\u2003b', reference: 'A B' },
  { reward: 'exact', output: '#### 5\u001c', reference: '5' }, // U+001C: Python whitespace, not JS's
  { reward: 'exact', output: '#### 7', reference: '####   ' }, // no final answer: an error
  { reward: 'exact', output: '#### 7' }, // no reference: an error
  { reward: 'exact', output: 'it is\n#### 9', reference: '9', chat: true },
  // gsm8k
  { reward: 'gsm8k', output: 'She sold 72 clips.\n#### 72', reference: GSM },
  { reward: 'gsm8k', output: 'The answer: $1,000.00', reference: '1000' },
  { reward: 'gsm8k', output: 'ANSWER : 7 and later answer: 8', reference: '8' },
  { reward: 'gsm8k', output: 'an\u017fwer: 5 then 7', reference: '5' }, // "ſ" is no "s" for JS's i flag
  { reward: 'gsm8k', output: 'The result is 16-3 so', reference: '3' },
  { reward: 'gsm8k', output: 'x-5', reference: '-5' },
  { reward: 'gsm8k', output: '\u00e9-5', reference: '5' },
  { reward: 'gsm8k', output: '\u00bd-5', reference: '5' },
  { reward: 'gsm8k', output: 'owe -5', reference: '-5' },
  { reward: 'gsm8k', output: '#### 18.0', reference: '18' },
  { reward: 'gsm8k', output: '#### 1.2.3', reference: '#### 1.2.3' },
  { reward: 'gsm8k', output: 'Answer:\ufeff42 and 7', reference: '42' },
  { reward: 'gsm8k', output: 'Answer:\u001c42 and 7', reference: '42' },
  { reward: 'gsm8k', output: 'no numbers', reference: '5' },
  { reward: 'gsm8k', output: '5', reference: 'eighteen' },
  // gsm8k-format
  { reward: 'gsm8k-format', output: STRICT, reference: GSM.replace('72', '18').replace('#### 72', '#### 18') },
  { reward: 'gsm8k-format', output: `${STRICT}\n`, reference: '#### 18' },
  { reward: 'gsm8k-format', output: `${STRICT}\n\n`, reference: '#### 18' },
  { reward: 'gsm8k-format', output: '<reasoning>a</reasoning>\u001c<answer>18</answer> tail', reference: '18' },
  { reward: 'gsm8k-format', output: '<reasoning>a</reasoning> <answer>\u00b2</answer>', reference: '\u00b2' },
  { reward: 'gsm8k-format', output: '<answer>-3</answer>', reference: '#### -3' },
  { reward: 'gsm8k-format', output: 'plain 18', reference: '18.0' },
  // stoney-rubric
  { reward: 'stoney-rubric', output: '\u00c2ba  Ki', reference: 'A\u0302ba ki' },
  { reward: 'stoney-rubric', output: 'aba', reference: 'abd', task: { verification_pattern: '(?i)ABA' } },
  { reward: 'stoney-rubric', output: 'the Ba word', reference: 'ba', task: { hints: ['Ba', 'zz', ' '] } },
  { reward: 'stoney-rubric', output: 'abab', reference: 'abab', task: { verification_pattern: '(?P<x>ab)(?P=x)' } },
  { reward: 'stoney-rubric', output: 'x', reference: 'y', task: { verification_pattern: '(' } },
  { reward: 'stoney-rubric', output: '', reference: '' },
  { reward: 'stoney-rubric', output: 'îzârqe', reference: 'izarqe', task: { verification_pattern: '', hints: [] } },
  // steps
  { reward: 'steps', output: 'Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n#### 72', reference: GSM },
  { reward: 'steps', output: 'Words: vifu = mouse,  favi = old.\n#### vifu favi', reference: VELMIC },
  { reward: 'steps', output: 'In total:\u00a0 2.5 apples; 3 pears.\n#### 5.5', reference: 'In total: 2.5 apples, 3 pears.\n#### 5.5' },
  { reward: 'steps', output: 'nothing', reference: '#### 5' },
  { reward: 'steps', output: '#### 5', reference: GSM },
];

const GROUPS: GroupCase[] = [
  { group: ['Half is 18.\n#### 18', 'I think 18', 'Answer: 17', 'no idea'], reference: '#### 18' },
  { group: ['#### 3'], reference: '3' },
  { group: [`${'word '.repeat(450)}#### 18`, 'So 18.\n#### 18', '#### 20'], reference: '18' },
  { group: ['The sum 16-3 gives 13\n', 'Answer: 13', '13.0', '-13'], reference: '13' },
];

let dir = '';
let python: string | null = null;
let hasSacrebleu = false;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'lab-rewards-py-'));
  writeFileSync(join(dir, 'rewards.py'), REWARDS_PY);
  const v = spawnSync('python3', ['--version'], { encoding: 'utf8' });
  python = v.status === 0 ? 'python3' : null;
  hasSacrebleu = python !== null && spawnSync(python, ['-c', 'import sacrebleu'], { encoding: 'utf8' }).status === 0;
});
after(() => rmSync(dir, { recursive: true, force: true }));

type Score = number | 'error';

/** The TypeScript reward's value, or 'error' where it refuses the sample. */
function tsScore(c: Case): Score {
  const sample: Sample = { output: c.output, reference: c.reference, task: c.task };
  try {
    return REWARDS[c.reward as keyof typeof REWARDS](sample);
  } catch (e) {
    if ((e as Error).name === 'RewardInputError') return 'error';
    throw e;
  }
}

const HARNESS = String.raw`
import json, sys
sys.path.insert(0, sys.argv[1])
import rewards as R
spec = json.load(open(sys.argv[2], encoding="utf-8"))
out = {"cases": [], "groups": []}
for c in spec["cases"]:
    fn = R.trl_reward(c["reward"])
    completion = [{"role": "assistant", "content": c["output"]}] if c.get("chat") else c["output"]
    task = c.get("task") or {}
    try:
        out["cases"].append(fn(["a prompt"], [completion], reference=[c.get("reference")], verification_pattern=[task.get("verification_pattern")], hints=[task.get("hints")], trainer_state=None)[0])
    except R.RewardInputError:
        out["cases"].append("error")
# the groups one after another in one call, as TRL passes them: runs of equal prompts of length G
prompts, completions, refs = [], [], []
for k, g in enumerate(spec["groups"]):
    prompts += [[{"role": "user", "content": "p%d" % k}]] * len(g["group"])
    completions += g["group"]
    refs += [g["reference"]] * len(g["group"])
out["groups"] = R.trl_reward("regime-w", group_size=None)(prompts, completions, reference=refs)
print(json.dumps(out))
`;

function pyScores(cases: Case[]): { cases: Score[]; groups: number[] } {
  writeFileSync(join(dir, 'spec.json'), JSON.stringify({ cases, groups: GROUPS }));
  writeFileSync(join(dir, 'harness.py'), HARNESS);
  const r = spawnSync(python!, [join(dir, 'harness.py'), dir, join(dir, 'spec.json')], { encoding: 'utf8' });
  assert.equal(r.status, 0, `rewards.py failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { cases: Score[]; groups: number[] };
}

/** Equal where both refuse, or within 1e-12 (regime-w's exp may differ in the last bit between libms). */
function assertSame(ts: Score, pyv: Score, what: string): void {
  if (ts === 'error' || pyv === 'error') return assert.equal(pyv, ts, `${what}: TypeScript ${ts}, Python ${pyv}`);
  assert.ok(Math.abs(ts - pyv) <= 1e-12 * Math.max(1, Math.abs(ts)), `${what}: TypeScript ${ts}, Python ${pyv}`);
}

test('rewards.py gives the TypeScript rewards\' numbers (exact, gsm8k, gsm8k-format, stoney-rubric, steps) through TRL\'s signature', (t) => {
  if (!python) return t.skip('python3 not found: the Python side of the parity cannot run here');
  const py = pyScores(CASES);
  CASES.forEach((c, i) => assertSame(tsScore(c), py.cases[i], `${c.reward} case ${i} (${JSON.stringify(c.output.slice(0, 40))})`));
  // the cases must be able to fail: both sides see errors, zeros and ones
  const ts = CASES.map(tsScore);
  assert.ok(ts.includes('error') && ts.includes(0) && ts.includes(1), 'the fixture covers refusals, misses and hits');
});

test('regime-w in rewards.py scores each trajectory against its group as the TypeScript does, with groups found from runs of equal prompts', (t) => {
  if (!python) return t.skip('python3 not found: the Python side of the parity cannot run here');
  const py = pyScores([]);
  const ts = GROUPS.flatMap((g) => GROUP_REWARDS['regime-w'](g.group.map((output) => ({ output, reference: g.reference }))));
  assert.equal(py.groups.length, ts.length);
  ts.forEach((v, i) => assertSame(v, py.groups[i], `regime-w value ${i}`));
  assert.ok(new Set(ts.map((v) => v.toFixed(6))).size > 4, 'the groups give distinct values');
});

test('chrf and chrf++ in rewards.py equal the TypeScript (sacrebleu\'s sentence scores)', (t) => {
  if (!python) return t.skip('python3 not found: the Python side of the parity cannot run here');
  if (!hasSacrebleu) return t.skip('sacrebleu is not installed for python3 (pip install sacrebleu): the chrf / chrf++ parity cases are skipped; the other rewards were compared');
  const cases: Case[] = [];
  for (const reward of ['chrf', 'chrf++'])
    for (const [output, reference] of [['Qâ xtûsîn îzârqe.', 'Qâ xtûsîn îzârqe zaxí.'], ['the cat sat (on) the mat!', 'The cat sat on the mat.'], ['', 'abc'], ['𝒜b c', '𝒜b d']]) cases.push({ reward, output, reference });
  const py = pyScores(cases);
  cases.forEach((c, i) => assertSame(tsScore(c), py.cases[i], `${c.reward} case ${i}`));
});
