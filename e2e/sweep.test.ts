// Browser end-to-end for sweeps (issue 13, item 5): the built app, offline, on the micro model, runs a
// 2 × 2 grid of learning rate × LoRA rank from the Train page's Sweep section, one run after another in the
// engine worker, each scored on 2 held-out arithmetic items:
//   1. the section: the grid's size from the lists; a malformed rank refused inline and Start blocked
//   2. Start sweep → run 1, then run 2; paused while run 2's second step runs (run i of N, step, ETA shown)
//   3. reload: the sweep is kept, says where it stopped (run 2, its checkpoint) and Continue resumes that run
//      from its checkpoint and runs the two remaining points
//   4. the Runs page: the sweep's table with the four final losses (each equal to its run's last stored
//      loss), eval scores and times, a best cell, the loss curves of the four runs, and the CSV export
// No console errors, no request off 127.0.0.1. Screenshots (printed): the Sweep section and the Runs page's table.
//
//   node tools/run-node.mjs --test --test-reporter=spec e2e/sweep.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Download, Page } from 'playwright-core';
import { optionalCheckpointFile, watchContext, watchPage, usePreviewApp } from './harness.ts';
import { attr, modelReady, text } from './train-page.ts';

const SHOTS = { train: '/tmp/lab-sweep-train.png', runs: '/tmp/lab-sweep-runs.png' };

const app = usePreviewApp();

/** Waits until the sweep progress shows run `i` at step `step` (phase training). */
const progressAt = (page: Page, i: number, step: number, timeout = 120_000) =>
  page.waitForFunction(
    ([k, s]) => {
      const el = document.querySelector('[data-testid="sweep-progress"]');
      return el?.getAttribute('data-run-index') === k && el?.getAttribute('data-step') === s;
    },
    [String(i), String(step)] as const,
    { timeout },
  );

const lastLoss = (page: Page, runId: string) => page.evaluate((id) => window.__labEngine!.runMetrics(id).then((ls) => ls.at(-1)?.loss ?? null), runId);

