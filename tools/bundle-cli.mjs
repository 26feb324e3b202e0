#!/usr/bin/env node
// Bundles the CLI, the benchmark harness and the kernel tests into single .mjs files under .bundle/,
// for the GPU machine (which gets Node and Dawn from shared/tools/device-kit.sh but no node_modules).
//   node tools/bundle-cli.mjs            → .bundle/lab.mjs, .bundle/bench.mjs, .bundle/transformers.mjs, .bundle/tests/*.test.mjs
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

rmSync('.bundle', { recursive: true, force: true });
// Vite's `?url` asset imports (src/engine/ort-assets.ts: the ORT wasm for the browser build) mean nothing
// in Node: the CLI now runs LocalEngine, whose ONNX check imports that module for browsers only, and an
// external `?url` import would be resolved (and fail) when the bundle loads. It becomes an empty URL.
const browserAssets = {
  name: 'browser-url-assets',
  setup(b) {
    b.onResolve({ filter: /\?url$/ }, (a) => ({ path: a.path, namespace: 'browser-url-asset' }));
    b.onLoad({ filter: /.*/, namespace: 'browser-url-asset' }, () => ({ contents: 'export default "";', loader: 'js' }));
  },
};
const common = {
  plugins: [browserAssets],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // onnxruntime-web: loaded from .bundle/ort/ (bench -- ort --ort-dist), never bundled
  external: ['webgpu', 'onnxruntime-web'],
  loader: { '.wgsl': 'text' },
  logLevel: 'warning',
  // esm bundles of CommonJS code need a require()
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
};
await build({ ...common, entryPoints: { lab: 'src/cli/main.ts', bench: 'src/bench/main.ts' }, outdir: '.bundle', outExtension: { '.js': '.mjs' } });
// `bench -- transformers` on its own (main.ts leaves it out of bench.mjs): transformers.js is imported at run
// time from .bundle/node_modules, which tools/bench/tjs-kit.sh's archive fills
await build({ ...common, entryPoints: { transformers: 'src/bench/transformers-cli.ts' }, outdir: '.bundle', outExtension: { '.js': '.mjs' } });
// kernel tests, and the runtime and model tests that need only WebGPU (no browser, no test servers)
const tests = [
  ...readdirSync('shaders').filter((f) => f.endsWith('.test.ts')).map((f) => `shaders/${f}`),
  ...['src/engine/gpu/runtime.test.ts', 'src/engine/model/llama.test.ts', 'src/engine/train/graph.test.ts', 'src/engine/train/trainer.test.ts', 'src/engine/train/kernel-prefs.test.ts', 'src/engine/train/graph-hooks.test.ts'],
];
await build({ ...common, entryPoints: tests, outdir: '.bundle/tests', outExtension: { '.js': '.mjs' }, entryNames: '[name]' });
// onnxruntime-web's WebGPU build for `bench -- ort` (the .wasm xz-compressed: 27 MB → 4 MB; unpack with xz -d)
mkdirSync('.bundle/ort');
const dist = 'node_modules/onnxruntime-web/dist';
for (const f of ['ort.webgpu.min.mjs', 'ort-wasm-simd-threaded.asyncify.mjs']) copyFileSync(`${dist}/${f}`, `.bundle/ort/${f}`);
execFileSync('sh', ['-c', `xz -T0 -6 -c ${dist}/ort-wasm-simd-threaded.asyncify.wasm > .bundle/ort/ort-wasm-simd-threaded.asyncify.wasm.xz`]);
console.log(`bundled lab, bench and ${tests.length} test files into .bundle/ (and onnxruntime-web's WebGPU build in .bundle/ort/)`);
