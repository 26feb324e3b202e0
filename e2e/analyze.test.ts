// Browser end-to-end for the Analyze page: the built app under `vite preview`, offline, with the micro
// test model (models/lab-micro, shipped in the build) loaded by ?model=. The page opens on #/analyze
// with A = the embedded arithmetic held-out items and B = the Velmic ones; with 3 prompts per set and
// 50 resamples/permutations it runs Engine.analyzeReport through every phase and shows the report in a
// sandboxed iframe (its tables and the labels of both sets); report.json downloads as the schema, with
// the sets' provenance records, and report.html is renderReport of that JSON byte for byte. A second
// run cancelled mid-way says so and leaves the first report; a reload shows it again (IndexedDB). A
// picked file with a bad line is named file:line and keeps Run off. Nothing errs or leaves 127.0.0.1.
//
//   node tools/run-node.mjs --test --test-reporter=spec e2e/analyze.test.ts
//
// Screenshots for humans (printed, not asserted): .tmp/analyze-*.png in the repository.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { optionalCheckpointFile, ROOT, watchContext, watchPage, usePreviewApp, attr, download as downloadFile } from './harness.ts';
import { renderReport } from '../src/engine/analysis/report.ts';
import { TASK_GENERATOR } from '../src/engine/train/governance.ts';
import { reportFromJson } from '../src/engine/analysis/report-data.ts';

const SHOTS = join(ROOT, '.tmp');
const PHASES = 'head statistics,selectivity,logit lens,ablation sweep';

const app = usePreviewApp();

before(() => {
  mkdirSync(SHOTS, { recursive: true });
});

const status = (page: Page) => attr(page, 'analyze-page', 'data-status');
const waitStatus = (page: Page, want: string[], timeout = 180_000) =>
  page.waitForFunction((w) => w.includes(document.querySelector('[data-testid="analyze-page"]')?.getAttribute('data-status') ?? ''), want, { timeout });

const download = (page: Page, testid: string) => downloadFile(page, testid, { first: true });

