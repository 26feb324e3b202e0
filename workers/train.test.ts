// Training through the worker protocol, as the page does it (WorkerEngine → serveEngine → LocalEngine
// over a MessageChannel, the model from picked files, runs in a KvRunStore like IndexedDB), against
// `lab sft` on the same config and data: one code path, the same losses. Then what the page relies
// on: progress per step, pause / resume, cancel with a checkpoint, a reload (a new engine on the same
// storage) that finds the run interrupted and resumes it with the losses of an uninterrupted run,
// the exported adapter, and the refusals (ungoverned data, a run over an existing one).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalEngine, type Engine } from '../src/engine/engine.ts';
import { CancelledError, GovernanceError, TrainingError, type SftConfig, type StepLine, type TrainProgress, type TrainRequest } from '../src/engine/api.ts';
import { nodeGpu, releaseNodeGpu } from '../src/engine/gpu/node.ts';
import { MemoryBlobStore } from '../src/engine/hub/index.ts';
import { KvRunStore } from '../src/engine/train/run-store.ts';
import { readAdapter } from '../src/engine/train/adapter.ts';
import { memorySource } from '../src/engine/train/run.ts';
import type { TrainingDecision } from '../src/engine/train/governance.ts';
import { parseConfig } from '../src/engine/model/config.ts';
import { serveEngine } from './serve.ts';
import { WorkerEngine } from './worker-engine.ts';
import type { Port } from './protocol.ts';
import { ROOT, runLab } from '../src/cli/lab-run.testlib.ts';

const FIXTURE = join(ROOT, 'models/fixtures/llama-gqa');
const tmp = mkdtempSync(join(tmpdir(), 'lab-train-'));

// pre-tokenized rows (ids < the fixture's vocab of 299), prompts masked; approved by a manifest beside them
const lines: string[] = [];
for (let i = 0; i < 6; i++) {
  const ids = Array.from({ length: 8 + i }, (_, t) => (17 * i + 5 * t) % 290);
  lines.push(JSON.stringify({ input_ids: ids, labels: ids.map((x, t) => (t < 3 ? -100 : x)) }));
}
const text = lines.join('\n') + '\n';
const dataFile = join(tmp, 'rows.jsonl');
writeFileSync(dataFile, text);
writeFileSync(
  join(tmp, 'SOURCE_MANIFEST.yml'),
  'schema_version: "1.0"\nrecords:\n  - {source_id: synthetic_rows, path_glob: "rows.jsonl", data_type: token_ids, origin: this test, rights_holder: the project, permission_status: approved_for_training, license: MIT, allowed_uses: [training], prohibited_uses: [], contains_sensitive_content: false, review_contact: none, notes: "random token ids"}\n',
);
const approved: TrainingDecision = {
  allowed: true, reason: 'test: synthetic_rows approve training for rows.jsonl', manifest: 'SOURCE_MANIFEST.yml', path: 'rows.jsonl',
  matched: [{ source_id: 'synthetic_rows', permission_status: 'approved_for_training', allowed_uses: ['training'], prohibited_uses: [] }],
  inherited: { prohibited_uses: [], contains_sensitive_content: false, sources: ['synthetic_rows'] },
};

const config: SftConfig = {
  full: false, lora: { r: 4, alpha: 8, dropout: 0.1, targets: ['q_proj', 'v_proj', 'down_proj'] }, steps: 6, lr: 1e-2, lrSchedule: 'cosine', warmupSteps: 1,
  weightDecay: 0, betas: [0.9, 0.999], eps: 1e-8, maxGradNorm: 1, batchSize: 2, gradAccum: 2, seed: 3, checkpointEvery: 2, recompute: false,
};
const cliArgs = ['--model', FIXTURE, '--data', dataFile, '--rank', '4', '--alpha', '8', '--targets', 'q_proj,v_proj,down_proj', '--lora-dropout', '0.1',
  '--batch-size', '2', '--grad-accum', '2', '--seed', '3', '--lr', '1e-2', '--lr-schedule', 'cosine', '--warmup-steps', '1', '--steps', '6', '--checkpoint-every', '2'];

