// Page entry: the engine (a worker), the store, the React tree. Also exposes results for tests:
// window.__labAdapter and window.__labSelfCheck are set once each finishes (see e2e/browser.test.ts);
// window.__labEngine is the Engine the UI talks to, for scripts (src/bench/browser.ts);
// window.__labCompare holds the Compare page's last run (both InspectResults, as drawn) for e2e/compare.test.ts.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app/App.tsx';
import { createEngine } from './app/connect.ts';
import { createLabStore, type AdapterState, type CheckState } from './app/store.ts';
import type { Engine, InspectResult } from './engine/engine.ts';
import type { CompareRun } from './app/compareSlice.ts';
import './app/app.css';

declare global {
  interface Window {
    __labAdapter?: AdapterState;
    __labSelfCheck?: CheckState;
    __labEngine?: Engine;
    __labCompare?: { left: InspectResult; right: InspectResult; prompts: { left: string; right: string }; model: string; adapter: string; run: CompareRun };
  }
}

const engine = createEngine();
window.__labEngine = engine;
const store = createLabStore(engine);
store.subscribe((s, prev) => {
  if (s.adapter !== prev.adapter && (s.adapter.status === 'ready' || s.adapter.status === 'error')) window.__labAdapter = s.adapter;
  if (s.check !== prev.check && s.check.status !== 'running' && s.check.status !== 'idle') window.__labSelfCheck = s.check;
  const run = s.compare.run;
  if (run && run !== prev.compare.run) {
    window.__labCompare = { left: run.left.result, right: run.right.result, prompts: { left: run.left.prompt.text, right: run.right.prompt.text }, model: run.model, adapter: run.adapter, run };
  }
});

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App store={store} />
  </StrictMode>,
);
