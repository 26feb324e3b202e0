// Loading an HF checkpoint folder: config.json, then model.safetensors or
// model.safetensors.index.json + its shards, checked tensor by tensor against expectedTensors().
//
// Files come through a FileSource (a folder on disk in Node, IndexedDB or HTTP in the browser).
// Only the bytes that are needed are read: each shard's header, then each expected tensor's byte
// range, so the peak memory is about the weights themselves. Every problem is a CheckpointError
// naming the file (and tensor): missing file, bad JSON, missing tensor, wrong shape, wrong dtype.

import { expectedTensors, parseConfig, type ModelConfig } from './config.ts';
import { CheckpointError, checkRelativePath, parseShardIndex, parseSafetensorsHeader, readHeaderLength, type StTensorInfo } from './safetensors.ts';

export interface FileSource {
  /** for messages, e.g. the folder or repo id */
  name: string;
  list?(): Promise<string[]>;
  /** byte size of `path`, or null when it does not exist */
  size(path: string): Promise<number | null>;
  /** the bytes of `path`, or of [begin, end) when `range` is given */
  read(path: string, range?: [number, number]): Promise<Uint8Array>;
}

export interface HostTensor {
  name: string;
  dtype: 'f32' | 'f16' | 'bf16';
  shape: number[];
  /** f32 values, or the raw bits of f16 / bf16 */
  data: Float32Array | Uint16Array;
}

export interface LoadedCheckpoint {
  config: ModelConfig;
  /** exactly the tensors of expectedTensors(config), in that order */
  tensors: Map<string, HostTensor>;
  /** tensors present in the files but not used, other than the ones HF checkpoints are known to carry */
  warnings: string[];
}

export type LoadProgress = { bytes: number; total: number; file: string };

