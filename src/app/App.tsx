// The lab page: Model (load from the Hub, a local folder or a URL), Generate, Attention, then the
// WebGPU adapter and the kernel self-check. State lives in the store (./store.ts); the panels
// only read it and call its actions. data-testid attributes are for the e2e tests (e2e/).
//
// Developer options from the query string (./devOptions.ts), shown on the page when set:
// ?model=<folder URL> loads that folder on start; ?hubEndpoint=<url> replaces huggingface.co.
// Without ?model=, the embedded default model (models/lab-default, shipped in the build) loads.
import { useEffect } from 'react';
import type { LabStore } from './store.ts';
import { StoreContext } from './lab.tsx';
import { readDevOptions, urlFolderName } from './devOptions.ts';
import { ModelPanel } from './ModelPanel.tsx';
import { GeneratePanel } from './GeneratePanel.tsx';
import { AttentionPanel } from './AttentionPanel.tsx';
import { AdapterPanel, SelfCheckPanel } from './SystemPanels.tsx';
import { TasksPanel } from './TasksPanel.tsx';

/** Models shipped inside the app (tools/embedded-models.ts); empty outside a Vite build. */
export const EMBEDDED_MODELS: string[] = typeof __LAB_EMBEDDED_MODELS__ !== 'undefined' ? __LAB_EMBEDDED_MODELS__ : [];

export function App({ store }: { store: LabStore }) {
  useEffect(() => {
    const s = store.getState();
    void s.loadAdapter();
    const dev = readDevOptions();
    s.setHubEndpoint(dev.hubEndpoint);
    // loadModel ignores a second call while one load runs (StrictMode runs effects twice)
    if (dev.model) void s.loadModel({ kind: 'url', baseUrl: dev.model }, urlFolderName(dev.model));
    // otherwise the embedded default, from the app's own files: the lab works offline from the start
    else if (EMBEDDED_MODELS.includes('lab-default')) {
      void s.loadModel({ kind: 'url', baseUrl: new URL('./models/lab-default/', location.href).href }, 'lab-default (embedded)');
    }
  }, [store]);
  return (
    <StoreContext.Provider value={store}>
      <header>
        <h1>Stoney-RL Lab</h1>
        <p className="subtitle">Fine-tune small language models on WebGPU and watch how they reason.</p>
      </header>
      <main>
        <ModelPanel />
        <GeneratePanel />
        <TasksPanel />
        <AttentionPanel />
        <AdapterPanel />
        <SelfCheckPanel />
      </main>
      <footer data-testid="offline-note">
        Works offline: all code ships with this page, and nothing is fetched from other sites unless you load a model from the Hugging Face Hub. This lab contains no
        Stoney data.
      </footer>
    </StoreContext.Provider>
  );
}
