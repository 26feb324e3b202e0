// Model requests of the Engine (loadModel, generate, inspect, unloadModel, cacheUsage/clearCache),
// for LocalEngine and for WorkerEngine over a MessageChannel; registered by engine.test.ts so both
// share one device. The model is models/fixtures/llama-gqa (random weights made with transformers:
// gibberish text, but real numbers with transformers' own attention patterns in reference.json).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine, LoadProgress, GenerateProgress } from './engine.ts';
import { LocalEngine } from './engine.ts';
import { CancelledError } from './selfcheck.ts';
import { HubError, MemoryBlobStore } from './hub/index.ts';
import { requestsFor, startHubServer, tempRoot, type HubServer } from './hub/testing.ts';
import { dirSource } from './model/checkpoint.ts';
import { loadModel } from './model/load.ts';
import { generate } from './model/generate.ts';
import { assertAllClose } from './testing/allclose.ts';

const FIXTURE = new URL('../../models/fixtures/llama-gqa/', import.meta.url).pathname;
const FILES = readdirSync(FIXTURE).filter((f) => f !== 'reference.json' && f !== 'tokenizer_fixture.json').sort();
const REF = JSON.parse(readFileSync(join(FIXTURE, 'reference.json'), 'utf8')) as {
  cases: { name: string; texts: string[]; input_ids: number[][]; attn_pattern: number[][][][][] /* [L][B][H][T][T] */ }[];
  checks: Record<string, { attn_max_prob_mean: number[] /* [L] */ }>;
};
const english = REF.cases.find((c) => c.name === 'english')!;

/** The fixture as picked files: Blobs (Node clones File as Blob) with paths under the picked folder. */
function pickedFolder(): { files: Blob[]; paths: string[] } {
  return { files: FILES.map((f) => new Blob([readFileSync(join(FIXTURE, f))])), paths: FILES.map((f) => `llama-gqa/${f}`) };
}

/** Sum of a row of numbers in float64. */
const sum = (r: number[]) => r.reduce((a, b) => a + b, 0);

