// The Analyze page's sets and settings across a reload (./persist.ts 'analysis:inputs' through the slice):
// what was set — n, seed, resamples, a picked file with its text — comes back in a new slice over the same
// store; a change made before the kept inputs arrive wins; an entry of another version is dropped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Engine, RunRecord } from '../../engine/api.ts';
import { createAnalyzeSlice, type AnalyzeSlice } from '../analyzeSlice.ts';
import { INPUTS_KEY, loadInputs } from './persist.ts';
import type { Kv } from '../kept.ts';
import { memoryKv } from '../kept.testlib.ts';
import { fileChoice } from './sets.ts';

type S = AnalyzeSlice & { model: { status: string }; adapterBusy: boolean; runs: { list: RunRecord[] }; useAdapter(): Promise<void> };
function slice(kv: Kv) {
  let state = { model: { status: 'idle' }, adapterBusy: false, runs: { list: [] }, useAdapter: async () => undefined } as unknown as S;
  const set = (p: Partial<S>) => void (state = { ...state, ...p });
  state = { ...state, ...createAnalyzeSlice<S>({} as Engine, set, () => state, { inputsKv: kv }) };
  return () => state;
}
const settle = () => new Promise((ok) => setTimeout(ok, 400)); // past the 300 ms that gathers keystrokes

test('the sets and settings come back after a reload, a picked file\'s text included', async () => {
  const kv = memoryKv();
  const s = slice(kv);
  s().setAnalyzeSettings({ n: 7, seed: 3, nBoot: 30 });
  const file = fileChoice('stoney-items.jsonl', '{"question":"â","answer":"#### îzâ"}\n{"question":"q","answer":"#### 2"}\n', 'mine');
  s().setAnalyzeSet('b', file);
  await settle();
  const back = slice(kv);
  assert.equal(back().analysis.settings.n, 100, 'a new page starts at the defaults');
  await back().restoreAnalysis();
  assert.deepEqual([back().analysis.settings.n, back().analysis.settings.seed, back().analysis.settings.nBoot, back().analysis.settings.nPerm], [7, 3, 30, 5000]);
  assert.deepEqual(back().analysis.sets.b, file);
  assert.deepEqual(back().analysis.sets.a, s().analysis.sets.a);
});

test('a change made before the kept inputs arrive wins; another version is dropped', async () => {
  const kv = memoryKv();
  const s = slice(kv);
  s().setAnalyzeSettings({ n: 9 });
  await settle();
  const next = slice(kv);
  next().setAnalyzeSettings({ seed: 4 }); // the user was quicker
  await next().restoreAnalysis();
  assert.deepEqual([next().analysis.settings.n, next().analysis.settings.seed], [100, 4]);
  kv.map.set(INPUTS_KEY, { schema: 'lab-analysis-inputs-v0', sets: {}, settings: {} });
  assert.equal(await loadInputs(kv), null);
  assert.equal(kv.map.has(INPUTS_KEY), false);
  await settle();
});
