// usingKernelPrefs: the preferences changed for what fn records, put back however fn ends, precision excepted (no GPU needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_KERNEL_PREFS, usingKernelPrefs, withKernelPrefs, type KernelPrefs } from './kernel-prefs.ts';

test('usingKernelPrefs: fn sees the changed preferences; they are put back after a return, a throw and an async settle', async () => {
  const holder: { kernelPrefs: KernelPrefs } = { kernelPrefs: { ...DEFAULT_KERNEL_PREFS } };
  const before = holder.kernelPrefs;
  assert.equal(usingKernelPrefs(holder, { lowrank: 'reduce' }, () => holder.kernelPrefs.lowrank), 'reduce');
  assert.equal(holder.kernelPrefs, before);
  assert.throws(() => usingKernelPrefs(holder, { lowrank: 'all' }, () => { throw new Error('fn failed'); }), /fn failed/);
  assert.equal(holder.kernelPrefs, before);
  let release!: () => void;
  const pending = usingKernelPrefs(holder, { matmul: 'tiled' }, () => new Promise<string>((res) => (release = () => res(holder.kernelPrefs.matmul))));
  assert.equal(holder.kernelPrefs.matmul, 'tiled', 'still changed while fn runs');
  release();
  assert.equal(await pending, 'tiled');
  assert.equal(holder.kernelPrefs, before);
  await assert.rejects(usingKernelPrefs(holder, { attention: 'flash' }, async () => { throw new Error('async failed'); }), /async failed/);
  assert.equal(holder.kernelPrefs, before);
});

test('usingKernelPrefs: the precision is not among what it changes (f16 goes through withKernelPrefs, which checks shader-f16)', () => {
  const holder: { kernelPrefs: KernelPrefs } = { kernelPrefs: { ...DEFAULT_KERNEL_PREFS } };
  // @ts-expect-error precision is not a preference usingKernelPrefs takes
  assert.throws(() => usingKernelPrefs(holder, { precision: 'f16' }, () => 0), /withKernelPrefs, which checks that the GPU has shader-f16/);
  assert.equal(holder.kernelPrefs.precision, DEFAULT_KERNEL_PREFS.precision);
  assert.throws(() => withKernelPrefs(holder.kernelPrefs, { precision: 'f16' }, false, 'SwiftShader'), /needs the GPU feature shader-f16, which SwiftShader does not offer/);
});
