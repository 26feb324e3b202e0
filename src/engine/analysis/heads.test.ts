// The head-statistics pass on lab-micro with the lab's own task items: batched (right-padded) prompts give
// each prompt's unbatched statistics; the prompt is the question then its teacher-forced answer, with the
// answer's positions as queries and the task classes as targets; the comparison's rows cover every head and
// statistic, raw and position-controlled.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { testRuntime, releaseTestRuntime } from '../testing/gpu.ts';
import { dirSource } from '../model/checkpoint.ts';
import { loadModel } from '../model/load.ts';
import { getTask, type TaskItem } from '../../tasks/index.ts';
import { qaPrompt } from '../train/data.ts';
import { analysisPrompt, compareHeads, patternTables } from './heads.ts';
import { summarizeTable } from './head-stats.ts';

after(releaseTestRuntime);
const micro = new URL('../../../models/lab-micro/', import.meta.url).pathname;

async function setup() {
  const rt = await testRuntime();
  const { model, tokenizer } = await loadModel(rt, dirSource(micro));
  const items = (task: string, n: number) => getTask(task).generate('heldout', n, 2) as TaskItem[];
  return { model, tok: tokenizer!, arith: items('arithmetic', 4), velmic: items('conlang', 4) };
}

test('a prompt is the question then its answer; queries start at the answer; Velmic items get their aligned-word classes', async () => {
  const { tok, arith, velmic } = await setup();
  const a = analysisPrompt(tok, arith[0]);
  assert.deepEqual(a.ids.slice(0, a.answerAt), tok.encode(qaPrompt(arith[0].question), { addSpecialTokens: true }));
  assert.ok(a.ids.length > a.answerAt);
  assert.ok(a.classes.numbers.some((x) => x) && a.classes.operators.some((x) => x));
  const v = analysisPrompt(tok, velmic[0]);
  for (const c of ['aligned', 'affixPieces', 'roots']) assert.ok(c in v.classes, `class ${c}`);
  assert.ok(v.classes.aligned.some((x) => x), 'some aligned tokens');
});

test('batched prompts of different lengths give each prompt\'s own statistics (right padding is never attended)', async () => {
  const { model, tok, arith, velmic } = await setup();
  const prompts = [...arith.slice(0, 2), ...velmic.slice(0, 2)].map((r) => analysisPrompt(tok, r));
  const batched = await patternTables(model, prompts);
  const alone = [];
  for (const p of prompts) alone.push((await patternTables(model, [p]))[0]);
  const L = model.cfg.n_layers, H = model.cfg.n_heads;
  let max = 0;
  for (let i = 0; i < prompts.length; i++)
    for (let l = 0; l < L; l++)
      for (let h = 0; h < H; h++) {
        const x = summarizeTable(batched[i][l][h]).mean, y = summarizeTable(alone[i][l][h]).mean;
        for (const k of Object.keys(y)) if (y[k] !== null) max = Math.max(max, Math.abs((x[k] as number) - (y[k] as number)) / Math.max(1, Math.abs(y[k] as number)));
      }
  assert.ok(max < 1e-5, `batched vs alone: max relative difference ${max}`);
  // budget 1 forces one prompt per batch: the same numbers again
  const single = await patternTables(model, prompts, { budget: 1 });
  assert.deepEqual(summarizeTable(single[3][1][0]).mean, summarizeTable(alone[3][1][0]).mean);
});

test('compareHeads: every head and statistic, raw and resid:, with CIs and q-values', async () => {
  const { model, tok, arith, velmic } = await setup();
  const A = await patternTables(model, arith.map((r) => analysisPrompt(tok, r)));
  const B = await patternTables(model, velmic.map((r) => analysisPrompt(tok, r)));
  const cmp = compareHeads(A, B, { nBoot: 200, nPerm: 200, seed: 1 });
  for (const s of ['entropy', 'entropyNorm', 'mass:numbers', 'mass:operators', 'resid:entropy', 'resid:distance']) assert.ok(cmp.stats.includes(s), s);
  assert.ok(!cmp.stats.includes('mass:aligned'), 'a class only one set has is not compared');
  const rows = cmp.rows.entropy;
  assert.equal(rows.length, model.cfg.n_layers * model.cfg.n_heads);
  for (const r of rows) {
    assert.equal(r.nA, 4);
    assert.ok(r.ciLow <= r.d && r.d <= r.ciHigh && r.p > 0 && r.p <= 1 && r.q >= r.p - 1e-12);
  }
});
