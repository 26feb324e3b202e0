// matmul version 'vec4' (matmul_forward_vec4.wgsl) against matmulRef (float64), tolerance tolFor (rtol
// 1e-4 plus the K-scaled atol of matmul_forward.check.ts). Its pipelines read the trans flags from
// uniforms (specialize: false): one compile per tile and K step covers every case; the specialised
// pipeline (the default) gets one case of its own. Dims are multiples of 4 (what the kernel needs)
// but not of the tiles or of BK, so every edge is exercised: rows/columns past M/N (clamped loads),
// K tails (zeroed vec4s) and split-K ranges that end inside a step.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { KK_COPIES, matmul, matmulVec4Spec, pickVec4Tile, planColumnSplit, vec4Spec, vec4Applies, vec4Bk, vec4Prefetch, vec4WorkgroupBytes, writeOutKk, type MatmulOptions } from './matmul_forward.ts';
import { matmulRef } from './matmul_forward.ref.ts';
import { check, tolFor } from './matmul_forward.check.ts';
import { assertAllClose } from '../src/engine/testing/allclose.ts';
import { testRuntime, releaseTestRuntime, logDispatches } from '../src/engine/testing/gpu.ts';
import { Rng } from '../src/engine/testing/rng.ts';
import { usingKernelPrefs } from '../src/engine/gpu/kernel-prefs.ts';

after(releaseTestRuntime);

// each tile with its default register prefetch (on at 64, off at 128) and once with the other
const RUNS: [string, MatmulOptions][] = [
  ['vec4/64/bk8', { version: 'vec4', tile: 64, bk: 8, specialize: false }],
  ['vec4/128/bk16', { version: 'vec4', tile: 128, bk: 16, specialize: false }],
  ['vec4/64/bk16/no-prefetch', { version: 'vec4', tile: 64, bk: 16, prefetch: false, specialize: false }],
  ['vec4/128/bk8/prefetch', { version: 'vec4', tile: 128, bk: 8, prefetch: true, specialize: false }],
];
const TRANS = [[false, false], [false, true], [true, false], [true, true]] as const;
const DIMS = [4, 8, 20, 36, 68, 132];

test('matmul vec4: all trans combinations, M/N/K from {4, 8, 20, 36, 68, 132}, two tiles, K steps, with and without prefetch', async () => {
  const rng = new Rng(21);
  for (const [name, run] of RUNS) {
    for (const [transA, transB] of TRANS) {
      const shapes = [[4, 4, 4], [132, 20, 68], [8, 132, 36]];
      shapes.push([0, 0, 0].map(() => DIMS[rng.int(0, DIMS.length)]));
      for (const [M, N, K] of shapes) await check(rng, { M, N, K, transA, transB }, run, name);
    }
  }
});

test('matmul vec4: rectangular tiles (128 x 64, 64 x 128), all trans combinations, edges past both tiles', async () => {
  const rng = new Rng(26);
  for (const [tile, tileN] of [[128, 64], [64, 128]] as const) {
    for (const [transA, transB] of TRANS) {
      // M, N past one tile and short of two in each dim; K a tail past BK
      for (const [M, N, K] of [[132, 68, 20], [68, 132, 36]]) {
        await check(rng, { M, N, K, transA, transB, alpha: 0.5 }, { version: 'vec4', tile, tileN, specialize: false }, `vec4/${tile}x${tileN}`);
      }
    }
  }
  const rt = await testRuntime();
  const a = rt.upload(new Float32Array(64), [8, 8]), b = rt.upload(new Float32Array(64), [8, 8]);
  for (const version of ['tiled', 'splitk', 'naive'] as const) {
    assert.throws(() => matmul(rt, a, b, { version, tileN: 64 }), /tileN \(a rectangular tile\) is for version vec4 only/);
  }
});

test('matmul vec4: batch with and without broadcast B, bias, alpha, accumulate', async () => {
  const rng = new Rng(22);
  for (const [name, run] of RUNS) {
    await check(rng, { M: 20, N: 36, K: 68, batch: 3 }, run, name);
    await check(rng, { M: 36, N: 20, K: 20, batch: 3, broadcastB: true, transB: true, bias: true }, run, name);
    await check(rng, { M: 68, N: 4, K: 36, batch: 2, transA: true, alpha: -0.5, accumulate: true }, run, name);
  }
});

