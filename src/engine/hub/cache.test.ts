// HubCache on the in-memory BlobStore: chunked storage, checksum verification on read, partial
// entries that grow by appending, purge / list / usage. And the IndexedDB store: type-checked here
// (it runs in the browser), with its Node behaviour (a clear error, no crash on import).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HubCache, HUB_CACHE_SCHEMA, cacheKey, sha256Hex } from './cache.ts';
import { IdbBlobStore, MemoryBlobStore, defaultBlobStore, type BlobStore } from './store.ts';
import { HubError } from './errors.ts';
import { Rng } from '../testing/rng.ts';

const bytes = (n: number, seed = 1): Uint8Array => {
  const r = new Rng(seed).uniform(n); // [n] floats → one byte each
  return Uint8Array.from(r, (x) => Math.floor((x + 1) * 127.5) & 255);
};

test('sha256Hex matches a known vector', async () => {
  assert.equal(await sha256Hex(new TextEncoder().encode('abc')), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test('complete entry: stored in chunks, read back verified; a corrupted chunk deletes the entry', async () => {
  const store = new MemoryBlobStore();
  const cache = new HubCache(store, { chunkSize: 1000 });
  const data = bytes(3500); // 4 chunks: 1000, 1000, 1000, 500
  const meta = await cache.saveComplete('org/m', 'main', 'model.safetensors', data, '"etag1"');
  assert.equal(meta.schema, HUB_CACHE_SCHEMA);
  assert.equal(meta.chunks.length, 4);
  assert.equal(meta.sha256, await sha256Hex(data));
  const key = cacheKey('org/m', 'main', 'model.safetensors');
  assert.equal(key, 'org/m@main/model.safetensors');
  assert.equal((await store.keys()).length, 5, 'meta + 4 chunks');
  const hit = await cache.load('org/m', 'main', 'model.safetensors');
  assert.ok(hit && hit.meta.complete);
  assert.deepEqual(hit.data, data);
  assert.deepEqual(await cache.loadRange('org/m', 'main', 'model.safetensors', 990, 2010), data.slice(990, 2010));

  // flip one byte of chunk 2 in the store: the read notices, deletes everything, reports a miss
  const c2 = (await store.get(`${key}\n2`)) as Uint8Array;
  c2[7] ^= 0xff;
  await store.set(`${key}\n2`, c2);
  const why: string[] = [];
  assert.equal(await cache.load('org/m', 'main', 'model.safetensors', (w) => why.push(w)), null);
  assert.match(why[0], /chunk 2 fails its SHA-256 check; the cached copy was deleted/);
  assert.deepEqual(await store.keys(), []);
});

test('another schema or a missing chunk is a miss, not a crash', async () => {
  const store = new MemoryBlobStore();
  const cache = new HubCache(store, { chunkSize: 100 });
  await store.set('org/m@main/old.bin', { schema: 0, bytes: new Uint8Array(3) });
  assert.equal(await cache.load('org/m', 'main', 'old.bin'), null);
  assert.equal(await store.get('org/m@main/old.bin'), undefined, 'old-schema entry removed');
  await cache.saveComplete('org/m', 'main', 'a.bin', bytes(250), null);
  await store.del('org/m@main/a.bin\n1');
  assert.equal(await cache.load('org/m', 'main', 'a.bin'), null);
});

test('partial entries: saved, extended by appending only new chunks, replaced on a new ETag', async () => {
  const store = new MemoryBlobStore();
  const cache = new HubCache(store, { chunkSize: 1000 });
  const data = bytes(5000, 3);
  const writes: string[] = [];
  const spy: BlobStore = { get: (k) => store.get(k), keys: () => store.keys(), del: (k) => store.del(k), set: (k, v) => (writes.push(k), store.set(k, v)) };
  const c = new HubCache(spy, { chunkSize: 1000 });
  await c.savePartial('org/m', 'main', 'w.bin', { bytes: [data.subarray(0, 700), data.subarray(700, 2500)], etag: '"e"', total: 5000 });
  let p = await cache.load('org/m', 'main', 'w.bin');
  assert.ok(p && !p.meta.complete);
  assert.deepEqual(p.data, data.subarray(0, 2500));
  assert.equal(p.meta.total, 5000);
  writes.length = 0;
  await c.savePartial('org/m', 'main', 'w.bin', { bytes: [data.subarray(0, 4200)], etag: '"e"', total: 5000 });
  // chunks 0 and 1 were full and kept; chunk 2 (was short) and 3, 4 are written, then the meta
  assert.deepEqual(writes, ['org/m@main/w.bin\n2', 'org/m@main/w.bin\n3', 'org/m@main/w.bin\n4', 'org/m@main/w.bin']);
  p = await cache.load('org/m', 'main', 'w.bin');
  assert.deepEqual(p!.data, data.subarray(0, 4200));
  // a different ETag: another version, everything rewritten (and stale chunks dropped)
  await c.savePartial('org/m', 'main', 'w.bin', { bytes: [data.subarray(0, 1500)], etag: '"f"', total: 5000 });
  p = await cache.load('org/m', 'main', 'w.bin');
  assert.deepEqual(p!.data, data.subarray(0, 1500));
  assert.equal((await store.keys()).length, 3, 'meta + 2 chunks');
});

test('list, usage and purge(repo) / purge()', async () => {
  const cache = new HubCache(new MemoryBlobStore(), { chunkSize: 64 });
  await cache.saveComplete('org/a', 'main', 'config.json', bytes(10), null);
  await cache.saveComplete('org/a', 'v1', 'model.safetensors', bytes(300), null);
  await cache.savePartial('org/b', 'main', 'model.safetensors', { bytes: [bytes(100)], etag: null, total: 1000 });
  await cache.saveMissing('org/b', 'main', 'model.safetensors.index.json');
  const l = await cache.list();
  assert.deepEqual(l.map((e) => [e.key, e.size, e.complete]), [
    ['org/a@main/config.json', 10, true],
    ['org/a@v1/model.safetensors', 300, true],
    ['org/b@main/model.safetensors', 100, false],
  ]);
  const u = await cache.usage();
  assert.deepEqual([u.files, u.partial, u.bytes], [3, 1, 410]);
  assert.equal(await cache.purge('org/a'), 2);
  assert.deepEqual((await cache.list()).map((e) => e.repo), ['org/b']);
  assert.equal(await cache.purge(), 2, 'the partial file and the 404 marker');
  assert.deepEqual(await cache.store.keys(), []);
});

test('MemoryBlobStore clones like IndexedDB: mutating what was read does not change the store', async () => {
  const s = new MemoryBlobStore();
  const a = new Uint8Array([1, 2, 3]);
  await s.set('k', a);
  a[0] = 9;
  const b = (await s.get('k')) as Uint8Array;
  b[1] = 9;
  assert.deepEqual(await s.get('k'), new Uint8Array([1, 2, 3]));
});

test('IdbBlobStore: a BlobStore by type; in Node it fails clearly on first use, not on import', async () => {
  const idb: BlobStore = new IdbBlobStore(); // compile-time check of the interface
  assert.equal((idb as IdbBlobStore).dbName, 'stoney-hub-v1');
  const e = await idb.get('x').catch((x) => x as HubError);
  assert.ok(e instanceof HubError && e.code === 'storage');
  assert.match(e.message, /IndexedDB is not available here/);
  assert.ok(defaultBlobStore() instanceof MemoryBlobStore, 'no IndexedDB → memory');
});
