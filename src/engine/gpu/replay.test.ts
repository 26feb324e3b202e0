// Runtime.replayable (./replay.ts) on small work: a log is replayed instead of the function when its inputs
// and buffers allow it, rebuilds the function's result, and is made again (or not at all) when they do not.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { testRuntime, releaseTestRuntime } from '../testing/gpu.ts';
import { ReplayStore } from './replay.ts';
import { addScale } from '../../../shaders/add_scale.ts';
import type { Runtime } from './runtime.ts';
import type { Tensor } from './tensor.ts';

after(releaseTestRuntime);

const N = 64;
const data = (k: number) => Float32Array.from({ length: N }, (_, i) => i * k);

/** y = 2·x + 1·x, z = y + 3·x, a scratch tensor freed inside; returns z, a view of z's first half and x's view */
function work(rt: Runtime, x: Tensor, calls: { n: number }) {
  calls.n++;
  const y = addScale(rt, x, 2, x, 1); // [N]
  const z = addScale(rt, y, 1, x, 3); // [N]
  y.dispose();
  return { z, half: z.slice(0, [N / 2], 'z.half'), xs: x.view([N / 8, 8]), n: 7 };
}

test('replayed: the same values, fresh tensors over the same buffers, the function not run again', async () => {
  const rt = await testRuntime();
  const store = new ReplayStore();
  const calls = { n: 0 };
  const x = rt.upload(data(1), [N]);
  const results = [];
  for (let i = 0; i < 3; i++) {
    const r = rt.replayable(store, 'k', [x], () => work(rt, x, calls));
    results.push({ z: await rt.read(r.z), half: await rt.read(r.half), xs: r.xs, n: r.n, buffer: r.z.buffer, obj: r.z });
    r.z.dispose();
  }
  assert.equal(calls.n, 1, 'run once, replayed twice');
  assert.deepEqual({ replays: store.replays, captures: store.captures }, { replays: 2, captures: 1 });
  const want = data(6);
  for (const r of results) {
    assert.deepEqual(r.z, want);
    assert.deepEqual(r.half, want.subarray(0, N / 2));
    assert.deepEqual(r.xs.shape, [N / 8, 8]);
    assert.equal(r.xs.buffer, x.buffer, "a view of the input is a view of the caller's input");
    assert.equal(r.n, 7);
  }
  assert.equal(results[1].buffer, results[0].buffer);
  assert.notEqual(results[1].obj, results[0].obj);
  x.dispose();
});

test('new input data replays; an input in another buffer runs the function again', async () => {
  const rt = await testRuntime();
  const store = new ReplayStore();
  const calls = { n: 0 };
  const x = rt.upload(data(1), [N]);
  const x2 = rt.upload(data(2), [N]);
  rt.replayable(store, 'k', [x], () => work(rt, x, calls)).z.dispose();
  const r2 = rt.replayable(store, 'k', [x2], () => work(rt, x2, calls));
  assert.equal(calls.n, 2, 'another input buffer: run again');
  assert.deepEqual(await rt.read(r2.z), data(12));
  r2.z.dispose();
  rt.device.queue.writeBuffer(x.buffer, 0, data(3)); // new data in the first buffer: its log replays
  const r3 = rt.replayable(store, 'k', [x], () => work(rt, x, calls));
  assert.equal(calls.n, 2, 'the first log replayed');
  assert.deepEqual(await rt.read(r3.z), data(18));
  r3.z.dispose();
  x.dispose();
  x2.dispose();
});

test('a buffer the log acquired, now held elsewhere: run again, right numbers', async () => {
  const rt = await testRuntime();
  const store = new ReplayStore();
  const calls = { n: 0 };
  const x = rt.upload(data(1), [N]);
  const r = rt.replayable(store, 'k', [x], () => work(rt, x, calls));
  const taken = r.z.buffer;
  r.z.dispose();
  const held: Tensor[] = [];
  while (!held.some((t) => t.buffer === taken)) held.push(rt.empty([N], 'f32', 'test.hold')); // until the log's buffer is ours
  const r2 = rt.replayable(store, 'k', [x], () => work(rt, x, calls));
  assert.equal(calls.n, 2);
  assert.deepEqual(await rt.read(r2.z), data(6));
  r2.z.dispose();
  for (const t of held) t.dispose();
  x.dispose();
});

test('host data inside (an upload) or freeing an outside tensor: never replayed, left alone after three tries', async () => {
  const rt = await testRuntime();
  const store = new ReplayStore();
  let calls = 0;
  const x = rt.upload(data(1), [N]);
  for (let i = 0; i < 5; i++) {
    const z = rt.replayable(store, 'up', [x], () => {
      calls++;
      const c = rt.upload(data(1), [N]);
      const z = addScale(rt, x, 1, c, 1);
      c.dispose();
      return z;
    });
    assert.deepEqual(await rt.read(z), data(2));
    z.dispose();
  }
  assert.equal(calls, 5);
  assert.equal(store.captures, 3, 'three captures, then none');
  assert.match(store.lastBroken ?? '', /uploaded host data/);
  const outside = rt.upload(data(1), [N]);
  const z = rt.replayable(store, 'free', [x], () => {
    outside.dispose();
    return addScale(rt, x, 1, null, 0);
  });
  z.dispose();
  assert.match(store.lastBroken ?? '', /freed a tensor it did not make/);
  x.dispose();
});

test('replayOn false: the function always runs', async () => {
  const rt = await testRuntime();
  const store = new ReplayStore();
  const calls = { n: 0 };
  const x = rt.upload(data(1), [N]);
  rt.replayOn = false;
  try {
    for (let i = 0; i < 3; i++) rt.replayable(store, 'k', [x], () => work(rt, x, calls)).z.dispose();
  } finally {
    rt.replayOn = true;
  }
  assert.equal(calls.n, 3);
  assert.equal(store.captures, 0);
  x.dispose();
});
