// Runtime behaviour: pooling, pipeline cache, batching, typed errors, timing.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { testRuntime, releaseTestRuntime } from '../testing/gpu.ts';
import { nodeGpu } from './node.ts';
import { acquireDevice, GpuError } from './device.ts';
import { bucketSize } from './pool.ts';
import type { Tensor } from './tensor.ts';
import { packUniforms, grid1d } from './kernel.ts';
import { addScale, addScaleSpec } from '../../../shaders/add_scale.ts';
import { f32ToBf16Bits, bf16BitsToF32, f32ToF16Bits, f16BitsToF32 } from './half.ts';
import { DEFAULT_KERNEL_PREFS, parseKernelPrefs } from './kernel-prefs.ts';
import { pickAttentionVersion } from '../../../shaders/attention_forward.ts';
import { matmul as matmulOp } from '../../../shaders/matmul_forward.ts';
import { matmulRef } from '../../../shaders/matmul_forward.ref.ts';
import { Rng } from '../testing/rng.ts';
import { assertAllClose } from '../testing/allclose.ts';

after(releaseTestRuntime);

test('bucketSize: at most 12.5% waste, never smaller than asked, 16-byte minimum', () => {
  for (const n of [1, 15, 16, 17, 100, 1000, 4096, 4097, 123_457, 10_000_000]) {
    const b = bucketSize(n);
    assert.ok(b >= n && b >= 16, `bucket ${b} for ${n}`);
    assert.ok(n < 64 || b <= n * 1.125, `bucket ${b} wastes more than 12.5% of ${n}`);
  }
});

test('a repeated step allocates no GPU buffer after warm-up, and compiles each pipeline once', async () => {
  const rt = await testRuntime();
  const x = rt.upload(new Float32Array(1000).fill(1), [1000]);
  const step = () => {
    // a "step": temporaries made and released, as the model does
    const a = addScale(rt, x, 2, null, 0);
    const b = addScale(rt, a, 1, x, 1);
    a.dispose();
    return b;
  };
  step().dispose();
  await rt.sync();
  const before = rt.pool.snapshot();
  const pipes = rt.pipelineCount;
  for (let i = 0; i < 20; i++) step().dispose();
  await rt.sync();
  const afterStats = rt.pool.snapshot();
  assert.equal(afterStats.created, before.created, 'buffers were created after warm-up');
  assert.equal(afterStats.inUse, before.inUse, 'buffers leaked');
  assert.equal(rt.pipelineCount, pipes, 'pipelines were recompiled');
  const y = step();
  assert.deepEqual([...(await rt.read(y)).slice(0, 3)], [3, 3, 3]);
});

test('long stretches of work are submitted in parts as they are recorded (autoFlushEvery), in order', async () => {
  const rt = await testRuntime();
  const saved = rt.autoFlushEvery;
  try {
    rt.autoFlushEvery = 7;
    const s0 = rt.submitCount;
    let t = rt.upload(new Float32Array([1, 2, 3]), [3]);
    const s1 = rt.submitCount; // the upload flushed what was pending
    for (let i = 0; i < 50; i++) {
      const next = addScale(rt, t, 1, t, 1); // doubles: each reads the previous output
      t.dispose();
      t = next;
    }
    assert.equal(rt.submitCount - s1, Math.floor(50 / 7), 'one submit per 7 dispatches, before any read');
    assert.deepEqual([...(await rt.read(t))], [2 ** 50, 2 ** 51, 3 * 2 ** 50]);
    assert.ok(rt.submitCount > s0);
    rt.autoFlushEvery = 0; // off: nothing is submitted until the read
    const s2 = rt.submitCount;
    for (let i = 0; i < 20; i++) {
      const next = addScale(rt, t, 1, t, 1);
      t.dispose();
      t = next;
    }
    assert.equal(rt.submitCount, s2);
    assert.deepEqual([...(await rt.read(t))], [2 ** 70, 2 ** 71, 3 * 2 ** 70]);
  } finally {
    rt.autoFlushEvery = saved;
  }
});

