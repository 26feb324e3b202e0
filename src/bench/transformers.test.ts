// transformers.js (@huggingface/transformers on onnxruntime-node, CPU) and the lab give the same logits for the
// fixtures' checkpoints and their ONNX exports, and with the KV-cache export (tools/golden/export_onnx_kv.py) the
// same greedy tokens: the comparison `bench -- transformers` times, checked here for numbers only (this machine's
// WebGPU is a CPU emulation, so its timings say nothing).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { testRuntime, releaseTestRuntime } from '../engine/testing/gpu.ts';
import { dirSource } from '../engine/model/checkpoint.ts';
import { loadModel } from '../engine/model/load.ts';
import { disposeWeights } from '../engine/model/weights.ts';
import { compareLogits } from '../engine/onnx/ort.ts';
import { engineLogits } from '../engine/verify.ts';
import { Rng } from '../engine/util/rng.ts';
import { KV_EXPORT, transformersModel } from './transformers.ts';
import { generate } from '../engine/model/generate.ts';

after(releaseTestRuntime);
const FIX = new URL('../../models/fixtures/', import.meta.url).pathname;

for (const name of ['llama-gqa', 'qwen2-tied']) {
  const dir = join(FIX, name);
  const has = existsSync(join(dir, 'model.onnx'));
  test(`${name}: transformers.js and the lab agree on every position's logits`, { skip: has ? false : `${name} has no model.onnx (tools/golden/export_onnx.py on the GPU machine)` }, async () => {
    const rt = await testRuntime();
    const { model } = await loadModel(rt, dirSource(dir), { tokenizer: false });
    const tjs = await transformersModel(dir, { onnx: join(dir, 'model.onnx') });
    try {
      assert.equal(tjs.hasCache, false, 'export_onnx.py writes no KV cache');
      for (const T of [1, 13]) {
        const ids = Array.from(new Rng(T).ints(T, 0, model.cfg.d_vocab));
        const cmp = compareLogits(await engineLogits(model, [ids]), await tjs.logits(ids), [1, T, model.cfg.d_vocab]);
        assert.ok(cmp.maxRelErr < 1e-4, `T ${T}: max relative error ${cmp.maxRelErr}`);
        assert.equal(cmp.argmaxAgree, T, `T ${T}: argmax agrees at every position`);
      }
    } finally {
      await tjs.dispose();
      disposeWeights(model.w);
    }
  });

  const kv = existsSync(join(dir, KV_EXPORT));
  test(`${name}: with the KV-cache export, transformers.js generates the lab's greedy tokens`, { skip: kv ? false : `${name} has no ${KV_EXPORT} (tools/golden/export_onnx_kv.py)` }, async () => {
    const rt = await testRuntime();
    const { model } = await loadModel(rt, dirSource(dir), { tokenizer: false });
    const tjs = await transformersModel(dir); // model_kv.onnx is preferred
    try {
      assert.equal(tjs.hasCache, true);
      const ids = Array.from(new Rng(5).ints(7, 0, model.cfg.d_vocab));
      const cmp = compareLogits(await engineLogits(model, [ids]), await tjs.logits(ids), [1, 7, model.cfg.d_vocab]);
      assert.ok(cmp.maxRelErr < 1e-4, `prefill logits: max relative error ${cmp.maxRelErr}`);
      const ours = (await generate(model, [ids], { maxNewTokens: 10, sampling: { kind: 'greedy' }, ignoreEos: true }))[0];
      assert.deepEqual(await tjs.generate(ids, 10), ours, '10 greedy tokens, one by one through the cache');
    } finally {
      await tjs.dispose();
      disposeWeights(model.w);
    }
  });
}
