// The Analyze page's embedded sets are the bytes `lab tasks --items` writes, with the same provenance
// record (so report.json's sha256 and provenance match a CLI run on the same task, n and seed); a picked
// file's bad line is named file:line before anything runs; the settings' checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tasksCommand } from '../../cli/tasks.ts';
import { parseTaskRows } from '../../engine/analysis/task-rows.ts';
import { reportTerms, type AdapterTerms } from '../../engine/analysis/report-terms.ts';
import { DEFAULT_SETTINGS, analysisSet, embeddedFile, embeddedSet, fileChoice, settingsProblems, withManifest } from './sets.ts';
import { exportProblem } from '../../engine/train/governance.ts';

test('an embedded set is what lab tasks --split heldout --items writes, with its provenance record', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lab-analyze-sets-'));
  try {
    for (const task of ['arithmetic', 'conlang'] as const) {
      const out = join(dir, embeddedFile(task, 7, 3));
      await tasksCommand(['--task', task, '--split', 'heldout', '--n', '7', '--seed', '3', '--items', '--out', out]);
      const set = await embeddedSet(task, task === 'conlang' ? 'Velmic' : 'arithmetic', 7, 3);
      assert.equal(set.text, readFileSync(out, 'utf8'), `${task}: same bytes`);
      assert.deepEqual(set.provenance, JSON.parse(readFileSync(`${out}.provenance.json`, 'utf8')), `${task}: same provenance record`);
      assert.equal(set.file, embeddedFile(task, 7, 3));
      const rows = parseTaskRows(set.text, set.file);
      assert.equal(rows.length, 7);
      assert.ok(rows.every((r) => r.task === task && typeof r.question === 'string' && typeof r.answer === 'string'));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a picked file: rows counted, a bad line named file:line, no provenance record', async () => {
  const good = fileChoice('mine.jsonl', '{"question":"q1","answer":"a #### 1"}\n\n{"question":"q2","answer":"b #### 2"}\n', 'mine');
  assert.equal(good.kind === 'file' && good.rows, 2);
  assert.equal(good.kind === 'file' && good.problem, undefined);
  const set = await analysisSet(good, DEFAULT_SETTINGS);
  assert.deepEqual(set, { label: 'mine', file: 'mine.jsonl', text: good.kind === 'file' ? good.text : '', provenance: null });
  const marked = fileChoice('m.jsonl', '{"question":"The dog ran.","answer":"a","marks":{"aligned":["dog"]}}\n{"question":"A cat.","answer":"b","marks":{"aligned":[]}}\n', 'm');
  assert.deepEqual([marked.kind === 'file' && marked.marks, marked.kind === 'file' && marked.problem], [['aligned'], undefined]);
  const unmarked = fileChoice('m.jsonl', '{"question":"The dog ran.","answer":"a","marks":{"aligned":["cat"]}}\n{"question":"A cat.","answer":"b"}\n', 'm');
  assert.match(unmarked.kind === 'file' ? unmarked.problem ?? '' : '', /^m\.jsonl:1: marks\.aligned: "cat" does not occur/);
  const bad = fileChoice('bad.jsonl', '{"question":"q1","answer":"a"}\n{"question":"q2"}\n', 'bad');
  assert.equal(bad.kind === 'file' && bad.problem, 'bad.jsonl:2: needs "question" and "answer" strings');
  const notJson = fileChoice('x.jsonl', '{"question":"q1","answer":"a"}\n{oops\n', 'x');
  assert.equal(notJson.kind === 'file' && notJson.problem, 'x.jsonl:2: not valid JSON');
  const one = fileChoice('one.jsonl', '{"question":"q1","answer":"a"}\n', 'one');
  assert.match((one.kind === 'file' && one.problem) || '', /at least 2 prompts/);
});

test('settings: whole numbers in range', () => {
  assert.deepEqual(settingsProblems(DEFAULT_SETTINGS), {});
  const p = settingsProblems({ ...DEFAULT_SETTINGS, n: 1, seed: -1, nBoot: NaN, nPerm: 2.5 });
  assert.deepEqual(Object.keys(p).sort(), ['n', 'nBoot', 'nPerm', 'seed']);
});

test('a picked file with its manifest: the report set carries the decision, and a report of it inherits the strictest terms', async () => {
  const rows = '{"question": "a?", "answer": "#### 1"}\n{"question": "b?", "answer": "#### 2"}\n';
  const m = (prohibited: string) =>
    `schema_version: "1.0"\nrecords:\n  - {source_id: my_rows, path_glob: "rows.jsonl", data_type: qa, origin: me, rights_holder: me, permission_status: internal_only, license: none, allowed_uses: [analysis], prohibited_uses: [${prohibited}], contains_sensitive_content: true, review_contact: me, notes: ""}\n`;
  const base = fileChoice('rows.jsonl', rows, 'mine');
  assert.equal(base.kind, 'file');
  const plain = await analysisSet(base, DEFAULT_SETTINGS);
  assert.equal(plain.provenance, null, 'no manifest: no provenance record (the report says so)');
  const governed = withManifest(base as Extract<typeof base, { kind: 'file' }>, { name: 'SOURCE_MANIFEST.yml', text: m('upload, public_release'), path: 'rows.jsonl' });
  const set = await analysisSet(governed, DEFAULT_SETTINGS);
  const p = set.provenance as { schema: string; decision: { inherited: { sources: string[] } } };
  assert.equal(p.schema, 'lab-source-terms-v1');
  assert.deepEqual(p.decision.inherited.sources, ['my_rows']);
  const task = (file: string, provenance: Record<string, unknown> | null) => ({ label: file, file, n: 2, rows: 2, sha256: '', provenance, examples: [] });
  const own = { schema: 'lab-task-provenance-v1' };
  const report = (a: Record<string, unknown> | null | undefined, b: Record<string, unknown> | null, adapter: { name: string; terms?: AdapterTerms } | null = null) =>
    ({ tasks: { a: task('a.jsonl', a ?? null), b: task('b.jsonl', b) }, adapter });
  const terms = reportTerms([report(set.provenance, own)])!;
  assert.deepEqual(terms.inherited, { prohibited_uses: ['public_release', 'upload'], contains_sensitive_content: true, sources: ['my_rows'], release_approved: false });
  assert.deepEqual(terms.undeclared, []);
  assert.equal(reportTerms([report(own, own)]), null, "the lab's own sets on the base model: nothing to inherit");
  // a picked file with no record: undeclared, and a report of it does not leave the lab
  const undeclared = reportTerms([report(own, null)])!;
  assert.deepEqual([undeclared.undeclared, undeclared.inherited.release_approved], [['b.jsonl'], false]);
  assert.match(exportProblem(undeclared) ?? '', /b\.jsonl has no declared terms/);
  // the adapter's data counts too: own sets with an adapter trained on approved-for-training-only data
  const adapterTerms = { inherited: { prohibited_uses: [], contains_sensitive_content: false, sources: ['rows'], release_approved: false } };
  const withAdapter = reportTerms([report(own, own, { name: 'run x', terms: adapterTerms })])!;
  assert.deepEqual([withAdapter.adapters, withAdapter.inherited.sources], [[{ name: 'run x', sources: ['rows'] }], ['rows']]);
  assert.match(exportProblem(withAdapter) ?? '', /approved_for_public_release/);
  // a diff of two reports inherits both
  assert.deepEqual(reportTerms([report(own, own, { name: 'run x', terms: adapterTerms }), report(set.provenance, own)])!.inherited.sources, ['my_rows', 'rows']);
  // exporting such a report is what the export gate refuses
  assert.match(exportProblem(terms) ?? '', /prohibit public_release, upload/);
});
