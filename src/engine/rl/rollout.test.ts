// Rollouts on the llama-gqa fixture (3 layers, GQA 4/2 heads, V = 299, n_ctx = 128): the sampled
// log-probs equal a teacher-forced forward's, seeds reproduce groups, masks end at the first EOS,
// bad options are refused, top-k 1 is greedy.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { testRuntime, releaseTestRuntime } from '../testing/gpu.ts';
import { assertAllClose } from '../testing/allclose.ts';
import { dirSource } from '../model/checkpoint.ts';
import { loadModel } from '../model/load.ts';
import type { LlamaModel } from '../model/llama.ts';
import { generate } from '../model/generate.ts';
import { rollouts, rolloutRows, rolloutsBatch, sequenceLogprobs, sequenceSeeds } from './rollout.ts';

after(releaseTestRuntime);

// KV-cache decode (fused GEMV path) vs one full forward (matmul path), fp32 logits → float64
// log-softmax: the logits agree to ~1e-5 relative, so the log-probs to well within 1e-4.
const LOGP_TOL = { atol: 1e-4, rtol: 0 };
const PROMPT = [296, 17, 42, 99, 5];
const dir = new URL('../../../models/fixtures/llama-gqa/', import.meta.url).pathname;

let loaded: Promise<LlamaModel> | null = null;
function model(): Promise<LlamaModel> {
  loaded ??= testRuntime().then(async (rt) => (await loadModel(rt, dirSource(dir), { tokenizer: false })).model);
  return loaded;
}

/** mask-weighted flat copy of [G][T] rows (positions past a row's length read 0) */
const masked = (rows: ArrayLike<number>[], mask: number[][]) => Float64Array.from(mask.flatMap((m, g) => m.map((k, t) => (k ? rows[g][t] : 0))));

test('rollout log-probs (KV cache, as sampled) equal sequenceLogprobs (one teacher-forced forward)', async () => {
  const m = await model();
  for (const [temperature, extra] of [[1, {}], [0.7, { topK: 20, topP: 0.9 }]] as const) {
    const r = await rollouts(m, PROMPT, { groupSize: 4, maxNewTokens: 10, temperature, seed: 3, eosTokenIds: [], ...extra });
    assert.equal(r.tokens.length, 4);
    assert.deepEqual(r.lengths, [10, 10, 10, 10]);
    for (const row of r.logp) for (const v of row) assert.ok(Number.isFinite(v) && v <= 0, `log-prob ${v}`);
    const ref = await sequenceLogprobs(m, PROMPT, r.tokens, temperature);
    assertAllClose(masked(r.logp, r.mask), masked(ref, r.mask), LOGP_TOL, `logp (T = ${temperature})`);
  }
});

test('the same seed gives the same group; another seed another; each row its own stream', async () => {
  const m = await model();
  const opts = { groupSize: 4, maxNewTokens: 8, temperature: 1.2, seed: 11, eosTokenIds: [] };
  const a = await rollouts(m, PROMPT, opts);
  const b = await rollouts(m, PROMPT, opts);
  assert.deepEqual(b.tokens, a.tokens);
  assert.deepEqual(b.logp, a.logp);
  const c = await rollouts(m, PROMPT, { ...opts, seed: 12 });
  assert.notDeepEqual(c.tokens, a.tokens);
  // no row of seed 12 is a row of seed 11 (seeds are hashed, not seed + g)
  for (const row of c.tokens) assert.ok(!a.tokens.some((r) => r.join() === row.join()), `shared row ${row}`);
  // rows of a group differ (distinct streams), and a row depends on its seed only, not on the group size
  assert.ok(new Set(a.tokens.map((r) => r.join())).size > 1);
  const wider = await rollouts(m, PROMPT, { ...opts, groupSize: 6 });
  assert.deepEqual(wider.tokens.slice(0, 4), a.tokens);
  assert.deepEqual(sequenceSeeds(11, 6).slice(0, 4), sequenceSeeds(11, 4));
});

test('masks stop after the first EOS and lengths agree', async () => {
  const m = await model();
  const opts = { groupSize: 8, maxNewTokens: 12, temperature: 1.5, topK: 8, seed: 5 };
  const free = await rollouts(m, PROMPT, { ...opts, eosTokenIds: [] });
  // the EOS: the token sampled most often at positions ≥ 1, so some rows stop early (deterministic: seeded)
  const counts = new Map<number, number>();
  for (const row of free.tokens) for (const tok of row.slice(1)) counts.set(tok, (counts.get(tok) ?? 0) + 1);
  const eos = [...counts].sort((x, y) => y[1] - x[1] || x[0] - y[0])[0][0];
  const r = await rollouts(m, PROMPT, { ...opts, eosTokenIds: [eos] });
  let early = 0;
  for (let g = 0; g < 8; g++) {
    const row = free.tokens[g];
    const at = row.indexOf(eos);
    const n = at < 0 ? 12 : at + 1; // up to and including the first EOS
    if (n < 12) early++;
    assert.equal(r.lengths[g], n, `row ${g}`);
    // the same stream: the row is the free row cut after its first EOS, then padding with the EOS id
    assert.deepEqual(r.tokens[g].slice(0, n), row.slice(0, n));
    assert.ok(r.tokens[g].slice(n).every((t) => t === eos));
    assert.deepEqual(r.mask[g], Array.from({ length: r.tokens[g].length }, (_, t) => (t < n ? 1 : 0)));
    assert.equal(r.mask[g].reduce((s, k) => s + k, 0), r.lengths[g]);
    assert.ok(r.logp[g].slice(n).every((v) => v === 0));
    assertAllClose(r.logp[g].slice(0, n), free.logp[g].slice(0, n), { atol: 0, rtol: 0 }, `row ${g} logp`);
  }
  assert.ok(early > 0, `token ${eos} ended no row early`);
  assert.equal(r.tokens[0].length, Math.max(...r.lengths)); // T = the longest completion
  // and the teacher-forced log-probs of the ragged completions agree up to each EOS
  const ref = await sequenceLogprobs(m, PROMPT, r.tokens.map((row, g) => row.slice(0, r.lengths[g])), 1.5);
  assertAllClose(masked(r.logp, r.mask), masked(ref, r.mask), LOGP_TOL, 'logp with EOS');
});

