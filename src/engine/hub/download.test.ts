// downloadFile / headFile / fetchRange against the local Hub stand-in (tools/hub-server.mjs):
// progress, resume with Range after a dropped connection, cancellation and resume, retries,
// version changes between attempts, auth and 404 messages, token scoping. No GPU; < 2 s.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { downloadFile, fetchRange, headFile, parseContentRange, type DownloadProgress } from './download.ts';
import { HubError, describeHubUrl } from './errors.ts';
import { hubFileUrl } from './hub.ts';
import { hubFailure, requestsFor, startHubServer, tempRoot, writeTinyRepo, TEST_REPO, type HubServer } from './testing.ts';

let server: HubServer;
let root: string;
let remove: () => Promise<void>;
let weights: Uint8Array; // the original model.safetensors
const url = (file = 'model.safetensors', revision = 'main') => hubFileUrl(TEST_REPO, revision, file, server.url);
const fast = { retryDelayMs: 5, progressIntervalMs: 0 };

before(async () => {
  ({ root, remove } = await tempRoot());
  const ckpt = await writeTinyRepo(root);
  weights = ckpt.files.get('model.safetensors')!;
  server = await startHubServer({ root });
});
after(async () => {
  await server.close();
  await remove();
});

/** Back to plain serving, counters cleared. */
function reset(): void {
  Object.assign(server.options, { token: null, cutAfterBytes: null, cutCount: Infinity, chunkSize: null, chunkDelayMs: 0, lfsRedirect: false });
  server.resetStats();
}

test('hubFileUrl encodes each part; describeHubUrl inverts it', () => {
  assert.equal(hubFileUrl('org/model', 'main', 'config.json'), 'https://huggingface.co/org/model/resolve/main/config.json');
  const u = hubFileUrl('org/model', 'refs/pr/1', 'sub dir/a#b.json', 'http://h:1/');
  assert.equal(u, 'http://h:1/org/model/resolve/refs%2Fpr%2F1/sub%20dir/a%23b.json');
  assert.deepEqual(describeHubUrl(u), { repo: 'org/model', revision: 'refs/pr/1', file: 'sub dir/a#b.json' });
  assert.throws(() => hubFileUrl('../etc', 'main', 'x'), /bad repo id/);
  assert.throws(() => hubFileUrl('a/b', 'main', '../x'), /bad file path/);
  assert.deepEqual(parseContentRange('bytes 5-9/10'), { start: 5, end: 9, total: 10 });
  assert.deepEqual(parseContentRange('bytes */10'), { start: -1, end: -1, total: 10 });
});

test('progress: monotonic bytes, total known, speed and ETA, final call at 100%', async () => {
  reset();
  server.options.chunkSize = 16384; // several network reads
  server.options.chunkDelayMs = 2;
  const seen: DownloadProgress[] = [];
  const r = await downloadFile(url(), { ...fast, onProgress: (p) => seen.push(p) });
  assert.deepEqual(r.data, weights);
  assert.ok(seen.length >= 4, `expected several progress calls, got ${seen.length}`);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i].bytes >= seen[i - 1].bytes, 'bytes must not decrease');
  assert.ok(seen.every((p) => p.total === weights.length && p.file === 'model.safetensors'));
  assert.ok(seen.some((p) => p.bytesPerSec > 0 && p.etaSec !== null && p.etaSec > 0), 'speed and ETA while running');
  const last = seen[seen.length - 1];
  assert.equal(last.bytes, weights.length);
  assert.equal(last.etaSec, 0);
  assert.equal(r.resumed, false);
});

