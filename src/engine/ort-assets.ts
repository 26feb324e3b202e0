// Browser only (imported by ./verify.ts in a browser, never in Node): onnxruntime-web's WebAssembly
// binary as an asset of this build, so the engine worker loads it from the app's own origin (no
// CDN, works offline). The package's default browser entry (dist/ort.bundle.min.mjs: the wasm and
// WebGPU/JSEP backends, its JS glue inlined) needs exactly this one file.
import wasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm?url';

/** URL of ort-wasm-simd-threaded.jsep.wasm in the build (relative to the page when base is './'). */
export const ORT_WASM_URL: string = wasmUrl;
