// Browser end-to-end for models: in headless Chromium (WebGPU on SwiftShader), the lab loads the
// tiny llama-gqa fixture, generates, and draws its attention; and loads it "from the Hub" (the
// local stand-in tools/hub-server.mjs) with progress, token and cache. The app is a fresh build
// served by `vite preview` (as `npm run preview`), whose single-page-app fallback answers the
// probes for optional model files with index.html.
//
//   node tools/run-node.mjs --test --test-reporter=spec e2e/model.test.ts
//
// How the page is pointed at test data (developer options, src/app/devOptions.ts, shown on the
// page when used):
//   ?model=./fixtures/llama-gqa/        loads that folder with the `url` source on start; the preview
//                                       serves models/fixtures/ under /fixtures/ (a mount of startPreview)
//   ?hubEndpoint=http://127.0.0.1:PORT  Hub requests go to the stand-in instead of huggingface.co
// Screenshots for humans: /tmp/lab-model.png and /tmp/lab-attn.png (not asserted).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ROOT, buildApp, launchChromium, optionalCheckpointFile, startPreview, watchContext, watchPage, type AppServer, type Watch } from './harness.ts';
import { requestsFor, startHubServer, tempRoot, type HubServer } from '../src/engine/hub/testing.ts';

const FIXTURE = join(ROOT, 'models', 'fixtures', 'llama-gqa');
const REPO = 'test-org/llama-gqa';
const TOKEN = 'hf_e2e_test_token';
// optional files the loader probes for; their 404 (and the 401 of the token check) is expected
const expected404 = optionalCheckpointFile;

let build: ReturnType<typeof buildApp>;
let server: AppServer;
let origin = '';
let browser: Browser;
let hub: HubServer;
let hubRoot: Awaited<ReturnType<typeof tempRoot>>;

before(async () => {
  build = buildApp();
  server = await startPreview(build.distDir, { fixtures: join(ROOT, 'models', 'fixtures') });
  origin = server.url;
  hubRoot = await tempRoot();
  const dir = join(hubRoot.root, REPO, 'main');
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(FIXTURE)) if (!/reference|fixture/.test(f)) copyFileSync(join(FIXTURE, f), join(dir, f));
  hub = await startHubServer({ root: hubRoot.root });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await hub?.close();
  await hubRoot?.remove();
  await server?.close();
  build?.cleanup();
});

async function open(url: string, extra404: (u: string) => boolean = () => false): Promise<{ context: BrowserContext; page: Page; watch: Watch }> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const is404ok = (u: string) => expected404(u) || extra404(u);
  const watch = await watchContext(context, is404ok);
  const page = await context.newPage();
  watchPage(page, watch, is404ok);
  await page.goto(url, { waitUntil: 'load' });
  return { context, page, watch };
}

const status = (page: Page, testid: string) => page.getByTestId(testid).getAttribute('data-status');

/** Waits until the panel's data-status is one of `want`; fails with the panel's error text otherwise. */
async function until(page: Page, testid: string, want: string[], timeout = 60_000): Promise<string> {
  const sel = `[data-testid="${testid}"]`;
  await page.waitForFunction(([s, w]) => w.includes(document.querySelector(s)?.getAttribute('data-status') ?? ''), [sel, want] as const, { timeout }).catch(() => undefined);
  const got = (await status(page, testid)) ?? '';
  if (!want.includes(got)) assert.fail(`${testid} is '${got}', wanted ${want.join('|')}: ${await page.locator(`${sel} [role=alert]`).allTextContents()}`);
  return got;
}

function assertClean(watch: Watch) {
  assert.deepEqual([...watch.consoleErrors], [], 'no console errors');
  assert.deepEqual(watch.offHost, [], 'no request left 127.0.0.1');
  assert.deepEqual(watch.failedLoads, [], 'every local load succeeded');
}

