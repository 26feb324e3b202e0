// splitk_reduce_batch: several split-K reduces in one dispatch, against its float64 reference, and through matmul's
// reduceBatch option against the immediate reduce (the same bits).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { SplitkReduceBatch } from './splitk_reduce_batch.ts';
import { splitkReduceBatchRef } from './splitk_reduce_batch.ref.ts';
import { matmul, type MatmulOptions } from './matmul_forward.ts';
import { testRuntime, releaseTestRuntime, logDispatches } from '../src/engine/testing/gpu.ts';
import { Rng } from '../src/engine/testing/rng.ts';
import { assertAllClose } from '../src/engine/testing/allclose.ts';

after(releaseTestRuntime);

test('splitk_reduce_batch: 1 to 6 entries of different lengths, slices, alpha and accumulate, four to a dispatch', async () => {
  const rt = await testRuntime();
  const rng = new Rng(5);
  for (const n of [1, 3, 4, 6]) {
    const batch = new SplitkReduceBatch(rt);
    const host = Array.from({ length: n }, (_, i) => {
      const len = [1, 37, 256, 300, 513, 64][i];
      const S = 1 + (i % 4);
      return { partial: rng.uniform(S * len), S, alpha: i % 2 ? 0.5 : -2, accumulate: i % 3 !== 1, out: rng.uniform(len) };
    });
    const outs = host.map((h) => rt.upload(h.out, [h.out.length]));
    for (const [i, h] of host.entries()) batch.add(rt.upload(h.partial, [h.S, h.out.length]), outs[i], h.S, h.alpha, h.accumulate);
    batch.flush();
    assert.equal(batch.dispatches, Math.ceil(n / 4));
    const ref = splitkReduceBatchRef(host);
    for (const [i, o] of outs.entries()) assertAllClose((await rt.read(o)) as Float32Array, ref[i], { rtol: 1e-6, atol: 1e-6 }, `entry ${i} of ${n}`);
    for (const o of outs) o.dispose();
  }
});

test('matmul reduceBatch: LoRA-gradient-like products accumulate into slices of one buffer, equal to the immediate reduce bit for bit', async () => {
  const rt = await testRuntime();
  const rng = new Rng(9);
  const [N, r] = [300, 4]; // N rows (tokens) is the long reduction
  const dims = [[40, 24], [16, 40], [24, 16]]; // per product: out × in of its adapter
  // dB += scale · dyᵀ xa [out, r]; dA += dxaᵀ x [r, in]: both into slices of one gradient buffer
  const products = dims.flatMap(([out, inn]) => [
    { a: rng.uniform(N * out), aShape: [N, out], b: rng.uniform(N * r), bShape: [N, r], M: out, Nn: r, alpha: 0.25 },
    { a: rng.uniform(N * r), aShape: [N, r], b: rng.uniform(N * inn), bShape: [N, inn], M: r, Nn: inn, alpha: 1 },
  ]);
  const run = async (deferred: boolean) => {
    const offsets = products.map((_, i) => i * 64 * 16); // 64-float aligned slices (SLICE_ALIGN)
    const grads = rt.upload(rng.uniform(products.length * 64 * 16).fill(0.125), [products.length * 64 * 16]);
    const batch = deferred ? new SplitkReduceBatch(rt) : undefined;
    const log = logDispatches(rt);
    for (let step = 0; step < 2; step++) { // two micro-batches: the second accumulates onto the first
      products.forEach((p, i) => {
        const a = rt.upload(p.a, p.aShape), b = rt.upload(p.b, p.bShape);
        const opts: MatmulOptions = { transA: true, alpha: p.alpha, out: grads.slice(offsets[i], [p.M, p.Nn]), accumulate: true, version: 'splitk', splits: 3, reduceBatch: batch };
        matmul(rt, a, b, opts);
        a.dispose();
        b.dispose();
      });
      batch?.flush();
    }
    log.restore();
    const names = log.names;
    const host = (await rt.read(grads)) as Float32Array;
    grads.dispose();
    return { host, reduces: names.filter((x) => x.startsWith('matmul_forward_splitk')).length, batched: names.filter((x) => x === 'splitk_reduce_batch').length };
  };
  const now = await run(false);
  const later = await run(true);
  assert.deepEqual([...later.host], [...now.host]);
  assert.equal(now.reduces, 12);
  assert.deepEqual([later.reduces, later.batched], [0, 4]); // 6 products a micro-batch: a dispatch of 4, then of 2
});

test('reduceBatch: a second product into the same output waits for the first (the batch flushes first)', async () => {
  const rt = await testRuntime();
  const rng = new Rng(3);
  const x = rt.upload(rng.uniform(512 * 8), [512, 8]);
  const y = rt.upload(rng.uniform(512 * 4), [512, 4]);
  const want = rt.zeros([8, 4]);
  const got = rt.zeros([8, 4]);
  const batch = new SplitkReduceBatch(rt);
  for (let i = 0; i < 2; i++) {
    matmul(rt, x, y, { transA: true, out: want, accumulate: true, version: 'splitk', splits: 2 });
    matmul(rt, x, y, { transA: true, out: got, accumulate: true, version: 'splitk', splits: 2, reduceBatch: batch });
  }
  assert.equal(batch.dispatches, 1, 'the repeat of `got` flushed the first entry');
  batch.flush();
  assert.deepEqual([...((await rt.read(got)) as Float32Array)], [...((await rt.read(want)) as Float32Array)]);
});
