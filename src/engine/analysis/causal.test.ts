// The final answer's positions, the logit lens by layer and the all-heads ablation sweep on lab-micro
// with the lab's own items: the positions predict exactly the tokens after "####"; the lens's last row is
// the model's own log-probability of them; each sweep entry equals one ablateHead run's change.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { testRuntime, releaseTestRuntime } from '../testing/gpu.ts';
import { dirSource } from '../model/checkpoint.ts';
import { loadModel } from '../model/load.ts';
import { getTask, type TaskItem } from '../../tasks/index.ts';
import { analysisPrompt } from './heads.ts';
import { ablationSweep, answerLogprob, finalAnswerPositions, lensByLayer } from './causal.ts';
import { ablateHead, logitsWith, meanHeadZ } from './interventions.ts';

after(releaseTestRuntime);
const micro = new URL('../../../models/lab-micro/', import.meta.url).pathname;

async function setup() {
  const rt = await testRuntime();
  const { model, tokenizer } = await loadModel(rt, dirSource(micro));
  const items = [...getTask('arithmetic').generate('heldout', 2, 5), ...getTask('conlang').generate('heldout', 1, 5)] as TaskItem[];
  const prompts = items.map((r) => analysisPrompt(tokenizer!, r));
  return { model, tok: tokenizer!, items, prompts, positions: prompts.map((p) => finalAnswerPositions(tokenizer!, p)) };
}

test('final-answer positions predict exactly the tokens after the last "####"', async () => {
  const { tok, items, prompts, positions } = await setup();
  prompts.forEach((p, i) => {
    assert.ok(positions[i].length > 0);
    const text = tok.decode(positions[i].map((t) => p.ids[t + 1]));
    assert.equal(text.trim(), items[i].answer.slice(items[i].answer.lastIndexOf('####') + 4).trim());
  });
});

test('logit lens by layer: the last row is the model\'s own mean log-prob of the answer tokens; ranks are >= 0', async () => {
  const { model, prompts, positions } = await setup();
  const V = model.cfg.d_vocab;
  const lens = await lensByLayer(model, prompts, positions);
  for (let i = 0; i < prompts.length; i++) {
    assert.equal(lens.logprob[i].length, model.cfg.n_layers + 1);
    const own = answerLogprob((await logitsWith(model, prompts[i].ids)).logits, V, prompts[i].ids, positions[i]) / positions[i].length;
    assert.ok(Math.abs(lens.logprob[i][model.cfg.n_layers] - own) < 1e-4, `prompt ${i}: ${lens.logprob[i][model.cfg.n_layers]} vs ${own}`);
    for (const r of lens.rank[i]) assert.ok(r >= 0 && r < V);
  }
});

test('ablation sweep: every head\'s effect on every prompt is one ablateHead run\'s change of the answer log-prob (batched, padded, scored on the GPU)', async () => {
  const { model, prompts, positions } = await setup();
  const V = model.cfg.d_vocab;
  const { n_layers: L, n_heads: H } = model.cfg;
  assert.ok(new Set(prompts.map((p) => p.ids.length)).size > 1, 'prompts of different lengths share a padded batch');
  for (const maxTokens of [undefined, 1]) { // one batch of all, and one prompt a forward
    const sweep = await ablationSweep(model, prompts, positions, { maxTokens });
    assert.equal(sweep.effect.length, L);
    for (let i = 0; i < prompts.length; i++) {
      const own = answerLogprob((await logitsWith(model, prompts[i].ids)).logits, V, prompts[i].ids, positions[i]);
      assert.ok(Math.abs(sweep.base[i] - own) < 1e-4, `base ${i}: ${sweep.base[i]} vs ${own}`);
      for (let l = 0; l < L; l++) {
        for (let h = 0; h < H; h++) {
          const abl = answerLogprob(await ablateHead(model, prompts[i].ids, l, h), V, prompts[i].ids, positions[i]);
          assert.ok(Math.abs(sweep.effect[l][h][i] - (abl - own)) < 1e-4, `${l}.${h} prompt ${i}: ${sweep.effect[l][h][i]} vs ${abl - own}`);
        }
      }
    }
  }
  // mean ablation: the head's z averaged over every position of every prompt (meanHeadZ), written at each position
  const mean = await ablationSweep(model, prompts, positions, { mode: 'mean' });
  for (const [l, h] of [[0, 1], [1, 0]]) {
    const m = await meanHeadZ(model, prompts.map((p) => p.ids), l, h);
    for (let i = 0; i < prompts.length; i++) {
      const abl = answerLogprob(await ablateHead(model, prompts[i].ids, l, h, m), V, prompts[i].ids, positions[i]);
      assert.ok(Math.abs(mean.effect[l][h][i] - (abl - mean.base[i])) < 1e-4, `mean ${l}.${h} prompt ${i}: ${mean.effect[l][h][i]} vs ${abl - mean.base[i]}`);
    }
  }
  // nothing left behind on the GPU (the sweep's and the lens's temporaries live in runtime scopes)
  await model.rt.sync();
  const inUse = model.rt.pool.snapshot().inUse;
  await ablationSweep(model, prompts, positions, { mode: 'mean' });
  await lensByLayer(model, prompts, positions);
  await model.rt.sync();
  assert.equal(model.rt.pool.snapshot().inUse, inUse, 'GPU buffers leaked');
  // a prompt without a final answer: NaN, and the others unchanged
  const none = await ablationSweep(model, prompts, [positions[0], [], positions[2]]);
  assert.ok(Number.isNaN(none.base[1]) && Number.isNaN(none.effect[0][0][1]));
  assert.ok(Math.abs(none.effect[1][1][2] - (await ablationSweep(model, prompts, positions)).effect[1][1][2]) < 1e-5);
});
