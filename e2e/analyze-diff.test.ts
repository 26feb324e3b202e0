// Browser end-to-end for the Analyze page's before/after (issue 12, item 5): the built app under `vite
// preview`, offline, with the micro test model (models/lab-micro, shipped in the build). A report of the
// base model (A = arithmetic, B = Velmic, 2 prompts each) is pinned as "before" and compared with
// itself ("the pinned report itself", no change); a LoRA adapter is made cheaply (2 steps on 4 embedded
// arithmetic rows through window.__labEngine.train, as e2e/compare.test.ts does), switched on in the
// page, and the same analysis run again: the comparison ranks changed heads, draws the maps, and
// diff.json is the engine's diffReports of the two downloaded report.json files, byte for byte. A third
// run with another seed is refused, the message naming what differs. A reload keeps the pinned report
// and the last one, the sets and the settings (IndexedDB); Unpin forgets it there. Along the run: the report for the base model and
// for the run's two checkpoints, the series (trajectory.json as downloaded), and the adapter active before
// switched back on. Nothing errs or leaves 127.0.0.1.
//
//   node tools/run-node.mjs --test --test-reporter=spec e2e/analyze-diff.test.ts
//
// Screenshots for humans (printed, not asserted): <tmp>/lab-analyze-diff*.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { optionalCheckpointFile, watchContext, watchPage, usePreviewApp, attr, download as downloadFile } from './harness.ts';
import { BASE_CONFIG, PRESETS, dataOf } from '../src/app/trainSlice.ts';
import type { TrainRequest } from '../src/engine/api.ts';
import { reportFromJson } from '../src/engine/analysis/report-data.ts';
import { diffFromJson, diffReports, diffToJson } from '../src/engine/analysis/report-diff.ts';
import { DIFF_TOP } from '../src/app/analyze/diff.ts';
import { trajectoryFromJson } from '../src/engine/analysis/trajectory.ts';

const SHOTS = { diff: join(tmpdir(), 'lab-analyze-diff.png'), full: join(tmpdir(), 'lab-analyze-diff-full.png'), refused: join(tmpdir(), 'lab-analyze-diff-refused.png'), same: join(tmpdir(), 'lab-analyze-diff-same.png'), along: join(tmpdir(), 'lab-analyze-along.png') };

const app = usePreviewApp();

/** Runs the analysis with the form as it is and waits for it to finish (polled by timer: SwiftShader starves animation frames). */
async function runAnalysis(page: Page): Promise<string> {
  const prev = (await page.getByTestId('analyze-report').count()) ? await page.getByTestId('analyze-report').getAttribute('data-created') : null;
  await page.getByTestId('analyze-run').click();
  await page.waitForFunction(() => ['done', 'error', 'cancelled'].includes(document.querySelector('[data-testid="analyze-page"]')?.getAttribute('data-status') ?? ''), null, { timeout: 180_000, polling: 250 });
  if ((await attr(page, 'analyze-page', 'data-status')) !== 'done') assert.fail(`the analysis did not finish: ${await page.getByTestId('analyze-error').textContent().catch(() => '?')}`);
  const created = (await page.getByTestId('analyze-report').getAttribute('data-created'))!;
  assert.notEqual(created, prev, 'a new report');
  return created;
}

const download = (page: Page, testid: string) => downloadFile(page, testid, { first: true });

