// HF config.json → ModelConfig (TransformerLens names), RoPE inverse frequencies, and the list of
// tensors a checkpoint must hold.
//
// Legend: D = d_model, H = n_heads, KV = n_kv_heads, Dh = d_head, F = d_mlp, V = d_vocab.
//
// Accepted: LlamaForCausalLM (SmolLM2 is one) and Qwen2ForCausalLM, picked by architectures[0] or
// else model_type. RoPE parameters come in three spellings, all read here:
//   transformers < 4.45-ish  top-level rope_theta, rope_scaling: { type | rope_type: 'llama3', ... }
//   transformers 5           rope_parameters: { rope_type: 'default' | 'llama3', rope_theta, factor, ... }
// Defaults follow transformers' LlamaConfig / Qwen2Config where a field is optional there.

import { CheckpointError } from './safetensors.ts';

export interface ModelConfig {
  arch: 'llama' | 'qwen2';
  d_model: number;
  n_layers: number;
  n_heads: number;
  n_kv_heads: number;
  d_head: number;
  d_mlp: number;
  d_vocab: number;
  n_ctx: number;
  rms_norm_eps: number;
  rope_theta: number;
  rope_scaling: null | { type: 'llama3'; factor: number; low_freq_factor: number; high_freq_factor: number; original_max_position_embeddings: number };
  tie_word_embeddings: boolean;
  /** q/k/v projections carry a bias (Qwen2 always; o_proj never) */
  attention_bias: boolean;
  bos_token_id: number | null;
  eos_token_ids: number[];
  torch_dtype: string;
}

const ARCHITECTURES: Record<string, ModelConfig['arch']> = { LlamaForCausalLM: 'llama', Qwen2ForCausalLM: 'qwen2' };
const MODEL_TYPES: Record<string, ModelConfig['arch']> = { llama: 'llama', qwen2: 'qwen2' };
/** transformers' defaults for max_position_embeddings */
const DEFAULT_N_CTX: Record<ModelConfig['arch'], number> = { llama: 2048, qwen2: 32768 };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPosInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
const isNonNegInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const show = (v: unknown): string => (v === undefined ? 'nothing (missing)' : JSON.stringify(v));

/** Field readers: absent (undefined or null) → `def` when given, else an error naming the field. */
function reader(o: Obj, file: string, prefix = '') {
  const fail = (key: string, want: string): never => {
    throw new CheckpointError(file, `field "${prefix}${key}" must be ${want}, got ${show(o[key])}`);
  };
  const get = <T>(key: string, ok: (v: unknown) => v is T, want: string, def?: T): T => {
    const v = o[key];
    if ((v === undefined || v === null) && def !== undefined) return def;
    return ok(v) ? v : fail(key, want);
  };
  return {
    fail,
    posInt: (key: string, def?: number) => get(key, isPosInt, 'a positive integer', def),
    posNum: (key: string, def?: number) =>
      get(key, (v): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0, 'a positive number', def),
    bool: (key: string, def?: boolean) => get(key, (v): v is boolean => typeof v === 'boolean', 'true or false', def),
    str: (key: string, def?: string) => get(key, (v): v is string => typeof v === 'string', 'a string', def),
  };
}

/** Which architecture: architectures[0] when present, else model_type; both present must agree. */
function pickArch(j: Obj, file: string): ModelConfig['arch'] {
  let fromArch: ModelConfig['arch'] | undefined;
  if (j.architectures !== undefined && j.architectures !== null) {
    const a = j.architectures;
    if (!Array.isArray(a) || a.length === 0 || typeof a[0] !== 'string') {
      throw new CheckpointError(file, `field "architectures" must be a non-empty array of strings, got ${show(a)}`);
    }
    fromArch = Object.hasOwn(ARCHITECTURES, a[0]) ? ARCHITECTURES[a[0]] : undefined;
    if (!fromArch) throw new CheckpointError(file, `unsupported architecture "${a[0]}" (supported: ${Object.keys(ARCHITECTURES).join(', ')})`);
  }
  const mt = j.model_type;
  if (mt !== undefined && mt !== null && typeof mt !== 'string') throw new CheckpointError(file, `field "model_type" must be a string, got ${show(mt)}`);
  const fromType = typeof mt === 'string' && Object.hasOwn(MODEL_TYPES, mt) ? MODEL_TYPES[mt] : undefined;
  if (fromArch) {
    if (typeof mt === 'string' && fromType !== fromArch) {
      throw new CheckpointError(file, `model_type "${mt}" does not match architecture "${(j.architectures as string[])[0]}"`);
    }
    return fromArch;
  }
  if (typeof mt !== 'string') throw new CheckpointError(file, 'missing both "architectures" and "model_type"; cannot tell the architecture');
  if (!fromType) throw new CheckpointError(file, `unsupported model_type "${mt}" (supported: ${Object.keys(MODEL_TYPES).join(', ')})`);
  return fromType;
}

