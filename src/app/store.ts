// The lab's UI state (zustand, vanilla store): the adapter panel, the kernel self-check, the
// model slice (./modelSlice.ts: load, cache, generate, attention), the ONNX verify slice, the
// Compare page's slice (./compareSlice.ts), training (./trainSlice.ts), sweeps of lr × LoRA rank (./sweepSlice.ts) and the Analyze page's
// report (./analyzeSlice.ts), the Evaluate page's table (./evaluateSlice.ts), and Hub datasets for the Data page (./dataSlice.ts). It talks to an Engine only
// (src/engine/engine.ts), never to WebGPU or kernels directly, and does not know whether the
// engine runs in a worker or in this thread.

import { createStore, type StoreApi } from 'zustand/vanilla';
import type { AdapterInfo, Engine } from '../engine/engine.ts';
import type { Progress, SelfCheckReport } from '../engine/selfcheck.ts';
import { errorView, type ErrorView } from './errors.ts';
import { createModelSlice, type ModelSlice } from './modelSlice.ts';
import { createVerifySlice, type VerifySlice } from './verifySlice.ts';
import { createCompareSlice, type CompareSlice } from './compareSlice.ts';
import { createTrainSlice, type TrainSlice } from './trainSlice.ts';
import { createSweepSlice, type SweepSlice } from './sweepSlice.ts';
import { createAnalyzeSlice, type AnalyzeSlice } from './analyzeSlice.ts';
import { createDataSlice, type DataSlice } from './dataSlice.ts';
import { createEvaluateSlice, type EvaluateSlice } from './evaluateSlice.ts';
import { defaultSettingsKv, loadPrecision, savePrecision, type Precision } from './settingsPersist.ts';
import type { Kv } from './kept.ts';

export { errorView, type ErrorView };
export type { AttnState, CacheState, GenState, ModelState } from './modelSlice.ts';
export type { VerifyState } from './verifySlice.ts';
export type { CompareRun, CompareState } from './compareSlice.ts';
export type { DataChoice, LiveRun } from './trainSlice.ts';
export type { AnalyzeState } from './analyzeSlice.ts';
export type { EvaluateState } from './evaluateSlice.ts';

export interface AdapterState {
  status: 'idle' | 'loading' | 'ready' | 'error';
  info?: AdapterInfo;
  error?: ErrorView;
}

export interface CheckState {
  status: 'idle' | 'running' | 'done' | 'cancelled' | 'error';
  progress?: Progress;
  report?: SelfCheckReport;
  error?: ErrorView;
}

/** The matmul precision requests run under (Engine.setKernelPrefs), and the last attempt to change it. */
export interface PrecisionState {
  precision: Precision;
  status: 'idle' | 'setting' | 'error';
  error?: ErrorView;
}

export interface LabState extends ModelSlice, VerifySlice, CompareSlice, TrainSlice, SweepSlice, AnalyzeSlice, DataSlice, EvaluateSlice {
  adapter: AdapterState;
  check: CheckState;
  kernels: PrecisionState;
  loadAdapter(): Promise<void>;
  /** Switches every later request's matmuls to f16 operands with f32 sums (needs shader-f16) or back to f32; kept across reloads. */
  setPrecision(p: Precision): Promise<void>;
  runSelfCheck(only?: string[]): Promise<void>;
  cancelSelfCheck(): void;
}

export type LabStore = StoreApi<LabState>;

export function createLabStore(engine: Engine, settingsKv: Kv | null = defaultSettingsKv()): LabStore {
  let running: AbortController | null = null;
  return createStore<LabState>()((set, get) => ({
    ...createModelSlice<LabState>(engine, set, get),
    ...createVerifySlice<LabState>(engine, set, get),
    ...createCompareSlice<LabState>(engine, set, get),
    ...createTrainSlice<LabState>(engine, set, get),
    ...createSweepSlice<LabState>(engine, set, get),
    ...createAnalyzeSlice<LabState>(engine, set, get),
    ...createDataSlice<LabState>(engine, set, get),
    ...createEvaluateSlice<LabState>(engine, set, get),
    adapter: { status: 'idle' },
    check: { status: 'idle' },
    kernels: { precision: 'f32', status: 'idle' },

    async loadAdapter() {
      if (get().adapter.status === 'loading') return;
      set({ adapter: { status: 'loading' } });
      try {
        const info = await engine.adapterInfo();
        set({ adapter: { status: 'ready', info } });
        // the precision chosen before a reload, where this GPU can run it (another GPU may lack shader-f16)
        if (info.enabled.shaderF16 && (await loadPrecision(settingsKv)) === 'f16') await get().setPrecision('f16');
      } catch (e) {
        set({ adapter: { status: 'error', error: errorView(e) } });
      }
    },

    async setPrecision(p) {
      set({ kernels: { ...get().kernels, status: 'setting', error: undefined } });
      try {
        const prefs = await engine.setKernelPrefs({ precision: p });
        set({ kernels: { precision: prefs.precision, status: 'idle' } });
        await savePrecision(prefs.precision, settingsKv).catch(() => undefined); // not kept: the choice still holds now
      } catch (e) {
        set({ kernels: { ...get().kernels, status: 'error', error: errorView(e) } });
      }
    },

    async runSelfCheck(only) {
      if (running) return; // one at a time
      const ctl = (running = new AbortController());
      set({ check: { status: 'running', progress: { done: 0, total: 0, label: 'starting' } } });
      try {
        const report = await engine.selfCheck({ only }, (progress) => set({ check: { status: 'running', progress } }), ctl.signal);
        set({ check: { status: 'done', report, progress: { done: report.total, total: report.total, label: 'done' } } });
      } catch (e) {
        const error = errorView(e);
        set({ check: { status: error.name === 'CancelledError' ? 'cancelled' : 'error', error, progress: get().check.progress } });
      } finally {
        running = null;
      }
    },

    cancelSelfCheck() {
      running?.abort();
    },
  }));
}
