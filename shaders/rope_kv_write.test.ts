import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { ropeKvWrite } from './rope_kv_write.ts';
import { ropeKvWriteRef } from './rope_kv_write.ref.ts';
import { ropeInvFreq } from './rope_forward.ts';
import { testRuntime, releaseTestRuntime } from '../src/engine/testing/gpu.ts';
import { assertAllClose } from '../src/engine/testing/allclose.ts';
import { Rng } from '../src/engine/testing/rng.ts';

after(releaseTestRuntime);
// Same tolerance as rope.test.ts for small positions: exact angle reduction, fp32 sin/cos and one
// rotation (2 products, 1 sum) → 1e-5 relative + 1e-5 absolute. Cache slots not written must be
// bit-identical (they hold a NaN sentinel here, which fails any comparison if touched).
const TOL = { atol: 1e-5, rtol: 1e-5 };

async function runCase(name: string, B: number, T: number, H: number, Hkv: number, D: number, S: number, cacheAt: number, offset: number, positions?: Int32Array) {
  const rt = await testRuntime();
  const rng = new Rng(B * 1000 + T * 10 + D);
  const qkv = rng.uniform(B * T * (H + 2 * Hkv) * D, -2, 2); // [B, T, (H + 2Hkv)·D]
  const kc0 = new Float32Array(B * S * Hkv * D).fill(NaN); // [B, S, Hkv, D] "never written"
  const vc0 = new Float32Array(B * S * Hkv * D).fill(NaN);
  const invFreq = Float32Array.from(ropeInvFreq(10000, D));
  const kc = rt.upload(kc0, [B, S, Hkv, D]), vc = rt.upload(vc0, [B, S, Hkv, D]);
  const posT = positions ? rt.upload(positions, [B * T], 'i32') : null;
  const q = ropeKvWrite(rt, rt.upload(qkv, [B, T, (H + 2 * Hkv) * D]), H, Hkv, kc, vc, { cacheAt, offset, positions: posT, invFreq });
  assert.deepEqual(q.shape, [B, T, H, D]);
  const ref = ropeKvWriteRef(qkv, B, T, H, Hkv, D, kc0, vc0, S, { cacheAt, offset, positions, invFreq });
  assertAllClose(await rt.read(q), ref.q, TOL, `${name} q`);
  const [gk, gv] = [await rt.read(kc), await rt.read(vc)];
  // written slots compared with tolerance; untouched slots must still be NaN
  for (const [got, want, what] of [[gk, ref.kc, 'k'], [gv, ref.vc, 'v']] as const) {
    const written: number[] = [], wantW: number[] = [];
    for (let i = 0; i < want.length; i++) {
      if (Number.isNaN(want[i])) assert.ok(Number.isNaN(got[i]), `${name} ${what} cache slot element ${i} was written`);
      else {
        written.push(got[i]);
        wantW.push(want[i]);
      }
    }
    assert.equal(written.length, B * T * Hkv * D, `${name} ${what}: all new slots written`);
    assertAllClose(written, wantW, TOL, `${name} ${what} cache`);
  }
}

test('rope_kv_write: prefill into an empty cache (GQA 4/2, D = 16), sizes not multiples of 256', async () => {
  await runCase('prefill', 1, 7, 4, 2, 16, 12, 0, 0);
});

test('rope_kv_write: decode steps at a cache offset, batch 3, one KV head, D = 64', async () => {
  await runCase('decode', 3, 1, 7, 1, 64, 40, 33, 33);
});

test('rope_kv_write: left-padded batch with per-token positions (slots by cache index, angles by position)', async () => {
  const pos = Int32Array.from([1, 1, 0, 1, 2, 0, 1, 2, 3, 4].slice(0, 10)); // [B=2, T=5]: row 0 padded by 2
  await runCase('padded', 2, 5, 2, 2, 8, 9, 0, 0, pos);
});

test('rope_kv_write: guards name the problem', async () => {
  const rt = await testRuntime();
  const kc = rt.empty([1, 4, 2, 8]), vc = rt.empty([1, 4, 2, 8]);
  const qkv = rt.empty([1, 3, (4 + 4) * 8]);
  const invFreq = new Float32Array(4);
  assert.throws(() => ropeKvWrite(rt, qkv, 4, 2, kc, vc, { cacheAt: 2, offset: 2, invFreq }), /outside the cache of 4/);
  assert.throws(() => ropeKvWrite(rt, rt.empty([1, 3, 7 * 8]), 4, 2, kc, vc, { cacheAt: 0, offset: 0, invFreq }), /qkv/);
  assert.throws(() => ropeKvWrite(rt, qkv, 4, 2, kc, vc, { cacheAt: 0, offset: 0, invFreq: new Float32Array(3) }), /invFreq/);
});
