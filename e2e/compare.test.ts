// Browser end-to-end for the Compare page: the built app, offline, with the micro test model
// (models/lab-micro, shipped in the build) loaded by ?model=. The page opens on #/compare, runs
// the default prompts (a Velmic puzzle, an arithmetic problem) through the model and draws a
// layer × head grid per side; the values drawn for a head equal the engine's hook_pattern for the
// same prompt (window.__labEngine.inspect, called here), the sink toggle renormalises the rows,
// a head opens large, the exports come out, and nothing errs or leaves 127.0.0.1. Then adapter
// on/off (a 1-step LoRA run made through window.__labEngine.train on the embedded arithmetic set,
// the request built by the store's own dataOf: base/adapter/difference panels = the engine's
// patterns with setAdapter(null) / ({runId}), the header's adapter restored) and token-by-token
// generation (3 greedy tokens; the stepped row of new token k = row P + k of inspect over prompt +
// new ids). Without WebGPU the page says what is missing.
//
//   node tools/run-node.mjs --test --test-reporter=spec e2e/compare.test.ts
//
// Screenshots for humans (printed, not asserted): <tmp>/lab-compare.png, <tmp>/lab-compare-768.png and
// <tmp>/lab-compare-adapter-gen.png (the adapter on/off and generation views).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { buildApp, isLocal, launchChromium, optionalCheckpointFile, startPreview, type AppServer, watchContext, watchPage } from './harness.ts';
import { BASE_CONFIG, PRESETS, dataOf } from '../src/app/trainSlice.ts';
import type { TrainRequest } from '../src/engine/api.ts';

const SHOTS = { wide: join(tmpdir(), 'lab-compare.png'), tablet: join(tmpdir(), 'lab-compare-768.png'), views: join(tmpdir(), 'lab-compare-adapter-gen.png') };

let build: ReturnType<typeof buildApp>;
let server: AppServer;
let origin = '';
let browser: Browser;

before(async () => {
  build = buildApp();
  server = await startPreview(build.distDir); // vite preview of the build, as `npm run preview`: lab-micro ships in it
  origin = server.url;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server.close();
  build?.cleanup();
});

type Drawn = (number | null)[][];

/** The numbers the small map of (side, layer, head) drew (its canvas' labValues). */
const drawn = (page: Page, side: string, layer: number, head: number): Promise<Drawn> =>
  page.locator(`[data-testid="compare-${side}"] canvas[data-layer="${layer}"][data-head="${head}"]`).evaluate((c) => (c as HTMLCanvasElement & { labValues: Drawn }).labValues);

const waitDone = (page: Page) =>
  page.waitForFunction(() => ['done', 'error'].includes(document.querySelector('[data-testid="compare-page"]')?.getAttribute('data-status') ?? ''), null, { timeout: 60_000 });

