// The model half of the lab's state: loading (with progress and cancel), the Hub cache line,
// generation (streamed text, stop) and the attention view (one layer's patterns at a time).
// Like the rest of the store it talks to the Engine only; an access token passes through
// loadModel's argument into the engine request and is never kept here. It goes to the Hugging Face
// Hub only: with a ?hubEndpoint= on another host, the token is dropped from the request until the
// user confirms that endpoint (confirmHubToken; memory only, reset when the endpoint changes).

import type { CacheUsage, Engine, GenerateRequest, GenerateResult, InspectResult, LoadProgress, ModelSourceSpec, ModelSummary } from '../engine/engine.ts';
import { errorView, type ErrorView } from './errors.ts';
import { tokenForEndpoint } from './devOptions.ts';

export interface ModelState {
  status: 'idle' | 'loading' | 'ready' | 'error' | 'cancelled';
  /** what is being loaded, in words ("HuggingFaceTB/SmolLM2-135M-Instruct@main", "my-folder") */
  label?: string;
  progress?: LoadProgress;
  summary?: ModelSummary;
  error?: ErrorView;
}

export interface CacheState {
  usage?: CacheUsage;
  busy: boolean;
  error?: ErrorView;
}

export interface GenState {
  status: 'idle' | 'running' | 'done' | 'cancelled' | 'error';
  text: string;
  tokens: number;
  result?: GenerateResult;
  error?: ErrorView;
}

export interface AttnState {
  status: 'idle' | 'running' | 'done' | 'error';
  /** the text and layer of the result on screen */
  text?: string;
  layer: number;
  result?: InspectResult;
  error?: ErrorView;
}

export interface ModelSlice {
  model: ModelState;
  cache: CacheState;
  gen: GenState;
  attn: AttnState;
  /** developer/testing option (?hubEndpoint=...): Hub requests go here instead of huggingface.co */
  hubEndpoint?: string;
  /**
   * The endpoint other than huggingface.co the user agreed to send their access token to, if any
   * (memory only). Without it a Hub load to `hubEndpoint` goes without the token.
   */
  hubTokenConsent?: string;
  /** sets the developer options read from the page's URL (./devOptions.ts); clears any consent */
  setHubEndpoint(endpoint: string | undefined): void;
  /** the user's answer to "Send my token to <host>" for the current hubEndpoint */
  confirmHubToken(send: boolean): void;
  loadModel(source: ModelSourceSpec, label: string): Promise<void>;
  cancelLoad(): void;
  unloadModel(): Promise<void>;
  refreshCache(): Promise<void>;
  clearCache(): Promise<void>;
  generate(req: GenerateRequest): Promise<void>;
  stopGenerate(): void;
  inspect(text: string, layer: number): Promise<void>;
}

type Set<S> = (partial: Partial<S>) => void;

export function createModelSlice<S extends ModelSlice>(engine: Engine, set: Set<S>, get: () => S): ModelSlice {
  let loading: AbortController | null = null;
  let generating: AbortController | null = null;
  let inspectSeq = 0;
  const setS = (p: Partial<ModelSlice>) => set(p as Partial<S>);
  const cancelledOrError = (e: ErrorView) => (e.name === 'CancelledError' || e.name === 'HubCancelledError' ? 'cancelled' : 'error');

  return {
    model: { status: 'idle' },
    cache: { busy: false },
    gen: { status: 'idle', text: '', tokens: 0 },
    attn: { status: 'idle', layer: 0 },

    setHubEndpoint(hubEndpoint) {
      setS({ hubEndpoint, hubTokenConsent: undefined });
    },

    confirmHubToken(send) {
      setS({ hubTokenConsent: send ? get().hubEndpoint : undefined });
    },

    async loadModel(source, label) {
      if (loading) return; // one load at a time
      const ctl = (loading = new AbortController());
      const endpoint = get().hubEndpoint;
      let spec = source;
      if (source.kind === 'hub') {
        // the token goes to the Hugging Face Hub, or to another endpoint the user confirmed: never by a link alone
        const { token: typed, ...rest } = source;
        const token = tokenForEndpoint(typed, endpoint, get().hubTokenConsent);
        spec = { ...rest, ...(endpoint ? { endpoint } : {}), ...(token ? { token } : {}) };
      }
      // the previous model stays usable until the engine swaps it; results of the old one go
      setS({ model: { status: 'loading', label, summary: get().model.summary }, attn: { status: 'idle', layer: 0 } });
      try {
        const summary = await engine.loadModel(spec, (progress) => setS({ model: { ...get().model, progress } }), ctl.signal);
        setS({ model: { status: 'ready', label, summary, progress: get().model.progress }, gen: { status: 'idle', text: '', tokens: 0 } });
      } catch (e) {
        const error = errorView(e);
        // a refused or failed load may have freed the old model: ask the engine what is loaded
        const summary = (await engine.modelInfo().catch(() => null)) ?? undefined;
        setS({ model: { status: cancelledOrError(error), label, error, summary, progress: get().model.progress } });
      } finally {
        loading = null;
        if (source.kind === 'hub') void get().refreshCache();
      }
    },

    cancelLoad() {
      loading?.abort();
    },

    async unloadModel() {
      await engine.unloadModel().catch(() => undefined);
      setS({ model: { status: 'idle' }, gen: { status: 'idle', text: '', tokens: 0 }, attn: { status: 'idle', layer: 0 } });
    },

    async refreshCache() {
      try {
        setS({ cache: { ...get().cache, usage: await engine.cacheUsage(), error: undefined } });
      } catch (e) {
        setS({ cache: { ...get().cache, error: errorView(e) } });
      }
    },

    async clearCache() {
      setS({ cache: { ...get().cache, busy: true } });
      try {
        await engine.clearCache();
        setS({ cache: { busy: false, usage: await engine.cacheUsage() } });
      } catch (e) {
        setS({ cache: { ...get().cache, busy: false, error: errorView(e) } });
      }
    },

    async generate(req) {
      if (generating) return;
      const ctl = (generating = new AbortController());
      setS({ gen: { status: 'running', text: '', tokens: 0 } });
      try {
        const result = await engine.generate(req, (p) => setS({ gen: { status: 'running', text: p.text, tokens: p.step + 1 } }), ctl.signal);
        setS({ gen: { status: 'done', text: result.text, tokens: result.tokens.length, result } });
      } catch (e) {
        const error = errorView(e);
        setS({ gen: { ...get().gen, status: cancelledOrError(error), error } });
      } finally {
        generating = null;
      }
    },

    stopGenerate() {
      generating?.abort();
    },

    async inspect(text, layer) {
      const seq = ++inspectSeq; // only the latest request's answer is shown
      setS({ attn: { ...get().attn, status: 'running', layer, error: undefined } });
      try {
        const result = await engine.inspect({ text, layers: [layer] });
        if (seq === inspectSeq) setS({ attn: { status: 'done', text, layer, result } });
      } catch (e) {
        if (seq === inspectSeq) setS({ attn: { status: 'error', layer, text, error: errorView(e) } });
      }
    },
  };
}