test('after a read, submits ramp up from autoFlushFirst dispatches, doubling to autoFlushEvery (the GPU restarts early)', async () => {
  const rt = await testRuntime();
  const [every, first] = [rt.autoFlushEvery, rt.autoFlushFirst];
  try {
    rt.autoFlushEvery = 64;
    const chain = async (t: Tensor, n: number): Promise<[Tensor, number]> => {
      await rt.read(t); // the GPU has run dry: the ramp starts over
      const s = rt.submitCount;
      for (let i = 0; i < n; i++) {
        const next = addScale(rt, t, 0.5, t, 0.5); // t again, exactly: a chain of dependent dispatches
        t.dispose();
        t = next;
      }
      return [t, rt.submitCount - s];
    };
    let t = rt.upload(new Float32Array([3, -5]), [2]);
    let submits: number;
    rt.autoFlushFirst = 4;
    [t, submits] = await chain(t, 100);
    assert.equal(submits, 4, 'submits after 4, 12, 28 and 60 dispatches, then every 64: none more within 100');
    [t, submits] = await chain(t, 100);
    assert.equal(submits, 4, 'the ramp starts over after each read');
    rt.autoFlushFirst = 0; // no ramp: every 64 from the start
    [t, submits] = await chain(t, 100);
    assert.equal(submits, 1);
    assert.deepEqual([...(await rt.read(t))], [3, -5]);
  } finally {
    rt.autoFlushEvery = every;
    rt.autoFlushFirst = first;
  }
});

test('many dispatches in one submit keep their order (each reads the previous output)', async () => {
  const rt = await testRuntime();
  let t = rt.upload(new Float32Array([1, 2, 3]), [3]);
  for (let i = 0; i < 200; i++) {
    const next = addScale(rt, t, 1, null, 0);
    const plus = addScale(rt, next, 1, next, 1); // doubles
    next.dispose();
    t.dispose();
    t = addScale(rt, plus, 0.5, null, 0); // halves back
    plus.dispose();
  }
  assert.deepEqual([...(await rt.read(t))], [1, 2, 3]);
});

test('a GPU validation error surfaces as a typed GpuError at the next sync, naming the kernel', async () => {
  const rt = await testRuntime();
  const x = rt.upload(new Float32Array(4), [4]);
  // bind a uniform block far too short for the shader's struct: validation error at bind-group creation
  rt.dispatch(addScaleSpec, { tensors: [x, x, x], uniforms: new ArrayBuffer(4), workgroups: [1] });
  await assert.rejects(rt.sync(), (e: unknown) => e instanceof GpuError && e.kind === 'validation' && /add_scale/.test(e.message));
  await rt.sync(); // reported once, then the runtime is usable again
});

test('adapters that lack a limit the engine needs are refused up front, naming the limit', async () => {
  const gpu = await nodeGpu();
  await assert.rejects(
    acquireDevice(gpu, { need: { maxStorageBufferBindingSize: 2 ** 52 } }),
    (e: unknown) => e instanceof GpuError && e.kind === 'limits' && /maxStorageBufferBindingSize/.test(e.message),
  );
  await assert.rejects(acquireDevice(undefined), (e: unknown) => e instanceof GpuError && e.kind === 'unavailable');
});

test('shape and argument errors are plain messages naming the tensor', async () => {
  const rt = await testRuntime();
  const a = rt.upload(new Float32Array(3), [3], 'f32', 'alpha');
  const b = rt.upload(new Float32Array(4), [4], 'f32', 'beta');
  assert.throws(() => addScale(rt, a, 1, b, 1), /alpha\[3\].*beta\[4\]/);
  assert.throws(() => rt.upload(new Float32Array(5), [2, 2]), /5 values for shape \[2,2\]/);
  b.dispose();
  assert.throws(() => addScale(rt, b, 1, null, 0), /used after dispose/);
  assert.throws(() => packUniforms([['u32', -1]]), /not a u32/);
});

test('grid1d spreads more than 65535 workgroups over y', () => {
  assert.deepEqual(grid1d(10), [10, 1, 1]);
  const [x, y] = grid1d(200_000);
  assert.ok(x <= 65535 && x * y >= 200_000);
});

test('timeGpu measures recorded work (timestamps where the adapter has them), and more work takes longer', async () => {
  const rt = await testRuntime();
  // enough work to be well above timestamp resolution on a fast GPU (the H200 gave 0 ms for 5 tiny adds)
  const n = 1 << 20;
  const x = rt.upload(new Float32Array(n), [n]);
  const out = rt.empty([n]);
  const time = async (reps: number) => (await rt.timeGpu(() => { for (let i = 0; i < reps; i++) addScale(rt, x, 1, x, 1, out); })).ms;
  await time(2); // warm-up: pipeline compiled
  const [few, many] = [await time(4), await time(64)];
  assert.ok(few >= 0 && Number.isFinite(few), `ms=${few}`);
  assert.ok(many > 0 && many > few, `64 dispatches took ${many} ms, 4 took ${few} ms`);
  const t = await rt.timeGpu(() => addScale(rt, x, 1, x, 1, out));
  assert.equal(t.method, rt.ctx.hasTimestamps ? 'timestamp' : 'wallclock');
});

