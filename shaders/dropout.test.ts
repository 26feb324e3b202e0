import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { dropout } from './dropout.ts';
import { dropoutRef, keepBit } from './dropout.ref.ts';
import { testRuntime, releaseTestRuntime } from '../src/engine/testing/gpu.ts';
import { assertAllClose } from '../src/engine/testing/allclose.ts';
import { Rng } from '../src/engine/testing/rng.ts';

after(releaseTestRuntime);
// one multiply by 1/(1−p) rounded to f32 (and one add when accumulating): a few ulp
const TOL = { atol: 1e-6, rtol: 1e-6 };

test('dropout: the GPU mask is bit-identical to the TypeScript hash; values match float64 (n not a multiple of 256)', async () => {
  const rt = await testRuntime();
  const rng = new Rng(3);
  for (const [n, p, lo, hi] of [[1000, 0.1, 7, 0], [70_001, 0.5, 0xdeadbeef, 123456], [33, 0.05, 0, 0xffffffff]] as const) {
    const x = rng.uniform(n, 0.5, 2); // no zeros: a zero in the output means dropped
    const out = (await rt.read(dropout(rt, rt.upload(x, [n]), p, { lo, hi }))) as Float32Array;
    for (let i = 0; i < n; i++) assert.equal(out[i] !== 0, keepBit(i, lo, hi, p), `n=${n} element ${i}: mask differs from the reference hash`);
    assertAllClose(out, dropoutRef(x, p, lo, hi), TOL, `dropout n=${n} p=${p}`);
  }
});

test('dropout: about 1 − p of the elements are kept, and different seeds give different masks', async () => {
  const rt = await testRuntime();
  const n = 200_000, p = 0.1;
  const x = rt.upload(new Float32Array(n).fill(1), [n]);
  const a = (await rt.read(dropout(rt, x, p, { lo: 1, hi: 2 }))) as Float32Array;
  const b = (await rt.read(dropout(rt, x, p, { lo: 1, hi: 3 }))) as Float32Array;
  const kept = a.filter((v) => v !== 0).length / n;
  // binomial: sd = sqrt(p(1−p)/n) ≈ 6.7e-4; 5 sd
  assert.ok(Math.abs(kept - (1 - p)) < 3.4e-3, `kept fraction ${kept}`);
  let same = 0;
  for (let i = 0; i < n; i++) if ((a[i] !== 0) === (b[i] !== 0)) same++;
  // independent masks agree on p² + (1−p)² = 0.82 of the elements
  assert.ok(Math.abs(same / n - 0.82) < 0.005, `masks of two seeds agree on ${same / n}`);
  assert.ok(a.every((v) => v === 0 || Math.abs(v - 1 / 0.9) < 1e-6), 'kept values scaled by 1/(1−p)');
});

test('dropout: accumulate adds into out; p = 0 is the identity; guards', async () => {
  const rt = await testRuntime();
  const rng = new Rng(4);
  const n = 513;
  const x = rng.uniform(n, -1, 1), acc = rng.uniform(n, -1, 1);
  const out = rt.upload(acc, [n]);
  dropout(rt, rt.upload(x, [n]), 0.3, { lo: 9, hi: 9 }, { out, accumulate: true });
  assertAllClose(await rt.read(out), dropoutRef(x, 0.3, 9, 9, acc), TOL, 'accumulate');
  assertAllClose(await rt.read(dropout(rt, rt.upload(x, [n]), 0, { lo: 1, hi: 1 })), x, { atol: 0, rtol: 0 }, 'p = 0');
  const t = rt.upload(x, [n]);
  assert.throws(() => dropout(rt, t, 1, { lo: 0, hi: 0 }), /p must be in \[0, 1\)/);
  assert.throws(() => dropout(rt, t, 0.1, { lo: -1, hi: 0 }), /seed.lo must be a u32/);
  assert.throws(() => dropout(rt, t, 0.1, { lo: 0, hi: 0 }, { out: t }), /alias/);
});