test('Analyze: arithmetic vs Velmic on lab-micro, progress by phase, the report, downloads, cancel, reload', { timeout: 600_000 }, async () => {
  const context = await app.browser.newContext({ viewport: { width: 1366, height: 800 } }); // a laptop screen
  const watch = await watchContext(context, optionalCheckpointFile);
  const page = await context.newPage();
  watchPage(page, watch, optionalCheckpointFile);
  const url = `${app.server.url}/?model=./models/lab-micro/#/analyze`;
  await page.goto(url, { waitUntil: 'load' });
  assert.equal(await attr(page, 'page', 'data-page'), 'analyze');
  await page.waitForSelector('[data-testid="header-model"][data-status="ready"]', { timeout: 60_000 });
  assert.equal(await attr(page, 'header-model', 'data-name'), 'lab-micro');
  await page.getByTestId('analyze-empty').waitFor();

  // the defaults: A = embedded arithmetic, B = embedded Velmic; n 100, 2000 resamples, 5000 permutations
  assert.equal(await page.getByTestId('analyze-source-a').inputValue(), 'arithmetic');
  assert.equal(await page.getByTestId('analyze-source-b').inputValue(), 'conlang');
  assert.equal(await page.getByTestId('analyze-label-b').inputValue(), 'Velmic');
  assert.deepEqual(await Promise.all(['analyze-n', 'analyze-boot', 'analyze-perm'].map((t) => page.getByTestId(t).inputValue())), ['100', '2000', '5000']);
  assert.equal((await page.getByTestId('analyze-adapter-name').textContent())?.trim(), 'base model');
  assert.match((await page.getByTestId('analyze-before-after').textContent()) ?? '', /pin it as “before”.*run again.*compare with the pinned report/s);
  await page.screenshot({ path: join(SHOTS, 'analyze-form.png') });

  // ---- 1. a run: every phase, then the report ----
  await page.getByTestId('analyze-n').fill('3');
  await page.getByTestId('analyze-boot').fill('50');
  await page.getByTestId('analyze-perm').fill('50');
  const t0 = Date.now();
  await page.getByTestId('analyze-run').click();
  await page.waitForSelector('[data-testid="analyze-progress"][data-status="running"]');
  assert.equal(await page.getByTestId('analyze-cancel').isEnabled(), true, 'Cancel is on while it runs');
  await page.waitForSelector('[data-testid="analyze-progress"][data-phase="ablation sweep"]', { timeout: 180_000 });
  await page.screenshot({ path: join(SHOTS, 'analyze-running.png') });
  await waitStatus(page, ['done', 'error', 'cancelled']);
  if ((await status(page)) !== 'done') assert.fail(`the analysis did not finish: ${await page.getByTestId('analyze-error').textContent().catch(() => '?')}`);
  console.log(`# analysis of 2 × 3 prompts on lab-micro: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  assert.equal(await attr(page, 'analyze-progress', 'data-phase'), 'done');
  assert.equal(await attr(page, 'analyze-progress', 'data-seen'), PHASES, 'the progress went through the phases in order');
  assert.equal(await page.getByTestId('analyze-cancel').isDisabled(), true);

  const frameEl = page.getByTestId('analyze-report');
  assert.equal(await frameEl.getAttribute('data-heads'), '4', 'lab-micro: 2 layers × 2 heads');
  assert.equal(await frameEl.getAttribute('sandbox'), 'allow-same-origin', 'the report runs in a sandbox without scripts');
  await page.waitForSelector('[data-testid="analyze-report"][data-styled="yes"]');
  // styled under the lab's CSP (no inline-style violation: the console check below), its figures sized
  const looks = await page.evaluate(() => {
    const doc = document.querySelector<HTMLIFrameElement>('[data-testid="analyze-report"]')!.contentDocument!;
    return { h1: getComputedStyle(doc.querySelector('h1')!).fontSize, fig: doc.querySelector<HTMLElement>('.maps figure')!.style.width };
  });
  assert.equal(looks.h1, '24px', 'the report\'s stylesheet applies');
  assert.match(looks.fig, /^\d+(\.\d+)?px$/, 'the figures keep their widths');
  const frame = page.frameLocator('[data-testid="analyze-report"]');
  const body = (await frame.locator('body').textContent()) ?? '';
  assert.match(body, /arithmetic/);
  assert.match(body, /Velmic/);
  assert.match(body, /lab-micro/);
  const selTable = frame.locator('#heads table').first();
  assert.match((await selTable.locator('caption').textContent()) ?? '', /head-statistic pairs with the largest \|d\|/, 'the selectivity table');
  assert.ok((await selTable.locator('tbody tr').count()) >= 1, 'the selectivity table has rows');
  assert.match((await frame.locator('#sets').textContent()) ?? '', /lab tasks \(src\/tasks\/, Stoney-RL Lab\)/, 'the sets carry their provenance records');
  assert.equal(await page.getByTestId('analyze-mismatch').count(), 0, 'the report is of the loaded model');
  await page.screenshot({ path: join(SHOTS, 'analyze-report.png') });
  await page.screenshot({ path: join(SHOTS, 'analyze-report-full.png'), fullPage: true });

  // a link of the report's own nav stays inside the report
  await frame.locator('nav a[href$="#ablation"]').click();
  await page.waitForFunction(() => document.querySelector<HTMLIFrameElement>('[data-testid="analyze-report"]')!.contentWindow!.location.href === 'about:srcdoc#ablation');
  assert.match((await frame.locator('#ablation').textContent()) ?? '', /Which heads the answer needs/, 'the report is still shown after its nav link');
  await page.screenshot({ path: join(SHOTS, 'analyze-report-ablation.png') });

  // ---- 2. downloads: report.json (the schema), report.html (renderReport of it), the figures ----
  const json = await download(page, 'analyze-download-json');
  assert.equal(json.name, 'report.json');
  const data = reportFromJson(json.text);
  assert.equal(data.schema, 'lab-analysis-report-v1');
  assert.equal(data.model.name, 'lab-micro');
  assert.equal(data.adapter, null);
  assert.deepEqual([data.tasks.a.label, data.tasks.b.label], ['arithmetic', 'Velmic']);
  assert.deepEqual([data.tasks.a.n, data.tasks.b.n], [3, 3]);
  assert.deepEqual([data.reproduce.nBoot, data.reproduce.nPerm, data.reproduce.seed], [50, 50, 0]);
  for (const [k, task] of [['a', 'arithmetic'], ['b', 'conlang']] as const) {
    const p = data.tasks[k].provenance!;
    assert.equal(p.generator, TASK_GENERATOR);
    assert.equal(p.synthetic, true);
    assert.equal(p.task, task);
    assert.equal(p.sha256, data.tasks[k].sha256, 'the record is of the exact bytes analysed');
    assert.equal(data.tasks[k].file, `${task}-heldout-n3-seed0.jsonl`);
  }
  const html = await download(page, 'analyze-download-html');
  assert.equal(html.name, 'report.html');
  const rendered = renderReport(data);
  // report.json keeps non-finite numbers (a d of ±∞ when a set has no spread) tagged, so it renders as the page did
  assert.equal(html.text, rendered.html, 'report.html is renderReport(report.json), ±∞ included');
  const figNames = await page.getByTestId('analyze-download-figure').evaluateAll((els) => els.map((e) => e.getAttribute('data-name')));
  assert.deepEqual(figNames.sort(), Object.keys(rendered.figures).sort());
  await page.getByTestId('analyze-figures').locator('summary').click();
  const [dl] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid="analyze-download-figure"][data-name="lens.svg"]').click()]);
  assert.equal(dl.suggestedFilename(), 'lens.svg');
  assert.equal(readFileSync((await dl.path())!, 'utf8'), rendered.figures['lens.svg']);

  console.log(`# downloads checked at ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  // ---- 3. a second run, cancelled mid-way: says so, the first report stays ----
  const created = await frameEl.getAttribute('data-created');
  await page.getByTestId('analyze-seed').fill('1');
  await page.getByTestId('analyze-run').click();
  // polled by timer, not by animation frame: while the engine keeps SwiftShader busy, frames are rare
  await page.waitForFunction(() => document.querySelector('[data-testid="analyze-progress"][data-status="running"]')?.getAttribute('data-phase') === 'head statistics', null, { timeout: 60_000, polling: 100 });
  const tc = Date.now();
  await page.getByTestId('analyze-cancel').click({ force: true });
  // read at once (the run may end between two reads): while it still runs, the button says it is cancelling
  const [st, label] = await page.evaluate(() => [document.querySelector('[data-testid="analyze-page"]')!.getAttribute('data-status'), document.querySelector('[data-testid="analyze-cancel"]')!.textContent]);
  if (st === 'running') assert.equal(label, 'Cancelling…');
  await waitStatus(page, ['cancelled', 'done', 'error'], 60_000);
  console.log(`# cancel took effect after ${((Date.now() - tc) / 1000).toFixed(1)} s`);
  const ended = await status(page);
  if (ended !== 'cancelled') assert.fail(`the run should end cancelled, it ended ${ended}: ${await page.getByTestId('analyze-error').textContent({ timeout: 1000 }).catch(() => '')}`);
  await page.getByTestId('analyze-cancelled').waitFor();
  assert.equal(await attr(page, 'analyze-progress', 'data-status'), 'cancelled');
  assert.equal(await frameEl.getAttribute('data-created'), created, 'the previous report is still shown');
  await page.screenshot({ path: join(SHOTS, 'analyze-cancelled.png') });

  console.log(`# cancelled run checked at ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  // ---- 4. a reload shows the last report again (IndexedDB) ----
  await page.reload({ waitUntil: 'load' });
  await page.waitForSelector('[data-testid="analyze-result"][data-from="saved"] [data-testid="analyze-report"][data-styled="yes"]', { timeout: 30_000 });
  assert.equal(await page.getByTestId('analyze-report').getAttribute('data-created'), created);
  assert.match((await page.frameLocator('[data-testid="analyze-report"]').locator('body').textContent()) ?? '', /Velmic/);

  console.log(`# reload checked at ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  // ---- 5. a picked file with a bad line: named file:line, Run stays off; no provenance record ----
  await page.waitForSelector('[data-testid="header-model"][data-status="ready"]', { timeout: 60_000 });
  await page.getByTestId('analyze-source-a').selectOption('file');
  const bad = '{"question":"1+1?","answer":"2 #### 2"}\n{"question":"2+2?"}\n';
  await page.getByTestId('analyze-file-a').setInputFiles({ name: 'bad.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from(bad) });
  assert.equal((await page.getByTestId('analyze-set-a-problem').textContent())?.trim(), 'bad.jsonl:2: needs "question" and "answer" strings');
  assert.equal(await page.getByTestId('analyze-run').isDisabled(), true);
  const good = '{"question":"1+1?","answer":"2 #### 2"}\n{"question":"2+2?","answer":"4 #### 4"}\n{"question":"3+1?","answer":"4 #### 4"}\n';
  await page.getByTestId('analyze-file-a').setInputFiles({ name: 'mine.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from(good) });
  await page.getByTestId('analyze-set-a-problem').waitFor({ state: 'detached' }); // the file is read asynchronously
  assert.equal(await attr(page, 'analyze-set-a-facts', 'data-provenance'), 'none');
  assert.match((await page.getByTestId('analyze-set-a-facts').textContent()) ?? '', /3 rows.*No provenance record/s);
  assert.equal(await page.getByTestId('analyze-run').isEnabled(), true);
  await page.screenshot({ path: join(SHOTS, 'analyze-file.png') });

  assert.deepEqual([...watch.consoleErrors], [], 'no console errors');
  assert.deepEqual(watch.offHost, [], 'no request left 127.0.0.1');
  assert.deepEqual(watch.failedLoads, [], 'every local load succeeded');
  await context.close();
});
