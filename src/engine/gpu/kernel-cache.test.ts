// KernelCache.bindGroup: a bind group is made once per (kernel, uniform slot, each binding's buffer, offset and size)
// and found again by those integers; any one of them differing makes another. A fake device counts what is made.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KernelCache, hashInts } from './kernel-cache.ts';
import type { KernelSpec } from './kernel.ts';
import type { Tensor } from './tensor.ts';

(globalThis as { GPUShaderStage?: object }).GPUShaderStage ??= { COMPUTE: 4 };

function fakeCache() {
  let made = 0;
  const device = {
    createBindGroupLayout: () => ({}),
    createBindGroup: () => ({ n: ++made }),
  } as unknown as GPUDevice;
  return { cache: new KernelCache(device), made: () => made };
}
const buf = (id: number) => ({ id }) as unknown as GPUBuffer;
const tensor = (buffer: GPUBuffer, byteOffset: number, byteLength: number, disposed = false) =>
  ({ buffer, byteOffset, byteLength, assertLive: () => { if (disposed) throw new Error('used after dispose()'); } }) as unknown as Tensor;
const spec = (name: string): KernelSpec => ({ name, code: '', bindings: ['uniform', 'read', 'storage'] });

test('bindGroup: the same bindings find the same bind group; any differing integer makes another', () => {
  const { cache, made } = fakeCache();
  const [s1, s2] = [spec('k1'), spec('k2')];
  const [b1, b2, arena] = [buf(1), buf(2), buf(9)];
  const u = (offset: number, size = 32) => ({ arena, offset, size });
  const g = cache.bindGroup(s1, [tensor(b1, 0, 64), tensor(b2, 256, 128)], u(0));
  assert.equal(cache.bindGroup(s1, [tensor(b1, 0, 64), tensor(b2, 256, 128)], u(0)), g);
  assert.equal(made(), 1);
  const others = [
    cache.bindGroup(s2, [tensor(b1, 0, 64), tensor(b2, 256, 128)], u(0)), // another kernel
    cache.bindGroup(s1, [tensor(b1, 0, 64), tensor(b2, 256, 128)], u(256)), // another uniform slot
    cache.bindGroup(s1, [tensor(b1, 0, 64), tensor(b2, 256, 128)], u(0, 48)), // another uniform size
    cache.bindGroup(s1, [tensor(b2, 0, 64), tensor(b2, 256, 128)], u(0)), // another buffer
    cache.bindGroup(s1, [tensor(b1, 256, 64), tensor(b2, 256, 128)], u(0)), // another offset
    cache.bindGroup(s1, [tensor(b1, 0, 64), tensor(b2, 256, 64)], u(0)), // another size
    cache.bindGroup(s1, [tensor(b1, 0, 64), tensor(b2, 256, 128)], null), // no uniform
  ];
  assert.equal(made(), 8);
  assert.equal(new Set([g, ...others]).size, 8);
  // all found again, none made
  assert.equal(cache.bindGroup(s1, [tensor(b1, 256, 64), tensor(b2, 256, 128)], u(0)), others[4]);
  assert.equal(made(), 8);
  assert.equal(cache.bindGroupsCreated, 8);
  assert.throws(() => cache.bindGroup(s1, [tensor(b1, 0, 64, true)], u(0)), /used after dispose/);
  cache.clear();
  cache.bindGroup(s1, [tensor(b1, 0, 64), tensor(b2, 256, 128)], u(0));
  assert.equal(made(), 9, 'clear() forgets them');
});

test('pipeline: sources of one name and length that differ (the per-tile pitch of matmul) get their own pipelines', () => {
  const made: string[] = [];
  const device = {
    createBindGroupLayout: () => ({}),
    createPipelineLayout: () => ({}),
    createShaderModule: (d: { code: string }) => ({ code: d.code }),
    createComputePipeline: (d: { compute: { module: { code: string } } }) => (made.push(d.compute.module.code), { code: d.compute.module.code }),
  } as unknown as GPUDevice;
  const cache = new KernelCache(device);
  const a: KernelSpec = { name: 'k', code: 'const P = 17u;', bindings: ['storage'] };
  const b: KernelSpec = { ...a, code: 'const P = 33u;' };
  const pa = cache.pipeline(a, { TX: 8 });
  const pb = cache.pipeline(b, { TX: 8 });
  assert.notEqual(pa, pb);
  assert.deepEqual(made, [a.code, b.code]);
  // a copy of a spec (same name and source) shares its pipeline
  assert.equal(cache.pipeline({ ...a }, { TX: 8 }), pa);
  assert.equal(made.length, 2);
});

test('hashInts: order and both 32-bit halves count', () => {
  assert.notEqual(hashInts([1, 2]), hashInts([2, 1]));
  assert.notEqual(hashInts([2 ** 32]), hashInts([0]));
  assert.notEqual(hashInts([-1]), hashInts([0]));
  assert.equal(hashInts([5, 6, 7]), hashInts([5, 6, 7]));
});
