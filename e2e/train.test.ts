// Browser end-to-end for training (issue 10's "Done when"): the built app, offline, on the micro
// model (models/lab-micro, shipped in the build, loaded with ?model=), trains in the engine worker
// from the Train page and keeps its runs across a reload:
//   1. settings: the quick preset, 3 steps of 1 row, a checkpoint every step; a bad value is
//      refused inline; a picked file without a manifest is refused (default-deny), with one allowed
//   2. run A: Start → 3 SFT steps, the d3 loss chart grows 1, 2, 3 points; a click on another
//      control while a step runs is handled within 500 ms (the step is in the worker)
//   3. run B, the same settings: paused during step 2 (which finishes and is checkpointed), then cancelled
//   4. reload → #/runs lists both runs with their checkpoints; Resume B → it finishes on the Train
//      page with the losses of the uninterrupted run A (1e-5 relative)
//   5. B's adapter, downloaded from the Runs page as its two PEFT files, given to
//      `lab forward --adapter` (Node, Dawn): the logits equal the page's forward after "Use
//      adapter" (1e-4); "Base model" goes back; the files imported as a PEFT adapter give the same
//      logits; the runs' bytes are counted; run A is deleted after a confirm
// No console errors, no request off 127.0.0.1. Screenshots (printed): the Train page with its
// charts and the Runs page.
//
//   node tools/run-node.mjs --test --test-reporter=spec e2e/train.test.ts
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Download, Page } from 'playwright-core';
import { buildApp, launchChromium, optionalCheckpointFile, startPreview, type AppServer, watchContext, watchPage } from './harness.ts';
import { attr, modelReady, liveStatus } from './train-page.ts';
import { runLab } from '../src/cli/lab-run.testlib.ts';

const SHOTS = { train: '/tmp/lab-train.png', runs: '/tmp/lab-runs.png' };
const IDS = [5, 17, 200, 3, 44, 101, 9, 60];

let build: ReturnType<typeof buildApp>;
let server: AppServer;
let browser: Browser;
const tmp = mkdtempSync(join(tmpdir(), 'lab-e2e-train-'));

before(async () => {
  build = buildApp();
  server = await startPreview(build.distDir); // vite preview of the build, as `npm run preview`
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server.close();
  build?.cleanup();
  rmSync(tmp, { recursive: true, force: true });
});




const lossesOf = (page: Page, runId: string) => page.evaluate((id) => window.__labEngine!.runMetrics(id).then((ls) => ls.map((l) => l.loss)), runId);

function closeTo(a: number[], b: number[], rtol: number, what: string) {
  assert.equal(a.length, b.length, `${what}: ${a.length} vs ${b.length} values`);
  a.forEach((x, i) => assert.ok(Number.isFinite(x) && Math.abs(x - b[i]) <= rtol * Math.max(1, Math.abs(b[i])), `${what}[${i}]: ${x} vs ${b[i]}`));
}

