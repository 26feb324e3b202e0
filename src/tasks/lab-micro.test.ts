// The committed micro model (models/lab-micro, for browser tests): it loads, has the architecture
// and size its card states, and answers an embedded task prompt in the task's shape.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { testRuntime, releaseTestRuntime } from '../engine/testing/gpu.ts';
import { dirSource } from '../engine/model/checkpoint.ts';
import { loadModel } from '../engine/model/load.ts';
import { generate } from '../engine/model/generate.ts';
import { qaPrompt } from '../engine/train/data.ts';
import { getTask } from './index.ts';

after(releaseTestRuntime);
const dir = join(new URL('../../', import.meta.url).pathname, 'models', 'lab-micro');

test('models/lab-micro: 75 504 parameters, same architecture as the default, answers a task prompt in the task shape (an annotated step)', async () => {
  assert.ok(existsSync(join(dir, 'model.safetensors')), 'models/lab-micro is committed');
  const rt = await testRuntime();
  const { model, tokenizer } = await loadModel(rt, dirSource(dir));
  const c = model.cfg;
  assert.deepEqual([c.arch, c.d_model, c.n_layers, c.n_heads, c.n_kv_heads, c.d_head, c.d_mlp, c.d_vocab, c.tie_word_embeddings], ['llama', 48, 2, 2, 1, 24, 128, 512, true]);
  const params = c.d_vocab * c.d_model + c.n_layers * (c.d_model * (c.n_heads + 2 * c.n_kv_heads) * c.d_head + c.n_heads * c.d_head * c.d_model + 3 * c.d_model * c.d_mlp + 2 * c.d_model) + c.d_model;
  assert.equal(params, 75_504);
  const item = getTask('arithmetic').generate('heldout', 1, 0)[0];
  const prompt = tokenizer!.encode(qaPrompt(item.question), { addSpecialTokens: true });
  const [out] = await generate(model, [prompt], { maxNewTokens: 64, sampling: { kind: 'greedy' } });
  const text = tokenizer!.decode(out, { skipSpecialTokens: true });
  // trained on the task format: it writes an annotated line and a final "####" (the numbers are not expected to be right)
  assert.match(text, /<<[^>]*>>/, `answer in the task's shape: ${JSON.stringify(text)}`);
});