test('half conversions round to nearest even and keep specials', () => {
  assert.equal(bf16BitsToF32(f32ToBf16Bits(1.00390625)), 1); // tie → even
  assert.equal(bf16BitsToF32(f32ToBf16Bits(-2.5)), -2.5);
  assert.ok(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(NaN))));
  assert.equal(f16BitsToF32(f32ToF16Bits(65504)), 65504);
  assert.equal(f16BitsToF32(f32ToF16Bits(70000)), Infinity);
  assert.equal(f16BitsToF32(f32ToF16Bits(2 ** -24)), 2 ** -24); // smallest subnormal
  assert.equal(f16BitsToF32(f32ToF16Bits(1 + 2 ** -11)), 1); // tie → even
  assert.equal(f16BitsToF32(f32ToF16Bits(0.1)), 0.0999755859375);
});

test('slices: kernels, copies, clears and reads act on their own range of the shared buffer only', async () => {
  const rt = await testRuntime();
  const flat = rt.upload(Float32Array.from({ length: 256 }, (_, i) => i), [256]); // [256]
  const a = flat.slice(64, [8], 'a'), b = flat.slice(128, [2, 4], 'b'); // bytes 256.., 512..
  assert.equal(b.byteOffset, 512);
  assert.deepEqual(Array.from(await rt.read(a)), [64, 65, 66, 67, 68, 69, 70, 71]);
  // a kernel reads one slice and writes another tensor: the offsets reach the binding
  const sum = addScale(rt, a, 1, b.view([8]), 10); // [8] = a + 10·b
  assert.deepEqual(Array.from(await rt.read(sum)), [1344, 1355, 1366, 1377, 1388, 1399, 1410, 1421]);
  // ... and writes into a slice, leaving the rest of the buffer alone
  addScale(rt, sum, 1, null, 0, flat.slice(192, [8]));
  rt.clear(b);
  rt.copy(sum, 2, flat.slice(0, [64]), 1, 3); // sum[2..4] → flat[1..3]
  assert.throws(() => rt.copy(a, 0, flat, 0, 1), /same buffer/); // WebGPU copies need two buffers
  const all = (await rt.read(flat)) as Float32Array;
  assert.deepEqual(Array.from(all.subarray(0, 5)), [0, 1366, 1377, 1388, 4]);
  assert.deepEqual(Array.from(all.subarray(128, 137)), [0, 0, 0, 0, 0, 0, 0, 0, 136]);
  assert.deepEqual(Array.from(all.subarray(190, 201)), [190, 191, 1344, 1355, 1366, 1377, 1388, 1399, 1410, 1421, 200]);
  assert.throws(() => flat.slice(1, [4]), /byte offset 4 .* not a multiple of 256/);
  assert.throws(() => flat.slice(192, [65]), /outside/);
});