test('a model from a URL on this site (then a picked folder): summary, streamed generation, attention heatmap and head stats', { timeout: 120_000 }, async () => {
  const { context, page, watch } = await open(`${origin}/?model=./fixtures/llama-gqa/#/models`);
  try {
    await until(page, 'model-panel', ['ready']);
    const card = page.getByTestId('model-summary');
    assert.equal(await card.getAttribute('data-name'), 'llama-gqa');
    assert.equal(await card.getAttribute('data-heads'), '4');
    assert.equal((await page.getByTestId('summary-n_heads').textContent())?.trim(), '4 query, 2 key/value');
    assert.equal((await page.getByTestId('summary-n_layers').textContent())?.trim(), '3');
    assert.ok(watch.requested.some((u) => /\/fixtures\/llama-gqa\/model\.safetensors$/.test(u)), 'weights came from the URL folder');

    // generate: plain text, greedy, 8 tokens; the output streams in and the run finishes
    await page.getByTestId('gen-chat').uncheck();
    await page.getByTestId('gen-prompt').fill('The cat');
    await page.getByTestId('gen-max').fill('8');
    await page.getByTestId('gen-run').click();
    await until(page, 'generate-panel', ['done']);
    const out = (await page.getByTestId('gen-output').textContent()) ?? '';
    assert.ok(out.length > 0, 'generated text is shown');
    assert.match((await page.getByTestId('gen-stats').textContent()) ?? '', /^8 new tokens after a 2-token prompt/);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: '/tmp/lab-model.png', fullPage: true });

    // attention: layer 0, head 0 large beside small multiples of all heads; then head 1; then layer 2
    await page.getByTestId('attn-prompt').fill('The cat sat on the mat.');
    await page.getByTestId('attn-run').click();
    await until(page, 'attention-panel', ['done']);
    const T = await page.getByTestId('token-chip').count();
    assert.equal(T, 7, 'one chip per token');
    assert.deepEqual(await page.getByTestId('token-chip').allTextContents().then((a) => a.map((s) => s.replace(/^\d+/, ''))), ['The', '·cat', '·sat', '·on', '·the', '·mat', '.']);
    const small = page.getByTestId('heatmap-small');
    assert.equal(await small.count(), 4, 'one small map per head');
    const causal = String((T * (T + 1)) / 2);
    for (const d of await small.evaluateAll((els) => els.map((e) => e.getAttribute('data-drawn')))) assert.equal(d, causal);
    assert.equal(await page.getByTestId('head-stats-row').count(), 4, 'one stats row per head');

    const map = page.getByTestId('heatmap');
    await page.getByTestId('attn-head').selectOption('1');
    await page.waitForFunction(() => document.querySelector('[data-testid="heads-grid"] [aria-pressed="true"]')?.textContent === 'head 1');
    assert.equal(await map.getAttribute('data-drawn'), causal, 'every causal cell drawn');
    // the canvas really has coloured cells: the bottom-left cell (last query → first key) is not blank
    const px = await map.evaluate((c: HTMLCanvasElement) => {
      const ctx = c.getContext('2d')!;
      const d = Array.from(ctx.getImageData(0, 0, c.width, c.height).data);
      let coloured = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && d[i + 2] > d[i] + 20) coloured++; // blue-ish pixels
      return { coloured, total: d.length / 4 };
    });
    assert.ok(px.coloured > px.total * 0.05, `heatmap has coloured cells (${px.coloured} of ${px.total} pixels)`);
    // hover a cell: the readout names both tokens and the probability
    await map.scrollIntoViewIfNeeded();
    const box = (await map.boundingBox())!;
    await map.hover({ position: { x: box.width - 4, y: box.height - 4 } }); // last query, last key
    assert.match((await page.getByTestId('heatmap-readout').textContent()) ?? '', /query 6 «\.» → key 6 «\.»: 0\.\d{4}/);
    await map.focus();
    await page.keyboard.press('ArrowLeft');
    assert.match((await page.getByTestId('heatmap-readout').textContent()) ?? '', /query 6 «\.» → key 5 «·mat»: 0\.\d{4}/);
    const panel = page.getByTestId('attention-panel');
    await panel.evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await map.hover({ position: { x: box.width - 50, y: box.height - 20 } }); // a tooltip in the screenshot
    await panel.screenshot({ path: '/tmp/lab-attn.png' });

    await page.getByTestId('attn-layer').selectOption('2');
    await page.waitForSelector('[data-testid="attention-panel"][data-layer="2"][data-status="done"]', { timeout: 30_000 });
    assert.equal(await page.getByTestId('head-stats-row').count(), 4);

    // the same checkpoint as a picked folder (<input webkitdirectory>): File objects go to the worker
    const before = watch.requested.length;
    await page.locator('input[type=file]').setInputFiles(FIXTURE);
    await page.waitForSelector('[data-testid="model-summary"] >> text=from a local folder', { timeout: 60_000 });
    await until(page, 'model-panel', ['ready']);
    assert.equal(await page.getByTestId('model-summary').getAttribute('data-name'), 'llama-gqa');
    assert.deepEqual(watch.requested.slice(before), [], 'a local folder is read without any request');
    assertClean(watch);
  } finally {
    await context.close();
  }
});

