import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { softmax } from './softmax_forward.ts';
import { softmaxRef } from './softmax_forward.ref.ts';
import { testRuntime, releaseTestRuntime } from '../src/engine/testing/gpu.ts';
import { assertAllClose } from '../src/engine/testing/allclose.ts';
import { Rng } from '../src/engine/testing/rng.ts';

after(releaseTestRuntime);
// fp32 vs float64, 1e-5 relative (shaders/README.md). The fp32 rounding of (x - max) is relative to
// |x - max|, so exp(x - max) carries ~6e-8·|x - max| relative error; with logits of std 5 that stays
// under 1e-5. atol 1e-12 only covers tail probabilities below fp32's normal range (e^-88 ≈ 6e-39),
// which lavapipe flushes to zero; it is far below any probability a test could care about.
const TOL = { atol: 1e-12, rtol: 1e-5 };

async function check(x: Float32Array, shape: number[], what: string): Promise<Float32Array> {
  const rt = await testRuntime();
  const n = shape[shape.length - 1];
  const out = (await rt.read(softmax(rt, rt.upload(x, shape)))) as Float32Array;
  assertAllClose(out, softmaxRef(x, n), TOL, what);
  return out;
}

test('softmax matches float64 on row lengths that are not multiples of 256', async () => {
  const rng = new Rng(7);
  for (const shape of [[1], [4, 1], [3, 5, 37], [2, 255], [3, 257], [2, 1000]]) {
    const numel = shape.reduce((a, b) => a * b, 1);
    await check(rng.normal(numel, 5), shape, `softmax [${shape}]`);
  }
});

test('softmax: one long row (150000) stays normalised', async () => {
  const rng = new Rng(8);
  const out = await check(rng.normal(150_000, 3), [1, 150_000], 'softmax long row');
  let s = 0;
  for (const p of out) s += p;
  assert.ok(Math.abs(s - 1) < 1e-4, `row sums to ${s}`);
});

test('softmax: huge logits, all-equal rows, masked and -inf rows give no NaN', async () => {
  const n = 6;
  const NEG = -3.402823e38;
  // row 0: ±1e30 entries (one-hot at the max); row 1: all equal (uniform); row 2: all masked with
  // the -3.4e38 sentinel (uniform, like torch); row 3: two tied maxima at 3e38 among -3e38;
  // row 4: all -inf (zeros by this kernel's contract); row 5: tiny spread around 1e4
  const rows = [
    [1e30, -1e30, 0, -1e30, 1e30 * 0.5, -5],
    [2.5, 2.5, 2.5, 2.5, 2.5, 2.5],
    [NEG, NEG, NEG, NEG, NEG, NEG],
    [3e38, -3e38, 3e38, -3e38, -3e38, -3e38],
    [-Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity],
    [1e4, 1e4 + 1, 1e4 - 1, 1e4 + 0.5, 1e4, 1e4 - 20],
  ];
  const x = new Float32Array(rows.flat());
  const out = await check(x, [rows.length, n], 'softmax edge rows');
  assert.equal(out[0], 1); // the 1e30 entry takes all the mass
  assert.ok(out.subarray(4 * n, 5 * n).every((p) => p === 0), 'all -inf row → zeros');
  assert.ok(!out.some(Number.isNaN));
});

test('softmax: more than 65535 rows (grid1d) and rows of length 1', async () => {
  const rng = new Rng(9);
  await check(rng.normal(65_600 * 2, 2), [65_600, 2], 'softmax 65600 rows');
  const out = await check(rng.normal(70, 1e3), [70, 1], 'softmax length-1 rows');
  assert.ok(out.every((p) => p === 1));
});
