// PEFT adapter files on the fixture models' shapes (models/fixtures/{llama-gqa,qwen2-tied}):
// write → read round trips (bit-exact: saving is a copy), PEFT's exact tensor names and config
// keys, one-line errors naming the file and tensor, PEFT's module matching, and mergeLora against
// a float64 reference (tolerance = the rounding of the stored dtype, see the merge test).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig, type ModelConfig } from '../model/config.ts';
import { dirSource, loadCheckpoint, type HostTensor } from '../model/checkpoint.ts';
import { CheckpointError, parseSafetensorsHeader, readSafetensors, writeSafetensors, type StDtype } from '../model/safetensors.ts';
import { fromHalfBits, toHalfBits } from '../gpu/half.ts';
import { assertAllClose } from '../testing/allclose.ts';
import { Rng } from '../testing/rng.ts';
import {
  adapterConfigJson, adapterModules, loraKey, loraTensorName, mergeLora, readAdapter, writeAdapter,
  LORA_TARGETS, type AdapterTensors, type LoraConfig, type LoraTarget,
} from './adapter.ts';

const FIX = fileURLToPath(new URL('../../../models/fixtures/', import.meta.url));
const modelCfg = (name: string) => parseConfig(JSON.parse(readFileSync(join(FIX, name, 'config.json'), 'utf8')), name);
const LLAMA = modelCfg('llama-gqa'); // C 64, H 4, Hkv 2, D 16, F 160, 3 layers
const QWEN = modelCfg('qwen2-tied'); // C 48, H 6, Hkv 1, D 8, F 96, 2 layers
const ALL: LoraConfig = { r: 4, alpha: 8, dropout: 0.05, targets: [...LORA_TARGETS] };

/** Seeded random A [r, in] and B [out, r] for every adapted module, N(0, 0.15²). */
function randomAdapter(cfg: LoraConfig, m: ModelConfig, seed: number): AdapterTensors {
  const rng = new Rng(seed);
  return new Map(adapterModules(cfg, m).map((x) => [x.key, { A: rng.normal(cfg.r * x.in, 0.15), B: rng.normal(x.out * cfg.r, 0.15) }]));
}
const filesOf = (cfg: LoraConfig, m: ModelConfig, seed = 1) => new Map<string, Uint8Array>(Object.entries(writeAdapter(cfg, randomAdapter(cfg, m, seed), m, 'tiny/base')));
const configOf = (files: Map<string, Uint8Array>) => JSON.parse(new TextDecoder().decode(files.get('adapter_config.json')!)) as Record<string, unknown>;
const withConfig = (files: Map<string, Uint8Array>, edit: (j: Record<string, unknown>) => void) => {
  const j = configOf(files);
  edit(j);
  return new Map(files).set('adapter_config.json', new TextEncoder().encode(JSON.stringify(j)));
};
type StEntry = { name: string; dtype: StDtype; shape: number[]; data: Uint8Array };
const withTensors = (files: Map<string, Uint8Array>, edit: (t: StEntry[]) => StEntry[]) => {
  const t = [...readSafetensors(files.get('adapter_model.safetensors')!, 'x')].map(([name, { info, data }]) => ({ name, dtype: info.dtype, shape: info.shape, data }));
  return new Map(files).set('adapter_model.safetensors', writeSafetensors(edit(t), { format: 'pt' }));
};

