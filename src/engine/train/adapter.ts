// PEFT LoRA adapter files (adapter_config.json + adapter_model.safetensors): written the way PEFT
// 0.16's save_pretrained writes them, read back with every field and tensor checked, and merged
// into base weights on request.
//
// Legend: C = d_model, H = n_heads, Hkv = n_kv_heads, D = d_head, F = d_mlp, r = LoRA rank.
//
// A LoRA layer on nn.Linear(in, out) (PEFT tuners/lora/layer.py, Linear.forward):
//   y = x Wᵀ + scale · (x Aᵀ) Bᵀ        A [r, in], B [out, r], scale = lora_alpha / r (no rslora)
// Saved tensor names: the PeftModelForCausalLM state dict with the adapter name ("default") removed:
//   base_model.model.model.layers.{l}.self_attn.{q,k,v,o}_proj.lora_{A,B}.weight
//   base_model.model.model.layers.{l}.mlp.{gate,up,down}_proj.lora_{A,B}.weight
// Which modules carry LoRA follows PEFT's check_target_module_exists (tuners/tuners_utils.py) on the
// module paths of the transformers model, e.g. "model.layers.0.self_attn.q_proj".

import type { ModelConfig } from '../model/config.ts';
import type { FileSource, HostTensor } from '../model/checkpoint.ts';
import { CheckpointError, readSafetensors, writeSafetensors, type StDtype } from '../model/safetensors.ts';
import { f32ToBf16Bits, f32ToF16Bits, fromHalfBits } from '../gpu/half.ts';
import type { Runtime } from '../gpu/runtime.ts';
import { sliceAligned, type Tensor } from '../gpu/tensor.ts';
import type { AdapterSlots } from '../model/block-adapters.ts';

export const LORA_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

export interface LoraConfig {
  r: number;
  /** lora_alpha; scale = alpha / r */
  alpha: number;
  /** lora_dropout, a probability in [0, 1) */
  dropout: number;
  /** which projections carry LoRA, in every adapted layer */
  targets: LoraTarget[];
  /** PEFT's layers_to_transform: the adapted layers (ascending); absent or null = every layer */
  layers?: number[] | null;
}

/** One adapted module's weights, row-major fp32: A [r, in], B [out, r]. */
export interface LoraPair {
  A: Float32Array;
  B: Float32Array;
}

/** Keyed by loraKey(l, target), e.g. "0.q_proj"; exactly one entry per adapted (layer, target). */
export type AdapterTensors = Map<string, LoraPair>;

/** The adapter's files: a FileSource (a folder), or file name → bytes (what writeAdapter returns). */
export type AdapterFiles = FileSource | Map<string, Uint8Array> | Record<string, Uint8Array>;

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';

export const loraKey = (l: number, t: LoraTarget): string => `${l}.${t}`;
const isAttn = (t: LoraTarget) => t === 'q_proj' || t === 'k_proj' || t === 'v_proj' || t === 'o_proj';
/** HF module path, e.g. "model.layers.3.mlp.down_proj" (its weight is `${path}.weight`). */
export const loraModulePath = (l: number, t: LoraTarget): string => `model.layers.${l}.${isAttn(t) ? 'self_attn' : 'mlp'}.${t}`;
/** PEFT's saved tensor name, e.g. "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight". */
export const loraTensorName = (l: number, t: LoraTarget, which: 'A' | 'B'): string => `base_model.model.${loraModulePath(l, t)}.lora_${which}.weight`;
export const loraScale = (cfg: LoraConfig): number => cfg.alpha / cfg.r;

/** nn.Linear(in, out) dimensions of each target (the base weight is [out, in]). */
export function loraDims(t: LoraTarget, m: ModelConfig): { in: number; out: number } {
  const C = m.d_model, HD = m.n_heads * m.d_head, KD = m.n_kv_heads * m.d_head, F = m.d_mlp;
  switch (t) {
    case 'q_proj': return { in: C, out: HD }; // [H·D, C]
    case 'k_proj':
    case 'v_proj': return { in: C, out: KD }; // [Hkv·D, C]
    case 'o_proj': return { in: HD, out: C }; // [C, H·D]
    case 'gate_proj':
    case 'up_proj': return { in: C, out: F }; // [F, C]
    case 'down_proj': return { in: F, out: C }; // [C, F]
  }
}

