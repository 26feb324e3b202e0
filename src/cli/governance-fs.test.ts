// governDataFile: what `lab sft` asks before it trains on a file. Default-deny on disk: data no manifest
// governs is refused (saying how to declare its terms), symlinks are judged by where they point, the
// user's own manifest decides record by record, and `lab tasks` output is approved by its provenance
// record while unchanged. The user's manifest comes from ../shared/data/stoney/ (copied into a temp
// folder beside empty or synthetic files; no Stoney data is copied); skipped, saying so, when absent.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { governDataFile, findManifest } from './governance-fs.ts';
import { ROOT, runLab } from './lab-run.testlib.ts';

const tmp = mkdtempSync(join(tmpdir(), 'lab-gov-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const SHARED = join(ROOT, '../shared/data/stoney');
const UPSTREAM = join(SHARED, 'SOURCE_MANIFEST.upstream.yml');
const HOW_TO = /SOURCE_MANIFEST\.yml \(schema: source_manifest\.schema\.json\) in the data's folder or a folder above it, .*permission_status is approved_for_training and whose allowed_uses include training.*, or pass --manifest <file>/;

/** Writes `text` at `dir/rel`, creating folders. */
function put(dir: string, rel: string, text = '{"messages": []}\n'): string {
  const f = join(dir, rel);
  mkdirSync(dirname(f), { recursive: true });
  writeFileSync(f, text);
  return f;
}

/** The user's manifest (optionally edited) as SOURCE_MANIFEST.yml in a fresh folder, with placeholder files at its paths. */
function userTree(name: string, edit: (manifest: string) => string = (m) => m): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'SOURCE_MANIFEST.yml'), edit(readFileSync(UPSTREAM, 'utf8')));
  for (const rel of ['OpenAIFineTune/stoney_valid.jsonl', 'Dictionaries/stoney_dictionary.jsonl', 'elsewhere/notes.jsonl']) put(dir, rel);
  return dir;
}

const skipWithoutShared = (t: { skip: (m: string) => void }): boolean => {
  if (existsSync(UPSTREAM)) return false;
  t.skip(`../shared/data/stoney/SOURCE_MANIFEST.upstream.yml is absent on this machine (no /work/shared/data): the user's manifest is not checked`);
  return true;
};

test('data no manifest governs is refused, and the refusal says how to declare its terms', () => {
  const f = put(join(tmp, 'unmanaged'), 'rows.jsonl');
  assert.equal(findManifest(f), null);
  const d = governDataFile(f);
  assert.notEqual(d, null, 'always a decision');
  assert.equal(d.allowed, false);
  assert.match(d.reason, /rows\.jsonl: no source manifest \(SOURCE_MANIFEST\.yml or SOURCE_MANIFEST\.yaml\) governs this file; training is default-deny/);
  assert.match(d.reason, HOW_TO);
  const missing = governDataFile(join(tmp, 'unmanaged', 'nope.jsonl'));
  assert.equal(missing.allowed, false);
  assert.match(missing.reason, /cannot be read \(ENOENT\)/);
});

