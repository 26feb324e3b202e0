import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { matmul, matmulFlops, pickMatmulTile, pickMatmulVersion, planGemv, planSplitK, splitKCost, SPLITK_MODEL_GAIN, type MatmulOptions } from './matmul_forward.ts';
import { matmulRef } from './matmul_forward.ref.ts';
import { check, tolFor } from './matmul_forward.check.ts';
import { testRuntime, releaseTestRuntime, logDispatches } from '../src/engine/testing/gpu.ts';
import { allClose, assertAllClose } from '../src/engine/testing/allclose.ts';
import { Rng } from '../src/engine/testing/rng.ts';
import { usingKernelPrefs } from '../src/engine/gpu/kernel-prefs.ts';

after(releaseTestRuntime);

// The kernels under test. Tiled runs use the pipeline that reads trans flags and B dtype from
// uniforms (specialize: false): one compile per tile covers every case (lavapipe compiles a tiled
// pipeline in seconds); the specialised pipelines (the default) are checked in their own test.
const VERSIONS: [string, MatmulOptions][] = [
  ['naive', { version: 'naive' }],
  ['tiled64', { version: 'tiled', tile: 64, specialize: false }],
  ['tiled128', { version: 'tiled', tile: 128, specialize: false }],
];
// Split-K, forced (it handles every case): the uniform-reading tiled pipelines above plus the reduce
// pass (one more compile), 3 ranges where K allows (ranges are multiples of 8, so K = 1..8 gives
// one). gemv has its own file (matmul_forward_gemv.test.ts): its pipelines compile in a second each.
const SPLITK: [string, MatmulOptions][] = [
  ['splitk64', { version: 'splitk', tile: 64, specialize: false, splits: 3 }],
  ['splitk128', { version: 'splitk', tile: 128, specialize: false, splits: 3 }],
];
const ALL = [...VERSIONS, ...SPLITK];
const TRANS = [[false, false], [false, true], [true, false], [true, true]] as const;
const DIMS = [1, 3, 17, 33, 65, 100];

test('matmul: all trans combinations, M/N/K from {1,3,17,33,65,100}, naive / tiled / splitk', async () => {
  const rng = new Rng(1);
  for (const [name, run] of ALL) {
    for (const [transA, transB] of TRANS) {
      // fixed corners (1x1x1, a long-K skinny and a wide case) plus two random mixes per combo
      const shapes = [[1, 1, 1], [3, 100, 65], [100, 17, 3]];
      for (let i = 0; i < 2; i++) shapes.push([0, 0, 0].map(() => DIMS[rng.int(0, DIMS.length)]));
      for (const [M, N, K] of shapes) await check(rng, { M, N, K, transA, transB }, run, name);
    }
  }
});

test('matmul tiled128: several tiles in M and N (150 x 140), K tail of 5', async () => {
  const rng = new Rng(2);
  for (const [transA, transB] of TRANS) await check(rng, { M: 150, N: 140, K: 21, transA, transB }, VERSIONS[2][1], 'tiled128');
});

test('matmul: batch with and without broadcast B, bias, alpha, accumulate', async () => {
  const rng = new Rng(3);
  for (const [name, run] of ALL) {
    await check(rng, { M: 17, N: 33, K: 65, batch: 3 }, run, name);
    await check(rng, { M: 33, N: 17, K: 20, batch: 3, broadcastB: true, transB: true, bias: true }, run, name);
    await check(rng, { M: 65, N: 3, K: 33, batch: 2, transA: true, alpha: -0.5, accumulate: true }, run, name);
    await check(rng, { M: 5, N: 70, K: 9, batch: 2, broadcastB: true, bias: true, alpha: 3, accumulate: true }, run, name);
    await check(rng, { M: 17, N: 33, K: 40, batch: 2, bias: true, addend: true }, run, name); // out = result + addend
  }
});

test('matmul: half-precision B (f16, bf16), odd batch offsets, all trans combinations', async () => {
  const rng = new Rng(4);
  for (const [name, run] of [...VERSIONS.slice(0, 2), SPLITK[0]]) {
    for (const dtype of ['f16', 'bf16'] as const) {
      for (const [transA, transB] of TRANS) {
        // K·N = 33·17 is odd: B[1] starts in the high half of a word
        await check(rng, { M: 17, N: 33, K: 17, transA, transB, dtype, batch: 2 }, run, `${name}/${dtype}`);
        await check(rng, { M: 65, N: 3, K: 100, transA, transB, dtype, batch: 2, broadcastB: true, bias: true }, run, `${name}/${dtype}`);
      }
    }
  }
  await check(rng, { M: 100, N: 65, K: 33, transB: true, dtype: 'bf16', bias: true }, VERSIONS[2][1], 'tiled128/bf16');
});

