// The engine's forward pass against the float64 whole-model reference on tiny checkpoints:
// Llama with GQA (untied), Qwen2 with q/k/v bias (tied, one KV head), bf16 weights; the KV cache
// against a full forward; padded batches against single sequences; greedy and sampled generation.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { testRuntime, releaseTestRuntime } from '../testing/gpu.ts';
import { assertAllClose } from '../testing/allclose.ts';
import { makeTinyCheckpoint } from './checkpoint-fixtures.ts';
import { loadModel } from './load.ts';
import { referenceForward } from './reference.ts';
import { HOOKS, hookNames, type HookFn } from './llama.ts';
import { KVCache } from './kvcache.ts';
import { generate } from './generate.ts';
import { argmax, tokenLogprob } from './sampling.ts';
import { Rng } from '../util/rng.ts';
import { sampleTokensRef } from '../../../shaders/sample_tokens.ref.ts';

after(releaseTestRuntime);

// Whole-model logits in fp32 vs float64: a few hundred fp32 roundings through 2 blocks of O(1)
// activations; 1e-4 relative (the bound for fp32 weights) plus 1e-5 absolute for logits near 0.
const LOGIT_TOL = { atol: 1e-5, rtol: 1e-4 };
// attention probabilities: the parity bound of the model issue
const PATTERN_TOL = { atol: 1e-5, rtol: 0 };

