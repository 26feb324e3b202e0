// Default-deny through whole commands. (1) The user's own manifest (../shared/data/stoney/, skipped,
// saying so, when absent): the approved Stoney sample, placed where the manifest says it lives, trains
// and its adapter inherits the strictest terms; a file at the path of every other record is refused by
// lab sft, naming the record. (2) A removal stops a run: a source turned removed_pending_review while
// lab sft trains stops it after the step in flight; what it made is marked revoked, and --resume,
// --adapter and export-trl refuse it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseManifest, globToRegExp } from '../engine/train/governance.ts';
import { ROOT, runLab, runLabAsync, writeTestManifest } from './lab-run.testlib.ts';

const tmp = mkdtempSync(join(tmpdir(), 'lab-gov-run-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const SHARED = join(ROOT, '../shared/data/stoney');

/** lab-micro with a plain chat template and a longer context (RoPE): the Stoney sample's chat rows fit. */
function chatMicro(): string {
  const dir = join(tmp, 'micro-chat');
  if (existsSync(dir)) return dir;
  cpSync(join(ROOT, 'models/lab-micro'), dir, { recursive: true });
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, max_position_embeddings: 2048 }));
  writeFileSync(join(dir, 'chat_template.jinja'), "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}</{{ m['role'] }}>\n{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}");
  return dir;
}

/** A concrete file path a glob matches (each wildcard → "x"). */
const pathOf = (glob: string) => glob.replace(/\*\*\/?/g, 'x/').replace(/[*?]/g, 'x');

test("the user's manifest: the approved Stoney sample trains where the manifest places it; every other record's path is refused by lab sft", (t) => {
  const upstream = join(SHARED, 'SOURCE_MANIFEST.upstream.yml');
  const sample = join(SHARED, 'stoney_valid_first100.jsonl');
  if (!existsSync(upstream) || !existsSync(sample)) return t.skip('../shared/data/stoney is absent on this machine: the Stoney sample and its manifest were not checked');
  const root = join(tmp, 'stoney');
  mkdirSync(join(root, 'OpenAIFineTune'), { recursive: true });
  copyFileSync(upstream, join(root, 'SOURCE_MANIFEST.yml'));
  const data = join(root, 'OpenAIFineTune', 'stoney_valid.jsonl');
  copyFileSync(sample, data);
  const model = chatMicro();
  const sft = (file: string, out: string) => runLab(['sft', '--model', model, '--data', file, '--rank', '2', '--alpha', '4', '--targets', 'q_proj', '--steps', '2', '--batch-size', '1', '--lr', '1e-3', '--out', out]);

  const ok = sft(data, join(tmp, 'stoney-run'));
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stderr, /openai_finetune_jsonl approve training for OpenAIFineTune\/stoney_valid\.jsonl/);
  assert.match(ok.stderr, /step 2\/2 · loss/);
  const gov = JSON.parse(readFileSync(join(tmp, 'stoney-run', 'governance.json'), 'utf8'));
  assert.ok(gov.inherited.prohibited_uses.includes('upload') && gov.inherited.prohibited_uses.includes('public_release'), 'the strictest terms: no upload, no public release');
  assert.equal(gov.inherited.contains_sensitive_content, true);

  const records = parseManifest(readFileSync(upstream, 'utf8'), upstream);
  const approved = records.filter((r) => r.permission_status === 'approved_for_training' && r.allowed_uses.includes('training'));
  let refused = 0;
  for (const r of records) {
    const rel = pathOf(r.path_glob);
    if (approved.some((a) => globToRegExp(a.path_glob).test(rel))) continue; // the approved sample's own path
    const file = join(root, rel);
    mkdirSync(dirname(file), { recursive: true });
    copyFileSync(sample, file); // the same rows: only the record decides
    const no = sft(file, join(tmp, `refused-${r.source_id}`));
    assert.equal(no.code, 1, `${r.source_id} (${rel}): ${no.stderr}`);
    assert.match(no.stderr, /training refused: /, r.source_id);
    assert.ok(no.stderr.includes(r.source_id), `the refusal names ${r.source_id}: ${no.stderr}`);
    assert.ok(!existsSync(join(tmp, `refused-${r.source_id}`, 'adapter_model.safetensors')));
    refused++;
  }
  assert.ok(refused >= 10, `every other record was tried (${refused})`);
});

