import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { crossEntropyForward } from './cross_entropy_forward.ts';
import { crossEntropyBackward } from './cross_entropy_backward.ts';
import { crossEntropyForwardRef, IGNORE_INDEX } from './cross_entropy_forward.ref.ts';
import { policyLogitGrad, type PolicyLogitGradOptions } from './policy_logit_grad.ts';
import { policyLogitGradRef } from './policy_logit_grad.ref.ts';
import { testRuntime, releaseTestRuntime } from '../src/engine/testing/gpu.ts';
import { assertAllClose, allClose } from '../src/engine/testing/allclose.ts';
import { Rng } from '../src/engine/testing/rng.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';

after(releaseTestRuntime);

// dlogits: 1e-5 relative + 1e-7 absolute, as cross_entropy_backward: p = exp(x − lse) carries lse's
// rounding and exp's error; the row scale adds exp(logp − old) (r, a few ulp) and logp's absolute error
// (≈ ulp(lse)) as a relative error on r. logp = x_t − lse is a difference of two O(1..10) numbers, so its
// error is absolute: 1e-6 (a few ulp of lse) on top of 1e-5 relative.
const TOL = { rtol: 1e-5, atol: 1e-7 };
const TOL_LOGP = { rtol: 1e-5, atol: 1e-6 };

type Opts = Omit<PolicyLogitGradOptions, 'out'>;

/** crossEntropyForward (for lse) + policyLogitGrad on the GPU, both outputs read back */
async function grad(rt: Runtime, logits: Float32Array, targets: Int32Array, rows: Float32Array, N: number, V: number, opts: Opts) {
  const tl = rt.upload(logits, [N, V]), tt = rt.upload(targets, [N]);
  const f = crossEntropyForward(rt, tl, tt);
  const g = policyLogitGrad(rt, tl, tt, f.lse, rt.upload(rows, [N, 4]), opts);
  return { d: (await rt.read(g.dlogits)) as Float32Array, lp: (await rt.read(g.logp)) as Float32Array };
}

/**
 * rows [N, 4] (old, ref, A, w) for counted rows: old = logp ± δ with δ ∈ {0.05, 0.1} (r inside the clip
 * range) or 0.5 (r = e^±0.5, outside it), A ~ N(0, 1), ref = logp + N(0, 0.3), w ∈ [0.1, 1). Every 5th
 * row (from 1) is ignored, every 5th (from 3) has w = 0 and NaN in the other three entries.
 */
function makeInputs(rng: Rng, N: number, V: number) {
  const logits = rng.normal(N * V, 2); // [N, V]
  const targets = rng.ints(N, 0, V); // [N]
  const { rowMax, logSum } = crossEntropyForwardRef(logits, targets, N, V);
  const rows = new Float32Array(N * 4); // [N, 4]
  const deltas = [0.05, -0.05, 0.1, -0.1, 0.5, -0.5];
  for (let i = 0; i < N; i++) {
    if (i % 5 === 1) targets[i] = IGNORE_INDEX;
    if (i % 5 === 3) {
      rows.set([NaN, NaN, NaN, 0], i * 4);
      continue;
    }
    const lp = logits[i * V + Math.max(targets[i], 0)] - rowMax[i] - logSum[i];
    const [a, ref] = rng.normal(2);
    rows.set([lp + deltas[rng.int(0, deltas.length)], lp + 0.3 * ref, a, 0.1 + 0.9 * rng.next()], i * 4);
  }
  return { logits, targets, rows };
}