/** A folder on disk (Node). node:fs is imported on first use so browser bundles never pull it in. */
export function dirSource(dir: string): FileSource {
  // a variable specifier keeps bundlers from resolving node:* for the browser build
  const fsName = 'node:fs/promises';
  const fs = () => import(/* @vite-ignore */ fsName) as Promise<typeof import('node:fs/promises')>;
  const full = (path: string) => {
    checkRelativePath(path, dir, 'path');
    return `${dir.replace(/\/+$/, '')}/${path}`;
  };
  return {
    name: dir,
    async list() {
      return (await (await fs()).readdir(dir)).sort();
    },
    async size(path) {
      try {
        const st = await (await fs()).stat(full(path));
        return st.isFile() ? st.size : null;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw e;
      }
    },
    async read(path, range) {
      const fh = await (await fs()).open(full(path), 'r');
      try {
        const [begin, end] = range ?? [0, (await fh.stat()).size];
        // a fresh, exclusively owned buffer at offset 0: typed-array views on it are aligned
        const buf = new Uint8Array(end - begin);
        let got = 0;
        while (got < buf.length) {
          const { bytesRead } = await fh.read(buf, got, buf.length - got, begin + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        return got === buf.length ? buf : buf.subarray(0, got);
      } finally {
        await fh.close();
      }
    },
  };
}

const SINGLE = 'model.safetensors';
const INDEX = 'model.safetensors.index.json';

/** Tensors HF checkpoints may carry that are unused here and not worth a warning. */
function knownExtra(name: string, cfg: ModelConfig): boolean {
  return (name === 'lm_head.weight' && cfg.tie_word_embeddings) || name.endsWith('.rotary_emb.inv_freq');
}

const HALF: Partial<Record<StTensorInfo['dtype'], HostTensor['dtype']>> = { F32: 'f32', F16: 'f16', BF16: 'bf16' };

/** Little-endian host check: safetensors bytes are little-endian and are viewed, not swapped. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export async function loadCheckpoint(
  src: FileSource,
  opts: { onProgress?: (p: LoadProgress) => void } = {},
): Promise<LoadedCheckpoint> {
  const at = (path: string) => `${src.name.replace(/\/+$/, '')}/${path}`;
  if (!LITTLE_ENDIAN) throw new CheckpointError(src.name, 'this host is big-endian; safetensors data is little-endian');

  /** Reads [begin, end) of `path`, turning any failure or short read into a CheckpointError. */
  const read = async (path: string, range?: [number, number]): Promise<Uint8Array> => {
    let bytes: Uint8Array;
    try {
      bytes = await src.read(path, range);
    } catch (e) {
      if (e instanceof CheckpointError) throw e;
      throw new CheckpointError(at(path), `read failed: ${(e as Error).message ?? String(e)}`);
    }
    if (range && bytes.length !== range[1] - range[0]) {
      throw new CheckpointError(at(path), `short read: asked bytes [${range[0]}, ${range[1]}), got ${bytes.length} (file changed or truncated?)`);
    }
    return bytes;
  };
  const sizeOf = async (path: string): Promise<number | null> => {
    try {
      return await src.size(path);
    } catch (e) {
      if (e instanceof CheckpointError) throw e;
      throw new CheckpointError(at(path), `cannot stat: ${(e as Error).message ?? String(e)}`);
    }
  };
  const readJson = async (path: string): Promise<unknown> => {
    if ((await sizeOf(path)) === null) throw new CheckpointError(at(path), 'missing');
    const text = new TextDecoder().decode(await read(path));
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new CheckpointError(at(path), `not valid JSON (${(e as Error).message.split('\n')[0]})`);
    }
  };

  // 1. config
  const config = parseConfig(await readJson('config.json'), at('config.json'));
  const expected = expectedTensors(config);

  // 2. where each tensor lives: one file, or the index's weight_map
  let shardOf: (tensor: string) => string | undefined;
  let shards: string[];
  let indexFile: string | null = null;
  if ((await sizeOf(SINGLE)) !== null) {
    shards = [SINGLE];
    shardOf = () => SINGLE;
  } else if ((await sizeOf(INDEX)) !== null) {
    indexFile = at(INDEX);
    const map = parseShardIndex(await readJson(INDEX), indexFile);
    shards = [...new Set(map.values())]; // each shard read once
    shardOf = (t) => map.get(t);
  } else {
    const hasBin = (await sizeOf('pytorch_model.bin')) !== null;
    throw new CheckpointError(src.name, `no ${SINGLE} or ${INDEX} found${hasBin ? ' (pytorch_model.bin is not supported; convert it to safetensors)' : ''}`);
  }

  // 3. every shard's header
  const headers = new Map<string, { dataOffset: number; tensors: Map<string, StTensorInfo> }>();
  for (const shard of shards) {
    const size = await sizeOf(shard);
    if (size === null) throw new CheckpointError(at(shard), `missing (listed in ${INDEX})`);
    const n = readHeaderLength(size >= 8 ? await read(shard, [0, 8]) : new Uint8Array(0), size, at(shard));
    const h = parseSafetensorsHeader(await read(shard, [0, 8 + n]), size, at(shard));
    headers.set(shard, h);
  }

  // 4. check every expected tensor before reading any data: presence, dtype, shape
  const plan: { name: string; shard: string; info: StTensorInfo; dataOffset: number }[] = [];
  for (const want of expected) {
    const shard = shardOf(want.name);
    if (shard === undefined) throw new CheckpointError(indexFile ?? at(SINGLE), 'missing from weight_map', want.name);
    const h = headers.get(shard)!;
    const info = h.tensors.get(want.name);
    if (!info) throw new CheckpointError(at(shard), `missing (expected shape [${want.shape.join(', ')}])`, want.name);
    if (!HALF[info.dtype]) throw new CheckpointError(at(shard), `dtype ${info.dtype} is not a weight dtype (expected F32, F16 or BF16)`, want.name);
    if (info.shape.length !== want.shape.length || info.shape.some((d, i) => d !== want.shape[i])) {
      throw new CheckpointError(at(shard), `expected shape [${want.shape.join(', ')}], got [${info.shape.join(', ')}]`, want.name);
    }
    plan.push({ name: want.name, shard, info, dataOffset: h.dataOffset });
  }

  // 5. extras: known ones ignored quietly, others reported
  const wanted = new Set(expected.map((t) => t.name));
  const warnings: string[] = [];
  for (const [shard, h] of headers) {
    for (const name of h.tensors.keys()) {
      if (!wanted.has(name) && !knownExtra(name, config)) warnings.push(`${at(shard)}: ignored unexpected tensor '${name}'`);
    }
  }

  // 6. the data, one tensor at a time
  const total = plan.reduce((a, p) => a + p.info.end - p.info.begin, 0);
  let done = 0;
  const tensors = new Map<string, HostTensor>();
  for (const p of plan) {
    const bytes = await read(p.shard, [p.dataOffset + p.info.begin, p.dataOffset + p.info.end]);
    const dtype = HALF[p.info.dtype]!;
    tensors.set(p.name, { name: p.name, dtype, shape: p.info.shape, data: toTyped(bytes, dtype) });
    done += bytes.length;
    opts.onProgress?.({ bytes: done, total, file: at(p.shard) });
  }
  return { config, tensors, warnings };
}

/** Views the bytes as f32 / u16 when aligned and exclusively owned, else copies into a fresh buffer. */
function toTyped(bytes: Uint8Array, dtype: HostTensor['dtype']): Float32Array | Uint16Array {
  const size = dtype === 'f32' ? 4 : 2;
  const n = bytes.length / size;
  const owned = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
  const buf = owned ? (bytes.buffer as ArrayBuffer) : bytes.slice().buffer; // slice(): a copy at offset 0, so aligned
  return dtype === 'f32' ? new Float32Array(buf, 0, n) : new Uint16Array(buf, 0, n);
}
