// Hub datasets against the local Hub stand-in (tools/hub-server.mjs): one file of a dataset repo, a
// split's Parquet files through the parquet listing API (302s to refs/convert/parquet, as the Hub's),
// the offline second visit from the cache, a dropped connection resumed, a gated repo, and a missing split.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MemoryBlobStore } from '../hub/store.ts';
import { startHubServer, tempRoot, type HubServer } from '../hub/testing.ts';
import { DatasetError, inspectRows, readRows } from './dataset.ts';
import { loadHubDataset, parseHubDatasetRef } from './hub-dataset.ts';

const FIX = new URL('../../../models/fixtures/data/', import.meta.url).pathname;
const REPO = 'test-org/synthetic-stoney';
const offline: typeof fetch = () => Promise.reject(new TypeError('fetch failed (offline)'));
let server: HubServer;
let remove: () => Promise<void>;

before(async () => {
  const t = await tempRoot();
  remove = t.remove;
  const main = join(t.root, 'datasets', REPO, 'main');
  const split = join(t.root, 'datasets', REPO, 'refs', 'convert', 'parquet', 'default', 'train');
  await mkdir(join(main, 'data'), { recursive: true });
  await mkdir(split, { recursive: true });
  await copyFile(join(FIX, 'rl_task.parquet'), join(main, 'data', 'tasks.parquet'));
  await writeFile(join(main, 'qa.jsonl'), '{"question": "îzâ?", "answer": "ṯẖe"}\n{"text": "no schema"}\n');
  await copyFile(join(FIX, 'chat.parquet'), join(split, '0000.parquet'));
  await copyFile(join(FIX, 'mixed.parquet'), join(split, '0001.parquet'));
  server = await startHubServer({ root: t.root });
});
after(async () => {
  await server.close();
  await remove();
});

function reset(): void {
  Object.assign(server.options, { token: null, cutAfterBytes: null, cutCount: Infinity, chunkSize: null, chunkDelayMs: 0, lfsRedirect: false });
  server.resetStats();
}

test('hf://datasets refs: repo, revision, file; config and split given apart', () => {
  assert.deepEqual(parseHubDatasetRef('hf://datasets/openai/gsm8k/main/test-00000-of-00001.parquet'), { repo: 'openai/gsm8k', revision: 'main', path: 'main/test-00000-of-00001.parquet', config: 'default', split: 'train' });
  assert.deepEqual(parseHubDatasetRef('hf://datasets/madrylab/gsm8k-platinum@abc123', 'main', 'test'), { repo: 'madrylab/gsm8k-platinum', revision: 'abc123', path: null, config: 'main', split: 'test' });
  assert.equal(parseHubDatasetRef('hf://datasets/a/b@refs%2Fpr%2F1/x.jsonl').revision, 'refs/pr/1');
  assert.throws(() => parseHubDatasetRef('datasets/a/b'), DatasetError);
  assert.throws(() => parseHubDatasetRef('hf://datasets/just-a-name'), /hf:\/\/datasets\/\{owner\}\/\{name\}/);
});

test('one file of a dataset repo: downloaded, read as locally, and read again offline from the cache', async () => {
  reset();
  const store = new MemoryBlobStore();
  const files: string[] = [];
  const endpoint = server.url;
  const a = await loadHubDataset(parseHubDatasetRef(`hf://datasets/${REPO}/data/tasks.parquet`), { store, endpoint, onFile: (f) => files.push(f) });
  const local = await readRows(new Uint8Array(await import('node:fs').then((fs) => fs.readFileSync(join(FIX, 'rl_task.parquet')))), 'rl_task.parquet');
  assert.deepEqual(a.rows, local.rows);
  assert.deepEqual(files, ['data/tasks.parquet']);
  assert.ok(server.stats.requests.some((r) => r.path === `/datasets/${REPO}/resolve/main/data/tasks.parquet` && r.status === 200));
  const b = await loadHubDataset(parseHubDatasetRef(`hf://datasets/${REPO}/data/tasks.parquet`), { store, endpoint, fetchImpl: offline });
  assert.deepEqual(b.rows, a.rows);
  // JSONL keeps its per-line reasons and the Stoney characters
  const q = inspectRows(await loadHubDataset(parseHubDatasetRef(`hf://datasets/${REPO}/qa.jsonl`), { store, endpoint }));
  assert.deepEqual(q.counts, { qa: 1 });
  assert.match(q.problems[0].message, /^hf:\/\/datasets\/test-org\/synthetic-stoney\/qa\.jsonl:2: no known record format/);
});

test("a split's Parquet files through the listing API: rows of every file, numbered on; offline after", async () => {
  reset();
  const store = new MemoryBlobStore();
  const seen: [string, number, number][] = [];
  const ref = parseHubDatasetRef(`hf://datasets/${REPO}`);
  const loaded = await loadHubDataset(ref, { store, endpoint: server.url, onFile: (f, i, n) => seen.push([f, i, n]) });
  assert.deepEqual(seen, [['0.parquet', 0, 2], ['1.parquet', 1, 2]]);
  assert.equal(loaded.rows.length, 5);
  assert.deepEqual(loaded.rows.map((r) => r.at), [1, 2, 3, 4, 5]);
  const r = inspectRows(loaded);
  assert.deepEqual(r.counts, { chat: 4, qa: 1 });
  assert.equal(r.mixed, true);
  // the Hub's shape: the listing, then per file a 302 to refs/convert/parquet
  const paths = server.stats.requests.map((q) => `${q.status} ${q.path}`);
  assert.ok(paths.includes(`200 /api/datasets/${REPO}/parquet/default/train`), paths.join('\n'));
  assert.ok(paths.includes(`302 /api/datasets/${REPO}/parquet/default/train/1.parquet`), paths.join('\n'));
  assert.ok(paths.includes(`200 /datasets/${REPO}/resolve/refs%2Fconvert%2Fparquet/default/train/0001.parquet`), paths.join('\n'));
  const again = await loadHubDataset(ref, { store, endpoint: server.url, fetchImpl: offline });
  assert.deepEqual(again.rows, loaded.rows);
});

test('a dropped connection is resumed; a gated dataset needs the token; a split with no conversion says so', async () => {
  reset();
  server.options.cutAfterBytes = 600;
  server.options.cutCount = 1;
  const store = new MemoryBlobStore();
  const loaded = await loadHubDataset(parseHubDatasetRef(`hf://datasets/${REPO}/data/tasks.parquet`), { store, endpoint: server.url, retryDelayMs: 1 });
  assert.equal(loaded.rows.length, 2);
  assert.ok(server.stats.requests.some((r) => r.range === 'bytes=600-'), 'the second request asked for the rest only');

  reset();
  server.options.token = 'secret';
  await assert.rejects(loadHubDataset(parseHubDatasetRef(`hf://datasets/${REPO}`), { store: new MemoryBlobStore(), endpoint: server.url }), /401|token|authenticat/i);
  const ok = await loadHubDataset(parseHubDatasetRef(`hf://datasets/${REPO}`), { store: new MemoryBlobStore(), endpoint: server.url, token: 'secret' });
  assert.equal(ok.rows.length, 5);

  reset();
  await assert.rejects(loadHubDataset(parseHubDatasetRef(`hf://datasets/${REPO}`, 'default', 'test'), { store: new MemoryBlobStore(), endpoint: server.url }), /no Parquet conversion of this config and split/);
});