/** rope_theta and rope_scaling from whichever spelling the config uses. */
function parseRope(j: Obj, file: string): Pick<ModelConfig, 'rope_theta' | 'rope_scaling'> {
  let theta = reader(j, file).posNum('rope_theta', 10000); // LlamaConfig / Qwen2Config default
  let src: Obj | null = null;
  let srcName = '';
  for (const key of ['rope_parameters', 'rope_scaling']) {
    const v = j[key];
    if (v === undefined || v === null) continue;
    if (!isObj(v)) throw new CheckpointError(file, `field "${key}" must be an object or null, got ${show(v)}`);
    // transformers 5 may nest per-layer-type parameters ({full_attention: {...}}); Llama/Qwen2 do not
    const nested = Object.keys(v).find((k) => isObj(v[k]));
    if (nested) throw new CheckpointError(file, `field "${key}.${nested}": per-layer-type RoPE parameters are not supported`);
    if (key === 'rope_parameters' && v.rope_theta !== undefined) theta = reader(v, file, `${key}.`).posNum('rope_theta');
    if (!src) [src, srcName] = [v, key];
  }
  if (!src) return { rope_theta: theta, rope_scaling: null };
  const r = reader(src, file, `${srcName}.`);
  // BC: "rope_type" was originally "type"
  const type = src.rope_type !== undefined ? r.str('rope_type') : r.str('type', 'default');
  if (type === 'default') return { rope_theta: theta, rope_scaling: null };
  if (type !== 'llama3') throw new CheckpointError(file, `field "${srcName}.rope_type": RoPE type "${type}" is not supported (supported: default, llama3)`);
  const s = {
    type: 'llama3' as const,
    factor: r.posNum('factor'),
    low_freq_factor: r.posNum('low_freq_factor'),
    high_freq_factor: r.posNum('high_freq_factor'),
    original_max_position_embeddings: r.posNum('original_max_position_embeddings'),
  };
  if (!(s.high_freq_factor > s.low_freq_factor)) {
    throw new CheckpointError(file, `field "${srcName}.high_freq_factor" (${s.high_freq_factor}) must exceed low_freq_factor (${s.low_freq_factor})`);
  }
  return { rope_theta: theta, rope_scaling: s };
}

export function parseConfig(json: unknown, file = 'config.json'): ModelConfig {
  if (!isObj(json)) throw new CheckpointError(file, `must be a JSON object, got ${Array.isArray(json) ? 'an array' : show(json)}`);
  const j = json;
  const r = reader(j, file);
  const arch = pickArch(j, file);

  const d_model = r.posInt('hidden_size');
  const n_layers = r.posInt('num_hidden_layers');
  const n_heads = r.posInt('num_attention_heads');
  const n_kv_heads = r.posInt('num_key_value_heads', n_heads); // absent → plain multi-head attention
  if (n_heads % n_kv_heads !== 0) {
    throw new CheckpointError(file, `field "num_key_value_heads" (${n_kv_heads}) must divide num_attention_heads (${n_heads})`);
  }
  if (j.head_dim === undefined || j.head_dim === null) {
    if (d_model % n_heads !== 0) throw new CheckpointError(file, `no "head_dim" and hidden_size (${d_model}) is not a multiple of num_attention_heads (${n_heads})`);
  }
  const d_head = r.posInt('head_dim', d_model / n_heads);
  if (d_head % 2 !== 0) throw new CheckpointError(file, `field "head_dim" (${d_head}) must be even for RoPE`);

  // Features that change the math but have no place in ModelConfig: refuse rather than guess.
  if (r.str('hidden_act', 'silu') !== 'silu') r.fail('hidden_act', '"silu" (the only MLP activation supported)');
  if (j.partial_rotary_factor !== undefined && j.partial_rotary_factor !== null && j.partial_rotary_factor !== 1) {
    r.fail('partial_rotary_factor', '1 (partial RoPE is not supported)');
  }
  let attention_bias: boolean;
  if (arch === 'llama') {
    // Llama's attention_bias puts a bias on o_proj too, which ModelConfig cannot express
    if (r.bool('attention_bias', false)) r.fail('attention_bias', 'false (Llama with attention biases is not supported)');
    if (r.bool('mlp_bias', false)) r.fail('mlp_bias', 'false (MLP biases are not supported)');
    attention_bias = false;
  } else {
    if (r.bool('use_sliding_window', false)) r.fail('use_sliding_window', 'false (sliding-window attention is not supported)');
    attention_bias = true; // Qwen2: q/k/v always have a bias, o_proj never
  }

  const eos = j.eos_token_id;
  let eos_token_ids: number[];
  if (eos === undefined || eos === null) eos_token_ids = [];
  else if (isNonNegInt(eos)) eos_token_ids = [eos];
  else if (Array.isArray(eos) && eos.every(isNonNegInt)) eos_token_ids = [...eos];
  else throw new CheckpointError(file, `field "eos_token_id" must be a token id or a list of them, got ${show(eos)}`);
  const bos = j.bos_token_id;
  if (bos !== undefined && bos !== null && !isNonNegInt(bos)) {
    throw new CheckpointError(file, `field "bos_token_id" must be a token id or null, got ${show(bos)}`);
  }

  return {
    arch,
    d_model,
    n_layers,
    n_heads,
    n_kv_heads,
    d_head,
    d_mlp: r.posInt('intermediate_size'),
    d_vocab: r.posInt('vocab_size'),
    n_ctx: r.posInt('max_position_embeddings', DEFAULT_N_CTX[arch]),
    rms_norm_eps: r.posNum('rms_norm_eps', 1e-6),
    ...parseRope(j, file),
    tie_word_embeddings: r.bool('tie_word_embeddings', false),
    attention_bias,
    bos_token_id: bos === undefined || bos === null ? null : (bos as number),
    eos_token_ids,
    // transformers 5 writes "dtype", older versions "torch_dtype"
    torch_dtype: j.torch_dtype !== undefined && j.torch_dtype !== null ? r.str('torch_dtype') : r.str('dtype', 'float32'),
  };
}

