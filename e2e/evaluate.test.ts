// Browser end-to-end for the Evaluate page (issue 13, item 4): the built app under `vite preview`,
// offline, with the micro test model (models/lab-micro, shipped in the build). An SFT adapter is made
// cheaply (2 LoRA steps on 4 embedded arithmetic rows through window.__labEngine.train, as
// e2e/analyze-diff.test.ts does); the page then builds the base vs SFT table on the embedded held-out
// arithmetic set (4 rows, 6 new tokens, exact match): two rows with 95% CIs, the chart, the progress.
// The table is the engine's own evaluate on the same request (one code path in the page too), its data
// the bytes `lab tasks` writes (the sha256 of embeddedEvalData in Node); the downloaded JSON is the table
// with its provenance (data sha256 and terms, model, the run's id and governance, metric, seed, date, lab
// version) and the CSV is that table's tableCsv, line for line. A reload shows the kept table again.
// Nothing errs or leaves 127.0.0.1.
//
//   node tools/run-node.mjs --test --test-reporter=spec e2e/evaluate.test.ts
//
// Screenshot for humans (printed, not asserted): <tmp>/lab-evaluate.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { optionalCheckpointFile, watchContext, watchPage, usePreviewApp, attr, download } from './harness.ts';
import { BASE_CONFIG, PRESETS, dataOf } from '../src/app/trainSlice.ts';
import type { EvalTable, EvaluateRequest, TrainRequest } from '../src/engine/api.ts';
import { embeddedEvalData, LAB_VERSION } from '../src/engine/eval/evaluate.ts';
import { parseCsv, tableCsv } from '../src/app/evaluate/exports.ts';

const SHOT = join(tmpdir(), 'lab-evaluate.png');

const app = usePreviewApp();

/** The table as the page shows it: per row its adapter, run id, kind and numbers (data-* attributes). */
const shownRows = (page: Page) =>
  page.getByTestId('eval-row').evaluateAll((trs) =>
    trs.map((tr) => {
      const d = (tr as HTMLElement).dataset;
      return { adapter: d.adapter, runId: d.runId, kind: d.kind, score: Number(d.score), lo: Number(d.lo), hi: Number(d.hi), n: Number(d.n), correct: d.correct === '' ? null : Number(d.correct) };
    }),
  );

