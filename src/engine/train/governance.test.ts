// Default-deny governance of training data by the user's source manifest. Synthetic manifests here;
// the user's own manifest from ../shared/data/stoney/ when present (skipped, saying so, otherwise).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decideProvenance, decideTraining, decideUpload, EMBEDDED_DECISION, EMBEDDED_TASKS, globToRegExp, parseManifest, GovernanceError, CULTURAL_CONTEXT_NOTICE, exportProblem, strictestTerms, TASK_GENERATOR, type SourceRecord } from './governance.ts';
import { TASKS } from '../../tasks/index.ts';

const rec = (id: string, glob: string, status: string, allowed: string[], prohibited: string[], sensitive = false) =>
  `  - source_id: ${id}\n    path_glob: "${glob}"\n    data_type: t\n    origin: o\n    rights_holder: r\n    permission_status: ${status}\n    license: l\n` +
  `    allowed_uses: [${allowed.join(', ')}]\n    prohibited_uses: [${prohibited.join(', ')}]\n    contains_sensitive_content: ${sensitive}\n    review_contact: c\n    notes: ""\n`;
const manifest = (...records: string[]) => `schema_version: "1.0"\nrecords:\n${records.join('')}`;

test('globs: * stays in a folder, ** crosses folders, ? is one character', () => {
  assert.ok(globToRegExp('data/*.jsonl').test('data/a.jsonl'));
  assert.ok(!globToRegExp('data/*.jsonl').test('data/x/a.jsonl'));
  assert.ok(globToRegExp('data/**/*.jsonl').test('data/x/y/a.jsonl'));
  assert.ok(globToRegExp('data/**/*.jsonl').test('data/a.jsonl'));
  assert.ok(globToRegExp('v?.txt').test('v1.txt') && !globToRegExp('v?.txt').test('v12.txt'));
  assert.ok(!globToRegExp('a.b').test('axb'), 'dots are literal');
});

test('default-deny: unmatched, unknown, prohibited or restricted data is refused; approved data is allowed', () => {
  const recs = parseManifest(
    manifest(
      rec('raw', 'raw/*.jsonl', 'unknown', [], ['training', 'upload']),
      rec('chat', 'chat/*.jsonl', 'approved_for_training', ['training'], ['upload', 'public_release'], true),
      rec('chat_pub', 'chat/*.jsonl', 'approved_for_public_release', ['upload', 'public_release'], []),
      rec('pending', 'pending/*.jsonl', 'removed_pending_review', ['training'], []),
      rec('internal', 'internal/*.jsonl', 'internal_only', ['training'], []),
    ),
    'M.yml',
  );
  const d = (path: string) => decideTraining(recs, path, 'M.yml');
  assert.match(d('other/x.jsonl').reason, /no record matches other\/x\.jsonl.*default-deny/);
  assert.equal(d('other/x.jsonl').allowed, false);
  assert.match(d('raw/x.jsonl').reason, /record raw prohibits training/);
  assert.match(d('pending/x.jsonl').reason, /pending is removed_pending_review/);
  assert.match(d('internal/x.jsonl').reason, /no record approves training .*internal: internal_only/);
  const ok = d('chat/x.jsonl');
  assert.equal(ok.allowed, true, ok.reason);
  // the trained artifact inherits the strictest terms of every matching record
  assert.deepEqual(ok.inherited, { prohibited_uses: ['public_release', 'upload'], contains_sensitive_content: true, sources: ['chat', 'chat_pub'], release_approved: true });
});

test('a bad manifest is an error naming the file and the record', () => {
  assert.throws(() => parseManifest('records: [', 'M.yml'), (e: unknown) => e instanceof GovernanceError && /M\.yml: not valid YAML/.test((e as Error).message));
  assert.throws(() => parseManifest('records: []', 'M.yml'), /M\.yml: a source manifest needs a non-empty "records" list/);
  assert.throws(() => parseManifest(manifest(rec('x', 'a', 'approved', [], [])), 'M.yml'), /M\.yml: record 1 \(x\): permission_status "approved" is not one of/);
  assert.throws(() => parseManifest('records:\n  - source_id: y\n    path_glob: a\n', 'M.yml'), /record 1 \(y\): missing data_type/);
});

