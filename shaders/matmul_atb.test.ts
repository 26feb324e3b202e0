// matmul_atb against its float64 reference: LoRA's dB and dA shapes, column windows of A and B, ragged row and
// column tiles, K not a multiple of the lanes, alpha, accumulate; one dispatch; and its errors.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { matmulAtB, atbApplies, atbJob, runAtb } from './matmul_atb.ts';
import { matmulAtBRef } from './matmul_atb.ref.ts';
import { testRuntime, releaseTestRuntime, logDispatches } from '../src/engine/testing/gpu.ts';
import { Rng } from '../src/engine/testing/rng.ts';
import { assertAllClose } from '../src/engine/testing/allclose.ts';

after(releaseTestRuntime);

test('matmul_atb: C = alpha · A[:, window]ᵀ · B[:, window] (+ C) against the float64 reference', async () => {
  const rt = await testRuntime();
  const rng = new Rng(41);
  for (const c of [
    { K: 64, lda: 96, ldb: 16, alpha: 2 }, // dB = s·dyᵀ·xa: M = out, n = r
    { K: 70, lda: 16, ldb: 300, accumulate: true }, // dA += dxaᵀ·x: M = r, n = in (a ragged column tile), K % 64 ≠ 0
    { K: 200, lda: 8, ldb: 40 }, // K past two lane rounds, an odd last round
    { K: 33, lda: 128, aOff: 32, aW: 64, ldb: 16, accumulate: true }, // dy a window of a fused q|k|v gradient
    { K: 17, lda: 12, ldb: 24, bOff: 8, bW: 16, alpha: -0.5 }, // M = 12: a half row tile; B a window
    { K: 1, lda: 4, ldb: 4 }, // one row, M = n = 4
  ]) {
    const aw = { ld: c.lda, offset: c.aOff ?? 0, width: c.aW ?? c.lda };
    const bw = { ld: c.ldb, offset: c.bOff ?? 0, width: c.bW ?? c.ldb };
    const [M, n] = [aw.width, bw.width];
    const name = `K${c.K} A[${c.lda}]${c.aOff !== undefined ? `@${c.aOff}+${M}` : ''} B[${c.ldb}]${c.bOff !== undefined ? `@${c.bOff}+${n}` : ''}${c.accumulate ? ' accumulate' : ''}`;
    const [a, b, c0] = [rng.uniform(c.K * c.lda), rng.uniform(c.K * c.ldb), rng.uniform(M * n)];
    const at = rt.upload(a, [c.K, c.lda]);
    const bt = rt.upload(b, [c.K, c.ldb]);
    const out = c.accumulate ? rt.upload(c0, [M, n]) : undefined;
    const log = logDispatches(rt);
    const got = matmulAtB(rt, at, bt, { alpha: c.alpha, aCols: c.aOff !== undefined ? aw : undefined, bCols: c.bOff !== undefined ? bw : undefined, out, accumulate: c.accumulate });
    log.restore();
    assert.deepEqual(log.names, ['matmul_atb'], `${name}: one dispatch`);
    assert.deepEqual(got.shape, [M, n], name);
    const ref = matmulAtBRef(a, b, c.K, aw, bw, { alpha: c.alpha, accumulateInto: c.accumulate ? c0 : undefined });
    assertAllClose((await rt.read(got)) as Float32Array, ref, { rtol: 1e-5, atol: 1e-5 * Math.sqrt(c.K) }, name);
    for (const x of [at, bt, got]) x.dispose();
  }
});

test('matmul_atb: row blocks reading their own columns of B (the dB of q, k, v from dqkv in one dispatch)', async () => {
  const rt = await testRuntime();
  const rng = new Rng(42);
  const [K, W, r, blocks] = [75, 48, 4, [0, 32, 40]]; // q 32 rows, k and v 8
  const a = rng.uniform(K * W), b = rng.uniform(K * 3 * r), o0 = rng.uniform(W * r);
  const want = matmulAtBRef(a, b, K, { ld: W, offset: 0, width: W }, { ld: 3 * r, offset: 0, width: r }, { alpha: 2, accumulateInto: o0, blocks });
  const got = matmulAtB(rt, rt.upload(a, [K, W]), rt.upload(b, [K, 3 * r]), { alpha: 2, bCols: { offset: 0, width: r }, blocks, out: rt.upload(o0, [W, r]), accumulate: true });
  assertAllClose((await rt.read(got)) as Float32Array, want, { rtol: 1e-5, atol: 1e-5 * Math.sqrt(K) }, 'row blocks');
  const [x, y] = [rt.zeros([8, 16]), rt.zeros([8, 8])];
  assert.throws(() => matmulAtB(rt, x, y, { bCols: { offset: 0, width: 4 }, blocks: [0, 6] }), /multiples of 4/);
  assert.throws(() => matmulAtB(rt, x, y, { bCols: { offset: 0, width: 4 }, blocks: [0, 4, 8] }), /do not fit/);
});

