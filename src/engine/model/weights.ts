// Model weights on the GPU, named and shaped the TransformerLens way, from a checkpoint's host tensors.
//
// Linear weights keep the HF layout [out, in] (nn.Linear), used as x·Wᵀ (matmul transB). Half
// weights stay half on the GPU (two per u32, unpacked in the kernels); biases are made f32 on the
// host (tiny) because matmul adds an f32 bias.
import type { Runtime } from '../gpu/runtime.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { fromHalfBits } from '../gpu/half.ts';
import type { ModelConfig } from './config.ts';
import type { HostTensor } from './checkpoint.ts';

export interface BlockWeights {
  ln1: Tensor; // [d_model]               input_layernorm
  wq: Tensor; // [n_heads·d_head, d_model]
  wk: Tensor; // [n_kv_heads·d_head, d_model]
  wv: Tensor; // [n_kv_heads·d_head, d_model]
  bq: Tensor | null; // [n_heads·d_head]       Qwen2 only
  bk: Tensor | null; // [n_kv_heads·d_head]
  bv: Tensor | null;
  wo: Tensor; // [d_model, n_heads·d_head]
  ln2: Tensor; // [d_model]               post_attention_layernorm
  wgate: Tensor; // [d_mlp, d_model]
  wup: Tensor; // [d_mlp, d_model]
  wdown: Tensor; // [d_model, d_mlp]
}

export interface ModelWeights {
  embed: Tensor; // [d_vocab, d_model]
  blocks: BlockWeights[];
  lnFinal: Tensor; // [d_model]
  unembed: Tensor; // [d_vocab, d_model]: lm_head, or embed when tied
  /** every tensor this object owns (unembed may be embed) */
  all: Tensor[];
}

function toGpu(rt: Runtime, t: HostTensor, label: string): Tensor {
  return rt.upload(t.data, t.shape, t.dtype, label);
}

function biasToGpu(rt: Runtime, t: HostTensor | undefined, label: string): Tensor | null {
  if (!t) return null;
  const data = t.dtype === 'f32' ? (t.data as Float32Array) : fromHalfBits(t.data as Uint16Array, t.dtype);
  return rt.upload(data, t.shape, 'f32', label);
}

export function uploadWeights(rt: Runtime, cfg: ModelConfig, tensors: Map<string, HostTensor>): ModelWeights {
  const all: Tensor[] = [];
  const get = (name: string): HostTensor => {
    const t = tensors.get(name);
    if (!t) throw new Error(`checkpoint has no tensor ${name}`);
    return t;
  };
  const up = (name: string, label: string): Tensor => {
    const g = toGpu(rt, get(name), label);
    all.push(g);
    return g;
  };
  const bias = (name: string, label: string): Tensor | null => {
    const g = cfg.attention_bias ? biasToGpu(rt, tensors.get(name), label) : null;
    if (g) all.push(g);
    return g;
  };
  const embed = up('model.embed_tokens.weight', 'embed.W_E');
  const blocks: BlockWeights[] = [];
  for (let l = 0; l < cfg.n_layers; l++) {
    const p = `model.layers.${l}.`;
    blocks.push({
      ln1: up(`${p}input_layernorm.weight`, `blocks.${l}.ln1.w`),
      wq: up(`${p}self_attn.q_proj.weight`, `blocks.${l}.attn.W_Q`),
      wk: up(`${p}self_attn.k_proj.weight`, `blocks.${l}.attn.W_K`),
      wv: up(`${p}self_attn.v_proj.weight`, `blocks.${l}.attn.W_V`),
      bq: bias(`${p}self_attn.q_proj.bias`, `blocks.${l}.attn.b_Q`),
      bk: bias(`${p}self_attn.k_proj.bias`, `blocks.${l}.attn.b_K`),
      bv: bias(`${p}self_attn.v_proj.bias`, `blocks.${l}.attn.b_V`),
      wo: up(`${p}self_attn.o_proj.weight`, `blocks.${l}.attn.W_O`),
      ln2: up(`${p}post_attention_layernorm.weight`, `blocks.${l}.ln2.w`),
      wgate: up(`${p}mlp.gate_proj.weight`, `blocks.${l}.mlp.W_gate`),
      wup: up(`${p}mlp.up_proj.weight`, `blocks.${l}.mlp.W_in`),
      wdown: up(`${p}mlp.down_proj.weight`, `blocks.${l}.mlp.W_out`),
    });
  }
  const lnFinal = up('model.norm.weight', 'ln_final.w');
  const unembed = cfg.tie_word_embeddings ? embed : up('lm_head.weight', 'unembed.W_U');
  return { embed, blocks, lnFinal, unembed, all };
}

export function disposeWeights(w: ModelWeights): void {
  for (const t of w.all) t.dispose();
}