test('policy_logit_grad matches float64 (grpoObjective): V = 1, 7, 1000, 257; on/off-policy; β 0 and 0.1', async () => {
  const rt = await testRuntime();
  const rng = new Rng(31);
  let clipped = 0; // off-policy, β = 0 rows whose gradient is 0 because the clipped branch wins
  for (const [N, V] of [[1, 1], [3, 1], [5, 7], [300, 7], [13, 1000], [2, 257]]) {
    const { logits, targets, rows } = makeInputs(rng, N, V);
    for (const onPolicy of [true, false]) {
      for (const beta of [0, 0.1]) {
        const opts = { epsLow: 0.2, epsHigh: 0.28, beta, onPolicy };
        const { d, lp } = await grad(rt, logits, targets, rows, N, V, opts);
        const ref = policyLogitGradRef(logits, targets, rows, N, V, opts);
        const what = `N=${N} V=${V} onPolicy=${onPolicy} beta=${beta}`;
        assertAllClose(d, ref.dlogits, TOL, `${what} dlogits`);
        assertAllClose(lp, ref.logp, TOL_LOGP, `${what} logp`);
        if (!onPolicy && beta === 0 && V > 1) {
          for (let i = 0; i < N; i++) {
            const live = targets[i] !== IGNORE_INDEX && rows[i * 4 + 3] !== 0;
            if (live && ref.dlogits.subarray(i * V, (i + 1) * V).every((x) => x === 0)) clipped++;
          }
        }
      }
    }
  }
  assert.ok(clipped >= 10, `only ${clipped} clipped rows exercised`);
});

test('policy_logit_grad without the reference: rows sum to 0; on-policy β = 0 is CE backward · w·A', async () => {
  const rt = await testRuntime();
  const rng = new Rng(32);
  const N = 37, V = 300;
  const { logits, targets, rows } = makeInputs(rng, N, V);
  for (let i = 3; i < N; i += 5) rows.set([0, 0, rng.normal(1)[0], 0], i * 4); // w = 0, finite (w·A below)
  const tl = rt.upload(logits, [N, V]), tt = rt.upload(targets, [N]);
  const f = crossEntropyForward(rt, tl, tt);
  let count = 0;
  for (let i = 0; i < N; i++) count += targets[i] !== IGNORE_INDEX ? 1 : 0;
  // gradScale = count: scale count / count = 1, so ce = p − onehot on counted rows
  const ce = (await rt.read(crossEntropyBackward(rt, tl, tt, f.lse, f.count, { gradScale: count }))) as Float32Array;
  const expect = new Float64Array(N * V); // [N, V] (p − onehot)·w·A
  for (let i = 0; i < N; i++) for (let j = 0; j < V; j++) expect[i * V + j] = ce[i * V + j] * rows[i * 4 + 3] * rows[i * 4 + 2];
  const on = await grad(rt, logits, targets, rows, N, V, { epsLow: 0.2, epsHigh: 0.2, beta: 0, onPolicy: true });
  assertAllClose(on.d, expect, TOL, 'on-policy β=0 vs CE backward');

  // Σ_j (p_j − onehot_j)·s = 0 for every row, any configuration
  for (const onPolicy of [true, false]) {
    const { d } = await grad(rt, logits, targets, rows, N, V, { epsLow: 0.2, epsHigh: 0.28, beta: 0.1, onPolicy });
    for (let i = 0; i < N; i++) {
      let s = 0, abs = 0;
      for (let j = 0; j < V; j++) {
        s += d[i * V + j];
        abs += Math.abs(d[i * V + j]);
      }
      assert.ok(Math.abs(s) <= 1e-7 + 1e-5 * abs, `onPolicy=${onPolicy} row ${i} sums to ${s} (Σ|d| = ${abs})`);
    }
  }
});

test('policy_logit_grad: huge logits (1e30 all-equal, shifted by −500, std 40) take the exact path', async () => {
  const rt = await testRuntime();
  const rng = new Rng(33);
  const N = 3, V = 1000;
  const logits = new Float32Array(N * V);
  logits.fill(1e30, 0, V); // row 0: lse rounds to 1e30, logp must still be −log V
  logits.set(rng.normal(V, 2).map((x) => x - 500), V); // row 1
  logits.set(rng.normal(V, 40), 2 * V); // row 2: |lse| ≈ 100+
  const targets = new Int32Array([3, 500, 17]);
  const { rowMax, logSum } = crossEntropyForwardRef(logits, targets, N, V);
  const rows = new Float32Array(N * 4);
  for (let i = 0; i < N; i++) {
    const lp = logits[i * V + targets[i]] - rowMax[i] - logSum[i];
    rows.set([lp - 0.1, lp + 0.2, i === 1 ? -1.5 : 0.7, 0.5], i * 4);
  }
  const opts = { epsLow: 0.2, epsHigh: 0.28, beta: 0.1, onPolicy: false };
  const { d, lp } = await grad(rt, logits, targets, rows, N, V, opts);
  const ref = policyLogitGradRef(logits, targets, rows, N, V, opts);
  assertAllClose(d, ref.dlogits, TOL, 'huge dlogits');
  assertAllClose(lp, ref.logp, TOL_LOGP, 'huge logp');
  assertAllClose([lp[0]], [-Math.log(V)], TOL_LOGP, 'all-equal 1e30 row: logp = −log V');
});

