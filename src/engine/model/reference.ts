// The whole model in plain TypeScript, float64 throughout (llm.c's CPU reference): the engine's
// forward pass is tested against this on tiny checkpoints, independent of any Python fixture.
// One sequence, no cache; positions 0..T-1. Same math as transformers' LlamaForCausalLM / Qwen2:
//   x = E[ids]; per block: x += o(attn(rope(q(n1(x))), rope(k(n1(x))), v(n1(x))));
//                          x += down(silu(gate(n2(x))) · up(n2(x)));   logits = U · norm(x)
// Legend: T positions, C d_model, H heads, Hkv kv heads, D head dim, F d_mlp, V vocab.
import { ropeInvFreq, type ModelConfig } from './config.ts';

export interface ReferenceResult {
  logits: Float64Array; // [T, V]
  attentions: Float64Array[]; // per layer [H, T, T]
  residPost: Float64Array[]; // per layer [T, C]
}

type W = (name: string) => Float32Array;

function rmsnorm(x: Float64Array, w: Float32Array, T: number, C: number, eps: number): Float64Array {
  const y = new Float64Array(T * C);
  for (let t = 0; t < T; t++) {
    let ss = 0;
    for (let c = 0; c < C; c++) ss += x[t * C + c] ** 2;
    const r = 1 / Math.sqrt(ss / C + eps);
    for (let c = 0; c < C; c++) y[t * C + c] = x[t * C + c] * r * w[c];
  }
  return y;
}

/** x [T, In] · Wᵀ (W [Out, In]) + b → [T, Out] */
function linear(x: Float64Array, w: Float32Array, b: Float32Array | null, T: number, In: number, Out: number): Float64Array {
  const y = new Float64Array(T * Out);
  for (let t = 0; t < T; t++)
    for (let o = 0; o < Out; o++) {
      let acc = b ? b[o] : 0;
      for (let i = 0; i < In; i++) acc += x[t * In + i] * w[o * In + i];
      y[t * Out + o] = acc;
    }
  return y;
}

/** rotate_half RoPE in place on [T, nh, D] at positions 0..T-1 */
function rope(x: Float64Array, T: number, nh: number, D: number, invFreq: Float32Array): void {
  const half = D / 2;
  for (let t = 0; t < T; t++)
    for (let h = 0; h < nh; h++) {
      const o = (t * nh + h) * D;
      for (let i = 0; i < half; i++) {
        const a = t * invFreq[i];
        const [c, s] = [Math.cos(a), Math.sin(a)];
        const [x1, x2] = [x[o + i], x[o + i + half]];
        x[o + i] = x1 * c - x2 * s;
        x[o + i + half] = x2 * c + x1 * s;
      }
    }
}

/**
 * Optional extra term added to a projection's output (training tests: a LoRA branch with its dropout
 * mask): called with the layer, the PEFT target name (q_proj … down_proj) and the projection's input
 * x [T, in]; returns [T, out] to add, or null.
 */
export type ReferenceDelta = (layer: number, target: string, x: Float64Array) => Float64Array | null;

export function referenceForward(cfg: ModelConfig, weights: Map<string, Float32Array>, ids: readonly number[], delta?: ReferenceDelta): ReferenceResult {
  const w: W = (name) => {
    const t = weights.get(name);
    if (!t) throw new Error(`reference: no weight ${name}`);
    return t;
  };
  const { d_model: C, n_heads: H, n_kv_heads: Hkv, d_head: D, d_mlp: F, d_vocab: V, rms_norm_eps: eps } = cfg;
  const T = ids.length;
  const invFreq = ropeInvFreq(cfg);
  const E = w('model.embed_tokens.weight');
  let x = new Float64Array(T * C); // [T, C]
  ids.forEach((id, t) => {
    for (let c = 0; c < C; c++) x[t * C + c] = E[id * C + c];
  });
  const attentions: Float64Array[] = [];
  const residPost: Float64Array[] = [];
  for (let l = 0; l < cfg.n_layers; l++) {
    const p = `model.layers.${l}.`;
    /** the projection `target` of this layer: linear, plus the delta's term */
    const proj = (target: string, xIn: Float64Array, b: Float32Array | null, In: number, Out: number): Float64Array => {
      const part = ['gate_proj', 'up_proj', 'down_proj'].includes(target) ? 'mlp' : 'self_attn';
      const y = linear(xIn, w(`${p}${part}.${target}.weight`), b, T, In, Out);
      const d = delta?.(l, target, xIn);
      if (d) for (let i = 0; i < y.length; i++) y[i] += d[i];
      return y;
    };
    const bias = (n: string) => (cfg.attention_bias ? (weights.get(`${p}self_attn.${n}_proj.bias`) ?? null) : null);
    const h = rmsnorm(x, w(`${p}input_layernorm.weight`), T, C, eps);
    const q = proj('q_proj', h, bias('q'), C, H * D); // [T, H, D]
    const k = proj('k_proj', h, bias('k'), C, Hkv * D); // [T, Hkv, D]
    const v = proj('v_proj', h, bias('v'), C, Hkv * D); // [T, Hkv, D]
    rope(q, T, H, D, invFreq);
    rope(k, T, Hkv, D, invFreq);
    const z = new Float64Array(T * H * D); // [T, H, D]
    const pattern = new Float64Array(H * T * T); // [H, T, T]
    for (let hh = 0; hh < H; hh++) {
      const kh = Math.floor(hh / (H / Hkv));
      for (let i = 0; i < T; i++) {
        const s = new Float64Array(i + 1);
        let m = -Infinity;
        for (let j = 0; j <= i; j++) {
          let acc = 0;
          for (let d = 0; d < D; d++) acc += q[(i * H + hh) * D + d] * k[(j * Hkv + kh) * D + d];
          s[j] = acc / Math.sqrt(D);
          m = Math.max(m, s[j]);
        }
        let sum = 0;
        for (let j = 0; j <= i; j++) sum += s[j] = Math.exp(s[j] - m);
        for (let j = 0; j <= i; j++) {
          const pr = s[j] / sum;
          pattern[(hh * T + i) * T + j] = pr;
          for (let d = 0; d < D; d++) z[(i * H + hh) * D + d] += pr * v[(j * Hkv + kh) * D + d];
        }
      }
    }
    attentions.push(pattern);
    const attnOut = proj('o_proj', z, null, H * D, C);
    for (let i = 0; i < x.length; i++) x[i] += attnOut[i];
    const h2 = rmsnorm(x, w(`${p}post_attention_layernorm.weight`), T, C, eps);
    const g = proj('gate_proj', h2, null, C, F);
    const u = proj('up_proj', h2, null, C, F);
    for (let i = 0; i < g.length; i++) g[i] = (g[i] / (1 + Math.exp(-g[i]))) * u[i];
    const mlpOut = proj('down_proj', g, null, F, C);
    x = x.map((xi, i) => xi + mlpOut[i]);
    residPost.push(x.slice());
  }
  const normed = rmsnorm(x, w('model.norm.weight'), T, C, eps);
  const U = cfg.tie_word_embeddings ? E : w('lm_head.weight');
  const logits = linear(normed, U, null, T, C, V); // [T, V]
  return { logits, attentions, residPost };
}