test('matmul vec4: split-K over it (ranges of 8 that end inside a 16-deep step), and the specialised pipeline', async () => {
  const rng = new Rng(23);
  for (const [name, run] of RUNS) {
    const split: MatmulOptions = { ...run, version: 'splitk', splitInner: 'vec4', splits: 3 };
    await check(rng, { M: 40, N: 12, K: 100, transB: true, bias: true }, split, `${name}/splitk`); // ranges 40 + 40 + 20
    await check(rng, { M: 12, N: 40, K: 36, transA: true, alpha: 2, accumulate: true }, { ...split, splits: 4 }, `${name}/splitk`);
  }
  await check(rng, { M: 136, N: 68, K: 44, transB: true, bias: true }, { version: 'vec4', tile: 128 }, 'vec4/spec128');
});

test('matmul vec4: grouped launch order (groupM) covers every tile once: tile rows not a multiple of the group, batch, split-K, both tiles', async () => {
  const rng = new Rng(27);
  // 64 × 64 tiles: 5 tile rows (292 rows), 4 tile columns (196); groups of 2 (2, 2, 1 rows), 3 (3, 2) and 8 (more than there are)
  for (const groupM of [2, 3, 8]) {
    const run: MatmulOptions = { version: 'vec4', tile: 64, groupM, specialize: false };
    await check(rng, { M: 292, N: 196, K: 36, transB: true, bias: true }, run, `vec4/64/g${groupM}`);
    await check(rng, { M: 292, N: 196, K: 20, batch: 2, transA: true, alpha: -0.5, accumulate: true }, run, `vec4/64/g${groupM}/batch`);
  }
  await check(rng, { M: 260, N: 132, K: 100, transB: true }, { version: 'splitk', splitInner: 'vec4', tile: 64, splits: 3, groupM: 2, specialize: false }, 'vec4/splitk/g2');
  await check(rng, { M: 388, N: 136, K: 28 }, { version: 'vec4', tile: 128, groupM: 2 }, 'vec4/128/g2'); // 4 tile rows, 2 columns
  const rt = await testRuntime();
  const a = rt.upload(new Float32Array(64), [8, 8]);
  for (const groupM of [-1, 1.5, 65]) assert.throws(() => matmul(rt, a, a, { version: 'vec4', groupM }), /groupM must be an integer from 0 to 64/);
});

test('matmul vec4: a column split (two column blocks, the second in 64 x 64 tiles, out and B at row stride N) gives the product', async () => {
  const rng = new Rng(27);
  // n1 = 128: the first block one 128-tile column, the second a ragged 76 (or 128 + 72) columns; rows past a tile
  for (const [transA, transB] of TRANS) {
    await check(rng, { M: 140, N: 204, K: 36, transA, transB, bias: true, alpha: 0.5 }, { version: 'vec4', columnSplit: { n1: 128, waves: 1, tailTile: [64, 64] }, specialize: false }, 'vec4/columns');
  }
  await check(rng, { M: 68, N: 328, K: 20, transB: true, accumulate: true }, { version: 'vec4', columnSplit: { n1: 256, waves: 1, tailTile: [64, 64] }, specialize: false }, 'vec4/columns/accumulate');
  await check(rng, { M: 36, N: 200, K: 44, bias: true }, { version: 'vec4', columnSplit: { n1: 128, waves: 1, tailTile: [128, 64] } }, 'vec4/columns/128x64');
  // by the preference: a grid of 265 tiles (one whole wave and one tile) splits at 264 columns of tiles
  const rt = await testRuntime();
  assert.deepEqual(planColumnSplit(128, 265 * 128 - 4), { n1: 264 * 128, waves: 1, tailTile: [64, 64] });
  assert.equal(planColumnSplit(2048, 2048), null, '256 tiles: less than one whole wave');
  assert.equal(planColumnSplit(1024, 151936 * 4), null, 'the waves are ≥ 0.95 full');
  // the steps' and prefills' shapes (264 slots): Qwen2.5's gate|up forward (608 tiles) keeps 66 tile columns, 2 waves,
  // its 128-row unembedding chunk (1 187) 1 056 columns, 4 waves; SmolLM2's 512-row chunks (1 536 tiles, fill 0.97) none
  assert.equal(planColumnSplit(1024, 9728)?.n1, 66 * 128);
  assert.equal(planColumnSplit(128, 151936)?.n1, 1056 * 128);
  assert.equal(planColumnSplit(4096, 9728)?.n1, 74 * 128); // a 16 × 256 prefill's gate|up: 9 waves and 64 tiles
  assert.equal(planColumnSplit(512, 49152), null);
  assert.equal(planColumnSplit(1024, 896), null); // 56 tiles: split-K's
  const log = logDispatches(rt);
  try {
    await usingKernelPrefs(rt, { tail: 'columns' }, () => check(rng, { M: 128, N: 265 * 128 - 4, K: 8, transB: true, bias: true }, { version: 'vec4' }, 'vec4/columns/pref'));
  } finally {
    log.restore();
  }
  const grids = log.grids.filter((_, i) => log.names[i] === 'matmul_forward_vec4');
  assert.deepEqual(grids, [[264, 1, 1], [2, 2, 1]], 'the first block in whole waves of 128 x 128 tiles, the rest in 64 x 64');
  const x = rt.upload(new Float32Array(4 * 8), [4, 8]), w = rt.upload(new Float32Array(8 * 300), [8, 300]); // [4, 300] out
  for (const n1 of [100, 300, 0]) {
    assert.throws(() => matmul(rt, x, w, { version: 'vec4', columnSplit: { n1, waves: 1, tailTile: [64, 64] } }), new RegExp(`n1 must be a positive multiple of 128 below N = 300, got ${n1}`));
  }
  assert.throws(() => matmul(rt, x, w, { version: 'vec4', tile: 64, columnSplit: { n1: 128, waves: 1, tailTile: [64, 64] } }), /a column split needs batch 1 and no tile/);
});

