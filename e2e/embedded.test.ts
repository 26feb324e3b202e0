// Browser end-to-end for the embedded default: a build ships models/lab-default/ (the trained 4.6M-parameter
// model, see its README) inside the app; the page loads it on start with no ?model= and no request beyond
// 127.0.0.1 (offline), and the embedded task sets ask it a held-out arithmetic problem and a Velmic puzzle,
// which it answers (greedy; the same answers `lab eval` gets on the GPU machine) and the page marks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { Browser } from 'playwright-core';
import { buildApp, closeServer, launchChromium, optionalCheckpointFile, originOf, serveStatic, watchContext, watchPage } from './harness.ts';

let build: ReturnType<typeof buildApp>;
let server: Server;
let browser: Browser;

before(async () => {
  delete process.env.LAB_EMBEDDED_LAB_DEFAULT; // the real models/lab-default, not a stand-in
  build = buildApp();
  server = await serveStatic(build.distDir); // the build alone: no test mounts
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await closeServer(server);
  build?.cleanup();
});

test('the embedded default loads from the app itself and answers an embedded math problem and a puzzle', { timeout: 240_000 }, async () => {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const watch = await watchContext(context, optionalCheckpointFile);
  const page = await context.newPage();
  watchPage(page, watch, optionalCheckpointFile);
  try {
    await page.goto(`${originOf(server)}/`, { waitUntil: 'load' });
    await page.waitForFunction(() => document.querySelector('[data-testid="model-panel"]')?.getAttribute('data-status') === 'ready', null, { timeout: 120_000 });
    assert.equal(await page.getByTestId('model-summary').getAttribute('data-name'), 'lab-default');
    assert.ok(watch.requested.some((u) => /\/models\/lab-default\/model\.safetensors$/.test(u)), 'weights came from the build itself');

    // Items the model answers right with `lab eval` (greedy) on the GPU machine and on lavapipe: the page must
    // reproduce them, which shows the trained weights (not just some model) are what answers here.
    for (const [task, pick] of [['arithmetic', 0], ['conlang', 2]] as const) {
      await page.getByTestId(`task-${task}`).check();
      const items = page.getByTestId('task-item');
      assert.equal(await items.count(), 6);
      if (task === 'conlang') assert.match((await items.first().textContent()) ?? '', /Velmic is a constructed language \(synthetic, not real\)/);
      await items.nth(pick).getByTestId('task-ask').click();
      const answer = page.getByTestId('task-answer');
      await page.waitForFunction(() => ['right', 'wrong', 'error'].includes(document.querySelector('[data-testid="task-answer"]')?.getAttribute('data-verdict') ?? ''), null, { timeout: 120_000 });
      assert.notEqual(await answer.getAttribute('data-verdict'), 'error', `${task}: ${await answer.textContent()}`);
      assert.ok(((await answer.locator('pre').textContent()) ?? '').length > 0, `${task}: the model's answer is shown`);
      assert.match((await answer.textContent()) ?? '', /✓ right/, `${task} item ${pick}: ${await answer.textContent()}`);
    }
    assert.deepEqual([...watch.consoleErrors], [], 'no console errors');
    assert.deepEqual(watch.offHost, [], 'no request left 127.0.0.1: offline');
    assert.deepEqual(watch.failedLoads, [], 'every local load succeeded');
    await page.screenshot({ path: '/tmp/lab-embedded.png', fullPage: true });
  } finally {
    await context.close();
  }
});
