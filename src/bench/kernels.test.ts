// bench -- kernels --vec4-variants: other WGSL sources of the vec4 matmul are registered as matmul versions and run
// through matmul's own dispatch path (MatmulOptions.vec4Spec), so a variant measured on the GPU machine is the kernel
// that would replace the file.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testRuntime, releaseTestRuntime } from '../engine/testing/gpu.ts';
import { matmul, matmulVec4Spec } from '../../shaders/matmul_forward.ts';
import { addVec4Variants, benchCase, MATMUL_VARIANTS } from './kernels.ts';
import { matmulRef } from '../../shaders/matmul_forward.ref.ts';
import { assertAllClose } from '../engine/testing/allclose.ts';

after(releaseTestRuntime);

const vec4Source = readFileSync('shaders/matmul_forward_vec4.wgsl', 'utf8');
const EPILOGUE = 'var x = u.alpha * v[j];';

test('matmul runs the vec4 source a benchmark hands it (vec4Spec), with the same bindings and constants', async () => {
  assert.ok(vec4Source.includes(EPILOGUE), 'the vec4 epilogue line this test edits');
  const rt = await testRuntime();
  // a variant that doubles its outputs: C = 2·A·B shows the variant's code ran, not the file's
  const doubled = { ...matmulVec4Spec, name: 'matmul_forward_vec4~doubled', code: vec4Source.replace(EPILOGUE, 'var x = 2.0 * u.alpha * v[j];') };
  const a = rt.upload(Float32Array.from({ length: 8 * 12 }, (_, i) => (i % 7) - 3), [8, 12]); // [M, K]
  const b = rt.upload(Float32Array.from({ length: 12 * 4 }, (_, i) => (i % 5) - 2), [12, 4]); // [K, N]
  const plain = (await rt.read(matmul(rt, a, b, { version: 'vec4', tile: 64, bk: 8 }))) as Float32Array;
  const viaVariant = (await rt.read(matmul(rt, a, b, { version: 'vec4', tile: 64, bk: 8, vec4Spec: doubled }))) as Float32Array;
  assert.ok(plain.some((x) => x !== 0));
  assert.deepEqual([...viaVariant], [...plain].map((x) => 2 * x));
});

test('--vec4-variants: each entry becomes a matmul version benchCase times; a bad entry names what it lacks', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vec4-variants-'));
  const file = join(dir, 'same.wgsl');
  writeFileSync(file, vec4Source);
  addVec4Variants([{ name: 'test-same', file, bk: 8, tile: 64 }]);
  const rt = await testRuntime();
  const rows = await benchCase(rt, { name: 'matmul 64^3', op: 'matmul', M: 64, N: 64, K: 64 }, { repeats: 1, targetMs: 0, versions: ['test-same'] });
  assert.equal(rows.length, 1);
  assert.equal(rows[0].version, 'test-same');
  assert.ok(rows[0].ms > 0);
  assert.throws(() => addVec4Variants([{ name: 'no-file' } as never]), /each entry needs a name and a file/);
  assert.throws(() => addVec4Variants([{ name: 'missing', file: join(dir, 'nope.wgsl') }]), /nope\.wgsl/);
});

test('the kk-loop variants (vec4-rolled, vec4-kk2-all, vec4-kk8-all) run their own loops and compute the product', async () => {
  const LOOP = 'for (var kk = 0u; kk < BK; kk++) {';
  const count = (code: string, s: string) => code.split(s).length - 1;
  const spec = (v: string) => MATMUL_VARIANTS[v].vec4Spec!;
  assert.equal(count(spec('vec4-rolled').code, LOOP), 2);
  assert.equal(count(spec('vec4-kk2-all').code, LOOP), 0);
  assert.equal(count(spec('vec4-kk2-all').code, 'kq < BK / 2u; kq++'), 2);
  assert.equal(count(spec('vec4-kk8-all').code, 'kq < BK / 8u; kq++'), 2);
  const rt = await testRuntime();
  const [M, N, K] = [68, 132, 40];
  const A = Float32Array.from({ length: M * K }, (_, i) => Math.sin(i * 0.37));
  const B = Float32Array.from({ length: K * N }, (_, i) => Math.cos(i * 0.11));
  const want = matmulRef(A, B, M, N, K);
  for (const v of ['vec4-rolled', 'vec4-kk2-all', 'vec4-kk8-all']) {
    for (const tile of [64, 128] as const) {
      const got = (await rt.read(matmul(rt, rt.upload(A, [M, K]), rt.upload(B, [K, N]), { ...MATMUL_VARIANTS[v], tile }))) as Float32Array;
      assertAllClose(got, want, { atol: 1e-4, rtol: 0 }, `${v} at tile ${tile}`);
    }
  }
});

test('vec4-columns times the column split where planColumnSplit gives one, and nothing elsewhere', async () => {
  const rt = await testRuntime();
  const split = await benchCase(rt, { name: 'one wave and a tile', op: 'matmul', M: 128, N: 265 * 128, K: 4, transB: true }, { repeats: 1, targetMs: 0, versions: ['vec4-columns'] });
  assert.deepEqual(split.map((r) => r.version), ['vec4-columns']);
  assert.ok(split[0].ms > 0);
  const none = await benchCase(rt, { name: 'matmul 64^3', op: 'matmul', M: 64, N: 64, K: 64 }, { repeats: 1, targetMs: 0, versions: ['vec4-columns'] });
  assert.equal(none.length, 0);
});
