// Page entry: the engine (a worker), the store, the React tree. Also exposes results for tests:
// window.__labAdapter and window.__labSelfCheck are set once each finishes (see e2e/browser.test.ts);
// window.__labEngine is the Engine the UI talks to, for scripts (src/bench/browser.ts).
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app/App.tsx';
import { createEngine } from './app/connect.ts';
import { createLabStore, type AdapterState, type CheckState } from './app/store.ts';
import type { Engine } from './engine/engine.ts';
import './app/app.css';

declare global {
  interface Window {
    __labAdapter?: AdapterState;
    __labSelfCheck?: CheckState;
    __labEngine?: Engine;
  }
}

const engine = createEngine();
window.__labEngine = engine;
const store = createLabStore(engine);
store.subscribe((s, prev) => {
  if (s.adapter !== prev.adapter && (s.adapter.status === 'ready' || s.adapter.status === 'error')) window.__labAdapter = s.adapter;
  if (s.check !== prev.check && s.check.status !== 'running' && s.check.status !== 'idle') window.__labSelfCheck = s.check;
});

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App store={store} />
  </StrictMode>,
);