/** readAdapter must reject with a one-line CheckpointError matching every pattern. */
async function rejects(files: Parameters<typeof readAdapter>[0], m: ModelConfig, ...patterns: RegExp[]) {
  await assert.rejects(readAdapter(files, m), (e: unknown) => {
    assert.ok(e instanceof CheckpointError, `expected CheckpointError, got ${String(e)}`);
    assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

const tmpDirs: string[] = [];
after(async () => Promise.all(tmpDirs.map((d) => rm(d, { recursive: true, force: true }))));

test('adapter_config.json holds exactly the keys PEFT writes, sorted, with PEFT defaults', () => {
  const want = {
    alpha_pattern: {}, auto_mapping: null, base_model_name_or_path: 'HuggingFaceTB/SmolLM2-135M', bias: 'none',
    corda_config: null, eva_config: null, exclude_modules: null, fan_in_fan_out: false, inference_mode: true,
    init_lora_weights: true, layer_replication: null, layers_pattern: null, layers_to_transform: null, loftq_config: {},
    lora_alpha: 16, lora_bias: false, lora_dropout: 0.05, megatron_config: null, megatron_core: 'megatron.core',
    modules_to_save: null, peft_type: 'LORA', qalora_group_size: 16, r: 8, rank_pattern: {}, revision: null,
    target_modules: ['q_proj', 'v_proj'], task_type: 'CAUSAL_LM', trainable_token_indices: null,
    use_dora: false, use_qalora: false, use_rslora: false,
  };
  const got = adapterConfigJson({ r: 8, alpha: 16, dropout: 0.05, targets: ['v_proj', 'q_proj'] }, 'HuggingFaceTB/SmolLM2-135M');
  assert.deepEqual(got, want);
  assert.deepEqual(Object.keys(got), Object.keys(want).sort(), 'keys in sorted order, as json.dumps(sort_keys=True)');
  const layered = adapterConfigJson({ r: 2, alpha: 4, dropout: 0, targets: ['down_proj'], layers: [2, 0] }, null);
  assert.deepEqual(layered.layers_to_transform, [0, 2]);
  assert.equal(layered.base_model_name_or_path, null);
  const files = filesOf({ r: 8, alpha: 16, dropout: 0.05, targets: ['v_proj', 'q_proj'] }, LLAMA);
  assert.equal(new TextDecoder().decode(files.get('adapter_config.json')), JSON.stringify({ ...want, base_model_name_or_path: 'tiny/base' }, null, 2));
});

test('adapter_model.safetensors: PEFT tensor names, fp32, [r, in] / [out, r], sorted, format pt', () => {
  const bytes = filesOf(ALL, LLAMA).get('adapter_model.safetensors')!;
  const { tensors, metadata } = parseSafetensorsHeader(bytes, bytes.length, 'x');
  assert.deepEqual({ ...metadata }, { format: 'pt' });
  const p = 'base_model.model.model.layers.0';
  const layer0 = [...tensors.values()].filter((t) => t.name.startsWith(`${p}.`)).map((t) => [t.name, t.dtype, t.shape]);
  assert.deepEqual(layer0, [ // [out, in] of the fixture: q [64, 64], k/v [32, 64], o [64, 64], gate/up [160, 64], down [64, 160]
    [`${p}.mlp.down_proj.lora_A.weight`, 'F32', [4, 160]], [`${p}.mlp.down_proj.lora_B.weight`, 'F32', [64, 4]],
    [`${p}.mlp.gate_proj.lora_A.weight`, 'F32', [4, 64]], [`${p}.mlp.gate_proj.lora_B.weight`, 'F32', [160, 4]],
    [`${p}.mlp.up_proj.lora_A.weight`, 'F32', [4, 64]], [`${p}.mlp.up_proj.lora_B.weight`, 'F32', [160, 4]],
    [`${p}.self_attn.k_proj.lora_A.weight`, 'F32', [4, 64]], [`${p}.self_attn.k_proj.lora_B.weight`, 'F32', [32, 4]],
    [`${p}.self_attn.o_proj.lora_A.weight`, 'F32', [4, 64]], [`${p}.self_attn.o_proj.lora_B.weight`, 'F32', [64, 4]],
    [`${p}.self_attn.q_proj.lora_A.weight`, 'F32', [4, 64]], [`${p}.self_attn.q_proj.lora_B.weight`, 'F32', [64, 4]],
    [`${p}.self_attn.v_proj.lora_A.weight`, 'F32', [4, 64]], [`${p}.self_attn.v_proj.lora_B.weight`, 'F32', [32, 4]],
  ]);
  const names = [...tensors.keys()]; // in data order
  assert.equal(names.length, 3 * 7 * 2);
  assert.deepEqual(names, [...names].sort(), 'stored in name order');
});

test('write → read round trip is bit-exact (record, Map, folder on disk; llama and qwen2; a layer subset)', async () => {
  const cases: [LoraConfig, ModelConfig][] = [
    [ALL, LLAMA],
    [{ r: 3, alpha: 5, dropout: 0, targets: ['k_proj', 'o_proj', 'up_proj'], layers: [0, 2] }, LLAMA],
    [{ r: 1, alpha: 2, dropout: 0.1, targets: ['q_proj', 'v_proj', 'down_proj'] }, QWEN],
  ];
  for (const [i, [cfg, m]] of cases.entries()) {
    const tensors = randomAdapter(cfg, m, 10 + i);
    const files = writeAdapter(cfg, tensors, m, 'some/base');
    const dir = await mkdtemp(join(tmpdir(), 'adapter-test-'));
    tmpDirs.push(dir);
    for (const [name, bytes] of Object.entries(files)) await writeFile(join(dir, name), bytes);
    for (const src of [files, new Map(Object.entries(files)), dirSource(dir)]) {
      const got = await readAdapter(src, m);
      assert.deepEqual(got.cfg, { ...cfg, targets: LORA_TARGETS.filter((t) => cfg.targets.includes(t)), layers: cfg.layers ?? null });
      assert.equal(got.baseModel, 'some/base');
      assert.deepEqual([...got.tensors.keys()], [...tensors.keys()]);
      for (const [k, p] of tensors) assert.deepEqual(got.tensors.get(k), p, k);
    }
  }
});

test('F16 / BF16 adapter tensors are widened to f32 exactly', async () => {
  const cfg: LoraConfig = { r: 2, alpha: 2, dropout: 0, targets: ['q_proj'] };
  const files = withTensors(filesOf(cfg, QWEN), (ts) => ts.map((t, i) => {
    const half = i % 2 ? 'bf16' : 'f16';
    const bits = toHalfBits(new Float32Array(t.data.slice().buffer), half);
    return { ...t, dtype: half === 'f16' ? 'F16' : 'BF16', data: new Uint8Array(bits.buffer) };
  }));
  const stored = readSafetensors(files.get('adapter_model.safetensors')!, 'x');
  const { tensors } = await readAdapter(files, QWEN);
  for (const l of [0, 1]) {
    for (const w of ['A', 'B'] as const) {
      const s = stored.get(loraTensorName(l, 'q_proj', w))!;
      const want = fromHalfBits(new Uint16Array(s.data.slice().buffer), s.info.dtype === 'F16' ? 'f16' : 'bf16');
      assert.deepEqual(tensors.get(loraKey(l, 'q_proj'))![w], want, `${l} ${w} ${s.info.dtype}`);
    }
  }
});

test('modules are chosen as PEFT does: suffixes, regex, all-linear, exclude_modules, layers_to_transform', async () => {
  const base = filesOf(ALL, LLAMA);
  const cases: [Record<string, unknown>, LoraTarget[], number[] | null][] = [
    [{ target_modules: 'all-linear' }, [...LORA_TARGETS], null],
    [{ target_modules: ['self_attn.q_proj', 'v_proj', 'c_attn'] }, ['q_proj', 'v_proj'], null], // unmatched names are fine
    [{ target_modules: '.*\\.(?P<m>q_proj|down_proj)' }, ['q_proj', 'down_proj'], null],
    [{ target_modules: 'model\\.layers\\.[12]\\.mlp\\.(gate|up)_proj' }, ['gate_proj', 'up_proj'], [1, 2]],
    [{ target_modules: LORA_TARGETS, exclude_modules: ['o_proj', 'mlp.down_proj'] }, ['q_proj', 'k_proj', 'v_proj', 'gate_proj', 'up_proj'], null],
    [{ target_modules: ['k_proj'], exclude_modules: '.*layers\\.1\\..*' }, ['k_proj'], [0, 2]],
    [{ target_modules: ['up_proj'], layers_to_transform: 1, layers_pattern: 'layers' }, ['up_proj'], [1]],
    [{ target_modules: ['up_proj'], layers_to_transform: [0, 1, 2] }, ['up_proj'], null],
    [{ target_modules: null }, ['q_proj', 'v_proj'], null], // PEFT's default for llama
  ];
  for (const [edit, targets, layers] of cases) {
    const files = withConfig(base, (j) => Object.assign(j, edit));
    // only the header is checked here: tensors follow the config, so swap in a matching set
    const cfg: LoraConfig = { r: 4, alpha: 8, dropout: 0.05, targets, layers };
    const w = filesOf(cfg, LLAMA).get('adapter_model.safetensors')!;
    const got = await readAdapter(new Map(files).set('adapter_model.safetensors', w), LLAMA);
    assert.deepEqual(got.cfg, cfg, JSON.stringify(edit));
  }
});

test('configs from older and newer PEFT versions are read (extra keys at their "off" values)', async () => {
  const w = filesOf({ r: 4, alpha: 16, dropout: 0.05, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] }, LLAMA).get('adapter_model.safetensors')!;
  const common = { base_model_name_or_path: 'b', bias: 'none', fan_in_fan_out: false, inference_mode: true, init_lora_weights: true,
    layers_pattern: null, layers_to_transform: null, lora_alpha: 16, lora_dropout: 0.05, modules_to_save: null, peft_type: 'LORA', r: 4,
    revision: null, target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'], task_type: 'CAUSAL_LM' };
  const old = { ...common, auto_mapping: null }; // the key set of PEFT ~0.5
  const newer = { ...common, alora_invocation_tokens: null, alpha_pattern: {}, arrow_config: null, auto_mapping: null, corda_config: null,
    ensure_weight_tying: false, eva_config: null, exclude_modules: null, layer_replication: null, loftq_config: {}, lora_bias: false,
    lora_ga_config: null, megatron_config: null, megatron_core: 'megatron.core', peft_version: '0.19.1', qalora_group_size: 16,
    rank_pattern: {}, target_parameters: null, trainable_token_indices: null, use_bdlora: null, use_dora: false, use_qalora: false,
    use_rslora: false }; // the key set of PEFT 0.19
  for (const j of [old, newer]) {
    const files = new Map([['adapter_config.json', new TextEncoder().encode(JSON.stringify(j))], ['adapter_model.safetensors', w]]);
    const got = await readAdapter(files, LLAMA);
    assert.deepEqual(got.cfg, { r: 4, alpha: 16, dropout: 0.05, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'], layers: null });
    assert.equal(got.baseModel, 'b');
  }
});

test('adapter_config.json errors name the file and the field', async () => {
  const base = filesOf(ALL, LLAMA);
  const F = /^adapter\/adapter_config\.json: /;
  const noConfig = new Map(base);
  noConfig.delete('adapter_config.json');
  await rejects(noConfig, LLAMA, F, /missing/);
  await rejects(new Map(base).set('adapter_config.json', new TextEncoder().encode('{"r": 4,')), LLAMA, F, /not valid JSON/);
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ peft_type: 'IA3' }, /field "peft_type" must be "LORA", got "IA3"/],
    [{ task_type: 'SEQ_CLS' }, /field "task_type" must be "CAUSAL_LM" or null, got "SEQ_CLS"/],
    [{ r: '4' }, /field "r" must be a positive integer, got "4"/],
    [{ r: 0 }, /field "r" must be a positive integer, got 0/],
    [{ lora_alpha: 'big' }, /field "lora_alpha" must be a number, got "big"/],
    [{ lora_dropout: 1 }, /field "lora_dropout" must be a number in \[0, 1\), got 1/],
    [{ use_dora: true }, /field "use_dora" is true: DoRA is not supported/],
    [{ use_rslora: true }, /field "use_rslora" is true: rank-stabilised LoRA/],
    [{ fan_in_fan_out: true }, /field "fan_in_fan_out" is true: transposed/],
    [{ bias: 'lora_only' }, /field "bias" must be "none", got "lora_only"/],
    [{ modules_to_save: ['lm_head'] }, /field "modules_to_save" is \["lm_head"\]: fully trained extra modules/],
    [{ rank_pattern: { q_proj: 8 } }, /field "rank_pattern" is .*per-module ranks/],
    [{ init_lora_weights: 'pissa' }, /field "init_lora_weights" is "pissa", which also rewrites the base weights/],
    [{ brand_new_option: 'on' }, /field "brand_new_option" is "on": a field this reader does not know/],
    [{ target_modules: 42 }, /field "target_modules" must be a list of names or a regex string, got 42/],
    [{ target_modules: 'q_proj(' }, /field "target_modules" regex "q_proj\(" cannot be used here/],
    [{ target_modules: ['c_attn'] }, /target_modules \["c_attn"\] selects no module of this model/],
    [{ target_modules: ['q_proj', 'lm_head'] }, /target_modules selects "lm_head", which is not supported/],
    [{ target_modules: ['embed_tokens'] }, /target_modules selects "model.embed_tokens", which is not supported/],
    [{ target_modules: ['q_proj', 'model.layers.1.self_attn.v_proj'] }, /covers v_proj in some layers but not in layer 0; different modules per layer/],
    [{ layers_to_transform: [0, 3] }, /field "layers_to_transform" names layer 3, but the model has layers 0..2/],
    [{ layers_to_transform: 'all' }, /field "layers_to_transform" must be a layer index, a list of them, or null/],
    [{ layers_to_transform: [1], layers_pattern: 'h' }, /field "layers_pattern" is "h", but this model's layer list is "layers"/],
    [{ layers_to_transform: [1], target_modules: '.*q_proj' }, /"layers_to_transform" cannot be used with a regex "target_modules"/],
  ];
  for (const [edit, re] of cases) await rejects(withConfig(base, (j) => Object.assign(j, edit)), LLAMA, F, re);
});

test('adapter_model.safetensors errors name the file and the tensor', async () => {
  const cfg: LoraConfig = { r: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj'], layers: [0, 2] };
  const base = filesOf(cfg, LLAMA);
  const F = /^adapter\/adapter_model\.safetensors: /;
  const noWeights = new Map(base);
  noWeights.delete('adapter_model.safetensors');
  await rejects(noWeights, LLAMA, F, /missing$/);
  await rejects(new Map(noWeights).set('adapter_model.bin', new Uint8Array(8)), LLAMA, F, /only adapter_model\.bin \(a pickle\)/);
  await rejects(new Map(base).set('adapter_model.safetensors', base.get('adapter_model.safetensors')!.subarray(0, 100)), LLAMA, F);

  const vB2 = loraTensorName(2, 'v_proj', 'B');
  const qA0 = loraTensorName(0, 'q_proj', 'A');
  const extra = (name: string, shape = [4, 64]): StEntry => ({ name, dtype: 'F32', shape, data: new Uint8Array(4 * shape[0] * shape[1]) });
  const cases: [(t: StEntry[]) => StEntry[], RegExp][] = [
    [(t) => t.filter((x) => x.name !== vB2), /tensor 'base_model\.model\.model\.layers\.2\.self_attn\.v_proj\.lora_B\.weight': missing \(expected shape \[32, 4\] for r = 4\)/],
    [(t) => t.map((x) => (x.name === qA0 ? { ...x, shape: [5, 64], data: new Uint8Array(5 * 64 * 4) } : x)),
      /tensor 'base_model\.model\.model\.layers\.0\.self_attn\.q_proj\.lora_A\.weight': expected shape \[4, 64\] \(r = 4\), got \[5, 64\]/],
    [(t) => t.map((x) => (x.name === qA0 ? { ...x, dtype: 'I32' } : x)), /q_proj\.lora_A\.weight': dtype I32 is not a weight dtype/],
    [(t) => [...t, extra('base_model.model.model.embed_tokens.lora_embedding_A', [4, 299])], /tensor 'base_model\.model\.model\.embed_tokens\.lora_embedding_A': unexpected tensor: a LoRA on an embedding/],
    [(t) => [...t, extra('base_model.model.lm_head.weight', [299, 64])], /tensor 'base_model\.model\.lm_head\.weight': unexpected tensor: not a LoRA weight of this adapter \(modules_to_save/],
    [(t) => [...t, extra(loraTensorName(1, 'q_proj', 'A'))], /layers\.1\.self_attn\.q_proj\.lora_A\.weight': unexpected tensor: a LoRA weight for a module the config does not adapt/],
    [(t) => [...t, extra('base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector', [1, 64])], /lora_magnitude_vector': unexpected tensor: a DoRA magnitude/],
    [(t) => t.map((x) => ({ ...x, name: x.name.replace('.weight', '.default.weight') })), /tensor '.*\.lora_[AB]\.default\.weight': carries an adapter name/],
  ];
  for (const [edit, re] of cases) await rejects(withTensors(base, edit), LLAMA, F, re);
});

test('writeAdapter refuses tensors that do not fit the config, and non-finite values', () => {
  const cfg: LoraConfig = { r: 2, alpha: 4, dropout: 0, targets: ['o_proj'] };
  const good = randomAdapter(cfg, QWEN, 3);
  const throwsCk = (fn: () => unknown, re: RegExp) => assert.throws(fn, (e: unknown) => e instanceof CheckpointError && re.test(e.message));
  const missing = new Map(good);
  missing.delete('1.o_proj');
  throwsCk(() => writeAdapter(cfg, missing, QWEN, null), /^writeAdapter: tensor '.*layers\.1\.self_attn\.o_proj\.lora_A\.weight': tensors lacks "1.o_proj"/);
  throwsCk(() => writeAdapter(cfg, new Map(good).set('0.q_proj', good.get('0.o_proj')!), QWEN, null), /tensors has "0.q_proj", which the config does not adapt/);
  const short = new Map(good).set('0.o_proj', { A: new Float32Array(3), B: good.get('0.o_proj')!.B });
  throwsCk(() => writeAdapter(cfg, short, QWEN, null), /o_proj\.lora_A\.weight': A has 3 values, expected r·in = 2·48/);
  const nan = new Map(good).set('1.o_proj', { A: good.get('1.o_proj')!.A, B: good.get('1.o_proj')!.B.map((x, i) => (i === 5 ? NaN : x)) });
  throwsCk(() => writeAdapter(cfg, nan, QWEN, null), /layers\.1\.self_attn\.o_proj\.lora_B\.weight': value NaN at index 5; refusing to save a non-finite adapter/);
  throwsCk(() => writeAdapter({ ...cfg, r: 0 }, good, QWEN, null), /^writeAdapter: r must be a positive integer, got 0/);
  throwsCk(() => writeAdapter({ ...cfg, layers: [2] }, good, QWEN, null), /layer 2 is outside the model's layers 0\.\.1/);
});

/** W + (alpha / r)·B·A in float64, naive (o, i, k) loops: the reference for mergeLora. */
function mergeRef(W: Float32Array, A: Float32Array, B: Float32Array, out: number, nIn: number, r: number, scale: number): Float64Array {
  const ref = new Float64Array(out * nIn); // [out, in]
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < nIn; i++) {
      let acc = 0;
      for (let k = 0; k < r; k++) acc += B[o * r + k] * A[k * nIn + i]; // (B·A)[o, i]
      ref[o * nIn + i] = W[o * nIn + i] + scale * acc;
    }
  }
  return ref;
}

test('mergeLora = W + scale·B·A vs float64 (llama-gqa weights; f32, bf16 and f16 bases)', async () => {
  const { tensors: ck } = await loadCheckpoint(dirSource(join(FIX, 'llama-gqa')));
  const base = new Map(ck);
  // store two targets in half precision to test the round trip back to their dtype
  const halve = (name: string, dtype: 'f16' | 'bf16') => {
    const t = base.get(name)!;
    base.set(name, { ...t, dtype, data: toHalfBits(t.data as Float32Array, dtype) });
  };
  halve('model.layers.0.self_attn.q_proj.weight', 'bf16');
  halve('model.layers.2.mlp.down_proj.weight', 'f16');
  const snapshot = new Map([...base].map(([k, t]) => [k, t.data.slice()]));
  const cfg: LoraConfig = { r: 3, alpha: 6, dropout: 0, targets: [...LORA_TARGETS], layers: [0, 2] }; // scale 2
  const ad = randomAdapter(cfg, LLAMA, 7);
  const merged = mergeLora(base, cfg, ad, LLAMA);

  for (const [k, t] of base) assert.deepEqual(t.data, snapshot.get(k), `base ${k} unchanged`);
  assert.deepEqual([...merged.keys()], [...base.keys()], 'same tensors, same order');
  let checked = 0;
  for (const [name, t] of merged) {
    const m = /^model\.layers\.(\d+)\.(?:self_attn|mlp)\.(\w+_proj)\.weight$/.exec(name);
    const key = m && ad.has(`${m[1]}.${m[2]}`) ? `${m[1]}.${m[2]}` : null;
    if (!key) {
      assert.equal(t, base.get(name), `${name} not adapted: the same object`);
      continue;
    }
    const b = base.get(name)!;
    assert.equal(t.dtype, b.dtype, name);
    assert.deepEqual(t.shape, b.shape, name);
    const W = b.dtype === 'f32' ? (b.data as Float32Array) : fromHalfBits(b.data as Uint16Array, b.dtype);
    const ref = mergeRef(W, ad.get(key)!.A, ad.get(key)!.B, b.shape[0], b.shape[1], cfg.r, 2);
    const got = t.dtype === 'f32' ? (t.data as Float32Array) : fromHalfBits(t.data as Uint16Array, t.dtype);
    // one rounding of the float64 sum to the stored type (half an ulp: 2^-24 relative for f32,
    // 2^-8 for bf16, 2^-11 for f16, each + 2^-24 for the f32 step before a half type), plus half
    // the f16 subnormal spacing (2^-25) for tiny f16 values
    const tol = { f32: { atol: 0, rtol: 2 ** -24 }, bf16: { atol: 0, rtol: 2 ** -8 + 2 ** -24 }, f16: { atol: 2 ** -25, rtol: 2 ** -11 + 2 ** -24 } }[t.dtype];
    assertAllClose(got, ref, tol, name);
    checked++;
  }
  assert.equal(checked, 2 * 7);

  const throwsCk = (fn: () => unknown, re: RegExp) => assert.throws(fn, (e: unknown) => e instanceof CheckpointError && re.test(e.message));
  const noQ = new Map(base);
  noQ.delete('model.layers.2.self_attn.q_proj.weight');
  throwsCk(() => mergeLora(noQ, cfg, ad, LLAMA), /^mergeLora: tensor 'model\.layers\.2\.self_attn\.q_proj\.weight': missing from the base weights/);
  const wrong: HostTensor = { ...base.get('model.layers.0.mlp.up_proj.weight')!, shape: [64, 160] };
  throwsCk(() => mergeLora(new Map(base).set(wrong.name, wrong), cfg, ad, LLAMA), /up_proj\.weight': base weight has shape \[64, 160\], expected \[160, 64\]/);
});
