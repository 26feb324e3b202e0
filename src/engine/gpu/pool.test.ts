// BufferPool.repeat: a repeated stretch of work (a training step) gets back the buffers its last run got,
// acquire by acquire, even when it releases them in another order; so the runtime's bind groups (keyed
// by buffer) are found again. A fake device: the pool only calls createBuffer and destroy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferPool } from './pool.ts';

(globalThis as { GPUBufferUsage?: object }).GPUBufferUsage ??= { STORAGE: 128, COPY_SRC: 4, COPY_DST: 8 };

function fakePool() {
  let n = 0;
  const destroyed: number[] = [];
  const device = { createBuffer: () => { const id = ++n; return { id, destroy: () => destroyed.push(id) } as unknown as GPUBuffer; } } as unknown as GPUDevice;
  return { pool: new BufferPool(device, 1 << 30), destroyed };
}
const id = (b: GPUBuffer) => (b as unknown as { id: number }).id;

/** One "step": four buffers of one size, released in an order that differs from the acquire order. */
function step(pool: BufferPool): number[] {
  const bufs = [0, 1, 2, 3].map(() => pool.acquire(1024, 't'));
  for (const i of [2, 0, 3, 1]) pool.release(bufs[i]);
  return bufs.map(id);
}

test('without repeat a step gets its buffers back permuted; inside repeat, the same buffer at the same acquire', () => {
  const { pool } = fakePool();
  const plain = [step(pool), step(pool), step(pool)];
  assert.notDeepEqual(plain[1], plain[2], 'the free list hands them out in another order each step');
  const { pool: p2 } = fakePool();
  const runs = [1, 2, 3, 4].map(() => p2.repeat('step', () => step(p2)));
  assert.deepEqual(runs[1], runs[0]);
  assert.deepEqual(runs[3], runs[0]);
  assert.equal(p2.snapshot().created, 4, 'no buffer created after the first step');
});

test('repeat: tags keep their own memory, a promise ends the repetition when it settles, nesting counts once, trim forgets', async () => {
  const { pool, destroyed } = fakePool();
  const a = pool.repeat('a', () => step(pool));
  // another tag acquiring in another order does not disturb 'a'
  pool.repeat('b', () => {
    const x = [0, 1, 2].map(() => pool.acquire(1024, 'u'));
    for (const b of x.reverse()) pool.release(b);
  });
  assert.deepEqual(pool.repeat('a', () => step(pool)), a);
  // async: acquires after an await still belong to the repetition
  const got = await pool.repeat('c', async () => {
    const b1 = pool.acquire(64, 'x');
    await Promise.resolve();
    const b2 = pool.acquire(64, 'x');
    pool.release(b2);
    pool.release(b1);
    return [id(b1), id(b2)];
  });
  const again = await pool.repeat('c', async () => {
    const b1 = pool.acquire(64, 'x');
    await Promise.resolve();
    const b2 = pool.acquire(64, 'x');
    pool.release(b1);
    pool.release(b2);
    return [id(b1), id(b2)];
  });
  assert.deepEqual(again, got);
  // an inner repeat is part of the outer one
  assert.deepEqual(pool.repeat('a', () => pool.repeat('inner', () => step(pool))), a);
  // a throwing repetition ends it too (the next acquire outside is not remembered)
  assert.throws(() => pool.repeat('a', () => { throw new Error('boom'); }), /boom/);
  pool.trim();
  assert.ok(destroyed.length >= 4, 'free buffers destroyed');
  assert.equal(pool.snapshot().bytesFree, 0);
});
