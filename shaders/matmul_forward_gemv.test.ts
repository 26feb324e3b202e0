// matmul version 'gemv' (matmul_forward_gemv.wgsl) against matmulRef. Its own file: each gemv
// pipeline (entry point x rows x lanes) takes a second or two to compile on lavapipe, so the tests
// below share five: GEMV's three entry points (8 rows, 64 lanes: M = 1..8 and row blocks), the
// decode default for long rows (1 row, 256 lanes) and 4 rows x 256 lanes (2 columns per workgroup).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { matmul, planGemv, type MatmulOptions } from './matmul_forward.ts';
import { matmulRef } from './matmul_forward.ref.ts';
import { check, tolFor } from './matmul_forward.check.ts';
import { testRuntime, releaseTestRuntime } from '../src/engine/testing/gpu.ts';
import { assertAllClose } from '../src/engine/testing/allclose.ts';
import { Rng } from '../src/engine/testing/rng.ts';

after(releaseTestRuntime);

// Tolerance: tolFor (matmul_forward.check.ts): rtol 1e-4 + atol 1e-5·sqrt(K)·|alpha|·max|a|·max|b|
// (+1e-6 of bias / previous C). gemv sums in a different order from the reference (lane strides,
// then a tree over lanes), which fp32 rounding allows well inside that bound.
const GEMV: MatmulOptions = { version: 'gemv', gemvRows: 8, gemvLanes: 64 };
const DECODE: MatmulOptions = { version: 'gemv', gemvRows: 1, gemvLanes: 256 };  // 4 columns per workgroup
const WIDE4: MatmulOptions = { version: 'gemv', gemvRows: 4, gemvLanes: 256 };   // 2 columns per workgroup
const TRANS = [[false, false], [false, true], [true, false], [true, true]] as const;

test('gemv: all trans combinations; M 1..8 and row blocks; vec4 path when x·Wᵀ and K % 4 == 0', async () => {
  const rng = new Rng(21);
  for (const [transA, transB] of TRANS) {
    // [M, N, K]: corners, K % 4 == 0 (vec4 with transB), M > 8 (two row blocks), N not a multiple of 4
    for (const [M, N, K] of [[1, 1, 1], [3, 100, 65], [8, 17, 3], [11, 9, 20], [5, 33, 100]]) {
      await check(rng, { M, N, K, transA, transB }, GEMV, 'gemv');
    }
  }
});

test('gemv: M = 1, 2, 5, 8, 11 with x·Wᵀ (vec4) and odd K (element path), bias/alpha/accumulate, batch', async () => {
  const rng = new Rng(22);
  for (const M of [1, 2, 5, 8, 11]) {
    await check(rng, { M, N: 13, K: 36, transB: true, bias: M % 2 === 1, alpha: M === 5 ? -2 : 1 }, GEMV, 'gemv');
    await check(rng, { M, N: 9, K: 37, transB: true, accumulate: M === 2, bias: M === 8 }, GEMV, 'gemv');
  }
  // batched A with one W for all entries (broadcast) and with one W per entry (b_stride = N·K)
  await check(rng, { M: 3, N: 10, K: 20, batch: 2, transB: true, broadcastB: true, bias: true }, GEMV, 'gemv');
  await check(rng, { M: 2, N: 7, K: 12, batch: 3, transB: true, alpha: -0.5, accumulate: true }, GEMV, 'gemv');
  await check(rng, { M: 4, N: 6, K: 9, batch: 2, transA: true, bias: true }, GEMV, 'gemv');
});

test('gemv: f16 / bf16 W on the 4-halves path (K % 4 == 0), with odd K (odd half offsets), and W [K, N]', async () => {
  const rng = new Rng(23);
  for (const dtype of ['f16', 'bf16'] as const) {
    await check(rng, { M: 5, N: 11, K: 24, transB: true, dtype, batch: 2, bias: true }, GEMV, `gemv/${dtype}`);
    await check(rng, { M: 1, N: 6, K: 8, transB: true, dtype, broadcastB: true, batch: 3 }, GEMV, `gemv/${dtype}`);
    await check(rng, { M: 3, N: 7, K: 17, transB: true, dtype, batch: 2, accumulate: true }, GEMV, `gemv/${dtype}`);
    await check(rng, { M: 2, N: 9, K: 13, dtype, batch: 2, alpha: 3 }, GEMV, `gemv/${dtype}`);
  }
});