/** The adapted layers, ascending. */
export const adapterLayers = (cfg: LoraConfig, m: ModelConfig): number[] =>
  cfg.layers ? [...cfg.layers].sort((a, b) => a - b) : Array.from({ length: m.n_layers }, (_, l) => l);

/** Every adapted (layer, target), layer-major, targets in LORA_TARGETS order. */
export function adapterModules(cfg: LoraConfig, m: ModelConfig): { l: number; t: LoraTarget; key: string; in: number; out: number }[] {
  const ts = LORA_TARGETS.filter((t) => cfg.targets.includes(t));
  return adapterLayers(cfg, m).flatMap((l) => ts.map((t) => ({ l, t, key: loraKey(l, t), ...loraDims(t, m) })));
}

/** Throws a CheckpointError (file = `where`) unless cfg is a usable LoraConfig for model m. */
export function checkLoraConfig(cfg: LoraConfig, m: ModelConfig, where = 'LoraConfig'): void {
  const fail = (what: string): never => { throw new CheckpointError(where, what); };
  if (!Number.isSafeInteger(cfg.r) || cfg.r < 1) fail(`r must be a positive integer, got ${cfg.r}`);
  if (!Number.isFinite(cfg.alpha)) fail(`alpha must be a finite number, got ${cfg.alpha}`);
  if (!(cfg.dropout >= 0 && cfg.dropout < 1)) fail(`dropout must be in [0, 1), got ${cfg.dropout}`);
  if (cfg.targets.length === 0) fail('targets is empty; name at least one of ' + LORA_TARGETS.join(', '));
  for (const t of cfg.targets) if (!LORA_TARGETS.includes(t)) fail(`unknown target "${t}" (known: ${LORA_TARGETS.join(', ')})`);
  if (new Set(cfg.targets).size !== cfg.targets.length) fail(`targets has duplicates: ${cfg.targets.join(', ')}`);
  if (cfg.layers) {
    if (cfg.layers.length === 0) fail('layers is an empty list; use null for every layer');
    for (const l of cfg.layers) if (!Number.isSafeInteger(l) || l < 0 || l >= m.n_layers) fail(`layer ${l} is outside the model's layers 0..${m.n_layers - 1}`);
    if (new Set(cfg.layers).size !== cfg.layers.length) fail(`layers has duplicates: ${cfg.layers.join(', ')}`);
  }
}

/** Checks tensors holds exactly the adapted modules, each A [r, in] and B [out, r] in length. */
function checkTensors(cfg: LoraConfig, tensors: AdapterTensors, m: ModelConfig, where: string): void {
  const mods = adapterModules(cfg, m);
  const want = new Set(mods.map((x) => x.key));
  for (const k of tensors.keys()) if (!want.has(k)) throw new CheckpointError(where, `tensors has "${k}", which the config does not adapt`);
  for (const { l, t, key, in: nIn, out } of mods) {
    const p = tensors.get(key);
    if (!p) throw new CheckpointError(where, `tensors lacks "${key}"`, loraTensorName(l, t, 'A'));
    if (p.A.length !== cfg.r * nIn) throw new CheckpointError(where, `A has ${p.A.length} values, expected r·in = ${cfg.r}·${nIn}`, loraTensorName(l, t, 'A'));
    if (p.B.length !== out * cfg.r) throw new CheckpointError(where, `B has ${p.B.length} values, expected out·r = ${out}·${cfg.r}`, loraTensorName(l, t, 'B'));
  }
}

/**
 * adapter_config.json as PEFT 0.16 writes it for a LoRA CAUSAL_LM adapter: every LoraConfig field
 * (runtime_config excepted), keys sorted (json.dumps(sort_keys=True)), values at their defaults
 * but for the ones set here. PEFT saves target_modules from a set, in no fixed order; here sorted.
 * Newer PEFT versions add keys (peft_version, target_parameters, ...); a missing key loads as its
 * default, and older versions drop unknown keys with a warning.
 */
