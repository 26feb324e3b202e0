// rmsnorm_forward + rmsnorm_backward vs float64 references.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmsnormForward } from './rmsnorm_forward.ts';
import { rmsnormForwardRef } from './rmsnorm_forward.ref.ts';
import { rmsnormBackward } from './rmsnorm_backward.ts';
import { rmsnormBackwardRef } from './rmsnorm_backward.ref.ts';
import { addScale } from './add_scale.ts';
import { testRuntime, releaseTestRuntime } from '../src/engine/testing/gpu.ts';
import { assertAllClose, allClose } from '../src/engine/testing/allclose.ts';
import { Rng } from '../src/engine/testing/rng.ts';
import { toHalfBits, fromHalfBits } from '../src/engine/gpu/half.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import type { Tensor } from '../src/engine/gpu/tensor.ts';

after(releaseTestRuntime);

// fp32 vs float64: a row sum of C squares (tree order) and a few roundings → ~1e-6 relative; 1e-5 leaves margin.
const TOL = { atol: 1e-6, rtol: 1e-5 };
// rstd > 0 has no cancellation: purely relative (it is ~1e-18 on the huge row, where any atol would hide errors)
const TOL_RSTD = { atol: 0, rtol: 1e-5 };

/**
 * dx_j = r·(g_j − xhat_j·c), g = w·dy, cancels (to ~r·g·eps/mean(x²) when C = 1): compare each row with
 * atol = 1e-6 × r·max_j|g_j|, the size of the terms that cancel (fp32 rounds them, not their difference).
 */
function assertRowsClose(got: ArrayLike<number>, ref: Float64Array, x: ArrayLike<number>, w: ArrayLike<number>, dy: ArrayLike<number>, N: number, C: number, eps: number, what: string): void {
  const { rstd } = rmsnormForwardRef(x, w, N, C, eps);
  for (let n = 0; n < N; n++) {
    let gmax = 0;
    for (let c = 0; c < C; c++) gmax = Math.max(gmax, Math.abs(w[c] * dy[n * C + c]));
    const g = Array.from({ length: C }, (_, c) => got[n * C + c]);
    assertAllClose(g, ref.subarray(n * C, (n + 1) * C), { atol: 1e-6 * rstd[n] * gmax, rtol: 1e-5 }, `${what} row ${n}`);
  }
}

function uploadW(rt: Runtime, w: Float32Array, dtype: 'f32' | 'f16' | 'bf16'): { t: Tensor; values: Float32Array } {
  if (dtype === 'f32') return { t: rt.upload(w, [w.length]), values: w };
  const bits = toHalfBits(w, dtype);
  return { t: rt.upload(bits, [w.length], dtype), values: fromHalfBits(bits, dtype) };
}

test('rmsnorm_forward matches float64 on C not a multiple of 256, C = 4096, f32/f16/bf16 w', async () => {
  const rt = await testRuntime();
  const rng = new Rng(7);
  const cases: [number, number, 'f32' | 'f16' | 'bf16'][] = [[1, 1, 'f32'], [3, 7, 'f32'], [5, 255, 'bf16'], [4, 257, 'f16'], [3, 1000, 'f32'], [2, 4096, 'bf16'], [1, 33, 'f16']];
  for (const [N, C, dt] of cases) {
    for (const eps of [1e-6, 1e-5]) {
      const x = rng.normal(N * C, 2);
      const { t: tw, values: w } = uploadW(rt, rng.uniform(C, 0.5, 1.5), dt);
      const { y, rstd } = rmsnormForward(rt, rt.upload(x, [N, C]), tw, eps);
      const ref = rmsnormForwardRef(x, w, N, C, eps);
      assertAllClose(await rt.read(y), ref.y, TOL, `y N=${N} C=${C} w=${dt} eps=${eps}`);
      assertAllClose(await rt.read(rstd), ref.rstd, TOL_RSTD, `rstd N=${N} C=${C}`);
    }
  }
});