test('matmul vec4: Inf in A[0,0] or B[0,0] stays in its row / column (edge loads past M / N, zeroed K tails)', async () => {
  const rt = await testRuntime();
  const rng = new Rng(24);
  const [M, N, K] = [20, 12, 12]; // none a multiple of the tile or of BK 16
  for (const [name, run] of RUNS) {
    for (const which of ['a', 'b'] as const) {
      const a = rng.uniform(M * K), b = rng.uniform(K * N);
      (which === 'a' ? a : b)[0] = Infinity;
      const got = await rt.read(matmul(rt, rt.upload(a, [M, K]), rt.upload(b, [K, N]), run));
      const ref = matmulRef(a, b, M, N, K);
      for (let i = 0; i < M * N; i++) {
        const hit = which === 'a' ? i < N : i % N === 0;
        if (hit) assert.ok(!Number.isFinite(got[i]), `${name}/${which}: C[${i}] = ${got[i]} should be non-finite`);
        else assert.ok(Math.abs(got[i] - ref[i]) <= 1e-4 * (1 + Math.abs(ref[i])), `${name}/${which}: C[${i}] = ${got[i]}, want ${ref[i]}`);
      }
    }
  }
});

test('matmul vec4: where it applies, K step by workgroup memory, clear errors elsewhere', async () => {
  assert.equal(vec4Applies(2048, 576, 576, { transB: true }), true);
  assert.equal(vec4Applies(2048, 192, 576), true);
  assert.equal(vec4Applies(2048, 576, 577, { transB: true }), false); // K not a multiple of 4
  assert.equal(vec4Applies(6, 8, 8, { transA: true }), false);        // transA: M is contiguous
  assert.equal(vec4Applies(8, 8, 8, { dtype: 'bf16' }), false);
  assert.equal(vec4Applies(8, 8, 0), false);
  assert.equal(vec4WorkgroupBytes(128, 16), 16896);
  assert.equal(vec4WorkgroupBytes(128, 16, 64), 12800); // 16 k-rows of (32 + 1) + (16 + 1) vec4
  assert.equal(vec4Bk(16384, 128), 8);  // the WebGPU default limit: BK 16 does not fit at tile 128
  assert.equal(vec4Bk(16384, 64), 16);
  assert.equal(vec4Bk(49152, 128), 16);
  // 128x128 where its workgroups fill waves of 264, 128x64 where they fill most of one, else 64x64
  assert.deepEqual(pickVec4Tile(2048, 2048, 1), [128, 128]); // 256 tiles: one wave 97% full
  assert.deepEqual(pickVec4Tile(4096, 896, 1), [128, 128]);  // 224: 85% (a 16 × 256 prefill's o_proj)
  assert.deepEqual(pickVec4Tile(2048, 1536, 1), [128, 64]);  // 192: 73%
  assert.deepEqual(pickVec4Tile(1024, 4864, 1), [64, 64]);   // 304: two waves 58% full
  assert.deepEqual(pickVec4Tile(2048, 576, 1), [64, 64]);    // 80: 30%
  assert.deepEqual(pickVec4Tile(2048, 49152, 1), [128, 128]);
  // register prefetch everywhere but at 128x128
  assert.equal(vec4Prefetch(128), false);
  assert.equal(vec4Prefetch(128, 64), true);
  assert.equal(vec4Prefetch(64, 128), true);
  assert.equal(vec4Prefetch(64), true);
  const rt = await testRuntime();
  const a = rt.upload(new Float32Array(18), [3, 6]), b = rt.upload(new Float32Array(12), [6, 2]);
  assert.throws(() => matmul(rt, a, b, { version: 'vec4' }), /vec4: needs f32 b and the contiguous dims/);
  assert.throws(() => matmul(rt, a, b, { version: 'splitk', splitInner: 'vec4' }), /splitInner vec4 needs/);
  const a4 = rt.upload(new Float32Array(32), [4, 8]), b4 = rt.upload(new Float32Array(32), [8, 4]);
  assert.throws(() => matmul(rt, a4, b4, { version: 'vec4', bk: 12 as 8 }), /bk must be 8 or 16/);
});

