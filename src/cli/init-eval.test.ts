// `lab init` (a random-init checkpoint), `lab sft --full` on it, and `lab eval` (exact match after "####"; chrF on
// chat triples; the base and adapters side by side).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runLab, writeTestManifest } from './lab-run.testlib.ts';
import { finalAnswer } from './eval.ts';
import { readSafetensors } from '../engine/model/safetensors.ts';
import { parseConfig } from '../engine/model/config.ts';
import { adapterModules, writeAdapter, type LoraConfig } from '../engine/train/adapter.ts';
import { Rng } from '../engine/util/rng.ts';
import { chrfCorpus } from '../rewards/index.ts';

const tmp = mkdtempSync(join(tmpdir(), 'lab-init-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const lab = (...args: string[]) => runLab(args);

test('finalAnswer: the text after the last ####, first line, spaces collapsed, thousands commas dropped', () => {
  assert.equal(finalAnswer('a\n#### 72'), '72');
  assert.equal(finalAnswer('#### 1 #### 2\nmore'), '2');
  assert.equal(finalAnswer('#### 1,234'), '1234');
  assert.equal(finalAnswer('#### the  dogs saw '), 'the dogs saw');
  assert.equal(finalAnswer('no marker'), null);
});

test('init makes a loadable random checkpoint; sft --full trains it into an HF checkpoint; eval scores it', () => {
  const cfg = join(tmp, 'config.json');
  writeFileSync(cfg, JSON.stringify({
    architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 299, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2,
    num_key_value_heads: 1, intermediate_size: 48, max_position_embeddings: 128, rms_norm_eps: 1e-5, rope_theta: 10000, tie_word_embeddings: true,
    eos_token_id: 296, pad_token_id: 296, initializer_range: 0.02,
  }));
  const init = join(tmp, 'init');
  const r = lab('init', '--config', cfg, '--tokenizer', join(ROOT, 'models/fixtures/llama-gqa'), '--seed', '3', '--dtype', 'bf16', '--out', init);
  assert.equal(r.code, 0, r.stderr);
  // 299·32 embed (tied) + 2 × (q 1024 + k 512 + v 512 + o 1024 + mlp 3·48·32 + norms 64) + 32 final norm
  assert.match(r.stderr, /lab init: llama, 25,088 parameters \(bf16\)/);
  const st = readSafetensors(readFileSync(join(init, 'model.safetensors')), 'init');
  assert.deepEqual(st.get('model.layers.0.mlp.down_proj.weight')!.info.shape, [32, 48]);
  assert.equal(st.get('model.norm.weight')!.info.dtype, 'BF16');

  const data = join(tmp, 'qa.jsonl');
  const rows = [[2, 3], [4, 1], [3, 3], [1, 2]].map(([a, b]) => ({ question: `What is ${a} plus ${b}?`, answer: `${a}+${b} = <<${a}+${b}=${a + b}>>${a + b}\n#### ${a + b}` }));
  writeFileSync(data, rows.map((x) => JSON.stringify(x)).join('\n') + '\n');
  writeTestManifest(tmp); // lab sft trains only on data a source manifest approves
  const trained = join(tmp, 'trained');
  const s = lab('sft', '--model', init, '--data', data, '--full', '--steps', '3', '--lr', '1e-3', '--batch-size', '2', '--out', trained);
  assert.equal(s.code, 0, s.stderr);
  const out = readSafetensors(readFileSync(join(trained, 'model.safetensors')), 'trained');
  assert.deepEqual(out.get('model.layers.1.self_attn.k_proj.weight')!.info.shape, [16, 32], 'q/k/v unstacked with their HF shapes');
  const e = join(tmp, 'eval.json');
  const ev = lab('eval', '--model', trained, '--data', data, '--batch', '3', '--max-new-tokens', '8', '--out', e);
  assert.equal(ev.code, 0, ev.stderr);
  const res = JSON.parse(readFileSync(e, 'utf8'));
  assert.equal(res.n, 4);
  assert.deepEqual(res.items.map((i: { expected: string }) => i.expected), ['5', '5', '6', '3']);
  assert.equal(res.correct, res.items.filter((i: { final: string | null; expected: string }) => i.final === i.expected).length);
  assert.equal(res.accuracy, res.correct / 4);
});

test('eval: a row without "#### answer" is an error naming the line', () => {
  const bad = join(tmp, 'bad.jsonl');
  writeFileSync(bad, '{"question": "q", "answer": "a"}\n');
  const r = lab('eval', '--model', join(ROOT, 'models/fixtures/llama-gqa'), '--data', bad, '--out', join(tmp, 'x.json'));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /bad\.jsonl:1: the answer has no "#### <final answer>" line/);
});

test('eval --metric chrf on chat triples (Stoney orthography), and --adapters: the base and each adapter on the same rows, an adapter equal to its merged --adapter run', async () => {
  const model = join(ROOT, 'models/fixtures/llama-gqa');
  const data = join(tmp, 'chat.jsonl');
  const pairs = [['oqâṯẖix', 'test word one'], ['îzârqe', 'test word two'], ['zînîx', 'test word three']];
  writeFileSync(data, pairs.map(([s, e]) => JSON.stringify({ messages: [{ role: 'system', content: 'Translate.' }, { role: 'user', content: `What is "${e}" in the test language?` }, { role: 'assistant', content: s }] })).join('\n') + '\n');
  // an adapter with a non-zero B, so that it changes the outputs
  const cfg = parseConfig(JSON.parse(readFileSync(join(model, 'config.json'), 'utf8')), 'config.json');
  const lcfg: LoraConfig = { r: 2, alpha: 4, dropout: 0, targets: ['q_proj', 'v_proj', 'down_proj'], layers: null };
  const rng = new Rng(5);
  const files = writeAdapter(lcfg, new Map(adapterModules(lcfg, cfg).map((m) => [m.key, { A: rng.normal(lcfg.r * m.in, 0.5), B: rng.normal(m.out * lcfg.r, 0.5) }])), cfg, null);
  const ad = join(tmp, 'adapter');
  mkdirSync(ad, { recursive: true });
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(ad, name), bytes);

  const one = join(tmp, 'chrf.json');
  const r1 = lab('eval', '--model', model, '--data', data, '--metric', 'chrf', '--max-new-tokens', '6', '--out', one);
  assert.equal(r1.code, 0, r1.stderr);
  const res = JSON.parse(readFileSync(one, 'utf8'));
  assert.equal(res.metric, 'chrf');
  assert.equal(res.n, 3);
  assert.deepEqual(res.items.map((i: { reference: string }) => i.reference), pairs.map(([s]) => s));
  const outs = res.items.map((i: { output: string }) => i.output);
  assert.ok(Math.abs(res.score - chrfCorpus(outs, pairs.map(([s]) => s))) < 1e-9, 'the corpus chrF of the outputs');
  assert.ok(res.ci95[0] <= res.score && res.score <= res.ci95[1]);

  const table = join(tmp, 'table.json');
  const r2 = lab('eval', '--model', model, '--data', data, '--metric', 'chrf++', '--adapters', ad, '--max-new-tokens', '6', '--out', table);
  assert.equal(r2.code, 0, r2.stderr);
  const t = JSON.parse(readFileSync(table, 'utf8'));
  assert.equal(t.rows.length, 2);
  assert.deepEqual(t.rows.map((x: { adapter: string | null }) => x.adapter), [null, ad]);
  assert.deepEqual(t.rows[0].items.map((i: { output: string }) => i.output), outs, 'the base row answers as the plain run');
  const merged = join(tmp, 'merged.json');
  assert.equal(lab('eval', '--model', model, '--data', data, '--metric', 'chrf++', '--adapter', ad, '--max-new-tokens', '6', '--out', merged).code, 0);
  const m = JSON.parse(readFileSync(merged, 'utf8'));
  assert.deepEqual(t.rows[1].items.map((i: { output: string }) => i.output), m.items.map((i: { output: string }) => i.output), 'unmerged adapter = merged adapter');
  assert.notDeepEqual(t.rows[1].items.map((i: { output: string }) => i.output), outs, 'the adapter changes the answers');
});

test('eval: an unknown metric, both --adapter and --adapters, a row with no reference are errors that say so', () => {
  const model = join(ROOT, 'models/fixtures/llama-gqa');
  const data = join(tmp, 'noref.jsonl');
  writeFileSync(data, '{"prompt": "say something"}\n');
  let r = lab('eval', '--model', model, '--data', data, '--metric', 'bleu', '--out', join(tmp, 'x.json'));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--metric must be one of exact, gsm8k, chrf, chrf\+\+, stoney-rubric, got "bleu"/);
  r = lab('eval', '--model', model, '--data', data, '--adapter', tmp, '--adapters', tmp, '--out', join(tmp, 'x.json'));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /give one of them/);
  r = lab('eval', '--model', model, '--data', data, '--metric', 'chrf', '--out', join(tmp, 'x.json'));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /noref\.jsonl:1: no reference to score chrf against/);
});
