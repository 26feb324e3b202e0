// rope_forward + rope_backward vs float64 references (angles formed in double precision).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { ropeForward, ropeInvFreq, ropeTurnTable } from './rope_forward.ts';
import { ropeBackward } from './rope_backward.ts';
import { ropeForwardRef, ropePositions } from './rope_forward.ref.ts';
import { ropeBackwardRef } from './rope_backward.ref.ts';
import { testRuntime, releaseTestRuntime } from '../src/engine/testing/gpu.ts';
import { assertAllClose, allClose } from '../src/engine/testing/allclose.ts';
import { Rng } from '../src/engine/testing/rng.ts';

after(releaseTestRuntime);

// Small positions (p < 100): a rotation is 2 products + 1 add in f32 and sin/cos of |a| ≤ π are accurate to
// ~1e-7 → errors ~1e-6·|x|; 1e-5 relative, atol 1e-5 for outputs that cancel to ~0.
const TOL_SMALL = { atol: 1e-5, rtol: 1e-5 };
// Large positions (p up to 32768, and up to 2^24): the angle p·f is reduced mod 2π exactly (turn table,
// see rope_forward.wgsl), leaving ≤ 3e-6 rad of summation error + sin/cos error, so the same 1e-5 relative
// holds with atol 2e-5 — far tighter than 1e-3/1e-4 (measured on lavapipe: ≤ 8e-7 rad up to p = 2^24). The naive f32 angle fl(p·f), off by up to
// ulp(3e4)/2 = 2e-3 rad, fails even 1e-3/1e-4: the test below checks that this tolerance catches it.
const TOL_LARGE = { atol: 2e-5, rtol: 1e-5 };

test('rope_forward: small positions, theta 1e4 and 1e6, pair counts not multiples of 256', async () => {
  const rt = await testRuntime();
  const rng = new Rng(21);
  for (const [T, H, D, theta, offset] of [[1, 1, 2, 10000, 0], [5, 3, 6, 10000, 0], [7, 2, 64, 1e6, 3], [3, 14, 128, 10000, 11], [9, 5, 18, 1e6, 0]]) {
    const x = rng.normal(T * H * D);
    const out = await rt.read(ropeForward(rt, rt.upload(x, [T, H, D]), { theta, offset }));
    const ref = ropeForwardRef(x, T, H, D, ropePositions(T, T, offset), ropeInvFreq(theta, D));
    assertAllClose(out, ref, TOL_SMALL, `rope T=${T} H=${H} D=${D} theta=${theta} offset=${offset}`);
  }
});