test('rmsnorm_forward edge rows: |x| = 1e18 (x² sum overflows f32), 3e38, zeros, tiny, one spike', async () => {
  const rt = await testRuntime();
  const rng = new Rng(8);
  const C = 300; // not a multiple of 256
  const rows: Float32Array[] = [
    rng.normal(C).map((v) => v * 1e18), // Σx² ≈ 3e38·... overflows f32; a naive kernel gives rstd = 0, y = 0
    rng.normal(C).map((v) => Math.sign(v) * 3e38), // near the f32 maximum
    new Float32Array(C), // zero row → y = 0, rstd = 1/sqrt(eps)
    rng.normal(C).map((v) => v * 1e-30), // mean(x²) ≪ eps → y ≈ x/sqrt(eps)
    Float32Array.from({ length: C }, (_, c) => (c === 299 ? -5e20 : c === 3 ? 1e-3 : 0)), // one spike in the last, partial stride
    rng.normal(C), // ordinary
  ];
  const N = rows.length;
  const x = new Float32Array(N * C);
  rows.forEach((r, i) => x.set(r, i * C));
  const w = rng.uniform(C, -1.5, 1.5);
  const eps = 1e-6;
  const { y, rstd } = rmsnormForward(rt, rt.upload(x, [N, C]), rt.upload(w, [C]), eps);
  const ref = rmsnormForwardRef(x, w, N, C, eps);
  const gy = await rt.read(y);
  assertAllClose(gy, ref.y, TOL, 'y edge rows');
  // the tiny row: y ≈ 1e-27 is below atol; check it relatively
  assertAllClose(gy.subarray(3 * C, 4 * C), ref.y.subarray(3 * C, 4 * C), { atol: 0, rtol: 1e-5 }, 'y tiny row');
  // rstd of the 3e38 row is ≈ 3e-39, an f32 subnormal that GPUs may flush to 0: not compared (its y is)
  const gr = await rt.read(rstd);
  for (const i of [0, 2, 3, 4, 5]) assertAllClose([gr[i]], [ref.rstd[i]], TOL_RSTD, `rstd edge row ${i}`);
  assert.ok(gy.subarray(2 * C, 3 * C).every((v) => v === 0), 'zero row gives y = 0');
  // the huge row is O(1) after normalisation; all-zero output (the f32-overflow answer) would fail
  assert.ok(Math.abs(gy[0]) > 1e-3 || Math.abs(gy[1]) > 1e-3);
});

test('rmsnorm reference backward agrees with central differences of the reference forward', () => {
  const rng = new Rng(9);
  const N = 2, C = 5, eps = 1e-5;
  const x = Array.from(rng.normal(N * C)), w = Array.from(rng.uniform(C, 0.5, 1.5)), dy = Array.from(rng.normal(N * C));
  const loss = (xx: number[], ww: number[]) => rmsnormForwardRef(xx, ww, N, C, eps).y.reduce((s, v, i) => s + v * dy[i], 0);
  const { dx, dw } = rmsnormBackwardRef(x, w, dy, N, C, eps);
  const h = 1e-6;
  for (let i = 0; i < N * C; i++) {
    const xp = x.slice(), xm = x.slice();
    xp[i] += h; xm[i] -= h;
    assert.ok(Math.abs((loss(xp, w) - loss(xm, w)) / (2 * h) - dx[i]) < 1e-7, `dx[${i}]`);
  }
  for (let c = 0; c < C; c++) {
    const wp = w.slice(), wm = w.slice();
    wp[c] += h; wm[c] -= h;
    assert.ok(Math.abs((loss(x, wp) - loss(x, wm)) / (2 * h) - dw[c]) < 1e-7, `dw[${c}]`);
  }
});

test('rmsnorm_backward: dx overwritten, dw accumulated (+=), many row chunks, f32 and bf16 w', async () => {
  const rt = await testRuntime();
  const rng = new Rng(10);
  // N = 70 > 2 chunks of 32 rows (last one partial); C = 37, 300 and 1000 are not multiples of 256
  const cases: [number, number, 'f32' | 'bf16' | 'f16'][] = [[1, 1, 'f32'], [70, 37, 'f32'], [6, 300, 'bf16'], [3, 1000, 'f16'], [2, 4096, 'f32']];
  for (const [N, C, dt] of cases) {
    const eps = 1e-5;
    const x = rng.normal(N * C), dy = rng.normal(N * C);
    const { t: tw, values: w } = uploadW(rt, rng.uniform(C, 0.5, 1.5), dt);
    const tx = rt.upload(x, [N, C]);
    const { rstd } = rmsnormForward(rt, tx, tw, eps);
    const dw0 = rng.normal(C); // dw is accumulated into: start from non-zero values
    const dw = rt.upload(dw0, [C]);
    const { dx } = rmsnormBackward(rt, tx, tw, rstd, rt.upload(dy, [N, C]), dw);
    const ref = rmsnormBackwardRef(x, w, dy, N, C, eps);
    assertRowsClose(await rt.read(dx), ref.dx, x, w, dy, N, C, eps, `dx N=${N} C=${C} w=${dt}`);
    // dw sums N rows: ~N roundings more than dx → 1e-5 relative still holds for N ≤ 70
    assertAllClose(await rt.read(dw), ref.dw.map((v, c) => v + dw0[c]), TOL, `dw N=${N} C=${C}`);
  }
});

