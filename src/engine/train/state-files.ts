// Training checkpoints as files (name → bytes), the same in Node (a folder) and in the browser
// (IndexedDB): what a run needs to continue exactly, beside what a user takes away.
//   LoRA:  adapter_config.json + adapter_model.safetensors (a normal PEFT adapter)
//   full:  model.safetensors (HF names, q/k/v unstacked, f32) + config.json
//   both:  optimizer.safetensors  "param.<name>", "exp_avg.<name>", "exp_avg_sq.<name>" (f32, the
//          trainer's own names: PEFT names for LoRA, HF names with stacked qkv_proj for full)
//          trainer_state.json     { step, cursor, optim, lora, ... } (plain JSON)
import { readSafetensors, writeSafetensors, CheckpointError, type StDtype } from '../model/safetensors.ts';
import type { FileSource } from '../model/checkpoint.ts';
import { expectedTensors, type ModelConfig } from '../model/config.ts';
import { writeAdapter, loraKey, loraTensorName, type LoraConfig, type AdapterTensors } from './adapter.ts';
import { LORA_TARGETS } from './graph.ts';
import type { Trainer } from './trainer.ts';

export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const STATE_FILE = 'trainer_state.json';

export interface TrainerStateJson {
  schema: 'lab-sft-v1';
  /** the run's kind (absent: sft); a GRPO checkpoint's step counts optimizer steps (μ per GRPO step) */
  kind?: 'sft' | 'grpo' | 'dpo' | 'reward-model';
  step: number;
  totalSteps: number;
  cursor: { epoch: number; index: number };
  mode: 'lora' | 'full';
  lora: LoraConfig | null;
  optim: Record<string, unknown>;
  seed: number;
  batchSize: number;
  gradAccum: number;
  data: { file: string; rows: number; sha256?: string };
  model: string;
  /** GRPO: the settings and rewards a resume must agree on */
  grpo?: Record<string, unknown>;
}

const f32 = (name: string, shape: number[], a: Float32Array) => ({ name, dtype: 'F32' as StDtype, shape, data: new Uint8Array(a.buffer, a.byteOffset, a.byteLength) });

/** The first NaN/Inf among a trainer state's parameters and AdamW moments ("exp_avg <name>[i] is NaN"), or null. */
export function firstNonFinite(maps: Record<string, Map<string, Float32Array>>): string | null {
  for (const [what, m] of Object.entries(maps))
    for (const [name, v] of m) for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) return `${what} ${name}[${i}] is ${v[i]}`;
  return null;
}

/** Every file of a checkpoint of `trainer` now, and whether any value in it is NaN/Inf (such a checkpoint is never "good"). */
export async function checkpointFiles(trainer: Trainer, state: Omit<TrainerStateJson, 'schema' | 'step'>, configJson: Uint8Array | null): Promise<Map<string, Uint8Array> & { nonFinite?: string | null }> {
  const s = await trainer.exportState();
  const files = new Map<string, Uint8Array>();
  const shapes = new Map(trainer.params.map((p) => [p.name, [...p.p.shape]]));
  const opt: ReturnType<typeof f32>[] = [];
  for (const [name, v] of s.params) opt.push(f32(`param.${name}`, shapes.get(name)!, v));
  for (const [name, v] of s.m) opt.push(f32(`exp_avg.${name}`, shapes.get(name)!, v));
  for (const [name, v] of s.v) opt.push(f32(`exp_avg_sq.${name}`, shapes.get(name)!, v));
  files.set(OPTIMIZER_FILE, writeSafetensors(opt, { format: 'lab-optimizer' }));
  const full: TrainerStateJson = { schema: 'lab-sft-v1', step: trainer.step, ...state };
  files.set(STATE_FILE, new TextEncoder().encode(JSON.stringify(full, null, 1)));
  if (state.lora) {
    for (const [k, v] of Object.entries(writeAdapter(state.lora, adapterTensors(trainer.model.cfg, state.lora, s.params), trainer.model.cfg, state.model))) files.set(k, v);
  } else {
    files.set('model.safetensors', fullModelFile(trainer.model.cfg, s.params));
    if (configJson) files.set('config.json', configJson);
  }
  return Object.assign(files, { nonFinite: firstNonFinite({ parameter: s.params, exp_avg: s.m, exp_avg_sq: s.v }) });
}

