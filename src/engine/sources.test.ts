// urlSource against servers as users run them: `vite` (npm start) and `vite preview` answer every
// unknown path with index.html, HTTP 200 text/html (the single-page-app fallback), where the e2e
// tests' own static server answered 404. An HTML page for a file that is not .html is a missing
// file: the optional probes (chat_template.jinja, generation_config.json, the safetensors index,
// model.onnx, ...) must say "absent", not take index.html as the file, and a required file
// (config.json, tokenizer.json, a listed shard) must fail with an error that names it and the cause.
// Before the fix the page's model card said "Chat template: yes" for a model without one and
// every prompt went through index.html as a Jinja template.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { looksLikeHtml, requiredUrlFile, urlSource } from './sources.ts';
import { loadCheckpoint } from './model/checkpoint.ts';
import { loadTokenizer } from './model/tokenizer.ts';
import { MODEL_SIDE_FILES, ModelSession } from './session.ts';
import { MemoryBlobStore, planDownload } from './hub/index.ts';
import { findOnnx } from './verify.ts';
import { releaseTestRuntime, testRuntime } from './testing/gpu.ts';

// qwen2-tied: its chat template is in chat_template.jinja only (tokenizer_config.json has none), so
// hiding that file leaves a model without a chat template
const FIXTURE = new URL('../../models/fixtures/qwen2-tied/', import.meta.url).pathname;
const INDEX_HTML = '<!doctype html>\n<html lang="en">\n  <head><meta charset="UTF-8" /><title>Stoney-RL Lab</title></head>\n  <body><div id="root"></div></body>\n</html>\n';

interface SpaServer {
  url: string;
  /** files of FIXTURE the server pretends not to have */
  hidden: Set<string>;
  /** Content-Type of the fallback page; null sends none (a host that sniffs nothing) */
  fallbackType: string | null;
  /** 'spa': unknown paths get index.html with 200 (vite dev / preview); '404': a plain static host */
  mode: 'spa' | '404';
  requests: string[];
  server: Server;
}

/** FIXTURE over HTTP like sirv/vite: GET/HEAD with Content-Length, single ranges, SPA fallback. */
async function startSpaServer(): Promise<SpaServer> {
  const s: SpaServer = { url: '', hidden: new Set(), fallbackType: 'text/html', mode: 'spa', requests: [], server: undefined as unknown as Server };
  s.server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    s.requests.push(`${req.method} ${path}`);
    const name = path.replace(/^\/model\//, '');
    const file = join(FIXTURE, name);
    if (!path.startsWith('/model/') || name.includes('/') || s.hidden.has(name) || !existsSync(file) || !statSync(file).isFile()) {
      if (s.mode === '404') return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      const body = Buffer.from(INDEX_HTML);
      res.writeHead(200, { ...(s.fallbackType ? { 'content-type': s.fallbackType } : {}), 'content-length': String(body.length) });
      return void res.end(req.method === 'HEAD' ? undefined : body);
    }
    const data = readFileSync(file);
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const [start, end] = m ? [Number(m[1]), m[2] ? Math.min(Number(m[2]), data.length - 1) : data.length - 1] : [0, data.length - 1];
    const type = name.endsWith('.json') ? 'application/json' : 'application/octet-stream';
    res.writeHead(m ? 206 : 200, { 'content-type': type, 'content-length': String(end - start + 1), ...(m ? { 'content-range': `bytes ${start}-${end}/${data.length}` } : {}) });
    res.end(req.method === 'HEAD' ? undefined : data.subarray(start, end + 1));
  });
  await new Promise<void>((ok) => s.server.listen(0, '127.0.0.1', ok));
  s.url = `http://127.0.0.1:${(s.server.address() as AddressInfo).port}/model/`;
  return s;
}

let srv: SpaServer;
before(async () => {
  srv = await startSpaServer();
});
after(async () => {
  await new Promise((ok) => srv.server.close(ok));
  await releaseTestRuntime();
});

/** Back to the default: the SPA fallback as vite sends it, nothing hidden. */
function reset(): void {
  srv.hidden = new Set();
  srv.fallbackType = 'text/html';
  srv.mode = 'spa';
  srv.requests = [];
}

const present = async (src: ReturnType<typeof urlSource>, files: string[]) => {
  const out: string[] = [];
  for (const f of files) if ((await src.size(f)) !== null) out.push(f);
  return out;
};

test('an SPA fallback (200 text/html) for an optional file is a missing file: no chat template from index.html', async () => {
  reset();
  srv.hidden = new Set(['chat_template.jinja', 'generation_config.json']);
  const src = urlSource(srv.url);
  for (const f of ['chat_template.jinja', 'generation_config.json', 'model.safetensors.index.json', 'pytorch_model.bin', 'onnx/model.onnx', 'model_quantized.onnx']) {
    assert.equal(await src.size(f), null, `${f} is missing, not index.html`);
  }
  // the probe loop of ModelSession.load (the files kept beside the model) finds only the real ones
  assert.deepEqual(await present(src, MODEL_SIDE_FILES), ['config.json', 'tokenizer.json', 'tokenizer_config.json']);
  // the tokenizer: no chat template, so the card says "no" and prompts go in as plain text
  const tok = await loadTokenizer(src);
  assert.equal(tok.chatTemplate, null);
  // the weights still load (model.safetensors is real; the index probe said "absent")
  const ck = await loadCheckpoint(src);
  assert.equal(ck.config.arch, 'qwen2');
  assert.ok(ck.tensors.size > 0);
  assert.equal((await findOnnx(urlSource(srv.url)))?.path, 'model.onnx', 'the real model.onnx is found');
  srv.hidden.add('model.onnx');
  assert.equal(await findOnnx(urlSource(srv.url)), null, 'index.html is not an ONNX model');
});