test("the user's own manifest (shared/data/stoney): the approved fine-tuning files train, the raw dictionaries never do", (t) => {
  const file = join(new URL('../../../../shared/data/stoney/', import.meta.url).pathname, 'SOURCE_MANIFEST.upstream.yml');
  if (!existsSync(file)) {
    t.skip(`../shared/data/stoney/SOURCE_MANIFEST.upstream.yml is absent on this machine: not checked`);
    return;
  }
  const recs = parseManifest(readFileSync(file, 'utf8'), file);
  const ok = decideTraining(recs, 'OpenAIFineTune/stoney_valid.jsonl', file);
  assert.equal(ok.allowed, true, ok.reason);
  assert.ok(ok.inherited.prohibited_uses.includes('upload') && ok.inherited.contains_sensitive_content, 'adapters trained on it may not be uploaded');
  assert.equal(decideTraining(recs, 'Dictionaries/stoney_dictionary.jsonl', file).allowed, false);
  // the sample's local file name is in no record: refused until the user places it where the manifest says
  assert.equal(decideTraining(recs, 'stoney_valid_first100.jsonl', file).allowed, false);
  // Stoney material: the cultural-context notice goes with the decision and everything made from it
  assert.equal(ok.inherited.cultural_context, CULTURAL_CONTEXT_NOTICE);
});

