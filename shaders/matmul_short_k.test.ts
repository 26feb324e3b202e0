// matmul_short_k against its float64 reference: r from 1 to 64, ragged column tiles, alpha, accumulate; one
// dispatch; and its errors.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { matmulShortK, shortKApplies } from './matmul_short_k.ts';
import { matmulShortKRef } from './matmul_short_k.ref.ts';
import { testRuntime, releaseTestRuntime, logDispatches } from '../src/engine/testing/gpu.ts';
import { Rng } from '../src/engine/testing/rng.ts';
import { assertAllClose } from '../src/engine/testing/allclose.ts';

after(releaseTestRuntime);

test('matmul_short_k: C = alpha · T W (+ C) against the float64 reference', async () => {
  const rt = await testRuntime();
  const rng = new Rng(31);
  for (const c of [
    { M: 64, r: 16, N: 96 }, // LoRA dx: whole rows
    { M: 37, r: 8, N: 300, alpha: 0.5, accumulate: true }, // a partial 256-wide column tile
    { M: 5, r: 1, N: 4, accumulate: true }, // one vec4 a row
    { M: 20, r: 64, N: 1028, alpha: -2 }, // r = 64, five column tiles
  ]) {
    const name = `M${c.M} r${c.r} N${c.N}${c.accumulate ? ' accumulate' : ''}`;
    const [t, w, c0] = [rng.uniform(c.M * c.r), rng.uniform(c.r * c.N), rng.uniform(c.M * c.N)];
    const tt = rt.upload(t, [c.M, c.r]);
    const wt = rt.upload(w, [c.r, c.N]);
    const out = c.accumulate ? rt.upload(c0, [c.M, c.N]) : undefined;
    const log = logDispatches(rt);
    const got = matmulShortK(rt, tt, wt, { alpha: c.alpha, out, accumulate: c.accumulate });
    log.restore();
    assert.deepEqual(log.names, ['matmul_short_k'], `${name}: one dispatch`);
    const ref = matmulShortKRef(t, w, c.M, c.r, c.N, { alpha: c.alpha, accumulateInto: c.accumulate ? c0 : undefined });
    assertAllClose((await rt.read(got)) as Float32Array, ref, { rtol: 1e-5, atol: 1e-5 * Math.sqrt(c.r) }, name);
    for (const x of [tt, wt, got]) x.dispose();
  }
});

test('matmul_short_k: where it applies, and clear errors', async () => {
  assert.equal(shortKApplies(1024, 16, 896), true);
  assert.equal(shortKApplies(1024, 65, 896), false);
  assert.equal(shortKApplies(1024, 16, 898), false);
  const rt = await testRuntime();
  const t = rt.zeros([8, 4]), w = rt.zeros([4, 6]), w2 = rt.zeros([4, 8]);
  assert.throws(() => matmulShortK(rt, t, w), /N a multiple of 4/);
  assert.throws(() => matmulShortK(rt, t, w2, { accumulate: true }), /accumulate needs out/);
  for (const x of [t, w, w2]) x.dispose();
});
