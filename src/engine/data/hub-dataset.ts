// Datasets from the Hugging Face Hub: one file of a dataset repo, or every Parquet file of a split as the
// Hub's dataset viewer converted it. Both go through hubSource (../hub/hub.ts): streamed with progress,
// resumed after a dropped connection or a cancel, checked against the Hub's SHA-256 where it gives one,
// and cached (IndexedDB in the browser, a folder for the CLI), so a workshop that downloaded a set once
// works offline after.
//
//   hf://datasets/{owner}/{name}[@{revision}]/{path}   one file (.jsonl, .json, .parquet) of the repo:
//                                                       {endpoint}/datasets/{repo}/resolve/{revision}/{path}
//   hf://datasets/{owner}/{name}[@{revision}]          a split's Parquet files (config and split given
//                                                       apart; default "default" / "train"), listed by
//                                                       {endpoint}/api/datasets/{repo}/parquet/{config}/{split}
// The listing is cached like a file, so an offline visit finds the same files again.
import { hubSource, type HubSourceOptions } from '../hub/index.ts';
import { HubError } from '../hub/errors.ts';
import { DatasetError, readRows, type LoadedRows } from './dataset.ts';

export interface HubDatasetRef {
  repo: string;
  revision: string;
  /** a file in the repo, or null for a split's Parquet files */
  path: string | null;
  config: string;
  split: string;
}

const PREFIX = 'hf://datasets/';

export const isHubDatasetRef = (s: string): boolean => s.startsWith(PREFIX);

/** "hf://datasets/owner/name[@rev][/path]" (huggingface_hub's file-system URLs) → its parts. */
export function parseHubDatasetRef(s: string, config = 'default', split = 'train'): HubDatasetRef {
  if (!isHubDatasetRef(s)) throw new DatasetError(`${s}: a Hub dataset is named hf://datasets/{owner}/{name}[@{revision}][/{file}]`);
  const m = /^([\w.-]+\/[\w.-]+?)(?:@([^/]+))?(?:\/(.+))?$/.exec(s.slice(PREFIX.length));
  if (!m) throw new DatasetError(`${s}: a Hub dataset is named hf://datasets/{owner}/{name}[@{revision}][/{file}], e.g. hf://datasets/openai/gsm8k/main/test-00000-of-00001.parquet`);
  const revision = m[2] ? decodeURIComponent(m[2]) : 'main';
  if (!config || !split || /[/\\]/.test(config + split)) throw new DatasetError(`${s}: bad config ${JSON.stringify(config)} or split ${JSON.stringify(split)}`);
  return { repo: m[1], revision, path: m[3] ?? null, config, split };
}

export const describeRef = (r: HubDatasetRef): string => `hf://datasets/${r.repo}${r.revision === 'main' ? '' : `@${r.revision}`}${r.path ? `/${r.path}` : ` (config ${r.config}, split ${r.split})`}`;

export interface HubDatasetOptions extends Omit<HubSourceOptions, 'repoType' | 'urlFor'> {
  /** called as each file starts: its name, and its place among the split's files */
  onFile?: (file: string, index: number, count: number) => void;
}

/** The dataset's rows: one file's, or a split's Parquet files' one after another (row numbers run on). */
export async function loadHubDataset(ref: HubDatasetRef, opts: HubDatasetOptions): Promise<LoadedRows> {
  const name = describeRef(ref);
  if (ref.path) {
    const src = hubSource(ref.repo, ref.revision, { ...opts, repoType: 'dataset' });
    opts.onFile?.(ref.path, 0, 1);
    const loaded = await readRows(await src.read(ref.path), ref.path);
    return { ...loaded, file: name };
  }
  const endpoint = (opts.endpoint ?? 'https://huggingface.co').replace(/\/+$/, '');
  const listUrl = `${endpoint}/api/datasets/${ref.repo}/parquet/${encodeURIComponent(ref.config)}/${encodeURIComponent(ref.split)}`;
  let urls: string[] = [];
  // cached under a revision of its own: the listing names the converted files of this config and split
  const src = hubSource(ref.repo, `parquet:${ref.config}:${ref.split}`, {
    ...opts,
    repoType: 'dataset',
    urlFor: (path) => (path === 'listing.json' ? listUrl : urls[Number(/^(\d+)\.parquet$/.exec(path)?.[1] ?? NaN)] ?? listUrl),
  });
  let listing: unknown;
  try {
    listing = JSON.parse(new TextDecoder().decode(await src.read('listing.json')));
  } catch (e) {
    if (e instanceof HubError && e.code === 'not-found') throw new DatasetError(`${name}: the Hub has no Parquet conversion of this config and split (${e.message}); name a file instead: hf://datasets/${ref.repo}/<file>`);
    if (e instanceof SyntaxError) throw new DatasetError(`${name}: the Parquet listing is not JSON`);
    throw e;
  }
  if (!Array.isArray(listing) || !listing.length || !listing.every((u) => typeof u === 'string')) throw new DatasetError(`${name}: the Parquet listing is not a list of file URLs`);
  urls = listing as string[];
  const parts: LoadedRows[] = [];
  for (let i = 0; i < urls.length; i++) {
    opts.onFile?.(`${i}.parquet`, i, urls.length);
    parts.push(await readRows(await src.read(`${i}.parquet`), `${name} file ${i}`, 'parquet'));
  }
  // one table: row numbers run on across the files
  let offset = 0;
  const rows = parts.flatMap((p) => {
    const out = p.rows.map((r) => ({ at: r.at + offset, row: r.row }));
    offset += p.last;
    return out;
  });
  return { file: name, format: 'parquet', rows, problems: [], last: offset };
}
