// `lab manifest --template … --confirm`: nothing is declared without the user's confirmation, nothing is
// overwritten, and the manifest written approves exactly the confirmed files for the gate.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { governDataFile } from './governance-fs.ts';
import { runLab } from './lab-run.testlib.ts';

const tmp = mkdtempSync(join(tmpdir(), 'lab-manifest-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('lab manifest: a template only with --confirm, never over an existing manifest; the files it names then train', () => {
  const out = join(tmp, 'SOURCE_MANIFEST.yml');
  const data = join(tmp, 'gsm8k_train.jsonl');
  writeFileSync(data, '{"question": "1 + 1?", "answer": "#### 2"}\n');
  assert.equal(governDataFile(data).allowed, false, 'undeclared: refused');
  const ask = runLab(['manifest', '--template', 'gsm8k', '--path', 'gsm8k_*.jsonl', '--out', out], 60_000);
  assert.equal(ask.code, 2);
  assert.match(ask.stderr, /nothing written: .*Add --confirm if this is true: These files are \(rows of\) GSM8K as OpenAI published it/);
  assert.equal(existsSync(out), false);
  const ok = runLab(['manifest', '--template', 'gsm8k', '--path', 'gsm8k_*.jsonl', '--confirm', '--out', out], 60_000);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(readFileSync(out, 'utf8'), /license: MIT/);
  const d = governDataFile(data);
  assert.equal(d.allowed, true, d.reason);
  assert.deepEqual(d.inherited.sources, ['gsm8k_public', 'gsm8k_public_public_release']);
  const again = runLab(['manifest', '--template', 'gsm8k-platinum', '--path', 'x', '--confirm', '--out', out], 60_000);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /exists: a manifest is never overwritten/);
  const unknown = runLab(['manifest', '--template', 'stoney', '--path', 'x', '--confirm', '--out', join(tmp, 'y.yml')], 60_000);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /no template "stoney"/);
});