test('Compare: two grids of the engine’s exact attention, sink toggle, head detail, exports, offline', { timeout: 120_000 }, async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const watch = await watchContext(context, optionalCheckpointFile);
  const page = await context.newPage();
  watchPage(page, watch, optionalCheckpointFile);
  try {
    await page.goto(`${origin}/?model=./models/lab-micro/#/compare`, { waitUntil: 'load' });
    assert.equal(await page.getByTestId('page').getAttribute('data-page'), 'compare');
    await page.waitForSelector('[data-testid="header-model"][data-status="ready"]', { timeout: 60_000 });
    assert.equal(await page.getByTestId('header-model').getAttribute('data-name'), 'lab-micro');
    assert.equal((await page.getByTestId('header-adapter').textContent())?.trim(), 'base');
    assert.notEqual((await page.getByTestId('header-device').textContent())?.trim(), '…');

    // the page runs the default prompts by itself once the model is there
    await waitDone(page);
    if ((await page.getByTestId('compare-page').getAttribute('data-status')) !== 'done') assert.fail(`the comparison failed: ${await page.getByTestId('compare-error').textContent()}`);
    const L = 2, H = 2; // lab-micro: 2 layers × 2 heads
    for (const side of ['left', 'right']) {
      const grid = page.getByTestId(`compare-${side}`);
      assert.equal(await grid.getAttribute('data-status'), 'done');
      assert.equal(await grid.locator('canvas[data-testid="compare-map"]').count(), L * H, `${side}: one map per layer and head`);
    }
    assert.equal(await page.getByTestId('compare-provenance-left').getAttribute('data-kind'), 'embedded');
    assert.match(await page.getByTestId('compare-prompt-left').inputValue(), /^Question: Velmic is a constructed language[\s\S]*\nAnswer:$/);
    assert.match(await page.getByTestId('compare-prompt-right').inputValue(), /^Question: [\s\S]*\nAnswer:$/);

    // layer 0 head 1 on each side: what the page drew = the engine's hook_pattern for the same prompt
    for (const side of ['left', 'right'] as const) {
      const text = await page.getByTestId(`compare-prompt-${side}`).inputValue();
      assert.equal(await page.evaluate((s) => window.__labCompare!.prompts[s], side), text);
      const ref = await page.evaluate((t) => window.__labEngine!.inspect({ text: t, layers: [0] }).then((r) => r.layers[0].pattern[1]), text);
      const got = await drawn(page, side, 0, 1);
      assert.equal(got.length, ref.length, `${side}: T`);
      let worst = 0;
      for (let q = 0; q < ref.length; q++) {
        for (let k = 0; k < ref.length; k++) {
          if (k > q) assert.equal(got[q][k], null, `${side} [${q}][${k}] is masked`);
          else worst = Math.max(worst, Math.abs((got[q][k] as number) - ref[q][k]));
        }
      }
      assert.ok(worst <= 1e-6, `${side}: drawn vs engine, worst ${worst}`);
      // and the exposed result holds the same pattern
      const exposed = await page.evaluate((s) => window.__labCompare![s].layers[0].pattern[1], side);
      assert.deepEqual(exposed, ref);
    }

    // hide the sink: key 0 gone, each row q ≥ 1 renormalised over keys 1..q
    const raw = await page.evaluate(() => window.__labCompare!.left.layers[1].pattern[0]);
    await page.getByTestId('compare-sink').check();
    await page.waitForFunction(() => (document.querySelector('[data-testid="compare-left"] canvas[data-layer="1"][data-head="0"]') as HTMLCanvasElement & { labValues: Drawn }).labValues[1][0] === null);
    const sinkless = await drawn(page, 'left', 1, 0);
    let worstSum = 0, worstVal = 0;
    for (let q = 1; q < raw.length; q++) {
      assert.equal(sinkless[q][0], null);
      let sum = 0;
      for (let k = 1; k <= q; k++) {
        sum += sinkless[q][k] as number;
        worstVal = Math.max(worstVal, Math.abs((sinkless[q][k] as number) - raw[q][k] / (1 - raw[q][0])));
      }
      worstSum = Math.max(worstSum, Math.abs(sum - 1));
    }
    assert.ok(worstSum <= 1e-6, `rows sum to 1 without the sink (worst ${worstSum})`);
    assert.ok(worstVal <= 1e-5, `renormalised values (worst ${worstVal})`);
    assert.ok(sinkless[0].every((x) => x === null), 'row 0 sees only the sink: nothing left');

    // open layer 1 head 0 large: both sides, token labels, values on hover
    await page.locator('[data-testid="compare-left"] button[data-layer="1"][data-head="0"]').click();
    await page.waitForSelector('[data-testid="compare-detail"][data-layer="1"][data-head="0"]');
    const big = page.locator('[data-testid="compare-detail"] canvas[data-side="right"]');
    const box = (await big.boundingBox())!;
    await big.hover({ position: { x: box.width - 3, y: box.height - 3 } }); // last query, last key
    const readout = (await page.locator('[data-testid="compare-detail"] [data-testid="heatmap-readout"]').nth(1).textContent()) ?? '';
    assert.match(readout, /^query \d+ «.*» → key \d+ «.*»: 0\.\d{4}$/);

    // statistics: a layer × head map per side and the difference
    for (const part of ['left', 'right', 'diff']) assert.equal(await page.locator(`[data-testid="stat-entropy-${part}"] rect`).count(), L * H);

    // exports: JSON with the numbers and provenance; SVG and PNG figures
    const save = async (testid: string) => {
      const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testid).click()]);
      return readFileSync((await dl.path())!);
    };
    const json = JSON.parse((await save('compare-export-json')).toString('utf8'));
    assert.equal(json.model, 'lab-micro');
    assert.equal(json.adapter, 'base');
    assert.equal(json.sides.left.provenance.kind, 'embedded');
    assert.equal(json.sides.left.provenance.task, 'conlang');
    assert.equal(json.sides.right.provenance.task, 'arithmetic');
    assert.deepEqual(json.sides.left.layers[1].pattern[0], raw, 'the JSON holds the engine values, not the view');
    assert.equal(json.sides.left.token_ids.length, raw.length);
    const svg = (await save('compare-export-svg')).toString('utf8');
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.ok(svg.includes('lab-micro') && svg.includes('sink hidden'), 'the SVG names the model and the view');
    const png = await save('compare-export-png');
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG');

    // an edited prompt: provenance says so, and a run uses it
    await page.getByTestId('compare-sink').uncheck();
    await page.getByTestId('compare-prompt-right').fill('Question: Tom has 3 apples and buys 4 more. How many apples does Tom have?\nAnswer:');
    assert.equal(await page.getByTestId('compare-provenance-right').getAttribute('data-kind'), 'edited');
    await page.getByTestId('compare-run').click();
    await page.waitForFunction(() => window.__labCompare?.prompts.right.startsWith('Question: Tom'), null, { timeout: 60_000 });
    await waitDone(page);

    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: SHOTS.wide, fullPage: true });
    // a tablet: the page fits its width (nothing scrolls sideways), the two grids still side by side
    await page.setViewportSize({ width: 768, height: 1024 });
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth), 'no horizontal scrolling at 768 px');
    await page.screenshot({ path: SHOTS.tablet, fullPage: true });
    console.log(`# screenshots: ${SHOTS.wide} ${SHOTS.tablet}`);

    assert.deepEqual([...watch.consoleErrors], [], 'no console errors');
    assert.deepEqual(watch.offHost, [], 'no request left 127.0.0.1: offline');
    assert.deepEqual(watch.failedLoads, [], 'every local load succeeded');
  } finally {
    await context.close();
  }
});

