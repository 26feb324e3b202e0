// What every kind of run is given by the engine (the model, the store, the device lock), the control of an
// active run (pause / resume between steps), and checkpoint files in memory as a FileSource. A leaf of
// train/: the runs (run.ts, rl/*-run.ts) and their shared loop (loop.ts) import it, it imports none of them.
import type { Runtime } from '../gpu/runtime.ts';
import type { LlamaModel } from '../model/llama.ts';
import type { LabTokenizer } from '../model/tokenizer.ts';
import type { FileSource } from '../model/checkpoint.ts';
import type { RunStore } from './run-store.ts';

/** What the run needs of the engine: the loaded model and a lock shared with other GPU requests. */
export interface RunContext {
  rt: Runtime;
  model: LlamaModel;
  tokenizer: LabTokenizer | null;
  /** recorded in checkpoints and the adapter's base_model_name_or_path */
  modelName: string;
  /** the model's own small files (config.json, tokenizer files): the row-cache key, a full run's result */
  modelFiles: ReadonlyMap<string, Uint8Array>;
  store: RunStore;
  /** runs `fn` when no other engine request uses the device */
  exclusive: <T>(fn: () => Promise<T>) => Promise<T>;
}

/** A FileSource over files in memory (a checkpoint read from the run store, an adapter from the page). */
export function memorySource(files: ReadonlyMap<string, Uint8Array> | Record<string, Uint8Array>, name: string): FileSource {
  const m = files instanceof Map ? files : new Map(Object.entries(files));
  return {
    name,
    list: async () => [...m.keys()].sort(),
    size: async (p) => m.get(p)?.byteLength ?? null,
    read: async (p, range) => {
      const b = m.get(p);
      if (!b) throw new Error(`${name}/${p}: missing`);
      return range ? b.subarray(range[0], range[1]) : b;
    },
  };
}

/** Control of an active run: pause / resume between steps. */
export class RunControl {
  paused = false;
  step = 0;
  private wake: (() => void) | null = null;
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
    this.wake?.();
  }
  /** Resolves once resumed or aborted. */
  async waitWhilePaused(signal?: AbortSignal): Promise<void> {
    while (this.paused && !signal?.aborted) {
      await new Promise<void>((res) => {
        this.wake = res;
        signal?.addEventListener('abort', () => res(), { once: true });
      });
      this.wake = null;
    }
  }
}
