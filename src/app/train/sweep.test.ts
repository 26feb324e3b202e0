// The sweep's plain logic (./sweep.ts) and its record across a reload (./sweepPersist.ts): the grid read
// from the form (the user's 3 × 3 by default, refused when malformed or larger than 36), each point's config
// and run id, what Continue does with each point from its run in the run store, the ETA over the whole
// sweep, the best cells and the CSV / JSON exports; kept records come back, another version's are dropped.
//
//   node tools/run-node.mjs --test --test-concurrency=1 src/app/train/sweep.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunRecord, StepLine } from '../../engine/api.ts';
import { memoryKv } from '../kept.testlib.ts';
import { BASE_CONFIG } from '../trainSlice.ts';
import {
  bestPoints, checkSweepForm, continuation, DEFAULT_SWEEP_FORM, fmtLr, interruptedNow, measuredRates, planSweep, pointConfig, resultOf, stoppedAt, sweepCsv, sweepEta, sweepJson, type SweepRecord,
} from './sweep.ts';
import { FORM_KEY, INDEX_KEY, deleteSweepRecord, loadSweepForm, loadSweeps, saveSweep, saveSweepForm, sweepProblem } from './sweepPersist.ts';

const plan = (over: Partial<Parameters<typeof planSweep>[0]> = {}): SweepRecord =>
  planSweep({
    id: 'sweep-x',
    now: 1000,
    model: 'lab-micro',
    adapter: null,
    base: { ...BASE_CONFIG, steps: 4, lora: { ...BASE_CONFIG.lora, alpha: 16, dropout: 0.05 } },
    data: { kind: 'embedded', task: 'arithmetic', n: 32, seed: 0 },
    dataName: 'arithmetic-train-n32-seed0.jsonl',
    lrs: [1e-4, 2e-4],
    ranks: [8, 16],
    alphaRule: 'double',
    eval: { task: 'arithmetic', n: 4, maxNewTokens: 32 },
    ...over,
  });

const run = (id: string, status: RunRecord['status'], step: number, checkpoints: number[], steps = 4): RunRecord =>
  ({ id, status, step, checkpoints, hasResult: status === 'done', config: { ...BASE_CONFIG, steps } }) as unknown as RunRecord;

const line = (step: number, loss: number, step_s = 0.5): StepLine => ({ step, epoch: 0, loss, grad_norm: 1, lr: 1e-4, tokens: 10, trained_tokens: 5, tokens_per_s: 20, step_s, elapsed_s: step * step_s });

test('the form: the user grid by default; malformed lists, repeats, fractional ranks and more than 36 points refused', () => {
  const c = checkSweepForm(DEFAULT_SWEEP_FORM);
  assert.deepEqual([c.lrs, c.ranks, c.errors], [[1e-4, 2e-4, 3e-4], [8, 16, 32], {}]);
  const bad = (patch: Partial<typeof DEFAULT_SWEEP_FORM>) => checkSweepForm({ ...DEFAULT_SWEEP_FORM, ...patch }).errors;
  assert.match(bad({ lrs: '1e-4, x' }).lrs ?? '', /not a number: x/);
  assert.match(bad({ lrs: '' }).lrs ?? '', /at least one/);
  assert.match(bad({ lrs: '0, 1e-4' }).lrs ?? '', /> 0/);
  assert.match(bad({ lrs: '1e-4 1e-4' }).lrs ?? '', /twice/);
  assert.match(bad({ ranks: '8, 12.5' }).ranks ?? '', /whole number/);
  assert.match(bad({ ranks: '0' }).ranks ?? '', /whole number/);
  assert.match(bad({ lrs: '1e-4 2e-4 3e-4 4e-4 5e-4 6e-4 7e-4', ranks: '1 2 4 8 16 32' }).grid ?? '', /7 × 6 = 42 runs; at most 36/);
  assert.deepEqual(bad({ lrs: '1e-4;2e-4\n3e-4', ranks: '4 8' }), {}, 'commas, semicolons, spaces and newlines all separate');
  assert.match(bad({ evalN: 0 }).evalN ?? '', /1…200/);
  assert.deepEqual(bad({ evalTask: 'none', evalN: 0 }), {}, 'no eval: its fields are not checked');
  assert.deepEqual([fmtLr(2e-4), fmtLr(1.5e-4), fmtLr(0.001)], ['2e-4', '1.5e-4', '1e-3']);
});

