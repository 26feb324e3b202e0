// Engine.evaluate through the worker protocol, as the Evaluate page asks for it (WorkerEngine →
// serveEngine → LocalEngine, lab-micro from picked files, a finished run's adapter from the run store):
// the same table as the engine in this thread, progress per batch (model i of n, rows, ETA), typed errors
// across the boundary, and cancel ending with CancelledError while the engine answers the next request.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { LocalEngine } from '../src/engine/engine.ts';
import { CancelledError, TrainingError, type EvaluateProgress, type EvaluateRequest, type SftConfig } from '../src/engine/api.ts';
import { nodeGpu, releaseNodeGpu } from '../src/engine/gpu/node.ts';
import { KvRunStore } from '../src/engine/train/run-store.ts';
import { MemoryBlobStore } from '../src/engine/hub/store.ts';
import { parseConfig } from '../src/engine/model/config.ts';
import { adapterModules, writeAdapter, type LoraConfig } from '../src/engine/train/adapter.ts';
import { EMBEDDED_DECISION } from '../src/engine/train/governance.ts';
import { Rng } from '../src/engine/util/rng.ts';
import { serveEngine } from './serve.ts';
import { WorkerEngine } from './worker-engine.ts';
import type { Port } from './protocol.ts';

const MICRO = new URL('../models/lab-micro/', import.meta.url).pathname;
const store = new KvRunStore(new MemoryBlobStore());
const local = new LocalEngine(await nodeGpu(), { runStore: store });
const ch = new MessageChannel();
serveEngine(ch.port1 as unknown as Port, local);
const page = new WorkerEngine(ch.port2 as unknown as Port);
after(() => {
  local.dispose();
  ch.port1.close();
  ch.port2.close();
  releaseNodeGpu();
});

const CONFIG: SftConfig = {
  full: false, lora: { r: 2, alpha: 4, dropout: 0, targets: ['q_proj', 'v_proj'] }, steps: 1, lr: 1e-3, lrSchedule: 'constant', warmupSteps: 0, weightDecay: 0,
  betas: [0.9, 0.999], eps: 1e-8, maxGradNorm: 1, batchSize: 1, gradAccum: 1, seed: 0, checkpointEvery: 0, recompute: false,
};

test('evaluate in the worker: the engine\'s table, progress per batch, typed errors, cancel', { timeout: 300_000 }, async () => {
  const names = readdirSync(MICRO).filter((f) => /\.(json|safetensors)$/.test(f));
  await page.loadModel({ kind: 'files', files: names.map((f) => new Blob([readFileSync(join(MICRO, f))])), paths: names.map((f) => `lab-micro/${f}`), name: 'lab-micro' });
  // a finished GRPO run's adapter (random B, so it answers differently)
  const cfg = parseConfig(JSON.parse(readFileSync(join(MICRO, 'config.json'), 'utf8')), 'config.json');
  const lcfg: LoraConfig = { r: 2, alpha: 4, dropout: 0, targets: ['q_proj', 'v_proj'], layers: null };
  const rng = new Rng(3);
  const files = writeAdapter(lcfg, new Map(adapterModules(lcfg, cfg).map((m) => [m.key, { A: rng.normal(lcfg.r * m.in, 0.5), B: rng.normal(m.out * lcfg.r, 0.5) }])), cfg, null);
  await store.put({
    schema: 'lab-run-v1', id: 'run-grpo', name: 'rl', kind: 'grpo', status: 'done', createdAt: 1, updatedAt: 1, model: 'lab-micro', config: CONFIG,
    data: { name: 'arithmetic.jsonl', sha256: '00'.repeat(32), rows: 4 }, governance: EMBEDDED_DECISION('arithmetic'), step: 1, lastLoss: 0, checkpoints: [], hasResult: true,
  });
  await store.saveResult('run-grpo', new Map(Object.entries(files)));

  const req: EvaluateRequest = { data: { kind: 'embedded', task: 'conlang', split: 'heldout', n: 3, seed: 1 }, metric: 'chrf', models: ['base', { runId: 'run-grpo' }], maxNewTokens: 6, batch: 2, seed: 3 };
  const seen: EvaluateProgress[] = [];
  const got = await page.evaluate(req, (p) => seen.push(p));
  const want = await local.evaluate(req);
  assert.deepEqual({ ...got, provenance: { ...got.provenance, createdAt: '' } }, { ...want, provenance: { ...want.provenance, createdAt: '' } }, 'the worker\'s table is the engine\'s');
  assert.deepEqual([got.rows[1].run?.kind, got.rows[1].run?.id, got.provenance.model.name, got.provenance.data.source], ['grpo', 'run-grpo', 'lab-micro', 'embedded']);
  assert.deepEqual(seen.map((p) => `${p.label} ${p.model + 1}/${p.models} ${p.done}/${p.total}`), ['base 1/2 0/3', 'base 1/2 2/3', 'base 1/2 3/3', 'rl (run run-grpo) 2/2 0/3', 'rl (run run-grpo) 2/2 2/3', 'rl (run run-grpo) 2/2 3/3']);
  assert.ok(seen.every((p) => p.etaSec === null || p.etaSec >= 0));

  // errors keep their class and kind across the boundary
  await assert.rejects(page.evaluate({ ...req, models: [{ runId: 'gone' }] }), (e: Error) => e instanceof TrainingError && e.kind === 'invalid');
  await assert.rejects(page.evaluate({ ...req, metric: 'exact', data: { kind: 'text', name: 'q.jsonl', text: '{"question": "q"}\n' } }), { name: 'EvalInputError', message: 'q.jsonl:1: needs "question" and "answer" strings' });

  const stop = new AbortController();
  await assert.rejects(page.evaluate({ ...req, batch: 1 }, (p) => p.phase === 'answer' && stop.abort(), stop.signal), (e: Error) => e instanceof CancelledError);
  assert.equal((await page.evaluate({ ...req, models: ['base'], limit: 1 })).n, 1, 'the engine answers the next request');
});