test('resume: a dropped connection is continued with Range (manually, then by the retry loop)', async () => {
  reset();
  server.options.cutAfterBytes = 100_000;
  server.options.cutCount = 1;
  // retries: 0 → the drop surfaces as a 'network' error carrying the bytes received
  const err = await hubFailure(downloadFile(url(), { ...fast, retries: 0 }));
  assert.ok(err instanceof HubError && err.code === 'network', String(err));
  assert.match(err.message, /check your connection/);
  // bytes the client had read when the connection broke: at most the 100 000 sent
  const got = err.partial!.bytes.reduce((a, b) => a + b.byteLength, 0);
  assert.ok(got > 0 && got <= 100_000, `kept ${got}`);
  const r = await downloadFile(url(), { ...fast, resumeFrom: err.partial! });
  assert.deepEqual(r.data, weights, 'resumed bytes equal the original file');
  assert.equal(r.resumed, true);
  const gets = requestsFor(server, 'model.safetensors');
  assert.equal(gets.length, 2);
  assert.equal(gets[1].range, `bytes=${got}-`);
  assert.equal(gets[1].ifRange, err.partial!.etag, 'If-Range carries the first answer\'s ETag');
  assert.equal(gets[1].status, 206);
  assert.equal(gets[1].bytes, weights.length - got, 'only the rest was sent');

  // every answer cut after 60 000 bytes: the retry loop resumes until done, in one call
  reset();
  server.options.cutAfterBytes = 60_000;
  const r2 = await downloadFile(url(), { ...fast, retries: 2 });
  assert.deepEqual(r2.data, weights);
  const g2 = requestsFor(server, 'model.safetensors');
  assert.ok(g2.length >= Math.ceil(weights.length / 60_000), `${g2.length} requests`);
  assert.ok(g2.slice(1).every((g) => g.status === 206 && g.range !== null));
});

test('cancel mid-download keeps the bytes; a later call resumes from them', async () => {
  reset();
  server.options.chunkSize = 8192;
  server.options.chunkDelayMs = 3;
  const ac = new AbortController();
  const err = await hubFailure(downloadFile(url(), {
    ...fast,
    signal: ac.signal,
    onProgress: (p) => p.bytes >= 50_000 && ac.abort(),
  }));
  assert.ok(err instanceof HubError && err.code === 'cancelled', String(err));
  assert.equal(err.name, 'HubCancelledError');
  assert.match(err.message, /cancelled after \d+ bytes; call again to resume/);
  const kept = err.partial!.bytes.reduce((a, b) => a + b.byteLength, 0);
  assert.ok(kept >= 50_000 && kept < weights.length, `kept ${kept}`);
  server.options.chunkSize = null;
  const r = await downloadFile(url(), { ...fast, resumeFrom: err.partial! });
  assert.deepEqual(r.data, weights);
  const gets = requestsFor(server, 'model.safetensors');
  assert.equal(gets.at(-1)!.range, `bytes=${kept}-`);
  assert.equal(gets.at(-1)!.status, 206);

  // an already-aborted signal: no request at all
  server.resetStats();
  const e2 = await hubFailure(downloadFile(url(), { signal: AbortSignal.abort() }));
  assert.equal(e2.code, 'cancelled');
  assert.equal(server.stats.requests.length, 0);
});

test('a server that ignores Range (200) restarts cleanly from byte 0', async () => {
  reset();
  const prefix = { bytes: [weights.slice(0, 1000)], etag: null };
  // a fetch that drops the Range header: the server answers 200 with the whole file
  const noRange: typeof fetch = (input, init) => {
    const h = new Headers(init?.headers);
    h.delete('range');
    return fetch(input, { ...init, headers: h });
  };
  const r = await downloadFile(url(), { ...fast, resumeFrom: prefix, fetchImpl: noRange });
  assert.deepEqual(r.data, weights, 'no duplicated prefix');
  assert.equal(r.resumed, false);
});

test('If-Range: the file changed between attempts → the new version from 0, never a mix', async () => {
  reset();
  const file = join(root, TEST_REPO, 'main', 'changing.bin');
  const v1 = new Uint8Array(50_000).fill(1), v2 = new Uint8Array(60_000).fill(2);
  await writeFile(file, v1);
  server.options.cutAfterBytes = 20_000;
  server.options.cutCount = 1;
  const err = await hubFailure(downloadFile(url('changing.bin'), { ...fast, retries: 0 }));
  assert.equal(err.code, 'network');
  await writeFile(file, v2);
  const r = await downloadFile(url('changing.bin'), { ...fast, resumeFrom: err.partial! });
  assert.deepEqual(r.data, v2);
  const last = requestsFor(server, 'changing.bin').at(-1)!;
  assert.equal(last.status, 200, 'If-Range did not match: whole new file');
  // without If-Range the 206's different ETag is caught as well
  server.options.cutCount = 1;
  await writeFile(file, v1);
  const err2 = await hubFailure(downloadFile(url('changing.bin'), { ...fast, retries: 0 }));
  await writeFile(file, v2);
  const r2 = await downloadFile(url('changing.bin'), { ...fast, resumeFrom: err2.partial!, ifRange: false });
  assert.deepEqual(r2.data, v2);
});

