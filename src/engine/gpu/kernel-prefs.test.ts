// usingKernelPrefs: the preferences changed for what fn records, put back however fn ends (no GPU needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_KERNEL_PREFS, usingKernelPrefs, type KernelPrefs } from './kernel-prefs.ts';

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
