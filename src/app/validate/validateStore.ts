// The validation page's state (a zustand vanilla store of its own, apart from the lab store: it holds a
// speaker's work, not the lab's): the items, the judgements, the item on screen, and every change written
// through to the device's storage (./persist.ts) as it happens, in the order it happened. Nothing here
// sends anything anywhere.
import { createStore, type StoreApi } from 'zustand/vanilla';
import { applyEdit, type Edit, type ItemSource, type Judgement, type ValidationItem } from './session.ts';
import { defaultSessionKv, loadSession, saveItems, saveJudgement, savePosition, type SessionKv } from './persist.ts';

export interface ValidateState {
  status: 'loading' | 'ready';
  /** false where the browser has no IndexedDB: the work is lost on reload, and the page says so */
  kept: boolean;
  sources: ItemSource[];
  items: ValidationItem[];
  judgements: Record<string, Judgement>;
  position: number;
  /** kept entries this version cannot read (left in place, never deleted) */
  unreadable: number;
  /** the last write that failed (the page shows it: the speaker must know their work is not kept) */
  saveError: string | null;
  init(): Promise<void>;
  /** adds the items whose ids are new (the same file twice adds nothing); returns how many were added and skipped */
  addItems(source: ItemSource, items: readonly ValidationItem[]): Promise<{ added: number; skipped: number }>;
  edit(itemId: string, edit: Edit): void;
  go(index: number): void;
  /** removes the session from this device (the page asks first) */
  clearAll(): Promise<void>;
  /** resolves when every change so far is written */
  flushed(): Promise<void>;
}

export type ValidateStore = StoreApi<ValidateState>;

export function createValidateStore(kv: SessionKv | null = defaultSessionKv(), now: () => string = () => new Date().toISOString()): ValidateStore {
  // one queue of writes: IndexedDB keeps the order of transactions, but a failure must not reorder what follows
  let queue: Promise<void> = Promise.resolve();
  let started: Promise<void> | null = null;
  return createStore<ValidateState>()((set, get) => {
    const write = (fn: (kv: SessionKv) => Promise<void>) => {
      if (!kv) return;
      queue = queue.then(() => fn(kv)).then(
        () => void (get().saveError && set({ saveError: null })),
        (e) => set({ saveError: `Not saved on this device: ${(e as Error)?.message ?? String(e)}` }),
      );
    };
    return {
      status: 'loading',
      kept: kv !== null,
      sources: [],
      items: [],
      judgements: {},
      position: 0,
      unreadable: 0,
      saveError: null,

      init() {
        started ??= (async () => {
          if (!kv) return set({ status: 'ready' });
          try {
            const k = await loadSession(kv);
            set({ status: 'ready', sources: k.sources, items: k.items, judgements: k.judgements, position: k.position, unreadable: k.unreadable });
          } catch (e) {
            set({ status: 'ready', saveError: `Could not read the kept session: ${(e as Error).message}` });
          }
        })();
        return started;
      },

      async addItems(source, items) {
        const have = new Set(get().items.map((it) => it.id));
        const fresh = items.filter((it) => !have.has(it.id));
        if (!fresh.length) return { added: 0, skipped: items.length };
        const known = get().sources.find((s) => s.id === source.id);
        const sources = known ? get().sources.map((s) => (s.id === source.id ? { ...s, items: s.items + fresh.length } : s)) : [...get().sources, { ...source, items: fresh.length }];
        const all = [...get().items, ...fresh];
        // the new items come on screen: the speaker loaded them to judge them
        set({ sources, items: all, position: all.length - fresh.length });
        write((kv) => saveItems(kv, sources, all));
        write((kv) => savePosition(kv, all.length - fresh.length));
        await get().flushed();
        return { added: fresh.length, skipped: items.length - fresh.length };
      },

      edit(itemId, e) {
        const item = get().items.find((it) => it.id === itemId);
        if (!item) return;
        const j = applyEdit(item, get().judgements[itemId], e, now());
        if (!j) return;
        set({ judgements: { ...get().judgements, [itemId]: j } });
        write((kv) => saveJudgement(kv, itemId, j));
      },

      go(index) {
        const n = get().items.length;
        if (!n) return;
        const position = Math.min(n - 1, Math.max(0, index));
        if (position === get().position) return;
        set({ position });
        write((kv) => savePosition(kv, position));
      },

      async clearAll() {
        set({ sources: [], items: [], judgements: {}, position: 0, unreadable: 0 });
        write((kv) => kv.clear());
        await get().flushed();
      },

      flushed: () => queue,
    };
  });
}

let pageStore: ValidateStore | null = null;
/** The page's store: one per tab, so leaving the page and coming back keeps the state without a reload. */
export const validateStore = (): ValidateStore => (pageStore ??= createValidateStore());
