// The lab page: a header (the loaded model, the active adapter, the device; the page links), a
// banner when WebGPU or the GPU's limits stand in the way, and one page at a time, chosen by the
// URL hash (./route.ts): #/models, #/data, #/train, #/compare, #/analyze, #/evaluate, #/runs, #/validate. With no hash: Models until
// a model is loaded, then Compare. State lives in the store (./store.ts); the panels only read it
// and call its actions. data-testid attributes are for the e2e tests (e2e/).
//
// Developer options from the query string (./devOptions.ts), shown on the page when set:
// ?model=<folder URL> loads that folder on start; ?hubEndpoint=<url> replaces huggingface.co.
// Without ?model=, the embedded default model (models/lab-default, shipped in the build) loads.
import { useEffect, useRef } from 'react';
import type { LabStore } from './store.ts';
import { StoreContext, useLab } from './lab.tsx';
import { readDevOptions, urlFolderName } from './devOptions.ts';
import { PAGES, landingPage, useHashPage, type PageId } from './route.ts';
import { GpuBanner } from './GpuBanner.tsx';
import { ModelsPage } from './ModelsPage.tsx';
import { DataPage } from './DataPage.tsx';
import { TrainPage } from './TrainPage.tsx';
import { ComparePage } from './ComparePage.tsx';
import { RunsPage } from './RunsPage.tsx';
import { AnalyzePage } from './AnalyzePage.tsx';
import { ValidatePage } from './validate/ValidatePage.tsx';
import { EvaluatePage } from './evaluate/EvaluatePage.tsx';

/** Models shipped inside the app (tools/embedded-models.ts); empty outside a Vite build. */
export const EMBEDDED_MODELS: string[] = typeof __LAB_EMBEDDED_MODELS__ !== 'undefined' ? __LAB_EMBEDDED_MODELS__ : [];

const PAGE_VIEWS: Record<PageId, () => React.JSX.Element> = { models: ModelsPage, data: DataPage, train: TrainPage, compare: ComparePage, analyze: AnalyzePage, evaluate: EvaluatePage, runs: RunsPage, validate: ValidatePage };

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
      <Shell />
    </StoreContext.Provider>
  );
}

function Shell() {
  const hashPage = useHashPage();
  const loaded = useLab((s) => !!s.model.summary);
  const page = landingPage(hashPage, loaded);
  const main = useRef<HTMLElement>(null);
  const title = PAGES.find((p) => p.id === page)!.title;
  useEffect(() => void (document.title = `${title} · Stoney-RL Lab`), [title]);
  useEffect(() => {
    // after a page link (or back/forward), keyboard and screen-reader users land on the new page
    const onHash = () => requestAnimationFrame(() => main.current?.focus());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  const View = PAGE_VIEWS[page];
  return (
    <>
      <header className="app-header">
        <div className="brand">
          <h1>Stoney-RL Lab</h1>
          <StatusLine />
        </div>
        <nav aria-label="Lab pages" className="app-nav">
          <ul>
            {PAGES.map((p) => (
              <li key={p.id}>
                <a href={`#/${p.id}`} aria-current={p.id === page ? 'page' : undefined} data-testid={`nav-${p.id}`}>
                  {p.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      <GpuBanner />
      <main ref={main} tabIndex={-1} data-testid="page" data-page={page} aria-label={title}>
        <View />
      </main>
      <footer data-testid="offline-note">
        Works offline: all code ships with this page, and nothing is fetched from other sites unless you load a model from the Hugging Face Hub. This lab contains no
        Stoney data.
      </footer>
    </>
  );
}

/** The loaded model, the active adapter ("base" = none) and the device, always in view. */
function StatusLine() {
  const model = useLab((s) => s.model);
  // the adapter merged into the loaded model's weights (Engine.setAdapter), as the engine reports it
  const adapterName = useLab((s) => s.model.summary?.adapter?.name) ?? 'base';
  const gpu = useLab((s) => s.adapter);
  const modelText = model.summary ? model.summary.name : model.status === 'loading' ? `loading ${model.label ?? ''}…` : 'none loaded';
  const device = gpu.info ? gpu.info.description || `${gpu.info.vendor} ${gpu.info.architecture}`.trim() : gpu.status === 'error' ? 'no WebGPU' : '…';
  return (
    <dl className="status-line" aria-label="Lab status">
      <div>
        <dt>Model</dt>
        <dd data-testid="header-model" data-status={model.status} data-name={model.summary?.name ?? ''} title={modelText}>
          {modelText}
          {model.status === 'loading' && model.summary ? <span className="muted"> (loading {model.label}…)</span> : null}
        </dd>
      </div>
      <div>
        <dt>Adapter</dt>
        <dd data-testid="header-adapter" title={adapterName}>
          {adapterName}
        </dd>
      </div>
      <div>
        <dt>Device</dt>
        <dd data-testid="header-device" data-status={gpu.status} title={gpu.info ? `${gpu.info.vendor} · ${gpu.info.architecture} · ${gpu.info.description}` : undefined}>
          {device}
        </dd>
      </div>
    </dl>
  );
}
