import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { unpackHalf } from './unpack_half.ts';
import { unpackHalfRef } from './unpack_half.ref.ts';
import { testRuntime, releaseTestRuntime } from '../src/engine/testing/gpu.ts';
import { assertAllClose } from '../src/engine/testing/allclose.ts';
import { Rng } from '../src/engine/testing/rng.ts';
import { toHalfBits } from '../src/engine/gpu/half.ts';

after(releaseTestRuntime);
// Every half value is exactly an f32: the conversion must be exact (atol = rtol = 0).
const EXACT = { atol: 0, rtol: 0 };

test('unpack_half: random f16 and bf16 values, odd and even n, not multiples of 256 words', async () => {
  const rt = await testRuntime();
  const rng = new Rng(1);
  for (const dtype of ['f16', 'bf16'] as const) {
    for (const n of [1, 2, 3, 513, 1001]) {
      const bits = toHalfBits(rng.normal(n, 100), dtype); // [n] half bits
      const t = rt.upload(bits, [n], dtype);
      const out = await rt.read(unpackHalf(rt, t));
      assertAllClose(out, unpackHalfRef(bits, dtype), EXACT, `${dtype} n=${n}`);
    }
  }
});

test('unpack_half: edge values (±0, ±Inf, max, min normal, f16 subnormals), 2-D shape kept; NaN stays NaN', async () => {
  const rt = await testRuntime();
  const edges = {
    // f16: +0, -0, +Inf, -Inf, 65504, -65504, 2^-14 (min normal), 2^-24 (min subnormal), max subnormal, 1, -2, NaN
    f16: [0x0000, 0x8000, 0x7c00, 0xfc00, 0x7bff, 0xfbff, 0x0400, 0x0001, 0x03ff, 0x3c00, 0xc000, 0x7e00],
    // bf16: +0, -0, +Inf, -Inf, max (≈3.39e38), -max, 2^-126 (min normal), 1, -2, 1/3 rounded, 1e-3, NaN
    bf16: [0x0000, 0x8000, 0x7f80, 0xff80, 0x7f7f, 0xff7f, 0x0080, 0x3f80, 0xc000, 0x3eab, 0x3a83, 0x7fc0],
  };
  for (const dtype of ['f16', 'bf16'] as const) {
    const bits = Uint16Array.from(edges[dtype]);
    const t = rt.upload(bits, [3, 4], dtype);
    const o = unpackHalf(rt, t);
    assert.deepEqual(o.shape, [3, 4]);
    assert.equal(o.dtype, 'f32');
    const out = await rt.read(o);
    assertAllClose(out.subarray(0, 11), unpackHalfRef(bits, dtype).subarray(0, 11), EXACT, dtype);
    assert.ok(Number.isNaN(out[11]), `${dtype}: NaN became ${out[11]}`);
    assert.ok(Object.is(out[1], -0), `${dtype}: -0 lost its sign`);
  }
});

test('unpack_half: rejects non-half input', async () => {
  const rt = await testRuntime();
  assert.throws(() => unpackHalf(rt, rt.upload(new Float32Array(4), [4])), /f16 or bf16/);
});
