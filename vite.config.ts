import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { embeddedModels } from './tools/embedded-models.ts';
import { contentSecurityPolicy } from './tools/csp.ts';

// WGSL kernels are imported as strings (the same in Node through tools/wgsl-hook.mjs).
function wgsl(): Plugin {
  return {
    name: 'wgsl-as-string',
    transform(code, id) {
      if (id.endsWith('.wgsl')) return { code: `export default ${JSON.stringify(code)};`, map: null };
    },
  };
}

export default defineConfig({
  // embeddedModels: models/lab-default (and lab-micro) ship inside the app: see tools/embedded-models.mjs
  // contentSecurityPolicy: only the app itself and the Hugging Face Hub (tools/csp.ts)
  plugins: [react(), wgsl(), embeddedModels(), contentSecurityPolicy()],
  // relative asset paths: the static build runs from any folder, or from disk through `npm run preview`
  base: './',
  worker: { format: 'es', plugins: () => [wgsl()] },
  build: { target: 'es2022', outDir: 'dist' },
  // `npm start` on a fresh clone: the dev server pre-bundles dependencies it finds from these entries at
  // startup. The engine worker is reached only at run time, so without it the worker's dependencies were
  // found late, re-bundled while the page loaded, and the page's requests for the old bundle got HTTP 504.
  optimizeDeps: { entries: ['index.html', 'workers/engine.worker.ts'] },
});