test('rmsnorm_backward edge rows (1e18, zeros, tiny) and deterministic dw; dw = null skips it', async () => {
  const rt = await testRuntime();
  const rng = new Rng(11);
  const N = 4, C = 259, eps = 1e-6;
  const x = rng.normal(N * C);
  for (let c = 0; c < C; c++) {
    x[c] *= 1e18; // row 0 huge
    x[C + c] = 0; // row 1 zero
    x[2 * C + c] *= 1e-30; // row 2 tiny
  }
  const w = rng.uniform(C, -1.5, 1.5), dy = rng.normal(N * C);
  const tx = rt.upload(x, [N, C]), tw = rt.upload(w, [C]), tdy = rt.upload(dy, [N, C]);
  const { rstd } = rmsnormForward(rt, tx, tw, eps);
  const ref = rmsnormBackwardRef(x, w, dy, N, C, eps);
  const dws: Float32Array[] = [];
  for (let k = 0; k < 2; k++) {
    const dw = rt.zeros([C]);
    const { dx } = rmsnormBackward(rt, tx, tw, rstd, tdy, dw);
    assertRowsClose(await rt.read(dx), ref.dx, x, w, dy, N, C, eps, 'dx edge rows'); // row 0: |dx| ≈ 1e-18, checked relatively
    dws.push((await rt.read(dw)) as Float32Array);
  }
  assertAllClose(dws[0], ref.dw, TOL, 'dw edge rows');
  assert.deepEqual(dws[0], dws[1], 'dw is bitwise identical across runs');
  const { dx } = rmsnormBackward(rt, tx, tw, rstd, tdy, null);
  assertRowsClose(await rt.read(dx), ref.dx, x, w, dy, N, C, eps, 'dx without dw');
});

test('rmsnorm_backward with a residual: dx = residual + the norm gradient, the same bits as add_scale after it', async () => {
  const rt = await testRuntime();
  const rng = new Rng(12);
  const [N, C, eps] = [5, 300, 1e-5];
  const x = rng.normal(N * C), dy = rng.normal(N * C), res = rng.normal(N * C);
  const tx = rt.upload(x, [N, C]), tw = rt.upload(rng.uniform(C, 0.5, 1.5), [C]), tdy = rt.upload(dy, [N, C]), tres = rt.upload(res, [N, C]);
  const { rstd } = rmsnormForward(rt, tx, tw, eps);
  const plain = (await rt.read(rmsnormBackward(rt, tx, tw, rstd, tdy, null).dx)) as Float32Array;
  const fused = (await rt.read(rmsnormBackward(rt, tx, tw, rstd, tdy, null, { residual: tres }).dx)) as Float32Array;
  const separate = (await rt.read(addScale(rt, tres, 1, rt.upload(plain, [N, C]), 1))) as Float32Array;
  assert.deepEqual(fused, separate, 'residual + norm gradient in one dispatch equals the two dispatches bit for bit');
  assert.ok(fused.some((v, i) => v !== plain[i]), 'the residual was added');
  assert.throws(() => rmsnormBackward(rt, tx, tw, rstd, tdy, null, { residual: rt.zeros([N, C + 1]) }), /residual must be f32 shaped like/);
});

test('rmsnorm: a wrong result cannot pass (NaN in x propagates to its row only)', async () => {
  const rt = await testRuntime();
  const C = 5;
  const x = new Float32Array([1, 2, NaN, 4, 5, 1, 2, 3, 4, 5]);
  const { y } = rmsnormForward(rt, rt.upload(x, [2, C]), rt.upload(new Float32Array(C).fill(1), [C]), 1e-6);
  const gy = await rt.read(y);
  const ref = rmsnormForwardRef(x, new Float64Array(C).fill(1), 2, C, 1e-6);
  assert.ok(gy.subarray(0, C).every(Number.isNaN));
  assertAllClose(gy.subarray(C), ref.y.subarray(C), TOL, 'clean row');
  assert.equal(allClose(gy, ref.y, TOL).ok, false);
});