const QWEN = { architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', num_key_value_heads: 1, tie_word_embeddings: true, rope_theta: 1e6 };
const IDS = [3, 17, 5, 29, 0, 11, 11, 8, 30];

async function forwardCase(name: string, overrides: Record<string, unknown>, dtype: 'f32' | 'bf16', seed: number) {
  const rt = await testRuntime();
  const ckpt = makeTinyCheckpoint(overrides, seed, dtype);
  const { model } = await loadModel(rt, ckpt, { tokenizer: false });
  const ref = referenceForward(model.cfg, ckpt.weights, IDS);
  const capture = new Set([HOOKS.pattern(0), HOOKS.pattern(1), HOOKS.residPost(0)]);
  const { logits, captures } = model.forward(rt.upload(Int32Array.from(IDS), [1, IDS.length], 'i32'), { capture, logits: 'all' });
  assert.deepEqual(logits!.shape, [1, IDS.length, model.cfg.d_vocab]);
  assertAllClose(await rt.read(logits!), ref.logits, LOGIT_TOL, `${name} logits`);
  for (const l of [0, 1]) assertAllClose(await rt.read(captures.get(HOOKS.pattern(l))!), ref.attentions[l], PATTERN_TOL, `${name} pattern ${l}`);
  assertAllClose(await rt.read(captures.get(HOOKS.residPost(0))!), ref.residPost[0], LOGIT_TOL, `${name} resid_post 0`);
  return { rt, model, ref };
}

test('Llama (GQA 4/2, untied): logits, attention patterns and residuals match the float64 reference', async () => {
  await forwardCase('llama', {}, 'f32', 1);
});

test('Qwen2 (q/k/v bias, tied embeddings, one KV head, theta 1e6) matches the float64 reference', async () => {
  await forwardCase('qwen2', QWEN, 'f32', 2);
});

test('bf16 weights stay half on the GPU and match the reference computed from the same bf16 values', async () => {
  await forwardCase('llama-bf16', {}, 'bf16', 3);
});

test('KV cache: prefill then one-token steps give the same logits as a full forward', async () => {
  const rt = await testRuntime();
  const { model } = await loadModel(rt, makeTinyCheckpoint(QWEN, 4), { tokenizer: false });
  const V = model.cfg.d_vocab;
  const full = (await rt.read(model.forward(rt.upload(Int32Array.from(IDS), [1, IDS.length], 'i32')).logits!)) as Float32Array;
  const cache = new KVCache(rt, model.cfg, 1, 16);
  const split = 5;
  const pre = model.forward(rt.upload(Int32Array.from(IDS.slice(0, split)), [1, split], 'i32'), { cache, logits: 'last' });
  assertAllClose(await rt.read(pre.logits!), full.subarray((split - 1) * V, split * V), LOGIT_TOL, 'prefill last');
  for (let t = split; t < IDS.length; t++) {
    const step = model.forward(rt.upload(Int32Array.of(IDS[t]), [1, 1], 'i32'), { cache, logits: 'last' });
    assertAllClose(await rt.read(step.logits!), full.subarray(t * V, (t + 1) * V), LOGIT_TOL, `decode step ${t}`);
  }
  assert.equal(cache.length, IDS.length);
  cache.dispose();
});

test('greedy generation: a left-padded batch gives each prompt the tokens it gets alone, and they follow the reference argmax', async () => {
  const rt = await testRuntime();
  const ckpt = makeTinyCheckpoint({}, 5);
  const { model } = await loadModel(rt, ckpt, { tokenizer: false });
  const prompts = [IDS.slice(0, 3), IDS];
  const opts = { maxNewTokens: 6, sampling: { kind: 'greedy' } as const, ignoreEos: true };
  const batch = await generate(model, prompts, opts);
  for (let b = 0; b < prompts.length; b++) {
    const [alone] = await generate(model, [prompts[b]], opts);
    assert.deepEqual(batch[b], alone, `prompt ${b}: batched ${batch[b]} vs alone ${alone}`);
    // the float64 reference, re-run on the growing sequence, picks the same tokens
    const seq = [...prompts[b]];
    for (const tok of alone) {
      const ref = referenceForward(model.cfg, ckpt.weights, seq);
      const V = model.cfg.d_vocab;
      assert.equal(tok, argmax(ref.logits.subarray((seq.length - 1) * V)), `prompt ${b} after ${seq.length} tokens`);
      seq.push(tok);
    }
  }
});

test('sampled generation (drawn on the GPU, pipelined): each sequence follows the float64 reference draw with u from its own stream, and reports the log-probs', async () => {
  const rt = await testRuntime();
  const ckpt = makeTinyCheckpoint({}, 7);
  const { model } = await loadModel(rt, ckpt, { tokenizer: false });
  const V = model.cfg.d_vocab;
  const prompts = [IDS.slice(0, 4), IDS];
  const [seeds, temperatures] = [[11, 12], [0.7, 1.6]];
  const logps: number[][] = [[], []];
  const out = await generate(model, prompts, {
    maxNewTokens: 8, sampling: { kind: 'sample', temperature: 1 }, seeds, temperatures, ignoreEos: true,
    onSampled: (_step, _tokens, lp) => lp.forEach((v, b) => logps[b].push(v)),
  });
  let ties = 0;
  for (let b = 0; b < prompts.length; b++) {
    assert.equal(out[b].length, 8);
    const rng = new Rng(seeds[b]);
    const seq = [...prompts[b]];
    for (const [t, tok] of out[b].entries()) {
      const row = referenceForward(model.cfg, ckpt.weights, seq).logits.subarray((seq.length - 1) * V); // [V]
      const ref = sampleTokensRef(row, V, [1 / temperatures[b], Math.fround(rng.next())]);
      if (tok !== ref.tokens[0]) {
        assert.ok(ref.margin[0] < 1e-4, `sequence ${b} step ${t}: drew ${tok}, the reference ${ref.tokens[0]} (not a rounding tie)`);
        ties++;
      }
      assert.ok(Math.abs(logps[b][t] - tokenLogprob(row, tok, temperatures[b])) < 1e-4, `sequence ${b} step ${t}: log-prob`);
      seq.push(tok);
    }
  }
  assert.ok(ties <= 1, `${ties} rounding ties in 16 draws`);
  // the same seeds again: the same tokens; a sequence alone: its tokens in the batch
  assert.deepEqual(await generate(model, prompts, { maxNewTokens: 8, sampling: { kind: 'sample', temperature: 1 }, seeds, temperatures, ignoreEos: true }), out);
  const [alone] = await generate(model, [prompts[1]], { maxNewTokens: 8, sampling: { kind: 'sample', temperature: 1 }, seeds: [12], temperatures: [1.6], ignoreEos: true });
  assert.deepEqual(alone, out[1]);
});

test('generation stops at EOS unless told to ignore it, and refuses what does not fit', async () => {
  const rt = await testRuntime();
  const { model } = await loadModel(rt, makeTinyCheckpoint({}, 6), { tokenizer: false });
  const [free] = await generate(model, [IDS], { maxNewTokens: 8, sampling: { kind: 'greedy' }, ignoreEos: true });
  // make the first generated token the EOS: generation must stop right there
  const [stopped] = await generate(model, [IDS], { maxNewTokens: 8, sampling: { kind: 'greedy' }, eosTokenIds: [free[0]] });
  assert.deepEqual(stopped, [free[0]]);
  await assert.rejects(generate(model, [IDS], { maxNewTokens: 100, sampling: { kind: 'greedy' } }), /context of 64/);
  await assert.rejects(generate(model, [[99]], { maxNewTokens: 1, sampling: { kind: 'greedy' } }), /outside the vocabulary/);
});

test('every hook can be captured at once without changing the logits (in-place residual adds step aside)', async () => {
  const rt = await testRuntime();
  const ckpt = makeTinyCheckpoint({}, 7);
  const { model } = await loadModel(rt, ckpt, { tokenizer: false });
  const ref = referenceForward(model.cfg, ckpt.weights, IDS);
  const names: string[] = [HOOKS.embed, HOOKS.lnFinal];
  for (let l = 0; l < model.cfg.n_layers; l++) names.push(HOOKS.residPre(l), HOOKS.pattern(l), HOOKS.attnOut(l), HOOKS.residMid(l), HOOKS.mlpOut(l), HOOKS.residPost(l));
  const ids = () => rt.upload(Int32Array.from(IDS), [1, IDS.length], 'i32');
  const all = model.forward(ids(), { capture: new Set(names), logits: 'all' });
  assert.deepEqual([...all.captures.keys()].sort(), [...names].sort());
  assertAllClose(await rt.read(all.logits!), ref.logits, LOGIT_TOL, 'logits with every hook');
  for (let l = 0; l < model.cfg.n_layers; l++) assertAllClose(await rt.read(all.captures.get(HOOKS.residPost(l))!), ref.residPost[l], LOGIT_TOL, `resid_post ${l}`);
  // resid_pre(l+1) is resid_post(l); resid_mid = resid_pre + attn_out; resid_post = resid_mid + mlp_out
  const C = model.cfg.d_model;
  for (let l = 0; l < model.cfg.n_layers; l++) {
    const [pre, attn, mid, mlp, post] = await Promise.all([HOOKS.residPre(l), HOOKS.attnOut(l), HOOKS.residMid(l), HOOKS.mlpOut(l), HOOKS.residPost(l)].map((n) => rt.read(all.captures.get(n)!)));
    assertAllClose(mid, Array.from(pre, (v, i) => v + attn[i]), { atol: 1e-6, rtol: 1e-6 }, `resid_mid ${l}`);
    assertAllClose(post, Array.from(mid, (v, i) => v + mlp[i]), { atol: 1e-6, rtol: 1e-6 }, `resid_post ${l}`);
    assert.equal(pre.length, IDS.length * C);
  }
  const none = model.forward(ids(), { logits: 'all' });
  assertAllClose(await rt.read(none.logits!), await rt.read(all.logits!), { atol: 1e-6, rtol: 1e-6 }, 'logits without hooks');
});

test('a forward gives back every buffer it does not hand out: fused and unfused rows, captures, edits, explicit attention, a KV cache', async () => {
  const rt = await testRuntime();
  const { model } = await loadModel(rt, makeTinyCheckpoint({}, 8), { tokenizer: false });
  const run = async (B: number, T: number, opts: Parameters<typeof model.forward>[1] = {}) => {
    const ids = rt.upload(Int32Array.from({ length: B * T }, (_, i) => IDS[i % IDS.length]), [B, T], 'i32', 'ids');
    const { logits, captures } = model.forward(ids, opts);
    ids.dispose();
    logits?.dispose();
    for (const t of new Set(captures.values())) t.dispose();
  };
  const zero: HookFn = (act) => rt.clear(act);
  await run(1, 4); // warm the pool
  await rt.sync();
  const inUse = rt.pool.snapshot().inUse;
  await run(2, 3); // fused decode rows
  await run(3, 9, { logits: 'last' }); // unfused
  await run(2, 9, { capture: new Set(hookNames(model.cfg.n_layers)) }); // every point captured
  await run(2, 9, { hooks: new Map<string, HookFn>([[HOOKS.z(0), zero], [HOOKS.attnOut(1), zero], [HOOKS.ln2(0), zero], [HOOKS.q(1), zero]]) });
  await run(2, 9, { hooks: new Map<string, HookFn>([[HOOKS.pattern(1), () => {}]]), capture: new Set([HOOKS.attnScores(0)]) }); // explicit attention
  const cache = new KVCache(rt, model.cfg, 2, 12);
  await run(2, 9, { cache, capture: new Set([HOOKS.rotK(0), HOOKS.residPre(1)]) });
  await run(2, 1, { cache, logits: 'last' });
  cache.dispose();
  // inside a caller's scope, captures (made inside the blocks' own scopes) belong to that scope
  rt.scope(() => {
    const ids = rt.upload(Int32Array.from(IDS), [1, IDS.length], 'i32', 'ids');
    model.forward(ids, { capture: new Set([HOOKS.residPre(1), HOOKS.z(0), HOOKS.lnFinal]), logits: 'all' });
  });
  await rt.sync();
  assert.equal(rt.pool.snapshot().inUse, inUse, 'GPU buffers left in use');
});