test('a removal stops a run: the source turned removed_pending_review mid-run; the run stops, its artifacts are marked, later commands refuse them', { timeout: 300_000 }, async () => {
  const dir = join(tmp, 'removal');
  mkdirSync(dir);
  const rows = Array.from({ length: 8 }, (_, i) => JSON.stringify({ input_ids: Array.from({ length: 12 }, (_, t) => (7 * i + 3 * t) % 290), labels: Array.from({ length: 12 }, (_, t) => (t < 3 ? -100 : (7 * i + 3 * t) % 290)) }));
  writeFileSync(join(dir, 'rows.jsonl'), rows.join('\n') + '\n');
  writeTestManifest(dir);
  const out = join(tmp, 'removal-run');
  const fixture = join(ROOT, 'models/fixtures/llama-gqa');
  const run = runLabAsync(['sft', '--model', fixture, '--data', join(dir, 'rows.jsonl'), '--rank', '2', '--alpha', '4', '--targets', 'q_proj', '--steps', '5000', '--batch-size', '2', '--lr', '1e-3', '--checkpoint-every', '2', '--out', out]);
  // once a checkpoint exists, the community withdraws the source
  for (let i = 0; i < 600 && !readdirSafe(out).some((n) => n.startsWith('checkpoint-')); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(readdirSafe(out).some((n) => n.startsWith('checkpoint-')), 'the run wrote a checkpoint');
  const manifest = join(dir, 'SOURCE_MANIFEST.yml');
  writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('permission_status: approved_for_training', 'permission_status: removed_pending_review'));
  const r = await run;
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /lab sft: training stopped at step \d+: the data's terms changed \(.*test_synthetic_rows is removed_pending_review.*\); \d+ files of .* are marked revoked/);
  const last = Number(/step (\d+)\/5000/g.exec(r.stderr.split('\n').filter((l) => l.startsWith('step ')).pop() ?? '')?.[1] ?? 0);
  assert.ok(last < 5000, 'stopped long before the end');
  const ckpt = join(out, readdirSafe(out).filter((n) => n.startsWith('checkpoint-')).sort()[0]);
  for (const f of [join(out, 'governance.json'), join(ckpt, 'governance.json')]) assert.match(JSON.parse(readFileSync(f, 'utf8')).revoked.reason, /removed_pending_review/, f);

  // downstream work stops: even with the source approved again, what was made then stays refused
  writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('permission_status: removed_pending_review', 'permission_status: approved_for_training'));
  const resume = runLab(['sft', '--model', fixture, '--data', join(dir, 'rows.jsonl'), '--rank', '2', '--alpha', '4', '--targets', 'q_proj', '--steps', '5000', '--batch-size', '2', '--lr', '1e-3', '--resume', ckpt, '--out', join(tmp, 'removal-resume')], 60_000);
  assert.equal(resume.code, 1);
  assert.match(resume.stderr, /--resume .* refused: it was made from a source that was withdrawn/);
  const fwd = runLab(['forward', '--model', fixture, '--adapter', ckpt, '--ids', '1,2,3', '--out', join(tmp, 'f.json')], 60_000);
  assert.equal(fwd.code, 1);
  assert.match(fwd.stderr, /--adapter .* refused: it was made from a source that was withdrawn/);
  const exp = runLab(['export-trl', '--run', out, '--out', join(tmp, 'trl')], 60_000);
  assert.equal(exp.code, 1);
  assert.match(exp.stderr, /--run .* refused: it was made from a source that was withdrawn/);
});

function readdirSafe(d: string): string[] {
  try {
    return readdirSync(d);
  } catch {
    return [];
  }
}
