// embedding_forward + embedding_backward vs references.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { embeddingForward } from './embedding_forward.ts';
import { embeddingForwardRef } from './embedding_forward.ref.ts';
import { embeddingBackward, embeddingCsr } from './embedding_backward.ts';
import { embeddingBackwardRef } from './embedding_backward.ref.ts';
import { testRuntime, releaseTestRuntime } from '../src/engine/testing/gpu.ts';
import { assertAllClose, allClose } from '../src/engine/testing/allclose.ts';
import { Rng } from '../src/engine/testing/rng.ts';
import { toHalfBits, fromHalfBits } from '../src/engine/gpu/half.ts';

after(releaseTestRuntime);

// A gather copies values (halves widen exactly to f32): bit-exact, tolerance 0.
const EXACT = { atol: 0, rtol: 0 };
// Scatter sums: each dtable element sums its repeats in fp32 (≤ ~40 terms here) → 1e-6 relative and absolute.
const TOL_SUM = { atol: 1e-6, rtol: 1e-6 };

/** N ids with many repeats (a few frequent tokens), some rare large ids, and out-of-range ids. */
function makeIds(rng: Rng, N: number, V: number): Int32Array {
  const ids = new Int32Array(N);
  for (let n = 0; n < N; n++) ids[n] = rng.next() < 0.6 ? rng.int(0, 8) : rng.int(0, V);
  const edges = [0, V - 1, -1, V, 2147483647, -2147483648, V - 1, 3];
  ids.set(edges.slice(0, N), Math.max(0, N - edges.length));
  return ids;
}

test('embedding_forward: f32 gather is exact, V = 50000, C = 7, out-of-range ids give zeros', async () => {
  const rt = await testRuntime();
  const rng = new Rng(41);
  for (const [V, C, N] of [[50000, 7, 301], [5, 1, 9], [100, 300, 13]]) {
    const table = rng.normal(V * C);
    const ids = makeIds(rng, N, V);
    const out = await rt.read(embeddingForward(rt, rt.upload(ids, [N]), rt.upload(table, [V, C])));
    assertAllClose(out, embeddingForwardRef(ids, table, V, C), EXACT, `gather V=${V} C=${C} N=${N}`);
    assert.ok(out.subarray((N - 6) * C, (N - 2) * C).every((v) => v === 0), 'ids -1, V, 2^31-1, -2^31 → zeros');
  }
});

test('embedding_forward: f16/bf16 tables (odd C: rows straddle u32 words), ids [B, T] → [B, T, C]', async () => {
  const rt = await testRuntime();
  const rng = new Rng(42);
  const V = 1001, C = 33, B = 3, T = 5;
  for (const dt of ['f16', 'bf16'] as const) {
    const bits = toHalfBits(rng.normal(V * C), dt);
    const ids = makeIds(rng, B * T, V);
    const out = embeddingForward(rt, rt.upload(ids, [B, T]), rt.upload(bits, [V, C], dt));
    assert.deepEqual(out.shape, [B, T, C]);
    assertAllClose(await rt.read(out), embeddingForwardRef(ids, fromHalfBits(bits, dt), V, C), EXACT, `gather ${dt}`);
  }
});

test('embeddingCsr groups positions by id, ascending, skipping out-of-range ids', () => {
  const { csr, unique } = embeddingCsr([3, 1, 3, -1, 7, 1, 3], 5);
  assert.equal(unique, 2);
  assert.deepEqual(Array.from(csr), [1, 3, /* offsets */ 0, 2, 5, /* positions */ 1, 5, 0, 2, 6]);
});

test('embedding_backward: scatter-add into dtable (+=) with repeated ids, V = 50000, C = 7 and C = 300', async () => {
  const rt = await testRuntime();
  const rng = new Rng(43);
  for (const [V, C, N] of [[50000, 7, 301], [100, 300, 37], [3, 1, 10]]) {
    const ids = makeIds(rng, N, V);
    const dout = rng.normal(N * C);
    const init = rng.normal(V * C); // accumulated into: start from non-zero values
    const dtable = rt.upload(init, [V, C]);
    embeddingBackward(rt, ids, rt.upload(dout, [N, C]), dtable);
    const got = (await rt.read(dtable)) as Float32Array;
    const ref = embeddingBackwardRef(ids, dout, V, C).map((g, k) => g + init[k]);
    assertAllClose(got, ref, TOL_SUM, `scatter V=${V} C=${C} N=${N}`);
    // deterministic order: per id, an fp32 sum over its positions in increasing order, then one add —
    // reproduced here bit for bit (fp32 add is correctly rounded in WebGPU/Vulkan)
    const acc = new Float32Array(V * C);
    const { csr, unique } = embeddingCsr(ids, V);
    for (let k = 0; k < unique; k++) {
      const id = csr[k];
      for (let j = csr[unique + k]; j < csr[unique + k + 1]; j++) {
        const n = csr[2 * unique + 1 + j];
        for (let c = 0; c < C; c++) acc[id * C + c] = Math.fround(acc[id * C + c] + dout[n * C + c]);
      }
    }
    const f32 = init.map((v, k) => Math.fround(v + acc[k]));
    assert.ok(got.every((v, k) => v === f32[k]), `bitwise equal to the in-order fp32 sum V=${V} C=${C}`);
  }
});

test('embedding_backward: only out-of-range ids → no dispatch, dtable unchanged; wrong results cannot pass', async () => {
  const rt = await testRuntime();
  const V = 4, C = 3;
  const dtable = rt.zeros([V, C]);
  embeddingBackward(rt, Int32Array.from([-1, 4]), rt.upload(new Float32Array(6).fill(1), [2, C]), dtable);
  assert.ok((await rt.read(dtable)).every((v) => v === 0));
  // dout with a NaN row: its id's dtable row becomes NaN and the comparison fails
  const ids = Int32Array.from([2, 2]);
  const dout = new Float32Array([1, 2, 3, NaN, 5, 6]);
  embeddingBackward(rt, ids, rt.upload(dout, [2, C]), dtable);
  const got = await rt.read(dtable);
  assert.ok(Number.isNaN(got[2 * C]));
  assert.equal(allClose(got, embeddingBackwardRef(ids, new Float32Array(6).fill(1), V, C), TOL_SUM).ok, false);
  assert.throws(() => embeddingBackward(rt, ids, rt.upload(new Float32Array(3), [1, C]), dtable), /dout/);
});