test('policy_logit_grad: out-of-range target → NaN row and logp; ignored / w = 0 rows overwrite stale out', async () => {
  const rt = await testRuntime();
  const N = 6, V = 7;
  const logits = new Rng(34).normal(N * V);
  // row 1: t = V (NaN), row 4: t = −1 (NaN), row 2: ignored, row 5: w = 0 wins over an out-of-range t
  const targets = new Int32Array([2, V, IGNORE_INDEX, 6, -1, 99]);
  const rows = new Float32Array([-2, -2, 1, 1, -2, -2, 1, 1, NaN, NaN, NaN, NaN, -1, -2, -0.5, 0.5, -2, -2, 1, 1, NaN, NaN, NaN, 0]);
  const tl = rt.upload(logits, [N, V]), tt = rt.upload(targets, [N]);
  const f = crossEntropyForward(rt, tl, tt);
  const out = rt.upload(new Float32Array(N * V).fill(NaN), [N, V]); // stale contents must be overwritten
  const opts = { epsLow: 0.2, epsHigh: 0.2, beta: 0.1, onPolicy: false };
  const g = policyLogitGrad(rt, tl, tt, f.lse, rt.upload(rows, [N, 4]), { ...opts, out });
  assert.equal(g.dlogits, out);
  const d = (await rt.read(out)) as Float32Array, lp = (await rt.read(g.logp)) as Float32Array;
  const ref = policyLogitGradRef(logits, targets, rows, N, V, opts);
  for (const i of [1, 4]) {
    assert.ok(d.subarray(i * V, (i + 1) * V).every(Number.isNaN) && Number.isNaN(lp[i]), `row ${i} is NaN`);
  }
  for (const i of [0, 2, 3, 5]) assertAllClose(d.subarray(i * V, (i + 1) * V), ref.dlogits.subarray(i * V, (i + 1) * V), TOL, `row ${i}`);
  assert.deepEqual([lp[2], lp[5]], [0, 0]);
  assert.equal(allClose(d, ref.dlogits, TOL).ok, false); // NaN never passes
});

test('policy_logit_grad: argument checks; N = 0 dispatches nothing', async () => {
  const rt = await testRuntime();
  const N = 2, V = 3;
  const tl = rt.upload(new Float32Array(N * V), [N, V]), tt = rt.upload(new Int32Array(N), [N]);
  const lse = rt.upload(new Float32Array(N), [N]), rows = rt.upload(new Float32Array(N * 4), [N, 4]);
  const ok = { epsLow: 0.2, epsHigh: 0.2, beta: 0, onPolicy: true };
  assert.throws(() => policyLogitGrad(rt, tl, tt, lse, rt.upload(new Float32Array(N * 3), [N, 3]), ok), /rows \[N, 4\]/);
  assert.throws(() => policyLogitGrad(rt, tl, tt, lse, rows, { ...ok, epsLow: 1 }), /epsLow/);
  assert.throws(() => policyLogitGrad(rt, tl, tt, lse, rows, { ...ok, epsHigh: -0.1 }), /epsHigh/);
  assert.throws(() => policyLogitGrad(rt, tl, tt, lse, rows, { ...ok, beta: NaN }), /beta/);
  assert.throws(() => policyLogitGrad(rt, tl, tt, lse, rows, { ...ok, out: tl }), /alias logits/);
  const z = policyLogitGrad(rt, rt.empty([0, V]), rt.empty([0], 'i32'), rt.empty([0]), rt.empty([0, 4]), ok);
  assert.deepEqual([z.dlogits.shape, z.logp.shape], [[0, V], [0]]);
});
