// Browser end-to-end for GRPO on the Train page (issue 11, item 7): the built app under `vite
// preview`, offline, on the micro model (models/lab-micro, shipped in the build, loaded with ?model=):
//   1. the SFT | GRPO switch; the GRPO form starts at TRL's defaults with max new tokens fitted to
//      lab-micro's context of 256 (128, said in a note); the two presets, one click each; β > 0 with
//      full training, a group of 17, max new tokens of the whole context and the learned reward model
//      without its files are refused inline and block Start
//   2. a tiny run on the embedded arithmetic set (G 4, 2 prompts a step, 3 steps, 8 new tokens, β 0.05,
//      rewards exact + chrf × 0.01, a checkpoint every step): the reward chart and the completions table
//      fill with numbers after step 1 (8 completions with reward and advantage), the KL and length
//      charts too; paused (after step 1 or 2, as the click lands), then cancelled
//   3. reload → #/runs shows the run as GRPO (its settings listed), cancelled with its
//      checkpoints; Resume → the Train page in GRPO mode with the run's settings, the charts rebuilt
//      from runMetrics (the stored points before a new step lands), a note that the earlier completions are not
//      shown, then the new steps'; the run ends done, and the Runs page lists it as a done GRPO run
// No console errors, no request off 127.0.0.1. Screenshots: .tmp/grpo-live.png (the paused run's view),
// .tmp/grpo-train.png (done), .tmp/grpo-runs.png.
//
//   node tools/run-node.mjs --test --test-reporter=spec e2e/grpo.test.ts
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { ROOT, optionalCheckpointFile, watchContext, watchPage, usePreviewApp } from './harness.ts';
import { attr, text, modelReady, liveStatus, chartPoints, formValues } from './train-page.ts';
import { generateArithmetic } from '../src/tasks/arithmetic.ts';

/** GRPO's rollouts on SwiftShader: the live status and charts get 120 s, not the helpers' 60 */
const SLOW = 120_000;

const SHOTS = { live: join(ROOT, '.tmp', 'grpo-live.png'), train: join(ROOT, '.tmp', 'grpo-train.png'), runs: join(ROOT, '.tmp', 'grpo-runs.png') };

const app = usePreviewApp();

before(() => {
  mkdirSync(join(ROOT, '.tmp'), { recursive: true });
});






/** The completions table's rows: each completion's reward and advantage, as numbers. */
const completions = (page: Page) =>
  page.$$eval('[data-testid="grpo-completion"]', (rows) => rows.map((r) => ({ reward: Number(r.getAttribute('data-reward')), advantage: Number(r.getAttribute('data-advantage')) })));

