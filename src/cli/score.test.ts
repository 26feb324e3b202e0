// `lab score` in the exact form on small temp files: chrF / chrF++ equal sacrebleu's (the reward
// fixture), gsm8k and stoney-rubric means, and bad rows answered by one stderr line naming file and line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runLab } from './lab-run.testlib.ts';

const tmp = mkdtempSync(join(tmpdir(), 'lab-score-'));
const fx = JSON.parse(readFileSync(join(ROOT, 'models/fixtures/rewards/chrf.json'), 'utf8'));
const jsonl = (rows: unknown[]): string => rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';

function score(metric: string, rows: unknown[]): { code: number; stderr: string; out?: { sentence: number[]; corpus: number } } {
  const data = join(tmp, `${metric}.jsonl`), out = join(tmp, `${metric}.json`);
  writeFileSync(data, jsonl(rows));
  const r = runLab(['score', '--metric', metric, '--data', data, '--out', out], 60_000);
  const stderr = r.stderr.split('\n').filter((l) => l.startsWith('lab')).join('\n');
  return { code: r.code, stderr, out: r.code === 0 ? JSON.parse(readFileSync(out, 'utf8')) : undefined };
}

test('chrf and chrf++: every sentence and the corpus equal sacrebleu (the fixture pairs)', () => {
  const rows = fx.pairs.map((p: { hyp: string; ref: string }) => ({ hyp: p.hyp, ref: p.ref }));
  for (const [metric, key] of [['chrf', 'chrf'], ['chrf++', 'chrfpp']]) {
    const r = score(metric, rows);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(Object.keys(r.out!).sort(), ['corpus', 'sentence']);
    assert.deepEqual(r.out!.sentence, fx.pairs.map((p: Record<string, number>) => p[key]));
    assert.equal(r.out!.corpus, fx.corpus[key]);
  }
});

test('gsm8k and stoney-rubric: per-row rewards and their mean; rubric rows may carry verification_pattern and hints', () => {
  const g = score('gsm8k', [{ hyp: 'so #### 18.0', ref: 'work\n#### 18' }, { hyp: 'Answer: 7', ref: '8' }, '', { hyp: 'it is 1,000', ref: '1000' }]);
  assert.equal(g.code, 0, g.stderr);
  assert.deepEqual(g.out, { sentence: [1, 0, 1], corpus: 2 / 3 });
  const s = score('stoney-rubric', [
    { hyp: 'tâṯî', ref: 'Tâṯî', verification_pattern: '^tâ' },
    { hyp: 'tâṯî', ref: 'tâṯî', verification_pattern: '', hints: ['ṯî', 'ẖû'] },
    { hyp: 'ûṯ', ref: 'ûṯ' },
  ]);
  assert.equal(s.code, 0, s.stderr);
  assert.deepEqual(s.out!.sentence, [1, (6 + 3 + 0.5) / 10, 1]);
});

test('bad input: one line naming the file and line, exit 2', () => {
  const cases: [string, unknown[], RegExp][] = [
    ['chrf', [{ hyp: 'a', ref: 'a' }, '{not json'], /chrf\.jsonl:2: not valid JSON/],
    ['gsm8k', [{ hyp: 'a' }], /gsm8k\.jsonl:1: needs "ref"/],
    ['gsm8k', [{ hyp: '1', ref: '1' }, { hyp: '1', ref: 'forty' }], /gsm8k\.jsonl:2: gsm8k: the reference has no "#### <number>"/],
    ['stoney-rubric', [{ hyp: 'a', ref: 'a', hints: 'ṯî' }], /stoney-rubric\.jsonl:1: "hints" must be an array of strings/],
    ['stoney-rubric', [{ hyp: 'a', ref: 'a', verification_pattern: '(' }], /stoney-rubric\.jsonl:1: .*verification_pattern/],
    ['chrf++', [], /no rows/],
  ];
  for (const [metric, rows, want] of cases) {
    const r = score(metric, rows);
    assert.equal(r.code, 2, `${metric}: ${r.stderr}`);
    assert.match(r.stderr, want);
    assert.equal(r.stderr.split('\n').length, 1);
  }
  const r = runLab(['score', '--metric', 'bleu', '--data', 'x', '--out', 'y'], 60_000);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--metric must be one of gsm8k, chrf, chrf\+\+, stoney-rubric/);
});