/** The largest |a − b| over the drawn cells of two matrices (null must meet null). */
function worstOf(got: Drawn, ref: Drawn, what: string): number {
  assert.equal(got.length, ref.length, `${what}: T`);
  let worst = 0;
  for (let q = 0; q < ref.length; q++) {
    for (let k = 0; k < ref.length; k++) {
      if (ref[q][k] === null) assert.equal(got[q][k], null, `${what} [${q}][${k}]`);
      else worst = Math.max(worst, Math.abs((got[q][k] as number) - (ref[q][k] as number)));
    }
  }
  return worst;
}

test('Compare: adapter on/off equals the engine with and without the adapter; token-by-token generation rows', { timeout: 150_000 }, async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const watch = await watchContext(context, optionalCheckpointFile);
  const page = await context.newPage();
  watchPage(page, watch, optionalCheckpointFile);
  try {
    await page.goto(`${origin}/?model=./models/lab-micro/#/compare`, { waitUntil: 'load' });
    await page.waitForSelector('[data-testid="header-model"][data-status="ready"]', { timeout: 60_000 });
    await waitDone(page);
    assert.equal(await page.getByTestId('compare-adapter-run').isDisabled(), true, 'no finished LoRA run yet: nothing to compare');

    // an adapter, cheaply: 1 LoRA step (the quick preset) on 4 embedded arithmetic rows, through the
    // engine the page uses; the rows and the governance decision come from the store's dataOf
    const data = dataOf({ kind: 'embedded', task: 'arithmetic', n: 4, seed: 0 });
    assert.equal(data.decision.allowed, true, 'the embedded set is allowed for training');
    const quick = PRESETS.find((p) => p.id === 'quick')!.patch;
    const runId = 'run-e2e-compare';
    const req: TrainRequest = { runId, name: 'e2e-compare', config: { ...BASE_CONFIG, ...quick, steps: 1, checkpointEvery: 0 }, data: { name: data.name, text: data.text, governance: data.decision } };
    const trained = await page.evaluate((r) => window.__labEngine!.train(r).then((x) => x.steps), req);
    assert.equal(trained, 1);

    // pick it (the list is read again), choose layer 1 head 1, compare base vs adapter
    await page.getByTestId('compare-adapter-refresh').click();
    await page.waitForFunction((id) => !!document.querySelector(`[data-testid="compare-adapter-pick"] option[value="${id}"]`), runId, { timeout: 20_000 });
    await page.getByTestId('compare-adapter-pick').selectOption(runId);
    await page.locator('[data-testid="compare-left"] button[data-layer="1"][data-head="1"]').click();
    await page.getByTestId('compare-adapter-run').click();
    await page.waitForFunction(() => ['done', 'error'].includes(document.querySelector('[data-testid="compare-adapter"]')?.getAttribute('data-status') ?? ''), null, { timeout: 60_000 });
    if ((await page.getByTestId('compare-adapter').getAttribute('data-status')) !== 'done') assert.fail(`adapter comparison failed: ${await page.getByTestId('compare-adapter-error').textContent()}`);
    assert.equal((await page.getByTestId('header-adapter').textContent())?.trim(), 'base', 'the base model is active again');
    assert.match((await page.getByTestId('compare-adapter-name').textContent()) ?? '', new RegExp(`run ${runId}`));
    assert.equal(await page.getByTestId('compare-page').getAttribute('data-status'), 'done', 'the comparison above is kept (same weights again), not rerun');

    // what the panels drew = the engine's hook_pattern with setAdapter(null) and with setAdapter({runId})
    const panel = (side: string, kind: string) =>
      page.locator(`[data-testid="compare-adapter-map"][data-side="${side}"][data-kind="${kind}"][data-layer="1"][data-head="1"]`).evaluate((d) => (d as HTMLDivElement & { labValues: Drawn }).labValues);
    const texts = { left: await page.getByTestId('compare-prompt-left').inputValue(), right: await page.getByTestId('compare-prompt-right').inputValue() };
    const ref = await page.evaluate(
      // (no named functions in here: the test's TS transform would wrap them in a helper the page lacks)
      async ({ t, id }) => {
        const e = window.__labEngine!;
        const out = { base: { left: [] as number[][], right: [] as number[][] }, adapter: { left: [] as number[][], right: [] as number[][] } };
        for (const which of ['base', 'adapter'] as const) {
          await e.setAdapter(which === 'base' ? null : { runId: id });
          for (const side of ['left', 'right'] as const) out[which][side] = (await e.inspect({ text: t[side], layers: [1] })).layers[0].pattern[1];
        }
        await e.setAdapter(null); // as the page left it
        return out;
      },
      { t: texts, id: runId },
    );
    let changed = 0;
    for (const side of ['left', 'right'] as const) {
      const causal = (m: number[][]): Drawn => m.map((r, q) => r.map((x, k) => (k > q ? null : x)));
      const base = await panel(side, 'base'), adapter = await panel(side, 'adapter'), diff = await panel(side, 'diff');
      const wb = worstOf(base, causal(ref.base[side]), `${side} base`);
      const wa = worstOf(adapter, causal(ref.adapter[side]), `${side} adapter`);
      const wantDiff = causal(ref.adapter[side].map((r, q) => r.map((x, k) => x - ref.base[side][q][k])));
      const wd = worstOf(diff, wantDiff, `${side} adapter − base`);
      assert.ok(wb <= 1e-6 && wa <= 1e-6 && wd <= 1e-6, `${side}: base ${wb}, adapter ${wa}, difference ${wd}`);
      changed = Math.max(changed, ...wantDiff.flat().map((x) => Math.abs(x ?? 0)));
    }
    assert.ok(changed > 0, 'one LoRA step changed the attention somewhere');
    for (const side of ['left', 'right']) assert.equal(await page.locator(`[data-testid="adapter-stat-entropy-${side}"] rect`).count(), 4, `${side}: Δ entropy per head`);
    assert.ok((await page.getByTestId('compare-adapter-diff-legend').textContent())?.includes('0'), 'the diverging legend has ticks');

    // generation: 3 greedy tokens after the math prompt, stepped; row of new token k = row P + k
    await page.getByTestId('compare-gen-n').fill('3');
    await page.getByTestId('compare-gen-run-right').click();
    await page.waitForFunction(() => ['done', 'error'].includes(document.querySelector('[data-testid="compare-gen-right"]')?.getAttribute('data-status') ?? ''), null, { timeout: 60_000 });
    if ((await page.getByTestId('compare-gen-right').getAttribute('data-status')) !== 'done') assert.fail(`generation failed: ${await page.getByTestId('compare-gen-error-right').textContent()}`);
    const gref = await page.evaluate(async (t) => {
      const e = window.__labEngine!;
      const prompt = (await e.inspect({ text: t, layers: [0] })).tokens.map((x) => x.id);
      const g = await e.generate({ prompt: t, maxNewTokens: 3, sampling: { kind: 'greedy' } });
      const r = await e.inspect({ text: t, ids: [...prompt, ...g.tokens], layers: [1] });
      return { P: prompt.length, promptTokens: g.promptTokens, ids: r.tokens.map((x) => x.id), pattern: r.layers[0].pattern[1] };
    }, texts.right);
    assert.equal(gref.promptTokens, gref.P, 'generate and inspect tokenize the prompt alike');
    const N = gref.ids.length - gref.P;
    assert.ok(N >= 1 && N <= 3);
    const row = page.getByTestId('gen-row-right');
    assert.deepEqual(await row.locator('li').evaluateAll((ls) => ls.map((l) => Number(l.getAttribute('data-id')))), gref.ids, 'prompt + generated ids');
    assert.equal(await row.locator('li.gen-new').count(), N, 'the new tokens are marked');
    const slider = page.getByTestId('compare-gen-step-right');
    for (let k = 0; k < N; k++) {
      if (k === 1) await slider.press('ArrowRight'); // the keyboard steps too
      else if (k > 1) await page.getByTestId('compare-gen-next-right').click();
      await page.waitForFunction((q) => document.querySelector('[data-testid="gen-row-right"]')?.getAttribute('data-query') === String(q), gref.P + k);
      const got = await row.evaluate((el) => (el as HTMLOListElement & { labValues: (number | null)[] }).labValues);
      const want = gref.pattern[gref.P + k].slice(0, gref.P + k + 1);
      assert.equal(got.length, want.length, `new token ${k}: keys 0…P+k`);
      const worst = Math.max(...want.map((x, i) => Math.abs((got[i] as number) - x)));
      assert.ok(worst <= 1e-6, `new token ${k}: stepped row vs inspect row P + k, worst ${worst}`);
      assert.equal(await row.locator('li[data-value]').count(), gref.P + k + 1, 'later tokens carry no value');
    }
    assert.equal(await page.locator('[data-testid="compare-gen-strips-right"] button.strip').count(), 2, 'a strip per head of the layer');

    // the JSON export holds both, with the adapter's name
    const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId('compare-export-json').click()]);
    const json = JSON.parse(readFileSync((await dl.path())!).toString('utf8'));
    assert.match(json.adapterCompare.adapter, new RegExp(`run ${runId}`));
    assert.equal(json.adapterCompare.activeBeforeAndAfter, 'base');
    assert.deepEqual(json.adapterCompare.sides.left.base[1].pattern[1], ref.base.left);
    assert.deepEqual(json.adapterCompare.sides.left.adapter[1].pattern[1], ref.adapter.left);
    assert.deepEqual([...json.generation.right.prompt_ids, ...json.generation.right.new_ids], gref.ids);

    if (N > 1) await page.getByTestId('compare-gen-prev-right').click(); // a token not generated yet shows greyed
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: SHOTS.views, fullPage: true });
    console.log(`# screenshot: ${SHOTS.views}`);

    // with the run's adapter active (set on the Runs page): the comparison inspects it first, then
    // the base model, then sets the adapter again — the header still names it afterwards
    await page.goto(`${origin}/?model=./models/lab-micro/#/runs`); // same document: only the hash changes
    await page.locator(`[data-testid="run-item"][data-run-id="${runId}"] [data-testid="run-use-adapter"]`).click();
    await page.waitForFunction((id) => (document.querySelector('[data-testid="header-adapter"]')?.textContent ?? '').includes(id), runId, { timeout: 30_000 });
    const active = (await page.getByTestId('header-adapter').textContent())?.trim();
    await page.goto(`${origin}/?model=./models/lab-micro/#/compare`);
    await page.waitForFunction((id) => !!document.querySelector(`[data-testid="compare-adapter-pick"] option[value="${id}"]`), runId, { timeout: 20_000 });
    assert.match(await page.getByTestId('compare-adapter-pick').locator('option:checked').textContent() ?? '', /\(active\)$/);
    await waitDone(page); // the page compared the prompts again for the new load (the adapter's)
    await page.locator('[data-testid="compare-left"] button[data-layer="1"][data-head="1"]').click();
    await page.getByTestId('compare-adapter-run').click();
    await page.waitForSelector('[data-testid="compare-adapter"][data-status="running"]', { timeout: 10_000 });
    await page.waitForFunction(() => ['done', 'error'].includes(document.querySelector('[data-testid="compare-adapter"]')?.getAttribute('data-status') ?? ''), null, { timeout: 60_000 });
    assert.equal(await page.getByTestId('compare-adapter').getAttribute('data-status'), 'done');
    assert.equal((await page.getByTestId('header-adapter').textContent())?.trim(), active, 'the active adapter is set again');
    assert.match((await page.getByTestId('compare-adapter-status').textContent()) ?? '', /^2 reloads.*active again: /);
    const again = await panel('right', 'adapter');
    assert.ok(worstOf(again, ref.adapter.right.map((r, q) => r.map((x, k) => (k > q ? null : x))), 'adapter, from the active one') <= 1e-6);
    assert.deepEqual([...watch.consoleErrors], [], 'no console errors');
    assert.deepEqual(watch.offHost, [], 'no request left 127.0.0.1: offline');
    assert.deepEqual(watch.failedLoads, [], 'every local load succeeded');
  } finally {
    await context.close();
  }
});

test('without WebGPU the page says what is missing and what to do', { timeout: 60_000 }, async (t) => {
  const plain = await launchChromium(false); // no --enable-unsafe-webgpu: on Linux, no adapter
  try {
    const p = await plain.newPage();
    await p.route('**/*', (route) => (isLocal(route.request().url()) ? route.continue() : route.abort('blockedbyclient')));
    await p.goto(`${origin}/#/compare`, { waitUntil: 'load' });
    await p.waitForFunction(() => window.__labAdapter !== undefined, null, { timeout: 30_000 });
    if ((await p.evaluate(() => window.__labAdapter!.status)) === 'ready') return void t.skip('this Chromium has WebGPU without the flag');
    const banner = p.getByTestId('gpu-banner');
    assert.equal(await banner.getAttribute('data-kind'), 'unavailable');
    const text = (await banner.textContent()) ?? '';
    assert.match(text, /WebGPU is not available/);
    assert.match(text, /Chrome or Edge/);
    assert.match(text, /chrome:\/\/flags\/#enable-unsafe-webgpu/);
    assert.equal((await p.getByTestId('header-device').textContent())?.trim(), 'no WebGPU');
  } finally {
    await plain.close();
  }
});
