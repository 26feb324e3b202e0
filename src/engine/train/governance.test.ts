// Default-deny governance of training data by the user's source manifest. Synthetic manifests here;
// the user's own manifest from ../shared/data/stoney/ when present (skipped, saying so, otherwise).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decideTraining, globToRegExp, parseManifest, GovernanceError } from './governance.ts';

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
  assert.deepEqual(ok.inherited, { prohibited_uses: ['public_release', 'upload'], contains_sensitive_content: true, sources: ['chat', 'chat_pub'] });
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
});
