import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyColumns } from './copy_columns.ts';
import { copyColumnsRef } from './copy_columns.ref.ts';
import { testRuntime, releaseTestRuntime } from '../src/engine/testing/gpu.ts';
import { assertAllClose } from '../src/engine/testing/allclose.ts';
import { Rng } from '../src/engine/testing/rng.ts';

after(releaseTestRuntime);
const EXACT = { atol: 0, rtol: 0 }; // a copy: bit for bit

test('copy_columns splits fused q|k|v rows and writes a window back, the rest of dst kept (rows·cols not a multiple of 256)', async () => {
  const rt = await testRuntime();
  const rng = new Rng(3);
  const [rows, H, Hkv, D] = [37, 3, 1, 5]; // 37 rows of q|k|v = (3 + 2·1)·5 = 25 columns
  const N = (H + 2 * Hkv) * D;
  const fused = rng.normal(rows * N, 1);
  const src = rt.upload(fused, [rows, N]);
  for (const [what, cols, at] of [['q', H * D, 0], ['k', Hkv * D, H * D], ['v', Hkv * D, (H + Hkv) * D]] as const) {
    const part = rt.zeros([rows, cols]);
    copyColumns(rt, src, part, { cols, srcOffset: at, dstOffset: 0 });
    assertAllClose((await rt.read(part)) as Float32Array, copyColumnsRef(fused, N, new Float64Array(rows * cols), cols, { cols, srcOffset: at, dstOffset: 0 }), EXACT, `split ${what}`);
    // and back into another fused buffer at its window, over a background that must survive
    const background = rng.normal(rows * N, 1);
    const back = rt.upload(background, [rows, N]);
    copyColumns(rt, part, back, { cols, srcOffset: 0, dstOffset: at });
    const want = copyColumnsRef((await rt.read(part)) as Float32Array, cols, background, N, { cols, srcOffset: 0, dstOffset: at });
    assertAllClose((await rt.read(back)) as Float32Array, want, EXACT, `merge ${what}`);
    part.dispose();
    back.dispose();
  }
  src.dispose();
});

test('copy_columns refuses windows outside the rows, mismatched rows and aliasing', async () => {
  const rt = await testRuntime();
  const a = rt.zeros([4, 6]), b = rt.zeros([4, 3]), c = rt.zeros([5, 3]);
  assert.throws(() => copyColumns(rt, a, b, { cols: 3, srcOffset: 4, dstOffset: 0 }), /columns 4\.\.6 are outside src rows of 6/);
  assert.throws(() => copyColumns(rt, a, b, { cols: 2, srcOffset: 0, dstOffset: 2 }), /outside dst rows of 3/);
  assert.throws(() => copyColumns(rt, a, c, { cols: 1, srcOffset: 0, dstOffset: 0 }), /4 rows of 6, dst .* 5 rows of 3/);
  assert.throws(() => copyColumns(rt, a, a, { cols: 1, srcOffset: 0, dstOffset: 1 }), /must not alias/);
  for (const t of [a, b, c]) t.dispose();
});