test('the plan: lr-major points, run ids and names that say the point, α = 2r or the base α, the rest of the config kept', () => {
  const s = plan();
  assert.deepEqual(s.points.map((p) => [p.lr, p.r, p.alpha, p.runId, p.name, p.status]), [
    [1e-4, 8, 16, 'sweep-x-lr1e-4-r8', 'sweep-x lr=1e-4 r=8', 'pending'],
    [1e-4, 16, 32, 'sweep-x-lr1e-4-r16', 'sweep-x lr=1e-4 r=16', 'pending'],
    [2e-4, 8, 16, 'sweep-x-lr2e-4-r8', 'sweep-x lr=2e-4 r=8', 'pending'],
    [2e-4, 16, 32, 'sweep-x-lr2e-4-r16', 'sweep-x lr=2e-4 r=16', 'pending'],
  ]);
  assert.deepEqual(plan({ alphaRule: 'base' }).points.map((p) => p.alpha), [16, 16, 16, 16]);
  const c = pointConfig(s.base, s.points[3]);
  assert.deepEqual([c.lr, c.lora.r, c.lora.alpha, c.lora.dropout, c.lora.targets, c.steps, c.seed], [2e-4, 16, 32, 0.05, s.base.lora.targets, 4, 0]);
  assert.equal(s.base.lr, BASE_CONFIG.lr, 'the base config is not changed');
});

test('continue: finished runs kept (scored if not yet), a stopped run resumes from its last checkpoint, one without restarts, the rest start', () => {
  const s = plan();
  s.points[0].eval = { correct: 1, n: 4, sec: 1 };
  s.points[2].status = 'running';
  const runs = [run(s.points[0].runId, 'done', 4, [2, 4]), run(s.points[1].runId, 'done', 4, [2, 4]), run(s.points[2].runId, 'interrupted', 3, [2])];
  assert.deepEqual(continuation(s, runs), [{ kind: 'skip' }, { kind: 'eval' }, { kind: 'resume', step: 2 }, { kind: 'start' }]);
  const where = stoppedAt(s, runs);
  assert.equal(where.remaining, 3);
  assert.equal(where.text, 'Stopped at run 2 of 4 (lr=1e-4 r=16, step 4/4). Continue scores that finished run, then the 2 remaining points.');
  s.points[1].eval = { correct: 0, n: 4, sec: 1 };
  assert.equal(stoppedAt(s, runs).text, 'Stopped at run 3 of 4 (lr=2e-4 r=8, step 3/4). Continue resumes that run from its checkpoint at step 2, then the 1 remaining point.');
  // a run stopped before its first checkpoint starts again; a point that diverged is a result
  assert.deepEqual(continuation(s, [run(s.points[2].runId, 'interrupted', 1, [])])[2], { kind: 'restart' });
  s.points[3].status = 'failed';
  assert.deepEqual(continuation(s, runs)[3], { kind: 'skip' });
  assert.equal(interruptedNow({ ...s, status: 'running' }, null), true);
  assert.equal(interruptedNow({ ...s, status: 'running' }, s.id), false, 'the sweep this page runs');
  assert.equal(interruptedNow({ ...s, status: 'done' }, null), false);
});

test('results: the final and last-5 losses and the step time from the metrics; ETA over the whole sweep; best cells', () => {
  const lines = [line(1, 3, 2), line(2, 2.5), line(3, 2), line(4, 1.5), line(5, 1), line(6, 0.5)];
  const r = resultOf(lines);
  assert.deepEqual([r.finalLoss, r.tailLoss, r.trainSec, r.stepsDone], [0.5, 1.5, 4.5, 6]);

  const s = plan();
  // one point finished (4 steps in 2 s, eval 3 s), the second at step 1 of 4
  Object.assign(s.points[0], { status: 'done', finalLoss: 1.2, trainSec: 2, stepsDone: 4, eval: { correct: 1, n: 4, sec: 3 } });
  s.baseEval = { correct: 0, n: 4, sec: 3 };
  const rates = measuredRates(s, [line(1, 2, 0.5)]);
  assert.deepEqual(rates, { secPerStep: 0.5, secPerEval: 3 });
  // left: 3 steps of point 2, 4 + 4 of points 3 and 4 = 11 steps × 0.5 s, and 3 evals × 3 s
  assert.deepEqual(sweepEta(s, { index: 1, step: 1 }, rates), { sec: 11 * 0.5 + 9, evalsUnknown: false });
  assert.deepEqual(sweepEta(s, { index: 1, step: 1 }, { secPerStep: null, secPerEval: null }), { sec: null, evalsUnknown: true });

  Object.assign(s.points[1], { status: 'done', finalLoss: 0.9, eval: { correct: 2, n: 4, sec: 3 } });
  Object.assign(s.points[2], { status: 'done', finalLoss: 0.9, eval: { error: 'device lost' } });
  Object.assign(s.points[3], { status: 'failed', error: 'non-finite loss at step 2' });
  assert.deepEqual(bestPoints(s), { loss: [1, 2], score: [1] }, 'ties are all marked; a failed point is never best');
  assert.deepEqual(bestPoints(plan()), { loss: [], score: [] });
});

