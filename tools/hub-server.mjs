#!/usr/bin/env node
// A tiny stand-in for the Hugging Face Hub's file endpoint, for tests and offline demos.
//
//   GET|HEAD /{repo}/resolve/{revision}/{file}   serves  {root}/{repo}/{revision}/{file}
//                                                (or {root}/{repo}/{file}: one folder for every revision)
//   GET      /api/datasets/{repo}/parquet/{config}/{split}
//                                                the Hub's parquet listing of a dataset split: a JSON list of
//                                                /api/datasets/{repo}/parquet/{config}/{split}/{n}.parquet URLs,
//                                                one per file in {root}/datasets/{repo}/refs/convert/parquet/
//                                                {config}/{split}/ (sorted); each 302s to that file's
//                                                /datasets/{repo}/resolve/refs%2Fconvert%2Fparquet/... URL, as
//                                                the Hub's do
//   GET      /__stats                            request counters as JSON
//
// Like the Hub: ETag = "<sha256 of the file>" (as for LFS files), Accept-Ranges, single-range
// Range requests (206 + Content-Range; 416 when unsatisfiable), If-Range, X-Linked-Size on
// *.safetensors / *.bin, CORS for a browser page on another port, 401 without the token when one
// is required. Test knobs: cut a response after N body bytes (socket destroyed, as a dropped
// connection), stream slowly in chunks, redirect weight files to a second origin (a "CDN": another
// port of this server, paths under /__lfs/) that needs no token.
//
// Programmatic:  const s = await startHubServer({ root, token, cutAfterBytes, cutCount, chunkSize, chunkDelayMs, lfsRedirect })
//                s.url, s.stats, s.options (mutable), s.resetStats(), await s.close()
// Command line:  node tools/hub-server.mjs --root DIR [--port N] [--token T] [--cut-after N] [--lfs-redirect]

import { createServer } from 'node:http';
import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Files read once per (path, mtime, size): bytes and ETag. */
const fileCache = new Map();
async function loadFile(path) {
  let st;
  try {
    st = await stat(path);
  } catch {
    return null;
  }
  if (!st.isFile()) return null;
  const k = `${path}:${st.mtimeMs}:${st.size}`;
  let f = fileCache.get(k);
  if (!f) {
    const bytes = await readFile(path);
    f = { bytes, etag: `"${createHash('sha256').update(bytes).digest('hex')}"` };
    fileCache.set(k, f);
  }
  return f;
}