test('rope_forward: large positions (offset 32760, positions up to 2^24−1, negative), B×T rows', async () => {
  const rt = await testRuntime();
  const rng = new Rng(22);
  for (const theta of [10000, 1e6]) {
    // KV-cache offset: positions 32760 .. 32768 (crosses 2^15)
    const T = 9, H = 2, D = 64;
    const x = rng.normal(T * H * D);
    const out = await rt.read(ropeForward(rt, rt.upload(x, [T, H, D]), { theta, offset: 32760 }));
    const ref = ropeForwardRef(x, T, H, D, ropePositions(T, T, 32760), ropeInvFreq(theta, D));
    assertAllClose(out, ref, TOL_LARGE, `rope offset 32760 theta=${theta}`);

    // f32 angle rounding, as a naive kernel would do it (even with exact cos/sin) must fail this tolerance
    const inv = ropeInvFreq(theta, D);
    const naive = new Float64Array(x.length); // [T, H, D]
    for (let r = 0; r < T; r++) {
      for (let i = 0; i < D / 2; i++) {
        const a = Math.fround(Math.fround(32760 + r) * Math.fround(inv[i]));
        const c = Math.cos(a), s = Math.sin(a);
        for (let h = 0; h < H; h++) {
          const o = (r * H + h) * D;
          naive[o + i] = x[o + i] * c - x[o + i + D / 2] * s;
          naive[o + i + D / 2] = x[o + i + D / 2] * c + x[o + i] * s;
        }
      }
    }
    assert.equal(allClose(naive, ref, TOL_LARGE).ok, false, 'naive f32 angles must fail TOL_LARGE');
    assert.equal(allClose(naive, ref, { atol: 1e-4, rtol: 1e-3 }).ok, false, 'naive f32 angles fail 1e-3/1e-4 too');
  }
  // per-token positions, [B, T, H, D] with B = 2: edges of the 12-bit split, 2^15, 2^24 − 1, negatives
  const B = 2, T = 9, H = 3, D = 10;
  const posList = [0, 1, 4095, 4096, 32767, 32768, 1_000_003, 16_777_215, -3, 7, 100_000, 4097, 8191, 65536, 12345, 2, 30_000, 31_999];
  const x = rng.normal(B * T * H * D);
  const tpos = rt.upload(Int32Array.from(posList), [B, T]);
  const out = await rt.read(ropeForward(rt, rt.upload(x, [B, T, H, D]), { theta: 1e6, positions: tpos }));
  const ref = ropeForwardRef(x, B * T, H, D, ropePositions(B * T, T, 0, posList), ropeInvFreq(1e6, D));
  assertAllClose(out, ref, TOL_LARGE, 'rope per-token positions');
  // offset is added to per-token positions
  const out2 = await rt.read(ropeForward(rt, rt.upload(x, [B, T, H, D]), { theta: 1e6, positions: tpos, offset: 5 }));
  assertAllClose(out2, ropeForwardRef(x, B * T, H, D, ropePositions(B * T, T, 5, posList), ropeInvFreq(1e6, D)), TOL_LARGE, 'positions + offset');
  // without positions, rank 4 restarts t at each batch row: p = offset + (row mod T)
  const out3 = await rt.read(ropeForward(rt, rt.upload(x, [B, T, H, D]), { theta: 500000, offset: 20000 }));
  assertAllClose(out3, ropeForwardRef(x, B * T, H, D, ropePositions(B * T, T, 20000), ropeInvFreq(500000, D)), TOL_LARGE, 'rank 4 offset');
});

test('rope turn table: 4 exact f32 pieces of 12 bits summing to f/(2π) within 2^-47 relative', () => {
  const f = [...ropeInvFreq(1e6, 128), 1, 0.5, 3e-7, 0.999999, 2 ** -20];
  const tab = ropeTurnTable(f);
  f.forEach((fi, i) => {
    const pieces = Array.from(tab.subarray(i * 4, i * 4 + 4));
    const g = fi / (2 * Math.PI);
    assert.ok(Math.abs(pieces.reduce((a, b) => a + b, 0) - g) <= g * 2 ** -47, `sum of pieces ${i}`);
    for (const p of pieces) {
      if (p === 0) continue;
      const m = Math.abs(p) / 2 ** Math.floor(Math.log2(Math.abs(p))); // in [1, 2)
      assert.ok(Number.isInteger(m * 2 ** 11), `piece ${p} has at most 12 significant bits`);
    }
  });
});

test('rope_forward: own frequencies (llama3-style scaling) as host numbers and as an f32 tensor', async () => {
  const rt = await testRuntime();
  const rng = new Rng(23);
  const D = 16, H = 3, T = 7;
  // llama3 rope_scaling: factor 8, low/high freq factors 1 and 4, original context 8192
  const inv = Float32Array.from(ropeInvFreq(500000, D), (f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < 8192 / 4) return f;
    if (wavelen > 8192 / 1) return f / 8;
    const smooth = (8192 / wavelen - 1) / (4 - 1);
    return (1 - smooth) * (f / 8) + smooth * f;
  });
  const x = rng.normal(T * H * D);
  const tx = rt.upload(x, [T, H, D]);
  for (const offset of [0, 32000]) {
    const ref = ropeForwardRef(x, T, H, D, ropePositions(T, T, offset), inv);
    const host = await rt.read(ropeForward(rt, tx, { theta: 0, offset, invFreq: inv }));
    assertAllClose(host, ref, TOL_LARGE, `host invFreq offset=${offset}`);
    // GPU table kernel: f32 significand × 1/(2π) in 12-bit integer limbs
    const dev = await rt.read(ropeForward(rt, tx, { theta: 0, offset, invFreq: rt.upload(inv, [D / 2]) }));
    assertAllClose(dev, ref, TOL_LARGE, `tensor invFreq offset=${offset}`);
  }
  // the default frequencies differ from these: using them must fail
  const def = await rt.read(ropeForward(rt, tx, { theta: 500000, offset: 100 }));
  assert.equal(allClose(def, ropeForwardRef(x, T, H, D, ropePositions(T, T, 100), inv), TOL_LARGE).ok, false);
});