test('exports: CSV with one row per point (quoted where needed), JSON with the settings and the metric named', () => {
  const s = plan();
  Object.assign(s.points[0], { status: 'done', finalLoss: 1.25, tailLoss: 1.5, trainSec: 2, stepsDone: 4, eval: { correct: 1, n: 4, sec: 3 } });
  Object.assign(s.points[1], { status: 'failed', error: 'non-finite loss, "nan"' });
  const csv = sweepCsv(s).trim().split('\n');
  assert.equal(csv[0], 'run_id,lr,rank,alpha,status,steps,final_loss,mean_loss_last5,eval_correct,eval_n,eval_accuracy,train_seconds,error');
  assert.equal(csv[1], 'sweep-x-lr1e-4-r8,0.0001,8,16,done,4,1.25,1.5,1,4,0.25,2,');
  assert.equal(csv[2], 'sweep-x-lr1e-4-r16,0.0001,16,32,failed,,,,,,,,"non-finite loss, ""nan"""');
  assert.equal(csv.length, 5);
  const j = JSON.parse(sweepJson(s));
  assert.deepEqual([j.id, j.lrs, j.ranks, j.alpha, j.rows.length], ['sweep-x', [1e-4, 2e-4], [8, 16], '2 × rank', 4]);
  assert.match(j.eval_metric, /exact match of the final answer on the first 4 held-out arithmetic items/);
});

test('kept records: a sweep and the form come back after a reload; another version is dropped, the index follows', async () => {
  const kv = memoryKv();
  const a = plan();
  const b = { ...plan({ id: 'sweep-y', now: 2000 }) };
  await saveSweep(a, kv);
  await saveSweep(b, kv);
  await saveSweep({ ...a, status: 'done' }, kv);
  assert.deepEqual(kv.map.get(INDEX_KEY), ['sweep-x', 'sweep-y'], 'written twice, indexed once');
  const back = await loadSweeps(kv);
  assert.deepEqual(back.map((s) => [s.id, s.status]), [['sweep-y', 'running'], ['sweep-x', 'done']], 'newest first');
  assert.deepEqual(back[1].points, a.points);
  assert.equal(sweepProblem(back[0]), null);

  kv.map.set('sweep:sweep-y', { ...b, schema: 'lab-sweep-v0' });
  assert.deepEqual((await loadSweeps(kv)).map((s) => s.id), ['sweep-x']);
  assert.deepEqual(kv.map.get(INDEX_KEY), ['sweep-x']);
  assert.equal(kv.map.has('sweep:sweep-y'), false);
  assert.match(sweepProblem({ ...a, points: a.points.slice(1) }) ?? '', /points/);
  await deleteSweepRecord('sweep-x', kv);
  assert.deepEqual(await loadSweeps(kv), []);

  await saveSweepForm({ ...DEFAULT_SWEEP_FORM, lrs: '5e-5', alpha: 'base', evalTask: 'none' }, kv);
  assert.deepEqual(await loadSweepForm(kv), { ...DEFAULT_SWEEP_FORM, lrs: '5e-5', alpha: 'base', evalTask: 'none' });
  kv.map.set(FORM_KEY, { schema: 'lab-sweep-form-v1', lrs: 3, evalTask: 'ppo' });
  assert.deepEqual(await loadSweepForm(kv), DEFAULT_SWEEP_FORM, 'wrong types take the defaults');
});