test('the same folder with its chat_template.jinja served: the template is found (the control)', async () => {
  reset();
  const src = urlSource(srv.url);
  assert.equal(await src.size('chat_template.jinja'), statSync(join(FIXTURE, 'chat_template.jinja')).size);
  const tok = await loadTokenizer(src);
  assert.equal(tok.chatTemplate, readFileSync(join(FIXTURE, 'chat_template.jinja'), 'utf8'));
  // a small text file is read once: its size came from the GET that the read then uses
  assert.equal(srv.requests.filter((r) => r.endsWith('/chat_template.jinja')).length, 1, srv.requests.join(', '));
});

test('belt and braces: a fallback page without text/html is still recognised by its body for .json and .jinja', async () => {
  for (const type of ['text/plain', null, 'application/octet-stream']) {
    reset();
    srv.fallbackType = type;
    srv.hidden = new Set(['chat_template.jinja', 'generation_config.json']);
    const src = urlSource(srv.url);
    assert.equal(await src.size('chat_template.jinja'), null, `Content-Type ${type}`);
    assert.equal(await src.size('generation_config.json'), null, `Content-Type ${type}`);
    assert.equal((await loadTokenizer(src)).chatTemplate, null);
  }
  assert.equal(looksLikeHtml(new TextEncoder().encode('\uFEFF\n  <!DOCTYPE HTML>\n<html>')), true);
  assert.equal(looksLikeHtml(new TextEncoder().encode('<html lang="en">')), true);
  assert.equal(looksLikeHtml(new TextEncoder().encode('{% if messages %}<html>{% endif %}')), false, 'a template that writes HTML is still a template');
  assert.equal(looksLikeHtml(new TextEncoder().encode('{"html": "<html>"}')), false);
});

test('an HTML page for a required file is an error naming the file and the likely cause', async () => {
  const why = /: the server answered this file with an HTML page: the file is missing \(a single-page-app fallback\?\)/;
  const cases: [string, (src: ReturnType<typeof urlSource>) => Promise<unknown>][] = [
    ['config.json', (src) => loadCheckpoint(src)],
    ['config.json', (src) => planDownload(src, { maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 2 ** 30 })],
    ['tokenizer.json', (src) => loadTokenizer(src)],
  ];
  for (const [file, run] of cases) {
    reset();
    srv.hidden = new Set([file]);
    await assert.rejects(run(urlSource(srv.url)), (e: Error) => {
      assert.match(e.message, new RegExp(`^${srv.url.replace(/[.]/g, '\\.')}${file.replace('.', '\\.')}`), e.message);
      assert.match(e.message, why);
      return true;
    });
  }
  // a read of a file the server answers with HTML is that error too, whatever the file
  reset();
  srv.hidden = new Set(['generation_config.json', 'model.safetensors']);
  await assert.rejects(urlSource(srv.url).read('generation_config.json'), why);
  await assert.rejects(urlSource(srv.url).read('model.safetensors', [0, 8]), why);
  assert.deepEqual(['config.json', 'tokenizer.json', 'model-00001-of-00002.safetensors', 'model.safetensors', 'chat_template.jinja'].map(requiredUrlFile), [true, true, true, false, false]);
});

test('a plain static host (404 for missing files) and a real .html file are unchanged', async () => {
  reset();
  srv.mode = '404';
  srv.hidden = new Set(['chat_template.jinja']);
  const src = urlSource(srv.url);
  assert.equal(await src.size('chat_template.jinja'), null);
  assert.equal(await src.size('config.json'), statSync(join(FIXTURE, 'config.json')).size);
  assert.equal(await src.size('model.safetensors'), statSync(join(FIXTURE, 'model.safetensors')).size);
  assert.equal((await loadTokenizer(src)).chatTemplate, null);
  // an .html file asked for by name is an HTML page by right: not "missing"
  reset();
  assert.equal(await urlSource(srv.url).size('notes.html'), INDEX_HTML.length);
});

test('ModelSession.load over an SPA server: the summary says no chat template, the side files are the real ones', async () => {
  reset();
  srv.hidden = new Set(['chat_template.jinja', 'generation_config.json']);
  const rt = await testRuntime();
  const dev = rt.device.limits;
  const s = await ModelSession.load(rt, { kind: 'url', baseUrl: srv.url }, { store: new MemoryBlobStore(), limits: { maxBufferSize: dev.maxBufferSize, maxStorageBufferBindingSize: dev.maxStorageBufferBindingSize } });
  try {
    assert.equal(s.summary.chatTemplate, false, 'the model card must not claim a chat template');
    assert.deepEqual([...s.modelFiles.keys()].sort(), ['config.json', 'tokenizer.json', 'tokenizer_config.json']);
    assert.equal(s.summary.arch, 'qwen2');
  } finally {
    s.dispose();
  }
});
