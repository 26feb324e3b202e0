// The Compare page's state: the two prompts (language, math) with where each came from, and the
// last comparison: both prompts through the same loaded model with every layer's attention
// pattern (engine.inspect), keyed to that model load so a later load hides it. One run at a time;
// the sides run one after the other in the engine.
//
// Two more views on the same prompts:
//   adapter on/off   both prompts inspected with the base model (setAdapter(null)) and with a LoRA
//                    adapter (setAdapter({runId}), or the already-active one), after which the
//                    adapter the user had is set again: each switch reloads the weights, and while
//                    it runs no other inspect, generate or adapter switch of the page can slip in
//                    between (they would see the wrong weights);
//   generation       one side's prompt continued greedily by N tokens (engine.generate), then
//                    prompt + new ids inspected together (InspectRequest.ids), so the page can step
//                    through the rows of the new tokens. The prompt ids are those inspect gives for
//                    the text (special tokens added, as generate does); the two are checked equal.
// A switch of adapters gives the model summary a new loadMs (a new modelKey); when the adapter the
// user had is set again the weights are the same as before, so the results of that load are
// re-keyed to the new one instead of being hidden.
import type { Engine, InspectResult, ModelSummary, RunRecord } from '../engine/engine.ts';
import { errorView, type ErrorView } from './errors.ts';
import { modelKey } from './verifySlice.ts';
import { defaultPrompts, SIDES, type ComparePrompt, type Side } from './compare/prompts.ts';
import { runIdOfActive } from './compare/adapters.ts';
import type { AdapterTerms } from '../engine/analysis/report-terms.ts';

/** { adapterTerms } of the active adapter when its governance.json gave terms (ModelSummary.adapter.terms), else {}. */
const termsOf = (s: ModelSummary | undefined): { adapterTerms?: AdapterTerms } => (s?.adapter?.terms ? { adapterTerms: s.adapter.terms } : {});

export interface CompareSideRun {
  prompt: ComparePrompt;
  result: InspectResult;
}

export interface CompareRun {
  /** modelKey of the load it ran on, and the model's name */
  modelKey: string;
  model: string;
  /** the adapter that was active ("base": none), and the terms of its data when it carries them */
  adapter: string;
  adapterTerms?: AdapterTerms;
  left: CompareSideRun;
  right: CompareSideRun;
  /** ISO time of the run */
  at: string;
}

/** One prompt through the base model and through the adapter (every layer). */
export interface AdapterSideRun {
  prompt: ComparePrompt;
  base: InspectResult;
  adapter: InspectResult;
}

export interface AdapterCompareRun {
  modelKey: string;
  model: string;
  /** the adapter compared against the base: the engine's summary of it, and its run */
  adapter: NonNullable<ModelSummary['adapter']>;
  runId: string;
  /** the adapter active before the comparison and again after it (null: the base model) */
  restored: string | null;
  left: AdapterSideRun;
  right: AdapterSideRun;
  /** weight reloads it took, and the whole time (ms) */
  switches: number;
  ms: number;
  at: string;
}

export interface AdapterCompareState {
  status: 'idle' | 'running' | 'done' | 'error';
  /** what it is doing now, in words */
  phase?: string;
  run?: AdapterCompareRun;
  error?: ErrorView;
}

/** One side's prompt continued by greedy decoding, and the patterns over prompt + new tokens. */
export interface GenSideRun {
  modelKey: string;
  /** the adapter that was active ("base": none), and the terms of its data when it carries them */
  adapter: string;
  adapterTerms?: AdapterTerms;
  prompt: ComparePrompt;
  /** the prompt's ids (special tokens added) and the generated ids after them */
  promptIds: number[];
  newIds: number[];
  text: string;
  stop: 'eos' | 'length';
  /** every layer's patterns over promptIds + newIds */
  result: InspectResult;
  at: string;
}

export interface GenSideState {
  status: 'idle' | 'running' | 'done' | 'error' | 'cancelled';
  /** tokens so far while it runs */
  progress?: { step: number; text: string };
  run?: GenSideRun;
  error?: ErrorView;
}

export interface CompareState {
  status: 'idle' | 'running' | 'done' | 'error';
  prompts: Record<Side, ComparePrompt>;
  run?: CompareRun;
  error?: ErrorView;
  adapterCmp: AdapterCompareState;
  gen: Record<Side, GenSideState>;
}

export interface CompareSlice {
  compare: CompareState;
  setComparePrompt(side: Side, prompt: ComparePrompt): void;
  /** inspects both prompts with every layer of the loaded model */
  runCompare(): Promise<void>;
  /** both prompts with the base model and with the adapter of run `runId`; the adapter the user had is set again after */
  runAdapterCompare(runId: string): Promise<void>;
  /** continues one side's prompt by up to `n` greedy tokens, then inspects prompt + new tokens */
  generateSide(side: Side, n: number): Promise<void>;
  cancelGenerate(side: Side): void;
}

