// hubSource (a FileSource over the local Hub stand-in + HubCache on MemoryBlobStore) and
// planDownload: loadCheckpoint end to end, offline second visit, resume across a "reload",
// cancel + resume, checksum failures, auth, 404 memory, and refusal of an over-limit model with
// only header bytes fetched. No GPU; about 1 s.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadCheckpoint } from '../model/checkpoint.ts';
import type { TinyCheckpoint } from '../model/checkpoint-fixtures.ts';
import { hubSource, type HubSourceOptions } from './hub.ts';
import { planDownload } from './plan.ts';
import { cacheKey, type CacheMeta } from './cache.ts';
import { MemoryBlobStore } from './store.ts';
import { HubError } from './errors.ts';
import type { DownloadProgress } from './download.ts';
import { hubFailure, requestsFor, startHubServer, tempRoot, writeTinyRepo, TEST_REPO, type HubServer } from './testing.ts';

let server: HubServer;
let remove: () => Promise<void>;
let ckpt: TinyCheckpoint; // single-file repo at TEST_REPO@main
let sharded: TinyCheckpoint; // two shards + index at TEST_REPO@sharded
let weights: Uint8Array;
const CHUNK = 64 << 10; // cache chunks: the 270 KB weight file spans 5
const offline: typeof fetch = () => Promise.reject(new TypeError('fetch failed (offline)'));

