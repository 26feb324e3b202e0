// Pre-download check: will this model fit this GPU and budget? Reads only config.json, the shard
// index (if any) and each safetensors header (8 bytes for the header length, then the header,
// both as ranged reads), so a model that cannot run is refused before its weights are fetched.
//
// Sizes are the bytes stored in the files: the engine keeps F16/BF16 weights half on the GPU
// (weights.ts), so a tensor's GPU buffer is its file size (plus at most 3 bytes of padding;
// biases become f32 but are tiny).

import type { FileSource } from '../model/checkpoint.ts';
import { parseConfig, type ModelConfig } from '../model/config.ts';
import { parseSafetensorsHeader, parseShardIndex, readHeaderLength, type StDtype } from '../model/safetensors.ts';
import { HubError } from './errors.ts';

export interface PlanLimits {
  /** GPUAdapter.limits.maxBufferSize */
  maxBufferSize: number;
  /** GPUAdapter.limits.maxStorageBufferBindingSize */
  maxStorageBufferBindingSize: number;
}

export interface PlanOptions {
  /** refuse when the weights exceed this many bytes (GPU memory the app may use) */
  memoryBudget?: number;
  /** refuse when the files exceed this many bytes of free browser storage (quota − usage) */
  storageFree?: number;
}

export interface PlannedTensor {
  name: string;
  file: string;
  dtype: StDtype;
  shape: number[];
  bytes: number;
}

export interface DownloadPlan {
  /** the source's name, e.g. "HuggingFaceTB/SmolLM2-135M@main" */
  name: string;
  config: ModelConfig;
  /** files the load will read (config.json, the index if any, every shard) with their sizes */
  files: { path: string; size: number }[];
  tensors: PlannedTensor[];
  /** sum of tensor bytes (≈ GPU memory for the weights) */
  weightBytes: number;
  /** sum of file sizes (what a download fetches) */
  downloadBytes: number;
  largest: PlannedTensor | null;
}

const SINGLE = 'model.safetensors';
const INDEX = 'model.safetensors.index.json';

/** Bytes in binary units: "128.0 MiB", "1.50 GiB". */
export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}

/**
 * Reads the model's metadata from `src` and checks it against the limits; throws HubError
 * 'too-large' (nothing downloaded) when a tensor exceeds the GPU's binding/buffer limit, or the
 * weights exceed `memoryBudget`, or the files exceed `storageFree`. Config problems throw the
 * CheckpointError of parseConfig.
 */
export async function planDownload(src: FileSource, limits: PlanLimits, opts: PlanOptions = {}): Promise<DownloadPlan> {
  const size = async (path: string): Promise<number | null> => src.size(path);
  const json = async (path: string): Promise<unknown> => {
    const text = new TextDecoder().decode(await src.read(path));
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new HubError('invalid', `${src.name}/${path}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
    }
  };

  const files: { path: string; size: number }[] = [];
  const configSize = await size('config.json');
  if (configSize === null) throw new HubError('not-found', `${src.name}: no config.json; is this a transformers model repo?`);
  files.push({ path: 'config.json', size: configSize });
  const config = parseConfig(await json('config.json'), `${src.name}/config.json`);

  // which safetensors files hold the weights
  let shards: string[];
  const single = await size(SINGLE);
  if (single !== null) {
    shards = [SINGLE];
  } else {
    const indexSize = await size(INDEX);
    if (indexSize === null) throw new HubError('not-found', `${src.name}: no ${SINGLE} or ${INDEX}; only safetensors checkpoints are supported`);
    files.push({ path: INDEX, size: indexSize });
    shards = [...new Set(parseShardIndex(await json(INDEX), `${src.name}/${INDEX}`).values())];
  }

  // each header: 8 bytes (its length), then [0, 8 + length)
  const tensors: PlannedTensor[] = [];
  for (const file of shards) {
    const fileSize = file === SINGLE ? single : await size(file);
    if (fileSize === null) throw new HubError('not-found', `${src.name}/${file}: missing (listed in ${INDEX})`);
    files.push({ path: file, size: fileSize });
    const where = `${src.name}/${file}`;
    const n = readHeaderLength(await src.read(file, [0, 8]), fileSize, where);
    const h = parseSafetensorsHeader(await src.read(file, [0, 8 + n]), fileSize, where);
    for (const t of h.tensors.values()) tensors.push({ name: t.name, file, dtype: t.dtype, shape: t.shape, bytes: t.end - t.begin });
  }

  const weightBytes = tensors.reduce((a, t) => a + t.bytes, 0);
  const downloadBytes = files.reduce((a, f) => a + f.size, 0);
  const byBytes = [...tensors].sort((a, b) => b.bytes - a.bytes);
  const largest = byBytes[0] ?? null;
  const plan: DownloadPlan = { name: src.name, config, files, tensors, weightBytes, downloadBytes, largest };

  // one tensor = one GPU buffer bound whole as a storage buffer: both limits apply
  const bindLimit = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  const limitName = limits.maxStorageBufferBindingSize <= limits.maxBufferSize ? 'maxStorageBufferBindingSize' : 'maxBufferSize';
  const over = byBytes.filter((t) => t.bytes > bindLimit);
  if (largest && over.length) {
    const others = over.length > 1 ? `; ${over.length - 1} more tensor${over.length > 2 ? 's are' : ' is'} over the limit (${over.slice(1, 4).map((t) => t.name).join(', ')}${over.length > 4 ? ', …' : ''})` : '';
    throw new HubError(
      'too-large',
      `${src.name} does not fit this GPU: its largest tensor ${largest.name} ([${largest.shape.join(', ')}] ${largest.dtype}, in ${largest.file}) is ${formatBytes(largest.bytes)}, ` +
        `more than the adapter's ${limitName} of ${formatBytes(bindLimit)}${others}. Nothing was downloaded; choose a smaller model, or a browser/GPU with higher limits.`,
    );
  }
  if (opts.memoryBudget !== undefined && weightBytes > opts.memoryBudget) {
    throw new HubError(
      'too-large',
      `${src.name} needs ${formatBytes(weightBytes)} for its weights (${tensors.length} tensors), more than the memory budget of ${formatBytes(opts.memoryBudget)}. Nothing was downloaded; choose a smaller model.`,
    );
  }
  if (opts.storageFree !== undefined && downloadBytes > opts.storageFree) {
    throw new HubError(
      'too-large',
      `${src.name} is ${formatBytes(downloadBytes)} to download, more than the ${formatBytes(opts.storageFree)} of browser storage left. Nothing was downloaded; purge cached models or free disk space.`,
    );
  }
  return plan;
}
