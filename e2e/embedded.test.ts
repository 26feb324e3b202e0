// Browser end-to-end for the embedded default: a build whose models/lab-default/ ships inside the
// app loads it on start with no ?model= and no request beyond 127.0.0.1 (offline), and the embedded
// task sets ask it a held-out arithmetic problem and a Velmic puzzle and mark the answers.
//
// The trained default model is made by tools/embedded/recipe.sh; until it is committed, and to keep
// this test fast on SwiftShader, the build stands the tiny llama-gqa fixture in for it through
// LAB_EMBEDDED_LAB_DEFAULT (tools/embedded-models.ts). The flow under test is the same; the model's
// accuracy is measured by `lab eval`, not here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { ROOT, buildApp, closeServer, launchChromium, originOf, serveStatic, watchContext, watchPage } from './harness.ts';

let build: ReturnType<typeof buildApp>;
let standIn = '';
let server: Server;
let browser: Browser;

before(async () => {
  // the fixture with a longer context (RoPE has no trained length): a Velmic prompt + answer fits
  const fixture = join(ROOT, 'models', 'fixtures', 'llama-gqa');
  standIn = mkdtempSync(join(tmpdir(), 'lab-embedded-'));
  for (const f of readdirSync(fixture)) if (!/reference|fixture|onnx/.test(f)) copyFileSync(join(fixture, f), join(standIn, f));
  const cfg = JSON.parse(readFileSync(join(standIn, 'config.json'), 'utf8'));
  writeFileSync(join(standIn, 'config.json'), JSON.stringify({ ...cfg, max_position_embeddings: 1024 }));
  process.env.LAB_EMBEDDED_LAB_DEFAULT = standIn; // read by the vite build (tools/embedded-models.ts)
  build = buildApp();
  server = await serveStatic(build.distDir); // the build alone: no test mounts
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await closeServer(server);
  build?.cleanup();
  if (standIn) rmSync(standIn, { recursive: true, force: true });
});

test('the embedded default loads from the app itself and answers an embedded math problem and a puzzle', { timeout: 240_000 }, async () => {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const ok404 = (u: string) => /chat_template\.jinja|model\.safetensors\.index\.json|generation_config\.json/.test(u);
  const watch = await watchContext(context, ok404);
  const page = await context.newPage();
  watchPage(page, watch, ok404);
  try {
    await page.goto(`${originOf(server)}/`, { waitUntil: 'load' });
    await page.waitForFunction(() => document.querySelector('[data-testid="model-panel"]')?.getAttribute('data-status') === 'ready', null, { timeout: 120_000 });
    assert.equal(await page.getByTestId('model-summary').getAttribute('data-name'), 'lab-default');
    assert.ok(watch.requested.some((u) => /\/models\/lab-default\/model\.safetensors$/.test(u)), 'weights came from the build itself');

    for (const task of ['arithmetic', 'conlang']) {
      await page.getByTestId(`task-${task}`).check();
      const items = page.getByTestId('task-item');
      assert.equal(await items.count(), 6);
      if (task === 'conlang') assert.match((await items.first().textContent()) ?? '', /Velmic is a constructed language \(synthetic, not real\)/);
      await items.first().getByTestId('task-ask').click();
      const answer = page.getByTestId('task-answer');
      await page.waitForFunction(() => ['right', 'wrong', 'error'].includes(document.querySelector('[data-testid="task-answer"]')?.getAttribute('data-verdict') ?? ''), null, { timeout: 120_000 });
      assert.notEqual(await answer.getAttribute('data-verdict'), 'error', `${task}: ${await answer.textContent()}`);
      assert.ok(((await answer.locator('pre').textContent()) ?? '').length > 0, `${task}: the model's answer is shown`);
      assert.match((await answer.textContent()) ?? '', /✓ right|✗ wrong/);
    }
    assert.deepEqual([...watch.consoleErrors], [], 'no console errors');
    assert.deepEqual(watch.offHost, [], 'no request left 127.0.0.1: offline');
    assert.deepEqual(watch.failedLoads, [], 'every local load succeeded');
    await page.screenshot({ path: '/tmp/lab-embedded.png', fullPage: true });
  } finally {
    await context.close();
  }
});
