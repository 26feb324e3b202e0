// Declaring terms: public-set templates and the user's own record, both read back by the gate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideTraining, parseManifest } from './governance.ts';
import { declareRecord, EMPTY_RECORD_FORM, PUBLIC_TEMPLATES, templateManifest } from './manifest-templates.ts';

test('a public template, once confirmed, is a manifest the gate reads: the set trains; its licence and confirmation are in it', () => {
  for (const name of Object.keys(PUBLIC_TEMPLATES)) {
    const text = templateManifest(name, 'gsm8k/*.jsonl');
    assert.match(text, /confirmed by the user/);
    const recs = parseManifest(text, 'SOURCE_MANIFEST.yml');
    assert.deepEqual(recs.map((r) => r.permission_status), ['approved_for_training', 'approved_for_public_release']);
    assert.equal((recs[0] as unknown as { license: string }).license, 'MIT');
    assert.equal(decideTraining(recs, 'gsm8k/train.jsonl', 'SOURCE_MANIFEST.yml').allowed, true, name);
    assert.equal(decideTraining(recs, 'other/train.jsonl', 'SOURCE_MANIFEST.yml').allowed, false, 'only the paths declared');
  }
  assert.throws(() => templateManifest('stoney', 'x'), /no template "stoney"/);
});

test('the user’s own record: every field required, permission_status never defaulted; the result is a manifest the gate reads', () => {
  const empty = declareRecord(EMPTY_RECORD_FORM);
  assert.equal(empty.text, null);
  assert.deepEqual(Object.keys(empty.problems).sort(), ['data_type', 'license', 'origin', 'path_glob', 'permission_status', 'review_contact', 'rights_holder', 'source_id']);
  const form = { ...EMPTY_RECORD_FORM, source_id: 'my-notes', path_glob: 'notes.jsonl', data_type: 'qa', origin: 'written by me', rights_holder: 'me', license: 'mine', review_contact: 'me@example.org', allowed_uses: 'training, training', prohibited_uses: 'upload' };
  assert.match(declareRecord({ ...form, source_id: 'My Notes' }).problems.source_id ?? '', /lower-case/);
  const internal = declareRecord({ ...form, permission_status: 'internal_only' });
  assert.ok(internal.text);
  const recs = parseManifest(internal.text!, 'M.yml');
  assert.deepEqual(recs[0].allowed_uses, ['training']);
  assert.equal(decideTraining(recs, 'notes.jsonl', 'M.yml').allowed, false, 'internal_only does not approve training');
  const ok = declareRecord({ ...form, permission_status: 'approved_for_training' });
  const d = decideTraining(parseManifest(ok.text!, 'M.yml'), 'notes.jsonl', 'M.yml');
  assert.equal(d.allowed, true, d.reason);
  assert.deepEqual(d.inherited.prohibited_uses, ['upload']);
});
