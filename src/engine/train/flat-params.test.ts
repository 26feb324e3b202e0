// Packed parameters: aligned slices in decay-grouped chunks, the caller's order kept, and a training
// step's optimizer work reduced to a few dispatches per chunk.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { testRuntime, releaseTestRuntime } from '../testing/gpu.ts';
import { packParams } from './flat-params.ts';
import { makeTinyCheckpoint } from '../model/checkpoint-fixtures.ts';
import { loadModel } from '../model/load.ts';
import { Trainer } from './trainer.ts';
import { LORA_TARGETS } from './graph.ts';

after(releaseTestRuntime);

test('packParams: decay groups, 256-byte aligned slices, chunks split at the cap, order kept, gaps zero', async () => {
  const rt = await testRuntime();
  const specs = [
    { name: 'a', shape: [3, 5], decay: true }, // 15 floats → 64
    { name: 'n', shape: [7], decay: false },
    { name: 'b', shape: [100], decay: true }, // 100 → 128
    { name: 'c', shape: [60], decay: true },
  ];
  const { params, chunks } = packParams(rt, specs, 4 * 200); // at most 200 floats per chunk
  assert.deepEqual(params.map((p) => p.name), ['a', 'n', 'b', 'c']);
  assert.deepEqual(chunks.map((c) => [c.decay, c.p.numel]), [[true, 192], [true, 64], [false, 64]]); // a+b | c | n
  for (const p of params) {
    assert.equal(p.p.byteOffset % 256, 0, `${p.name} aligned`);
    assert.deepEqual(p.p.shape, specs.find((s) => s.name === p.name)!.shape);
    assert.equal(p.g.byteOffset, p.p.byteOffset, 'g, m, v at the same place in their chunks');
  }
  const b = params.find((p) => p.name === 'b')!;
  assert.equal(b.p.byteOffset, 256, 'b starts after a rounded up to 64 floats');
  rt.copy(rt.upload(new Float32Array(100).fill(2), [100]), 0, b.p, 0, 100);
  const chunk = (await rt.read(chunks[0].p)) as Float32Array;
  assert.ok(chunk.subarray(0, 64).every((v) => v === 0) && chunk.subarray(64, 164).every((v) => v === 2) && chunk.subarray(164).every((v) => v === 0));
  assert.throws(() => packParams(rt, [{ name: 'big', shape: [300], decay: true }], 4 * 200), /big: 300 values exceed one parameter chunk/);
});

test('a LoRA step on 2 layers × 7 targets: zeroing, norm and AdamW take a few dispatches, not several per tensor', async () => {
  const rt = await testRuntime();
  const { model } = await loadModel(rt, makeTinyCheckpoint({}, 31, 'f32'), { tokenizer: false });
  const tr = Trainer.lora(rt, model, { r: 2, alpha: 4, targets: LORA_TARGETS, seed: 1 }, {
    lr: 1e-3, schedule: 'constant', warmupSteps: 0, totalSteps: 2, weightDecay: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, maxGradNorm: 1,
  });
  assert.equal(tr.params.length, 28);
  assert.equal(tr.chunks.length, 1, 'every adapter in one chunk');
  const ids = Int32Array.from([1, 2, 3, 4, 5, 6]), labels = Int32Array.from([2, 3, 4, 5, 6, -100]);
  await tr.trainStep([{ ids, labels, B: 1, T: 6 }]);
  const before = rt.dispatchCount;
  await tr.trainStep([{ ids, labels, B: 1, T: 6 }]);
  const perStep = rt.dispatchCount - before;
  // the graph's own dispatches do not depend on how parameters are stored; the optimizer's would add
  // 28 × (norm + AdamW) = 56 if they ran per tensor
  const graphOnly = (() => {
    const b = rt.dispatchCount;
    tr.graph.step({ ids, labels, B: 1, T: 6 }, rt.zeros([1]), tr.lora, null, { gradScale: 1 / 5 }).dispose();
    return rt.dispatchCount - b;
  })();
  assert.ok(perStep - graphOnly <= 4, `optimizer dispatches per step: ${perStep - graphOnly}`);
  tr.dispose();
});
