// The sweep slice on a fake Engine (a run store in memory, steps that take a few ms, pause / cancel as
// Engine.train does them, checkpoints every step): a 2 × 2 sweep runs its four points one after another
// through the train slice's trainRequest, each scored with its adapter swapped in and the base model put
// back before the next point; a cancel stops the current run (checkpointed) and starts no other; a page
// that dies mid-sweep leaves a record that a new page marks interrupted, says where it stopped, and
// continues: the interrupted run from its checkpoint, then the rest; pause holds the sweep; a diverged
// point is a result and the sweep goes on; the start is refused with a reason when it cannot run.
//
//   node tools/run-node.mjs --test --test-concurrency=1 src/app/sweepSlice.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CancelledError, TrainingError, type Engine, type ModelSummary, type RunRecord, type StepLine, type TrainProgress, type TrainRequest } from '../engine/api.ts';
import type { Kv } from './kept.ts';
import { memoryKv } from './kept.testlib.ts';
import type { ModelSlice } from './modelSlice.ts';
import { createSweepSlice, sweepBlocker, type SweepSlice } from './sweepSlice.ts';
import { createTrainSlice, type TrainSlice } from './trainSlice.ts';
import { stoppedAt } from './train/sweep.ts';
import { qaPrompt } from '../engine/train/data.ts';
import { getTask } from '../tasks/index.ts';

type S = TrainSlice & SweepSlice & ModelSlice;
const tick = (ms = 2) => new Promise((ok) => setTimeout(ok, ms));
const HELD = getTask('arithmetic').generate('heldout', 2, 0);
const lossAt = (lr: number, r: number, step: number) => 3 / (1 + step * lr * 1e3 * (r / 8));

/** An Engine with a run store in memory; `hang` makes a run stop answering at a step (its page died). */
function fakeEngine(o: { diverge?: (c: TrainRequest['config']) => boolean } = {}) {
  const runs = new Map<string, { rec: RunRecord; lines: StepLine[] }>();
  const calls: string[] = [];
  let active: string | null = null;
  let paused = false;
  let wake: (() => void) | null = null;
  const hang = { at: null as null | { runId: string; step: number } };
  let adapter: string | null = null;
  const summary = (): ModelSummary => ({ name: 'micro', chatTemplate: false, adapter: adapter ? { name: adapter, r: 8, alpha: 16, targets: [] } : null }) as unknown as ModelSummary;
  const engine = {
    async train(req: TrainRequest, onProgress: (p: TrainProgress) => void, signal: AbortSignal) {
      const c = req.config;
      const had = runs.get(req.runId);
      if (!req.resume && had) throw new TrainingError('run-exists', `${req.runId} already holds a run`);
      if (req.resume && !had) throw new Error('no run to resume');
      calls.push(`train ${req.runId}${req.resume && 'step' in req.resume ? ` from ${req.resume.step}` : ''} on ${adapter ?? 'base'}`);
      const run = had ?? { rec: { id: req.runId, name: req.name ?? req.runId, kind: 'sft', status: 'running', model: 'micro', config: c, step: 0, checkpoints: [], hasResult: false, lastLoss: null, createdAt: Date.now() } as unknown as RunRecord, lines: [] };
      runs.set(req.runId, run);
      const first = req.resume && 'step' in req.resume ? req.resume.step : 0;
      run.lines = run.lines.filter((l) => l.step <= first);
      Object.assign(run.rec, { status: 'running', step: first });
      active = req.runId;
      onProgress({ kind: 'start', firstStep: first + 1, totalSteps: c.steps, tensors: 1, trainable: 1, description: '' });
      try {
        for (let step = first + 1; step <= c.steps; step++) {
          if (paused && !signal.aborted) {
            onProgress({ kind: 'paused', step: step - 1 });
            await new Promise<void>((ok) => ((wake = ok), signal.addEventListener('abort', () => ok())));
            if (!signal.aborted) onProgress({ kind: 'resumed', step: step - 1 });
          }
          if (signal.aborted) {
            if (!run.rec.checkpoints.includes(step - 1) && step > 1) run.rec.checkpoints.push(step - 1);
            run.rec.status = 'cancelled';
            throw new CancelledError(`stopped at step ${step - 1}/${c.steps}`);
          }
          if (hang.at && hang.at.runId === req.runId && hang.at.step === step) return new Promise<never>(() => (active = null));
          await tick();
          if (o.diverge?.(c) && step === 2) {
            run.rec.status = 'failed';
            throw new TrainingError('non-finite', 'loss is NaN at step 2');
          }
          const line = { step, epoch: 0, loss: lossAt(c.lr, c.lora.r, step), grad_norm: 1, lr: c.lr, tokens: 8, trained_tokens: 4, tokens_per_s: 4, step_s: 0.5, elapsed_s: 0.5 * step };
          run.lines.push(line);
          Object.assign(run.rec, { step, lastLoss: line.loss });
          run.rec.checkpoints.push(step);
          onProgress({ kind: 'step', line, totalSteps: c.steps, etaSec: 0.5 * (c.steps - step) });
        }
        Object.assign(run.rec, { status: 'done', hasResult: true });
        return { runId: req.runId, steps: c.steps, lastLoss: run.rec.lastLoss, where: '', files: [] };
      } finally {
        if (active === req.runId) active = null;
      }
    },
    async trainControl(_id: string, action: 'pause' | 'resume') {
      paused = action === 'pause';
      if (!paused) wake?.();
      return { status: 'running', step: 0 };
    },
    async listRuns() {
      for (const r of runs.values()) if (r.rec.status === 'running' && r.rec.id !== active) r.rec.status = 'interrupted';
      return [...runs.values()].map((r) => structuredClone(r.rec));
    },
    async runMetrics(id: string) {
      return structuredClone(runs.get(id)?.lines ?? []);
    },
    async deleteRun(id: string) {
      calls.push(`delete ${id}`);
      return { deleted: runs.delete(id) };
    },
    async setAdapter(a: { runId: string } | null) {
      calls.push(`adapter ${a ? a.runId : 'base'}`);
      adapter = a ? `run ${a.runId}` : null;
      return summary();
    },
    async generate(req: { prompt?: string }) {
      // "correct" answers only from the adapter of r 16 (so the score differs between points)
      const item = HELD.find((it) => req.prompt === qaPrompt(it.question));
      return { text: adapter?.endsWith('r16') && item ? `so\n#### ${item.final}` : '#### -1', tokens: [], promptTokens: 0, stop: 'eos', ms: 1, tokensPerSec: 1 };
    },
  } as unknown as Engine;
  return { engine, runs, calls, hang, summary };
}

