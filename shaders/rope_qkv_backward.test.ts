import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { ropeQkvBackward } from './rope_qkv_backward.ts';
import { ropeQkvBackwardRef } from './rope_qkv_backward.ref.ts';
import { ropeKvWriteRef } from './rope_kv_write.ref.ts';
import { ropeInvFreq } from './rope_forward.ts';
import { testRuntime, releaseTestRuntime } from '../src/engine/testing/gpu.ts';
import { assertAllClose } from '../src/engine/testing/allclose.ts';
import { Rng } from '../src/engine/testing/rng.ts';

after(releaseTestRuntime);
// As rope_kv_write.test.ts: exact angle reduction, fp32 sin/cos, one rotation → 1e-5 rel + 1e-5 abs.
const TOL = { atol: 1e-5, rtol: 1e-5 };

async function runCase(name: string, B: number, T: number, H: number, Hkv: number, D: number, offset: number, positions?: Int32Array, G = 1) {
  const rt = await testRuntime();
  const rng = new Rng(B * 7919 + T * 31 + H * 7 + D);
  const R = B * T;
  const dq = rng.uniform(R * H * D, -2, 2); // [B, T, H, D]
  const dk = rng.uniform(R * Hkv * G * D, -2, 2); // [B, T, Hkv·G, D]: per query head when G > 1
  const dv = rng.uniform(R * Hkv * G * D, -2, 2);
  const invFreq = Float32Array.from(ropeInvFreq(10000, D));
  const posT = positions ? rt.upload(positions, [R], 'i32') : null;
  const g = ropeQkvBackward(rt, rt.upload(dq, [B, T, H, D]), rt.upload(dk, [B, T, Hkv * G, D]), rt.upload(dv, [B, T, Hkv * G, D]), { offset, positions: posT, invFreq, kvGroup: G });
  assert.deepEqual(g.shape, [B, T, (H + 2 * Hkv) * D]);
  const want = ropeQkvBackwardRef(dq, dk, dv, B, T, H, Hkv, D, { offset, positions, invFreq, kvGroup: G });
  const got = await rt.read(g);
  assertAllClose(got, want, TOL, name);
  if (G > 1) return; // the adjoint below is of the map with dk, dv summed (G = 1)

  // Adjoint identity, independent of the reference above: for the forward map f = rope_kv_write
  // (qkv → q, k, v), <f(x), (dq, dk, dv)> = <x, fᵀ(dq, dk, dv)> in float64 (1e-9 relative).
  const W = (H + 2 * Hkv) * D;
  const x = rng.uniform(R * W, -1, 1); // [R, W]
  const fx = ropeKvWriteRef(x, B, T, H, Hkv, D, new Float64Array(R * Hkv * D), new Float64Array(R * Hkv * D), T, { cacheAt: 0, offset, positions, invFreq });
  let lhs = 0, rhs = 0, mag = 0;
  for (let i = 0; i < fx.q.length; i++) lhs += fx.q[i] * dq[i];
  for (let i = 0; i < fx.kc.length; i++) lhs += fx.kc[i] * dk[i] + fx.vc[i] * dv[i];
  for (let i = 0; i < x.length; i++) {
    rhs += x[i] * want[i];
    mag += Math.abs(x[i] * want[i]);
  }
  assert.ok(Math.abs(lhs - rhs) <= 1e-9 * mag, `${name}: reference is not the transpose of rope_kv_write (${lhs} vs ${rhs})`);
}

test('rope_qkv_backward: GQA 4/2, D = 16, batch 2 × 5 tokens (not multiples of 256)', async () => {
  await runCase('gqa', 2, 5, 4, 2, 16, 0);
});

test('rope_qkv_backward: one KV head, D = 64, an offset', async () => {
  await runCase('offset', 1, 9, 3, 1, 64, 17);
});

test('rope_qkv_backward: per-token positions (left-padded batch)', async () => {
  await runCase('positions', 2, 4, 2, 2, 8, 0, Int32Array.from([0, 0, 1, 2, 0, 1, 2, 3]));
});

test('rope_qkv_backward: kvGroup 3 sums per-query-head dk, dv over each kv head (GQA 6/2, D = 16, an offset)', async () => {
  await runCase('kv group 3', 2, 5, 6, 2, 16, 3, undefined, 3);
});

test('rope_qkv_backward: kvGroup sums in the order the split-K reduce does (bit for bit: the training step is unchanged)', async () => {
  const rt = await testRuntime();
  const [B, T, H, Hkv, D] = [1, 3, 4, 2, 8];
  const rng = new Rng(5);
  const dq = rt.upload(rng.uniform(B * T * H * D, -2, 2), [B, T, H, D]);
  const parts = [rt.upload(rng.uniform(B * T * H * D, -3, 3), [B, T, H, D]), rt.upload(rng.uniform(B * T * H * D, -3, 3), [B, T, H, D])];
  const invFreq = Float32Array.from(ropeInvFreq(10000, D));
  // summed on the host in float32, g = 0 then 1, as matmul_forward_splitk.wgsl adds its slices
  const [hk, hv] = await Promise.all(parts.map((p) => rt.read(p)));
  const sum = (x: ArrayLike<number>) => {
    const out = new Float32Array(B * T * Hkv * D);
    for (let i = 0; i < B * T * Hkv; i++) for (let e = 0; e < D; e++) out[i * D + e] = Math.fround(Math.fround(0 + x[(i * 2) * D + e]) + x[(i * 2 + 1) * D + e]);
    return out;
  };
  const summed = ropeQkvBackward(rt, dq, rt.upload(sum(hk), [B, T, Hkv, D]), rt.upload(sum(hv), [B, T, Hkv, D]), { invFreq });
  const grouped = ropeQkvBackward(rt, dq, parts[0], parts[1], { invFreq, kvGroup: 2 });
  assert.deepEqual(await rt.read(grouped), await rt.read(summed));
});

test('rope_qkv_backward: guards name the problem', async () => {
  const rt = await testRuntime();
  const dq = rt.empty([1, 3, 4, 8]), dk = rt.empty([1, 3, 2, 8]);
  const invFreq = new Float32Array(4);
  assert.throws(() => ropeQkvBackward(rt, dq, dk, rt.empty([1, 3, 1, 8]), { invFreq }), /dv/);
  assert.throws(() => ropeQkvBackward(rt, dq, dk, dk, { invFreq: new Float32Array(3) }), /invFreq/);
  assert.throws(() => ropeQkvBackward(rt, rt.empty([1, 3, 4, 7]), dk, dk, { invFreq }), /even/);
  assert.throws(() => ropeQkvBackward(rt, dq, rt.empty([1, 3, 3, 8]), rt.empty([1, 3, 3, 8]), { invFreq, kvGroup: 2 }), /kvGroup 2/);
});