test('Evaluate: base vs an SFT adapter on the embedded held-out arithmetic set, the engine\'s numbers, CSV and JSON with provenance, kept across a reload', { timeout: 600_000 }, async () => {
  const context = await app.browser.newContext({ viewport: { width: 1366, height: 900 }, acceptDownloads: true });
  const watch = await watchContext(context, optionalCheckpointFile);
  const page = await context.newPage();
  watchPage(page, watch, optionalCheckpointFile);
  const t0 = Date.now();
  const at = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
  await page.goto(`${app.server.url}/?model=./models/lab-micro/#/evaluate`, { waitUntil: 'load' });
  await page.waitForSelector('[data-testid="header-model"][data-status="ready"]', { timeout: 60_000 });
  await page.getByTestId('eval-empty').waitFor();
  assert.equal(await page.getByTestId('nav-evaluate').getAttribute('aria-current'), 'page');

  // ---- 1. an adapter, cheaply: 2 LoRA steps (the quick preset) on 4 embedded arithmetic rows ----
  const data = dataOf({ kind: 'embedded', task: 'arithmetic', n: 4, seed: 0 });
  const quick = PRESETS.find((p) => p.id === 'quick')!.patch;
  const runId = 'run-e2e-evaluate';
  const req: TrainRequest = { runId, name: 'e2e-eval', config: { ...BASE_CONFIG, ...quick, steps: 2 }, data: { name: data.name, text: data.text, governance: data.decision } };
  assert.equal(await page.evaluate((r) => window.__labEngine!.train(r).then((x) => x.steps), req), 2);
  console.log(`# adapter trained at ${at()}`);
  // the page reads the runs when it opens: away and back (a hash change, the model stays loaded)
  await page.evaluate(() => (location.hash = '#/runs'));
  await page.waitForSelector('[data-testid="page"][data-page="runs"]');
  await page.evaluate(() => (location.hash = '#/evaluate'));
  const option = page.locator(`[data-testid="eval-run-option"][data-run-id="${runId}"]`);
  await option.waitFor({ timeout: 20_000 });
  assert.equal(await option.getAttribute('data-usable'), 'true');

  // ---- 2. the form: 4 held-out rows, exact match, 6 new tokens, the base and the run ----
  await page.getByTestId('eval-n').fill('4');
  await page.getByTestId('eval-max-new').fill('6');
  await page.getByTestId('eval-batch').fill('4');
  assert.equal(await page.getByTestId('eval-metric').inputValue(), 'exact');
  assert.equal(await page.getByTestId('eval-base').isChecked(), true);
  await option.getByTestId('eval-run-check').check();
  assert.match((await page.getByTestId('eval-data-facts').textContent()) ?? '', /lab tasks --task arithmetic --split heldout --n 4 --seed 0.*the lab’s own synthetic data/s);
  await page.getByTestId('eval-run').click();
  await page.waitForFunction(() => ['done', 'error', 'cancelled'].includes(document.querySelector('[data-testid="evaluate-page"]')?.getAttribute('data-status') ?? ''), null, { timeout: 300_000, polling: 250 });
  if ((await attr(page, 'evaluate-page', 'data-status')) !== 'done') assert.fail(`the evaluation did not finish: ${await page.getByTestId('eval-error').textContent().catch(() => '?')}`);
  console.log(`# table at ${at()}`);

  // ---- 3. the table: base then SFT, with CIs; the engine's own numbers on the same request ----
  const rows = await shownRows(page);
  assert.deepEqual(rows.map((r) => [r.kind, r.runId, r.n]), [['base', '', 4], ['SFT', runId, 4]]);
  for (const r of rows) assert.ok(r.lo <= r.score && r.score <= r.hi && r.correct !== null && r.score === r.correct / 4, JSON.stringify(r));
  assert.equal(await page.getByTestId('eval-bar').count(), 2, 'a bar with its whisker per model');
  assert.equal(await attr(page, 'eval-progress', 'data-status'), 'done');
  const direct: EvaluateRequest = { data: { kind: 'embedded', task: 'arithmetic', split: 'heldout', n: 4, seed: 0 }, metric: 'exact', models: ['base', { runId }], maxNewTokens: 6, batch: 4, limit: null, seed: 0 };
  const engineTable = (await page.evaluate((r) => window.__labEngine!.evaluate(r), direct)) as EvalTable;
  assert.deepEqual(rows.map((r) => [r.score, r.lo, r.hi, r.correct]), engineTable.rows.map((r) => [r.score, r.ci95[0], r.ci95[1], r.correct]), 'the page shows Engine.evaluate\'s numbers');
  const made = await embeddedEvalData('arithmetic', 'heldout', 4, 0);
  assert.equal(await page.getByTestId('eval-sha256').textContent(), made.record.sha256, 'the data is the `lab tasks` file');

  // ---- 4. the downloads: the JSON is the table with its provenance, the CSV its tableCsv ----
  const json = await download(page, 'eval-download-json');
  const csv = await download(page, 'eval-download-csv');
  assert.deepEqual([json.name, csv.name], ['eval-arithmetic-heldout-n4-seed0-exact.json', 'eval-arithmetic-heldout-n4-seed0-exact.csv']);
  const table = JSON.parse(json.text) as EvalTable;
  assert.deepEqual(table.rows.map((r) => [r.adapter ?? '', r.run?.id ?? '', r.score, r.ci95[0], r.ci95[1], r.n, r.correct]), rows.map((r) => [r.adapter, r.runId, r.score, r.lo, r.hi, r.n, r.correct]));
  assert.equal(table.rows[0].items.length, 4, 'every answer is in the JSON');
  const p = table.provenance;
  assert.deepEqual([p.data.name, p.data.sha256, p.data.source, p.data.governance?.allowed, p.model.name, p.settings.metric, p.settings.seed, p.settings.maxNewTokens, p.lab.version], ['arithmetic-heldout-n4-seed0.jsonl', made.record.sha256, 'embedded', true, 'lab-micro', 'exact', 0, 6, LAB_VERSION]);
  assert.ok(Date.parse(p.createdAt) > t0, 'dated');
  assert.deepEqual([table.rows[1].run?.kind, table.rows[1].run?.data.name, (table.rows[1].run?.governance as { inherited?: { sources: string[] } }).inherited?.sources], ['sft', data.name, ['lab_tasks_arithmetic']], 'the run\'s governance.json');
  assert.equal(csv.text, tableCsv(table), 'the CSV is the table\'s');
  const lines = parseCsv(csv.text);
  assert.deepEqual(lines.map((l) => [l.run_kind, Number(l.score), l.data_sha256, l.lab_version]), [['base', rows[0].score, made.record.sha256, LAB_VERSION], ['SFT', rows[1].score, made.record.sha256, LAB_VERSION]]);
  await page.evaluate(() => scrollTo(0, 0)); // the sticky header stays where it belongs in a full-page shot
  await page.screenshot({ path: SHOT, fullPage: true });

  // ---- 5. a reload keeps the table (IndexedDB) and the form ----
  const created = await attr(page, 'eval-result', 'data-created');
  await page.reload({ waitUntil: 'load' });
  await page.waitForSelector(`[data-testid="eval-result"][data-from="saved"][data-created="${created}"]`, { timeout: 30_000 });
  assert.deepEqual(await shownRows(page), rows);
  assert.deepEqual(await Promise.all(['eval-n', 'eval-max-new', 'eval-batch'].map((id) => page.getByTestId(id).inputValue())), ['4', '6', '4']);
  console.log(`# reload checked at ${at()}; screenshot: ${SHOT}`);

  assert.deepEqual([...watch.consoleErrors], [], 'no console errors');
  assert.deepEqual(watch.offHost, [], 'no request left 127.0.0.1');
  assert.deepEqual(watch.failedLoads, [], 'every local load succeeded');
  await context.close();
});
