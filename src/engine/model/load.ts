// One call from files to a runnable model: checkpoint (validated), tokenizer, weights on the GPU.
import type { Runtime } from '../gpu/runtime.ts';
import { loadCheckpoint, type FileSource } from './checkpoint.ts';
import { loadTokenizer, type LabTokenizer } from './tokenizer.ts';
import { uploadWeights } from './weights.ts';
import { LlamaModel } from './llama.ts';
import { mergeLora, readAdapter, type AdapterFiles, type LoraConfig } from '../train/adapter.ts';

export interface LoadedModel {
  model: LlamaModel;
  tokenizer: LabTokenizer | null;
  warnings: string[];
  /** the LoRA adapter merged into the weights, or null */
  adapter: LoraConfig | null;
}

export async function loadModel(
  rt: Runtime,
  src: FileSource,
  opts: {
    tokenizer?: boolean;
    onProgress?: (p: { bytes: number; total: number; file: string }) => void;
    /** a PEFT LoRA adapter, merged into the base weights on the host (W + scale·B·A) before upload */
    adapter?: AdapterFiles;
  } = {},
): Promise<LoadedModel> {
  // tokenizer first: a broken tokenizer.json fails before any weight is read or put on the GPU
  const tokenizer = opts.tokenizer === false ? null : await loadTokenizer(src);
  const { config, tensors: base, warnings } = await loadCheckpoint(src, { onProgress: opts.onProgress });
  let tensors = base;
  let adapter: LoraConfig | null = null;
  if (opts.adapter) {
    const a = await readAdapter(opts.adapter, config);
    tensors = mergeLora(base, a.cfg, a.tensors, config);
    base.clear();
    adapter = a.cfg;
  }
  const weights = uploadWeights(rt, config, tensors);
  tensors.clear(); // host copies can go: the GPU has them
  return { model: new LlamaModel(rt, config, weights), tokenizer, warnings, adapter };
}
