// config.json parsing, RoPE inverse frequencies and the expected tensor list.
// RoPE reference values were computed independently with numpy float32, op by op as torch does
// (powf from libm, f32 division/multiplication, scalars cast to f32); they are compared EXACTLY
// (bit for bit), since transformers' values are f32 and the model must reproduce them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectedTensors, parseConfig, ropeInvFreq, type ModelConfig } from './config.ts';
import { CheckpointError } from './safetensors.ts';

// Real configs (abridged to the fields that matter, values as published on the Hub)
const SMOLLM2_135M = {
  architectures: ['LlamaForCausalLM'], attention_bias: false, bos_token_id: 0, eos_token_id: 0, hidden_act: 'silu',
  hidden_size: 576, intermediate_size: 1536, max_position_embeddings: 8192, model_type: 'llama', num_attention_heads: 9,
  num_hidden_layers: 30, num_key_value_heads: 3, pretraining_tp: 1, rms_norm_eps: 1e-5, rope_scaling: null,
  rope_theta: 100000, tie_word_embeddings: true, torch_dtype: 'bfloat16', vocab_size: 49152,
};
const QWEN25_05B = {
  architectures: ['Qwen2ForCausalLM'], bos_token_id: 151643, eos_token_id: 151643, hidden_act: 'silu', hidden_size: 896,
  intermediate_size: 4864, max_position_embeddings: 32768, max_window_layers: 24, model_type: 'qwen2', num_attention_heads: 14,
  num_hidden_layers: 24, num_key_value_heads: 2, rms_norm_eps: 1e-6, rope_theta: 1000000.0, sliding_window: 32768,
  tie_word_embeddings: true, torch_dtype: 'bfloat16', use_sliding_window: false, vocab_size: 151936,
};
const LLAMA32_1B = {
  architectures: ['LlamaForCausalLM'], bos_token_id: 128000, eos_token_id: [128001, 128008, 128009], head_dim: 64,
  hidden_act: 'silu', hidden_size: 2048, intermediate_size: 8192, max_position_embeddings: 131072, model_type: 'llama',
  num_attention_heads: 32, num_hidden_layers: 16, num_key_value_heads: 8, rms_norm_eps: 1e-5,
  rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
  rope_theta: 500000.0, tie_word_embeddings: true, torch_dtype: 'bfloat16', vocab_size: 128256,
};
const LLAMA3_SCALING = { type: 'llama3' as const, factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 };