// the page's engine: a LocalEngine behind the protocol; runs kept in a key-value store (IndexedDB's stand-in)
const kv = new MemoryBlobStore();
const gpu = await nodeGpu();
const engines: LocalEngine[] = [];
function pageEngine(): { proxy: Engine; local: LocalEngine; close: () => void } {
  const local = new LocalEngine(gpu, { runStore: new KvRunStore(kv) });
  engines.push(local);
  const ch = new MessageChannel();
  serveEngine(ch.port1 as unknown as Port, local);
  const proxy = new WorkerEngine(ch.port2 as unknown as Port);
  return { proxy, local, close: () => (local.dispose(), ch.port1.close(), ch.port2.close()) };
}
const fixtureFiles = () => {
  const names = readdirSync(FIXTURE).filter((f) => /\.(json|safetensors)$/.test(f));
  return { kind: 'files' as const, files: names.map((f) => new Blob([readFileSync(join(FIXTURE, f))])), paths: names.map((f) => `llama-gqa/${f}`), name: 'llama-gqa' };
};

let page = pageEngine();
after(() => {
  page.close();
  for (const e of engines) e.dispose();
  releaseNodeGpu();
  rmSync(tmp, { recursive: true, force: true });
});

const cliLosses = (out: string): number[] => readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).loss);
const req = (over: Partial<TrainRequest> = {}): TrainRequest => ({ runId: 'run-a', config, data: { name: 'rows.jsonl', text, governance: approved }, ...over });
const closeTo = (a: number[], b: number[], tol: number, what: string) => {
  assert.equal(a.length, b.length, `${what}: ${a.length} vs ${b.length} steps`);
  a.forEach((x, i) => assert.ok(Math.abs(x - b[i]) <= tol * Math.max(1, Math.abs(b[i])), `${what}: step ${i + 1}: ${x} vs ${b[i]}`));
};

let uninterrupted: number[] = [];

