// What the page keeps across reloads goes through these few pieces (./train/persist.ts: the Train forms;
// ./analyze/persist.ts: reports, sets and settings): a key-value store (IndexedDB through idb-keyval in a
// page, a Map in tests), a plain-object check for reading entries back, and a writer that gathers a burst
// of changes (keystrokes) into one write a moment after the last.
import { del, get, set, type UseStore } from 'idb-keyval';

/** Where entries are kept: an idb-keyval store in a page, or any get/set/del (tests). */
export interface Kv {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
  del(key: string): Promise<void>;
}

/** The Kv of an idb-keyval store (null: no IndexedDB here, nothing is kept). */
export const kvOf = (s: UseStore | null): Kv | null => s && { get: (k) => get(k, s), set: (k, v) => set(k, v, s), del: (k) => del(k, s) };

export const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Calls `write` once, `ms` after the last schedule(); flush() writes at once if a write is pending. */
export function later(write: () => Promise<void>, ms = 300): { schedule(): void; flush(): Promise<void> } {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const run = () => {
    timer = null;
    return write();
  };
  return {
    schedule() {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => void run(), ms);
    },
    async flush() {
      if (!timer) return;
      clearTimeout(timer);
      await run();
    },
  };
}