/** "bytes=a-b" | "bytes=a-" | "bytes=-n" → [start, endInclusive] within size, 'bad' (416), or null (ignored). */
function parseRange(h, size) {
  if (!h) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(h.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null; // multi-range or garbage: serve the whole file
  let start, end;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'bad';
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || end < start) return 'bad';
  return [start, end];
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function startHubServer(opts) {
  const options = {
    root: resolve(opts.root),
    token: opts.token ?? null,
    cutAfterBytes: opts.cutAfterBytes ?? null, // cut GET bodies after this many bytes...
    cutCount: opts.cutCount ?? Infinity, //      ...for this many responses (then serve normally)
    chunkSize: opts.chunkSize ?? null, //        write bodies in chunks of this size...
    chunkDelayMs: opts.chunkDelayMs ?? 0, //     ...waiting this long between chunks
    lfsRedirect: opts.lfsRedirect ?? false, //   302 *.safetensors/*.bin to the "CDN" origin
  };
  const stats = { requests: [], byPath: {} };
  const resetStats = () => {
    stats.requests.length = 0;
    for (const k of Object.keys(stats.byPath)) delete stats.byPath[k];
  };
  const count = (path, rec) => {
    stats.requests.push(rec);
    const s = (stats.byPath[path] ??= { HEAD: 0, GET: 0, ranged: 0, status: {}, bytes: 0, withAuth: 0 });
    s[rec.method] = (s[rec.method] ?? 0) + 1;
    if (rec.range) s.ranged++;
    if (rec.auth) s.withAuth++;
    s.status[rec.status] = (s.status[rec.status] ?? 0) + 1;
    s.bytes += rec.bytes;
  };
  let cdnPort = 0;
  let port = 0;

  const cors = {
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Allow-Headers': 'Authorization, Range, If-Range',
    'Access-Control-Expose-Headers': 'Content-Range, Content-Length, ETag, Accept-Ranges, X-Linked-Size, X-Linked-Etag, X-Error-Code',
  };

  /** The Hub's parquet listing of a dataset split, and its per-file redirects (see the header). */
  async function parquetApi(req, res, m, auth) {
    const [, repo, config, split, n] = m.map((x) => (x === undefined ? x : decodeURIComponent(x)));
    const rec = { method: req.method ?? 'GET', path: new URL(req.url, 'http://x').pathname, cdn: false, range: null, ifRange: null, auth: auth !== null, status: 0, bytes: 0 };
    const send = (status, headers, body) => {
      rec.status = status;
      rec.bytes = body ? Buffer.byteLength(body) : 0;
      count(rec.path, rec);
      res.writeHead(status, { ...cors, ...headers }).end(rec.method === 'HEAD' ? undefined : body);
    };
    if ([repo, config, split].some((p) => p.includes('..') || p.includes('\\') || p.includes('\0'))) return send(400, { 'Content-Type': 'application/json' }, JSON.stringify({ error: 'bad path' }));
    if (options.token !== null && auth !== `Bearer ${options.token}`) return send(401, { 'Content-Type': 'application/json', 'X-Error-Code': 'GatedRepo' }, JSON.stringify({ error: 'Access to this dataset is restricted: you must be authenticated.' }));
    const dir = join(options.root, 'datasets', repo, 'refs', 'convert', 'parquet', config, split);
    let files;
    try {
      files = (await readdir(dir)).filter((f) => f.endsWith('.parquet')).sort();
    } catch {
      files = [];
    }
    if (!files.length) return send(404, { 'Content-Type': 'application/json', 'X-Error-Code': 'EntryNotFound' }, JSON.stringify({ error: `no parquet files for ${repo} config ${config} split ${split}` }));
    const base = `http://127.0.0.1:${port}`;
    if (n === undefined) {
      const list = files.map((_, i) => `${base}/api/datasets/${repo}/parquet/${encodeURIComponent(config)}/${encodeURIComponent(split)}/${i}.parquet`);
      return send(200, { 'Content-Type': 'application/json' }, JSON.stringify(list));
    }
    const f = files[Number(n)];
    if (!f) return send(404, { 'Content-Type': 'application/json', 'X-Error-Code': 'EntryNotFound' }, JSON.stringify({ error: `no file ${n} in the listing` }));
    return send(302, { Location: `${base}/datasets/${repo}/resolve/${encodeURIComponent('refs/convert/parquet')}/${[config, split, f].map(encodeURIComponent).join('/')}` }, '');
  }

  async function handle(req, res, isCdn) {
    const url = new URL(req.url, 'http://x');
    const method = req.method ?? 'GET';
    if (method === 'OPTIONS') return res.writeHead(204, { ...cors, 'Access-Control-Allow-Methods': 'GET, HEAD' }).end();
    if (url.pathname === '/__stats') return res.writeHead(200, { 'Content-Type': 'application/json', ...cors }).end(JSON.stringify(stats));

    const auth = req.headers.authorization ?? null;
    const api = /^\/api\/datasets\/([^/]+\/[^/]+)\/parquet\/([^/]+)\/([^/]+)(?:\/(\d+)\.parquet)?$/.exec(url.pathname);
    if (api && !isCdn) return parquetApi(req, res, api, auth);

    // "/__lfs/<path>" is the CDN side of a redirect: no token needed (like a signed CDN URL)
    const cdn = isCdn;
    const hubPath = cdn ? url.pathname.replace(/^\/__lfs(?=\/)/, '') : url.pathname;
    const rec = { method, path: hubPath, cdn, range: req.headers.range ?? null, ifRange: req.headers['if-range'] ?? null, auth: auth !== null, status: 0, bytes: 0 };
    const finish = (status, headers, body) => {
      rec.status = status;
      count(hubPath, rec);
      res.writeHead(status, { ...cors, ...headers }).end(method === 'HEAD' ? undefined : body);
    };
    const error = (status, code, message) =>
      finish(status, { 'Content-Type': 'application/json', 'X-Error-Code': code }, JSON.stringify({ error: message }));

    const i = hubPath.indexOf('/resolve/');
    if ((method !== 'GET' && method !== 'HEAD') || i <= 0) return error(404, 'EntryNotFound', 'not a /{repo}/resolve/{revision}/{file} URL');
    let repo, revision, file;
    try {
      repo = decodeURIComponent(hubPath.slice(1, i));
      const rest = hubPath.slice(i + '/resolve/'.length).split('/');
      revision = decodeURIComponent(rest[0]);
      file = rest.slice(1).map(decodeURIComponent).join('/');
    } catch {
      return error(400, 'BadRequest', 'bad percent-encoding');
    }
    const parts = [...repo.split('/'), revision, ...file.split('/')];
    if (!file || parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\\') || p.includes('\0'))) return error(400, 'BadRequest', 'bad path');

    if (!cdn && options.token !== null && auth !== `Bearer ${options.token}`) {
      return error(401, 'GatedRepo', 'Access to this repo is restricted: you must be authenticated (send Authorization: Bearer <token>).');
    }
    const candidates = [join(options.root, repo, revision, file), join(options.root, repo, file)];
    let f = null;
    for (const c of candidates) {
      if (!c.startsWith(options.root + sep)) continue;
      if ((f = await loadFile(c))) break;
    }
    if (!f) return error(404, 'EntryNotFound', `${file} does not exist in ${repo}@${revision}`);
    const size = f.bytes.length;
    const lfs = /\.(safetensors|bin)$/.test(file);
    const base = { ETag: f.etag, 'Accept-Ranges': 'bytes', ...(lfs ? { 'X-Linked-Size': String(size), 'X-Linked-Etag': f.etag } : {}) };

    if (!cdn && lfs && options.lfsRedirect) {
      const location = `http://127.0.0.1:${cdnPort}/__lfs${hubPath}`;
      return finish(302, { ...base, Location: location, 'Content-Length': '0' }, undefined);
    }

    // Range, honoured only when If-Range (if any) names the current version
    let range = parseRange(req.headers.range, size);
    if (range && rec.ifRange && rec.ifRange !== f.etag) range = null;
    if (range === 'bad') return finish(416, { ...base, 'Content-Range': `bytes */${size}` }, undefined);
    const [start, end] = range ?? [0, size - 1];
    const body = f.bytes.subarray(start, end + 1);
    const headers = { ...base, 'Content-Type': 'application/octet-stream', 'Content-Length': String(body.length) };
    if (range) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    const status = range ? 206 : 200;
    rec.status = status;
    count(hubPath, rec);
    res.writeHead(status, { ...cors, ...headers });
    if (method === 'HEAD') return res.end();

    // the body: whole, cut (dropped connection), or slow chunks
    const cut = options.cutAfterBytes !== null && options.cutCount > 0 && body.length > options.cutAfterBytes;
    const limit = cut ? options.cutAfterBytes : body.length;
    if (cut) options.cutCount--;
    const step = options.chunkSize ?? limit;
    const closed = new Promise((r) => res.once('close', r));
    for (let at = 0; at < limit; at += step) {
      if (res.destroyed) return;
      const piece = body.subarray(at, Math.min(limit, at + step));
      await Promise.race([new Promise((r) => res.write(piece, r)), closed]);
      rec.bytes += piece.length;
      stats.byPath[hubPath].bytes += piece.length;
      if (options.chunkDelayMs && at + step < limit) await sleep(options.chunkDelayMs);
    }
    // the client sees a connection closed before Content-Length bytes; the short wait lets it read
    // what arrived first (a stream that errors drops the chunks still queued in it)
    if (cut) setTimeout(() => res.destroy(), 30);
    else res.end();
  }

  // the Hub origin, and (for lfsRedirect) a second origin on another port standing in for the CDN
  const sockets = new Set();
  const listen = async (p, isCdn) => {
    const server = createServer((req, res) => {
      handle(req, res, isCdn).catch((e) => {
        if (!res.headersSent) res.writeHead(500, cors).end(String(e?.message ?? e));
        else res.destroy();
      });
    });
    server.on('connection', (s) => (sockets.add(s), s.on('close', () => sockets.delete(s))));
    await new Promise((r, j) => (server.once('error', j), server.listen(p, '127.0.0.1', r)));
    return server;
  };
  const server = await listen(opts.port ?? 0, false);
  const cdnServer = await listen(0, true);
  port = server.address().port;
  cdnPort = cdnServer.address().port;
  const close = async () => {
    for (const s of sockets) s.destroy();
    await Promise.all([server, cdnServer].map((x) => new Promise((r) => x.close(() => r()))));
  };
  return { url: `http://127.0.0.1:${port}`, port, cdnUrl: `http://127.0.0.1:${cdnPort}`, stats, options, resetStats, close };
}

// command line
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const get = (flag) => {
    const k = args.indexOf(flag);
    return k >= 0 ? args[k + 1] : undefined;
  };
  const root = get('--root') ?? args.find((a) => !a.startsWith('--'));
  if (!root || args.includes('--help')) {
    console.error('usage: node tools/hub-server.mjs --root DIR [--port N] [--token T] [--cut-after N] [--lfs-redirect]\n  serves DIR/{repo}/{revision}/{file} (or DIR/{repo}/{file}) as /{repo}/resolve/{revision}/{file}');
    process.exit(root ? 0 : 2);
  }
  const s = await startHubServer({
    root,
    port: get('--port') ? Number(get('--port')) : 0,
    token: get('--token'),
    cutAfterBytes: get('--cut-after') ? Number(get('--cut-after')) : undefined,
    lfsRedirect: args.includes('--lfs-redirect'),
  });
  console.log(`hub-server: ${s.url} (serving ${resolve(root)}; stats at ${s.url}/__stats)`);
}