test('the worker protocol and `lab sft` train the same run: the same losses (1e-5), the same adapter', async () => {
  const out = join(tmp, 'cli');
  const r = runLab(['sft', ...cliArgs, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const cli = cliLosses(out);

  await page.proxy.loadModel(fixtureFiles());
  const events: TrainProgress[] = [];
  const res = await page.proxy.train(req(), (p) => events.push(p));
  const steps = events.filter((e): e is Extract<TrainProgress, { kind: 'step' }> => e.kind === 'step');
  uninterrupted = steps.map((e) => e.line.loss);
  closeTo(uninterrupted, cli, 1e-5, 'worker vs CLI');
  assert.deepEqual(steps.map((e) => e.line.step), [1, 2, 3, 4, 5, 6], 'one progress event per step, in order');
  assert.ok(steps.every((e) => Number.isFinite(e.etaSec) && e.line.tokens_per_s > 0), 'each step carries its ETA and tokens/s');
  assert.deepEqual(events.filter((e) => e.kind === 'checkpoint').map((e) => (e as { step: number }).step), [2, 4, 6]);
  assert.equal(res.steps, 6);
  assert.deepEqual((await page.proxy.runMetrics('run-a')).map((l: StepLine) => l.loss), uninterrupted, 'the metrics kept in the store');

  // the exported adapter is a PEFT adapter equal to the CLI's
  const files = await page.proxy.runFiles('run-a', 'result');
  assert.ok(files['adapter_config.json'] && files['adapter_model.safetensors'] && files['governance.json']);
  const cfg = parseConfig(JSON.parse(readFileSync(join(FIXTURE, 'config.json'), 'utf8')));
  const mine = await readAdapter(memorySource(files, 'page'), cfg);
  const theirs = await readAdapter(memorySource(new Map([['adapter_config.json', readFileSync(join(out, 'adapter_config.json'))], ['adapter_model.safetensors', readFileSync(join(out, 'adapter_model.safetensors'))]].map(([k, v]) => [k as string, new Uint8Array(v as Buffer)])), 'cli'), cfg);
  assert.deepEqual(mine.cfg, theirs.cfg);
  for (const [k, { A, B }] of theirs.tensors) {
    const m = mine.tensors.get(k)!;
    closeTo(Array.from(m.A), Array.from(A), 1e-4, `${k}.A`);
    closeTo(Array.from(m.B), Array.from(B), 1e-4, `${k}.B`);
  }
  const runs = await page.proxy.listRuns();
  assert.equal(runs[0].status, 'done');
  const usage = (await page.proxy.runsUsage()).find((u) => u.runId === 'run-a')!;
  assert.ok(usage.result > 0 && usage.checkpoints === 3 * usage.result && usage.other > 0, `storage by kind (3 checkpoints, each the size of the result): ${JSON.stringify(usage)}`);
  assert.deepEqual(runs[0].checkpoints, [2, 4, 6]);
});

test('the active adapter: a finished run switched on gives the logits `lab forward --adapter` gives for its exported files; off gives the base', async () => {
  const dir = join(tmp, 'exported');
  mkdirSync(dir);
  for (const [name, bytes] of Object.entries(await page.proxy.runFiles('run-a', 'result'))) writeFileSync(join(dir, name), bytes);
  const ids = [5, 22, 39, 56, 73, 90];
  const on = await page.proxy.setAdapter({ runId: 'run-a' });
  assert.equal(on.adapter?.r, 4);
  assert.deepEqual(on.adapter?.targets.sort(), ['down_proj', 'q_proj', 'v_proj']);
  const pageOn = (await page.proxy.forward({ ids })).logits.flat();
  await assert.rejects(page.proxy.train(req({ runId: 'run-on-adapter' })), (e: Error) => e instanceof TrainingError && /switch to the base model before training/.test(e.message));
  const off = await page.proxy.setAdapter(null);
  assert.equal(off.adapter, null);
  const pageOff = (await page.proxy.forward({ ids })).logits.flat();
  const cli = (adapter: string[]) => {
    const out = join(tmp, `fwd-${adapter.length}.json`);
    const r = runLab(['forward', '--model', FIXTURE, '--ids', ids.join(','), ...adapter, '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(readFileSync(out, 'utf8')).logits as number[][]).flat();
  };
  closeTo(pageOn, cli(['--adapter', dir]), 1e-5, 'adapter on: page vs lab forward --adapter');
  closeTo(pageOff, cli([]), 1e-5, 'adapter off: page vs lab forward');
  assert.ok(pageOn.some((v, i) => Math.abs(v - pageOff[i]) > 1e-3), 'the adapter changes the logits');
});

test('a new run into an existing run is refused (nothing destroyed); ungoverned data is refused before anything runs', async () => {
  await assert.rejects(page.proxy.train(req()), (e: Error) => e instanceof TrainingError && e.kind === 'run-exists' && /already holds a run/.test(e.message));
  assert.equal((await page.proxy.runMetrics('run-a')).length, 6, 'the old run is intact');
  const refused = { ...approved, allowed: false, reason: 'no record matches rows.jsonl' };
  await assert.rejects(page.proxy.train(req({ runId: 'run-x', data: { name: 'rows.jsonl', text, governance: refused } })), (e: Error) => e instanceof GovernanceError && /training refused: no record matches/.test(e.message));
  assert.deepEqual(await page.proxy.runMetrics('run-x'), []);
});

test('pause holds between steps while other requests run; resume continues; cancel writes a checkpoint of the step in flight and names it', async () => {
  const ctl = new AbortController();
  let pausedAt = -1;
  let resumed = false;
  const seen: number[] = [];
  const done = page.proxy.train(req({ runId: 'run-b' }), (p) => {
    if (p.kind === 'step') {
      seen.push(p.line.loss);
      if (p.line.step === 1) void page.proxy.trainControl('run-b', 'pause'); // takes effect after the step in flight
      if (resumed) ctl.abort(); // cancel during the first step after resuming: that step is kept
    }
    if (p.kind === 'paused') pausedAt = p.step;
  }, ctl.signal);
  while (pausedAt < 0) await new Promise((r) => setTimeout(r, 20));
  // paused: the engine answers other requests, and the run is listed as paused
  assert.equal((await page.proxy.listRuns()).find((r) => r.id === 'run-b')?.status, 'paused');
  assert.equal((await page.proxy.modelInfo())?.name, 'llama-gqa');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(seen.length, pausedAt, 'no step while paused');
  resumed = true;
  await page.proxy.trainControl('run-b', 'resume');
  // the cancel request crosses the port while the next step may already run: effective within one step
  let stop = 0;
  await assert.rejects(done, (e: Error) => {
    const m = /stopped at step (\d)\/6; resume from run run-b, checkpoint (\d)/.exec(e.message);
    stop = Number(m?.[1]);
    return e instanceof CancelledError && !!m && m[1] === m[2] && stop >= pausedAt + 1 && stop <= pausedAt + 2;
  });
  closeTo(seen, uninterrupted.slice(0, stop), 1e-6, 'paused run');
  const rec = (await page.proxy.listRuns()).find((r) => r.id === 'run-b')!;
  assert.equal(rec.status, 'cancelled');
  assert.ok(rec.checkpoints.includes(stop), `checkpoints ${rec.checkpoints}`);
});

test('a reload mid-run leaves the run interrupted; resuming from its last checkpoint gives the losses of an uninterrupted run', async () => {
  // a run that was "running" when its page went away: its record says running, no engine runs it
  const rec = (await page.proxy.listRuns()).find((r) => r.id === 'run-b')!;
  await new KvRunStore(kv).put({ ...rec, status: 'running' });
  page.close();
  page = pageEngine(); // the reloaded page: a new worker on the same storage
  const after = (await page.proxy.listRuns()).find((r) => r.id === 'run-b')!;
  assert.equal(after.status, 'interrupted');
  await page.proxy.loadModel(fixtureFiles());
  const last = after.checkpoints.at(-1)!;
  const resumed: StepLine[] = [];
  // the page names only the run: its data was kept with it
  await page.proxy.train({ runId: 'run-b', config, resume: { step: last } }, (p) => p.kind === 'step' && resumed.push(p.line));
  closeTo(resumed.map((l) => l.loss), uninterrupted.slice(last), 1e-6, 'resumed run');
  closeTo((await page.proxy.runMetrics('run-b')).map((l) => l.loss), uninterrupted, 1e-6, 'the whole run, each step once');
  assert.equal((await page.proxy.listRuns()).find((r) => r.id === 'run-b')?.status, 'done');
});

test('a full browser storage (quota) stops the run with a clear error and loses nothing saved before', async () => {
  // IndexedDB's QuotaExceededError on the second checkpoint write
  const inner = new MemoryBlobStore();
  let checkpointWrites = 0;
  const quotaKv = Object.assign(Object.create(inner) as MemoryBlobStore, {
    async set(key: string, value: unknown) {
      if (key.startsWith('ckpt/') && ++checkpointWrites === 2) throw Object.assign(new Error('The quota has been exceeded.'), { name: 'QuotaExceededError' });
      return inner.set(key, value);
    },
  });
  const store = new KvRunStore(quotaKv);
  const local = new LocalEngine(gpu, { runStore: store });
  engines.push(local);
  await local.loadModel(fixtureFiles());
  await assert.rejects(local.train(req({ runId: 'run-q' })), (e: Error) => e instanceof TrainingError && e.kind === 'storage' && /checkpoint 4 could not be stored \(the browser storage is full\); nothing stored before was lost \(the last checkpoint is run run-q, checkpoint 2\)/.test(e.message));
  assert.deepEqual(await store.checkpoints('run-q'), [2], 'the earlier checkpoint is intact');
  const rec = await store.get('run-q');
  assert.equal(rec?.status, 'failed');
  assert.equal((await store.metrics('run-q')).length, 4, 'every finished step is kept');
});

test('resume refuses a checkpoint made with other data or settings, naming the field; delete removes a run', async () => {
  const other = { ...config, seed: 4 };
  await assert.rejects(page.proxy.train(req({ runId: 'run-b', config: other, resume: { step: 2 } })), (e: Error) => e instanceof TrainingError && e.kind === 'resume-mismatch' && /seed: the checkpoint has 3, this run 4/.test(e.message));
  const edited = text.replace('[0,', '[1,');
  await assert.rejects(page.proxy.train(req({ runId: 'run-b', data: { name: 'rows.jsonl', text: edited, governance: approved }, resume: { step: 2 } })), (e: Error) => e instanceof TrainingError && /data \(sha256\)/.test(e.message));
  assert.deepEqual(await page.proxy.deleteRun('run-b'), { deleted: true });
  assert.equal((await page.proxy.listRuns()).some((r) => r.id === 'run-b'), false);
});