test('rope_backward: matches the transposed rotation, is the adjoint of the forward, and inverts it', async () => {
  const rt = await testRuntime();
  const rng = new Rng(24);
  const B = 2, T = 6, H = 3, D = 34; // 2·6·3·17 = 612 pairs, not a multiple of 256
  const posList = Array.from({ length: B * T }, () => rng.int(0, 32768));
  const x = rng.normal(B * T * H * D), dy = rng.normal(B * T * H * D);
  const opts = { theta: 1e6, positions: rt.upload(Int32Array.from(posList), [B * T]), offset: 7 };
  const pos = ropePositions(B * T, T, 7, posList);
  const inv = ropeInvFreq(1e6, D);
  const dx = await rt.read(ropeBackward(rt, rt.upload(dy, [B, T, H, D]), opts));
  assertAllClose(dx, ropeBackwardRef(dy, B * T, H, D, pos, inv), TOL_LARGE, 'rope_backward');
  // <rope(x), dy> = <x, rope_backward(dy)> (float64 sums of fp32 outputs; 612·2 terms of size ~1)
  const y = await rt.read(ropeForward(rt, rt.upload(x, [B, T, H, D]), opts));
  let lhs = 0, rhs = 0;
  for (let k = 0; k < x.length; k++) { lhs += y[k] * dy[k]; rhs += x[k] * dx[k]; }
  assert.ok(Math.abs(lhs - rhs) < 1e-3, `adjoint: ${lhs} vs ${rhs}`);
  // backward(forward(x)) = x
  const back = await rt.read(ropeBackward(rt, rt.upload(y as Float32Array, [B, T, H, D]), opts));
  assertAllClose(back, x, TOL_LARGE, 'round trip');
  // the reference backward is the forward with −angle
  const negRef = ropeForwardRef(dy, B * T, H, D, pos.map((p) => -p), inv);
  assertAllClose(ropeBackwardRef(dy, B * T, H, D, pos, inv), negRef, { atol: 1e-12, rtol: 1e-12 }, 'ref: backward = forward(−p)');
});

test('rope: NaN in x stays in its pair; guards reject odd D and bad positions', async () => {
  const rt = await testRuntime();
  const x = new Float32Array([1, 2, 3, NaN, 5, 6]); // [1, 1, 6]: pairs (0,3) (1,4) (2,5)
  const out = await rt.read(ropeForward(rt, rt.upload(x, [1, 1, 6]), { theta: 10000, offset: 3 }));
  assert.ok(Number.isNaN(out[0]) && Number.isNaN(out[3]) && !Number.isNaN(out[1]) && !Number.isNaN(out[5]));
  assert.throws(() => ropeForward(rt, rt.upload(new Float32Array(5), [1, 1, 5]), { theta: 10000 }), /even/);
  assert.throws(() => ropeForward(rt, rt.upload(new Float32Array(4), [2, 1, 2]), { theta: 10000, positions: rt.upload(new Int32Array(3), [3]) }), /positions/);
  assert.throws(() => ropeForward(rt, rt.upload(new Float32Array(4), [2, 1, 2]), { theta: 10000, offset: 2 ** 24 }), /beyond/);
});
