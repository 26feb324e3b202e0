// Browser end-to-end for DPO on the Train page (issue 11, item 7): the built app under `vite preview`,
// offline, on the micro model (models/lab-micro, shipped in the build, loaded with ?model=):
//   1. the SFT | GRPO | DPO switch; the DPO form starts at TRL's defaults (β 0.1, label smoothing 0,
//      lr 1e-6) and offers LoRA only; an edit marks the preset edited, one click puts it back; β 0 and a
//      label smoothing of 0.5 are refused inline and block Start; the embedded task sets are not pairs
//      (Start blocked, saying so); a picked pairs file without a manifest is refused (default-deny), with
//      an approving SOURCE_MANIFEST.yml at data/pairs.jsonl it is allowed
//   2. a tiny run on 6 synthetic arithmetic pairs (chosen "… #### n", rejected "I do not know."; 2 pairs a
//      step, 3 steps, lr 1e-3, a checkpoint every step): the loss, margin, accuracy and rewards charts
//      fill with numbers after step 1; paused, then cancelled
//   3. reload → #/runs shows the run as DPO (its settings listed), cancelled with its checkpoints; Resume →
//      the Train page in DPO mode with the run's settings; the run ends done, its charts hold steps 1…3
//      (the stored ones rebuilt from runMetrics), and the Runs page lists it as a done DPO run with an adapter
// No console errors, no request off 127.0.0.1. Screenshot: .tmp/dpo-train.png.
//
//   node tools/run-node.mjs --test --test-reporter=spec e2e/dpo.test.ts
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, optionalCheckpointFile, watchContext, watchPage, usePreviewApp } from './harness.ts';
import { attr, text, modelReady, liveStatus, chartPoints, formValues } from './train-page.ts';

const SHOT = join(ROOT, '.tmp', 'dpo-train.png');

const app = usePreviewApp();

before(() => {
  mkdirSync(join(ROOT, '.tmp'), { recursive: true });
});






/** 6 synthetic arithmetic pairs: a worked answer ending "#### n" preferred to a refusal. */
const PAIRS = Array.from({ length: 6 }, (_, i) => {
  const [a, b] = [3 + i, 4 + 2 * i];
  return JSON.stringify({ prompt: `What is ${a} + ${b}?`, chosen: `${a} + ${b} = ${a + b}.\n#### ${a + b}`, rejected: 'I do not know.' });
}).join('\n');
const MANIFEST = `schema_version: "1.0"\nrecords:\n  - {source_id: e2e_pairs, path_glob: "data/*.jsonl", data_type: text, origin: test, rights_holder: project, permission_status: approved_for_training, license: MIT, allowed_uses: [training], prohibited_uses: [redistribution], contains_sensitive_content: false, review_contact: none, notes: "synthetic pairs"}\n`;

