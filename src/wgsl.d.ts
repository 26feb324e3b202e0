// WGSL files are imported as strings: Vite (vite.config.ts plugin), Node (tools/wgsl-hook.mjs)
// and esbuild (--loader:.wgsl=text) all do the same.
declare module '*.wgsl' {
  const source: string;
  export default source;
}

/** Names of the models shipped inside the app (models/<name>/), set by tools/embedded-models.ts. */
declare const __LAB_EMBEDDED_MODELS__: string[];