function page(engine: Engine, kv: Kv, summary: ModelSummary) {
  let state = { model: { status: 'ready', summary } } as unknown as S;
  const set = (p: Partial<S>) => void (state = { ...state, ...p });
  const get = () => state;
  state = { ...state, ...createTrainSlice<S>(engine, set, get, { formsKv: null }), ...createSweepSlice<S>(engine, set, get, { kv }) };
  state.setTrainConfig({ steps: 3, checkpointEvery: 1 });
  state.setSweepForm({ lrs: '1e-4, 2e-4', ranks: '8 16', evalN: 2, evalMaxNew: 8 });
  return get;
}

async function until(cond: () => boolean, what: string, ms = 5000) {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) assert.fail(`timed out waiting for ${what}`);
    await tick(1);
  }
}

test('a 2 × 2 sweep: four runs one after another, each scored with its adapter, the base model back before the next', async () => {
  const f = fakeEngine();
  const s = page(f.engine, memoryKv(), f.summary());
  await s().startSweep();
  const rec = s().sweeps.list[0];
  assert.equal(rec.status, 'done', rec.message);
  assert.equal(s().sweepActive, null);
  assert.deepEqual(rec.points.map((p) => [p.lr, p.r, p.alpha, p.status]), [[1e-4, 8, 16, 'done'], [1e-4, 16, 32, 'done'], [2e-4, 8, 16, 'done'], [2e-4, 16, 32, 'done']]);
  assert.deepEqual(rec.points.map((p) => p.finalLoss), rec.points.map((p) => lossAt(p.lr, p.r, 3)), 'final losses are the runs’ last steps');
  assert.deepEqual(rec.points.map((p) => p.eval && 'correct' in p.eval && p.eval.correct), [0, 2, 0, 2]);
  assert.deepEqual(rec.baseEval && 'correct' in rec.baseEval && [rec.baseEval.correct, rec.baseEval.n], [0, 2], 'the model before any point');
  const ids = rec.points.map((p) => p.runId);
  assert.deepEqual(f.calls, ids.flatMap((id) => [`train ${id} on base`, `adapter ${id}`, `adapter base`]), 'every point trains on the base model');
  assert.equal(s().model.summary?.adapter, null, 'the header shows the base model again');
  assert.deepEqual([...f.runs.get(ids[3])!.rec.checkpoints], [1, 2, 3]);
  assert.equal(f.runs.get(ids[1])!.rec.config.lora.alpha, 32);
});

