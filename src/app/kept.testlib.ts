// An in-memory Kv (./kept.ts) for the tests of what the page keeps: values are cloned on the way in and
// out, as IndexedDB's structured clone does.
import type { Kv } from './kept.ts';

export function memoryKv(): Kv & { map: Map<string, unknown> } {
  const map = new Map<string, unknown>();
  return { map, get: async (k) => structuredClone(map.get(k)), set: async (k, v) => void map.set(k, structuredClone(v)), del: async (k) => void map.delete(k) };
}