/** The trainer's LoRA parameters (PEFT names) as adapter.ts tensors. */
export function adapterTensors(cfg: ModelConfig, lora: LoraConfig, params: Map<string, Float32Array>): AdapterTensors {
  const out: AdapterTensors = new Map();
  for (let l = 0; l < cfg.n_layers; l++)
    for (const t of LORA_TARGETS) {
      const A = params.get(loraTensorName(l, t, 'A'));
      const B = params.get(loraTensorName(l, t, 'B'));
      if (A && B) out.set(loraKey(l, t), { A, B });
    }
  return out;
}

/** Full-training parameters → an HF model.safetensors (f32; stacked q|k|v split back into q/k/v_proj; shapes from the config). */
export function fullModelFile(cfg: ModelConfig, params: Map<string, Float32Array>): Uint8Array {
  const { n_heads: H, n_kv_heads: Hkv, d_head: D, d_model: C } = cfg;
  const values = new Map<string, Float32Array>();
  for (const [name, v] of params) {
    const m = /^(model\.layers\.\d+\.self_attn\.)qkv_proj\.(weight|bias)$/.exec(name);
    if (!m) {
      values.set(name, v);
      continue;
    }
    const per = m[2] === 'weight' ? C : 1; // values per output row
    let at = 0;
    for (const [x, rows] of [['q', H * D], ['k', Hkv * D], ['v', Hkv * D]] as const) {
      values.set(`${m[1]}${x}_proj.${m[2]}`, v.slice(at * per, (at + rows) * per));
      at += rows;
    }
  }
  const list = expectedTensors(cfg).map(({ name, shape }) => {
    const v = values.get(name);
    if (!v) throw new Error(`fullModelFile: no values for ${name}`);
    if (v.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`fullModelFile: ${name} has ${v.length} values, its shape is [${shape}]`);
    return f32(name, shape, v);
  });
  list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return writeSafetensors(list, { format: 'pt' });
}

/** Reads a checkpoint folder written by checkpointFiles: state JSON and parameters + AdamW moments. */
export async function readCheckpoint(src: FileSource): Promise<{ state: TrainerStateJson; params: Map<string, Float32Array>; m: Map<string, Float32Array>; v: Map<string, Float32Array> }> {
  const where = (f: string) => `${src.name.replace(/\/+$/, '')}/${f}`;
  for (const f of [STATE_FILE, OPTIMIZER_FILE]) if ((await src.size(f)) === null) throw new CheckpointError(where(f), 'missing: not a checkpoint folder written by lab sft (checkpoint-<step>/)');
  let state: TrainerStateJson;
  try {
    state = JSON.parse(new TextDecoder().decode(await src.read(STATE_FILE))) as TrainerStateJson;
  } catch (e) {
    throw new CheckpointError(where(STATE_FILE), `not valid JSON (${(e as Error).message})`);
  }
  if (state?.schema !== 'lab-sft-v1' || !Number.isInteger(state.step) || !state.cursor) throw new CheckpointError(where(STATE_FILE), 'not a lab-sft-v1 trainer state');
  const tensors = readSafetensors(await src.read(OPTIMIZER_FILE), where(OPTIMIZER_FILE));
  const maps = { param: new Map<string, Float32Array>(), exp_avg: new Map<string, Float32Array>(), exp_avg_sq: new Map<string, Float32Array>() };
  for (const [name, { info, data }] of tensors) {
    const dot = name.indexOf('.');
    const kind = name.slice(0, dot) as keyof typeof maps;
    if (!(kind in maps) || info.dtype !== 'F32') throw new CheckpointError(where(OPTIMIZER_FILE), `unexpected tensor ${name} (${info.dtype})`);
    maps[kind].set(name.slice(dot + 1), new Float32Array(Uint8Array.from(data).buffer));
  }
  return { state, params: maps.param, m: maps.exp_avg, v: maps.exp_avg_sq };
}