test('cancel stops the current run at a checkpoint and starts no other; Continue resumes it and runs the rest', async () => {
  const f = fakeEngine();
  const kv = memoryKv();
  const s = page(f.engine, kv, f.summary());
  s().setSweepForm({ evalTask: 'none' });
  const done = s().startSweep();
  await until(() => s().sweepActive?.index === 1 && s().live.lines.length === 1, 'run 2 at step 1');
  s().cancelSweep();
  await done;
  let rec = s().sweeps.list[0];
  assert.equal(rec.status, 'cancelled');
  assert.match(rec.message ?? '', /3 points not finished/);
  assert.deepEqual(rec.points.map((p) => p.status), ['done', 'cancelled', 'pending', 'pending']);
  assert.equal(f.runs.size, 2, 'no later point started');
  const where = stoppedAt(rec, await f.engine.listRuns());
  assert.match(where.text, /^Stopped at run 2 of 4 \(lr=1e-4 r=16, step [12]\/3\)\. Continue resumes that run from its checkpoint at step [12], then the 2 remaining points\.$/);

  await s().continueSweep(rec.id);
  rec = s().sweeps.list[0];
  assert.equal(rec.status, 'done', rec.message);
  assert.match(f.calls.find((c) => c.startsWith(`train ${rec.points[1].runId} from`)) ?? '', /from [12] on base/);
  assert.deepEqual(rec.points.map((p) => p.finalLoss), rec.points.map((p) => lossAt(p.lr, p.r, 3)), 'the resumed run ends where an uninterrupted one does');
  assert.deepEqual(f.runs.get(rec.points[1].runId)!.lines.map((l) => l.step), [1, 2, 3]);
});

test('a page that dies mid-sweep: the next page marks the sweep interrupted, says where, and continuing finishes it', async () => {
  const f = fakeEngine();
  const kv = memoryKv();
  const s = page(f.engine, kv, f.summary());
  s().setSweepForm({ evalTask: 'none' });
  f.hang.at = { runId: 'later', step: 0 };
  void s().startSweep();
  await until(() => s().sweeps.list[0]?.points[0].status === 'done', 'point 1');
  f.hang.at = { runId: s().sweeps.list[0].points[1].runId, step: 3 }; // step 3 of run 2 never ends: the tab is gone
  await until(() => f.runs.get(s().sweeps.list[0].points[1].runId)?.rec.step === 2, 'run 2 at step 2');
  await tick(20);

  const next = page(f.engine, kv, f.summary()); // the reloaded page, the same stores
  await next().restoreSweeps();
  const rec = next().sweeps.list[0];
  assert.equal(rec.status, 'interrupted');
  assert.deepEqual(rec.points.map((p) => p.status), ['done', 'interrupted', 'pending', 'pending']);
  assert.equal(stoppedAt(rec, await f.engine.listRuns()).text, 'Stopped at run 2 of 4 (lr=1e-4 r=16, step 2/3). Continue resumes that run from its checkpoint at step 2, then the 2 remaining points.');
  f.hang.at = null;
  await next().continueSweep(rec.id);
  const end = next().sweeps.list[0];
  assert.equal(end.status, 'done', end.message);
  assert.deepEqual(end.points.map((p) => p.finalLoss), end.points.map((p) => lossAt(p.lr, p.r, 3)));
  assert.ok(f.calls.includes(`train ${end.points[1].runId} from 2 on base`));
});

test('pause holds the sweep (the run after its step, or between points); resume goes on', async () => {
  const f = fakeEngine();
  const s = page(f.engine, memoryKv(), f.summary());
  s().setSweepForm({ evalTask: 'none' });
  const done = s().startSweep();
  await until(() => s().live.lines.length === 1, 'step 1');
  await s().pauseSweep();
  await until(() => s().live.status === 'paused', 'the run paused');
  assert.equal(s().sweeps.list[0].status, 'paused');
  await tick(30);
  assert.equal(s().live.status, 'paused', 'still paused');
  await s().resumeSweep();
  await done;
  assert.equal(s().sweeps.list[0].status, 'done');
});

test('a point that diverges is a result: marked failed, the sweep goes on; the start refused with a reason when it cannot run', async () => {
  const f = fakeEngine({ diverge: (c) => c.lr === 2e-4 && c.lora.r === 16 });
  const s = page(f.engine, memoryKv(), f.summary());
  s().setSweepForm({ evalTask: 'none' });
  await s().startSweep();
  const rec = s().sweeps.list[0];
  assert.equal(rec.status, 'done');
  assert.deepEqual(rec.points.map((p) => p.status), ['done', 'done', 'done', 'failed']);
  assert.match(rec.points[3].error ?? '', /NaN/);

  s().setSweepForm({ ranks: '8, 8.5' });
  assert.match(sweepBlocker(s()) ?? '', /Fix the sweep settings/);
  s().setSweepForm({ ranks: '8', evalTask: 'arithmetic' });
  s().setTrainConfig({ full: true });
  assert.match(sweepBlocker(s()) ?? '', /needs LoRA/);
  s().setTrainConfig({ full: false });
  const withAdapter = page(f.engine, memoryKv(), { ...f.summary(), adapter: { name: 'x', r: 8, alpha: 16, targets: [] } });
  assert.match(sweepBlocker(withAdapter()) ?? '', /adapter x is merged.*base model/);
  withAdapter().setSweepForm({ evalTask: 'none' });
  assert.equal(sweepBlocker(withAdapter()), null, 'without the eval a sweep may start from an adapter');
  await withAdapter().startSweep();
  assert.equal(withAdapter().sweepError, undefined);
});