test('matmul tiled: pipelines specialised on trans flags and B dtype (the default)', async () => {
  const rng = new Rng(5);
  // Two compiles (seconds each on lavapipe): the specialised kernel is the same code with constants
  // folded, so these check the host's flag → constant mapping: nn.Linear (x Wᵀ, f32) on the big
  // tile, and the mirror flags (transA, not transB) with f16 weights.
  await check(rng, { M: 130, N: 67, K: 45, transB: true, bias: true }, { version: 'tiled', tile: 128 }, 'spec128');
  await check(rng, { M: 33, N: 65, K: 17, transA: true, dtype: 'f16', accumulate: true, batch: 2 }, { version: 'tiled', tile: 64 }, 'spec64/f16');
});

test('matmul: long K row (K = 2001, M = 3, N = 5)', async () => {
  const rng = new Rng(6);
  for (const [name, run] of [...VERSIONS.slice(0, 2), SPLITK[0]]) {
    await check(rng, { M: 3, N: 5, K: 2001 }, run, name);
    await check(rng, { M: 3, N: 5, K: 2001, transA: true, transB: true }, run, name);
  }
});

test('matmul: huge-magnitude inputs (|x| up to 1e17, products 1e34) keep relative accuracy', async () => {
  const rng = new Rng(7);
  for (const [name, run] of [...VERSIONS.slice(0, 2), SPLITK[0]]) {
    await check(rng, { M: 17, N: 33, K: 65, mag: 1e17, transB: true }, run, name);
    // 1e-17 scale as well: products ~1e-34 stay normal, though the smallest of them may be subnormal
    // and flushed on some GPUs (tolFor allows K·2^-126 for that)
    await check(rng, { M: 33, N: 17, K: 20, mag: 1e-17 }, run, name);
  }
});

test('matmul: out without accumulate is overwritten (NaN garbage gone); NaN in A propagates and fails', async () => {
  const rt = await testRuntime();
  const rng = new Rng(8);
  const [M, N, K] = [19, 21, 23];
  for (const [name, run] of [...VERSIONS.slice(0, 2), SPLITK[0]]) {
    const a = rng.uniform(M * K), b = rng.uniform(K * N);
    const out = rt.upload(new Float32Array(M * N).fill(NaN), [M, N]);
    const got = await rt.read(matmul(rt, rt.upload(a, [M, K]), rt.upload(b, [K, N]), { ...run, out }));
    assertAllClose(got, matmulRef(a, b, M, N, K), tolFor(K, 1), `${name} out`);
    a[5 * K + 3] = NaN; // row 5 of C must be NaN, and the comparison must say so
    const bad = await rt.read(matmul(rt, rt.upload(a, [M, K]), rt.upload(b, [K, N]), run));
    assert.ok(Number.isNaN(bad[5 * N + 7]), `${name}: NaN did not propagate`);
    const r = allClose(bad, matmulRef(a.map((v) => (Number.isNaN(v) ? 0 : v)), b, M, N, K), tolFor(K, 1));
    assert.equal(r.ok, false);
    assert.equal(r.mismatches, N);
  }
});

test('matmul: Inf in A[0,0] or B[0,0] stays in its row / column (edge loads must zero what they skip)', async () => {
  // The tiled kernel's out-of-range loads read element 0 and replace it by 0; if either operand
  // kept it, Inf·0 = NaN would spread over every output whose K tail or edge touched it.
  const rt = await testRuntime();
  const rng = new Rng(10);
  const [M, N, K] = [21, 19, 13]; // none a multiple of 8 or of the tiles
  // splitk: 2 ranges (8 + 5): a range's edge loads must zero what lies past its end as well
  for (const [name, run] of [...VERSIONS, ['splitk', { ...SPLITK[0][1], splits: 2 }] as [string, MatmulOptions]]) {
    for (const which of ['a', 'b'] as const) {
      const a = rng.uniform(M * K), b = rng.uniform(K * N);
      (which === 'a' ? a : b)[0] = Infinity;
      const got = await rt.read(matmul(rt, rt.upload(a, [M, K]), rt.upload(b, [K, N]), run));
      const ref = matmulRef(a, b, M, N, K); // ±Inf (or NaN) exactly in row 0 / column 0
      for (let i = 0; i < M * N; i++) {
        const hit = which === 'a' ? i < N : i % N === 0;
        if (hit) assert.ok(!Number.isFinite(got[i]), `${name}/${which}: C[${i}] = ${got[i]} should be non-finite`);
        else assert.ok(Math.abs(got[i] - ref[i]) <= 1e-4 * (1 + Math.abs(ref[i])), `${name}/${which}: C[${i}] = ${got[i]}, want ${ref[i]}`);
      }
    }
  }
});