test('DPO in the page: TRL preset and validation, governed pairs file, live loss/margin/accuracy/rewards charts, pause, cancel, reload, resume to done, listed as DPO', { timeout: 240_000 }, async () => {
  const context = await app.browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const watch = await watchContext(context, optionalCheckpointFile);
  const page = await context.newPage();
  watchPage(page, watch, optionalCheckpointFile);
  try {
    await page.goto(`${app.server.url}/?model=./models/lab-micro/#/train`, { waitUntil: 'load' });
    await page.getByTestId('train-page').waitFor();
    await modelReady(page);

    // ---- 1. the switch, the preset, validation, the data and its governance ----
    assert.equal(await page.getByTestId('dpo-form').count(), 0, 'the page opens on SFT');
    await page.getByTestId('dpo-mode').check();
    await page.getByTestId('dpo-form').waitFor();
    assert.equal(await page.getByTestId('train-config').count(), 0, 'one form at a time');
    assert.equal(await page.getByTestId('grpo-form').count(), 0);
    assert.equal(await page.getByTestId('dpo-full').count(), 0, 'DPO offers no full training');
    assert.equal(await page.getByTestId('dpo-lora-only').count(), 1);
    assert.equal(await page.getByTestId('dpo-dropout').count(), 0, 'nor LoRA dropout');
    assert.equal(await attr(page, 'dpo-preset-trl', 'aria-pressed'), 'true', 'the form starts at the TRL defaults');
    assert.deepEqual(await formValues(page, 'dpo', { beta: '0.1', labelSmoothing: '0', lr: '0.000001' }), ['0.1', '0', '0.000001']);
    await page.getByTestId('dpo-lr').fill('0.001');
    assert.equal(await attr(page, 'dpo-preset-trl', 'aria-pressed'), 'false');
    assert.equal((await text(page, 'dpo-preset-state')).trim(), 'edited');
    await page.getByTestId('dpo-preset-trl').click();
    assert.deepEqual(await formValues(page, 'dpo', { lr: '0.000001' }), ['0.000001'], 'the preset puts lr back');

    await page.getByTestId('dpo-beta').fill('0');
    assert.match(await text(page, 'dpo-beta-error'), /> 0/);
    assert.equal(await page.getByTestId('train-start').isDisabled(), true, 'a bad setting blocks Start');
    assert.match(await text(page, 'train-blocked'), /Fix the setting/);
    await page.getByTestId('dpo-beta').fill('0.1');
    await page.getByTestId('dpo-labelSmoothing').fill('0.5');
    assert.match(await text(page, 'dpo-labelSmoothing-error'), /\[0, 0\.5\)/);
    await page.getByTestId('dpo-labelSmoothing').fill('0');
    await page.getByTestId('dpo-batchSize').fill('0');
    assert.match(await text(page, 'dpo-batchSize-error'), /pairs per step/);

    // the tiny run's settings
    const set: [string, string][] = [['batchSize', '2'], ['steps', '3'], ['lr', '0.001'], ['seed', '1'], ['checkpointEvery', '1'], ['r', '4'], ['alpha', '8']];
    for (const [k, v] of set) await page.getByTestId(`dpo-${k}`).fill(v);
    assert.equal(await page.locator('[data-testid="dpo-form"] .field-error').count(), 0, await page.locator('[data-testid="dpo-form"] .field-error').allTextContents().then((t) => t.join('; ')));

    await page.getByTestId('data-embedded').check();
    assert.equal(await page.getByTestId('train-start').isDisabled(), true, 'the embedded sets are not pairs');
    assert.match(await text(page, 'train-blocked'), /DPO trains on .*pairs.*pick a JSONL file of pairs/);
    await page.getByTestId('data-file').check();
    await page.getByTestId('data-file-input').setInputFiles({ name: 'pairs.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from(PAIRS + '\n') });
    await page.waitForFunction(() => document.querySelector('[data-testid="train-governance"]')?.textContent?.includes('pairs.jsonl'));
    assert.equal(await attr(page, 'train-governance', 'data-allowed'), 'false');
    assert.match(await text(page, 'train-governance-reason'), /no source manifest was given with this file; training is default-deny/);
    assert.match(await text(page, 'train-blocked'), /Refused by the data governance/);
    await page.getByTestId('data-manifest-input').setInputFiles({ name: 'SOURCE_MANIFEST.yml', mimeType: 'text/yaml', buffer: Buffer.from(MANIFEST) });
    assert.equal(await attr(page, 'train-governance', 'data-allowed'), 'false', 'pairs.jsonl is not under data/: no record matches');
    await page.getByTestId('data-manifest-path').fill('data/pairs.jsonl');
    await page.waitForFunction(() => document.querySelector('[data-testid="train-governance"]')?.getAttribute('data-allowed') === 'true');
    assert.match(await text(page, 'train-governance'), /e2e_pairs approve training.*prohibited uses redistribution/);
    assert.equal(await page.getByTestId('train-start').isEnabled(), true);
    assert.equal((await text(page, 'train-start')).trim(), 'Start DPO');

    // ---- 2. the run: charts after step 1; pause; cancel ----
    await page.getByTestId('train-start').click();
    await chartPoints(page, 'dpo-loss-chart', 1);
    await page.getByTestId('train-pause').click(); // takes effect before the next step starts
    const runId = (await attr(page, 'train-live', 'data-run-id'))!;
    assert.equal(await attr(page, 'train-data-report', 'data-rows'), '6', 'all 6 pairs usable');
    for (const c of ['dpo-loss-chart', 'dpo-margin-chart', 'dpo-accuracy-chart', 'dpo-rewards-chart']) {
      assert.ok(Number(await attr(page, c, 'data-points')) >= 1, c);
      assert.ok(Number.isFinite(Number(await attr(page, c, 'data-last'))), `${c} plots a number`);
    }
    const loss1 = Number(await attr(page, 'dpo-loss-chart', 'data-last'));
    assert.ok(Math.abs(loss1 - Math.LN2) < 1e-3, `step 1's loss is ln 2 (the policy starts at the reference): ${loss1}`);
    assert.match(await text(page, 'train-last'), /^loss \d\.\d{4} · margin -?\d\.\d{4} · accuracy \d+%/);
    await liveStatus(page, ['paused']);
    const pausedAt = Number(await attr(page, 'train-progress', 'aria-valuenow'));
    assert.ok(pausedAt === 1 || pausedAt === 2, `paused at step ${pausedAt}`);
    await page.getByTestId('train-cancel').click();
    await liveStatus(page, ['cancelled']);
    const ckpts = Array.from({ length: pausedAt }, (_, i) => i + 1).join(',');

    // ---- 3. reload: listed as DPO; resume; done ----
    await page.reload({ waitUntil: 'load' });
    await modelReady(page);
    await page.getByTestId('nav-runs').click();
    const item = page.locator(`[data-testid="run-item"][data-run-id="${runId}"]`);
    await item.waitFor({ timeout: 20_000 });
    assert.deepEqual([await item.getAttribute('data-kind'), await item.getAttribute('data-status'), await item.getAttribute('data-checkpoints')], ['dpo', 'cancelled', ckpts]);
    assert.equal((await item.getByTestId('run-kind').textContent())?.trim(), 'DPO');
    assert.match((await item.getByTestId('run-dpo').textContent()) ?? '', /2 pairs\/step, β 0.1, label smoothing 0/);
    await item.getByTestId('run-resume').click();
    await page.waitForFunction(() => location.hash === '#/train');
    await page.waitForFunction((id) => document.querySelector('[data-testid="train-live"]')?.getAttribute('data-run-id') === id, runId);
    assert.equal(await page.getByTestId('dpo-mode').isChecked(), true, 'the resumed run’s DPO settings are back in their form');
    assert.deepEqual(await formValues(page, 'dpo', { batchSize: '2', steps: '3', lr: '0.001', r: '4' }), ['2', '3', '0.001', '4']);
    await liveStatus(page, ['done']);
    await chartPoints(page, 'dpo-loss-chart', 3, 5_000);
    const metrics = await page.evaluate((id) => window.__labEngine!.runMetrics(id), runId);
    assert.deepEqual(metrics.map((l) => l.step), [1, 2, 3]);
    assert.equal(Number(await attr(page, 'dpo-margin-chart', 'data-last')), (metrics[2] as { margin?: number }).margin, 'the chart plots the stored margins');
    assert.match(await text(page, 'train-message'), /Finished 3 DPO steps; the adapter is stored with the run/);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: SHOT, fullPage: true });

    await page.getByTestId('nav-runs').click();
    await page.waitForFunction((id) => document.querySelector(`[data-testid="run-item"][data-run-id="${id}"]`)?.getAttribute('data-status') === 'done', runId, { timeout: 20_000 });
    assert.equal(await item.getAttribute('data-kind'), 'dpo');
    assert.equal((await item.getByTestId('run-step').textContent())?.trim(), '3/3');
    assert.equal(await item.getByTestId('run-use-adapter').count(), 1, 'a DPO run has an adapter to use');

    assert.deepEqual([...watch.consoleErrors], [], 'no console errors');
    assert.deepEqual(watch.offHost, [], 'no request left 127.0.0.1: offline');
    assert.deepEqual(watch.failedLoads, [], 'every local load succeeded');
    console.log(`# screenshot: ${SHOT}`);
  } finally {
    await context.close();
  }
});