test("matmul 'auto': a short K or a narrow N (LoRA's products, r = 16) runs vec4 when the runtime prefers it, naive when not", async () => {
  const rt = await testRuntime();
  const rng = new Rng(25);
  const prefs = rt.kernelPrefs;
  const log = logDispatches(rt);
  const ran = log.names;
  try {
    for (const matmulPref of ['vec4', 'tiled'] as const) {
      rt.kernelPrefs = { ...prefs, matmul: matmulPref };
      ran.length = 0;
      // [40, 36] += [40, 16] · [16, 36]: K = 16 is below the tiled kernels' minimum, M and N are not
      await check(rng, { M: 40, N: 36, K: 16, accumulate: true, alpha: 0.5 }, {}, `auto/${matmulPref}`);
      const want = matmulPref === 'vec4' ? 'matmul_forward_vec4' : 'matmul_forward_naive';
      assert.deepEqual(ran, [want], `prefs ${matmulPref}`);
      ran.length = 0;
      await check(rng, { M: 40, N: 8, K: 36, transA: true }, {}, `auto/${matmulPref}/narrow`); // N = r: LoRA's dxa
      assert.deepEqual(ran, [want]);
    }
  } finally {
    log.restore();
    rt.kernelPrefs = prefs;
  }
});

test('matmul vec4: a low-rank term as more K steps (P like A, Q like B: x·Wᵀ + s·xa·Bᵀ and dy·W + dxa·A); orElse where it cannot', async () => {
  const rt = await testRuntime();
  await usingKernelPrefs(rt, { lowrank: 'all' }, async () => { // the fold is opt-in (KernelPrefs.lowrank)
    const rng = new Rng(27);
    // K not a multiple of the step (the term's steps start at K rounded up), k of one and of two 8-deep steps, a window of p
    const cases = [
      { M: 36, N: 20, K: 36, k: 16, transB: true, pStride: 20, pOffset: 4, bias: true },
      { M: 68, N: 132, K: 20, k: 12, transB: false, pStride: 12, pOffset: 0, bias: false },
      { M: 20, N: 68, K: 8, k: 4, transB: true, pStride: 8, pOffset: 4, bias: false },
    ];
    for (const [name, run] of RUNS) {
      for (const c of cases) {
        const { M, N, K, k } = c;
        const a = rng.uniform(M * K, -1, 1), b = rng.uniform(N * K, -1, 1), p = rng.uniform(M * c.pStride, -1, 1), q = rng.uniform(N * k, -1, 1);
        const bias = c.bias ? rng.uniform(N, -1, 1) : undefined, prev = rng.uniform(M * N, -1, 1);
        const out = rt.upload(prev, [M, N]);
        const log = logDispatches(rt);
        matmul(rt, rt.upload(a, [M, K]), rt.upload(b, c.transB ? [N, K] : [K, N]), {
          ...run, transB: c.transB, bias: bias && rt.upload(bias, [N]), out, accumulate: true,
          lowRank: { p: rt.upload(p, [M, c.pStride]), pOffset: c.pOffset, q: rt.upload(q, c.transB ? [N, k] : [k, N]), transQ: !c.transB, k, alpha: 0.5, orElse: () => assert.fail(`${name}: the term is folded`) },
        });
        log.restore();
        assert.deepEqual(log.names, ['matmul_forward_vec4'], `${name}: one dispatch`);
        const ref = matmulRef(a, b, M, N, K, { transB: c.transB, bias, accumulateInto: prev, lowRank: { p, pStride: c.pStride, pOffset: c.pOffset, q, transQ: !c.transB, k, alpha: 0.5 } });
        assertAllClose(await rt.read(out), ref, tolFor(K + k, 1, 3), `${name} ${JSON.stringify(c)}`);
      }
    }
    // what the kernel does not take runs the term's orElse after the product: alpha ≠ 1, k not a multiple of 4, Q the other way
    const [M, N, K, k] = [20, 20, 8, 4];
    const [ta, tb] = [rt.upload(rng.uniform(M * K, -1, 1), [M, K]), rt.upload(rng.uniform(N * K, -1, 1), [N, K])];
    for (const [why, o, term] of [
      ['alpha 2', { alpha: 2 }, {}],
      ['k 3', {}, { k: 3, p: rt.upload(new Float32Array(M * 3), [M, 3]), q: rt.upload(new Float32Array(N * 3), [N, 3]) }],
      ['Q as [k, N] under x·Wᵀ', {}, { transQ: true, q: rt.upload(new Float32Array(N * k), [k, N]) }],
    ] as const) {
      let ran = 0;
      matmul(rt, ta, tb, { ...RUNS[0][1], transB: true, ...o, lowRank: { p: rt.upload(new Float32Array(M * k), [M, k]), q: rt.upload(new Float32Array(N * k), [N, k]), k, alpha: 1, orElse: () => void ran++, ...term } });
      assert.equal(ran, 1, `${why}: orElse ran`);
    }
  });
});

