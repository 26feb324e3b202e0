// `lab data` (what a dataset holds, per record format and line; the chosen rows as JSONL with provenance),
// Hub datasets through the CLI's folder cache (local Hub stand-in, then offline), and Parquet as --data of
// a training command: the same losses as its JSONL twin, and the same default-deny gate.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHubServer } from '../engine/hub/testing.ts';
import { ROOT, runLab, runLabAsync, writeTestManifest } from './lab-run.testlib.ts';

const FIX = join(ROOT, 'models/fixtures/data');
const tmp = mkdtempSync(join(tmpdir(), 'lab-data-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('lab data reports rows per format; a mixed file needs --use; the chosen rows keep their line numbers, with provenance', () => {
  const r = runLab(['data', '--data', join(FIX, 'mixed.parquet')], 60_000);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /mixed\.parquet \(parquet\): 3 rows: 2 chat, 1 qa/);
  assert.match(r.stdout, /the file mixes record formats: choose the rows to use \(chat, qa\)/);

  const out = join(tmp, 'chat.jsonl');
  const refused = runLab(['data', '--data', join(FIX, 'mixed.parquet'), '--out', out], 60_000);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /mixes record formats \(2 chat, 1 qa\): choose the rows to write with --use chat,qa/);

  const ok = runLab(['data', '--data', join(FIX, 'mixed.parquet'), '--use', 'chat', '--out', out, '--report', join(tmp, 'report.json')], 60_000);
  assert.equal(ok.code, 0, ok.stderr);
  const lines = readFileSync(out, 'utf8').split('\n');
  assert.equal(lines[1], '');
  assert.ok(JSON.parse(lines[0]).messages && JSON.parse(lines[2]).messages);
  const prov = JSON.parse(readFileSync(`${out}.provenance.json`, 'utf8'));
  assert.equal(prov.rows, 2);
  assert.deepEqual(prov.use, ['chat']);
  assert.match(prov.terms, /inherits the source's terms/);
  assert.deepEqual(JSON.parse(readFileSync(join(tmp, 'report.json'), 'utf8')).counts, { chat: 2, qa: 1 });

  const bad = runLab(['data', '--data', join(FIX, 'mixed.parquet'), '--use', 'poems'], 60_000);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--use: unknown record format poems/);
});

test('lab data from the Hub: a split through the parquet listing into the folder cache, then again with the Hub gone', async () => {
  const root = join(tmp, 'hub');
  const split = join(root, 'datasets', 'test-org', 'synthetic', 'refs', 'convert', 'parquet', 'default', 'train');
  mkdirSync(split, { recursive: true });
  copyFileSync(join(FIX, 'gsm8k-platinum.parquet'), join(split, '0000.parquet'));
  const server = await startHubServer({ root });
  const env = { HF_ENDPOINT: server.url, STONEY_LAB_CACHE: join(tmp, 'cache') };
  const out = join(tmp, 'platinum.jsonl');
  try {
    const r = await runLabAsync(['data', '--data', 'hf://datasets/test-org/synthetic', '--split', 'train', '--out', out], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /hf:\/\/datasets\/test-org\/synthetic \(config default, split train\) \(parquet\): 4 rows: 3 gsm8k-platinum; 1 dropped/);
    assert.match(r.stdout, /dropped 1: cleaning_status is ambiguous/);
  } finally {
    await server.close();
  }
  const first = readFileSync(out, 'utf8');
  assert.equal(first.split('\n').filter(Boolean).length, 3);
  const again = await runLabAsync(['data', '--data', 'hf://datasets/test-org/synthetic', '--out', out], env);
  assert.equal(again.code, 0, `offline, from the cache: ${again.stderr}`);
  assert.equal(readFileSync(out, 'utf8'), first);
});

test('Parquet as --data of lab sft: refused without a manifest; with one, the same losses as the same rows in JSONL', () => {
  const dir = join(tmp, 'train');
  mkdirSync(dir);
  copyFileSync(join(FIX, 'tokenized.parquet'), join(dir, 'rows.parquet'));
  const rows = JSON.parse(readFileSync(join(FIX, 'tokenized.json'), 'utf8')) as unknown[];
  writeFileSync(join(dir, 'rows.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const args = (data: string, out: string) => ['sft', '--model', join(ROOT, 'models/fixtures/llama-gqa'), '--data', data, '--rank', '2', '--alpha', '4', '--targets', 'q_proj', '--batch-size', '2', '--steps', '2', '--lr', '1e-2', '--seed', '1', '--out', out];
  const refused = runLab(args(join(dir, 'rows.parquet'), join(dir, 'x')), 60_000);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /training refused: .*rows\.parquet.*no source manifest/);

  writeTestManifest(dir, 'rows.*');
  const a = runLab(args(join(dir, 'rows.parquet'), join(dir, 'pq')));
  assert.equal(a.code, 0, a.stderr);
  const b = runLab(args(join(dir, 'rows.jsonl'), join(dir, 'js')));
  assert.equal(b.code, 0, b.stderr);
  const losses = (d: string) => readFileSync(join(dir, d, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).loss as number);
  assert.equal(losses('pq').length, 2);
  assert.deepEqual(losses('pq'), losses('js'));
});
