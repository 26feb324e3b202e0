// Browser end-to-end for the community validation page (#/validate, issue 13 item 3): the built app under
// `vite preview`, offline, with the micro model (models/lab-micro, loaded with ?model=):
//   1. the notices (saved on this device only, nothing sent; the cultural context); a synthetic items file
//      picked with a SOURCE_MANIFEST.yml (a bad line reported and skipped), and two prompts answered by the
//      loaded model (two sampled outputs each)
//   2. a speaker's session by mouse and keyboard: Wrong + a correction; a rating refused until an A/B choice
//      is made, then B + Correct + a comment; A + Partly; a generated item chosen and rated; the keys do
//      nothing while typing in a text box
//   3. reload → every item and judgement is back, on the item last shown
//   4. Export → the downloads (sft, dpo, ratings, judgements, provenance) load with the lab's parsers
//      (parseSftJsonl with lab-micro's tokenizer, loadDpoData, loadRewardData), and the provenance names
//      each file's sha256, the sources, the manifest's terms and the model
// No console errors, no request off 127.0.0.1, no request but GET and HEAD (nothing is sent). Screenshot:
// .tmp/validate.png. Synthetic strings with Stoney characters only: no Stoney data.
//
//   node tools/run-node.mjs --test --test-concurrency=1 e2e/validate.test.ts
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Download, Page } from 'playwright-core';
import { ROOT, buildApp, launchChromium, optionalCheckpointFile, startPreview, type AppServer, watchContext, watchPage } from './harness.ts';
import { attr, modelReady, text } from './train-page.ts';
import { dirSource } from '../src/engine/model/checkpoint.ts';
import { loadTokenizer } from '../src/engine/model/tokenizer.ts';
import { parseSftJsonl } from '../src/engine/train/data.ts';
import { loadDpoData } from '../src/engine/rl/dpo.ts';
import { loadRewardData } from '../src/engine/rl/reward-model-run.ts';
import { sha256Hex } from '../src/engine/util/sha256.ts';

const SHOT = join(ROOT, '.tmp', 'validate.png');

let build: ReturnType<typeof buildApp>;
let server: AppServer;
let browser: Browser;

before(async () => {
  build = buildApp();
  server = await startPreview(build.distDir);
  browser = await launchChromium();
  mkdirSync(join(ROOT, '.tmp'), { recursive: true });
});

after(async () => {
  await browser?.close();
  await server?.close();
  build?.cleanup();
});

const ITEMS = [
  { prompt: 'Translate: test phrase one', output: 'qâx îzâ' },
  { prompt: 'Translate: test word two', outputs: ['zînîx', 'znîx'] },
  { prompt: 'Translate: test word three', outputs: ['îsqoxes', 'îsqîxes'] },
  'not json',
  { prompt: 'Say ṯẖ', output: 'ṯẖâ' },
].map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n');
const MANIFEST = `schema_version: "1.0"\nrecords:\n  - {source_id: e2e_validation_items, path_glob: "review/*.jsonl", data_type: text, origin: test, rights_holder: project, permission_status: internal_only, license: none, allowed_uses: [evaluation], prohibited_uses: [redistribution], contains_sensitive_content: true, review_contact: none, notes: "synthetic items"}\n`;

const itemId = (page: Page) => attr(page, 'validate-item', 'data-item-id');
const pressed = (page: Page, testid: string) => attr(page, testid, 'aria-pressed');
const position = async (page: Page) => (await text(page, 'validate-position')).trim();

