// The Evaluate page's state and downloads without a browser: the CSV reads back to the table's numbers
// and carries the provenance in every line (fields with commas and quotes survive); the slice refuses
// what it cannot run with a message that says what to do, sends the engine the form's request, keeps
// the table and the form (a Map stands in for IndexedDB) and a fresh slice — a reload — shows them again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Engine, EvalTable, EvaluateRequest, ModelSummary, RunRecord } from '../../engine/api.ts';
import { EMBEDDED_DECISION } from '../../engine/train/governance.ts';
import { memoryKv } from '../kept.testlib.ts';
import { createEvaluateSlice, type EvaluateSlice } from '../evaluateSlice.ts';
import { CSV_COLUMNS, csvField, parseCsv, tableCsv, tableJson } from './exports.ts';
import { formProblem } from './persist.ts';
import { DEFAULT_FORM, evalRequest, formProblems, runProblem } from './form.ts';

const TABLE: EvalTable = {
  schema: 'lab-eval-table-v1', data: 'arithmetic-heldout-n4-seed0.jsonl', metric: 'exact', n: 4,
  rows: [
    { model: 'lab-micro', adapter: null, data: 'arithmetic-heldout-n4-seed0.jsonl', metric: 'exact', accuracy: 0.25, correct: 1, n: 4, score: 0.25, ci95: [0, 0.75], items: [] },
    {
      model: 'lab-micro', adapter: 'tiny, "quoted" (run run-1)', data: 'arithmetic-heldout-n4-seed0.jsonl', metric: 'exact', accuracy: 0.5, correct: 2, n: 4, score: 0.5, ci95: [0.0625, 1], items: [],
      run: { id: 'run-1', name: 'tiny, "quoted"', kind: 'grpo', model: 'lab-micro', steps: 2, data: { name: 'a.jsonl', sha256: 'cd'.repeat(32), rows: 4 }, governance: { ...EMBEDDED_DECISION('arithmetic') } },
    },
  ],
  provenance: {
    generator: 'test', lab: { name: 'Stoney-RL Lab', version: '0.1.0' }, createdAt: '2026-01-02T03:04:05.000Z',
    model: { name: 'lab-micro', source: 'url', arch: 'llama', parameters: 75_000, dtype: 'f32' },
    data: { name: 'arithmetic-heldout-n4-seed0.jsonl', source: 'embedded', sha256: 'ab'.repeat(32), bytes: 900, rows: 4, used: 4, task: null, governance: EMBEDDED_DECISION('arithmetic'), note: 'synthetic' },
    settings: { metric: 'exact', seed: 0, maxNewTokens: 8, batch: 4, limit: null, decoding: 'greedy', ci: 'bootstrap' },
  },
};

test('the CSV reads back to the table: one line per model, full numbers, provenance in every line', () => {
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField(null), '');
  const lines = parseCsv(tableCsv(TABLE));
  assert.equal(lines.length, 2);
  assert.deepEqual(Object.keys(lines[0]), [...CSV_COLUMNS]);
  TABLE.rows.forEach((r, i) => {
    const l = lines[i];
    assert.deepEqual([Number(l.score), Number(l.ci95_low), Number(l.ci95_high), Number(l.n), Number(l.correct)], [r.score, r.ci95[0], r.ci95[1], r.n, r.correct]);
    assert.deepEqual([l.data_sha256, l.created_at, l.lab_version, l.seed, l.model], ['ab'.repeat(32), TABLE.provenance.createdAt, '0.1.0', '0', 'lab-micro']);
    assert.match(l.data_governance, /^approved for training: embedded task set arithmetic/);
  });
  assert.deepEqual([lines[0].adapter, lines[0].run_kind, lines[0].run_id], ['base', 'base', '']);
  assert.deepEqual([lines[1].adapter, lines[1].run_kind, lines[1].run_id, lines[1].run_sources], ['tiny, "quoted" (run run-1)', 'GRPO', 'run-1', 'lab_tasks_arithmetic']);
  assert.deepEqual(JSON.parse(tableJson(TABLE)), TABLE);
});