test('matmul: version auto, pickers, flops, guards', async () => {
  const rt = await testRuntime();
  assert.equal(pickMatmulVersion(16, 49152, 576), 'gemv'); // decode at batch 16 (lm_head)
  assert.equal(pickMatmulVersion(31, 512, 512), 'splitk'); // small M, few tiles: not naive
  assert.equal(pickMatmulVersion(64, 31, 512), 'naive'); // N below the tiled minimum
  assert.equal(pickMatmulVersion(32, 32, 32), 'tiled');
  assert.equal(pickMatmulTile(2048, 2048, 1), 128); // 256 workgroups of 128x128
  assert.equal(pickMatmulTile(2048, 576, 1), 64);   // 80 would leave most of an H100 idle
  assert.equal(matmulFlops(2, 3, 4, 5), 240);
  await check(new Rng(9), { M: 9, N: 7, K: 31, bias: true }, {}, 'auto'); // resolves to gemv (M <= 16)
  await check(new Rng(9), { M: 40, N: 7, K: 31, bias: true }, {}, 'auto'); // resolves to naive (N < 32)
  const a = rt.upload(new Float32Array(6), [2, 3]), b = rt.upload(new Float32Array(6), [3, 2]);
  assert.throws(() => matmul(rt, a, rt.upload(new Float32Array(8), [4, 2])), /inner dims/);
  assert.throws(() => matmul(rt, a, b, { accumulate: true }), /accumulate needs/);
  assert.throws(() => matmul(rt, a, b, { bias: rt.upload(new Float32Array(3), [3]) }), /bias/);
  assert.throws(() => matmul(rt, a, rt.upload(new Float32Array(12), [2, 3, 2])), /batch dims/);
  assert.throws(() => matmul(rt, a, b, { out: rt.upload(new Float32Array(6), [2, 3]) }), /out must be/);
  const sq = rt.upload(new Float32Array(4), [2, 2]);
  assert.throws(() => matmul(rt, sq, sq.view([2, 2]), { out: sq }), /share a buffer/);
  // K = 0: C = bias (empty sum), and empty outputs dispatch nothing
  const z = await rt.read(matmul(rt, rt.upload(new Float32Array(0), [2, 0]), rt.upload(new Float32Array(0), [0, 3]), { bias: rt.upload(new Float32Array([1, 2, 3]), [3]) }));
  assert.deepEqual(Array.from(z), [1, 2, 3, 1, 2, 3]);
});

test('matmul splitk: K not a multiple of the ranges, forced and planned splits, one range', async () => {
  const rng = new Rng(13);
  for (const [name, run] of SPLITK) {
    await check(rng, { M: 40, N: 9, K: 100, transB: true, bias: true }, run, name); // ranges 40 + 40 + 20
    await check(rng, { M: 9, N: 40, K: 37, transA: true, alpha: 2, accumulate: true }, { ...run, splits: 4 }, name); // 16 + 16 + 5
  }
  // the plan's own choice (K = 600: 4 ranges of 152, the last 144), and S = 1 (partial = whole sum)
  const plan = planSplitK(40, 40, 600);
  assert.deepEqual([plan.splits, plan.chunk], [4, 152]);
  await check(rng, { M: 40, N: 40, K: 600, bias: true }, { version: 'splitk', tile: plan.tile, specialize: false }, 'splitk/plan');
  await check(rng, { M: 20, N: 20, K: 40, accumulate: true }, { version: 'splitk', tile: 64, specialize: false, splits: 1 }, 'splitk/1');
});