test('a model from the Hub (local stand-in): token, progress, cache on reload, clear cache', { timeout: 120_000 }, async () => {
  hub.options.token = TOKEN;
  hub.options.chunkSize = 32 * 1024; // ~21 slow chunks: the download phase is visible for ~1 s
  hub.options.chunkDelayMs = 50;
  const url = `${origin}/?hubEndpoint=${encodeURIComponent(hub.url)}#/models`;
  const is401 = (u: string) => u.startsWith(hub.url);
  const { context, page, watch } = await open(url);
  // the token check answers 401 by design: not a failure of the page
  const ignore401 = () => (watch.failedLoads = watch.failedLoads.filter((f) => !(is401(f) && /HTTP 401/.test(f))));
  try {
    assert.match((await page.getByTestId('hub-endpoint-note').textContent()) ?? '', /127\.0\.0\.1/);
    await page.getByTestId('hub-repo').fill(REPO);
    await page.getByTestId('hub-revision').fill('main');

    // without the token: the Hub's 401 becomes a clear error that asks for one
    await page.getByTestId('load-hub').click();
    await until(page, 'model-panel', ['error']);
    assert.equal(await page.getByTestId('load-error').getAttribute('data-kind'), 'auth');
    ignore401();
    watch.consoleErrors.forEach((e) => /401/.test(e) && watch.consoleErrors.delete(e));

    // with the token: progress through plan → download → upload, then the summary
    hub.resetStats();
    await page.getByTestId('hub-token').fill(TOKEN);
    // the stand-in endpoint is not huggingface.co: the token goes there only once the user confirms it
    await page.getByTestId('hub-token-consent').check();
    await page.getByTestId('load-hub').click();
    await page.waitForSelector('[data-testid="load-progress"][data-phase="download"]', { timeout: 30_000 });
    assert.ok(await page.locator('[data-testid="load-progress"] progress').isVisible(), 'the progress bar is shown while downloading');
    await page.getByTestId('model-panel').screenshot({ path: '/tmp/lab-hub-progress.png' });
    await until(page, 'model-panel', ['ready']);
    assert.equal(await page.getByTestId('model-summary').getAttribute('data-name'), `${REPO}@main`);
    assert.equal(requestsFor(hub, 'model.safetensors').filter((r) => !r.range).length, 1, 'weights downloaded once');
    assert.ok(requestsFor(hub, 'config.json').every((r) => r.auth), 'the token went to the Hub endpoint');
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="cache-line"]')?.getAttribute('data-bytes')) > 600_000);

    // reload: the token is gone (memory only); the weights come from the cache (IndexedDB)
    hub.resetStats();
    hub.options.chunkDelayMs = 0;
    await page.reload({ waitUntil: 'load' });
    assert.equal(await page.getByTestId('hub-token').inputValue(), '', 'the token was not kept');
    assert.equal(await page.evaluate(() => JSON.stringify({ ...localStorage }).includes('hf_e2e')), false, 'no token in localStorage');
    await page.getByTestId('hub-repo').fill(REPO);
    await page.getByTestId('hub-token').fill(TOKEN);
    await page.getByTestId('hub-token-consent').check(); // consent is kept in memory only: asked again after a reload
    await page.getByTestId('load-hub').click();
    await until(page, 'model-panel', ['ready']);
    assert.deepEqual(requestsFor(hub, 'model.safetensors'), [], 'second load: no weight request at all');

    await page.getByTestId('clear-cache').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="cache-line"]')?.getAttribute('data-bytes') === '0');
    assertClean(watch);
  } finally {
    hub.options.token = null;
    await context.close();
  }
});