test('gemv: 256 lanes (1 row x 4 columns, 4 rows x 2 columns), long rows, more than 65535 column groups', async () => {
  const rng = new Rng(24);
  // K = 1000: 250 vec4 per row, one per lane and 6 lanes idle; K = 36: most lanes idle
  await check(rng, { M: 1, N: 70, K: 1000, transB: true, bias: true }, DECODE, 'gemv/decode');
  await check(rng, { M: 1, N: 5, K: 36, transB: true, batch: 2, accumulate: true }, DECODE, 'gemv/decode');
  await check(rng, { M: 5, N: 19, K: 30, transB: true, bias: true }, WIDE4, 'gemv/wide4');  // 2 row blocks
  await check(rng, { M: 3, N: 7, K: 700, transA: true, alpha: 0.25 }, WIDE4, 'gemv/wide4');
  // 2 columns per workgroup: 65537 column groups wrap onto a second grid row (grid1d)
  await check(rng, { M: 1, N: 2 * 65535 + 3, K: 1, transB: true }, WIDE4, 'gemv/grid1d');
  // 'auto' on M <= 8 takes the default plan: here the same two pipelines as above
  assert.deepEqual([planGemv(1, 70, 800, 1, { transB: true }).rows, planGemv(1, 70, 800, 1, { transB: true }).lanes], [1, 256]);
  await check(rng, { M: 1, N: 70, K: 800, transB: true }, {}, 'auto');
  assert.deepEqual([planGemv(6, 7, 12, 1).rows, planGemv(6, 7, 12, 1).lanes], [8, 64]);
  await check(rng, { M: 6, N: 7, K: 12, bias: true }, {}, 'auto');
});

test('gemv: long K (2001 element path, 2000 vec4), huge and tiny magnitudes', async () => {
  const rng = new Rng(25);
  await check(rng, { M: 3, N: 5, K: 2001 }, GEMV, 'gemv');
  await check(rng, { M: 3, N: 5, K: 2000, transB: true }, GEMV, 'gemv');
  await check(rng, { M: 7, N: 33, K: 64, mag: 1e17, transB: true }, GEMV, 'gemv');  // products 1e34
  await check(rng, { M: 8, N: 17, K: 20, mag: 1e-17 }, GEMV, 'gemv');               // products 1e-34
});

test('gemv: NaN in A stays in its row, Inf in W in its column (clamped edge rows/columns never leak), out overwritten', async () => {
  const rt = await testRuntime();
  const rng = new Rng(26);
  const [M, N, K] = [7, 21, 24]; // 7 of 8 rows and 21 = 5·4 + 1 columns: the last group clamps 3
  for (const transB of [true, false]) {
    const a = rng.uniform(M * K), w = rng.uniform(N * K); // w: [N, K] with transB, else [K, N]
    a[5 * K + 3] = NaN;  // row 5 of C
    w[0] = Infinity;     // W[0, 0]: column 0 of C
    const garbage = rt.upload(new Float32Array(M * N).fill(NaN), [M, N]);
    const got = await rt.read(matmul(rt, rt.upload(a, [M, K]), rt.upload(w, transB ? [N, K] : [K, N]), { ...GEMV, transB, out: garbage }));
    const ref = matmulRef(a, w, M, N, K, { transB });
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        const g = got[m * N + n];
        if (m === 5 || n === 0) assert.ok(!Number.isFinite(g), `transB ${transB}: C[${m},${n}] = ${g} should be non-finite`);
        else assert.ok(Math.abs(g - ref[m * N + n]) <= 1e-4 * (1 + Math.abs(ref[m * N + n])), `transB ${transB}: C[${m},${n}] = ${g}, want ${ref[m * N + n]}`);
      }
    }
  }
  // and a finite run into the same kind of NaN-filled `out` matches the reference everywhere
  const a = rng.uniform(M * K), w = rng.uniform(N * K);
  const out = rt.upload(new Float32Array(M * N).fill(NaN), [M, N]);
  const got = await rt.read(matmul(rt, rt.upload(a, [M, K]), rt.upload(w, [N, K]), { ...GEMV, transB: true, out }));
  assertAllClose(got, matmulRef(a, w, M, N, K, { transB: true }), tolFor(K, 1), 'gemv out');
});
