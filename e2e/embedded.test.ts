// Browser end-to-end for the embedded default, under the servers a user runs: a build ships
// models/lab-default/ (the trained 4.6M-parameter model, see its README) inside the app; the page loads
// it on start with no ?model= and no request beyond 127.0.0.1 (offline), and the embedded task sets ask
// it a held-out arithmetic problem and a Velmic puzzle, which it answers (greedy; the same answers
// `lab eval` gets on the GPU machine) and the page marks.
//
// Served by `vite preview` of a fresh build (as `npm run preview`) and by the Vite dev server (as
// `npm start`). Both answer a missing file with index.html (200 text/html, the single-page-app
// fallback), so the loader's probe for the optional chat_template.jinja gets an HTML page: the model
// card must still say "Chat template: no" (lab-default has none) and the prompt must go in as plain
// text. Before src/engine/sources.ts took such an answer for a missing file, the page used index.html
// as the chat template and every answer was wrong (issue 10, item 10); the test's own static server
// (404 for a missing file) had hidden it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { buildApp, launchChromium, optionalCheckpointFile, startDevServer, startPreview, watchContext, watchPage, type AppServer } from './harness.ts';

let build: ReturnType<typeof buildApp>;
let browser: Browser;

before(async () => {
  delete process.env.LAB_EMBEDDED_LAB_DEFAULT; // the real models/lab-default, not a stand-in (the dev server inherits this)
  build = buildApp();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  build?.cleanup();
});

/**
 * Opens `origin` (no ?model=), waits for the embedded default, checks its card, then asks the
 * given embedded items (task, index) and expects each answered right.
 */
async function embeddedAnswers(origin: string, items: (readonly ['arithmetic' | 'conlang', number])[], shot: string): Promise<void> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const watch = await watchContext(context, optionalCheckpointFile);
  const page = await context.newPage();
  watchPage(page, watch, optionalCheckpointFile);
  try {
    await page.goto(`${origin}/#/models`, { waitUntil: 'load' });
    await page.waitForFunction(() => document.querySelector('[data-testid="model-panel"]')?.getAttribute('data-status') === 'ready', null, { timeout: 120_000 });
    assert.equal(await page.getByTestId('model-summary').getAttribute('data-name'), 'lab-default');
    assert.ok(watch.requested.some((u) => /\/models\/lab-default\/model\.safetensors$/.test(u)), 'weights came from the app itself');
    // lab-default has no chat template: the server's index.html for chat_template.jinja is not one
    assert.ok(watch.requested.some((u) => /\/models\/lab-default\/chat_template\.jinja$/.test(u)), 'the loader probed for chat_template.jinja');
    assert.equal((await page.getByTestId('summary-chat').textContent())?.trim(), 'no', 'the model card does not claim a chat template');

    await page.getByTestId('nav-data').click(); // the embedded task sets live on the Data page
    // Items the model answers right with `lab eval` (greedy) on the GPU machine and on lavapipe: the page must
    // reproduce them, which shows the trained weights (not just some model) are what answers here.
    for (const [task, pick] of items) {
      await page.getByTestId(`task-${task}`).check();
      const rows = page.getByTestId('task-item');
      assert.equal(await rows.count(), 6);
      if (task === 'conlang') assert.match((await rows.first().textContent()) ?? '', /Velmic is a constructed language \(synthetic, not real\)/);
      await rows.nth(pick).getByTestId('task-ask').click();
      const answer = page.getByTestId('task-answer');
      await page.waitForFunction(() => ['right', 'wrong', 'error'].includes(document.querySelector('[data-testid="task-answer"]')?.getAttribute('data-verdict') ?? ''), null, { timeout: 120_000 });
      assert.notEqual(await answer.getAttribute('data-verdict'), 'error', `${task}: ${await answer.textContent()}`);
      assert.ok(((await answer.locator('pre').textContent()) ?? '').length > 0, `${task}: the model's answer is shown`);
      assert.match((await answer.textContent()) ?? '', /✓ right/, `${task} item ${pick}: ${await answer.textContent()}`);
    }
    assert.deepEqual([...watch.consoleErrors], [], 'no console errors');
    assert.deepEqual(watch.offHost, [], 'no request left 127.0.0.1: offline');
    assert.deepEqual(watch.failedLoads, [], 'every local load succeeded');
    await page.screenshot({ path: shot, fullPage: true });
  } finally {
    await context.close();
  }
}

/** Runs `body` against `server`, closing it afterwards (also on failure) and adding its log to a failure. */
async function withServer(start: () => Promise<AppServer>, body: (server: AppServer) => Promise<void>): Promise<void> {
  const server = await start();
  try {
    await body(server);
  } catch (e) {
    (e as Error).message += `\n--- server log ---\n${server.log().slice(-4000)}`;
    throw e;
  } finally {
    await server.close();
  }
}

test('vite preview (npm run preview): the embedded default loads from the build, claims no chat template, answers a math problem and a puzzle', { timeout: 240_000 }, async () => {
  await withServer(
    () => startPreview(build.distDir), // the build alone: no test mounts
    (s) => embeddedAnswers(s.url, [['arithmetic', 0], ['conlang', 2]], '/tmp/lab-embedded.png'),
  );
});

test('vite dev server (npm start): the embedded default claims no chat template and answers a math problem', { timeout: 240_000 }, async () => {
  await withServer(
    () => startDevServer(),
    (s) => embeddedAnswers(s.url, [['arithmetic', 0]], '/tmp/lab-embedded-dev.png'),
  );
});