test('verify against ONNX Runtime (wasm) from the summary card: green verdict, timings, ORT wasm from this build', { timeout: 90_000 }, async (t) => {
  const { context, page, watch } = await open(`${origin}/?model=./fixtures/llama-gqa/#/models`);
  try {
    await until(page, 'model-panel', ['ready']);
    await page.getByTestId('verify-backend').selectOption('wasm');
    await page.getByTestId('verify-run').click();
    await until(page, 'verify-onnx', ['done'], 60_000);
    const result = page.getByTestId('verify-result');
    assert.equal(await result.getAttribute('data-verdict'), 'agree', (await result.textContent()) ?? '');
    const text = (await result.textContent()) ?? '';
    const m = /^ONNX Runtime \(wasm\) agrees: max relative error (\d\.\de[-+]\d+) over (\d+) positions, argmax equal (\d+)\/(\d+)$/.exec(text);
    assert.ok(m, `result line: ${text}`);
    // the green verdict's bound, 1e-3 per-row relative, and argmax equal everywhere. Not the Node test's
    // 1e-4 (lavapipe: 2e-6): on SwiftShader the engine's softmax is ~1e-4..8e-4 off at positions ≥ 1
    // (position 0, a softmax of one key, is exact), the same under Dawn with LAB_CPU_VULKAN=swiftshader
    assert.ok(Number(m[1]) <= 1e-3 && m[2] === m[3] && m[3] === m[4], text);
    assert.match((await page.getByTestId('verify-timing').textContent()) ?? '', /this lab [\d.]+ ms · ONNX Runtime session\.run [\d.]+ ms\. model\.onnx, 1\.1 MiB/);
    assert.ok(watch.requested.some((u) => /\/fixtures\/llama-gqa\/model\.onnx$/.test(u)), 'the ONNX file came from the model folder');
    assert.ok(watch.requested.some((u) => /\/assets\/ort-wasm-simd-threaded\.jsep-[\w-]+\.wasm$/.test(u)), 'ORT loaded its .wasm from this build');
    await page.getByTestId('model-summary').screenshot({ path: '/tmp/lab-verify.png' });
    assertClean(watch);

    // ORT's webgpu EP (its own device in the worker) on SwiftShader: tried and reported, not asserted
    // (it ran here: max relative error 2.2e-6 against the engine, both on SwiftShader; ~8 s, mostly shader compiles)
    await page.getByTestId('verify-backend').selectOption('webgpu');
    await page.getByTestId('verify-run').click();
    const done = () => ['done', 'error', 'cancelled'].includes(document.querySelector('[data-testid="verify-onnx"]')?.getAttribute('data-status') ?? '');
    const finished = await page.waitForFunction(done, undefined, { timeout: 30_000 }).then(() => true, () => false);
    const line = finished ? await page.getByTestId('verify-onnx').locator('[data-testid="verify-result"], [role=alert]').first().textContent() : 'no answer within 30 s';
    t.diagnostic(`webgpu EP on SwiftShader: ${line}`);
  } finally {
    await context.close();
  }
});
