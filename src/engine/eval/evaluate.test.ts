// Engine.evaluate against `lab eval`: one code path, so the same rows give the same numbers. The CLI's
// --adapters file is compared with the engine's table on the same bytes (a `lab tasks` file and the
// embedded set made in the engine, whose sha256 is the file's), with the adapter given as files (the
// CLI's way: the whole table equal, byte for byte as JSON) and as a stored run (the page's way: equal
// numbers, the run's id and governance in its row). Then the refusals, each naming what to do: an
// adapter of another model, a full-parameter run, a run without a result, a run whose data's source was
// withdrawn, a merged adapter active.
// The model is models/lab-micro (75 k parameters), the adapter random (B ≠ 0, so it changes answers).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runLab } from '../../cli/lab-run.testlib.ts';
import { LocalEngine } from '../engine.ts';
import { CancelledError, type EvaluateProgress, type EvalModelResult, type RunRecord, type SftConfig } from '../api.ts';
import { nodeGpu, releaseNodeGpu } from '../gpu/node.ts';
import { KvRunStore } from '../train/run-store.ts';
import { MemoryBlobStore } from '../hub/store.ts';
import { parseConfig } from '../model/config.ts';
import { adapterModules, writeAdapter, type LoraConfig } from '../train/adapter.ts';
import { EMBEDDED_DECISION } from '../train/governance.ts';
import { Rng } from '../util/rng.ts';
import { LAB_VERSION, embeddedEvalData } from './evaluate.ts';
import { generateArithmetic } from '../../tasks/arithmetic.ts';
import { toSftJsonl } from '../../tasks/index.ts';

const MICRO = join(ROOT, 'models/lab-micro');
const GQA = join(ROOT, 'models/fixtures/llama-gqa');
const tmp = mkdtempSync(join(tmpdir(), 'lab-evaluate-'));
const store = new KvRunStore(new MemoryBlobStore());
const engine = new LocalEngine(await nodeGpu(), { runStore: store });
after(() => {
  engine.dispose();
  releaseNodeGpu();
  rmSync(tmp, { recursive: true, force: true });
});

/** A PEFT adapter for the model in `dir` with random A and B (seeded). */
function randomAdapter(dir: string, seed: number): Record<string, Uint8Array> {
  const cfg = parseConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), 'config.json');
  const lcfg: LoraConfig = { r: 2, alpha: 4, dropout: 0, targets: ['q_proj', 'v_proj', 'down_proj'], layers: null };
  const rng = new Rng(seed);
  return writeAdapter(lcfg, new Map(adapterModules(lcfg, cfg).map((m) => [m.key, { A: rng.normal(lcfg.r * m.in, 0.5), B: rng.normal(m.out * lcfg.r, 0.5) }])), cfg, null);
}

const CONFIG: SftConfig = {
  full: false, lora: { r: 2, alpha: 4, dropout: 0, targets: ['q_proj', 'v_proj', 'down_proj'] }, steps: 2, lr: 1e-3, lrSchedule: 'constant', warmupSteps: 0, weightDecay: 0,
  betas: [0.9, 0.999], eps: 1e-8, maxGradNorm: 1, batchSize: 1, gradAccum: 1, seed: 0, checkpointEvery: 0, recompute: false,
};

/** A finished run in the store, as the training loop leaves it (record, result, governance.json). */
async function storeRun(id: string, files: Record<string, Uint8Array> | null, over: Partial<RunRecord> = {}): Promise<void> {
  const governance = EMBEDDED_DECISION('arithmetic');
  await store.put({
    schema: 'lab-run-v1', id, name: `test ${id}`, kind: 'sft', status: 'done', createdAt: 1, updatedAt: 1, model: MICRO, config: CONFIG,
    data: { name: 'arithmetic-train-n4-seed0.jsonl', sha256: 'ab'.repeat(32), rows: 4 }, governance, step: 2, lastLoss: 1, checkpoints: [], hasResult: !!files, ...over,
  });
  if (files) await store.saveResult(id, new Map(Object.entries(files)));
  await store.saveFile(id, 'governance.json', new TextEncoder().encode(JSON.stringify({ data: 'arithmetic-train-n4-seed0.jsonl', ...governance, note: 'test' })));
}