test('matmul: auto thresholds (gemv for M <= 8, splitk for few tiles and long K) and split-K plans', async () => {
  // shapes of the H200 bench (tools/bench/kernel_cases.json)
  assert.equal(pickMatmulVersion(1, 4864, 896), 'gemv');       // qwen decode gate_proj
  assert.equal(pickMatmulVersion(8, 576, 576), 'gemv');
  assert.equal(pickMatmulVersion(1024, 896, 4864), 'splitk');  // qwen down_proj: 56 tiles of 128
  assert.equal(pickMatmulVersion(1024, 128, 896), 'splitk');   // qwen k_proj: 8 tiles
  assert.equal(pickMatmulVersion(2048, 2048, 2048), 'tiled');  // 256 tiles fill the GPU
  assert.equal(pickMatmulVersion(2048, 49152, 576), 'tiled');
  assert.deepEqual(planSplitK(1024, 896, 4864), { tile: 128, splits: 4, chunk: 1216 }); // 224 workgroups of 256
  // the cost model moves S only where it expects >= 3 % (Qwen2.5's gate|up dx: fill 0.85 → 0.95, measured −6 %);
  // at K 4 864 the longer partial round trip cancels the better fill (measured: the same time), so 4 stays
  assert.deepEqual(planSplitK(1024, 896, 9728), { tile: 128, splits: 9, chunk: 1088 });
  assert.ok(splitKCost(56, 9, 4864) > SPLITK_MODEL_GAIN * splitKCost(56, 4, 4864));
  assert.deepEqual(planSplitK(1024, 896, 896), { tile: 128, splits: 4, chunk: 224 });
  assert.deepEqual(planSplitK(1024, 896, 9728, 1, { splits: 4 }), { tile: 128, splits: 4, chunk: 2432 }); // forced S is kept
  assert.deepEqual(planSplitK(1024, 128, 896), { tile: 64, splits: 7, chunk: 128 });    // 224 workgroups of 64
  assert.deepEqual(planSplitK(3, 5, 17, 1, { splits: 2 }), { tile: 64, splits: 2, chunk: 16 });
  assert.equal(planGemv(1, 4864, 896, 1, { transB: true }).lanes, 256); // 224 vec4 per row of W
  assert.equal(planGemv(1, 576, 576, 1, { transB: true }).lanes, 64);   // 144 vec4: 64 lanes, 2-3 steps
  assert.equal(planGemv(8, 896, 4864, 1, { transB: true }).cols, 1);    // 256 lanes x 8 rows fill the buffer
  const rt = await testRuntime();
  const a = rt.upload(new Float32Array(6), [2, 3]), b = rt.upload(new Float32Array(6), [3, 2]);
  assert.throws(() => matmul(rt, a, b, { version: 'splitk', splits: 0 }), /splits/);
  assert.throws(() => matmul(rt, a, b, { version: 'gemv', gemvLanes: 32 as 64 }), /gemvLanes/);
  assert.throws(() => matmul(rt, a, b, { version: 'fast' as 'naive' }), /unknown version/);
});

