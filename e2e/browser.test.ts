// Browser end-to-end: build the app, serve it with `vite preview` on 127.0.0.1 (as `npm run preview`
// does; the single-page-app fallback answers the page's probes for optional model files), open it in headless Chromium (WebGPU on
// SwiftShader here, the real GPU elsewhere), run the kernel self-check and check that it ran in the
// engine worker and passed, with no console errors and no request leaving 127.0.0.1.
// (Models, generation and the attention view: e2e/model.test.ts. Shared setup: e2e/harness.ts.)
//
//   node tools/run-node.mjs --test --test-reporter=spec e2e/browser.test.ts
//
// Env: LAB_E2E_DIST=<folder> serves an existing build instead of building (CI after `vite build`);
//      LAB_CHROMIUM=<path> another Chromium (default /usr/bin/chromium; never downloaded).
// A screenshot for humans goes to /tmp/lab-e2e.png (not asserted).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { buildApp, isLocal, launchChromium, optionalCheckpointFile, startPreview, watchContext, watchPage, type AppServer, type Watch } from './harness.ts';

const SCREENSHOT = '/tmp/lab-e2e.png';

let build: { distDir: string; cleanup: () => void };
let server: AppServer;
let origin = '';
let browser: Browser;
let context: BrowserContext;
let page: Page;
// what the page did that it should not: console errors, uncaught exceptions, off-host requests, failed loads
let watch: Watch;

before(async () => {
  build = buildApp();
  server = await startPreview(build.distDir);
  origin = server.url;
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  // The page loads the embedded default model on start (no ?model=): its optional files may 404.
  watch = await watchContext(context, optionalCheckpointFile);
  page = await context.newPage();
  watchPage(page, watch, optionalCheckpointFile);
});

after(async () => {
  await browser?.close();
  await server?.close();
  build?.cleanup();
});

