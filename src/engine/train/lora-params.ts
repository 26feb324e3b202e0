// A LoRA trainer's parameters (trainer.ts, Trainer.lora): which adapters (targets × layers), their initial values
// (PEFT's init, or given ones) and their packing into the optimizer's chunks (flat-params.ts). A layer's A factors lie
// back to back, then its B factors, so the adapters that share an input (q|k|v, gate|up) have their A and dA as one
// [k·r, in] block and q|k|v's B and dB as one [W, r] block: one product serves them all (model/block-adapters.ts stackedRows,
// lora-backward.ts).
import type { Runtime } from '../gpu/runtime.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { LlamaModel } from '../model/llama.ts';
import { Rng } from '../util/rng.ts';
import { packParams, type PackedParam, type ParamChunk, type ParamSpec } from './flat-params.ts';
import { loraDims, loraModulePath, loraTensorName, LORA_TARGETS, type LoraTarget } from './adapter.ts';
import type { LoraState } from './lora-backward.ts';

export interface LoraSetup {
  r: number;
  alpha: number;
  targets: readonly LoraTarget[];
  /** initial A [r, in] and B [out, r] per layer/target (e.g. from a PEFT adapter); default PEFT's init */
  init?: (layer: number, target: LoraTarget) => { A: Float32Array; B: Float32Array } | undefined;
  seed?: number;
  /** lora_dropout p on each adapter's input during training (PEFT semantics); default 0 */
  dropout?: number;
  /** adapted layers (PEFT's layers_to_transform); null/undefined = every layer */
  layers?: readonly number[] | null;
}

/**
 * The adapters of `setup` on `model`, packed (see the head of this file). PEFT's default init: A ~ U(−1/√in, 1/√in)
 * (kaiming uniform with a = √5), B = 0, so training starts from the base model exactly.
 */
export function loraParams(rt: Runtime, model: LlamaModel, setup: LoraSetup): { lora: LoraState; params: PackedParam[]; chunks: ParamChunk[] } {
  const { r, alpha } = setup;
  if (!Number.isInteger(r) || r < 1) throw new Error(`LoRA rank must be a positive integer, got ${r}`);
  if (!(alpha > 0)) throw new Error(`LoRA alpha must be > 0, got ${alpha}`);
  if (setup.targets.length === 0) throw new Error('LoRA needs at least one target module');
  const rng = new Rng(setup.seed ?? 0);
  const p = setup.dropout ?? 0;
  if (!(p >= 0 && p < 1)) throw new Error(`LoRA dropout must be in [0, 1), got ${p}`);
  const lora: LoraState = { scale: alpha / r, dropout: p, slots: [] };
  // which adapters, and their initial values (host), in layer/target order
  const plan: { l: number; t: LoraTarget; din: number; dout: number; A: Float32Array; B: Float32Array | null }[] = [];
  for (let l = 0; l < model.cfg.n_layers; l++) {
    lora.slots.push({});
    if (setup.layers && !setup.layers.includes(l)) continue;
    for (const t of LORA_TARGETS.filter((x) => setup.targets.includes(x))) {
      const { in: din, out: dout } = loraDims(t, model.cfg);
      const given = setup.init?.(l, t);
      if (given && (given.A.length !== r * din || given.B.length !== dout * r)) {
        throw new Error(`${loraModulePath(l, t)}: initial adapter has ${given.A.length}/${given.B.length} values, expected A [${r}, ${din}] and B [${dout}, ${r}]`);
      }
      const bound = 1 / Math.sqrt(din);
      plan.push({ l, t, din, dout, A: given?.A ?? rng.uniform(r * din, -bound, bound), B: given?.B ?? null });
    }
  }
  // a layer's A factors back to back, then its B factors (the head of this file)
  const specs: ParamSpec[] = [];
  for (let l = 0; l < model.cfg.n_layers; l++) {
    const here = plan.filter((p) => p.l === l);
    for (const { t, din } of here) specs.push({ name: loraTensorName(l, t, 'A'), shape: [r, din], decay: true }); // [r, in]
    for (const { t, dout } of here) specs.push({ name: loraTensorName(l, t, 'B'), shape: [dout, r], decay: true }); // [out, r]
  }
  const { params, chunks } = packParams(rt, specs);
  const byName = new Map(params.map((x) => [x.name, x]));
  plan.forEach(({ l, t, A, B }) => {
    const [pa, pb] = [byName.get(loraTensorName(l, t, 'A'))!, byName.get(loraTensorName(l, t, 'B'))!];
    setSlice(rt, pa.p, A);
    if (B) setSlice(rt, pb.p, B); // else PEFT's B = 0 (the chunk starts zeroed)
    lora.slots[l][t] = { A: pa.p, B: pb.p, dA: pa.g, dB: pb.g };
  });
  return { lora, params, chunks };
}

/** Writes host values into a slice (through a temporary upload: WebGPU copies need two buffers). */
function setSlice(rt: Runtime, dst: Tensor, values: Float32Array): void {
  const tmp = rt.upload(values, [values.length], 'f32', 'init');
  rt.copy(tmp, 0, dst, 0, values.length);
  tmp.dispose();
}