const numbers = ({ model: _m, adapter: _a, data: _d, run: _r, ...rest }: EvalModelResult) => rest;

test('lab eval --adapters and Engine.evaluate give the same table on the same rows (exact and chrf++), the adapter as files or as a stored run', { timeout: 300_000 }, async () => {
  const file = join(tmp, 'heldout.jsonl');
  assert.equal(runLab(['tasks', '--task', 'arithmetic', '--split', 'heldout', '--n', '4', '--out', file]).code, 0);
  const ad = join(tmp, 'adapter');
  mkdirSync(ad);
  const files = randomAdapter(MICRO, 5);
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(ad, name), bytes);
  await storeRun('run-sft', files);
  const summary = await engine.loadModel({ kind: 'dir', path: MICRO });
  assert.equal(summary.name, MICRO, 'a folder names the model by its path, as the CLI writes it');

  for (const metric of ['exact', 'chrf++'] as const) {
    const out = join(tmp, `cli-${metric}.json`);
    const r = runLab(['eval', '--model', MICRO, '--data', file, '--metric', metric, '--adapters', ad, '--max-new-tokens', '8', '--batch', '3', '--seed', '7', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const cliText = readFileSync(out, 'utf8');
    const cli = JSON.parse(cliText) as { data: string; metric: string; n: number; rows: EvalModelResult[] };
    assert.notDeepEqual(cli.rows[1].items.map((i) => i.output), cli.rows[0].items.map((i) => i.output), 'the adapter changes the answers');

    // the CLI's way through the engine: the same file, the adapter's files: the same bytes
    const seen: EvaluateProgress[] = [];
    const t1 = await engine.evaluate({ data: { kind: 'text', name: file, text: readFileSync(file, 'utf8') }, metric, models: ['base', { name: ad, files }], maxNewTokens: 8, batch: 3, seed: 7 }, (p) => seen.push(p));
    assert.equal(JSON.stringify({ data: t1.data, metric: t1.metric, n: t1.n, rows: t1.rows }, null, 1), cliText, 'the CLI file is the engine\'s table');
    assert.deepEqual(seen.map((p) => `${p.model}/${p.models} ${p.phase} ${p.done}/${p.total}`), ['0/2 adapter 0/4', '0/2 answer 3/4', '0/2 answer 4/4', '1/2 adapter 0/4', '1/2 answer 3/4', '1/2 answer 4/4']);
    assert.equal(seen.at(-1)!.etaSec, 0);

    // the page's way: the embedded set made in the engine (the same bytes as `lab tasks`), the adapter a stored run
    const t2 = await engine.evaluate({ data: { kind: 'embedded', task: 'arithmetic', split: 'heldout', n: 4, seed: 0 }, metric, models: ['base', { runId: 'run-sft' }], maxNewTokens: 8, batch: 3, seed: 7 });
    const made = JSON.parse(readFileSync(`${file}.provenance.json`, 'utf8'));
    assert.equal(t2.provenance.data.sha256, made.sha256, 'the embedded set is the `lab tasks` file');
    assert.deepEqual({ ...t2.provenance.data.task, file: made.file }, made, 'with its `lab tasks` record');
    assert.deepEqual(t2.rows.map(numbers), cli.rows.map(numbers), 'the same numbers, item by item');
    assert.deepEqual([t2.rows[0].adapter, t2.rows[1].adapter, t2.rows[1].run?.id, t2.rows[1].run?.kind], [null, 'test run-sft (run run-sft)', 'run-sft', 'sft']);
    assert.equal((t2.rows[1].run?.governance as { note?: string }).note, 'test', 'the run\'s governance.json');
    assert.equal(t2.provenance.data.governance?.allowed, true);
    assert.deepEqual([t2.provenance.lab.version, t2.provenance.model.name, t2.provenance.settings.seed, t2.provenance.settings.metric], [LAB_VERSION, MICRO, 7, metric]);
  }
});

test('Engine.evaluate: --limit, and what it refuses, each saying what to do', { timeout: 300_000 }, async () => {
  const base = { data: { kind: 'embedded', task: 'arithmetic', split: 'heldout', n: 4, seed: 0 }, metric: 'exact', maxNewTokens: 4, batch: 4, seed: 0 } as const;
  const t = await engine.evaluate({ ...base, models: ['base'], limit: 2 });
  assert.deepEqual([t.n, t.provenance.data.rows, t.provenance.data.used, t.rows[0].n], [2, 4, 2, 2]);

  await storeRun('run-gqa', randomAdapter(GQA, 1), { model: 'llama-gqa' });
  await storeRun('run-full', {}, { config: { ...CONFIG, full: true } });
  await storeRun('run-unfinished', null, { status: 'interrupted' });
  const refused = async (models: Parameters<typeof engine.evaluate>[0]['models'], re: RegExp) =>
    assert.rejects(engine.evaluate({ ...base, models }), (e: Error) => (assert.match(e.message, re), true));
  await refused(['base', { runId: 'run-gqa' }], /^test run-gqa \(run run-gqa\): the adapter does not fit the loaded model .*lab-micro \(it was trained on llama-gqa\): /);
  await refused([{ runId: 'run-full' }], /trained every weight: .* load its files as the model/);
  await refused([{ runId: 'run-unfinished' }], /has no finished adapter \(status interrupted\)/);
  await refused([{ runId: 'gone' }], /run gone is not in the run store/);
  await storeRun('run-revoked', randomAdapter(MICRO, 4), { revoked: { at: '2026-01-01', reason: 'source withdrawn by its holder' } } as Partial<RunRecord>);
  await refused([{ runId: 'run-revoked' }], /refused: a source of its data was withdrawn \(source withdrawn by its holder; marked 2026-01-01\)/);
  await refused([], /no model to evaluate/);
  await assert.rejects(engine.evaluate({ ...base, data: { kind: 'text', name: 'x.jsonl', text: '{"question": "q", "answer": "a"}\n' }, models: ['base'] }), { name: 'EvalInputError', message: 'x.jsonl:1: the answer has no "#### <final answer>" line' });

  // a merged adapter: 'base' alone is the model as loaded (lab eval --adapter), adapters on it are refused
  await storeRun('run-sft2', randomAdapter(MICRO, 2));
  await engine.setAdapter({ runId: 'run-sft2' });
  await refused(['base', { runId: 'run-sft2' }], /The adapter "test run-sft2 \(run run-sft2\)" is active \(merged into the weights\): switch to the base model first/);
  const merged = await engine.evaluate({ ...base, models: ['base'] });
  await engine.setAdapter(null);
  const unmerged = await engine.evaluate({ ...base, models: [{ runId: 'run-sft2' }] });
  assert.equal(merged.rows[0].adapter, 'test run-sft2 (run run-sft2)');
  assert.deepEqual(merged.rows[0].items, unmerged.rows[0].items, 'merged = unmerged');

  // cancel: the first batch's progress aborts; the engine answers the next request
  const stop = new AbortController();
  await assert.rejects(engine.evaluate({ ...base, batch: 1, models: ['base'] }, (p) => p.phase === 'answer' && stop.abort(), stop.signal), CancelledError);
  assert.equal((await engine.evaluate({ ...base, models: ['base'], limit: 1 })).n, 1);
});

test('LAB_VERSION is package.json\'s version; the embedded set is what `lab tasks` writes', async () => {
  assert.equal(LAB_VERSION, JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  const d = await embeddedEvalData('conlang', 'heldout', 3, 2);
  assert.equal(d.name, 'conlang-heldout-n3-seed2.jsonl');
  assert.equal(d.text.trim().split('\n').length, 3);
  await assert.rejects(embeddedEvalData('nope', 'heldout', 3, 0), /no embedded task set "nope"/);
  // the rl split (the prompts GRPO trains on): its own rows and record
  const rl = await embeddedEvalData('arithmetic', 'rl', 3, 2);
  assert.deepEqual([rl.name, rl.text, rl.record.split], ['arithmetic-rl-n3-seed2.jsonl', toSftJsonl(generateArithmetic('rl', 3, 2)), 'rl']);
  await assert.rejects(embeddedEvalData('arithmetic', 'test' as 'rl', 3, 2), /the split must be one of train, heldout, rl, got test/);
});