test('Analyze before/after: pin, compare with itself, reload, adapter on, the ranked diff and diff.json, an incomparable pair refused, the report along the run\'s checkpoints', { timeout: 600_000 }, async () => {
  const context = await app.browser.newContext({ viewport: { width: 1366, height: 800 } }); // a laptop screen
  const watch = await watchContext(context, optionalCheckpointFile);
  const page = await context.newPage();
  watchPage(page, watch, optionalCheckpointFile);
  const t0 = Date.now();
  const at = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
  await page.goto(`${app.server.url}/?model=./models/lab-micro/#/analyze`, { waitUntil: 'load' });
  await page.waitForSelector('[data-testid="header-model"][data-status="ready"]', { timeout: 60_000 });
  await page.getByTestId('analyze-empty').waitFor();
  assert.equal(await page.getByTestId('analyze-pin-panel').count(), 0, 'nothing to pin yet: no before/after panel');
  assert.match((await page.getByTestId('analyze-before-after').textContent()) ?? '', /pin it as “before”.*run again with the same sets and settings/s);

  // ---- 1. the base model's report, pinned and compared with itself ----
  await page.getByTestId('analyze-n').fill('2');
  await page.getByTestId('analyze-boot').fill('30');
  await page.getByTestId('analyze-perm').fill('30');
  const base = await runAnalysis(page);
  console.log(`# base report at ${at()}`);
  assert.equal(await attr(page, 'analyze-pin-panel', 'data-pinned'), '');
  await page.getByTestId('analyze-pin').click();
  await page.waitForSelector(`[data-testid="analyze-pin-panel"][data-pinned="${base}"]`);
  assert.match((await page.getByTestId('analyze-pinned-model').textContent()) ?? '', /lab-micro, base model.*A = arithmetic \(2 of 2\), B = Velmic \(2 of 2\) · seed 0/s);
  assert.equal(await page.getByTestId('analyze-repin').isDisabled(), true, 'the pinned report is the current one');
  await page.getByTestId('analyze-compare').click();
  const diffEl = page.getByTestId('analyze-diff');
  await diffEl.waitFor();
  assert.deepEqual(await Promise.all(['data-state', 'data-same', 'data-none'].map((a) => diffEl.getAttribute(a))), ['ok', 'yes', 'yes']);
  await page.getByTestId('analyze-diff-same').waitFor();
  assert.match((await page.getByTestId('analyze-diff-none').textContent()) ?? '', /No change/);
  assert.match((await page.getByTestId('analyze-diff-summary').textContent()) ?? '', /Selectivity: 0 of \d+ head-statistic pairs changed.*Ablation: 0 of 8 head-task effects changed/s);
  assert.equal(await page.getByTestId('analyze-diff-sel-row').count(), 0);
  assert.match((await page.getByTestId('analyze-diff-caveat').textContent()) ?? '', /Δ is a point difference, not a test.*conservative indicator/s);
  await page.getByTestId('analyze-pin-panel').screenshot({ path: SHOTS.same });
  await page.getByTestId('analyze-compare').click(); // hidden again
  assert.equal(await diffEl.count(), 0);

  // ---- 2. an adapter, cheaply: 2 LoRA steps (the quick preset, a checkpoint each) on 4 embedded arithmetic rows ----
  const data = dataOf({ kind: 'embedded', task: 'arithmetic', n: 4, seed: 0 });
  const quick = PRESETS.find((p) => p.id === 'quick')!.patch;
  const runId = 'run-e2e-analyze-diff';
  const req: TrainRequest = { runId, name: 'e2e-diff', config: { ...BASE_CONFIG, ...quick, steps: 2, checkpointEvery: 1 }, data: { name: data.name, text: data.text, governance: data.decision } };
  assert.equal(await page.evaluate((r) => window.__labEngine!.train(r).then((x) => x.steps), req), 2);
  console.log(`# adapter trained at ${at()}`);

  // ---- 3. the adapter on, the same analysis again: the diff ----
  // the page reads the runs when it opens: away and back (a hash change, the model stays loaded)
  await page.evaluate(() => (location.hash = '#/runs'));
  await page.waitForSelector('[data-testid="page"][data-page="runs"]');
  await page.evaluate(() => (location.hash = '#/analyze'));
  await page.waitForFunction((id) => !!document.querySelector(`[data-testid="analyze-adapter-pick"] option[value="${id}"]`), runId, { timeout: 20_000 });
  await page.getByTestId('analyze-adapter-pick').selectOption(runId);
  await page.waitForFunction(() => (document.querySelector('[data-testid="analyze-adapter"]')?.getAttribute('data-active') ?? '') !== '' && !document.querySelector('[data-testid="analyze-adapter-pick"]')!.hasAttribute('disabled'), null, { timeout: 60_000, polling: 250 });
  const adapterName = (await attr(page, 'analyze-adapter', 'data-active'))!;
  assert.match(adapterName, new RegExp(`run ${runId}`));
  assert.equal(await attr(page, 'analyze-pin-panel', 'data-pinned'), base);
  const withAdapter = await runAnalysis(page);
  console.log(`# adapter report at ${at()}`);
  await page.getByTestId('analyze-compare').click();
  await diffEl.waitFor();
  assert.deepEqual(await Promise.all(['data-state', 'data-same', 'data-none', 'data-before', 'data-after'].map((a) => diffEl.getAttribute(a))), ['ok', 'no', 'no', base, withAdapter]);
  assert.match((await page.getByTestId('analyze-current-model').textContent()) ?? '', new RegExp(`adapter ${adapterName.replace(/[()]/g, '\\$&')}`));
  const selRows = await page.getByTestId('analyze-diff-sel-row').count();
  const causalRows = await page.getByTestId('analyze-diff-causal-row').count();
  assert.ok(selRows + causalRows > 0, 'the adapter changed something');
  assert.equal(await page.locator('[data-testid="analyze-diff-sel-map"] svg rect[width]').count() > 0, true, 'the Δd map is drawn');
  assert.equal(await page.locator('[data-testid="analyze-diff-abl-map"] svg').count(), 1);

  // diff.json = the engine's diffReports of the two report.json files
  const beforeJson = await download(page, 'analyze-pinned-download');
  const afterJson = await download(page, 'analyze-download-json');
  const diffJson = await download(page, 'analyze-diff-download-json');
  assert.deepEqual([beforeJson.name, afterJson.name, diffJson.name], ['report-before.json', 'report.json', 'diff.json']);
  const [b, a] = [reportFromJson(beforeJson.text), reportFromJson(afterJson.text)];
  assert.deepEqual([b.createdAt, a.createdAt, b.adapter, a.adapter?.name], [base, withAdapter, null, adapterName]);
  assert.equal(diffJson.text, diffToJson(diffReports(b, a, { top: DIFF_TOP })), 'diff.json is diffReports(before, after)');
  const diff = diffFromJson(diffJson.text);
  assert.equal(selRows, diff.top.selectivity.length);
  assert.equal(causalRows, diff.top.causal.length);
  if (selRows) {
    const first = page.getByTestId('analyze-diff-sel-row').first();
    const t = diff.top.selectivity[0];
    assert.deepEqual([await first.getAttribute('data-head'), await first.getAttribute('data-stat'), Number(await first.getAttribute('data-delta'))], [`L${t.layer}H${t.head}`, t.stat, t.deltaD]);
    assert.equal((await page.getByTestId('analyze-diff-sel-lines').locator('li').first().textContent())?.trim(), t.line);
    assert.equal(await attr(page, 'analyze-diff-sel-map', 'data-name'), `diff-selectivity-${t.stat.replace(/[^A-Za-z0-9._-]/g, '-')}.svg`, 'the map opens on the statistic of the largest |Δd|');
  }
  console.log(`# ${diff.summary.selectivity.changed} of ${diff.summary.selectivity.pairs} selectivity pairs and ${diff.summary.causal.changed} of ${diff.summary.causal.pairs} ablation effects changed; diff checked at ${at()}`);
  await page.getByTestId('analyze-pin-panel').scrollIntoViewIfNeeded();
  await page.evaluate(() => document.getElementById('analyze-ba')!.scrollIntoView({ block: 'start' }));
  await page.screenshot({ path: SHOTS.diff });
  await page.getByTestId('analyze-pin-panel').screenshot({ path: SHOTS.full });

  // ---- 4. another seed: not comparable, the refusal names what differs ----
  await page.getByTestId('analyze-seed').fill('1');
  const other = await runAnalysis(page);
  console.log(`# third report at ${at()}`);
  await page.waitForSelector(`[data-testid="analyze-diff"][data-after="${other}"]`);
  assert.equal(await diffEl.getAttribute('data-state'), 'incomparable');
  const msg = (await page.getByTestId('analyze-diff-error-message').textContent()) ?? '';
  assert.match(msg, /^the pinned report and the current report are not comparable: .*seed 0 vs 1\.$/);
  assert.doesNotMatch(msg, /--adapter/, 'the page gives its own advice, not the CLI flags');
  assert.equal(await page.getByTestId('analyze-diff-download-json').count(), 0);
  await page.evaluate(() => document.getElementById('analyze-ba')!.scrollIntoView({ block: 'start' }));
  await page.screenshot({ path: SHOTS.refused });

  // ---- 5. a reload keeps the pinned report and the last one; Unpin forgets it, in IndexedDB too ----
  await page.reload({ waitUntil: 'load' });
  await page.waitForSelector(`[data-testid="analyze-pin-panel"][data-pinned="${base}"]`, { timeout: 30_000 });
  await page.waitForSelector(`[data-testid="analyze-result"][data-from="saved"] [data-testid="analyze-report"][data-created="${other}"]`, { timeout: 30_000 });
  assert.equal(await attr(page, 'analyze-pin-panel', 'data-comparing'), 'no', 'the comparison is asked for again after a reload');
  await page.getByTestId('analyze-compare').click();
  assert.deepEqual([await diffEl.getAttribute('data-state'), await diffEl.getAttribute('data-before')], ['incomparable', base]);
  const kept = () =>
    page.evaluate(() => new Promise<string>((ok, fail) => {
      const r = indexedDB.open('stoney-analysis-v1');
      r.onerror = () => fail(r.error);
      r.onsuccess = () => {
        const q = r.result.transaction('reports').objectStore('reports').get('analysis:pinned');
        q.onsuccess = () => (r.result.close(), ok(q.result?.report?.createdAt ?? 'none'));
      };
    }));
  assert.equal(await kept(), base);
  await page.getByTestId('analyze-unpin').click();
  await page.getByTestId('analyze-pin').waitFor();
  // the store deletes it after the panel changes: read until it is gone (or a second has passed)
  let left = await kept();
  for (let i = 0; i < 20 && left !== 'none'; i++) (await new Promise((ok) => setTimeout(ok, 50)), (left = await kept()));
  assert.equal(left, 'none', 'the pinned report is gone from IndexedDB');
  console.log(`# reload and unpin checked at ${at()}`);

  // ---- 6. along the run: the base model and checkpoints 1 and 2, the series, the adapter put back ----
  await page.evaluate(() => (location.hash = '#/runs'));
  await page.waitForSelector('[data-testid="page"][data-page="runs"]');
  await page.evaluate(() => (location.hash = '#/analyze'));
  // the sets and settings of the form came back with the reload (IndexedDB): n 2, 30 resamples, seed 1
  assert.deepEqual(await Promise.all(['analyze-n', 'analyze-boot', 'analyze-perm', 'analyze-seed'].map((id) => page.getByTestId(id).inputValue())), ['2', '30', '30', '1']);
  await page.waitForFunction((id) => !!document.querySelector(`[data-testid="analyze-along-run"] option[value="${id}"]`), runId, { timeout: 20_000 });
  await page.getByTestId('analyze-along-run').selectOption(runId);
  const activeBefore = (await attr(page, 'analyze-adapter', 'data-active')) ?? '';
  assert.match((await page.getByTestId('analyze-along-start').textContent()) ?? '', /Analyse 3 points \(base, steps 1, 2\)/);
  await page.getByTestId('analyze-along-start').click();
  await page.waitForFunction(() => ['done', 'error', 'cancelled'].includes(document.querySelector('[data-testid="analyze-along"]')?.getAttribute('data-status') ?? ''), null, { timeout: 300_000, polling: 250 });
  if ((await attr(page, 'analyze-along', 'data-status')) !== 'done') assert.fail(`along the run: ${await page.getByTestId('analyze-along-error').textContent().catch(() => '?')}`);
  console.log(`# along the run (3 reports) at ${at()}`);
  assert.equal(await attr(page, 'analyze-trajectory', 'data-steps'), '0,1,2');
  assert.equal(await page.getByTestId('analyze-trajectory-answer').locator('tbody tr').count(), 3);
  assert.ok((await page.getByTestId('analyze-trajectory-causal').locator('li').count()) > 0, 'two LoRA steps at lr 1e-3 move some head');
  const traj = await download(page, 'analyze-trajectory-download');
  const t = trajectoryFromJson(traj.text);
  assert.deepEqual([traj.name, t.steps, t.adapters[0], t.model.name], ['trajectory.json', [0, 1, 2], null, 'lab-micro']);
  assert.match(t.adapters[2] ?? '', /checkpoint 2$/);
  assert.equal((await page.getByTestId('analyze-trajectory-causal').locator('li').first().textContent())?.trim(), t.top.causal[0].line);
  await page.waitForFunction((want) => document.querySelector('[data-testid="analyze-adapter"]')?.getAttribute('data-active') === want, activeBefore, { timeout: 60_000, polling: 250 });
  assert.match((await page.getByTestId('analyze-along-restored').textContent()) ?? '', /active again/);
  await page.getByTestId('analyze-along').screenshot({ path: SHOTS.along });

  console.log(`# screenshots: ${Object.values(SHOTS).join(' ')}`);
  assert.deepEqual([...watch.consoleErrors], [], 'no console errors');
  assert.deepEqual(watch.offHost, [], 'no request left 127.0.0.1');
  assert.deepEqual(watch.failedLoads, [], 'every local load succeeded');
  await context.close();
});
