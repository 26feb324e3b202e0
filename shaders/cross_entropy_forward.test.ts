import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { crossEntropyForward } from './cross_entropy_forward.ts';
import { crossEntropyForwardRef, IGNORE_INDEX } from './cross_entropy_forward.ref.ts';
import { testRuntime, releaseTestRuntime } from '../src/engine/testing/gpu.ts';
import { assertAllClose, allClose } from '../src/engine/testing/allclose.ts';
import { Rng } from '../src/engine/testing/rng.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';

after(releaseTestRuntime);

// Row loss / lse: 1e-5 relative (task), plus 1e-6 absolute because a loss is a log-domain value:
// WGSL's log() has absolute error ≤ 2^-21 for arguments near 1 (spec), and a row whose target
// dominates has a loss ≈ 0 that no f32 computation gets to 1e-5 relative.
// At V = 151936 the blocked sum keeps log Σ within ≈ 3.6e-6 absolute (worst case, see the kernel).
const ROW_TOL = { rtol: 1e-5, atol: 1e-6 };
// The mean: 1e-5 relative (sum of a few hundred f32 row losses, blocked + tree).
const MEAN_TOL = { rtol: 1e-5, atol: 0 };

async function run(rt: Runtime, logits: Float32Array, targets: Int32Array, N: number, V: number) {
  const out = crossEntropyForward(rt, rt.upload(logits, [N, V]), rt.upload(targets, [N]));
  return {
    loss: (await rt.read(out.loss))[0],
    rowLoss: await rt.read(out.rowLoss),
    lse: await rt.read(out.lse),
    count: (await rt.read(out.count))[0],
  };
}

/** targets in [0, V) with every `ignoreEvery`-th row set to -100 */
function makeTargets(rng: Rng, N: number, V: number, ignoreEvery = 0): Int32Array {
  const t = rng.ints(N, 0, V);
  if (ignoreEvery) for (let i = 1; i < N; i += ignoreEvery) t[i] = IGNORE_INDEX;
  return t;
}

function check(got: Awaited<ReturnType<typeof run>>, logits: Float32Array, targets: Int32Array, N: number, V: number, name: string) {
  const ref = crossEntropyForwardRef(logits, targets, N, V);
  assertAllClose(got.rowLoss, ref.rowLoss, ROW_TOL, `${name} rowLoss`);
  assertAllClose(got.lse, ref.lse, ROW_TOL, `${name} lse`);
  assertAllClose([got.loss], [ref.loss], MEAN_TOL, `${name} loss`);
  assert.equal(got.count, ref.count, `${name} count`);
}

test('cross_entropy_forward matches float64: V = 1, 7, 1000; N not a multiple of anything; ignored rows', async () => {
  const rt = await testRuntime();
  const rng = new Rng(11);
  // (N, V): N = 300 > 256 makes the mean kernel's threads take several rows each
  for (const [N, V] of [[1, 1], [3, 1], [5, 7], [300, 7], [13, 1000], [2, 257]]) {
    const logits = rng.normal(N * V, 2);
    const targets = makeTargets(rng, N, V, 4);
    check(await run(rt, logits, targets, N, V), logits, targets, N, V, `N=${N} V=${V}`);
  }
});

test('cross_entropy_forward at the Qwen2.5 vocabulary, V = 151936 (two rows)', async () => {
  const rt = await testRuntime();
  const rng = new Rng(12);
  const N = 2, V = 151936;
  const logits = rng.normal(N * V, 3);
  logits[V + 4242] = 25; // row 1: one dominant logit (not the target)
  const targets = new Int32Array([rng.int(0, V), 151935]); // last class of the vocabulary
  const got = await run(rt, logits, targets, N, V);
  check(got, logits, targets, N, V, 'V=151936');
  // loss ≈ ln V + std²/2 for row 0: a sanity anchor independent of the reference
  assert.ok(got.rowLoss[0] > 12 && got.rowLoss[0] < 20, `row 0 loss ${got.rowLoss[0]}`);
});

test('cross_entropy_forward: all rows ignored → loss 0 (not NaN), count 0, row losses 0', async () => {
  const rt = await testRuntime();
  const N = 37, V = 7;
  const logits = new Rng(13).normal(N * V);
  const targets = new Int32Array(N).fill(IGNORE_INDEX);
  const got = await run(rt, logits, targets, N, V);
  assert.equal(got.loss, 0);
  assert.equal(got.count, 0);
  assert.deepEqual(Array.from(got.rowLoss), new Array(N).fill(0));
});

test('cross_entropy_forward: huge logits (±1e30, all-equal, masked -3.4e38) stay finite and exact', async () => {
  const rt = await testRuntime();
  const V = 1000;
  const rows: { fill: number; set?: [number, number][]; t: number; want: number }[] = [
    { fill: 1e30, t: 3, want: Math.log(V) }, // all equal huge: uniform softmax
    { fill: -1e30, t: 999, want: Math.log(V) },
    { fill: 0, t: 0, want: Math.log(V) },
    { fill: -1e30, set: [[5, 1e30]], t: 5, want: 0 }, // target is the only live logit
    { fill: -1e30, set: [[5, 1e30]], t: 6, want: 2e30 }, // target is 2e30 below the max
    { fill: -3.402823e38, set: [[0, 1], [1, 2]], t: 1, want: Math.log(1 + Math.exp(-1)) }, // masked row
    { fill: 0, set: [[7, 30]], t: 7, want: Math.log1p(999 * Math.exp(-30)) }, // loss ≈ 1e-10
  ];
  const N = rows.length;
  const logits = new Float32Array(N * V);
  const targets = new Int32Array(N);
  rows.forEach((r, i) => {
    logits.fill(r.fill, i * V, (i + 1) * V);
    for (const [j, x] of r.set ?? []) logits[i * V + j] = x;
    targets[i] = r.t;
  });
  const got = await run(rt, logits, targets, N, V);
  check(got, logits, targets, N, V, 'huge');
  // independent of the reference: the closed forms above
  assertAllClose(got.rowLoss, rows.map((r) => r.want), ROW_TOL, 'huge closed form');
});

test('cross_entropy_forward: an out-of-range target gives a NaN row loss and a NaN mean; others unaffected (V = 7 and 8: scalar and vec4 rows)', async () => {
  const rt = await testRuntime();
  const rng = new Rng(14);
  for (const V of [7, 8]) {
    const N = 6;
    const logits = rng.normal(N * V);
    const targets = new Int32Array([0, V, 3, -5, IGNORE_INDEX, 6]); // rows 1 and 3 are invalid
    const got = await run(rt, logits, targets, N, V);
    const ref = crossEntropyForwardRef(logits, targets, N, V);
    assert.ok(Number.isNaN(got.rowLoss[1]) && Number.isNaN(got.rowLoss[3]), 'invalid rows are NaN');
    assert.ok(Number.isNaN(got.loss), 'the mean is NaN');
    assert.equal(got.count, 5); // invalid rows count, the -100 row does not
    for (const i of [0, 2, 4, 5]) assertAllClose([got.rowLoss[i]], [ref.rowLoss[i]], ROW_TOL, `row ${i}`);
    // and a NaN never passes the comparison
    assert.equal(allClose(got.rowLoss, ref.rowLoss, ROW_TOL).ok, false);
  }
});
