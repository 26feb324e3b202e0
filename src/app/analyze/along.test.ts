// The Analyze page's "along a run" (analyzeSlice.runAlong) over a fake engine: the base model and each chosen
// checkpoint in turn (every k-th and the last), each with its checkpoint's files as the adapter, the same
// request every time, the trajectory of the reports, and the adapter active before switched back on — also
// after a cancel; runs that cannot be analysed so are refused with the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AnalyzeRequest, Engine, ModelSummary, ReportData, RunRecord } from '../../engine/api.ts';
import { sample } from '../../engine/analysis/report-sample.testlib.ts';
import { alongSteps, createAnalyzeSlice, type AnalyzeSlice } from '../analyzeSlice.ts';

type Adapter = { runId: string } | { name: string; files: Record<string, Uint8Array> } | null;
interface S extends AnalyzeSlice {
  model: { status: string; summary?: ModelSummary };
  adapterBusy: boolean;
  adapterError?: { message: string };
  runs: { list: RunRecord[] };
  useAdapter(a: Adapter): Promise<void>;
}

const run = (over: Partial<RunRecord> = {}) => ({
  id: 'run-a', name: 'sft-a', kind: 'sft', status: 'done', model: 'tiny-llama-2x3', config: { full: false, lora: { r: 4 } }, checkpoints: [1, 2, 3, 4], hasResult: true, step: 4, ...over,
}) as unknown as RunRecord;

function slice(runs: RunRecord[], activeAdapter: string | null, onReport?: (n: number, signal?: AbortSignal) => void) {
  const switched: Adapter[] = [];
  const reqs: AnalyzeRequest[] = [];
  let reports = 0;
  let adapterName: string | null = activeAdapter;
  const engine = {
    async runFiles(runId: string, which: { checkpoint: number }) {
      return { 'adapter_model.safetensors': new Uint8Array([which.checkpoint]), 'adapter_config.json': new TextEncoder().encode(runId) };
    },
    async analyzeReport(req: AnalyzeRequest, _p: unknown, signal?: AbortSignal): Promise<ReportData> {
      reqs.push(req);
      reports++;
      onReport?.(reports, signal);
      if (signal?.aborted) throw Object.assign(new Error('cancelled'), { name: 'CancelledError' });
      const r = structuredClone(sample());
      r.adapter = adapterName ? { name: adapterName } : null;
      r.ablation.b[5].mean -= reports; // head L1H2 moves with each point
      return r;
    },
  } as unknown as Engine;
  let state = {} as S;
  const set = (p: Partial<S>) => void (state = { ...state, ...p });
  state = {
    model: { status: 'ready', summary: { name: 'tiny-llama-2x3', adapter: activeAdapter ? { name: activeAdapter } : null } as unknown as ModelSummary },
    adapterBusy: false,
    runs: { list: runs },
    async useAdapter(a: Adapter) {
      switched.push(a);
      adapterName = a === null ? null : 'runId' in a ? `${a.runId}-result` : a.name;
    },
    ...createAnalyzeSlice<S>(engine, set, () => state),
  } as S;
  state.setAnalyzeSettings({ n: 3, nBoot: 10, nPerm: 10 });
  return { s: () => state, switched, reqs };
}

test('alongSteps: every k-th checkpoint and the last', () => {
  assert.deepEqual(alongSteps([4, 1, 2, 3], 1), [1, 2, 3, 4]);
  assert.deepEqual(alongSteps([1, 2, 3, 4, 5], 2), [2, 4, 5]);
  assert.deepEqual(alongSteps([25, 50, 75], 50), [50, 75]);
});

test('runAlong: the base, then each chosen checkpoint\'s files as the adapter, one request for all; the trajectory; the base model back', async () => {
  const { s, switched, reqs } = slice([run()], null);
  await s().runAlong('run-a', 2);
  const a = s().analysis.along;
  assert.equal(a.status, 'done', a.error?.message);
  assert.deepEqual(a.steps, [0, 2, 4]);
  assert.equal(switched.length, 4, 'base, checkpoint 2, checkpoint 4, then back');
  assert.equal(switched[0], null);
  assert.deepEqual(switched.slice(1, 3).map((x) => x && 'files' in x ? [x.name, x.files['adapter_model.safetensors'][0]] : x), [['sft-a · checkpoint 2', 2], ['sft-a · checkpoint 4', 4]]);
  assert.equal(switched[3], null, 'the base model was active before');
  assert.equal(reqs.length, 3);
  assert.ok(reqs.every((r) => JSON.stringify(r) === JSON.stringify(reqs[0])), 'the same sets and settings for every point');
  assert.deepEqual(a.trajectory?.steps, [0, 2, 4]);
  assert.deepEqual(a.trajectory?.adapters, [null, 'sft-a · checkpoint 2', 'sft-a · checkpoint 4']);
  assert.equal(a.trajectory?.top.causal[0].line.startsWith('L1H2 ablation on Velmic'), true);
  assert.match(a.restored ?? '', /base model is active again/);
});

test('a stored run\'s adapter active before is switched back on, also after a cancel', async () => {
  let s!: () => S;
  const made = slice([run(), run({ id: 'run-b', name: 'sft-b', checkpoints: [], step: 3 })], 'sft-b (run run-b)', (n, signal) => {
    if (n === 2) s().cancelAlong(); // during the second point's report
    void signal;
  });
  s = made.s;
  await s().runAlong('run-a', 1);
  const a = s().analysis.along;
  assert.equal(a.status, 'cancelled');
  assert.equal(made.reqs.length, 2);
  assert.equal(made.switched.length, 3, 'base, checkpoint 1, then back');
  assert.deepEqual(made.switched[2], { runId: 'run-b' }, 'the run whose result was active (runAdapterNames: "sft-b (run run-b)")');
  assert.match(a.restored ?? '', /run run-b is active again/);
});

test('what cannot run along a run is refused with the reason', async () => {
  const cases: [RunRecord[], string, RegExp][] = [
    [[run()], 'nope', /not stored any more/],
    [[run({ config: { full: true, lora: { r: 4 } } } as Partial<RunRecord>)], 'run-a', /trained every weight/],
    [[run({ model: 'other' })], 'run-a', /trained other; the loaded model is tiny-llama-2x3/],
    [[run({ checkpoints: [] })], 'run-a', /has no checkpoints/],
  ];
  for (const [runs, id, re] of cases) {
    const { s, switched } = slice(runs, null);
    await s().runAlong(id, 1);
    assert.equal(s().analysis.along.status, 'error');
    assert.match(s().analysis.along.error?.message ?? '', re);
    assert.equal(switched.length, 0, 'nothing switched');
  }
});