/**
 * RoPE inverse frequencies [Dh/2], as transformers computes them in float32 on the CPU:
 *   default: inv_freq = 1.0 / (base ** (arange(0, Dh, 2).float() / Dh))
 *   llama3:  _compute_llama3_parameters applied to that
 * Each torch op rounds to f32, so each step here ends in Math.fround, in torch's order. Notes:
 * - Python scalars meet f32 tensors as f32 (torch casts them to the tensor's dtype), so constants
 *   such as 2π are rounded first.
 * - `scalar / tensor` is tensor.reciprocal() * scalar in torch (Tensor.__rtruediv__), two roundings.
 * - pow: torch uses a vectorised powf accurate to ≤ 1 ulp (Sleef); here pow is done in f64 and
 *   rounded once, i.e. correctly rounded, so a value may differ from torch's by 1 ulp (~6e-8 relative).
 */
export function ropeInvFreq(cfg: ModelConfig): Float32Array {
  const f = Math.fround;
  const dim = cfg.d_head;
  const base = f(cfg.rope_theta);
  const inv = new Float32Array(dim / 2); // [Dh/2]
  for (let i = 0; i < dim / 2; i++) {
    const e = f((2 * i) / dim); // arange → float, / dim in f32
    inv[i] = f(1 / f(Math.pow(base, e)));
  }
  const s = cfg.rope_scaling;
  if (!s) return inv;

  // Llama 3.1 frequency-dependent scaling: long wavelengths divided by `factor`, short ones kept,
  // and a smooth blend in between (by wavelength relative to the original context length).
  const factor = f(s.factor), lff = f(s.low_freq_factor);
  const ocl = s.original_max_position_embeddings;
  const lowWl = f(ocl / s.low_freq_factor); // Python float, compared against an f32 tensor
  const highWl = f(ocl / s.high_freq_factor);
  const twoPi = f(2 * Math.PI);
  const span = f(s.high_freq_factor - s.low_freq_factor);
  const out = new Float32Array(dim / 2); // [Dh/2]
  for (let i = 0; i < dim / 2; i++) {
    const x = inv[i];
    const wavelen = f(f(1 / x) * twoPi); // 2π / inv_freq
    const llama = wavelen > lowWl ? f(x / factor) : x;
    const smooth = f(f(f(f(1 / wavelen) * f(ocl)) - lff) / span); // (ocl / wavelen − lff) / (hff − lff)
    const smoothed = f(f(f(f(1 - smooth) * llama) / factor) + f(smooth * llama));
    const medium = !(wavelen < highWl) && !(wavelen > lowWl);
    out[i] = medium ? smoothed : llama;
  }
  return out;
}

/** Every tensor a checkpoint must hold, with HF names and shapes, in HF's named_parameters order. */
export function expectedTensors(cfg: ModelConfig): { name: string; shape: number[] }[] {
  const { d_model: D, n_heads: H, n_kv_heads: KV, d_head: Dh, d_mlp: F, d_vocab: V } = cfg;
  const out: { name: string; shape: number[] }[] = [{ name: 'model.embed_tokens.weight', shape: [V, D] }];
  for (let l = 0; l < cfg.n_layers; l++) {
    const p = `model.layers.${l}`;
    const proj = (n: string, rows: number) => {
      out.push({ name: `${p}.self_attn.${n}_proj.weight`, shape: [rows, D] }); // [out, in]
      if (cfg.attention_bias) out.push({ name: `${p}.self_attn.${n}_proj.bias`, shape: [rows] });
    };
    proj('q', H * Dh);
    proj('k', KV * Dh);
    proj('v', KV * Dh);
    out.push(
      { name: `${p}.self_attn.o_proj.weight`, shape: [D, H * Dh] },
      { name: `${p}.mlp.gate_proj.weight`, shape: [F, D] },
      { name: `${p}.mlp.up_proj.weight`, shape: [F, D] },
      { name: `${p}.mlp.down_proj.weight`, shape: [D, F] },
      { name: `${p}.input_layernorm.weight`, shape: [D] },
      { name: `${p}.post_attention_layernorm.weight`, shape: [D] },
    );
  }
  out.push({ name: 'model.norm.weight', shape: [D] });
  if (!cfg.tie_word_embeddings) out.push({ name: 'lm_head.weight', shape: [V, D] });
  return out;
}
