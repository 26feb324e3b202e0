// The Compare page's state: the two prompts (language, math) with where each came from, and the
// last comparison: both prompts through the same loaded model with every layer's attention
// pattern (engine.inspect), keyed to that model load so a later load hides it. One run at a time;
// the sides run one after the other in the engine.
import type { Engine, InspectResult } from '../engine/engine.ts';
import { errorView, type ErrorView } from './errors.ts';
import { modelKey } from './verifySlice.ts';
import { defaultPrompts, type ComparePrompt, type Side } from './compare/prompts.ts';

export interface CompareSideRun {
  prompt: ComparePrompt;
  result: InspectResult;
}

export interface CompareRun {
  /** modelKey of the load it ran on, and the model's name */
  modelKey: string;
  model: string;
  /** the adapter that was active ("base": none) */
  adapter: string;
  left: CompareSideRun;
  right: CompareSideRun;
  /** ISO time of the run */
  at: string;
}

export interface CompareState {
  status: 'idle' | 'running' | 'done' | 'error';
  prompts: Record<Side, ComparePrompt>;
  run?: CompareRun;
  error?: ErrorView;
}

export interface CompareSlice {
  compare: CompareState;
  setComparePrompt(side: Side, prompt: ComparePrompt): void;
  /** inspects both prompts with every layer of the loaded model */
  runCompare(): Promise<void>;
}

type Set<S> = (partial: Partial<S>) => void;
type Needs = CompareSlice & { model: { status: string; summary?: { name: string; loadMs: number; n_layers: number } }; activeAdapter: string | null };

export function createCompareSlice<S extends Needs>(engine: Engine, set: Set<S>, get: () => S): CompareSlice {
  let running = false;
  const setC = (compare: CompareState) => set({ compare } as Partial<S>);
  return {
    compare: { status: 'idle', prompts: defaultPrompts() },

    setComparePrompt(side, prompt) {
      const c = get().compare;
      setC({ ...c, prompts: { ...c.prompts, [side]: prompt } });
    },

    async runCompare() {
      const { summary, status } = get().model;
      if (running || !summary || status === 'loading') return;
      running = true;
      const prompts = get().compare.prompts;
      setC({ ...get().compare, status: 'running', error: undefined });
      try {
        const layers = Array.from({ length: summary.n_layers }, (_, l) => l);
        const left = await engine.inspect({ text: prompts.left.text, layers });
        const right = await engine.inspect({ text: prompts.right.text, layers });
        const run: CompareRun = {
          modelKey: modelKey(summary)!,
          model: summary.name,
          adapter: get().activeAdapter ?? 'base',
          left: { prompt: prompts.left, result: left },
          right: { prompt: prompts.right, result: right },
          at: new Date().toISOString(),
        };
        setC({ ...get().compare, status: 'done', run });
      } catch (e) {
        setC({ ...get().compare, status: 'error', error: errorView(e) });
      } finally {
        running = false;
      }
    },
  };
}