test('scopes: every tensor made inside is disposed at the end but the returned ones (views keep their parent) and the kept ones; they move out to the enclosing scope', async () => {
  const rt = await testRuntime();
  const x = rt.upload(new Float32Array(64).fill(1), [64]); // made before: untouched
  await rt.sync();
  const inUse = rt.pool.snapshot().inUse;
  let tmp: ReturnType<typeof rt.empty> | null = null;
  let kept: ReturnType<typeof rt.empty> | null = null;
  const out = rt.scope((keep) => {
    tmp = addScale(rt, x, 2, null, 0); // [64] = 2
    kept = keep(addScale(rt, tmp, 1, x, 1)); // [64] = 3
    const moved = addScale(rt, tmp, 1, null, 0).reshape([8, 8]); // the reshape's tensor is the owner
    const y = addScale(rt, moved, 1, x.view([8, 8]), 2); // [8, 8] = 4
    return { y: y.view([64]), list: [moved] };
  });
  assert.equal(tmp!.isDisposed, true, 'a temporary is gone');
  assert.equal(x.isDisposed, false, 'a tensor made before the scope is not touched');
  assert.equal(kept!.isDisposed, false);
  assert.equal(out.y.isDisposed, false, 'a returned view keeps its parent');
  assert.deepEqual([...(await rt.read(out.y)).slice(0, 2)], [4, 4]);
  assert.deepEqual([...(await rt.read(kept!)).slice(0, 2)], [3, 3]);
  assert.deepEqual([...(await rt.read(out.list[0])).slice(0, 2)], [2, 2]);
  for (const t of [out.y.root(), out.list[0], kept!]) t.dispose();
  await rt.sync();
  assert.equal(rt.pool.snapshot().inUse, inUse, 'nothing leaked');

  // nested: what the inner scope returns belongs to the outer one, which disposes it unless returned
  let inner: ReturnType<typeof rt.empty> | null = null;
  const outer = rt.scope(() => {
    inner = rt.scope(() => addScale(rt, x, 5, null, 0));
    assert.equal(inner.isDisposed, false);
    return addScale(rt, inner, 1, null, 0);
  });
  assert.equal(inner!.isDisposed, true, 'the outer scope disposed what the inner one handed out');
  assert.deepEqual([...(await rt.read(outer)).slice(0, 1)], [5]);
  outer.dispose();

  // escape(t, depth): out of the scopes opened since depth, into the one innermost at depth (which frees it);
  // persistent: made in no scope
  let escaped: ReturnType<typeof rt.empty> | null = null;
  let cache: ReturnType<typeof rt.empty> | null = null;
  rt.scope(() => {
    const depth = rt.scopeDepth;
    rt.scope(() => rt.scope(() => {
      escaped = rt.escape(addScale(rt, x, 1, null, 0), depth);
      cache = rt.persistent(() => addScale(rt, x, 1, null, 0));
    }));
    assert.equal(escaped!.isDisposed, false, 'escaped out of the two inner scopes');
  });
  assert.equal(escaped!.isDisposed, true, 'freed by the scope innermost at its depth');
  assert.equal(cache!.isDisposed, false, 'a persistent tensor belongs to no scope');
  cache!.dispose();

  // a throw disposes what was made; async scopes work over awaits
  let made: ReturnType<typeof rt.empty> | null = null;
  assert.throws(() => rt.scope(() => {
    made = rt.empty([4]);
    throw new Error('boom');
  }), /boom/);
  assert.equal(made!.isDisposed, true);
  const v = await rt.scopeAsync(async () => {
    const a = addScale(rt, x, 3, null, 0);
    const host = (await rt.read(a)) as Float32Array;
    return { host: host[0], t: addScale(rt, a, 1, null, 0) };
  });
  assert.equal(v.host, 3);
  assert.deepEqual([...(await rt.read(v.t)).slice(0, 1)], [3]);
  v.t.dispose();
  assert.throws(() => rt.scope(() => Promise.resolve(1) as unknown as number), /use scopeAsync/);
  x.dispose();
  await rt.sync();
  assert.equal(rt.pool.snapshot().inUse, inUse - 1, 'nothing leaked (x freed too)');
});

test('kernel prefs: parsed from "attention=rows,matmul=vec4", unknown names and values refused by name', () => {
  assert.deepEqual(parseKernelPrefs('attention=rows, matmul=vec4'), { attention: 'rows', matmul: 'vec4' });
  assert.deepEqual(parseKernelPrefs(''), {});
  assert.throws(() => parseKernelPrefs('softmax=fast'), /unknown kernel 'softmax'/);
  assert.throws(() => parseKernelPrefs('matmul=cublas'), /matmul must be tiled or vec4, got 'cublas'/);
});

test('kernel prefs steer the pickers: attention rows where D and T allow, matmul vec4 for aligned f32 in auto', async () => {
  const rt = await testRuntime();
  const saved = { ...rt.kernelPrefs };
  try {
    rt.kernelPrefs = { ...DEFAULT_KERNEL_PREFS, attention: 'rows' };
    assert.equal(pickAttentionVersion(rt, 256, 64), 3);
    assert.equal(pickAttentionVersion(rt, 1, 64), 2);   // decode: rows would idle 63 of 64 threads
    assert.equal(pickAttentionVersion(rt, 256, 100), 2); // D not a multiple of 4
    rt.kernelPrefs = { ...DEFAULT_KERNEL_PREFS };
    assert.equal(pickAttentionVersion(rt, 256, 64), DEFAULT_KERNEL_PREFS.attention === 'rows' ? 3 : 2);
    // matmul auto under each pref gives the same product (tiled, and split-K with either first pass)
    const rng = new Rng(5);
    for (const [M, N, K] of [[40, 36, 24], [20, 8, 600]]) {
      const a = rng.uniform(M * K), b = rng.uniform(N * K);
      const ref = matmulRef(a, b, M, N, K, { transB: true });
      for (const matmul of ['tiled', 'vec4'] as const) {
        rt.kernelPrefs = { ...DEFAULT_KERNEL_PREFS, matmul };
        const got = await rt.read(matmulOp(rt, rt.upload(a, [M, K]), rt.upload(b, [N, K]), { transB: true, specialize: false }));
        assertAllClose(got, ref, { atol: 1e-4, rtol: 1e-4 }, `auto ${M}x${N}x${K} with matmul=${matmul}`);
      }
    }
  } finally {
    rt.kernelPrefs = saved;
  }
});