export function adapterConfigJson(cfg: LoraConfig, baseModel: string | null): Record<string, unknown> {
  // every field at its LoraConfig default but r, lora_alpha, lora_dropout, target_modules,
  // layers_to_transform and the PeftConfig ones (inference_mode: save_pretrained always writes true)
  const fields: Record<string, unknown> = {
    alpha_pattern: {}, auto_mapping: null, base_model_name_or_path: baseModel, bias: 'none', corda_config: null,
    eva_config: null, exclude_modules: null, fan_in_fan_out: false, inference_mode: true, init_lora_weights: true,
    layer_replication: null, layers_pattern: null, layers_to_transform: cfg.layers ? [...cfg.layers].sort((a, b) => a - b) : null,
    loftq_config: {}, lora_alpha: cfg.alpha, lora_bias: false, lora_dropout: cfg.dropout, megatron_config: null,
    megatron_core: 'megatron.core', modules_to_save: null, peft_type: 'LORA', qalora_group_size: 16, r: cfg.r,
    rank_pattern: {}, revision: null, target_modules: [...cfg.targets].sort(), task_type: 'CAUSAL_LM',
    trainable_token_indices: null, use_dora: false, use_qalora: false, use_rslora: false,
  };
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(fields).sort()) out[k] = fields[k];
  return out;
}

/**
 * The two adapter files as bytes. Tensors are fp32, in name order (safetensors' Python writer
 * sorts same-dtype tensors by name), with metadata {"format": "pt"} as PEFT's safe_save_file
 * writes. The JSON is indented by 2 as PEFT's json.dumps(indent=2, sort_keys=True).
 */
export function writeAdapter(
  cfg: LoraConfig,
  tensors: AdapterTensors,
  modelCfg: ModelConfig,
  baseModel: string | null,
): { 'adapter_config.json': Uint8Array; 'adapter_model.safetensors': Uint8Array } {
  const where = 'writeAdapter';
  checkLoraConfig(cfg, modelCfg, where);
  checkTensors(cfg, tensors, modelCfg, where);
  const list: { name: string; dtype: StDtype; shape: number[]; data: Uint8Array }[] = [];
  for (const { l, t, key, in: nIn, out } of adapterModules(cfg, modelCfg)) {
    const p = tensors.get(key)!;
    for (const [which, a, shape] of [['A', p.A, [cfg.r, nIn]], ['B', p.B, [out, cfg.r]]] as const) {
      const name = loraTensorName(l, t, which);
      // a NaN/Inf adapter is a diverged run: refuse rather than save something that loads but is broken
      const bad = a.findIndex((x) => !Number.isFinite(x));
      if (bad >= 0) throw new CheckpointError(where, `value ${a[bad]} at index ${bad}; refusing to save a non-finite adapter`, name);
      list.push({ name, dtype: 'F32', shape: [...shape], data: new Uint8Array(a.buffer, a.byteOffset, a.byteLength) });
    }
  }
  list.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  return {
    'adapter_config.json': new TextEncoder().encode(JSON.stringify(adapterConfigJson(cfg, baseModel), null, 2)),
    'adapter_model.safetensors': writeSafetensors(list, { format: 'pt' }),
  };
}

// ---- reading adapter_config.json -------------------------------------------------------------

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v));
/** null, false, [], {}: the "off" value every optional PEFT field defaults to */
const isOff = (v: unknown) => v === undefined || v === null || v === false || (Array.isArray(v) && v.length === 0) || (isObj(v) && Object.keys(v).length === 0);

/** Fields that do not change what the adapter computes (bookkeeping, or initialisation only). */
const INERT = new Set(['base_model_name_or_path', 'revision', 'inference_mode', 'auto_mapping', 'peft_version', 'megatron_config',
  'megatron_core', 'qalora_group_size', 'loftq_config', 'eva_config', 'corda_config', 'lora_ga_config']);
/** Fields that must stay off, and why (each changes the computation or adds weights). */
const MUST_BE_OFF: Record<string, string> = {
  fan_in_fan_out: 'transposed (Conv1D-style) weights are not supported', use_dora: 'DoRA is not supported',
  use_rslora: 'rank-stabilised LoRA (scale alpha/√r) is not supported', use_qalora: 'QALoRA is not supported',
  lora_bias: 'a bias on lora_B is not supported', modules_to_save: 'fully trained extra modules are not supported',
  trainable_token_indices: 'trainable tokens are not supported', rank_pattern: 'per-module ranks are not supported',
  alpha_pattern: 'per-module alphas are not supported', layer_replication: 'layer replication is not supported',
  target_parameters: 'LoRA on raw parameters is not supported', alora_invocation_tokens: 'activated LoRA is not supported',
};
/** init_lora_weights values that only change the initialisation (others also rewrite the base weights). */
const PLAIN_INIT = new Set<unknown>([true, false, 'gaussian', 'eva', 'orthogonal']);