test('clear errors: group size, temperature, context', async () => {
  const m = await model();
  const base = { groupSize: 4, maxNewTokens: 4, temperature: 1, seed: 0 };
  await assert.rejects(rollouts(m, PROMPT, { ...base, groupSize: 1 }), /group size must be an integer in 2\.\.16.*got 1/);
  await assert.rejects(rollouts(m, PROMPT, { ...base, groupSize: 17 }), /group size must be an integer in 2\.\.16.*got 17/);
  await assert.rejects(rollouts(m, PROMPT, { ...base, temperature: 0 }), /temperature must be > 0.*got 0/);
  await assert.rejects(rollouts(m, PROMPT, { ...base, temperature: -1 }), /temperature must be > 0/);
  await assert.rejects(rollouts(m, PROMPT, { ...base, maxNewTokens: 124 }), /5 prompt \+ 124 new tokens exceed the model's context of 128/);
  await assert.rejects(rollouts(m, [], base), /at least one token/);
  await assert.rejects(sequenceLogprobs(m, PROMPT, [[1, 2]], 0), /temperature must be > 0/);
  await assert.rejects(sequenceLogprobs(m, PROMPT, [new Array<number>(124).fill(1)], 1), /exceed the model's context of 128/);
  await assert.rejects(rollouts(m, PROMPT, { ...base, signal: AbortSignal.abort() }), /cancelled/);
});

test('top-k 1 at any temperature: the greedy tokens, with log-probs of the top token under the temperature', async () => {
  const m = await model();
  const [greedy] = await generate(m, [PROMPT], { maxNewTokens: 8, sampling: { kind: 'greedy' }, eosTokenIds: [] });
  for (const temperature of [0.5, 3]) {
    const r = await rollouts(m, PROMPT, { groupSize: 3, maxNewTokens: 8, temperature, topK: 1, seed: 7, eosTokenIds: [] });
    for (const row of r.tokens) assert.deepEqual(row, greedy);
    const ref = await sequenceLogprobs(m, PROMPT, [greedy], temperature);
    for (const row of r.logp) {
      assertAllClose(row, ref[0], LOGP_TOL, `top-1 logp (T = ${temperature})`);
      assert.ok(row.every((v) => v < 0), 'full-vocabulary log-probs, not the top-k renormalised 0');
    }
  }
});

test('rolloutsBatch: groups of prompts of different lengths in one left-padded generate equal each group sampled alone', async () => {
  const m = await model();
  const prompts = [PROMPT, [7, 8, 9], [296, 1, 2, 3, 4, 5, 6, 200]];
  const seeds = [11, 12, 13];
  const batch = await rolloutsBatch(m, prompts, { groupSize: 3, maxNewTokens: 6, temperature: 0.8, seeds, eosTokenIds: [] });
  assert.equal(batch.length, 3);
  for (let j = 0; j < 3; j++) {
    const alone = await rollouts(m, prompts[j], { groupSize: 3, maxNewTokens: 6, temperature: 0.8, seed: seeds[j], eosTokenIds: [] });
    assert.deepEqual(batch[j].tokens, alone.tokens, `prompt ${j}: the same tokens`);
    assertAllClose(masked(batch[j].logp, batch[j].mask), masked(alone.logp, alone.mask), LOGP_TOL, `prompt ${j}: log-probs`);
  }
  await assert.rejects(rolloutsBatch(m, prompts, { groupSize: 3, maxNewTokens: 6, temperature: 0.8, seeds: [1], eosTokenIds: [] }), /1 seeds for 3 prompts/);
});

test('rolloutRows: rows with their own prompts and temperatures in one generate equal each row alone, log-probs at the row\'s temperature', async () => {
  const m = await model();
  const rows = [
    { ids: PROMPT, temperature: 0.2, seed: 5 },
    { ids: [7, 8, 9], temperature: 1.5, seed: 6 },
    { ids: [296, 1, 2, 3, 4, 5, 6, 200], temperature: 0.7, seed: 7 },
  ];
  const opts = { maxNewTokens: 6, eosTokenIds: [] };
  const batch = await rolloutRows(m, rows, opts);
  for (let r = 0; r < rows.length; r++) {
    const [alone] = await rolloutRows(m, [rows[r]], opts);
    assert.deepEqual(batch[r].tokens, alone.tokens, `row ${r}: the same tokens`);
    const [ref] = await sequenceLogprobs(m, rows[r].ids, [batch[r].tokens], rows[r].temperature);
    assertAllClose(Float64Array.from(batch[r].logp), ref, LOGP_TOL, `row ${r}: log-probs at T = ${rows[r].temperature}`);
  }
  // the temperature is the row's: T 0.2 is near-greedy, T 1.5 is not (its log-probs are lower on average)
  const meanLp = (r: number) => batch[r].logp.reduce((a, b) => a + b, 0) / batch[r].logp.length;
  assert.ok(meanLp(0) > meanLp(1), `mean log-prob at T 0.2 (${meanLp(0)}) above T 1.5's (${meanLp(1)})`);
  await assert.rejects(rolloutRows(m, [{ ids: PROMPT, temperature: 0, seed: 1 }], opts), /temperature must be > 0/);
});