test('the form: its checks, its request, which runs can make a row', () => {
  assert.deepEqual(formProblems(DEFAULT_FORM), {});
  assert.deepEqual(Object.keys(formProblems({ ...DEFAULT_FORM, base: false, batch: 0, limit: 0, data: { kind: 'file', name: '', text: '', rows: 0, manifest: null } })).sort(), ['batch', 'file', 'limit', 'models']);
  const req = evalRequest({ ...DEFAULT_FORM, runIds: ['r1', 'r2'], limit: 5 });
  assert.deepEqual([req.data, req.models, req.limit], [{ kind: 'embedded', task: 'arithmetic', split: 'heldout', n: 100, seed: 0 }, ['base', { runId: 'r1' }, { runId: 'r2' }], 5]);
  const file = evalRequest({ ...DEFAULT_FORM, data: { kind: 'file', name: 'x.jsonl', text: 't', rows: 1, manifest: null } });
  assert.deepEqual(file.data, { kind: 'text', name: 'x.jsonl', text: 't', governance: null }, 'no manifest: nothing approved, nothing refused, recorded as none');
  const run = { kind: 'sft', config: { full: false }, hasResult: true, status: 'done', model: 'm' } as RunRecord;
  const summary = { name: 'm' } as ModelSummary;
  assert.equal(runProblem(run, summary), null);
  assert.match(runProblem({ ...run, model: 'other' }, summary)!, /trained on other; the loaded model is m/);
  assert.match(runProblem({ ...run, hasResult: false, status: 'interrupted' }, summary)!, /no finished adapter \(interrupted\)/);
  assert.match(runProblem({ ...run, kind: 'reward-model' }, summary)!, /reward model/);
  assert.equal(formProblem({ ...DEFAULT_FORM, metric: 'bleu' }), 'metric');
  assert.equal(formProblem(structuredClone(DEFAULT_FORM)), null);
  // the rl split (GRPO's prompts): asked of the engine as chosen, kept; the training split is not offered
  const rl = { ...DEFAULT_FORM, data: { kind: 'embedded', task: 'conlang', n: 7, seed: 3, split: 'rl' } } as const;
  assert.deepEqual(evalRequest(rl).data, { kind: 'embedded', task: 'conlang', split: 'rl', n: 7, seed: 3 });
  assert.equal(formProblem(structuredClone(rl)), null);
  assert.equal(formProblem({ ...rl, data: { ...rl.data, split: 'train' } }), 'data');
});

type S = EvaluateSlice & { model: { status: string; summary?: ModelSummary }; adapterBusy: boolean; runs: { status: string; list: RunRecord[] } };

function slice(engine: Partial<Engine>, kv: ReturnType<typeof memoryKv>, model: S['model']): { get: () => S } {
  let state = { model, adapterBusy: false, runs: { status: 'ready', list: [] } } as unknown as S;
  const set = (p: Partial<S>) => void (state = { ...state, ...p });
  state = { ...state, ...createEvaluateSlice<S>(engine as Engine, set, () => state, { kv }) };
  return { get: () => state };
}

test('the slice: refusals that say what to do, the request, the table kept and shown again after a reload', async () => {
  const kv = memoryKv();
  const asked: EvaluateRequest[] = [];
  const engine: Partial<Engine> = {
    async evaluate(req, onProgress) {
      asked.push(req);
      onProgress?.({ phase: 'answer', model: 0, models: 1, label: 'base', done: 4, total: 4, etaSec: 0 });
      return TABLE;
    },
  };
  const none = slice(engine, kv, { status: 'idle' });
  await none.get().runEvaluate();
  assert.deepEqual([none.get().evaluation.status, none.get().evaluation.error?.message], ['error', 'No model is loaded: load one on the Models page first.']);

  const s = slice(engine, kv, { status: 'ready', summary: { name: 'lab-micro', adapter: null } as ModelSummary });
  // a run deleted since it was ticked (no longer listed) is dropped from the form
  s.get().setEvalForm({ runIds: ['gone'], data: { kind: 'embedded', task: 'conlang', n: 4, seed: 1 }, maxNewTokens: 8 });
  await s.get().runEvaluate();
  assert.equal(s.get().evaluation.status, 'done');
  assert.deepEqual(s.get().evaluation.form.runIds, []);
  assert.deepEqual([asked[0].data, asked[0].models, asked[0].maxNewTokens], [{ kind: 'embedded', task: 'conlang', split: 'heldout', n: 4, seed: 1 }, ['base'], 8]);
  assert.equal(s.get().evaluation.progress?.done, 4);

  const merged = slice(engine, kv, { status: 'ready', summary: { name: 'lab-micro', adapter: { name: 'x', r: 1, alpha: 1, targets: [] } } as unknown as ModelSummary });
  (merged.get().runs.list as RunRecord[]).push({ id: 'r', name: 'r', kind: 'sft', config: { full: false }, hasResult: true, status: 'done', model: 'lab-micro' } as RunRecord);
  merged.get().setEvalForm({ runIds: ['r'] });
  await merged.get().runEvaluate();
  assert.match(merged.get().evaluation.error!.message, /The adapter “x” is active .* switch to the base model first/);

  // a reload: a fresh slice over the same store shows the kept table and the form (written a moment after the last change)
  await new Promise((ok) => setTimeout(ok, 400));
  const again = slice(engine, kv, { status: 'idle' });
  await again.get().restoreEvaluation();
  assert.deepEqual([again.get().evaluation.tableFrom, again.get().evaluation.table], ['saved', TABLE]);
  assert.deepEqual(again.get().evaluation.form.runIds, ['r'], 'the last form written');
  await again.get().clearEvaluation();
  assert.equal(await kv.get('eval:table'), undefined);
});