test('Validate: load items (file + manifest, the loaded model), judge by tap and key, reload, export → SFT / DPO / ratings the lab loads', { timeout: 300_000 }, async () => {
  const context = await browser.newContext({ viewport: { width: 1024, height: 1300 }, acceptDownloads: true });
  const watch = await watchContext(context, optionalCheckpointFile);
  const sent: string[] = [];
  context.on('request', (r) => void (['GET', 'HEAD'].includes(r.method()) || sent.push(`${r.method()} ${r.url()}`)));
  const page = await context.newPage();
  watchPage(page, watch, optionalCheckpointFile);
  try {
    await page.goto(`${server.url}/?model=./models/lab-micro/#/validate`, { waitUntil: 'load' });
    await page.waitForSelector('[data-testid="validate-page"][data-status="ready"]');
    assert.equal(await page.title(), 'Community validation · Stoney-RL Lab');
    assert.match(await text(page, 'validate-privacy'), /Saved on this device only — nothing is sent/);
    assert.equal(await attr(page, 'validate-privacy', 'data-kept'), 'true');
    assert.match(await text(page, 'validate-culture'), /belongs to the Stoney Nakoda people/);
    assert.equal(await page.getByTestId('validate-item').count(), 0);
    assert.equal(await page.getByTestId('validate-export').count(), 0, 'nothing to export before there are items');

    // ---- 1. items: a file with its manifest, then two prompts through the loaded model ----
    await page.getByTestId('validate-file-input').setInputFiles({ name: 'items.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from(ITEMS + '\n') });
    await page.getByTestId('validate-manifest-input').setInputFiles({ name: 'SOURCE_MANIFEST.yml', mimeType: 'text/yaml', buffer: Buffer.from(MANIFEST) });
    await page.getByTestId('validate-manifest-path').fill('review/items.jsonl');
    await page.getByTestId('validate-add-file').click();
    await page.waitForSelector('[data-testid="validate-page"][data-items="4"]');
    assert.match(await text(page, 'validate-file-note'), /items\.jsonl: 4 items added\. 1 line skipped: items\.jsonl:4: not valid JSON/);
    assert.equal(await position(page), 'Item 1 of 4');
    assert.equal((await text(page, 'validate-prompt')).trim(), 'Translate: test phrase one');

    await modelReady(page);
    await page.getByTestId('validate-load').locator('summary').click(); // the panel folds once there are items
    await page.getByTestId('validate-prompts').fill('Say qâx\nSay ûŋ');
    await page.locator('input[type=number]').first().fill('6');
    await page.getByTestId('validate-generate').click();
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="validate-page"]')?.getAttribute('data-items')) === 6, null, { timeout: 60_000 });
    assert.equal(await position(page), 'Item 5 of 6', 'the new items come on screen');

    // ---- 2. judging: a generated item by key (two sampled outputs, unless both samples were the same text) ----
    const genTwo = (await page.getByTestId('validate-choose-A').count()) === 1;
    console.log(`# the generated item has ${genTwo ? 'two outputs' : 'one output (both samples were the same text)'}`);
    if (genTwo) await page.keyboard.press('a');
    await page.keyboard.press('3');
    assert.equal(await pressed(page, 'validate-rate-wrong'), 'true');

    await page.getByTestId('validate-prev').click(); // item 4: left unjudged
    for (let i = 0; i < 3; i++) await page.keyboard.press('k');
    assert.equal(await position(page), 'Item 1 of 6');
    await page.getByTestId('validate-rate-wrong').click();
    await page.getByTestId('validate-correction').fill('qâx, îzâ ṯẖeq');
    await page.keyboard.press('j'); // typing: a letter for the text box, not the page
    assert.equal(await page.getByTestId('validate-correction').inputValue(), 'qâx, îzâ ṯẖeqj');
    await page.keyboard.press('Backspace');
    await page.keyboard.press('Escape'); // leaves the text box: keys are the page's again
    await page.keyboard.press('j');
    assert.equal(await position(page), 'Item 2 of 6');
    assert.equal(await page.getByTestId('validate-rate-correct').isDisabled(), true, 'two outputs: no rating before a choice');
    await page.keyboard.press('1');
    assert.equal(await pressed(page, 'validate-rate-correct'), 'false');
    await page.keyboard.press('b');
    await page.keyboard.press('1');
    assert.deepEqual([await pressed(page, 'validate-choose-B'), await pressed(page, 'validate-rate-correct')], ['true', 'true']);
    await page.getByTestId('validate-comment').fill('znîx: the short form, synthetic');
    await page.keyboard.press('Escape');
    await page.keyboard.press('ArrowRight');
    await page.getByTestId('validate-choose-A').click();
    await page.getByTestId('validate-rate-partly').click();
    assert.match(await text(page, 'validate-progress'), /^4 judged · 2 to go/);
    const shownBefore = await itemId(page);
    await page.screenshot({ path: SHOT, fullPage: true });

    // ---- 3. reload: everything is back, on the same item ----
    await page.reload({ waitUntil: 'load' });
    await page.waitForSelector('[data-testid="validate-page"][data-status="ready"][data-items="6"]');
    assert.equal(await itemId(page), shownBefore);
    assert.equal(await position(page), 'Item 3 of 6');
    assert.deepEqual([await pressed(page, 'validate-choose-A'), await pressed(page, 'validate-rate-partly')], ['true', 'true']);
    await page.getByTestId('validate-prev').click();
    assert.deepEqual([await pressed(page, 'validate-choose-B'), await pressed(page, 'validate-rate-correct')], ['true', 'true']);
    assert.equal(await page.getByTestId('validate-comment').inputValue(), 'znîx: the short form, synthetic');
    await page.getByTestId('validate-prev').click();
    assert.equal(await pressed(page, 'validate-rate-wrong'), 'true');
    assert.equal(await page.getByTestId('validate-correction').inputValue(), 'qâx, îzâ ṯẖeq');
    assert.match(await text(page, 'validate-progress'), /^4 judged/);

    // ---- 4. export: the downloads, loaded with the lab's own parsers ----
    await modelReady(page);
    assert.equal(await page.getByTestId('validate-sft-form').inputValue(), 'question-answer', 'lab-micro has no chat template');
    assert.deepEqual([await attr(page, 'validate-count-sft', 'data-n'), await attr(page, 'validate-count-dpo', 'data-n'), await attr(page, 'validate-count-ratings', 'data-n')], ['1', genTwo ? '3' : '2', '4']);
    const downloads: Download[] = [];
    page.on('download', (d) => void downloads.push(d));
    await page.getByTestId('validate-export-button').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="validate-exported"]') !== null);
    for (let t = 0; downloads.length < 5 && t < 100; t++) await page.waitForTimeout(100);
    const files = Object.fromEntries(await Promise.all(downloads.map(async (d) => [d.suggestedFilename().replace(/^validations-[\d-]+\./, ''), readFileSync((await d.path())!, 'utf8')] as const)));
    assert.deepEqual(Object.keys(files).sort(), ['dpo.jsonl', 'judgements.jsonl', 'provenance.json', 'ratings.jsonl', 'sft.jsonl']);

    const tok = await loadTokenizer(dirSource(join(ROOT, 'models/lab-micro')));
    const sft = parseSftJsonl(files['sft.jsonl'], tok, { file: 'sft.jsonl', maxLength: 512 });
    assert.deepEqual([sft.examples.length, sft.problems], [1, []]);
    assert.deepEqual(JSON.parse(files['sft.jsonl']), { question: 'Translate: test phrase one', answer: 'qâx, îzâ ṯẖeq' });
    const dpo = loadDpoData(files['dpo.jsonl'], tok, { file: 'dpo.jsonl', nCtx: 512, eosId: tok.eosTokenId });
    assert.deepEqual([dpo.pairs.length, dpo.problems], [genTwo ? 3 : 2, []]);
    assert.deepEqual(JSON.parse(files['dpo.jsonl'].split('\n')[0]), { prompt: 'Translate: test word two', chosen: 'znîx', rejected: 'zînîx' });
    const rm = loadRewardData(files['ratings.jsonl'], tok, { file: 'ratings.jsonl', nCtx: 512, objective: 'regression', eos: tok.eosTokenId });
    assert.deepEqual(rm.problems, []);
    assert.deepEqual(rm.items.map((i) => i.rating), [0, 1, 0.5, 0]);
    const record = files['judgements.jsonl'].trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(record[1].comment, 'znîx: the short form, synthetic');

    const prov = JSON.parse(files['provenance.json']);
    assert.match(prov.statement, /^Validated on this device by a community speaker/);
    for (const f of prov.files) assert.equal(f.sha256, await sha256Hex(files[f.name.replace(/^validations-[\d-]+\./, '')]), f.name);
    assert.deepEqual(prov.sources.map((s: { kind: string }) => s.kind), ['file', 'generated']);
    assert.equal(prov.sources[0].sha256, await sha256Hex(ITEMS + '\n'));
    assert.equal(prov.sources[0].terms.path, 'review/items.jsonl');
    assert.equal(prov.sources[1].model.name, 'lab-micro');
    assert.deepEqual(prov.inherited, { prohibited_uses: ['redistribution'], contains_sensitive_content: true, sources: ['e2e_validation_items'], release_approved: false, undeclared: ['lab-micro'] });

    assert.deepEqual(sent, [], 'the page sent nothing');
    assert.deepEqual(watch.offHost, []);
    assert.deepEqual([...watch.consoleErrors], []);
    assert.deepEqual(watch.failedLoads, []);
  } finally {
    await context.close();
  }
});
