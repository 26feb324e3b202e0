import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { sampleTokens } from './sample_tokens.ts';
import { sampleTokensRef } from './sample_tokens.ref.ts';
import { testRuntime, releaseTestRuntime } from '../src/engine/testing/gpu.ts';
import { Rng } from '../src/engine/testing/rng.ts';

after(releaseTestRuntime);
// The token is an index: equal to the float64 reference unless u lies within float32 rounding of a CDF
// boundary (the reference reports that margin; such a row may pick a neighbour). The log-prob: within
// 2e-6 · (1 + |log z|) absolute (f32 sums of up to 151 936 weights).
const TIE = 1e-5;

async function check(rows: number, V: number, x: Float32Array, params: Float32Array, label: string): Promise<number> {
  const rt = await testRuntime();
  const { tokens, logp } = sampleTokens(rt, rt.upload(x, [rows, V]), rt.upload(params, [rows, 2]));
  const [gotT, gotL] = [await rt.read(tokens), await rt.read(logp)];
  const ref = sampleTokensRef(x, V, params);
  let ties = 0;
  for (let r = 0; r < rows; r++) {
    if (ref.margin[r] <= TIE && gotT[r] !== ref.tokens[r]) {
      ties++; // a rounding tie at a CDF boundary: a neighbour may be drawn
      continue;
    }
    assert.equal(gotT[r], ref.tokens[r], `${label} row ${r}: token`);
    assert.ok(Math.abs(gotL[r] - ref.logp[r]) <= 2e-6 * (1 + Math.abs(ref.logp[r]) + Math.log(V)), `${label} row ${r}: logp ${gotL[r]} vs ${ref.logp[r]}`);
  }
  return ties;
}

test('sample_tokens draws the reference token with its log-prob: rows of 1, 7, 255, 257, 1000 and 151 936 logits, T 0.5-2', async () => {
  const rng = new Rng(7);
  let ties = 0, n = 0;
  for (const [rows, V] of [[1, 1], [4, 7], [3, 255], [5, 257], [16, 1000], [2, 151936]]) {
    for (const T of [0.5, 1, 2]) {
      const x = rng.normal(rows * V, 3);
      const params = new Float32Array(2 * rows);
      for (let r = 0; r < rows; r++) [params[2 * r], params[2 * r + 1]] = [1 / T, rng.next()];
      ties += await check(rows, V, x, params, `V=${V} T=${T}`);
      n += rows;
    }
  }
  assert.ok(ties <= 1, `${ties} of ${n} rows drew a neighbour at a rounding tie`);
});

test('sample_tokens: u = 0 takes the first token with weight, u near 1 the last; masked (−3.4e38) and NaN logits are never drawn', async () => {
  const V = 300;
  const x = new Float32Array(4 * V).fill(-3.4e38);
  // row 0/1: only tokens 10, 200 and 299 visible; row 2: a NaN among equal logits; row 3: one visible token
  for (const r of [0, 1]) for (const j of [10, 200, 299]) x[r * V + j] = 1;
  x.fill(0, 2 * V, 3 * V);
  x[2 * V] = NaN;
  x[3 * V + 123] = -5;
  const params = Float32Array.of(1, 0, 1, 0.9999999, 1, 0, 1, 0.5);
  const rt = await testRuntime();
  const { tokens, logp } = sampleTokens(rt, rt.upload(x, [4, V]), rt.upload(params, [4, 2]));
  assert.deepEqual(Array.from(await rt.read(tokens)), [10, 299, 1, 123]);
  const lp = await rt.read(logp);
  assert.ok(Math.abs(lp[0] - Math.log(1 / 3)) < 1e-6 && Math.abs(lp[1] - Math.log(1 / 3)) < 1e-6, `${lp[0]} ${lp[1]}`);
  assert.ok(Math.abs(lp[2] - Math.log(1 / 299)) < 1e-5, `${lp[2]}`);
  assert.equal(lp[3], 0);
  assert.deepEqual(Array.from(sampleTokensRef(x, V, params).tokens), [10, 299, 1, 123]);
});

test('sample_tokens: over many u the draws follow softmax(x / T) (χ² on 8 tokens)', async () => {
  const V = 8, rows = 4000, T = 1.5;
  const logits = Float32Array.of(0, 1, 2, 0.5, -1, 1.5, 0, 3);
  const x = new Float32Array(rows * V);
  for (let r = 0; r < rows; r++) x.set(logits, r * V);
  const rng = new Rng(3);
  const params = new Float32Array(2 * rows);
  for (let r = 0; r < rows; r++) [params[2 * r], params[2 * r + 1]] = [1 / T, rng.next()];
  const rt = await testRuntime();
  const got = await rt.read(sampleTokens(rt, rt.upload(x, [rows, V]), rt.upload(params, [rows, 2])).tokens);
  const p = Array.from(logits, (v) => Math.exp(v / T));
  const z = p.reduce((a, b) => a + b);
  const counts = new Array<number>(V).fill(0);
  for (const t of got) counts[t]++;
  const chi2 = counts.reduce((a, c, j) => a + (c - (rows * p[j]) / z) ** 2 / ((rows * p[j]) / z), 0);
  assert.ok(chi2 < 24.3, `χ² ${chi2.toFixed(1)} with 7 degrees of freedom (p = 0.001 bound 24.3); counts ${counts}`);
});

test('sample_tokens refuses bad shapes with the reason', async () => {
  const rt = await testRuntime();
  const x = rt.upload(new Float32Array(6), [2, 3]);
  assert.throws(() => sampleTokens(rt, x, rt.upload(new Float32Array(2), [1, 2])), /params .* must be f32 \[2, 2\]/);
  assert.throws(() => sampleTokens(rt, x, rt.upload(new Float32Array(4), [2, 2]), { tokens: rt.empty([3], 'i32') }), /tokens .* must be i32 with 2 values/);
});