test('the lab reports the WebGPU adapter and passes the kernel self-check in the worker', { timeout: 120_000 }, async () => {
  await page.goto(`${origin}/#/models`, { waitUntil: 'load' }); // the adapter and self-check live on the Models page
  await page.getByRole('heading', { name: 'Stoney-RL Lab' }).waitFor();

  // adapter panel: filled in, or an error that says why
  const panel = page.getByTestId('adapter-panel');
  await page.waitForFunction(() => window.__labAdapter !== undefined, null, { timeout: 60_000 });
  const adapter = await page.evaluate(() => window.__labAdapter!);
  assert.equal(adapter.status, 'ready', `no WebGPU adapter: ${adapter.error?.name} ${adapter.error?.kind}: ${adapter.error?.message}`);
  assert.equal(await panel.getAttribute('data-status'), 'ready');
  const arch = (await page.getByTestId('adapter-architecture').textContent())?.trim() ?? '';
  assert.ok(arch && arch !== '—', 'adapter architecture is shown');
  if (arch !== 'swiftshader') console.log(`# adapter architecture: ${arch} (a real GPU? this machine expects swiftshader)`);
  assert.equal(adapter.info!.where, 'worker', 'the engine acquired WebGPU in the worker');
  for (const f of ['shader-f16', 'subgroups', 'timestamp-query']) {
    const present = await page.getByTestId(`feature-${f}`).getAttribute('data-present');
    assert.equal(present, adapter.info!.features.includes(f) ? 'yes' : 'no', `feature ${f} shown as the adapter has it`);
  }

  // the precision control: f32 by default; f16 offered only where the adapter has shader-f16
  const f16 = adapter.info!.features.includes('shader-f16');
  assert.equal(await page.getByTestId('precision').getAttribute('data-precision'), 'f32');
  assert.equal(await page.getByTestId('precision-f32').isChecked(), true);
  assert.equal(await page.getByTestId('precision-f16').isDisabled(), !f16, 'f16 is offered exactly where shader-f16 is');
  if (!f16) assert.match((await page.getByTestId('precision-note').textContent()) ?? '', /no shader-f16/);

  // self-check: click, wait for the store to publish the outcome
  await page.getByTestId('run-selfcheck').click();
  await page.waitForFunction(() => window.__labSelfCheck !== undefined, null, { timeout: 90_000 });
  const check = await page.evaluate(() => window.__labSelfCheck!);
  assert.equal(check.status, 'done', `self-check ${check.status}: ${check.error?.name}: ${check.error?.message}`);
  const report = check.report!;
  assert.equal(report.where, 'worker', 'kernels ran in the Web Worker');
  assert.ok(report.total >= 1, 'at least one kernel checked');
  const failures = report.results.filter((r) => r.status === 'fail').map((r) => `${r.name}: ${r.message}`);
  assert.deepEqual(failures, [], 'every kernel passes');
  // the mixed-precision kernel runs only where the GPU has shader-f16 (SwiftShader has not): skipped elsewhere, and nothing else is
  const skipped = report.results.filter((r) => r.status === 'skip').map((r) => r.name);
  assert.deepEqual(skipped, adapter.info!.features.includes('shader-f16') ? [] : ['matmul_forward.vec4h'], 'only the f16 kernel skips, where shader-f16 is missing');
  assert.equal(report.ok, true);
  assert.ok(page.workers().length >= 1, 'a worker exists');
  assert.ok(page.workers().some((w) => w.url().includes('engine.worker')), `engine worker among ${page.workers().map((w) => w.url())}`);

  // the page shows it: one row per kernel with its status, a full progress bar, the summary
  const rows = page.getByTestId('selfcheck-row');
  assert.equal(await rows.count(), report.total);
  assert.deepEqual(await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-status'))), report.results.map((r) => r.status));
  assert.equal(await page.getByTestId('selfcheck-summary').getAttribute('data-ok'), 'true');
  const bar = page.locator('[data-testid=selfcheck-progress] progress');
  assert.equal(await bar.evaluate((el: HTMLProgressElement) => el.value === el.max), true);
  assert.equal(await page.getByTestId('cancel-selfcheck').isDisabled(), true, 'cancel is off once finished');
  assert.match((await page.getByTestId('offline-note').textContent()) ?? '', /no Stoney data/);

  await page.screenshot({ path: SCREENSHOT, fullPage: true });

  assert.deepEqual([...watch.consoleErrors], [], 'no console errors');
  assert.deepEqual(watch.offHost, [], 'no request left 127.0.0.1');
  assert.deepEqual(watch.failedLoads, [], 'every local load succeeded');
  assert.ok(watch.requested.some((u) => u.includes('engine.worker')), 'the worker script came from the local server');
});

test('without WebGPU the page shows the typed GpuError and disables the self-check', { timeout: 60_000 }, async (t) => {
  // a second Chromium without --enable-unsafe-webgpu: on Linux it then has no adapter
  const plain = await launchChromium(false);
  try {
    const p = await plain.newPage();
    await p.route('**/*', (route) => (isLocal(route.request().url()) ? route.continue() : route.abort('blockedbyclient')));
    await p.goto(`${origin}/#/models`, { waitUntil: 'load' });
    await p.waitForFunction(() => window.__labAdapter !== undefined, null, { timeout: 30_000 });
    const adapter = await p.evaluate(() => window.__labAdapter!);
    if (adapter.status === 'ready') {
      t.skip('this Chromium has WebGPU without the flag');
      return;
    }
    assert.equal(adapter.error?.name, 'GpuError');
    assert.equal(adapter.error?.kind, 'unavailable');
    const box = p.getByTestId('gpu-error');
    assert.equal(await box.getAttribute('data-kind'), 'unavailable');
    assert.match((await box.textContent()) ?? '', /WebGPU is unavailable.*adapter/s);
    assert.equal(await p.getByTestId('run-selfcheck').isDisabled(), true);
  } finally {
    await plain.close();
  }
});
