// The "Verify against ONNX Runtime" state of the lab: one run at a time, its progress, and the
// result for the model that was loaded when it ran (`model` keys it: a later load hides it).
// Like the rest of the store it talks to the Engine only.

import type { Engine, VerifyBackend, VerifyOnnxProgress, VerifyOnnxResult } from '../engine/engine.ts';
import { errorView, type ErrorView } from './errors.ts';

export interface VerifyState {
  status: 'idle' | 'running' | 'done' | 'cancelled' | 'error';
  backend: VerifyBackend;
  /** the loaded model the run was for (modelKey of its summary) */
  model?: string;
  progress?: VerifyOnnxProgress;
  result?: VerifyOnnxResult;
  error?: ErrorView;
}

export interface VerifySlice {
  verify: VerifyState;
  setVerifyBackend(backend: VerifyBackend): void;
  verifyOnnx(): Promise<void>;
  cancelVerify(): void;
}

/** Identifies one load of a model (the same folder loaded twice is two loads). */
export const modelKey = (s: { name: string; loadMs: number } | undefined): string | undefined => (s ? `${s.name}#${s.loadMs}` : undefined);

type Set<S> = (partial: Partial<S>) => void;

export function createVerifySlice<S extends VerifySlice & { model: { summary?: { name: string; loadMs: number } } }>(engine: Engine, set: Set<S>, get: () => S): VerifySlice {
  let running: AbortController | null = null;
  const setV = (v: Partial<VerifyState>) => set({ verify: { ...get().verify, ...v } } as Partial<S>);
  return {
    verify: { status: 'idle', backend: 'wasm' },

    setVerifyBackend(backend) {
      setV({ backend });
    },

    async verifyOnnx() {
      if (running) return; // one at a time
      const ctl = (running = new AbortController());
      const { backend } = get().verify;
      const model = modelKey(get().model.summary);
      set({ verify: { status: 'running', backend, model } } as Partial<S>);
      try {
        const result = await engine.verifyOnnx({ backend }, (progress) => setV({ progress }), ctl.signal);
        setV({ status: 'done', result, progress: undefined });
      } catch (e) {
        const error = errorView(e);
        setV({ status: error.name === 'CancelledError' || error.name === 'HubCancelledError' ? 'cancelled' : 'error', error });
      } finally {
        running = null;
      }
    },

    cancelVerify() {
      running?.abort();
    },
  };
}