/** asserts fn throws a one-line CheckpointError whose message matches every pattern */
function throwsCk(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CheckpointError, `expected CheckpointError, got ${String(e)}`);
    assert.ok(!e.message.includes('\n'), `message must be one line: ${e.message}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

test('SmolLM2-135M: llama, GQA 9/3, tied, d_head = 576/9', () => {
  const c = parseConfig(SMOLLM2_135M);
  assert.deepEqual(c, {
    arch: 'llama', d_model: 576, n_layers: 30, n_heads: 9, n_kv_heads: 3, d_head: 64, d_mlp: 1536, d_vocab: 49152,
    n_ctx: 8192, rms_norm_eps: 1e-5, rope_theta: 100000, rope_scaling: null, tie_word_embeddings: true,
    attention_bias: false, bos_token_id: 0, eos_token_ids: [0], torch_dtype: 'bfloat16',
  } satisfies ModelConfig);
});

test('Qwen2.5-0.5B: qwen2 has q/k/v bias; theta 1e6', () => {
  const c = parseConfig(QWEN25_05B);
  assert.equal(c.arch, 'qwen2');
  assert.equal(c.attention_bias, true);
  assert.equal(c.d_head, 64);
  assert.equal(c.n_kv_heads, 2);
  assert.equal(c.rope_theta, 1e6);
  assert.deepEqual(c.eos_token_ids, [151643]);
});

test('Llama-3.2-1B: llama3 rope_scaling, eos list, explicit head_dim', () => {
  const c = parseConfig(LLAMA32_1B);
  assert.deepEqual(c.rope_scaling, LLAMA3_SCALING);
  assert.equal(c.rope_theta, 500000);
  assert.deepEqual(c.eos_token_ids, [128001, 128008, 128009]);
  assert.equal(c.d_head, 64);
  // head_dim that differs from hidden_size / heads wins
  assert.equal(parseConfig({ ...LLAMA32_1B, head_dim: 128 }).d_head, 128);
});

test('rope spellings: old "type", transformers 5 rope_parameters, dtype field', () => {
  const old = parseConfig({ ...LLAMA32_1B, rope_scaling: { ...LLAMA32_1B.rope_scaling, rope_type: undefined, type: 'llama3' } });
  assert.deepEqual(old.rope_scaling, LLAMA3_SCALING);
  const { rope_theta: _t, rope_scaling: _s, torch_dtype: _d, ...bare } = LLAMA32_1B;
  const v5 = parseConfig({ ...bare, dtype: 'bfloat16', rope_parameters: { rope_type: 'llama3', rope_theta: 500000.0, factor: 32.0, low_freq_factor: 1.0, high_freq_factor: 4.0, original_max_position_embeddings: 8192 } });
  assert.deepEqual(v5, parseConfig(LLAMA32_1B));
  const v5d = parseConfig({ ...SMOLLM2_135M, rope_theta: undefined, rope_scaling: undefined, rope_parameters: { rope_type: 'default', rope_theta: 100000.0 } });
  assert.equal(v5d.rope_theta, 100000);
  assert.equal(v5d.rope_scaling, null);
  // rope_scaling {rope_type: 'default'} means no scaling
  assert.equal(parseConfig({ ...SMOLLM2_135M, rope_scaling: { rope_type: 'default' } }).rope_scaling, null);
});

test('defaults: kv heads = heads, untied, theta 10000, eps 1e-6, n_ctx per arch; model_type alone is enough', () => {
  const minimal = { hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 4, intermediate_size: 8, vocab_size: 10 };
  const c = parseConfig({ model_type: 'llama', ...minimal });
  assert.equal(c.n_kv_heads, 4);
  assert.equal(c.tie_word_embeddings, false);
  assert.equal(c.rope_theta, 10000);
  assert.equal(c.rms_norm_eps, 1e-6);
  assert.equal(c.n_ctx, 2048);
  assert.equal(c.bos_token_id, null);
  assert.deepEqual(c.eos_token_ids, []);
  assert.equal(c.torch_dtype, 'float32');
  const q = parseConfig({ model_type: 'qwen2', ...minimal });
  assert.equal(q.n_ctx, 32768);
  assert.equal(q.attention_bias, true);
});

test('errors name config.json and the field or architecture', () => {
  throwsCk(() => parseConfig({ ...SMOLLM2_135M, architectures: ['MistralForCausalLM'] }), /^config\.json: /, /MistralForCausalLM/);
  throwsCk(() => parseConfig({ ...SMOLLM2_135M, architectures: undefined, model_type: 'gemma' }, 'x/config.json'), /^x\/config\.json: /, /gemma/);
  throwsCk(() => parseConfig({ ...SMOLLM2_135M, model_type: 'qwen2' }), /model_type "qwen2" does not match/);
  throwsCk(() => parseConfig({ ...SMOLLM2_135M, architectures: undefined, model_type: undefined }), /architectures.*model_type/);
  throwsCk(() => parseConfig({ ...SMOLLM2_135M, hidden_size: undefined }), /"hidden_size"/, /missing/);
  throwsCk(() => parseConfig({ ...SMOLLM2_135M, num_attention_heads: '9' }), /"num_attention_heads"/, /positive integer/);
  throwsCk(() => parseConfig({ ...SMOLLM2_135M, vocab_size: 1.5 }), /"vocab_size"/);
  throwsCk(() => parseConfig({ ...SMOLLM2_135M, rms_norm_eps: -1 }), /"rms_norm_eps"/);
  throwsCk(() => parseConfig({ ...SMOLLM2_135M, tie_word_embeddings: 'yes' }), /"tie_word_embeddings"/);
  throwsCk(() => parseConfig({ ...SMOLLM2_135M, num_key_value_heads: 2 }), /"num_key_value_heads"/);
  throwsCk(() => parseConfig({ ...SMOLLM2_135M, hidden_size: 577 }), /hidden_size \(577\)/);
  throwsCk(() => parseConfig({ ...SMOLLM2_135M, head_dim: 63 }), /"head_dim"/);
  throwsCk(() => parseConfig({ ...SMOLLM2_135M, eos_token_id: ['a'] }), /"eos_token_id"/);
  throwsCk(() => parseConfig({ ...SMOLLM2_135M, bos_token_id: -1 }), /"bos_token_id"/);
  throwsCk(() => parseConfig({ ...SMOLLM2_135M, hidden_act: 'gelu' }), /"hidden_act"/);
  throwsCk(() => parseConfig({ ...SMOLLM2_135M, attention_bias: true }), /"attention_bias"/);
  throwsCk(() => parseConfig({ ...QWEN25_05B, use_sliding_window: true }), /"use_sliding_window"/);
  throwsCk(() => parseConfig({ ...SMOLLM2_135M, rope_scaling: { rope_type: 'yarn', factor: 4 } }), /"rope_scaling\.rope_type"/, /yarn/);
  throwsCk(() => parseConfig({ ...LLAMA32_1B, rope_scaling: { ...LLAMA32_1B.rope_scaling, factor: undefined } }), /"rope_scaling\.factor"/);
  throwsCk(() => parseConfig({ ...SMOLLM2_135M, rope_parameters: { rope_type: 'default', rope_theta: 'big' } }), /"rope_parameters\.rope_theta"/);
  throwsCk(() => parseConfig({ ...SMOLLM2_135M, rope_parameters: { full_attention: { rope_type: 'default' } } }), /rope_parameters\.full_attention/);
  throwsCk(() => parseConfig([1, 2]), /must be a JSON object/);
  throwsCk(() => parseConfig(null), /must be a JSON object/);
});

test('ropeInvFreq default: exact f32 values (theta 1e4, Dh 8)', () => {
  const c = parseConfig({ ...SMOLLM2_135M, rope_theta: 10000, hidden_size: 72 }); // d_head = 72 / 9 = 8
  assert.deepEqual([...ropeInvFreq(c)], [1.0, 0.10000000149011612, 0.009999999776482582, 0.0010000000474974513]);
});

test('ropeInvFreq default: SmolLM2 (theta 1e5, Dh 64), exact f32', () => {
  const want = [1.0, 0.6978305578231812, 0.486967533826828, 0.33982083201408386, 0.23713736236095428, 0.16548170149326324, 0.11547820270061493, 0.08058421313762665, 0.05623412877321243, 0.03924189880490303, 0.0273841954767704, 0.019109530374407768, 0.01333521492779255, 0.009305720217525959, 0.006493816617876291, 0.004531583748757839, 0.003162277862429619, 0.002206734148785472, 0.0015399265103042126, 0.00107460783328861, 0.0007498941849917173, 0.0005232990952208638, 0.00036517411353997886, 0.00025482967612333596, 0.00017782794020604342, 0.00012409377086441964, 8.6596432083752e-05, 6.042963650543243e-05, 4.216965317027643e-05, 2.9427272238535807e-05, 2.0535249859676696e-05, 1.4330126759887207e-05];
  const got = ropeInvFreq(parseConfig(SMOLLM2_135M));
  assert.equal(got.length, 32);
  assert.deepEqual([...got], want);
  // and it is the f64 formula to f32 precision (guards the reference itself; 2 ulp of f32)
  for (let i = 0; i < 32; i++) assert.ok(Math.abs(got[i] - 100000 ** (-(2 * i) / 64)) <= 2.4e-7 * got[i], `i=${i}`);
});

test('ropeInvFreq llama3 (Llama-3.2-1B): exact f32 in the high, medium and low bands', () => {
  const want = [1.0, 0.663601279258728, 0.44036662578582764, 0.2922278344631195, 0.193922758102417, 0.12868738174438477, 0.08539710193872452, 0.05666961893439293, 0.03760603070259094, 0.02495540864765644, 0.016560440883040428, 0.010989529080688953, 0.00729266507551074, 0.00483942124992609, 0.0032114461064338684, 0.0012905480107292533, 0.000429556705057621, 9.708286233944818e-05, 1.9461638657958247e-05, 1.291476746700937e-05, 8.570255886297673e-06, 5.687232260243036e-06, 3.7740544485131977e-06, 2.504467147446121e-06, 1.6619674170215148e-06, 1.1028836297555245e-06, 7.318749339901842e-07, 4.856731266045244e-07, 3.2229328894572973e-07, 2.1387423032592778e-07, 1.4192720243499934e-07, 9.418306490260875e-08];
  const cfg = parseConfig(LLAMA32_1B);
  const got = ropeInvFreq(cfg);
  assert.deepEqual([...got], want);
  // Band structure, in f64 (wavelengths 2π/inv: < 2048 kept, > 8192 divided by 32, between blended)
  const plain = ropeInvFreq({ ...cfg, rope_scaling: null });
  for (let i = 0; i < 32; i++) {
    const wl = (2 * Math.PI) / plain[i];
    if (wl < 2048) assert.equal(got[i], plain[i], `high band i=${i} unchanged`);
    else if (wl > 8192) assert.equal(got[i], Math.fround(plain[i] / 32), `low band i=${i} divided by factor`);
    else {
      const s = (8192 / wl - 1) / 3;
      const blend = (1 - s) * (plain[i] / 32) + s * plain[i];
      assert.ok(Math.abs(got[i] - blend) <= 1e-6 * blend, `medium band i=${i}: ${got[i]} vs ${blend}`);
      assert.ok(i >= 15 && i <= 17, 'medium band is i = 15..17 for these settings');
    }
  }
});

test('ropeInvFreq with Dh 96 and a non-power-of-2 original context (every f32 rounding step shows)', () => {
  // Dh = 96: i/Dh is inexact, so the f32 rounding of the exponent matters; ocl = 3000 makes
  // torch's reciprocal-then-multiply (ocl / wavelen) differ from a single division
  const base = parseConfig({ ...SMOLLM2_135M, rope_theta: 10000, head_dim: 96 });
  const plain = [1.0, 0.825404167175293, 0.6812920570373535, 0.5623413324356079, 0.46415889263153076, 0.3831186890602112, 0.3162277638912201, 0.26101571321487427, 0.2154434472322464, 0.17782793939113617, 0.14677992463111877, 0.12115275114774704, 0.10000000149011612, 0.08254041522741318, 0.06812921166419983, 0.05623412877321243, 0.04641588404774666, 0.03831187263131142, 0.03162277862429619, 0.026101570576429367, 0.02154434844851494, 0.017782794311642647, 0.014677992090582848, 0.012115277349948883, 0.009999999776482582, 0.008254043757915497, 0.006812919396907091, 0.005623413249850273, 0.00464158970862627, 0.0038311860989779234, 0.003162277862429619, 0.002610157709568739, 0.002154434332624078, 0.0017782794311642647, 0.0014677995350211859, 0.0012115273857489228, 0.0010000000474974513, 0.0008254043059423566, 0.0006812919164076447, 0.000562341301701963, 0.00046415894757956266, 0.00038311860407702625, 0.0003162277862429619, 0.0002610157825984061, 0.00021544341871049255, 0.00017782794020604342, 0.00014677995932288468, 0.00012115274876123294];
  assert.deepEqual([...ropeInvFreq(base)], plain);
  const scaled = { ...base, rope_scaling: { ...LLAMA3_SCALING, factor: 8, original_max_position_embeddings: 3000 } };
  const want = [...plain.slice(0, 25), 0.008112043142318726, 0.0053284140303730965, 0.0034665707498788834, 0.0022266809828579426, 0.001405533985234797, 0.0008655595011077821, 0.0005137453554198146, 0.00028731764177791774, 0.00022228492889553308, 0.00018347494187764823, 0.00015144092321861535, 0.0001250000059371814, 0.00010317553824279457, 8.51614895509556e-05, 7.029266271274537e-05, 5.801986844744533e-05, 4.788982550962828e-05, 3.9528473280370235e-05, 3.262697282480076e-05, 2.693042733881157e-05, 2.2228492525755428e-05, 1.8347494915360585e-05, 1.5144093595154118e-05];
  assert.deepEqual([...ropeInvFreq(scaled)], want); // medium band: i = 25..32
});

test('expectedTensors: names, shapes, order; qwen2 biases; lm_head only when untied', () => {
  const c = parseConfig({ ...QWEN25_05B, num_hidden_layers: 1, tie_word_embeddings: false });
  const t = expectedTensors(c);
  assert.deepEqual(t.map((x) => x.name), [
    'model.embed_tokens.weight',
    'model.layers.0.self_attn.q_proj.weight', 'model.layers.0.self_attn.q_proj.bias',
    'model.layers.0.self_attn.k_proj.weight', 'model.layers.0.self_attn.k_proj.bias',
    'model.layers.0.self_attn.v_proj.weight', 'model.layers.0.self_attn.v_proj.bias',
    'model.layers.0.self_attn.o_proj.weight',
    'model.layers.0.mlp.gate_proj.weight', 'model.layers.0.mlp.up_proj.weight', 'model.layers.0.mlp.down_proj.weight',
    'model.layers.0.input_layernorm.weight', 'model.layers.0.post_attention_layernorm.weight',
    'model.norm.weight', 'lm_head.weight',
  ]);
  const shape = Object.fromEntries(t.map((x) => [x.name, x.shape]));
  assert.deepEqual(shape['model.embed_tokens.weight'], [151936, 896]);
  assert.deepEqual(shape['model.layers.0.self_attn.q_proj.weight'], [896, 896]);
  assert.deepEqual(shape['model.layers.0.self_attn.k_proj.weight'], [128, 896]); // KV·Dh = 2·64
  assert.deepEqual(shape['model.layers.0.self_attn.k_proj.bias'], [128]);
  assert.deepEqual(shape['model.layers.0.self_attn.o_proj.weight'], [896, 896]);
  assert.deepEqual(shape['model.layers.0.mlp.down_proj.weight'], [896, 4864]);
  // SmolLM2: tied, no biases, 30 layers × 9 tensors + embed + norm
  const s = expectedTensors(parseConfig(SMOLLM2_135M));
  assert.equal(s.length, 30 * 9 + 2);
  assert.ok(!s.some((x) => x.name === 'lm_head.weight' || x.name.endsWith('.bias')));
  // explicit head_dim ≠ D/H changes the projection shapes
  const l = expectedTensors(parseConfig({ ...LLAMA32_1B, num_hidden_layers: 1, head_dim: 128 }));
  assert.deepEqual(l.find((x) => x.name.endsWith('q_proj.weight'))!.shape, [32 * 128, 2048]);
  assert.deepEqual(l.find((x) => x.name.endsWith('o_proj.weight'))!.shape, [2048, 32 * 128]);
});