test("the user's manifest: the approved fine-tuning glob trains; no record, status unknown, a symlink to an unapproved or unmanaged file are refused", (t) => {
  if (skipWithoutShared(t)) return;
  const dir = userTree('user');
  const ok = governDataFile(join(dir, 'OpenAIFineTune/stoney_valid.jsonl'));
  assert.equal(ok.allowed, true, ok.reason);
  assert.equal(ok.path, 'OpenAIFineTune/stoney_valid.jsonl');
  assert.deepEqual(ok.inherited.sources, ['openai_finetune_jsonl', 'openai_finetune_jsonl_public_release']);
  assert.ok(ok.inherited.prohibited_uses.includes('upload') && ok.inherited.contains_sensitive_content, 'what is trained inherits the strictest terms');

  const none = governDataFile(join(dir, 'elsewhere/notes.jsonl'));
  assert.equal(none.allowed, false);
  assert.match(none.reason, /no record matches elsewhere\/notes\.jsonl; the manifest's folder is default-deny/);
  assert.match(none.reason, HOW_TO);

  const raw = governDataFile(join(dir, 'Dictionaries/stoney_dictionary.jsonl'));
  assert.equal(raw.allowed, false, 'permission_status unknown, training prohibited');
  assert.match(raw.reason, /record dictionaries_stoney_raw prohibits training/);

  // a link in the approved folder is judged by where it points
  const toRaw = join(dir, 'OpenAIFineTune/linked.jsonl');
  symlinkSync(join(dir, 'Dictionaries/stoney_dictionary.jsonl'), toRaw);
  const viaLink = governDataFile(toRaw);
  assert.equal(viaLink.allowed, false, viaLink.reason);
  assert.equal(viaLink.path, 'Dictionaries/stoney_dictionary.jsonl');
  assert.match(viaLink.reason, /dictionaries_stoney_raw prohibits training/);
  const outside = put(join(tmp, 'unmanaged-2'), 'x.jsonl');
  const toOutside = join(dir, 'OpenAIFineTune/outside.jsonl');
  symlinkSync(outside, toOutside);
  const viaOutside = governDataFile(toOutside);
  assert.equal(viaOutside.allowed, false, viaOutside.reason);
  assert.match(viaOutside.reason, /no source manifest .* governs this file/);
  // --manifest for a file outside the manifest's folder: "**" globs must not reach it
  const far = governDataFile(outside, join(dir, 'SOURCE_MANIFEST.yml'));
  assert.equal(far.allowed, false);
  assert.match(far.reason, /is not below the manifest's folder/);
});

test("the user's manifest with a status the schema does not know, or a removal pending review: refused, naming the record", (t) => {
  if (skipWithoutShared(t)) return;
  const approved = /(source_id: openai_finetune_jsonl\n(?:.*\n)*?\s+permission_status: )approved_for_training/;
  const bogus = userTree('bogus-status', (m) => m.replace(approved, '$1approved_by_me'));
  const b = governDataFile(join(bogus, 'OpenAIFineTune/stoney_valid.jsonl'));
  assert.equal(b.allowed, false);
  assert.match(b.reason, /SOURCE_MANIFEST\.yml: record 5 \(openai_finetune_jsonl\): permission_status "approved_by_me" is not one of unknown, internal_only, approved_for_training/);
  const removed = userTree('removed', (m) => m.replace(approved, '$1removed_pending_review'));
  const r = governDataFile(join(removed, 'OpenAIFineTune/stoney_valid.jsonl'));
  assert.equal(r.allowed, false, 'a removal stops downstream work, even beside an approval for public release');
  assert.match(r.reason, /record openai_finetune_jsonl is removed_pending_review for OpenAIFineTune\/stoney_valid\.jsonl/);
});

test("the shared Stoney sample in place (beside SOURCE_MANIFEST.upstream.yml only) is refused", (t) => {
  const sample = join(SHARED, 'stoney_valid_first100.jsonl');
  if (!existsSync(sample)) {
    t.skip('../shared/data/stoney/stoney_valid_first100.jsonl is absent on this machine (no /work/shared/data): not checked');
    return;
  }
  const d = governDataFile(sample);
  assert.equal(d.allowed, false, d.reason);
  assert.match(d.reason, /no source manifest/);
  assert.match(d.reason, HOW_TO);
});

test("the lab's fixtures: the random-token SFT rows are declared by models/fixtures/SOURCE_MANIFEST.yml; nothing else there is", () => {
  for (const m of ['llama-gqa', 'qwen2-tied']) {
    const d = governDataFile(join(ROOT, 'models/fixtures/sft', m, 'rows.jsonl'));
    assert.equal(d.allowed, true, d.reason);
    assert.deepEqual(d.inherited, { prohibited_uses: [], contains_sensitive_content: false, sources: ['lab_fixtures_synthetic'], release_approved: false });
  }
  assert.equal(governDataFile(join(ROOT, 'models/fixtures/llama-gqa/config.json')).allowed, false);
});

test('`lab tasks` output is approved by its provenance record while unchanged; an edited copy falls back to the manifest rules', () => {
  const dir = join(tmp, 'tasks');
  mkdirSync(dir);
  const files = ['arithmetic', 'conlang', 'arithmetic,conlang'].map((task) => {
    const out = join(dir, `${task.replace(',', '+')}.jsonl`);
    const r = runLab(['tasks', '--task', task, '--split', 'train', '--n', '3', '--seed', '7', '--out', out], 60_000);
    assert.equal(r.code, 0, r.stderr);
    return out;
  });
  const prov = JSON.parse(readFileSync(`${files[0]}.provenance.json`, 'utf8'));
  assert.deepEqual({ ...prov, sha256: typeof prov.sha256, bytes: typeof prov.bytes }, {
    schema: 'lab-task-provenance-v1', generator: 'lab tasks (src/tasks/, Stoney-RL Lab)', task: 'arithmetic', split: 'train', seed: 7, n: 3, items: false,
    synthetic: true, contains_sensitive_content: false, file: 'arithmetic.jsonl', bytes: 'number', sha256: 'string',
  });
  // several tasks: the same bytes as the one-task files concatenated (what tools/embedded/recipe.sh trains on)
  assert.equal(readFileSync(files[2], 'utf8'), readFileSync(files[0], 'utf8') + readFileSync(files[1], 'utf8'));
  for (const f of files) {
    const d = governDataFile(f);
    assert.equal(d.allowed, true, d.reason);
    assert.match(d.reason, /the lab's own synthetic task set .*sha256 matches/);
    assert.equal(d.inherited.contains_sensitive_content, false);
  }
  assert.deepEqual(governDataFile(files[2]).inherited.sources, ['lab_tasks_arithmetic', 'lab_tasks_conlang']);
  appendFileSync(files[0], '{"question": "added by hand", "answer": "#### 1"}\n');
  const edited = governDataFile(files[0]);
  assert.equal(edited.allowed, false);
  assert.match(edited.reason, /no source manifest .*arithmetic\.jsonl\.provenance\.json does not match the file's content/);
  // a provenance record that only claims to be one is not enough
  const fake = put(dir, 'fake.jsonl', 'whatever\n');
  writeFileSync(`${fake}.provenance.json`, JSON.stringify({ ...prov, task: 'stoney' }));
  assert.equal(governDataFile(fake).allowed, false);
});
