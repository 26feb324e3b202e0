// Parity with transformers on the project's golden fixtures (models/fixtures/, made by
// tools/golden/make_fixtures.py on the GPU machine with transformers 5.17): logits, attention
// patterns, greedy continuations and tokenizer ids, read through the same loader the CLI uses.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { testRuntime, releaseTestRuntime } from '../testing/gpu.ts';
import { assertAllClose } from '../testing/allclose.ts';
import { dirSource } from './checkpoint.ts';
import { loadModel } from './load.ts';
import { HOOKS } from './llama.ts';
import { generate } from './generate.ts';

after(releaseTestRuntime);

// fp32 weights: logits within 1e-4 relative (the bound) + 1e-5 absolute for logits near 0.
// bf16 weights: the reference upcasts the same bf16 values to fp32, so the same bound holds.
const LOGIT_TOL = { atol: 1e-5, rtol: 1e-4 };
const PATTERN_TOL = { atol: 1e-5, rtol: 0 };

interface Case {
  name: string;
  input_ids: number[][]; // [B][T], left-padded
  attention_mask: number[][]; // [B][T]
  position_ids: number[][]; // [B][T]
  logits: number[][][]; // [B][T][V]
  attn_pattern: number[][][][][]; // [L][B][H][T][T]
  greedy: { new_tokens: number[][]; new_tokens_stop_at_eos: number[][]; eos_token_ids: number[]; top2_margin: number[][] };
}
interface Reference {
  cases: Case[];
}
interface TokFixture {
  encodings: { text: string; ids: number[]; decoded: string }[];
  chat: { messages: { role: string; content: string }[]; add_generation_prompt: boolean; ids: number[]; text?: string; rendered?: string }[];
}

const FIXTURES = ['llama-gqa', 'qwen2-tied', 'llama-bf16'];
const dir = (m: string) => new URL(`../../../models/fixtures/${m}/`, import.meta.url).pathname;
const flat = (a: unknown): number[] => (Array.isArray(a) ? a.flatMap(flat) : [a as number]);

for (const m of FIXTURES) {
  test(`${m}: logits and attention patterns equal transformers' (single and left-padded batches)`, async () => {
    const rt = await testRuntime();
    const ref = JSON.parse(readFileSync(dir(m) + 'reference.json', 'utf8')) as Reference;
    const { model } = await loadModel(rt, dirSource(dir(m)), { tokenizer: false });
    const { n_layers: L, n_heads: H, d_vocab: V } = model.cfg;
    for (const c of ref.cases) {
      const B = c.input_ids.length, T = c.input_ids[0].length;
      const padded = c.attention_mask.some((row) => row.includes(0));
      const capture = new Set(Array.from({ length: L }, (_, l) => HOOKS.pattern(l)));
      const { logits, captures } = model.forward(rt.upload(Int32Array.from(c.input_ids.flat()), [B, T], 'i32'), {
        capture,
        logits: 'all',
        positions: padded ? Int32Array.from(c.position_ids.flat()) : undefined,
        keyMask: padded ? Int32Array.from(c.attention_mask.flat()) : undefined,
      });
      const got = (await rt.read(logits!)) as Float32Array; // [B, T, V]
      const patterns = await Promise.all(Array.from({ length: L }, (_, l) => rt.read(captures.get(HOOKS.pattern(l))!))); // [B, H, T, T]
      // compare real (unpadded) query positions only: the reference zeroes padding rows
      for (let b = 0; b < B; b++)
        for (let t = 0; t < T; t++) {
          if (!c.attention_mask[b][t]) continue;
          const at = `${c.name} b${b} t${t}`;
          assertAllClose(got.subarray((b * T + t) * V, (b * T + t + 1) * V), c.logits[b][t], LOGIT_TOL, `${m} ${at} logits`);
          for (let l = 0; l < L; l++)
            for (let h = 0; h < H; h++) {
              const o = ((b * H + h) * T + t) * T;
              assertAllClose(patterns[l].subarray(o, o + T), c.attn_pattern[l][b][h][t], PATTERN_TOL, `${m} ${at} pattern l${l} h${h}`);
            }
        }
      for (const t of [logits!, ...captures.values()]) t.dispose();
    }
  });

  test(`${m}: greedy continuations equal transformers' generate (EOS ignored, and stopping at EOS)`, async () => {
    const rt = await testRuntime();
    const ref = JSON.parse(readFileSync(dir(m) + 'reference.json', 'utf8')) as Reference;
    const { model } = await loadModel(rt, dirSource(dir(m)), { tokenizer: false });
    for (const c of ref.cases) {
      const prompts = c.input_ids.map((row, b) => row.filter((_, t) => c.attention_mask[b][t]));
      const n = c.greedy.new_tokens[0].length;
      const free = await generate(model, prompts, { maxNewTokens: n, sampling: { kind: 'greedy' }, ignoreEos: true });
      const stop = await generate(model, prompts, { maxNewTokens: n, sampling: { kind: 'greedy' }, eosTokenIds: c.greedy.eos_token_ids });
      for (let b = 0; b < prompts.length; b++) {
        assert.deepEqual(free[b], c.greedy.new_tokens[b], `${m} ${c.name} row ${b}: greedy tokens (top-2 margins ${c.greedy.top2_margin[b].map((x) => x.toFixed(3))})`);
        assert.deepEqual(stop[b], c.greedy.new_tokens_stop_at_eos[b], `${m} ${c.name} row ${b}: greedy stopping at EOS`);
      }
    }
  });

  test(`${m}: the tokenizer gives transformers' ids, decodes back, and renders the chat template`, async () => {
    const fx = JSON.parse(readFileSync(dir(m) + 'tokenizer_fixture.json', 'utf8')) as TokFixture;
    const rt = await testRuntime();
    const { tokenizer } = await loadModel(rt, dirSource(dir(m)));
    for (const e of fx.encodings) {
      assert.deepEqual(tokenizer!.encode(e.text), e.ids, `${m}: ids of ${JSON.stringify(e.text)}`);
      assert.equal(tokenizer!.decode(e.ids), e.decoded, `${m}: decode of ${JSON.stringify(e.text)}`);
    }
    for (const ch of fx.chat) {
      const ids = tokenizer!.applyChatTemplate(ch.messages, { addGenerationPrompt: ch.add_generation_prompt });
      assert.deepEqual(ids, ch.ids, `${m}: chat template ids (${flat(ch.messages.length)} messages)`);
    }
  });
}
