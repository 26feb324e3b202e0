// WGSL files are imported as strings: Vite (vite.config.ts plugin), Node (tools/wgsl-hook.mjs)
// and esbuild (--loader:.wgsl=text) all do the same.
declare module '*.wgsl' {
  const source: string;
  export default source;
}