export function defineModelTests({ gpu, local, proxy }: { gpu: GPU; local: LocalEngine; proxy: Engine }): void {
  let hub: HubServer;
  let root: { root: string; remove: () => Promise<void> };
  const REPO = 'test-org/llama-gqa';
  const hubReady = (async () => {
    root = await tempRoot();
    const dir = join(root.root, REPO, 'main');
    mkdirSync(dir, { recursive: true });
    for (const f of FILES) copyFileSync(join(FIXTURE, f), join(dir, f));
    hub = await startHubServer({ root: root.root });
  })();
  after(async () => {
    await hub?.close();
    await root?.remove();
  });

  for (const [label, engine] of [['LocalEngine', local], ['WorkerEngine over MessageChannel', proxy]] as [string, Engine][]) {
    test(`${label}: loadModel from picked files: plan, then upload, then the summary`, async () => {
      const seen: LoadProgress[] = [];
      const s = await engine.loadModel({ kind: 'files', ...pickedFolder() }, (p) => seen.push(p));
      assert.equal(s.name, 'llama-gqa', 'the picked folder names the model');
      assert.deepEqual(
        [s.arch, s.d_model, s.n_layers, s.n_heads, s.n_kv_heads, s.d_head, s.d_mlp, s.d_vocab, s.n_ctx, s.dtype],
        ['llama', 64, 3, 4, 2, 16, 160, 299, 128, 'f32'],
      );
      // embed + lm_head (untied) + per layer q,k,v,o + gate,up,down + 2 norms, + final norm
      const perLayer = 64 * 64 + 2 * (32 * 64) + 64 * 64 + 3 * (160 * 64) + 2 * 64;
      assert.equal(s.parameters, 2 * 299 * 64 + 3 * perLayer + 64);
      assert.equal(s.weightBytes, s.parameters * 4);
      assert.equal(s.chatTemplate, true);
      assert.deepEqual(s.warnings, []);
      assert.equal(seen[0].phase, 'plan', 'the size check comes first');
      const up = seen.filter((p) => p.phase === 'upload');
      assert.ok(up.length >= 1, 'upload progress was reported');
      assert.equal(up[up.length - 1].bytes, s.weightBytes);
      assert.equal(up[up.length - 1].total, s.weightBytes);
      assert.deepEqual(await engine.modelInfo(), s);
    });

    test(`${label}: inspect returns causal patterns [H][T][T] equal to transformers', with per-head stats`, async () => {
      // the reference's ids are the text without special tokens
      const r = await engine.inspect({ text: english.texts[0], layers: [0, 2], addSpecialTokens: false });
      assert.deepEqual(r.tokens.map((t) => t.id), english.input_ids[0]);
      assert.equal(r.tokens.map((t) => t.text).join(''), english.texts[0], 'token texts concatenate to the prompt');
      const T = r.tokens.length;
      assert.equal(r.n_heads, 4);
      assert.deepEqual(r.layers.map((l) => l.layer), [0, 2], 'only the asked layers come back');
      for (const L of r.layers) {
        assert.equal(L.pattern.length, 4);
        for (const head of L.pattern) {
          assert.equal(head.length, T);
          head.forEach((row, q) => {
            assert.equal(row.length, T);
            // softmax rows in f32 over ≤ 15 keys: sum within 1e-5 of 1
            assert.ok(Math.abs(sum(row) - 1) < 1e-5, `row ${q} sums to ${sum(row)}`);
            for (let k = q + 1; k < T; k++) assert.equal(row[k], 0, `causal: [${q}][${k}] is 0`);
          });
        }
        // transformers' eager attention probabilities (fp32): within 1e-5, the golden test's bound
        assertAllClose(L.pattern.flat(2), english.attn_pattern[L.layer][0].flat(2), { atol: 1e-5, rtol: 0 }, `pattern L${L.layer}`);
        assert.equal(L.stats.length, 4);
        L.stats.forEach((st, h) => {
          // an independent float64 recomputation from the returned pattern (1e-12: same numbers, other summation order)
          const P = L.pattern[h];
          const mean = (f: (q: number) => number, from = 0) => sum(P.slice(from).map((_, i) => f(i + from))) / (T - from);
          const want = {
            entropy: mean((q) => -sum(P[q].filter((x) => x > 0).map((x) => x * Math.log(x)))),
            maxProb: mean((q) => Math.max(...P[q])),
            firstToken: mean((q) => P[q][0]),
            prevToken: mean((q) => P[q][q - 1], 1),
            self: mean((q) => P[q][q]),
          };
          assert.equal(st.head, h);
          for (const k of Object.keys(want) as (keyof typeof want)[]) assert.ok(Math.abs(st[k] - want[k]) < 1e-12, `head ${h} ${k}: ${st[k]} vs ${want[k]}`);
          assert.ok(st.entropy >= 0 && st.entropy <= Math.log(T));
          assert.ok(st.maxProb > 0 && st.maxProb <= 1 && st.firstToken >= 0 && st.firstToken <= 1);
        });
        // mean over heads of the mean row maximum, as the fixture script computed it (1e-5: f32 vs f32)
        const meanMax = sum(L.stats.map((s) => s.maxProb)) / 4;
        assert.ok(Math.abs(meanMax - REF.checks.english.attn_max_prob_mean[L.layer]) < 1e-5, `max-prob mean ${meanMax}`);
      }
      await assert.rejects(engine.inspect({ text: 'x', layers: [3] }), /No layer 3: this model has layers 0\.\.2/);
      await assert.rejects(engine.inspect({ text: '', layers: [0], addSpecialTokens: false }), /prompt is empty/);
    });

    test(`${label}: greedy generate streams the same tokens as generate() called directly`, async () => {
      const prompt = 'The cat sat';
      const rt = await local.runtime();
      const direct = await loadModel(rt, dirSource(FIXTURE));
      const ids = direct.tokenizer!.encode(prompt, { addSpecialTokens: true });
      const want = (await generate(direct.model, [ids], { maxNewTokens: 6, sampling: { kind: 'greedy' }, ignoreEos: true }))[0];
      for (const t of direct.model.w.all) t.dispose();
      const steps: GenerateProgress[] = [];
      const r = await engine.generate({ prompt, maxNewTokens: 6, sampling: { kind: 'greedy' }, ignoreEos: true }, (p) => steps.push(p));
      assert.deepEqual(r.tokens, want);
      assert.equal(r.promptTokens, ids.length);
      assert.equal(r.stop, 'length');
      assert.deepEqual(steps.map((s) => s.token), want, 'one progress reply per token, in order');
      assert.deepEqual(steps.map((s) => s.step), [0, 1, 2, 3, 4, 5]);
      assert.equal(steps[steps.length - 1].text, r.text, 'the streamed text ends as the result text');
      // seeded sampling repeats itself; chat messages go through the chat template
      const sample = { kind: 'sample', temperature: 0.8, topP: 0.9, topK: 50, seed: 7 } as const;
      const a = await engine.generate({ prompt, maxNewTokens: 4, sampling: sample, ignoreEos: true });
      const b = await engine.generate({ prompt, maxNewTokens: 4, sampling: sample, ignoreEos: true });
      assert.deepEqual(a.tokens, b.tokens);
      const chat = await engine.generate({ messages: [{ role: 'user', content: 'Hi' }], maxNewTokens: 2, sampling: { kind: 'greedy' }, ignoreEos: true });
      assert.ok(chat.promptTokens > 3, 'the template adds role markers');
      await assert.rejects(engine.generate({ prompt, maxNewTokens: 2, sampling: { kind: 'sample', temperature: 0 } }), /temperature must be > 0/);
    });

    test(`${label}: stopping a generation mid-way ends it with a CancelledError`, async () => {
      const ctl = new AbortController();
      const steps: number[] = [];
      const run = engine.generate({ prompt: 'The dog', maxNewTokens: 40, sampling: { kind: 'greedy' }, ignoreEos: true }, (p) => {
        steps.push(p.step);
        if (p.step === 1) ctl.abort();
      }, ctl.signal);
      await assert.rejects(run, (e: Error) => (assert.ok(e instanceof CancelledError, `got ${e.name}: ${e.message}`), true));
      assert.ok(steps.length >= 2 && steps.length < 40, `stopped after ${steps.length} of 40 steps`);
      assert.equal((await engine.generate({ prompt: 'The dog', maxNewTokens: 1, sampling: { kind: 'greedy' } })).tokens.length, 1, 'still works');
    });

    test(`${label}: Hub source: loads through the cache, the second load downloads no weights; url source too`, async () => {
      await hubReady;
      await engine.clearCache();
      hub.resetStats();
      const seen: LoadProgress[] = [];
      const s1 = await engine.loadModel({ kind: 'hub', repo: REPO, revision: 'main', endpoint: hub.url }, (p) => seen.push(p));
      assert.equal(s1.name, `${REPO}@main`);
      assert.ok(seen.some((p) => p.phase === 'download'), 'download progress was reported');
      const whole = () => requestsFor(hub, 'model.safetensors').filter((r) => !r.range);
      assert.equal(whole().length, 1, 'the weights were fetched once');
      assert.ok((await engine.cacheUsage()).bytes >= 674056, 'the cache holds the weights');
      hub.resetStats();
      await engine.loadModel({ kind: 'hub', repo: REPO, revision: 'main', endpoint: hub.url });
      assert.equal(requestsFor(hub, 'model.safetensors').length, 0, 'second load: weights from the cache');
      assert.ok((await engine.clearCache(REPO)).files >= 3);
      assert.equal((await engine.cacheUsage()).files, 0);
      // a plain URL folder (the Hub stand-in answers HEAD, Range and 404 like a static server)
      const u = await engine.loadModel({ kind: 'url', baseUrl: `${hub.url}/${REPO}/resolve/main/` });
      assert.equal(u.parameters, s1.parameters);
      await assert.rejects(engine.loadModel({ kind: 'url', baseUrl: `${hub.url}/${REPO}/resolve/nope/` }), /config\.json/);
    });

    test(`${label}: unloadModel frees the model; later requests say to load one`, async () => {
      assert.deepEqual(await engine.unloadModel(), { unloaded: true });
      assert.equal(await engine.modelInfo(), null);
      await assert.rejects(engine.generate({ prompt: 'a', maxNewTokens: 1, sampling: { kind: 'greedy' } }), /No model is loaded/);
      assert.deepEqual(await engine.unloadModel(), { unloaded: false });
    });
  }

  test('a model over the device limits is refused before any weight is downloaded', async () => {
    await hubReady;
    // fake tiny limits: embed and lm_head (299·64·4 = 76,544 bytes each) are over 64 KiB
    const small = new LocalEngine(gpu, { store: new MemoryBlobStore(), planLimits: { maxStorageBufferBindingSize: 65536 } });
    try {
      hub.resetStats();
      await assert.rejects(small.loadModel({ kind: 'hub', repo: REPO, revision: 'main', endpoint: hub.url }), (e: Error) => {
        assert.ok(e instanceof HubError, `got ${e.name}`);
        assert.equal(e.code, 'too-large');
        assert.match(e.message, /largest tensor (lm_head|model\.embed_tokens)\.weight .*maxStorageBufferBindingSize.*Nothing was downloaded/s);
        return true;
      });
      const gets = requestsFor(hub, 'model.safetensors');
      assert.ok(gets.length >= 1 && gets.every((r) => r.range !== null), 'only ranged header reads of the weights file');
      assert.ok(gets.reduce((a, r) => a + r.bytes, 0) < 20_000, 'a few KB of headers, not the weights');
      assert.equal(await small.modelInfo(), null);
    } finally {
      small.dispose();
    }
  });

  test('cancelling a load stops it with a CancelledError and keeps no model', async () => {
    const ctl = new AbortController();
    const p = local.loadModel({ kind: 'files', ...pickedFolder() }, (pr) => pr.phase === 'plan' && ctl.abort(), ctl.signal);
    await assert.rejects(p, CancelledError);
    assert.equal(await local.modelInfo(), null);
  });
}
