// Model weights on the GPU, named and shaped the TransformerLens way, from a checkpoint's host tensors.
//
// Linear weights keep the HF layout [out, in] (nn.Linear), used as x·Wᵀ (matmul transB). Half
// weights stay half on the GPU (two per u32, unpacked in the kernels); biases are made f32 on the
// host (tiny) because matmul adds an f32 bias.
import type { Runtime } from '../gpu/runtime.ts';
import { SLICE_ALIGN, type Tensor } from '../gpu/tensor.ts';
import { fromHalfBits } from '../gpu/half.ts';
import type { ModelConfig } from './config.ts';
import type { HostTensor } from './checkpoint.ts';

export interface BlockWeights {
  ln1: Tensor; // [d_model]               input_layernorm
  /**
   * q_proj, k_proj and v_proj stacked: [(n_heads + 2·n_kv_heads)·d_head, d_model], so one projection
   * gives q|k|v per token (rows q heads, then k heads, then v heads) and rope_kv_write splits them.
   */
  wqkv: Tensor;
  bqkv: Tensor | null; // [(n_heads + 2·n_kv_heads)·d_head]   Qwen2 only
  wo: Tensor; // [d_model, n_heads·d_head]
  ln2: Tensor; // [d_model]               post_attention_layernorm
  /**
   * [d_mlp, d_model] each. Where f32 and the size allows (uploadWeights), the two halves of one buffer, back to back, so
   * that stackedRows([wgate, wup]) is one [2·d_mlp, d_model] view and the MLP takes gate|up as one product.
   */
  wgate: Tensor;
  wup: Tensor;
  wdown: Tensor; // [d_model, d_mlp]
}

export interface ModelWeights {
  embed: Tensor; // [d_vocab, d_model]
  blocks: BlockWeights[];
  lnFinal: Tensor; // [d_model]
  unembed: Tensor; // [d_vocab, d_model]: lm_head, or embed when tied
  /** every tensor this object owns (unembed may be embed; not the slices of one: wgate and wup may be W_GU's) */
  all: Tensor[];
}

function toGpu(rt: Runtime, t: HostTensor, label: string): Tensor {
  return rt.upload(t.data, t.shape, t.dtype, label);
}

const asF32 = (t: HostTensor): Float32Array => (t.dtype === 'f32' ? (t.data as Float32Array) : fromHalfBits(t.data as Uint16Array, t.dtype));

/** Row-stacks [N_i, K] tensors of one dtype into [ΣN_i, K] (half bits stay half). */
function stackRows(parts: HostTensor[], name: string): HostTensor {
  const dtype = parts[0].dtype;
  if (parts.some((p) => p.dtype !== dtype || p.shape[1] !== parts[0].shape[1])) {
    throw new Error(`${name}: the stacked projections differ in dtype or width (${parts.map((p) => `${p.name} ${p.dtype} [${p.shape}]`).join(', ')})`);
  }
  const n = parts.reduce((a, p) => a + p.data.length, 0);
  const data = dtype === 'f32' ? new Float32Array(n) : new Uint16Array(n);
  let at = 0;
  for (const p of parts) {
    data.set(p.data, at);
    at += p.data.length;
  }
  return { name, dtype, shape: [parts.reduce((a, p) => a + p.shape[0], 0), parts[0].shape[1]], data };
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
  const keep = (t: Tensor): Tensor => {
    all.push(t);
    return t;
  };
  /**
   * gate_proj and up_proj: one buffer [2F, C] (gate's rows, then up's) with the two as slices of it where they are f32
   * and gate's size is a whole number of SLICE_ALIGN bytes (up's start must be), else two tensors as uploaded
   */
  const gateUp = (p: string, l: number): Pick<BlockWeights, 'wgate' | 'wup'> => {
    const [g, u] = [get(`${p}gate_proj.weight`), get(`${p}up_proj.weight`)];
    const labels = [`blocks.${l}.mlp.W_gate`, `blocks.${l}.mlp.W_in`] as const;
    if (g.dtype !== 'f32' || u.dtype !== 'f32' || (4 * g.data.length) % SLICE_ALIGN !== 0 || g.shape[1] !== u.shape[1]) return { wgate: up(g.name, labels[0]), wup: up(u.name, labels[1]) };
    const both = keep(toGpu(rt, stackRows([g, u], `${p}gate_up`), `blocks.${l}.mlp.W_GU`)); // [2F, C]
    return { wgate: both.slice(0, g.shape, labels[0]), wup: both.slice(g.data.length, u.shape, labels[1]) };
  };
  const embed = up('model.embed_tokens.weight', 'embed.W_E');
  const blocks: BlockWeights[] = [];
  for (let l = 0; l < cfg.n_layers; l++) {
    const p = `model.layers.${l}.`;
    blocks.push({
      ln1: up(`${p}input_layernorm.weight`, `blocks.${l}.ln1.w`),
      wqkv: keep(toGpu(rt, stackRows(['q', 'k', 'v'].map((x) => get(`${p}self_attn.${x}_proj.weight`)), `${p}self_attn.qkv`), `blocks.${l}.attn.W_QKV`)),
      bqkv: cfg.attention_bias
        ? keep(rt.upload(Float32Array.from(['q', 'k', 'v'].flatMap((x) => Array.from(asF32(get(`${p}self_attn.${x}_proj.bias`))))), [(cfg.n_heads + 2 * cfg.n_kv_heads) * cfg.d_head], 'f32', `blocks.${l}.attn.b_QKV`))
        : null,
      wo: up(`${p}self_attn.o_proj.weight`, `blocks.${l}.attn.W_O`),
      ln2: up(`${p}post_attention_layernorm.weight`, `blocks.${l}.ln2.w`),
      ...gateUp(`${p}mlp.`, l),
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