test('GRPO in the page: presets and validation, live reward/KL charts and completions, pause, cancel, reload, resume to done, listed as GRPO', { timeout: 400_000 }, async () => {
  const context = await app.browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const watch = await watchContext(context, optionalCheckpointFile);
  const page = await context.newPage();
  watchPage(page, watch, optionalCheckpointFile);
  try {
    await page.goto(`${app.server.url}/?model=./models/lab-micro/#/train`, { waitUntil: 'load' });
    await page.getByTestId('train-page').waitFor();
    await modelReady(page);

    // ---- 1. the switch, the presets, validation ----
    assert.equal(await page.getByTestId('grpo-form').count(), 0, 'the page opens on SFT');
    await page.getByTestId('grpo-mode').check();
    await page.getByTestId('grpo-form').waitFor();
    assert.equal(await page.getByTestId('train-config').count(), 0, 'one form at a time');
    assert.equal(await attr(page, 'grpo-preset-trl', 'aria-pressed'), 'true', 'the form starts at the TRL defaults');
    assert.deepEqual(await formValues(page, 'grpo', { maxNewTokens: '128' }), ['128'], 'TRL’s 256 new tokens fitted to a 256-token context');
    assert.match(await text(page, 'grpo-fit-note'), /256 new tokens leave no room .* context of 256 tokens; 128 here/);
    await page.getByTestId('grpo-preset-user').click();
    assert.deepEqual(
      await formValues(page, 'grpo', { groupSize: '16', beta: '0.1', lr: '0.00002', maxNewTokens: '128' }),
      ['16', '0.1', '0.00002', '128'],
      'user pipeline: G 16, β 0.1, lr 2e-5 (256 new tokens, fitted)',
    );
    await page.getByTestId('grpo-preset-trl').click();
    assert.deepEqual(
      await formValues(page, 'grpo', { groupSize: '8', beta: '0', epsilon: '0.2', lr: '0.000001', loss: 'dapo' }),
      ['8', '0', '0.2', '0.000001', 'dapo'],
      'TRL defaults: G 8, β 0, ε 0.2, lr 1e-6, loss dapo',
    );
    assert.equal(await page.getByTestId('grpo-reward-exact').isChecked(), true, 'exact:1 by default');

    await page.getByTestId('grpo-full').check();
    await page.getByTestId('grpo-beta').fill('0.05');
    assert.match(await text(page, 'grpo-beta-error'), /β > 0 needs LoRA/);
    assert.equal(await page.getByTestId('train-start').isDisabled(), true, 'a bad setting blocks Start');
    assert.match(await text(page, 'train-blocked'), /Fix the setting/);
    await page.getByTestId('grpo-lora').check();
    assert.equal(await page.getByTestId('grpo-beta-error').count(), 0, 'β > 0 with LoRA is fine');
    await page.getByTestId('grpo-groupSize').fill('17');
    assert.match(await text(page, 'grpo-groupSize-error'), /2 … 16/);
    await page.getByTestId('grpo-maxNewTokens').fill('256');
    assert.match(await text(page, 'grpo-maxNewTokens-error'), /context of 256/);
    await page.getByTestId('grpo-reward-reward-model').check(); // a learned reward model needs its files picked
    await page.getByTestId('grpo-reward-model-files').waitFor();
    assert.match(await text(page, 'grpo-rewards-error'), /pick the files lab reward-model wrote/);
    await page.getByTestId('grpo-reward-reward-model').uncheck();

    // the tiny run's settings; rewards: exact (0 for 8 tokens, which cannot reach "#### n") and chrF × 0.01
    const set: [string, string][] = [['groupSize', '4'], ['promptsPerStep', '2'], ['steps', '3'], ['maxNewTokens', '8'], ['temperature', '1'], ['lr', '0.001'], ['seed', '3'], ['checkpointEvery', '1']];
    for (const [k, v] of set) await page.getByTestId(`grpo-${k}`).fill(v);
    await page.getByTestId('grpo-reward-chrf').check();
    await page.getByTestId('grpo-reward-weight-chrf').fill('0.01');
    await page.getByTestId('data-embedded').check();
    await page.getByTestId('data-task').selectOption('arithmetic');
    await page.getByTestId('data-n').fill('32');
    await page.getByTestId('data-split').selectOption('rl'); // prompts the SFT never saw (src/tasks: the rl split)
    assert.equal(await page.locator('[data-testid="grpo-form"] .field-error').count(), 0, await page.locator('[data-testid="grpo-form"] .field-error').allTextContents().then((t) => t.join('; ')));
    assert.equal(await page.getByTestId('train-start').isEnabled(), true);

    // ---- 2. the run: charts and completions after step 1; pause during step 2; cancel ----
    await page.getByTestId('train-start').click();
    await chartPoints(page, 'grpo-reward-chart', 1, SLOW);
    const runId = (await attr(page, 'train-live', 'data-run-id'))!;
    assert.match(await text(page, 'train-progress-text'), /^step 1\/3 · ETA /);
    await page.getByTestId('train-pause').click(); // takes effect before the next step starts
    assert.ok(Number.isFinite(Number(await attr(page, 'grpo-reward-chart', 'data-last'))), 'the reward chart plots a number');
    for (const c of ['grpo-kl-chart', 'grpo-length-chart', 'grpo-clip-chart', 'grpo-loss-chart', 'grpo-rewards-chart']) assert.equal(await attr(page, c, 'data-points'), '1', c);
    assert.ok(Number(await attr(page, 'grpo-kl-chart', 'data-last')) >= 0, 'β > 0: the KL is measured');
    assert.equal(await attr(page, 'grpo-completions', 'data-step'), '1');
    const first = await completions(page);
    assert.equal(first.length, 8, '2 prompts × G 4');
    assert.ok(first.every((c) => Number.isFinite(c.reward) && Number.isFinite(c.advantage)), JSON.stringify(first));
    assert.ok(first.some((c) => c.reward > 0), 'chrF gives some reward');
    assert.equal(await page.getByTestId('grpo-group').count(), 2);
    // each group's prompt is the rl split's row of its line (data seed 0), not a train row
    const rl = generateArithmetic('rl', 32, 0);
    for (const g of await page.getByTestId('grpo-group').all()) {
      const line = Number(await g.getAttribute('data-line'));
      assert.ok((await g.textContent())?.includes(rl[line - 1].question.slice(0, 60)), `group of line ${line}: not the rl row "${rl[line - 1].question}"`);
    }
    await liveStatus(page, ['paused'], SLOW);
    await page.getByTestId('train-live').screenshot({ path: SHOTS.live });
    // the pause lands after step 1's checkpoint or after step 2, whichever the click reached first
    const pausedAt = Number(await attr(page, 'train-progress', 'aria-valuenow'));
    assert.ok(pausedAt === 1 || pausedAt === 2, `paused at step ${pausedAt}`);
    await page.getByTestId('train-cancel').click();
    await liveStatus(page, ['cancelled'], SLOW);
    assert.match(await text(page, 'train-message'), new RegExp(`stopped at step ${pausedAt}/3; resume from .*${pausedAt}`));
    const ckpts = Array.from({ length: pausedAt }, (_, i) => i + 1).join(',');

    // ---- 3. reload: listed as GRPO; resume; the charts rebuild; done ----
    await page.reload({ waitUntil: 'load' });
    await modelReady(page);
    // the Train page's forms of the last visit are back (src/app/train/persist.ts): GRPO, its settings, the data choice
    await page.waitForFunction(() => (document.querySelector('[data-testid="grpo-mode"]') as HTMLInputElement | null)?.checked === true, null, { timeout: 10_000 });
    assert.deepEqual(await formValues(page, 'grpo', { groupSize: '4', promptsPerStep: '2', maxNewTokens: '8', seed: '3' }), ['4', '2', '8', '3']);
    assert.deepEqual([await page.getByTestId('data-task').inputValue(), await page.getByTestId('data-n').inputValue(), await page.getByTestId('data-split').inputValue()], ['arithmetic', '32', 'rl']);
    await page.getByTestId('nav-runs').click();
    const item = page.locator(`[data-testid="run-item"][data-run-id="${runId}"]`);
    await item.waitFor({ timeout: 20_000 });
    assert.deepEqual([await item.getAttribute('data-kind'), await item.getAttribute('data-status'), await item.getAttribute('data-checkpoints')], ['grpo', 'cancelled', ckpts]);
    assert.equal((await item.getByTestId('run-kind').textContent())?.trim(), 'GRPO');
    assert.match((await item.getByTestId('run-grpo').textContent()) ?? '', /G 4 × 2 prompts\/step, 8 new tokens, β 0.05.*rewards exact:1, chrf:0.01/);
    assert.equal((await item.getByTestId('run-step').textContent())?.trim(), `${pausedAt}/3`);
    await page.evaluate((at) => {
      (window as unknown as { __at: number }).__at = at;
      const seen: string[] = [];
      (window as unknown as { __pts: string[]; __empty: boolean }).__pts = seen;
      new MutationObserver(() => {
        const v = document.querySelector('[data-testid="grpo-reward-chart"]')?.getAttribute('data-points');
        if (v && seen.at(-1) !== v) seen.push(v);
        const c = document.querySelector('[data-testid="grpo-completions"]');
        if (c && c.getAttribute('data-step') === String((window as unknown as { __at: number }).__at)) (window as unknown as { __kept: boolean }).__kept = true;
      }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-points', 'data-step'] });
    }, pausedAt);
    await item.getByTestId('run-resume').click();
    await page.waitForFunction(() => location.hash === '#/train');
    await page.waitForFunction((id) => document.querySelector('[data-testid="train-live"]')?.getAttribute('data-run-id') === id, runId);
    assert.equal(await page.getByTestId('grpo-mode').isChecked(), true, 'the resumed run’s GRPO settings are back in their form');
    assert.deepEqual(await formValues(page, 'grpo', { groupSize: '4', maxNewTokens: '8' }), ['4', '8']);
    await liveStatus(page, ['done'], SLOW);
    const pts = await page.evaluate(() => (window as unknown as { __pts: string[] }).__pts);
    assert.deepEqual(pts, pausedAt === 1 ? ['1', '2', '3'] : ['2', '3'], 'the charts start from the stored metrics (runMetrics), then the new steps');
    assert.equal(await page.evaluate(() => (window as unknown as { __kept?: boolean }).__kept), true, 'before the first new step, the table showed the checkpoint step\'s completions, read back from the run store (runSamples)');
    assert.equal(await attr(page, 'grpo-completions', 'data-step'), '3');
    assert.equal((await completions(page)).length, 8);
    const metrics = await page.evaluate((id) => window.__labEngine!.runMetrics(id), runId);
    assert.deepEqual(metrics.map((l) => l.step), [1, 2, 3]);
    assert.equal(Number(await attr(page, 'grpo-reward-chart', 'data-last')), (metrics[2] as { reward?: number }).reward, 'the chart plots the stored rewards');
    assert.match(await text(page, 'train-message'), /Finished 3 GRPO steps; the adapter is stored with the run/);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: SHOTS.train, fullPage: true });

    await page.getByTestId('nav-runs').click();
    await page.waitForFunction((id) => document.querySelector(`[data-testid="run-item"][data-run-id="${id}"]`)?.getAttribute('data-status') === 'done', runId, { timeout: 20_000 });
    assert.equal(await item.getAttribute('data-kind'), 'grpo');
    assert.equal((await item.getByTestId('run-step').textContent())?.trim(), '3/3');
    assert.equal(await item.getByTestId('run-use-adapter').count(), 1, 'a LoRA GRPO run has an adapter to use');
    await page.screenshot({ path: SHOTS.runs, fullPage: true });

    assert.deepEqual([...watch.consoleErrors], [], 'no console errors');
    assert.deepEqual(watch.offHost, [], 'no request left 127.0.0.1: offline');
    assert.deepEqual(watch.failedLoads, [], 'every local load succeeded');
    console.log(`# screenshots: ${SHOTS.live} ${SHOTS.train} ${SHOTS.runs}`);
  } finally {
    await context.close();
  }
});
