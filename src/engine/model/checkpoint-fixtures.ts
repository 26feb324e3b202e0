// Tiny in-memory HF checkpoints for tests: config.json + model.safetensors (or shards + index)
// with seeded random weights, served by a FileSource backed by a Map.
//
// Default model (Llama, GQA): V = 32, D = 16, L = 2, H = 4, KV = 2, Dh = 4, F = 24, n_ctx = 64.
// Weights are scaled so activations stay O(1): linear weights ~ N(0, 1/in), norms ~ 1 + N(0, 0.1²),
// biases ~ N(0, 0.1²), embeddings ~ N(0, 1).

import { f16BitsToF32, f32ToBf16Bits, f32ToF16Bits, bf16BitsToF32 } from '../gpu/half.ts';
import { Rng } from '../util/rng.ts';
import { expectedTensors, parseConfig } from './config.ts';
import type { FileSource, HostTensor } from './checkpoint.ts';
import { writeSafetensors, type StDtype } from './safetensors.ts';

/** A FileSource over a Map of path → bytes; reads return views (unaligned, as a real file's would be). */
export interface MapSource extends FileSource {
  files: Map<string, Uint8Array>;
}

export function mapSource(name: string, files: Map<string, Uint8Array>): MapSource {
  const get = (path: string) => {
    const f = files.get(path);
    if (!f) throw new Error(`ENOENT: no such file '${path}'`);
    return f;
  };
  return {
    name,
    files,
    list: async () => [...files.keys()].sort(),
    size: async (path) => files.get(path)?.length ?? null,
    read: async (path, range) => {
      const f = get(path);
      return range ? f.subarray(range[0], Math.min(range[1], f.length)) : f;
    },
  };
}

/** The default tiny config.json, in HF field names. */
export const TINY_LLAMA_CONFIG: Readonly<Record<string, unknown>> = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  vocab_size: 32,
  hidden_size: 16,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  intermediate_size: 24,
  max_position_embeddings: 64,
  rms_norm_eps: 1e-5,
  rope_theta: 10000.0,
  hidden_act: 'silu',
  tie_word_embeddings: false,
  bos_token_id: 1,
  eos_token_id: 2,
  torch_dtype: 'float32',
};

export interface TinyCheckpoint extends MapSource {
  /** the config.json written */
  configJson: Record<string, unknown>;
  /** every stored tensor's values as f32 (after rounding to the stored dtype), by HF name */
  weights: Map<string, Float32Array>;
}

export interface TinyOptions {
  /** split into this many shards + model.safetensors.index.json (default 1: a single model.safetensors) */
  shards?: number;
  /** extra tensors appended to the (last) file, e.g. a tied lm_head.weight or a rotary inv_freq */
  extra?: { name: string; dtype: StDtype; shape: number[]; data: Uint8Array }[];
  /** use these values (by HF name) instead of random ones, e.g. weights with an adapter merged in */
  values?: ReadonlyMap<string, Float32Array>;
}

const ST: Record<HostTensor['dtype'], StDtype> = { f32: 'F32', f16: 'F16', bf16: 'BF16' };

/**
 * Builds a checkpoint from TINY_LLAMA_CONFIG with `cfgOverrides` (HF config.json fields; a value
 * of undefined deletes the field) and seeded random weights stored as `dtype`.
 */
export function makeTinyCheckpoint(
  cfgOverrides: Record<string, unknown> = {},
  seed = 1,
  dtype: HostTensor['dtype'] = 'f32',
  opts: TinyOptions = {},
): TinyCheckpoint {
  const configJson: Record<string, unknown> = { ...TINY_LLAMA_CONFIG, torch_dtype: { f32: 'float32', f16: 'float16', bf16: 'bfloat16' }[dtype] };
  for (const [k, v] of Object.entries(cfgOverrides)) {
    if (v === undefined) delete configJson[k];
    else configJson[k] = v;
  }
  const cfg = parseConfig(configJson, 'makeTinyCheckpoint config');
  const rng = new Rng(seed);
  const weights = new Map<string, Float32Array>();
  const stored: { name: string; dtype: StDtype; shape: number[]; data: Uint8Array }[] = [];
  for (const { name, shape } of expectedTensors(cfg)) {
    const n = shape.reduce((a, b) => a * b, 1);
    let v: Float32Array;
    const given = opts.values?.get(name);
    if (given) {
      if (given.length !== n) throw new Error(`makeTinyCheckpoint: ${name} needs ${n} values, got ${given.length}`);
      v = Float32Array.from(given);
    } else if (name.endsWith('norm.weight')) v = rng.normal(n, 0.1).map((x) => 1 + x); // [D]
    else if (name.endsWith('.bias')) v = rng.normal(n, 0.1); // [out]
    else if (name === 'model.embed_tokens.weight') v = rng.normal(n, 1); // [V, D]
    else v = rng.normal(n, 1 / Math.sqrt(shape[1])); // [out, in]
    const { bytes, values } = encode(v, dtype);
    weights.set(name, values);
    stored.push({ name, dtype: ST[dtype], shape, data: bytes });
  }
  stored.push(...(opts.extra ?? []));

  const files = new Map<string, Uint8Array>();
  files.set('config.json', new TextEncoder().encode(JSON.stringify(configJson, null, 2)));
  const nShards = opts.shards ?? 1;
  if (nShards <= 1) {
    files.set('model.safetensors', writeSafetensors(stored, { format: 'pt' }));
  } else {
    // contiguous runs of tensors, HF-style names model-0000i-of-0000n.safetensors
    const weight_map: Record<string, string> = {};
    const per = Math.ceil(stored.length / nShards);
    let totalSize = 0;
    for (let s = 0; s < nShards; s++) {
      const part = stored.slice(s * per, (s + 1) * per);
      const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(nShards).padStart(5, '0')}.safetensors`;
      for (const t of part) {
        weight_map[t.name] = file;
        totalSize += t.data.byteLength;
      }
      files.set(file, writeSafetensors(part, { format: 'pt' }));
    }
    const index = { metadata: { total_size: totalSize }, weight_map };
    files.set('model.safetensors.index.json', new TextEncoder().encode(JSON.stringify(index, null, 2)));
  }
  return Object.assign(mapSource(`tiny-${cfg.arch}-${seed}`, files), { configJson, weights });
}

/** f32 values → stored bytes in `dtype`, and the values those bytes hold (as f32). */
function encode(v: Float32Array, dtype: HostTensor['dtype']): { bytes: Uint8Array; values: Float32Array } {
  if (dtype === 'f32') return { bytes: new Uint8Array(v.buffer, v.byteOffset, v.byteLength), values: v };
  const toBits = dtype === 'f16' ? f32ToF16Bits : f32ToBf16Bits;
  const fromBits = dtype === 'f16' ? f16BitsToF32 : bf16BitsToF32;
  const bits = new Uint16Array(v.length);
  const values = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) {
    bits[i] = toBits(v[i]);
    values[i] = fromBits(bits[i]);
  }
  return { bytes: new Uint8Array(bits.buffer), values };
}
