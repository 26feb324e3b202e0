// The store's matmul precision: setPrecision asks the engine (Engine.setKernelPrefs) and keeps the choice; a
// reload re-applies it only where the new adapter has shader-f16; a refusal shows as an error and keeps the
// precision the engine still runs. Checked on the store with a fake Engine and an in-memory Kv.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AdapterInfo, Engine, KernelPrefs } from '../engine/engine.ts';
import { createLabStore } from './store.ts';
import { PRECISION_KEY } from './settingsPersist.ts';
import type { Kv } from './kept.ts';

function memKv(): Kv & { m: Map<string, unknown> } {
  const m = new Map<string, unknown>();
  return { m, get: async (k) => m.get(k), set: async (k, v) => void m.set(k, v), del: async (k) => void m.delete(k) };
}

function fakeEngine(shaderF16: boolean, refuse?: string) {
  const asked: Partial<KernelPrefs>[] = [];
  let prefs: KernelPrefs = { attention: 'rows', matmul: 'vec4', precision: 'f32', lowrank: 'all', tail: 'none' };
  const engine = {
    async adapterInfo() {
      return { features: shaderF16 ? ['shader-f16'] : [], enabled: { shaderF16, subgroups: false, timestampQuery: false } } as unknown as AdapterInfo;
    },
    async setKernelPrefs(p: Partial<KernelPrefs>) {
      asked.push(p);
      if (refuse) throw new Error(refuse);
      prefs = { ...prefs, ...p };
      return prefs;
    },
  } as unknown as Engine;
  return { engine, asked };
}

test('setPrecision switches the engine, shows it and keeps it; a reload on a GPU with shader-f16 re-applies it', async () => {
  const kv = memKv();
  const a = fakeEngine(true);
  const store = createLabStore(a.engine, kv);
  await store.getState().loadAdapter();
  assert.deepEqual(a.asked, [], 'nothing kept yet: the default (f32) needs no request');
  await store.getState().setPrecision('f16');
  assert.deepEqual(a.asked, [{ precision: 'f16' }]);
  assert.deepEqual(store.getState().kernels, { precision: 'f16', status: 'idle' });
  assert.equal(kv.m.get(PRECISION_KEY), 'f16');

  const b = fakeEngine(true); // the page reloaded
  const again = createLabStore(b.engine, kv);
  await again.getState().loadAdapter();
  assert.deepEqual(b.asked, [{ precision: 'f16' }]);
  assert.equal(again.getState().kernels.precision, 'f16');
});

test('a kept f16 is not applied on a GPU without shader-f16; a refusal is shown and the precision stays', async () => {
  const kv = memKv();
  await kv.set(PRECISION_KEY, 'f16');
  const a = fakeEngine(false);
  const store = createLabStore(a.engine, kv);
  await store.getState().loadAdapter();
  assert.deepEqual(a.asked, [], 'f16 was not asked of a GPU that cannot run it');
  assert.equal(store.getState().kernels.precision, 'f32');

  const b = fakeEngine(true, 'run r1 is training: cancel it first');
  const busy = createLabStore(b.engine, memKv());
  await busy.getState().setPrecision('f16');
  const k = busy.getState().kernels;
  assert.equal(k.status, 'error');
  assert.equal(k.precision, 'f32');
  assert.match(k.error?.message ?? '', /is training/);
});
