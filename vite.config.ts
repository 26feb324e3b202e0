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
});