before(async () => {
  const t = await tempRoot();
  remove = t.remove;
  ckpt = await writeTinyRepo(t.root);
  sharded = await writeTinyRepo(t.root, { revision: 'sharded', tiny: { shards: 2 } });
  weights = ckpt.files.get('model.safetensors')!;
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
const src = (store: MemoryBlobStore, o: Partial<HubSourceOptions> = {}, revision = 'main') =>
  hubSource(TEST_REPO, revision, { store, endpoint: server.url, chunkSize: CHUNK, retryDelayMs: 5, progressIntervalMs: 0, ...o });

test('loadCheckpoint over hubSource: same tensors as the files; second visit is offline and makes no request', async () => {
  reset();
  const store = new MemoryBlobStore();
  const progress: DownloadProgress[] = [];
  const s1 = src(store, { onProgress: (p) => progress.push(p) });
  const a = await loadCheckpoint(s1);
  s1.release();
  assert.equal(a.tensors.size, ckpt.weights.size);
  for (const [name, v] of ckpt.weights) assert.deepEqual(a.tensors.get(name)!.data, v, name);
  assert.equal(requestsFor(server, 'model.safetensors').filter((r) => r.range === null).length, 1, 'the weights were downloaded once');
  const w = progress.filter((p) => p.file === 'model.safetensors');
  assert.ok(w.length > 0 && w.at(-1)!.bytes === weights.length && w.at(-1)!.total === weights.length);
  assert.deepEqual((await s1.cache.list()).map((e) => [e.path, e.complete]), [['config.json', true], ['model.safetensors', true]]);

  server.resetStats();
  const s2 = src(store, { fetchImpl: offline }); // a new page, no network
  const b = await loadCheckpoint(s2);
  for (const [name, v] of ckpt.weights) assert.deepEqual(b.tensors.get(name)!.data, v, name);
  assert.equal(server.stats.requests.length, 0, 'zero requests on the second visit');
});

test('an interrupted download is stored as partial; a new source (a reload) resumes it with Range', async () => {
  reset();
  server.options.cutAfterBytes = 150_000;
  server.options.cutCount = 1;
  const store = new MemoryBlobStore();
  const e = await hubFailure(src(store, { retries: 0 }).read('model.safetensors'));
  assert.equal(e.code, 'network');
  const meta = (await store.get(cacheKey(TEST_REPO, 'main', 'model.safetensors'))) as CacheMeta;
  const kept = meta.size; // what the client had read when the connection broke: at most the 150 000 sent
  assert.deepEqual([meta.complete, meta.total], [false, weights.length]);
  assert.ok(kept > 0 && kept <= 150_000, `kept ${kept}`);

  const data = await src(store).read('model.safetensors');
  assert.deepEqual(data, weights);
  const gets = requestsFor(server, 'model.safetensors');
  assert.equal(gets.length, 2);
  assert.deepEqual([gets[1].range, gets[1].status, gets[1].bytes], [`bytes=${kept}-`, 206, weights.length - kept]);
  assert.equal((await store.get(cacheKey(TEST_REPO, 'main', 'model.safetensors')) as CacheMeta).complete, true);
});

test('checkpoints: a long download saves its prefix every chunk, before it ends', async () => {
  reset();
  server.options.chunkSize = 16384;
  const store = new MemoryBlobStore();
  const key = cacheKey(TEST_REPO, 'main', 'model.safetensors');
  let seenPartial = 0;
  await src(store, {
    onProgress: () => {
      const m = store.map.get(key) as CacheMeta | undefined;
      if (m && !m.complete) seenPartial = Math.max(seenPartial, m.size);
    },
  }).read('model.safetensors');
  assert.ok(seenPartial >= 2 * CHUNK, `a partial of ${seenPartial} bytes was on disk mid-download`);
});

test('cancel through the signal: partial cached, the next read resumes', async () => {
  reset();
  server.options.chunkSize = 8192;
  server.options.chunkDelayMs = 2;
  const store = new MemoryBlobStore();
  const ac = new AbortController();
  const e = await hubFailure(src(store, { signal: ac.signal, onProgress: (p) => p.bytes > 100_000 && ac.abort() })
    .read('model.safetensors'));
  assert.equal(e.code, 'cancelled');
  const kept = ((await store.get(cacheKey(TEST_REPO, 'main', 'model.safetensors'))) as CacheMeta).size;
  assert.ok(kept > 100_000 && kept < weights.length);
  server.options.chunkSize = null;
  assert.deepEqual(await src(store).read('model.safetensors'), weights);
  assert.equal(requestsFor(server, 'model.safetensors').at(-1)!.range, `bytes=${kept}-`);
});

test('a corrupted cache entry fails its checksum, is deleted and downloaded again', async () => {
  reset();
  const store = new MemoryBlobStore();
  await src(store).read('model.safetensors');
  const ck = `${cacheKey(TEST_REPO, 'main', 'model.safetensors')}\n1`;
  const c = store.map.get(ck) as Uint8Array;
  c[100] ^= 1; // bit rot in chunk 1
  const warnings: string[] = [];
  server.resetStats();
  assert.deepEqual(await src(store, { onWarning: (w) => warnings.push(w) }).read('model.safetensors'), weights);
  assert.match(warnings[0], /chunk 1 fails its SHA-256 check/);
  assert.equal(requestsFor(server, 'model.safetensors').length, 1, 're-downloaded once');
});

test("bytes that do not match the Hub's SHA-256 ETag are rejected and not cached", async () => {
  reset();
  const store = new MemoryBlobStore();
  // a proxy that flips one byte of the body but keeps the headers (ETag = sha256 of the real file)
  const corrupting: typeof fetch = async (input, init) => {
    const r = await fetch(input, init);
    const b = new Uint8Array(await r.arrayBuffer());
    if (b.length > 10) b[10] ^= 1;
    return new Response(b, { status: r.status, headers: r.headers });
  };
  const e = await hubFailure(src(store, { fetchImpl: corrupting }).read('model.safetensors'));
  assert.equal(e.code, 'checksum');
  assert.match(e.message, /do not match the Hub's SHA-256/);
  assert.deepEqual(await store.keys(), []);
});

test('auth through hubSource: token message without it, success with it; 404 remembered for offline visits', async () => {
  reset();
  server.options.token = 'hf_tok';
  const store = new MemoryBlobStore();
  const e = await hubFailure(src(store).size('config.json'));
  assert.equal(e.code, 'auth');
  assert.match(e.message, /this repo needs an access token/);
  assert.equal(await src(store, { token: 'hf_tok' }).size('config.json'), ckpt.files.get('config.json')!.length);
  assert.equal(await src(store, { token: 'hf_tok' }).size('model.safetensors.index.json'), null);
  assert.equal(await src(store, { fetchImpl: offline }).size('model.safetensors.index.json'), null, '404 remembered');
  const nf = await hubFailure(src(store, { fetchImpl: offline }).read('model.safetensors.index.json'));
  assert.equal(nf.code, 'not-found');
  // with the CDN redirect: sizes follow it, the token stays on the Hub origin
  server.options.lfsRedirect = true;
  server.resetStats();
  const s = src(new MemoryBlobStore(), { token: 'hf_tok' });
  assert.equal(await s.size('model.safetensors'), weights.length);
  assert.deepEqual(await s.read('model.safetensors'), weights);
  assert.ok(server.stats.requests.filter((r) => r.cdn).every((r) => !r.auth), 'no token at the CDN');
});

test('planDownload: sizes from headers only; single file and shards', async () => {
  reset();
  const limits = { maxBufferSize: 1 << 30, maxStorageBufferBindingSize: 128 << 20 };
  const plan = await planDownload(src(new MemoryBlobStore()), limits);
  assert.equal(plan.config.d_vocab, 2048);
  assert.equal(plan.tensors.length, ckpt.weights.size);
  assert.equal(plan.weightBytes, [...ckpt.weights.values()].reduce((a, v) => a + v.byteLength, 0));
  assert.equal(plan.downloadBytes, weights.length + ckpt.files.get('config.json')!.length);
  assert.equal(plan.largest!.bytes, 2048 * 16 * 4);
  const gets = requestsFor(server, 'model.safetensors');
  assert.ok(gets.every((g) => g.range !== null && g.status === 206), 'ranged reads only');
  assert.deepEqual(gets.map((g) => g.range!.split('-')[0]), ['bytes=0', 'bytes=0']);

  const p2 = await planDownload(src(new MemoryBlobStore(), {}, 'sharded'), limits);
  assert.deepEqual(p2.files.map((f) => f.path), ['config.json', 'model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
  assert.equal(p2.weightBytes, [...sharded.weights.values()].reduce((a, v) => a + v.byteLength, 0));
});

test('planDownload refuses an over-limit model before downloading: no request for the weight bytes', async () => {
  reset();
  const store = new MemoryBlobStore();
  const e = await hubFailure(planDownload(src(store), { maxBufferSize: 1 << 30, maxStorageBufferBindingSize: 100_000 }));
  assert.ok(e instanceof HubError && e.code === 'too-large', String(e));
  assert.match(e.message, /largest tensor (model\.embed_tokens|lm_head)\.weight \(\[2048, 16\] F32, in model\.safetensors\) is 128\.0 KiB, more than the adapter's maxStorageBufferBindingSize of 97\.7 KiB; 1 more tensor is over the limit/);
  assert.match(e.message, /Nothing was downloaded/);
  const gets = requestsFor(server, 'model.safetensors');
  assert.equal(gets.length, 2, 'header length, then header');
  const headerBytes = gets.reduce((a, g) => a + g.bytes, 0);
  assert.ok(gets.every((g) => g.status === 206) && headerBytes < 4096, `only ${headerBytes} header bytes fetched`);
  assert.deepEqual((await store.keys()).filter((k) => k.includes('model.safetensors')), [], 'nothing cached for the weights');

  const m = await hubFailure(planDownload(src(store), { maxBufferSize: 1 << 30, maxStorageBufferBindingSize: 1 << 30 }, { memoryBudget: 100_000 }));
  assert.equal(m.code, 'too-large');
  assert.match(m.message, /needs \d+\.\d KiB for its weights \(21 tensors\), more than the memory budget of 97\.7 KiB/);
  assert.equal(requestsFor(server, 'model.safetensors').filter((g) => g.range === null).length, 0);
});

test('planDownload on a cached model runs offline (headers from the cache)', async () => {
  reset();
  const store = new MemoryBlobStore();
  await loadCheckpoint(src(store));
  server.resetStats();
  const plan = await planDownload(src(store, { fetchImpl: offline }), { maxBufferSize: 1 << 30, maxStorageBufferBindingSize: 1 << 30 });
  assert.equal(plan.tensors.length, ckpt.weights.size);
  assert.equal(server.stats.requests.length, 0);
});