test('matmul_atb: two jobs in one dispatch (a LoRA adapter\'s dB and dA), each against the float64 reference', async () => {
  const rt = await testRuntime();
  const rng = new Rng(43);
  // job 0: dB += s·dy[:, window]ᵀ·xa (blocks of q|k|v), job 1: dA += dxaᵀ·x; their grids differ in both directions
  for (const [K, W, r, din, blocks, shared] of [[75, 48, 4, 40, [0, 32, 40], true], [130, 16, 8, 100, [0], false], [9, 8, 4, 4, [0], true]] as const) {
    const name = `K${K} W${W} r${r} in${din} blocks ${blocks.join('/')}${shared ? ', outputs in one buffer' : ''}`;
    const nb = blocks.length;
    const dy = rng.uniform(K * (W + 4)), xa = rng.uniform(K * nb * r), dxa = rng.uniform(K * nb * r), x = rng.uniform(K * din);
    const dB0 = rng.uniform(W * r), dA0 = rng.uniform(nb * r * din);
    const wantB = matmulAtBRef(dy, xa, K, { ld: W + 4, offset: 4, width: W }, { ld: nb * r, offset: 0, width: r }, { alpha: 2, accumulateInto: dB0, blocks });
    const wantA = matmulAtBRef(dxa, x, K, { ld: nb * r, offset: 0, width: nb * r }, { ld: din, offset: 0, width: din }, { accumulateInto: dA0 });
    // the outputs as two tensors, or as two views of one buffer (the optimizer's gradient chunk), a gap between them
    const at = 64 * Math.ceil((dA0.length + 1) / 64); // dB's start: views start at multiples of 256 bytes
    const chunk = shared ? rt.upload(Float32Array.from([...dA0, ...new Float32Array(at - dA0.length), ...dB0]), [at + dB0.length]) : null;
    const dA = chunk ? chunk.slice(0, [nb * r, din]) : rt.upload(dA0, [nb * r, din]);
    const dB = chunk ? chunk.slice(at, [W, r]) : rt.upload(dB0, [W, r]);
    const [dyT, xaT, dxaT, xT] = [rt.upload(dy, [K, W + 4]), rt.upload(xa, [K, nb * r]), rt.upload(dxa, [K, nb * r]), rt.upload(x, [K, din])];
    const log = logDispatches(rt);
    runAtb(rt, [
      atbJob(rt, dyT, xaT, { alpha: 2, aCols: { offset: 4, width: W }, bCols: { offset: 0, width: r }, blocks, out: dB, accumulate: true }),
      atbJob(rt, dxaT, xT, { out: dA, accumulate: true }),
    ]);
    log.restore();
    assert.deepEqual(log.names, ['matmul_atb2'], `${name}: one dispatch`);
    assertAllClose((await rt.read(dB)) as Float32Array, wantB, { rtol: 1e-5, atol: 1e-5 * Math.sqrt(K) }, `${name}: dB`);
    assertAllClose((await rt.read(dA)) as Float32Array, wantA, { rtol: 1e-5, atol: 1e-5 * Math.sqrt(K) }, `${name}: dA`);
    if (chunk) assert.ok(((await rt.read(chunk)) as Float32Array).subarray(dA0.length, at).every((v) => v === 0), `${name}: nothing between the outputs written`);
    for (const t of [dyT, xaT, dxaT, xT, ...(chunk ? [chunk] : [dA, dB])]) t.dispose();
  }
  // errors: a job reading the other's output; overlapping outputs; three jobs
  const [p, q, o1] = [rt.zeros([8, 8]), rt.zeros([8, 8]), rt.zeros([8, 8])];
  const o2 = rt.zeros([8, 8]);
  const j = atbJob(rt, p, q, { out: o1 });
  assert.throws(() => runAtb(rt, [j, atbJob(rt, o1, q, { out: o2 })]), /shares a buffer with the other's operands/);
  assert.throws(() => runAtb(rt, [j, atbJob(rt, q, p, { out: o1 })]), /overlap/);
  assert.throws(() => runAtb(rt, [j, j, j]), /one or two jobs/);
  for (const t of [p, q, o1, o2]) t.dispose();
});

test('matmul_atb: where it applies, and clear errors', async () => {
  assert.equal(atbApplies(896, 16, 1024), true);
  assert.equal(atbApplies(16, 896, 1024), true);
  assert.equal(atbApplies(6, 16, 1024), false); // M not a multiple of 4
  assert.equal(atbApplies(16, 6, 1024), false); // n not a multiple of 4
  const rt = await testRuntime();
  const a = rt.zeros([8, 12]), b = rt.zeros([8, 4]), b2 = rt.zeros([7, 4]);
  assert.throws(() => matmulAtB(rt, a, b, { aCols: { offset: 2, width: 8 } }), /multiples of 4/);
  assert.throws(() => matmulAtB(rt, a, b, { aCols: { offset: 8, width: 8 } }), /do not fit/);
  assert.throws(() => matmulAtB(rt, a, b2), /matmul_atb b/);
  assert.throws(() => matmulAtB(rt, a, b, { accumulate: true }), /accumulate needs out/);
  for (const x of [a, b, b2]) x.dispose();
});
