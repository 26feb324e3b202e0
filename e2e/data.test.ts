// Browser end-to-end for the dataset loaders (issue 13, item 1): the built app under `vite preview`.
// The Data page reads a Parquet file that mixes record formats (pyarrow-written, models/fixtures/data),
// shows rows per format, saves only the ticked format's rows as JSONL (each row at its own line) with a
// provenance record; it loads a Hub dataset split from the local Hub stand-in through the parquet listing
// (GSM8K-Platinum rows, the removed question dropped with its reason), and again with the stand-in gone,
// from IndexedDB. The Train page's picker takes the same Parquet file and trains only the ticked rows;
// without a manifest it is refused until the user declares its terms (a public-set template, confirmed).
// Nothing errs or leaves 127.0.0.1.
//
//   node tools/run-node.mjs --test --test-reporter=spec e2e/data.test.ts
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { buildApp, launchChromium, startPreview, type AppServer, watchContext, watchPage } from './harness.ts';
import { startHubServer, type HubServer } from '../src/engine/hub/testing.ts';

const FIX = new URL('../models/fixtures/data/', import.meta.url).pathname;
const SHOT = join(tmpdir(), 'lab-data-page.png');
let build: ReturnType<typeof buildApp>;
let server: AppServer;
let hub: HubServer;
let browser: Browser;
const hubRoot = mkdtempSync(join(tmpdir(), 'lab-data-hub-'));

before(async () => {
  const split = join(hubRoot, 'datasets', 'test-org', 'synthetic', 'refs', 'convert', 'parquet', 'default', 'train');
  mkdirSync(split, { recursive: true });
  copyFileSync(join(FIX, 'gsm8k-platinum.parquet'), join(split, '0000.parquet'));
  build = buildApp();
  server = await startPreview(build.distDir);
  hub = await startHubServer({ root: hubRoot });
  browser = await launchChromium(false);
});

after(async () => {
  await browser?.close();
  await hub?.close().catch(() => {});
  await server?.close();
  build?.cleanup();
  rmSync(hubRoot, { recursive: true, force: true });
});

async function downloads(page: Page, testid: string, n: number): Promise<Map<string, string>> {
  const got: Promise<Map<string, string>> = new Promise((done) => {
    const out = new Map<string, string>();
    page.on('download', async (d) => {
      out.set(d.suggestedFilename(), readFileSync((await d.path())!, 'utf8'));
      if (out.size === n) done(out);
    });
  });
  await page.getByTestId(testid).click();
  return got;
}