test('train in the page: live charts, a responsive page during a step, cancel, reload, resume with the same losses, the adapter equals lab forward --adapter', { timeout: 300_000 }, async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, acceptDownloads: true });
  const watch = await watchContext(context, optionalCheckpointFile);
  const page = await context.newPage();
  watchPage(page, watch, optionalCheckpointFile);
  try {
    await page.goto(`${server.url}/?model=./models/lab-micro/#/train`, { waitUntil: 'load' });
    await page.getByTestId('train-page').waitFor();
    await modelReady(page);

    // ---- 1. settings, validation, governance ----
    await page.getByTestId('train-preset').selectOption('quick');
    assert.equal(await page.getByTestId('cfg-batchSize').inputValue(), '1', 'the quick preset takes one row a step (a few seconds on a CPU WebGPU)');
    await page.getByTestId('cfg-steps').fill('x');
    assert.match((await page.getByTestId('cfg-steps-error').textContent()) ?? '', /whole number/);
    assert.equal(await page.getByTestId('train-start').isDisabled(), true, 'a bad setting blocks Start');
    assert.match((await page.getByTestId('train-blocked').textContent()) ?? '', /Fix the setting/);
    await page.getByTestId('cfg-steps').fill('3');
    await page.getByTestId('cfg-checkpointEvery').fill('1');
    assert.equal(await page.getByTestId('cfg-steps-error').count(), 0);

    // a picked file: refused without a manifest, allowed by an approving one; then back to the embedded set
    await page.getByTestId('data-file').check();
    await page.getByTestId('data-file-input').setInputFiles({ name: 'rows.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from('{"question":"1+1?","answer":"#### 2"}\n') });
    await page.waitForFunction(() => document.querySelector('[data-testid="train-governance"]')?.textContent?.includes('rows.jsonl'));
    assert.equal(await attr(page, 'train-governance', 'data-allowed'), 'false');
    assert.match((await page.getByTestId('train-governance-reason').textContent()) ?? '', /no source manifest was given with this file; training is default-deny/);
    assert.equal(await page.getByTestId('train-start').isDisabled(), true);
    assert.match((await page.getByTestId('train-blocked').textContent()) ?? '', /Refused by the data governance/);
    const manifest = (status: string) =>
      `schema_version: "1.0"\nrecords:\n  - {source_id: e2e_rows, path_glob: "data/*.jsonl", data_type: text, origin: test, rights_holder: project, permission_status: ${status}, license: MIT, allowed_uses: [training], prohibited_uses: [redistribution], contains_sensitive_content: false, review_contact: none, notes: "synthetic"}\n`;
    await page.getByTestId('data-manifest-input').setInputFiles({ name: 'SOURCE_MANIFEST.yml', mimeType: 'text/yaml', buffer: Buffer.from(manifest('approved_for_training')) });
    assert.equal(await attr(page, 'train-governance', 'data-allowed'), 'false', 'rows.jsonl is not under data/: no record matches');
    await page.getByTestId('data-manifest-path').fill('data/rows.jsonl');
    await page.waitForFunction(() => document.querySelector('[data-testid="train-governance"]')?.getAttribute('data-allowed') === 'true');
    assert.match((await page.getByTestId('train-governance').textContent()) ?? '', /e2e_rows approve training.*prohibited uses redistribution/);
    await page.getByTestId('data-embedded').check();
    await page.getByTestId('data-task').selectOption('arithmetic');
    await page.getByTestId('data-n').fill('32');
    assert.equal(await attr(page, 'train-governance', 'data-allowed'), 'true');
    assert.equal(await page.getByTestId('train-start').isEnabled(), true);

    // ---- 2. run A: 3 steps; the loss chart's points as they change; a click during a step ----
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { __pts: string[] }).__pts = seen;
      new MutationObserver(() => {
        const v = document.querySelector('[data-testid="train-loss-chart"]')?.getAttribute('data-points');
        if (v && seen.at(-1) !== v) seen.push(v);
      }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-points'] });
    });
    await page.getByTestId('train-start').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="train-loss-chart"]')?.getAttribute('data-points') === '1', null, { timeout: 60_000 });
    const runA = (await attr(page, 'train-live', 'data-run-id'))!;
    assert.equal(await attr(page, 'train-live', 'data-status'), 'running', 'step 2 is in flight');
    assert.equal(await attr(page, 'train-progress', 'aria-valuenow'), '1');
    assert.equal(await attr(page, 'train-progress', 'aria-valuemax'), '3');
    assert.match((await page.getByTestId('train-progress-text').textContent()) ?? '', /^step 1\/3 · ETA /);
    const t0 = Date.now();
    await page.getByTestId('train-more-summary').click();
    await page.waitForFunction(() => (document.querySelector('[data-testid="train-more"]') as HTMLDetailsElement | null)?.open === true, null, { timeout: 5_000 });
    const clickMs = Date.now() - t0;
    const during = (await attr(page, 'train-loss-chart', 'data-points')) === '1';
    assert.ok(clickMs < 500, `a click during a step was handled in ${clickMs} ms`);
    assert.ok(during, 'the click was handled while step 2 ran');
    await liveStatus(page, ['done']);
    assert.equal(await attr(page, 'train-loss-chart', 'data-points'), '3');
    const pts = await page.evaluate(() => (window as unknown as { __pts: string[] }).__pts);
    assert.deepEqual(pts.filter((p) => p !== '0'), ['1', '2', '3'], 'the loss chart drew each step as it came');
    for (const m of ['grad-norm', 'lr', 'tokens-per-s']) assert.equal(await attr(page, `train-${m}-chart`, 'data-points'), '3', `${m} chart`);
    assert.equal(await attr(page, 'train-data-report', 'data-rows'), '32');
    assert.match((await page.getByTestId('train-checkpoints').textContent()) ?? '', /step 1, step 2, step 3/);
    const lossA = await lossesOf(page, runA);
    assert.equal(lossA.length, 3);
    assert.equal(Number(await attr(page, 'train-loss-chart', 'data-last')), lossA[2], 'the chart plots the stored losses');
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: SHOTS.train, fullPage: true });

    // ---- 3. run B, the same settings, paused while step 2 runs, then cancelled ----
    await page.getByTestId('train-start').click();
    await page.waitForFunction((a) => document.querySelector('[data-testid="train-live"]')?.getAttribute('data-run-id') !== a, runA);
    const runB = (await attr(page, 'train-live', 'data-run-id'))!;
    await page.waitForFunction(() => document.querySelector('[data-testid="train-loss-chart"]')?.getAttribute('data-points') === '1', null, { timeout: 60_000 });
    await page.getByTestId('train-pause').click(); // takes effect after step 2, then Cancel stops the paused run
    await liveStatus(page, ['paused']);
    assert.equal(await attr(page, 'train-progress', 'aria-valuenow'), '2');
    assert.equal(await page.getByTestId('train-resume').isEnabled(), true);
    await page.getByTestId('train-cancel').click();
    await liveStatus(page, ['cancelled']);
    assert.match((await page.getByTestId('train-message').textContent()) ?? '', /stopped at step 2\/3; resume from .*2/);

    // ---- 4. reload: both runs are stored; resume B from its checkpoint ----
    await page.reload({ waitUntil: 'load' });
    await modelReady(page);
    await page.getByTestId('nav-runs').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="run-item"]').length === 2, null, { timeout: 20_000 });
    const item = (id: string) => page.locator(`[data-testid="run-item"][data-run-id="${id}"]`);
    assert.equal(await item(runA).getAttribute('data-status'), 'done');
    assert.equal(await item(runA).getAttribute('data-checkpoints'), '1,2,3');
    assert.equal(await item(runB).getAttribute('data-status'), 'cancelled');
    assert.equal(await item(runB).getAttribute('data-checkpoints'), '1,2');
    assert.equal((await item(runB).getByTestId('run-step').textContent())?.trim(), '2/3');
    assert.match((await item(runB).getByTestId('run-governance').textContent()) ?? '', /lab_tasks_arithmetic/);
    assert.equal(await item(runB).getByTestId('run-export').getAttribute('data-allowed'), 'true', "the lab's own synthetic set: its adapter may leave the lab");
    assert.equal(await item(runA).getByTestId('run-resume').count(), 0, 'a finished run has nothing to resume');
    await item(runB).getByTestId('run-resume').click();
    await page.waitForFunction(() => location.hash === '#/train');
    await page.waitForFunction((b) => document.querySelector('[data-testid="train-live"]')?.getAttribute('data-run-id') === b, runB);
    await liveStatus(page, ['done']);
    assert.equal(await attr(page, 'train-loss-chart', 'data-points'), '3', 'the resumed run shows its earlier steps too');
    closeTo(await lossesOf(page, runB), lossA, 1e-5, 'resumed run B vs uninterrupted run A');

    // ---- 5. the adapter: downloaded, lab forward --adapter vs the page's forward with it ----
    await page.getByTestId('nav-runs').click();
    await page.waitForFunction((b) => document.querySelector(`[data-testid="run-item"][data-run-id="${b}"]`)?.getAttribute('data-status') === 'done', runB);
    const downloads: Download[] = [];
    page.on('download', (d) => downloads.push(d));
    await item(runB).getByTestId('run-download-adapter').click();
    const deadline = Date.now() + 10_000;
    while (downloads.length < 3 && Date.now() < deadline) await page.waitForTimeout(100);
    // the two PEFT files and the terms the adapter inherits from its data
    assert.deepEqual(downloads.map((d) => d.suggestedFilename()).sort(), ['adapter_config.json', 'adapter_model.safetensors', 'governance.json']);
    const dir = join(tmp, 'adapter');
    for (const d of downloads) await d.saveAs(join(dir, d.suggestedFilename()));
    // lab forward on the page's Vulkan driver: SwiftShader (Chromium's) when the page runs on it. Across
    // drivers the same weights differ by more than 1e-4 (lab-micro's base logits, |x| ≤ 19: lavapipe vs
    // SwiftShader ≈ 2e-3), which is the drivers' arithmetic, not the adapter
    const arch = await page.evaluate(() => window.__labEngine!.adapterInfo().then((a) => a.architecture));
    const icd = process.env.VK_ICD_FILENAMES;
    if (arch === 'swiftshader') process.env.VK_ICD_FILENAMES = '/usr/lib/chromium/vk_swiftshader_icd.json';
    const cli = runLab(['forward', '--model', 'models/lab-micro', '--ids', IDS.join(','), '--adapter', dir, '--out', join(tmp, 'forward.json')]);
    if (icd === undefined) delete process.env.VK_ICD_FILENAMES;
    else process.env.VK_ICD_FILENAMES = icd;
    assert.equal(cli.code, 0, cli.stderr);
    const want = JSON.parse(readFileSync(join(tmp, 'forward.json'), 'utf8')).logits as number[][];

    await item(runB).getByTestId('run-use-adapter').click();
    await page.waitForFunction((b) => (document.querySelector('[data-testid="header-adapter"]')?.textContent ?? '').includes(b), runB, { timeout: 30_000 });
    assert.equal(await attr(page, 'adapters-panel', 'data-active'), (await page.getByTestId('header-adapter').textContent())?.trim());
    const got = await page.evaluate((ids) => window.__labEngine!.forward({ ids }).then((r) => r.logits), IDS);
    assert.equal(got.length, IDS.length);
    closeTo(got.flat(), want.flat(), 1e-4, 'page logits with the adapter vs lab forward --adapter');
    assert.match((await page.evaluate(() => window.__labEngine!.modelInfo()))?.adapter?.name ?? '', new RegExp(runB), 'the engine reports the adapter');
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: SHOTS.runs, fullPage: true });

    await page.getByTestId('use-base').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="header-adapter"]')?.textContent === 'base', null, { timeout: 30_000 });
    const baseLogits = await page.evaluate((ids) => window.__labEngine!.forward({ ids }).then((r) => r.logits), IDS);
    assert.ok(Math.max(...baseLogits.flat().map((x, i) => Math.abs(x - got.flat()[i]))) > 1e-4, 'the base model differs from the adapted one');

    // the same files imported as a PEFT adapter give the same logits as the run's own adapter
    await page.getByTestId('adapter-import-files').setInputFiles(downloads.map((d) => join(dir, d.suggestedFilename())));
    await page.getByTestId('adapter-import-name').fill('imported-e2e');
    await page.getByTestId('adapter-import-use').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="header-adapter"]')?.textContent === 'imported-e2e', null, { timeout: 30_000 });
    closeTo(await page.evaluate((ids) => window.__labEngine!.forward({ ids }).then((r) => r.logits.flat()), IDS), got.flat(), 1e-6, 'imported adapter vs the run');

    // storage: the runs' bytes; delete run A (after a confirm): one run left
    await page.getByTestId('storage-count-runs').click();
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="storage-runs"]')?.getAttribute('data-bytes')) > 0);
    await item(runA).getByTestId('run-delete').click();
    await item(runA).getByTestId('run-delete-confirm').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="run-item"]').length === 1);
    assert.equal(await item(runB).count(), 1);

    assert.deepEqual([...watch.consoleErrors], [], 'no console errors');
    assert.deepEqual(watch.offHost, [], 'no request left 127.0.0.1: offline');
    assert.deepEqual(watch.failedLoads, [], 'every local load succeeded');
    console.log(`# screenshots: ${SHOTS.train} ${SHOTS.runs}`);
  } finally {
    await context.close();
  }
});