test('matmul splitk: a low-rank term folded into the reduce (LoRA B as [N, k], A as [k, N], q|k|v blocks); orElse elsewhere', async () => {
  const rt = await testRuntime();
  await usingKernelPrefs(rt, { lowrank: 'reduce' }, async () => { // the fold is opt-in (KernelPrefs.lowrank)
    const rng = new Rng(14);
    const [M, K] = [37, 50];
    // the reduce runs four columns an invocation (matmul_forward_splitk4) where N, the blocks' starts and (for B [N, k])
    // k are multiples of 4, else one (matmul_forward_splitk): both, each way round
    const cases: { name: string; N: number; k: number; transQ: boolean; starts?: number[]; pOffset: number; pStride: number; v4: boolean }[] = [
      { name: 'B [N, k]', N: 40, k: 3, transQ: false, pOffset: 0, pStride: 3, v4: false },
      { name: 'B [N, k], k 4', N: 40, k: 4, transQ: false, pOffset: 0, pStride: 4, v4: true },
      { name: 'A [k, N], a window of p', N: 40, k: 3, transQ: true, pOffset: 2, pStride: 7, v4: true },
      { name: 'A [k, N], N 38', N: 38, k: 4, transQ: true, pOffset: 1, pStride: 6, v4: false },
      { name: 'three column blocks', N: 40, k: 3, transQ: false, starts: [0, 16, 28], pOffset: 1, pStride: 10, v4: false },
      { name: 'three column blocks, k 8', N: 40, k: 8, transQ: false, starts: [0, 16, 28], pOffset: 1, pStride: 25, v4: true },
      { name: 'three column blocks of A', N: 40, k: 2, transQ: true, starts: [0, 12, 32], pOffset: 0, pStride: 6, v4: true },
    ];
    for (const c of cases) {
      const { N, k } = c;
      const a = rng.uniform(M * K, -1, 1), b = rng.uniform(N * K, -1, 1), bias = rng.uniform(N, -1, 1), prev = rng.uniform(M * N, -1, 1);
      const p = rng.uniform(M * c.pStride, -1, 1), q = rng.uniform(N * k, -1, 1);
      let called = 0;
      const out = rt.upload(prev, [M, N]);
      const lowRank = { p: rt.upload(p, [M, c.pStride]), pOffset: c.pOffset, q: rt.upload(q, c.transQ ? [k, N] : [N, k]), transQ: c.transQ, k, alpha: 0.75, starts: c.starts, orElse: () => void called++ };
      const log = logDispatches(rt);
      try {
        matmul(rt, rt.upload(a, [M, K]), rt.upload(b, [N, K]), { transB: true, version: 'splitk', tile: 64, specialize: false, splits: 3, bias: rt.upload(bias, [N]), accumulate: true, out, lowRank });
      } finally {
        log.restore();
      }
      assert.equal(log.names.at(-1), c.v4 ? 'matmul_forward_splitk4' : 'matmul_forward_splitk', `${c.name}: the reduce`);
      const ref = matmulRef(a, b, M, N, K, { transB: true, bias, accumulateInto: prev, lowRank: { ...lowRank, p, q, pStride: c.pStride } });
      assertAllClose(await rt.read(out), ref, tolFor(K, 1, 4), `splitk + low-rank term, ${c.name}`);
      assert.equal(called, 0, `${c.name}: folded, so orElse never ran`);
    }
    const [N, k] = [40, 3];
    // no split-K reduce (tiled), or a term that only runs after the product: the product alone, then orElse(out) once
    const a = rng.uniform(M * K, -1, 1), b = rng.uniform(K * N, -1, 1);
    for (const run of [{ version: 'tiled', tile: 64, specialize: false }, { version: 'splitk', tile: 64, specialize: false, splits: 2 }] as MatmulOptions[]) {
      const seen: unknown[] = [];
      const orElse = (o: unknown) => void seen.push(o);
      const term = run.version === 'tiled' ? { p: rt.upload(new Float32Array(M * k), [M, k]), q: rt.upload(new Float32Array(N * k), [N, k]), k, alpha: 1, orElse } : { orElse };
      const o = matmul(rt, rt.upload(a, [M, K]), rt.upload(b, [K, N]), { ...run, lowRank: term });
      assert.deepEqual(seen, [o], `${run.version}: orElse got the result`);
      assertAllClose(await rt.read(o), matmulRef(a, b, M, N, K), tolFor(K, 1), `${run.version} without the term`);
    }
    // an addend beside the term (a residual kept as it was): folded into the same reduce
    {
      const a = rng.uniform(M * K, -1, 1), b = rng.uniform(K * N, -1, 1), add = rng.uniform(M * N, -1, 1), p = rng.uniform(M * k, -1, 1), q = rng.uniform(N * k, -1, 1);
      const out = rt.empty([M, N]);
      matmul(rt, rt.upload(a, [M, K]), rt.upload(b, [K, N]), { version: 'splitk', tile: 64, specialize: false, splits: 2, out, addend: rt.upload(add, [M, N]), lowRank: { p: rt.upload(p, [M, k]), q: rt.upload(q, [N, k]), k, alpha: -2, orElse: () => assert.fail('folded') } });
      assertAllClose(await rt.read(out), matmulRef(a, b, M, N, K, { accumulateInto: add, lowRank: { p, q, pStride: k, k, alpha: -2 } }), tolFor(K, 1, 3), 'splitk + addend + low-rank term');
      assert.throws(() => matmul(rt, rt.upload(a, [M, K]), rt.upload(b, [K, N]), { out, accumulate: true, addend: rt.upload(add, [M, N]) }), /addend needs `out` and no accumulate/);
      assert.throws(() => matmul(rt, rt.upload(a, [M, K]), rt.upload(b, [K, N]), { out, addend: out }), /addend must not share/);
    }
    // bad terms name what is wrong
    const [ta, tb] = [rt.upload(a, [M, K]), rt.upload(b, [K, N])];
    const bad = (t: object, re: RegExp) => assert.throws(() => matmul(rt, ta, tb, { version: 'splitk', splits: 2, lowRank: { p: rt.upload(new Float32Array(M * k), [M, k]), q: rt.upload(new Float32Array(N * k), [N, k]), k, alpha: 1, orElse: () => {}, ...t } }), re);
    bad({ p: rt.upload(new Float32Array(k * 2), [2, k]) }, /p must be f32 \[37, stride\]/);
    bad({ q: rt.upload(new Float32Array(N * k), [k, N]) }, /q must be f32 \[40,3\]/);
    bad({ starts: [0, 50] }, /block starts 0, 50/);
    bad({ pOffset: 1 }, /p's columns 1..4/);
  });
});