/** Python re.fullmatch as a JS RegExp ((?P<name>...) groups renamed); throws on syntax JS lacks. */
function fullmatch(pattern: string, field: string, file: string): RegExp {
  try {
    return new RegExp(`^(?:${pattern.replace(/\(\?P</g, '(?<')})$`);
  } catch (e) {
    throw new CheckpointError(file, `field "${field}" regex ${show(pattern)} cannot be used here (${(e as Error).message})`);
  }
}

/**
 * adapter_config.json → LoraConfig for model m. The adapted modules are found as PEFT finds them
 * (check_target_module_exists) among the model's linear layers; they must form targets × layers.
 */
export function parseAdapterConfig(json: unknown, file: string, m: ModelConfig): { cfg: LoraConfig; baseModel: string | null } {
  const fail = (what: string): never => { throw new CheckpointError(file, what); };
  if (!isObj(json)) return fail(`must be a JSON object, got ${show(json)}`);
  const j = json;
  if (j.peft_type !== 'LORA') fail(`field "peft_type" must be "LORA", got ${show(j.peft_type)} (only LoRA adapters are supported)`);
  if (!isOff(j.task_type) && j.task_type !== 'CAUSAL_LM') fail(`field "task_type" must be "CAUSAL_LM" or null, got ${show(j.task_type)}`);
  const r = j.r;
  if (typeof r !== 'number' || !Number.isSafeInteger(r) || r < 1) return fail(`field "r" must be a positive integer, got ${show(r)}`);
  const alpha = j.lora_alpha ?? 8; // LoraConfig defaults
  if (typeof alpha !== 'number' || !Number.isFinite(alpha)) return fail(`field "lora_alpha" must be a number, got ${show(j.lora_alpha)}`);
  const dropout = j.lora_dropout ?? 0;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) return fail(`field "lora_dropout" must be a number in [0, 1), got ${show(j.lora_dropout)}`);
  if ((j.bias ?? 'none') !== 'none') fail(`field "bias" must be "none", got ${show(j.bias)} (trained biases are not supported)`);
  if (!PLAIN_INIT.has(j.init_lora_weights ?? true)) {
    fail(`field "init_lora_weights" is ${show(j.init_lora_weights)}, which also rewrites the base weights; save the adapter with path_initial_model_for_weight_conversion to get a plain LoRA`);
  }
  const handled = new Set(['peft_type', 'task_type', 'r', 'lora_alpha', 'lora_dropout', 'bias', 'init_lora_weights',
    'target_modules', 'exclude_modules', 'layers_to_transform', 'layers_pattern']);
  for (const [k, v] of Object.entries(j)) {
    if (handled.has(k) || INERT.has(k) || isOff(v)) continue;
    fail(`field "${k}" is ${show(v)}: ${MUST_BE_OFF[k] ?? 'a field this reader does not know (saved by a newer PEFT?), so it cannot tell what it does'}`);
  }

  // target_modules: a list (exact module path or ".name" suffix), a regex (fullmatch), "all-linear"
  // (every linear layer but lm_head), or null (PEFT's default for llama and qwen2: q_proj, v_proj)
  const strs = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
  const isIdx = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  let tm = j.target_modules ?? ['q_proj', 'v_proj'];
  if (typeof tm === 'string' && tm.toLowerCase() === 'all-linear') tm = [...LORA_TARGETS];
  if (typeof tm !== 'string' && !strs(tm)) return fail(`field "target_modules" must be a list of names or a regex string, got ${show(tm)}`);
  const ex = j.exclude_modules ?? [];
  if (typeof ex !== 'string' && !strs(ex)) return fail(`field "exclude_modules" must be a list of names, a regex string or null, got ${show(ex)}`);
  // layers_to_transform: one index or a list ([] = every layer); layers_pattern must name "layers"
  const lt = j.layers_to_transform ?? [];
  if (!isIdx(lt) && !(Array.isArray(lt) && lt.every(isIdx))) return fail(`field "layers_to_transform" must be a layer index, a list of them, or null, got ${show(lt)}`);
  const lts = typeof lt === 'number' ? [lt] : lt;
  const lp = j.layers_pattern ?? [];
  if (!(lp === 'layers' || (strs(lp) && lp.every((p) => p === 'layers')))) fail(`field "layers_pattern" is ${show(lp)}, but this model's layer list is "layers"`);
  for (const l of lts) if (l >= m.n_layers) fail(`field "layers_to_transform" names layer ${l}, but the model has layers 0..${m.n_layers - 1}`);
  if (typeof tm === 'string' && lts.length > 0) fail('field "layers_to_transform" cannot be used with a regex "target_modules" (PEFT refuses it too)');

  const tmRe = typeof tm === 'string' ? fullmatch(tm, 'target_modules', file) : null;
  const exRe = typeof ex === 'string' ? fullmatch(ex, 'exclude_modules', file) : null;
  const matches = (key: string): boolean => {
    if (exRe ? exRe.test(key) : (ex as string[]).some((e) => key === e || key.endsWith(`.${e}`))) return false;
    if (tmRe) return tmRe.test(key);
    const names = tm as string[];
    if (names.includes(key)) return true; // an exact path ignores layers_to_transform, as in PEFT
    if (!names.some((t) => key.endsWith(`.${t}`))) return false;
    if (lts.length === 0) return true;
    const idx = /^.*\.[^.]*\.(\d+)\./.exec(key); // "model.layers.3.mlp.up_proj" → 3
    return idx !== null && lts.includes(Number(idx[1]));
  };

  // the model's other LoRA-able modules must not match: their weights would be ignored
  for (const other of ['lm_head', 'model.embed_tokens']) if (matches(other)) fail(`target_modules selects "${other}", which is not supported (only ${LORA_TARGETS.join(', ')})`);
  const hit = new Set<string>();
  const ts = new Set<LoraTarget>(), ls = new Set<number>();
  for (let l = 0; l < m.n_layers; l++) {
    for (const t of LORA_TARGETS) {
      if (!matches(loraModulePath(l, t))) continue;
      hit.add(loraKey(l, t));
      ts.add(t);
      ls.add(l);
    }
  }
  if (hit.size === 0) fail(`target_modules ${show(j.target_modules)} selects no module of this model (supported: ${LORA_TARGETS.join(', ')})`);
  const targets = LORA_TARGETS.filter((t) => ts.has(t));
  const layers = [...ls].sort((a, b) => a - b);
  for (const l of layers) {
    for (const t of targets) if (!hit.has(loraKey(l, t))) fail(`the adapter covers ${t} in some layers but not in layer ${l}; different modules per layer are not supported`);
  }
  const base = j.base_model_name_or_path;
  return {
    cfg: { r, alpha, dropout, targets, layers: layers.length === m.n_layers ? null : layers },
    baseModel: typeof base === 'string' ? base : null,
  };
}