type Set<S> = (partial: Partial<S>) => void;
type Needs = CompareSlice & {
  model: { status: string; summary?: ModelSummary };
  runs: { list: RunRecord[] };
  adapterBusy: boolean;
};

/** The most new tokens one generation may ask for on the Compare page. */
export const MAX_GEN = 64;

const idleGen = (): Record<Side, GenSideState> => ({ left: { status: 'idle' }, right: { status: 'idle' } });

export function createCompareSlice<S extends Needs>(engine: Engine, set: Set<S>, get: () => S): CompareSlice {
  // one engine job of this page at a time: a comparison, an adapter comparison or a generation
  let busy: 'compare' | 'adapter' | Side | null = null;
  let genCtl: AbortController | null = null;
  const setC = (patch: Partial<CompareState>) => set({ compare: { ...get().compare, ...patch } } as Partial<S>);
  const setGen = (side: Side, g: GenSideState) => setC({ gen: { ...get().compare.gen, [side]: g } });
  const allLayers = (s: ModelSummary) => Array.from({ length: s.n_layers }, (_, l) => l);

  return {
    compare: { status: 'idle', prompts: defaultPrompts(), adapterCmp: { status: 'idle' }, gen: idleGen() },

    setComparePrompt(side, prompt) {
      const c = get().compare;
      setC({ prompts: { ...c.prompts, [side]: prompt } });
    },

    async runCompare() {
      const { summary, status } = get().model;
      if (busy || !summary || status === 'loading') return;
      busy = 'compare';
      const prompts = get().compare.prompts;
      setC({ status: 'running', error: undefined });
      try {
        const layers = allLayers(summary);
        const left = await engine.inspect({ text: prompts.left.text, layers });
        const right = await engine.inspect({ text: prompts.right.text, layers });
        const run: CompareRun = {
          modelKey: modelKey(summary)!,
          model: summary.name,
          adapter: (get().model.summary?.adapter?.name ?? 'base'),
          ...termsOf(get().model.summary),
          left: { prompt: prompts.left, result: left },
          right: { prompt: prompts.right, result: right },
          at: new Date().toISOString(),
        };
        setC({ status: 'done', run });
      } catch (e) {
        setC({ status: 'error', error: errorView(e) });
      } finally {
        busy = null;
      }
    },

    async runAdapterCompare(runId) {
      const { summary, status } = get().model;
      if (busy || !summary || status === 'loading' || get().adapterBusy) return;
      const before = summary.adapter?.name ?? null;
      const prevRun = runIdOfActive(before, get().runs.list);
      if (before && !prevRun) {
        setC({ adapterCmp: { status: 'error', error: errorView(new Error(`The active adapter "${before}" was imported from files, which the page does not keep, so it could not be set again afterwards: switch to the base model or to a run's adapter first (Runs page).`)) } });
        return;
      }
      busy = 'adapter';
      set({ adapterBusy: true } as Partial<S>);
      const t0 = performance.now();
      const oldKey = modelKey(summary)!;
      const prompts = get().compare.prompts;
      const layers = allLayers(summary);
      const phase = (p: string) => setC({ adapterCmp: { ...get().compare.adapterCmp, status: 'running', phase: p, error: undefined } });
      let current: string | null | undefined = prevRun; // the run whose adapter is merged now (null: base, undefined: unknown)
      let latest: ModelSummary = summary;
      let switches = 0;
      const use = async (want: string | null) => {
        if (current === want) return;
        phase(want ? 'reloading the weights with the adapter merged…' : 'reloading the base weights…');
        try {
          latest = await engine.setAdapter(want ? { runId: want } : null);
        } catch (e) {
          // a TrainingError (a run is training, no finished adapter) is raised before the weights
          // are touched; anything else may have left them half-loaded: unknown
          if (errorView(e).name !== 'TrainingError') current = undefined;
          throw e;
        }
        current = want;
        switches++;
      };
      const inspectBoth = async (what: string) => {
        phase(`inspecting both prompts with ${what}…`);
        const out = {} as Record<Side, InspectResult>;
        for (const s of SIDES) out[s] = await engine.inspect({ text: prompts[s].text, layers });
        return out;
      };
      let base: Record<Side, InspectResult> | undefined, withAdapter: Record<Side, InspectResult> | undefined;
      let adapterSummary: ModelSummary['adapter'] = null;
      let failure: unknown;
      try {
        // fewest reloads: whatever is merged now is inspected first
        const adapterPass = async () => {
          await use(runId);
          adapterSummary = latest.adapter;
          withAdapter = await inspectBoth('the adapter');
        };
        const basePass = async () => {
          await use(null);
          base = await inspectBoth('the base model');
        };
        if (current === runId) await adapterPass(), await basePass();
        else await basePass(), await adapterPass();
      } catch (e) {
        failure = e;
      }
      // set again what the user had, whatever happened above
      let restoreFailure: unknown;
      try {
        await use(prevRun);
      } catch (e) {
        restoreFailure = e;
        latest = (await engine.modelInfo().catch(() => null)) ?? latest;
      }
      const newKey = modelKey(latest)!;
      const rekey = <T extends { modelKey: string }>(r: T | undefined): T | undefined => (r && r.modelKey === oldKey && !restoreFailure ? { ...r, modelKey: newKey } : r);
      const c = get().compare;
      let adapterCmp: AdapterCompareState;
      if (failure || restoreFailure || !base || !withAdapter || !adapterSummary) {
        const e = restoreFailure
          ? new Error(`${failure ? `${errorView(failure).message} ` : ''}The adapter you had (${before ?? 'base'}) could not be set again: ${errorView(restoreFailure).message} The header shows what is active now.`)
          : (failure ?? new Error('The adapter comparison did not finish.'));
        adapterCmp = { status: 'error', error: errorView(e), run: rekey(c.adapterCmp.run) };
      } else {
        adapterCmp = {
          status: 'done',
          run: {
            modelKey: newKey,
            model: latest.name,
            adapter: adapterSummary,
            runId,
            restored: before,
            left: { prompt: prompts.left, base: base.left, adapter: withAdapter.left },
            right: { prompt: prompts.right, base: base.right, adapter: withAdapter.right },
            switches,
            ms: performance.now() - t0,
            at: new Date().toISOString(),
          },
        };
      }
      const gen = { left: { ...c.gen.left, run: rekey(c.gen.left.run) }, right: { ...c.gen.right, run: rekey(c.gen.right.run) } };
      // one update: the header's adapter, the new load's key and the re-keyed results together (so nothing reruns)
      set({ model: { ...get().model, status: 'ready', summary: latest }, adapterBusy: false, compare: { ...c, run: rekey(c.run), adapterCmp, gen } } as unknown as Partial<S>);
      busy = null;
    },

    async generateSide(side, n) {
      const { summary, status } = get().model;
      if (busy || !summary || status === 'loading' || get().adapterBusy) return;
      if (!(Number.isInteger(n) && n >= 1 && n <= MAX_GEN)) {
        setGen(side, { status: 'error', error: errorView(new Error(`The number of new tokens must be a whole number 1…${MAX_GEN}.`)) });
        return;
      }
      busy = side;
      const ctl = (genCtl = new AbortController());
      const prompt = get().compare.prompts[side];
      const key = modelKey(summary)!;
      setGen(side, { status: 'running', progress: { step: 0, text: '' }, run: get().compare.gen[side].run });
      try {
        // the prompt's ids as inspect tokenizes the text (special tokens added, like generate):
        // from the comparison when it ran on this text and load, else from a one-layer inspect
        const run = get().compare.run;
        const fromRun = run && run.modelKey === key && run[side].prompt.text === prompt.text ? run[side].result : undefined;
        const first = fromRun ?? (await engine.inspect({ text: prompt.text, layers: [0] }));
        const promptIds = first.tokens.map((t) => t.id);
        const res = await engine.generate({ prompt: prompt.text, maxNewTokens: n, sampling: { kind: 'greedy' } }, (p) => setGen(side, { ...get().compare.gen[side], progress: { step: p.step, text: p.text } }), ctl.signal);
        if (res.promptTokens !== promptIds.length) throw new Error(`generate tokenized the prompt into ${res.promptTokens} tokens and inspect into ${promptIds.length}: they must agree (both add the special tokens).`);
        const result = await engine.inspect({ text: prompt.text, ids: [...promptIds, ...res.tokens], layers: allLayers(summary) }, ctl.signal);
        setGen(side, {
          status: 'done',
          run: { modelKey: key, adapter: (get().model.summary?.adapter?.name ?? 'base'), ...termsOf(get().model.summary), prompt, promptIds, newIds: res.tokens, text: res.text, stop: res.stop, result, at: new Date().toISOString() },
        });
      } catch (e) {
        const error = errorView(e);
        setGen(side, { status: error.name === 'CancelledError' ? 'cancelled' : 'error', error, run: get().compare.gen[side].run });
      } finally {
        busy = null;
        genCtl = null;
      }
    },

    cancelGenerate(side) {
      if (busy === side) genCtl?.abort();
    },
  };
}