test('matmul vec4: the register-prefetch path runs its kk loop written out KK_COPIES times a turn, the other path the whole K step a turn', () => {
  const file = readFileSync('shaders/matmul_forward_vec4.wgsl', 'utf8');
  const LOOP = 'for (var kk = 0u; kk < BK; kk++) {';
  const BODY_END = 'acc[15] += a1.w * b1;';
  const count = (code: string, x: string) => code.split(x).length - 1;
  assert.equal(count(file, LOOP), 2, 'the file has the two paths\' loops');
  for (const bk of [16, 8] as const) {
    const code = vec4Spec(128, 128, false, bk).code;
    assert.equal(count(code, LOOP), 0, `bk ${bk}: no loop left rolled`);
    // each loop's counter steps by 1 to a constant (no kk += n: Tint would bound that loop with a counter of its own)
    assert.ok(!/kk \+= /.test(code), `bk ${bk}: no kk += n`);
    assert.equal(count(code, `for (var kq = 0u; kq < BK / ${KK_COPIES}u; kq++) {`), bk === KK_COPIES ? 2 : 1, `bk ${bk}: the prefetch path`);
    if (bk !== KK_COPIES) assert.equal(count(code, `for (var kq = 0u; kq < BK / ${bk}u; kq++) {`), 1, `bk ${bk}: the other path, one turn a step`);
    for (let i = 0; i < bk; i++) assert.ok(code.includes(`As[kk + ${i}u][ty]`) && code.includes(`Bs[kk + ${i}u][TX + tx]`), `bk ${bk}: copy ${i}`);
    assert.ok(!code.includes(`As[kk + ${bk}u]`));
    assert.equal(count(code, BODY_END), KK_COPIES + bk, `bk ${bk}: every copy keeps the whole body`);
  }
  assert.equal(matmulVec4Spec.code, vec4Spec(128, 128, false, 16).code.replace(/AS_ROW = \d+u;\nconst BS_ROW = \d+u;/, 'AS_ROW = 33u;\nconst BS_ROW = 33u;'), 'matmulVec4Spec is the K step of 16');
  // a small source: copies in blocks of their own, the rest untouched, and a source without the loop refused
  const toy = `fn f() {\n  ${LOOP}\n    s += x[kk];\n  }\n  tail();\n}\n`;
  assert.equal(writeOutKk(toy, 2), 'fn f() {\n  for (var kq = 0u; kq < BK / 2u; kq++) {\n    let kk = kq * 2u;\n    {\n      s += x[kk + 0u];\n    }\n    {\n      s += x[kk + 1u];\n    }\n  }\n  tail();\n}\n');
  assert.throws(() => writeOutKk('fn f() {}', 8), /lost its 'for \(var kk = 0u; kk < BK; kk\+\+\) \{' line/);
});