/** A FileSource over a Map or record of file name → bytes. */
function asSource(files: AdapterFiles): FileSource {
  if (typeof (files as FileSource).read === 'function' && typeof (files as FileSource).size === 'function') return files as FileSource;
  const map = files instanceof Map ? files : new Map(Object.entries(files as Record<string, Uint8Array>));
  return {
    name: 'adapter',
    size: async (p) => map.get(p)?.length ?? null,
    read: async (p, range) => {
      const f = map.get(p);
      if (!f) throw new Error(`no such file '${p}'`);
      return range ? f.subarray(range[0], range[1]) : f;
    },
  };
}

/**
 * Reads and validates a PEFT LoRA adapter for model m. Every problem is a one-line
 * CheckpointError naming the file (and tensor): missing files, fields this engine cannot honour
 * (DoRA, rslora, fan_in_fan_out, bias, modules_to_save, rank_pattern, ...), tensors missing,
 * mis-shaped, of a non-float dtype, or not part of the adapter (lora_embedding_*, a saved module).
 * F16 / BF16 tensors are widened to f32 exactly.
 */
export async function readAdapter(
  files: AdapterFiles,
  modelCfg: ModelConfig,
): Promise<{ cfg: LoraConfig; tensors: AdapterTensors; baseModel: string | null }> {
  const src = asSource(files);
  const at = (p: string) => `${src.name.replace(/\/+$/, '')}/${p}`;
  const read = async (p: string): Promise<Uint8Array | null> => {
    try {
      if ((await src.size(p)) === null) return null;
      return await src.read(p);
    } catch (e) {
      throw new CheckpointError(at(p), `read failed: ${(e as Error).message ?? String(e)}`);
    }
  };

  // 1. adapter_config.json
  const cfgBytes = await read(ADAPTER_CONFIG);
  if (!cfgBytes) throw new CheckpointError(at(ADAPTER_CONFIG), `missing (a PEFT adapter folder holds ${ADAPTER_CONFIG} and ${ADAPTER_WEIGHTS})`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(cfgBytes));
  } catch (e) {
    throw new CheckpointError(at(ADAPTER_CONFIG), `not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  const { cfg, baseModel } = parseAdapterConfig(json, at(ADAPTER_CONFIG), modelCfg);

  // 2. adapter_model.safetensors
  const file = at(ADAPTER_WEIGHTS);
  const bytes = await read(ADAPTER_WEIGHTS);
  if (!bytes) {
    const bin = (await src.size('adapter_model.bin').catch(() => null)) !== null;
    throw new CheckpointError(file, bin ? 'missing; only adapter_model.bin (a pickle) is present, which is not supported: save with safe_serialization=True' : 'missing');
  }
  const stored = readSafetensors(bytes, file);

  // PEFT strips the adapter name on save; a ".default." in a name means the file was not saved by
  // save_pretrained (e.g. a raw model.state_dict()), and the names would not line up.
  for (const name of stored.keys()) {
    if (/\.lora_[AB]\.[^.]+\.weight$/.test(name)) {
      throw new CheckpointError(file, 'carries an adapter name (e.g. ".default."); PEFT\'s save_pretrained strips it, so this file was not saved by PEFT (rename to "...lora_A.weight")', name);
    }
  }

  // 3. every expected tensor: present, float dtype, right shape; widened to f32
  const tensors: AdapterTensors = new Map();
  const used = new Set<string>();
  const get = (name: string, shape: number[]): Float32Array => {
    const t = stored.get(name);
    if (!t) throw new CheckpointError(file, `missing (expected shape [${shape.join(', ')}] for r = ${cfg.r})`, name);
    const { dtype, shape: got } = t.info;
    if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16') throw new CheckpointError(file, `dtype ${dtype} is not a weight dtype (expected F32, F16 or BF16)`, name);
    if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
      throw new CheckpointError(file, `expected shape [${shape.join(', ')}] (r = ${cfg.r}), got [${got.join(', ')}]`, name);
    }
    used.add(name);
    const copy = t.data.slice(); // aligned, owned
    if (dtype === 'F32') return new Float32Array(copy.buffer, 0, copy.length / 4);
    return fromHalfBits(new Uint16Array(copy.buffer, 0, copy.length / 2), dtype === 'F16' ? 'f16' : 'bf16');
  };
  for (const { l, t, key, in: nIn, out } of adapterModules(cfg, modelCfg)) {
    tensors.set(key, { A: get(loraTensorName(l, t, 'A'), [cfg.r, nIn]), B: get(loraTensorName(l, t, 'B'), [out, cfg.r]) });
  }

  // 4. nothing else: an unexpected tensor would be weights this engine silently drops
  for (const name of stored.keys()) {
    if (used.has(name)) continue;
    const why = /lora_embedding_[AB]/.test(name) ? 'a LoRA on an embedding, which is not supported'
      : /lora_magnitude_vector/.test(name) ? 'a DoRA magnitude, which is not supported'
      : /\.lora_[AB]\.bias$/.test(name) ? 'a lora_B bias (lora_bias=True), which is not supported'
      : /\.lora_[AB]\.weight$/.test(name) ? 'a LoRA weight for a module the config does not adapt'
      : 'not a LoRA weight of this adapter (modules_to_save or a trained bias?), which is not supported';
    throw new CheckpointError(file, `unexpected tensor: ${why}`, name);
  }
  return { cfg, tensors, baseModel };
}

/**
 * Base weights with the adapter folded in: W' = W + scale · B·A for every adapted module
 * (PEFT's merge_and_unload). Returns a new Map: adapted weights are new HostTensors in the base
 * tensor's dtype, all others the very same objects; `base` is not modified.
 * Math: each entry's dot product over r is summed in float64 (JS numbers) and added to W, then
 * rounded once to f32, and for f16/bf16 weights from that f32 to the half type (round to nearest
 * even). PEFT on the CPU also forms B·A in fp32 but rounds it to the weight dtype before adding,
 * so a merged half weight can differ from PEFT's by one unit in the last place.
 */
export function mergeLora(
  base: Map<string, HostTensor>,
  cfg: LoraConfig,
  tensors: AdapterTensors,
  modelCfg: ModelConfig,
): Map<string, HostTensor> {
  const where = 'mergeLora';
  checkLoraConfig(cfg, modelCfg, where);
  checkTensors(cfg, tensors, modelCfg, where);
  const scale = loraScale(cfg);
  const r = cfg.r;
  const out = new Map(base);
  for (const { l, t, key, in: nIn, out: nOut } of adapterModules(cfg, modelCfg)) {
    const name = `${loraModulePath(l, t)}.weight`;
    const w = base.get(name);
    if (!w) throw new CheckpointError(where, 'missing from the base weights', name);
    if (w.shape.length !== 2 || w.shape[0] !== nOut || w.shape[1] !== nIn) {
      throw new CheckpointError(where, `base weight has shape [${w.shape.join(', ')}], expected [${nOut}, ${nIn}]`, name);
    }
    const { A, B } = tensors.get(key)!; // A [r, in], B [out, r]
    const W = w.dtype === 'f32' ? (w.data as Float32Array) : fromHalfBits(w.data as Uint16Array, w.dtype); // [out, in]
    const merged = new Float32Array(nOut * nIn); // [out, in]
    const row = new Float64Array(nIn); // (B·A)[o, :]
    for (let o = 0; o < nOut; o++) {
      row.fill(0);
      for (let k = 0; k < r; k++) {
        const b = B[o * r + k];
        for (let i = 0; i < nIn; i++) row[i] += b * A[k * nIn + i];
      }
      for (let i = 0; i < nIn; i++) merged[o * nIn + i] = W[o * nIn + i] + scale * row[i]; // one rounding to f32
    }
    let data: Float32Array | Uint16Array = merged;
    if (w.dtype !== 'f32') {
      const toBits = w.dtype === 'f16' ? f32ToF16Bits : f32ToBf16Bits;
      data = new Uint16Array(merged.length);
      for (let i = 0; i < merged.length; i++) data[i] = toBits(merged[i]);
    }
    out.set(name, { name, dtype: w.dtype, shape: [nOut, nIn], data });
  }
  return out;
}

/**
 * A read adapter's A [r, in] and B [out, r] on the GPU, as the forward applies it unmerged
 * (`model.adapter = lora`): one base model, adapters switched without reloading it. Each layer's factors lie in one
 * buffer as a trainer packs them (its A factors back to back, then its B factors, each at a multiple of SLICE_ALIGN
 * bytes), so the adapters that share an input take the forward's shared products (model/block-adapters.ts stackedRows).
 * `tensors` are the caller's to dispose when the adapter is no longer used.
 */
export function adapterSlots(rt: Runtime, a: { cfg: LoraConfig; tensors: AdapterTensors }, m: ModelConfig, label = 'lora'): { lora: AdapterSlots; tensors: Tensor[] } {
  const slots: Partial<Record<LoraTarget, { A: Tensor; B: Tensor }>>[] = Array.from({ length: m.n_layers }, () => ({}));
  const tensors: Tensor[] = [];
  const r = a.cfg.r;
  const mods = adapterModules(a.cfg, m).filter((x) => a.tensors.has(x.key)); // by layer, targets in LORA_TARGETS order
  for (let l = 0; l < m.n_layers; l++) {
    const here = mods.filter((x) => x.l === l);
    if (!here.length) continue;
    const parts = [
      ...here.map((x) => ({ x, data: a.tensors.get(x.key)!.A, shape: [r, x.in] })), // [r, in]
      ...here.map((x) => ({ x, data: a.tensors.get(x.key)!.B, shape: [x.out, r] })), // [out, r]
    ];
    const at: number[] = [];
    let total = 0;
    for (const p of parts) {
      at.push(total);
      total = sliceAligned(total + p.data.length);
    }
    const host = new Float32Array(total);
    parts.forEach((p, i) => host.set(p.data, at[i]));
    const buf = rt.upload(host, [total], 'f32', `${label}.layer${l}`); // the layer's factors
    tensors.push(buf);
    here.forEach((x, i) => {
      const A = buf.slice(at[i], parts[i].shape, `${label}.${x.key}.A`);
      const B = buf.slice(at[here.length + i], parts[here.length + i].shape, `${label}.${x.key}.B`);
      slots[l][x.t] = { A, B };
    });
  }
  return { lora: { scale: loraScale(a.cfg), slots }, tensors };
}
