// A removal stops a run in the page too: an updated manifest given to the engine (Engine.applyManifest,
// through the worker protocol as the page calls it) decides every stored run's data again. A run it
// now refuses is stopped while it trains, marked revoked, and from then on its checkpoints, adapter and
// resume are refused; runs of other sources are not touched, and a manifest that still approves changes
// nothing.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { LocalEngine, type Engine } from '../src/engine/engine.ts';
import { GovernanceError, type SftConfig, type TrainProgress, type TrainRequest } from '../src/engine/api.ts';
import { nodeGpu, releaseNodeGpu } from '../src/engine/gpu/node.ts';
import { MemoryBlobStore } from '../src/engine/hub/index.ts';
import { KvRunStore } from '../src/engine/train/run-store.ts';
import { decideUpload } from '../src/engine/train/governance.ts';
import { serveEngine } from './serve.ts';
import { WorkerEngine } from './worker-engine.ts';
import type { Port } from './protocol.ts';
import { ROOT } from '../src/cli/lab-run.testlib.ts';

const FIXTURE = join(ROOT, 'models/fixtures/llama-gqa');
const rows = Array.from({ length: 6 }, (_, i) => {
  const ids = Array.from({ length: 10 }, (_, t) => (13 * i + 7 * t) % 290);
  return JSON.stringify({ input_ids: ids, labels: ids.map((x, t) => (t < 3 ? -100 : x)) });
}).join('\n') + '\n';
const record = (id: string, glob: string, status: string) =>
  `  - {source_id: ${id}, path_glob: "${glob}", data_type: token_ids, origin: this test, rights_holder: the project, permission_status: ${status}, license: MIT, allowed_uses: [training], prohibited_uses: [], contains_sensitive_content: false, review_contact: none, notes: "random token ids"}\n`;
const manifest = (status: string) => `schema_version: "1.0"\nrecords:\n${record('community_rows', 'rows.jsonl', status)}`;
const other = `schema_version: "1.0"\nrecords:\n${record('other_rows', 'other.jsonl', 'approved_for_training')}`;

const config: SftConfig = {
  full: false, lora: { r: 2, alpha: 4, dropout: 0, targets: ['q_proj'] }, steps: 100_000, lr: 1e-3, lrSchedule: 'constant', warmupSteps: 0,
  weightDecay: 0, betas: [0.9, 0.999], eps: 1e-8, maxGradNorm: 1, batchSize: 2, gradAccum: 1, seed: 1, checkpointEvery: 2, recompute: false,
};
const gpu = await nodeGpu();
const local = new LocalEngine(gpu, { runStore: new KvRunStore(new MemoryBlobStore()) });
const ch = new MessageChannel();
serveEngine(ch.port1 as unknown as Port, local);
const page: Engine = new WorkerEngine(ch.port2 as unknown as Port);
after(() => {
  local.dispose();
  ch.port1.close();
  ch.port2.close();
  releaseNodeGpu();
});

const names = readdirSync(FIXTURE).filter((f) => /\.(json|safetensors)$/.test(f));
const request = (runId: string, name: string, text: string, m: string, steps = config.steps): TrainRequest => {
  const governance = decideUpload({ name, manifest: { name: 'SOURCE_MANIFEST.yml', text: m, path: name } });
  assert.equal(governance.allowed, true, governance.reason);
  return { runId, config: { ...config, steps }, data: { name, text, governance } };
};

test('an updated manifest that withdraws a source stops its run mid-training and marks it; its files, adapter and resume are refused; other runs are untouched', async () => {
  await page.loadModel({ kind: 'files', files: names.map((f) => new Blob([readFileSync(join(FIXTURE, f))])), paths: names.map((f) => `llama-gqa/${f}`), name: 'llama-gqa' });
  await page.train(request('other-run', 'other.jsonl', rows, other, 2)); // another source's finished run

  let steps = 0;
  let stepped!: () => void;
  const third = new Promise<void>((r) => (stepped = r));
  const running = page.train(request('community-run', 'rows.jsonl', rows, manifest('approved_for_training')), (p: TrainProgress) => {
    if (p.kind === 'step' && ++steps === 3) stepped();
  });
  const outcome = running.then(() => null, (e: unknown) => e);
  await third;

  // a manifest that still approves changes nothing
  assert.deepEqual(await page.applyManifest({ name: 'SOURCE_MANIFEST.yml', text: manifest('approved_for_training') }), { checked: 1, revoked: [] });
  const check = await page.applyManifest({ name: 'SOURCE_MANIFEST.yml', text: manifest('removed_pending_review') });
  assert.equal(check.checked, 1, 'only the run of that source is checked');
  assert.deepEqual(check.revoked.map((r) => [r.runId, r.wasTraining]), [['community-run', true]]);
  assert.match(check.revoked[0].reason, /community_rows is removed_pending_review/);

  const err = await outcome;
  assert.ok(err instanceof GovernanceError, `the run ends with a GovernanceError, not ${String(err)}`);
  assert.match((err as Error).message, /training stopped: the data's terms changed .*removed_pending_review/);

  const runs = await page.listRuns();
  const run = runs.find((r) => r.id === 'community-run')!;
  assert.match(run.revoked?.reason ?? '', /removed_pending_review/, 'the record is marked');
  assert.ok(run.checkpoints.length >= 1 && run.step < config.steps);
  await assert.rejects(page.runFiles('community-run', { checkpoint: run.checkpoints[0] }), /Checkpoint \d+ of run community-run refused: a source of its data was withdrawn/);
  await assert.rejects(page.setAdapter({ runId: 'community-run' }), /refused: a source of its data was withdrawn/);
  await assert.rejects(page.train({ ...request('community-run', 'rows.jsonl', rows, manifest('approved_for_training')), resume: { step: run.checkpoints[0] } }), /cannot be resumed until the source is reviewed/);

  // the other source's run is as it was
  assert.equal(runs.find((r) => r.id === 'other-run')!.revoked, undefined);
  assert.ok((await page.runFiles('other-run', 'result'))['adapter_model.safetensors']);
});

test('an adapter brought in as files with a revoked governance.json is refused', async () => {
  const rec = (await page.listRuns()).find((r) => r.id === 'other-run')!;
  assert.ok(rec);
  const files = await page.runFiles('other-run', 'result');
  const gov = JSON.parse(new TextDecoder().decode(files['governance.json']));
  files['governance.json'] = new TextEncoder().encode(JSON.stringify({ ...gov, revoked: { at: '2026-12-05T00:00:00Z', reason: 'record other_rows is restricted' } }));
  await assert.rejects(page.setAdapter({ name: 'imported', files }), /The adapter imported is refused: it was made from a source that was withdrawn \(record other_rows is restricted\)/);
});