test('401 without the token says a token is needed; the token works; 403 wording for a wrong token', async () => {
  reset();
  server.options.token = 'hf_secret';
  const e1 = await hubFailure(downloadFile(url('config.json'), { ...fast, endpoint: server.url }));
  assert.equal(e1.code, 'auth');
  assert.equal(e1.status, 401);
  assert.match(e1.message, /this repo needs an access token/);
  const e2 = await hubFailure(downloadFile(url('config.json'), { ...fast, endpoint: server.url, token: 'hf_wrong' }));
  assert.match(e2.message, /refused your access token/);
  const r = await downloadFile(url('config.json'), { ...fast, endpoint: server.url, token: 'hf_secret' });
  assert.equal(JSON.parse(new TextDecoder().decode(r.data)).vocab_size, 2048);
  assert.equal(requestsFor(server, 'config.json').at(-1)!.auth, true);
  assert.equal((await headFile(url(), { endpoint: server.url, token: 'hf_secret' })).size, weights.length);
});

test('the token goes only to the Hub endpoint origin (not to another origin, not after a redirect)', async () => {
  reset();
  // endpoint = the real Hub: our local server is another origin, so no Authorization is sent
  await downloadFile(url('config.json'), { ...fast, token: 'hf_secret' });
  assert.equal(requestsFor(server, 'config.json').at(-1)!.auth, false);
  // a redirect to the CDN origin: fetch drops Authorization there
  server.options.token = 'hf_secret';
  server.options.lfsRedirect = true;
  const r = await downloadFile(url(), { ...fast, endpoint: server.url, token: 'hf_secret' });
  assert.deepEqual(r.data, weights);
  const [hub, cdn] = requestsFor(server, 'model.safetensors');
  assert.ok(hub.auth && !hub.cdn && hub.status === 302);
  assert.ok(!cdn.auth && cdn.cdn && cdn.status === 200, 'the CDN never sees the token');
});

test('404 names the file and repo@revision; HEAD reports missing; network errors say check your connection', async () => {
  reset();
  const e = await hubFailure(downloadFile(url('nope.safetensors', 'v2'), fast));
  assert.equal(e.code, 'not-found');
  assert.match(e.message, /file not found in test-org\/tiny-llama@v2: nope\.safetensors/);
  assert.deepEqual(await headFile(url('nope.json'), {}), { exists: false, size: null, etag: null });
  const h = await headFile(url(), {});
  assert.equal(h.size, weights.length);
  // a port nothing listens on
  const dead = hubFileUrl(TEST_REPO, 'main', 'config.json', 'http://127.0.0.1:9');
  const n = await hubFailure(downloadFile(dead, { retries: 1, retryDelayMs: 1 }));
  assert.equal(n.code, 'network');
  assert.match(n.message, /check your connection/);
});

test('fetchRange reads only the asked bytes, also from a server that ignores Range', async () => {
  reset();
  assert.deepEqual(await fetchRange(url(), [0, 8], {}), weights.slice(0, 8));
  assert.deepEqual(await fetchRange(url(), [1000, 1010], {}), weights.slice(1000, 1010));
  assert.equal(requestsFor(server, 'model.safetensors').every((g) => g.status === 206 && g.bytes <= 10), true);
  const noRange: typeof fetch = (input, init) => fetch(input, { ...init, headers: {} });
  assert.deepEqual(await fetchRange(url(), [5, 20], { fetchImpl: noRange }), weights.slice(5, 20));
});

test('resuming a prefix that is already the whole file: 416 → done, no body transferred', async () => {
  reset();
  const r = await downloadFile(url(), { ...fast, resumeFrom: { bytes: [weights.slice()], etag: null } });
  assert.deepEqual(r.data, weights);
  const g = requestsFor(server, 'model.safetensors');
  assert.deepEqual([g.length, g[0].status, g[0].range], [1, 416, `bytes=${weights.length}-`]);
});
