// Browser end-to-end: build the app, serve it from 127.0.0.1, open it in headless Chromium (WebGPU on
// SwiftShader here, the real GPU elsewhere), run the kernel self-check and check that it ran in the
// engine worker and passed, with no console errors and no request leaving 127.0.0.1.
//
//   node tools/run-node.mjs --test --test-reporter=spec e2e/browser.test.ts
//
// Env: LAB_E2E_DIST=<folder> serves an existing build instead of building (CI after `vite build`);
//      LAB_CHROMIUM=<path> another Chromium (default /usr/bin/chromium; never downloaded).
// A screenshot for humans goes to /tmp/lab-e2e.png (not asserted).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, existsSync, statSync, createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, extname, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHROMIUM = process.env.LAB_CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOT = '/tmp/lab-e2e.png';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.wgsl': 'text/plain; charset=utf-8',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

let distDir = '';
let builtHere = false;
let server: Server;
let origin = '';
let browser: Browser;
let context: BrowserContext;
let page: Page;
// what the page did that it should not: console errors, uncaught exceptions, off-host requests, failed loads
const consoleErrors = new Set<string>();
const offHost: string[] = [];
const failedLoads: string[] = [];
const requested: string[] = [];

/** A static file server for `dir` on 127.0.0.1 (random port). */
function serve(dir: string): Promise<Server> {
  const s = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    let file = resolve(dir, '.' + path);
    if (file !== dir && !file.startsWith(dir + sep)) {
      res.writeHead(403).end();
      return;
    }
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!existsSync(file)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    createReadStream(file).pipe(res);
  });
  return new Promise((ok) => s.listen(0, '127.0.0.1', () => ok(s)));
}

function isLocal(url: string): boolean {
  const u = new URL(url);
  if (u.protocol === 'data:' || u.protocol === 'blob:') return true;
  return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname === '127.0.0.1';
}

before(async () => {
  if (process.env.LAB_E2E_DIST) {
    distDir = resolve(process.env.LAB_E2E_DIST);
  } else {
    // always a fresh build, in a temp folder: never stale, and never clobbers someone's dist/
    distDir = mkdtempSync(join(tmpdir(), 'lab-e2e-dist-'));
    builtHere = true;
    const vite = join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
    const r = spawnSync(process.execPath, [vite, 'build', '--outDir', distDir, '--emptyOutDir', '--logLevel', 'warn'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, `vite build failed:\n${r.stdout}\n${r.stderr}`);
  }
  assert.ok(existsSync(join(distDir, 'index.html')), `no index.html in ${distDir}`);
  server = await serve(distDir);
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  assert.ok(existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM} (apt-get install chromium; see tools/ci/install-system.sh)`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--enable-unsafe-webgpu', // without it: "No available adapters"
      '--no-sandbox',
      // keep Chromium's own background traffic off the (closed) network
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--use-angle=swiftshader',
      '--enable-features=Vulkan',
    ],
    timeout: 60_000,
  });
  context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  // every request from the page and its workers: only 127.0.0.1 (and data:/blob:) may load
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (isLocal(url)) return route.continue();
    offHost.push(url);
    return route.abort('blockedbyclient');
  });
  context.on('request', (r) => {
    requested.push(r.url());
    if (!isLocal(r.url()) && !offHost.includes(r.url())) offHost.push(r.url());
  });
  context.on('requestfailed', (r) => {
    if (isLocal(r.url())) failedLoads.push(`${r.url()}: ${r.failure()?.errorText}`);
  });
  context.on('response', (r) => {
    if (r.status() >= 400) failedLoads.push(`${r.url()}: HTTP ${r.status()}`);
  });
  page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.add(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => consoleErrors.add(`pageerror: ${e.message}`));
  page.on('worker', (w) => w.on('console', (m) => m.type() === 'error' && consoleErrors.add(`worker console: ${m.text()}`)));
});

after(async () => {
  await browser?.close();
  await new Promise((ok) => (server ? server.close(ok) : ok(undefined)));
  if (builtHere && distDir) rmSync(distDir, { recursive: true, force: true });
});

test('the lab reports the WebGPU adapter and passes the kernel self-check in the worker', { timeout: 120_000 }, async () => {
  await page.goto(`${origin}/`, { waitUntil: 'load' });
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

  // self-check: click, wait for the store to publish the outcome
  await page.getByTestId('run-selfcheck').click();
  await page.waitForFunction(() => window.__labSelfCheck !== undefined, null, { timeout: 90_000 });
  const check = await page.evaluate(() => window.__labSelfCheck!);
  assert.equal(check.status, 'done', `self-check ${check.status}: ${check.error?.name}: ${check.error?.message}`);
  const report = check.report!;
  assert.equal(report.where, 'worker', 'kernels ran in the Web Worker');
  assert.ok(report.total >= 1, 'at least one kernel checked');
  const failures = report.results.filter((r) => r.status !== 'pass').map((r) => `${r.name}: ${r.message}`);
  assert.deepEqual(failures, [], 'every kernel passes');
  assert.equal(report.ok, true);
  assert.ok(page.workers().length >= 1, 'a worker exists');
  assert.ok(page.workers().some((w) => w.url().includes('engine.worker')), `engine worker among ${page.workers().map((w) => w.url())}`);

  // the page shows it: one passing row per kernel, a full progress bar, the summary
  const rows = page.getByTestId('selfcheck-row');
  assert.equal(await rows.count(), report.total);
  for (const s of await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-status')))) assert.equal(s, 'pass');
  assert.equal(await page.getByTestId('selfcheck-summary').getAttribute('data-ok'), 'true');
  const bar = page.locator('[data-testid=selfcheck-progress] progress');
  assert.equal(await bar.evaluate((el: HTMLProgressElement) => el.value === el.max), true);
  assert.equal(await page.getByTestId('cancel-selfcheck').isDisabled(), true, 'cancel is off once finished');
  assert.match((await page.getByTestId('offline-note').textContent()) ?? '', /no Stoney data/);

  await page.screenshot({ path: SCREENSHOT, fullPage: true });

  assert.deepEqual([...consoleErrors], [], 'no console errors');
  assert.deepEqual(offHost, [], 'no request left 127.0.0.1');
  assert.deepEqual(failedLoads, [], 'every local load succeeded');
  assert.ok(requested.some((u) => u.includes('engine.worker')), 'the worker script came from the local server');
});

test('without WebGPU the page shows the typed GpuError and disables the self-check', { timeout: 60_000 }, async (t) => {
  // a second Chromium without --enable-unsafe-webgpu: on Linux it then has no adapter
  const plain = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    timeout: 60_000,
  });
  try {
    const p = await plain.newPage();
    await p.route('**/*', (route) => (isLocal(route.request().url()) ? route.continue() : route.abort('blockedbyclient')));
    await p.goto(`${origin}/`, { waitUntil: 'load' });
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
