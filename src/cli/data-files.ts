// Data files for the CLI: what --data names (a local .jsonl, .json or .parquet file, or a Hub dataset
// hf://datasets/...) read as the engine's row loaders take it (readDataFile, the page's code too): JSONL
// as its text, JSON and Parquet rows as JSONL lines at their row numbers (engine/data/dataset.ts).
// Hub datasets are cached in a folder (STONEY_LAB_CACHE, default ~/.cache/stoney-lab/hub), so a second
// run, or a workshop without a network, reads them from disk.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { readDataFile, readRows, type LoadedRows } from '../engine/data/dataset.ts';
import { isHubDatasetRef, loadHubDataset, parseHubDatasetRef } from '../engine/data/hub-dataset.ts';
import { FsBlobStore } from './fs-blob-store.ts';

export const cacheDir = (): string => process.env.STONEY_LAB_CACHE ?? join(homedir(), '.cache', 'stoney-lab', 'hub');

/** The text a training or evaluation command's --data gives the engine (readDataFile, as the page reads a picked file). */
export async function readDataText(file: string): Promise<string> {
  return (await readDataFile(new Uint8Array(readFileSync(file)), file)).text;
}

/** A local file's or a Hub dataset's rows, with download progress on stderr. */
export async function loadDataSource(spec: string, opts: { config?: string; split?: string; signal?: AbortSignal; endpoint?: string } = {}): Promise<LoadedRows> {
  if (!isHubDatasetRef(spec)) return readRows(new Uint8Array(readFileSync(spec)), spec);
  const ref = parseHubDatasetRef(spec, opts.config, opts.split);
  let last = 0;
  return loadHubDataset(ref, {
    store: new FsBlobStore(cacheDir()),
    token: process.env.HF_TOKEN || undefined,
    endpoint: opts.endpoint ?? process.env.HF_ENDPOINT ?? undefined,
    signal: opts.signal,
    onFile: (f, i, n) => process.stderr.write(`lab data: ${f}${n > 1 ? ` (${i + 1} of ${n})` : ''}\n`),
    onProgress: (p) => {
      const now = performance.now();
      if (now - last < 1000 && p.etaSec !== 0) return;
      last = now;
      const pct = p.total ? ` ${((100 * p.bytes) / p.total).toFixed(0)}%` : '';
      process.stderr.write(`lab data: ${p.file}: ${(p.bytes / 1e6).toFixed(1)} MB${pct}${p.etaSec ? ` · ETA ${Math.ceil(p.etaSec)} s` : ''}\n`);
    },
  });
}