test('Data page: a mixed Parquet file per format, the ticked rows saved with provenance; a Hub split, then offline; the Train picker takes Parquet', { timeout: 240_000 }, async () => {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const watch = await watchContext(context);
  const page = await context.newPage();
  watchPage(page, watch);
  await page.goto(`${server.url}/?hubEndpoint=${encodeURIComponent(hub.url)}#/data`, { waitUntil: 'load' });

  // ---- a local Parquet file that mixes formats ----
  await page.getByTestId('dataset-file').setInputFiles({ name: 'mixed.parquet', mimeType: 'application/octet-stream', buffer: readFileSync(join(FIX, 'mixed.parquet')) });
  const report = page.getByTestId('dataset-panel').getByTestId('data-report');
  await report.waitFor();
  assert.equal(await report.getAttribute('data-mixed'), 'true');
  assert.match((await page.getByTestId('data-format-chat').textContent()) ?? '', /^\s*2 chat turns/);
  assert.match((await page.getByTestId('data-format-qa').textContent()) ?? '', /^\s*1 Q&A/);
  assert.equal(await page.getByTestId('dataset-save').isDisabled(), true, 'a mixed file: nothing is chosen until the user ticks');
  await page.getByTestId('data-use-chat').check();
  await page.screenshot({ path: SHOT, fullPage: true });
  const files = await downloads(page, 'dataset-save', 2);
  const rows = files.get('mixed.chat.jsonl')!.split('\n');
  assert.equal(rows[1], '', 'the Q&A row (row 2) is left out, its line kept blank');
  assert.equal(JSON.parse(rows[0]).messages[1].content, "Say 'îzâ ṯẖe' in English.");
  assert.match(JSON.parse(rows[2]).messages[0].content, /ẖûmâ/);
  const prov = JSON.parse(files.get('mixed.chat.jsonl.provenance.json')!);
  assert.deepEqual([prov.source, prov.rows, prov.use], ['mixed.parquet', 2, ['chat']]);

  // ---- a Hub split through the parquet listing; then with the Hub gone, from IndexedDB ----
  for (const phase of ['online', 'offline']) {
    if (phase === 'offline') {
      await hub.close();
      await page.reload({ waitUntil: 'load' });
    }
    await page.getByTestId('dataset-hub-ref').fill('hf://datasets/test-org/synthetic');
    await page.getByTestId('dataset-hub-load').click();
    await page.waitForSelector('[data-testid="data-format-gsm8k-platinum"], [data-testid="dataset-error"]', { timeout: 30_000 });
    if (await page.getByTestId('dataset-error').count()) assert.fail(`${phase}: ${await page.getByTestId('dataset-error').textContent()}`);
    assert.match((await page.getByTestId('data-format-gsm8k-platinum').textContent()) ?? '', /^\s*3 GSM8K-Platinum/, phase);
    assert.match((await page.getByTestId('dataset-panel').textContent()) ?? '', /dropped 1: cleaning_status is ambiguous/, phase);
  }

  // ---- the Train page's picker: the same Parquet file, only the ticked rows train ----
  await page.goto(`${server.url}/#/train`, { waitUntil: 'load' });
  await page.getByTestId('data-file').check();
  await page.getByTestId('data-file-input').setInputFiles({ name: 'mixed.parquet', mimeType: 'application/octet-stream', buffer: readFileSync(join(FIX, 'mixed.parquet')) });
  await page.getByTestId('train-data').getByTestId('data-report').waitFor();
  assert.match((await page.getByTestId('data-dropzone').textContent()) ?? '', /mixed\.parquet: 3 non-empty lines/);
  await page.getByTestId('data-use-qa').uncheck();
  assert.match((await page.getByTestId('data-dropzone').textContent()) ?? '', /mixed\.parquet: 2 non-empty lines/);
  assert.equal(await page.getByTestId('train-governance').getAttribute('data-allowed'), 'false', 'no manifest: refused (default-deny)');
  // declaring terms in the page: a public-set template only once the user confirms it
  await page.getByTestId('declare-terms').locator('summary').click();
  await page.getByTestId('declare-template').selectOption('gsm8k');
  assert.equal(await page.getByTestId('declare-use-template').isDisabled(), true, 'not without the confirmation');
  await page.getByTestId('declare-confirm').check();
  await page.getByTestId('declare-use-template').click();
  await page.waitForSelector('[data-testid="train-governance"][data-allowed="true"]');
  assert.match((await page.getByTestId('train-governance-reason').textContent()) ?? '', /gsm8k_public approve training for mixed\.parquet/);

  // an updated manifest goes to the engine (worker), which decides the stored runs again (none here)
  await page.goto(`${server.url}/#/data`, { waitUntil: 'load' });
  const updated = 'schema_version: "1.0"\nrecords:\n  - {source_id: community_rows, path_glob: "rows.jsonl", data_type: t, origin: o, rights_holder: r, permission_status: removed_pending_review, license: l, allowed_uses: [], prohibited_uses: [training], contains_sensitive_content: true, review_contact: c, notes: ""}\n';
  await page.getByTestId('manifest-update-file').setInputFiles({ name: 'SOURCE_MANIFEST.yml', mimeType: 'text/yaml', buffer: Buffer.from(updated) });
  await page.getByTestId('manifest-update-result').waitFor();
  assert.match((await page.getByTestId('manifest-update-result').textContent()) ?? '', /SOURCE_MANIFEST\.yml: 0 stored runs use its sources; all are still allowed/);
  await page.getByTestId('manifest-update-file').setInputFiles({ name: 'SOURCE_MANIFEST.yml', mimeType: 'text/yaml', buffer: Buffer.from('records: []\n') });
  await page.getByTestId('manifest-update-error').waitFor();
  assert.match((await page.getByTestId('manifest-update-error').textContent()) ?? '', /SOURCE_MANIFEST\.yml: a source manifest needs a non-empty "records" list/);

  assert.deepEqual([...watch.consoleErrors], []);
  assert.deepEqual(watch.offHost, []);
  console.log(`screenshot: ${SHOT}`);
  await context.close();
});