test('a record whose permission_status the schema does not know is refused by name, even when it bypasses parseManifest', () => {
  const recs = parseManifest(manifest(rec('chat', 'chat/*.jsonl', 'approved_for_training', ['training'], [])), 'M.yml');
  const forged = [{ ...recs[0], source_id: 'odd', permission_status: 'approved_for_everything' } as unknown as SourceRecord];
  const d = decideTraining(forged, 'chat/x.jsonl', 'M.yml');
  assert.equal(d.allowed, false);
  assert.match(d.reason, /record odd has permission_status "approved_for_everything", which is not one of .*: refused/);
  // a path outside the manifest's folder is never governed by it, whatever its globs
  const all = parseManifest(manifest(rec('all', '**', 'approved_for_training', ['training'], [])), 'M.yml');
  assert.equal(decideTraining(all, '../elsewhere/x.jsonl', 'M.yml').allowed, false);
  assert.match(decideTraining(all, 'x/../../y.jsonl', 'M.yml').reason, /not below the manifest's folder|no record/);
});

test('decideUpload (the page): a picked file trains only with a manifest picked with it that approves its path', () => {
  const text = manifest(rec('chat', 'chat/*.jsonl', 'approved_for_training', ['training'], ['upload'], true), rec('raw', 'raw/*.jsonl', 'unknown', [], ['training']));
  const none = decideUpload({ name: 'mine.jsonl', text: '{}' });
  assert.equal(none.allowed, false);
  assert.match(none.reason, /mine\.jsonl: no source manifest was given with this file; training is default-deny\. To declare a source's terms, choose its SOURCE_MANIFEST\.yml \(schema: source_manifest\.schema\.json\).*approved_for_training.*allowed_uses include training/);
  assert.equal(decideUpload({ name: 'mine.jsonl', manifest: null }).allowed, false);
  const ok = decideUpload({ name: 'mine.jsonl', manifest: { text, name: 'SOURCE_MANIFEST.yml', path: './chat/mine.jsonl' } });
  assert.equal(ok.allowed, true, ok.reason);
  assert.equal(ok.path, 'chat/mine.jsonl');
  assert.deepEqual(ok.inherited, { prohibited_uses: ['upload'], contains_sensitive_content: true, sources: ['chat'], release_approved: false });
  assert.match(decideUpload({ name: 'r.jsonl', manifest: { text, name: 'M.yml', path: 'raw/r.jsonl' } }).reason, /record raw prohibits training/);
  assert.match(decideUpload({ name: 'o.jsonl', manifest: { text, name: 'M.yml', path: 'other/o.jsonl' } }).reason, /no record matches other\/o\.jsonl.*choose its SOURCE_MANIFEST\.yml/);
  for (const path of ['../chat/x.jsonl', '/chat/x.jsonl', 'chat/../../x.jsonl', '', 'C:\\chat\\x.jsonl']) {
    const d = decideUpload({ name: 'x.jsonl', manifest: { text, name: 'M.yml', path } });
    assert.equal(d.allowed, false, `${path}: ${d.reason}`);
  }
  const bad = decideUpload({ name: 'x.jsonl', manifest: { text: manifest(rec('chat', 'chat/*.jsonl', 'approved', ['training'], [])), name: 'M.yml', path: 'chat/x.jsonl' } });
  assert.equal(bad.allowed, false);
  assert.match(bad.reason, /M\.yml: record 1 \(chat\): permission_status "approved" is not one of/);
});

test('the embedded task sets are the lab\'s own synthetic data, approved; a generated file is recognised by its sha256 only', () => {
  assert.deepEqual([...EMBEDDED_TASKS].sort(), TASKS.map((t) => t.name).sort(), 'every embedded task set, and only those');
  for (const t of EMBEDDED_TASKS) {
    const d = EMBEDDED_DECISION(t);
    assert.equal(d.allowed, true);
    assert.deepEqual(d.inherited, { prohibited_uses: [], contains_sensitive_content: false, sources: [`lab_tasks_${t}`], release_approved: true });
  }
  assert.equal(EMBEDDED_DECISION('stoney').allowed, false);
  const record = JSON.stringify({ schema: 'lab-task-provenance-v1', generator: TASK_GENERATOR, task: 'arithmetic', split: 'train', seed: 1, n: 3, items: false, synthetic: true, contains_sensitive_content: false, file: 'a.jsonl', bytes: 10, sha256: 'ab12' });
  assert.equal(decideProvenance(record, 'ab12', 'a.jsonl', 'a.jsonl.provenance.json').decision?.allowed, true);
  const edited = decideProvenance(record, 'ff00', 'a.jsonl', 'a.jsonl.provenance.json');
  assert.equal(edited.decision, null);
  assert.match(edited.note, /does not match the file's content/);
  assert.equal(decideProvenance(record.replace('"synthetic":true', '"synthetic":false'), 'ab12', 'a.jsonl', 'p').decision, null);
  assert.equal(decideProvenance('not json', 'ab12', 'a.jsonl', 'p').decision, null);
});

test('Local Contexts labels and notices (the Hub API\'s project form) ride on a record, go to what is trained, and are checked by name', () => {
  const lc = `    local_contexts:\n      unique_id: p-1\n      title: Test project\n      tk_labels:\n        - {unique_id: tk-a, name: "TK Attribution (TK A)", label_type: attribution, label_text: "Attribute the community.", community: {name: Test Community}}\n      bc_labels:\n        - {unique_id: bc-p, name: "BC Provenance (BC P)", label_type: provenance, label_text: "Of this place."}\n      notice:\n        - {name: "Attribution Incomplete", notice_type: attribution_incomplete, default_text: "Some attribution is missing."}\n`;
  const recs = parseManifest(manifest(rec('a', 'a/*.jsonl', 'approved_for_training', ['training'], []) + lc, rec('a2', 'a/*.jsonl', 'approved_for_training', ['training'], []) + lc), 'M.yml');
  const d = decideTraining(recs, 'a/x.jsonl', 'M.yml');
  assert.equal(d.allowed, true, d.reason);
  assert.deepEqual(d.inherited.local_contexts?.map((l) => [l.kind, l.id, l.name, l.type, l.text, l.community]), [
    ['tk_label', 'tk-a', 'TK Attribution (TK A)', 'attribution', 'Attribute the community.', 'Test Community'],
    ['bc_label', 'bc-p', 'BC Provenance (BC P)', 'provenance', 'Of this place.', null],
    ['notice', null, 'Attribution Incomplete', 'attribution_incomplete', 'Some attribution is missing.', null],
  ], 'the union of both records, each label once');
  assert.equal(d.inherited.cultural_context, CULTURAL_CONTEXT_NOTICE, 'labelled material carries the cultural-context notice');
  // a record without labels and without Stoney words carries neither
  const plain = decideTraining(parseManifest(manifest(rec('p', 'p/*.jsonl', 'approved_for_training', ['training'], [])), 'M.yml'), 'p/x.jsonl', 'M.yml');
  assert.equal(plain.inherited.local_contexts, undefined);
  assert.equal(plain.inherited.cultural_context, undefined);
  assert.throws(() => parseManifest(manifest(rec('b', 'b/*', 'unknown', [], []) + '    local_contexts:\n      tk_labels:\n        - {label_type: attribution}\n'), 'M.yml'), /M\.yml: record 1 \(b\): local_contexts\.tk_labels\[0\] needs a "name"/);
  assert.throws(() => parseManifest(manifest(rec('b', 'b/*', 'unknown', [], []) + '    local_contexts: [1]\n'), 'M.yml'), /local_contexts must be a mapping/);
});

test('export of what was made from the data: needs approved_for_public_release; refused when the inherited terms prohibit it or the artifact is revoked', () => {
  assert.equal(exportProblem(null), null, 'no governance record: nothing to enforce (the lab\'s own files)');
  assert.equal(exportProblem(EMBEDDED_DECISION('arithmetic')), null, 'the lab\'s own synthetic sets');
  assert.equal(exportProblem({ inherited: { prohibited_uses: ['training_on_weekends'], sources: ['x'], release_approved: true } }), null);
  // approved for training only: trains, but what it makes stays in the lab
  const trainOnly = decideTraining(parseManifest(manifest(rec('t', 't/*.jsonl', 'approved_for_training', ['training'], [])), 'M.yml'), 't/a.jsonl', 'M.yml');
  assert.equal(trainOnly.allowed, true);
  assert.equal(trainOnly.inherited.release_approved, false);
  assert.match(exportProblem(trainOnly) ?? '', /no record of its sources says approved_for_public_release \(t: approved_for_training\)/);
  // a second record approving release lifts it
  const both = decideTraining(parseManifest(manifest(rec('t', 't/*.jsonl', 'approved_for_training', ['training'], []) + rec('t_pub', 't/*.jsonl', 'approved_for_public_release', ['upload', 'public_release'], [])), 'M.yml'), 't/a.jsonl', 'M.yml');
  assert.equal(exportProblem(both), null);
  // several sources: every one must be approved for release (the strictest terms)
  assert.equal(strictestTerms([both.inherited, EMBEDDED_DECISION('conlang').inherited]).release_approved, true);
  assert.equal(strictestTerms([both.inherited, trainOnly.inherited]).release_approved, false);
  // a governance.json written before release_approved existed is read from its matched records
  assert.match(exportProblem({ inherited: { prohibited_uses: [], sources: ['t'] }, matched: [{ source_id: 't', permission_status: 'approved_for_training' }] }) ?? '', /approved_for_public_release/);
  assert.equal(exportProblem({ inherited: { prohibited_uses: [], sources: ['t'] }, matched: [{ source_id: 't', permission_status: 'approved_for_public_release' }] }), null);
  assert.match(exportProblem({ inherited: { prohibited_uses: ['public_release', 'upload'], sources: ['openai_finetune_jsonl'] } }) ?? '', /prohibit public_release, upload \(sources openai_finetune_jsonl; derived artifacts inherit the strictest terms\)/);
  assert.match(exportProblem({ inherited: { prohibited_uses: [], sources: ['x'] }, revoked: { reason: 'record x is removed_pending_review' } }) ?? '', /withdrawn \(record x is removed_pending_review\)/);
});