test('a 2 × 2 sweep in the page: one run after another, pause, reload, continue from the checkpoint, the table on the Runs page', { timeout: 600_000 }, async () => {
  const context = await app.browser.newContext({ viewport: { width: 1280, height: 1000 }, acceptDownloads: true });
  const watch = await watchContext(context, optionalCheckpointFile);
  const page = await context.newPage();
  watchPage(page, watch, optionalCheckpointFile);
  try {
    await page.goto(`${app.server.url}/?model=./models/lab-micro/#/train`, { waitUntil: 'load' });
    await page.getByTestId('train-page').waitFor();
    await modelReady(page);

    // ---- 1. the settings: 3 steps of 1 row, a checkpoint each step; a 2 × 2 grid; 2 eval items ----
    await page.getByTestId('train-preset').selectOption('quick');
    await page.getByTestId('cfg-steps').fill('3');
    await page.getByTestId('cfg-checkpointEvery').fill('1');
    await page.getByTestId('data-n').fill('16');
    assert.equal(await attr(page, 'sweep-size', 'data-points'), '9', "the user's 3 × 3 grid by default");
    assert.equal(await page.getByTestId('sweep-lrs').inputValue(), '1e-4, 2e-4, 3e-4');
    assert.equal(await page.getByTestId('sweep-ranks').inputValue(), '8, 16, 32');
    await page.getByTestId('sweep-ranks').fill('4, 8.5');
    assert.match(await text(page, 'sweep-ranks-error'), /whole number/);
    assert.equal(await page.getByTestId('sweep-start').isDisabled(), true);
    assert.match(await text(page, 'sweep-blocked'), /Fix the sweep settings/);
    await page.getByTestId('sweep-ranks').fill('4, 8');
    await page.getByTestId('sweep-lrs').fill('1e-3, 3e-3');
    await page.getByTestId('sweep-eval-task').selectOption('arithmetic');
    await page.getByTestId('sweep-eval-n').fill('2');
    await page.getByTestId('sweep-eval-max-new').fill('24');
    assert.equal(await attr(page, 'sweep-size', 'data-points'), '4');
    assert.match(await text(page, 'sweep-size'), /2 × 2 = 4 runs of 3 steps \(12 steps\)/);
    assert.match(await text(page, 'sweep-eval-metric'), /exact match of the final answer .* first 2 held-out arithmetic items/);
    assert.equal(await page.getByTestId('sweep-start').isEnabled(), true);

    // ---- 2. start; run 1 ends, run 2 starts; pause during its second step ----
    await page.getByTestId('sweep-start').click();
    await page.getByTestId('sweep-progress').waitFor({ timeout: 30_000 });
    assert.equal(await page.getByTestId('train-start').isDisabled(), true, 'no single run while the sweep runs');
    await progressAt(page, 2, 1);
    assert.match(await text(page, 'sweep-progress-text'), /^run 2 of 4 \(lr=1e-3 r=8\) · step 1\/3 · ETA \d/);
    const run2 = (await attr(page, 'train-live', 'data-run-id'))!;
    assert.match(run2, /^sweep-\d{14}-[a-z0-9]{4}-lr1e-3-r8$/, 'the run id says the point');
    await page.getByTestId('sweep-pause').click(); // takes effect after step 2, which is checkpointed
    await page.waitForFunction(() => document.querySelector('[data-testid="train-live"]')?.getAttribute('data-status') === 'paused', null, { timeout: 60_000 });
    assert.equal(await attr(page, 'sweep-panel', 'data-status'), 'paused');
    const cells = page.getByTestId('sweep-cell');
    assert.equal(await cells.count(), 4);
    assert.equal(await cells.nth(0).getAttribute('data-status'), 'done');
    assert.match((await cells.nth(0).textContent()) ?? '', /loss \d\.\d{4}( ★)?eval \d\/2 \(\d+%\)/);
    await page.getByTestId('sweep-panel').screenshot({ path: SHOTS.train });

    // ---- 3. reload: the sweep says where it stopped; Continue resumes run 2 from step 2 and runs the rest ----
    await page.reload({ waitUntil: 'load' });
    await modelReady(page);
    await page.getByTestId('sweep-stopped').waitFor({ timeout: 20_000 });
    await page.waitForFunction(() => /Stopped at/.test(document.querySelector('[data-testid="sweep-stopped-where"]')?.textContent ?? ''), null, { timeout: 20_000 });
    assert.equal(await attr(page, 'sweep-stopped', 'data-status'), 'interrupted');
    assert.equal(
      await text(page, 'sweep-stopped-where'),
      'Stopped at run 2 of 4 (lr=1e-3 r=8, step 2/3). Continue resumes that run from its checkpoint at step 2, then the 2 remaining points.',
    );
    await page.getByTestId('sweep-continue').click();
    await page.waitForFunction((id) => document.querySelector('[data-testid="train-live"]')?.getAttribute('data-run-id') === id, run2, { timeout: 30_000 });
    await page.waitForFunction(() => document.querySelector('[data-testid="sweep-panel"]')?.getAttribute('data-status') === 'idle', null, { timeout: 300_000 });
    assert.equal(await page.getByTestId('sweep-error').count(), 0, await page.getByTestId('sweep-error').allTextContents().then((t) => t.join(' ')));

    // ---- 4. the Runs page: the table, checked against each run's stored metrics; the curves; CSV ----
    await page.getByTestId('nav-runs').click();
    const item = page.getByTestId('sweep-item').first();
    await item.waitFor({ timeout: 20_000 });
    assert.equal(await item.getAttribute('data-status'), 'done');
    const grid = item.getByTestId('sweep-cell');
    assert.equal(await grid.count(), 4);
    const want = [
      ['1e-3', '4'],
      ['1e-3', '8'],
      ['3e-3', '4'],
      ['3e-3', '8'],
    ];
    let best = 0;
    for (let k = 0; k < 4; k++) {
      const cell = grid.nth(k);
      const id = (await cell.getAttribute('data-run-id'))!;
      assert.ok(id.endsWith(`-lr${want[k][0]}-r${want[k][1]}`), `cell ${k} is lr=${want[k][0]} r=${want[k][1]}: ${id}`);
      assert.equal(await cell.getAttribute('data-status'), 'done');
      const loss = Number(await cell.getAttribute('data-final-loss'));
      assert.equal(loss, await lastLoss(page, id), `cell ${k}: the run's last stored loss`);
      assert.match((await cell.textContent()) ?? '', new RegExp(`loss ${loss.toFixed(4)}`));
      const acc = Number(await cell.getAttribute('data-eval'));
      assert.ok(acc >= 0 && acc <= 1, `cell ${k} has an eval score: ${acc}`);
      if ((await cell.getAttribute('data-best-loss')) === 'true') best += 1;
    }
    assert.ok(best >= 1, 'the lowest loss is marked');
    const steps = await page.evaluate((id) => window.__labEngine!.runMetrics(id).then((ls) => ls.map((l) => l.step)), run2);
    assert.deepEqual(steps, [1, 2, 3], 'the resumed run kept its first two steps and added the third');
    await page.waitForFunction(() => document.querySelector('[data-testid="sweep-loss-chart-wrap"]')?.getAttribute('data-series') === '4', null, { timeout: 10_000 });
    assert.match(await text(page, 'sweep-base-eval'), /The model before any point: eval \d\/2/);
    assert.equal(await page.locator('[data-testid="run-list"] [data-testid="run-item"]').count(), 0, "the sweep's runs are listed in the sweep, not again");
    assert.equal(await item.getByTestId('run-item').count(), 4);

    const downloads: Download[] = [];
    page.on('download', (d) => downloads.push(d));
    await item.getByTestId('sweep-export-csv').click();
    const deadline = Date.now() + 10_000;
    while (!downloads.length && Date.now() < deadline) await page.waitForTimeout(100);
    assert.match(downloads[0]?.suggestedFilename() ?? '', /^sweep-\d{14}-[a-z0-9]{4}\.csv$/);
    const csv = readFileSync((await downloads[0].path())!, 'utf8').trim().split('\n');
    assert.equal(csv.length, 5);
    assert.match(csv[0], /^run_id,lr,rank,alpha,status,steps,final_loss,/);
    assert.equal(Number(csv[2].split(',')[6]), Number(await grid.nth(1).getAttribute('data-final-loss')));

    await item.scrollIntoViewIfNeeded();
    await item.screenshot({ path: SHOTS.runs });
    assert.deepEqual([...watch.consoleErrors], [], 'no console errors');
    assert.deepEqual(watch.offHost, [], 'no request left 127.0.0.1: offline');
    assert.deepEqual(watch.failedLoads, [], 'every local load succeeded');
    console.log(`# screenshots: ${SHOTS.train} ${SHOTS.runs}`);
  } finally {
    await context.close();
  }
});
