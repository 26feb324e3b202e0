// One loaded model in the engine: where it came from, its size check, its weights on the GPU and
// its tokenizer; generation with streamed text; attention patterns with per-head statistics.
// LocalEngine (./engine.ts) holds at most one ModelSession; the UI sees only the plain-data types
// below (they cross the worker boundary by structured clone).
//
// Loading, step by step:
//   plan      config.json + shard index + safetensors headers only (ranged reads), checked against
//             the device's limits by planDownload: a model that cannot run is refused before any
//             weight is fetched
//   download  (Hub) each shard is fetched whole into the IndexedDB cache, or served from it
//   upload    tensors are read one by one and, once all are read, copied to the GPU
import type { Runtime } from './gpu/runtime.ts';
import type { FileSource } from './model/checkpoint.ts';
import { expectedTensors, type ModelConfig } from './model/config.ts';
import { loadModel } from './model/load.ts';
import { loadTokenizer, type ChatMessage, type LabTokenizer } from './model/tokenizer.ts';
import { disposeWeights } from './model/weights.ts';
import type { LlamaModel } from './model/llama.ts';
import { generate, GenerationCancelled } from './model/generate.ts';
import type { Sampling } from './model/sampling.ts';
import { HubCache, RateMeter, hubSource, planDownload, type BlobStore, type PlanLimits } from './hub/index.ts';
import { CancelledError } from './errors.ts';
import { filesSource, urlSource } from './sources.ts';
import { inspectPatterns, type InspectRequest, type InspectResult } from './inspect.ts';
import { adapterTermsOf, type AdapterTerms } from './analysis/report-terms.ts';

export type { HeadStats, InspectLayer, InspectRequest, InspectResult, InspectToken } from './inspect.ts';
export { headStats, INSPECT_MAX_TOKENS } from './inspect.ts';
import { dirSource } from './model/checkpoint.ts';

/** Where a model comes from. The token lives in the engine's memory for this load only. */
export type ModelSourceSpec =
  | { kind: 'hub'; repo: string; revision: string; token?: string; /** developer/testing option: another Hub-compatible server */ endpoint?: string }
  | { kind: 'files'; files: Blob[]; /** each file's path inside the picked folder (structured clone drops webkitRelativePath) */ paths?: string[]; name?: string }
  | { kind: 'url'; /** absolute, or relative to the engine's location */ baseUrl: string }
  /** a folder on disk: Node only (the CLI); a model there may come without a tokenizer (pre-tokenized training rows) */
  | { kind: 'dir'; path: string };

/** The model's small files kept after loading: a full-training result carries them, the tokenized-rows cache keys on them. */
export const MODEL_SIDE_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'chat_template.jinja'];

export interface LoadProgress {
  phase: 'plan' | 'download' | 'upload';
  bytes: number;
  total: number;
  bytesPerSec: number;
  /** seconds left at the current speed; null while unknown */
  etaSec: number | null;
  file: string;
}

/** The config's sizes (TransformerLens names, as in ModelConfig) and what the load learned. */
export interface ModelSummary extends Pick<ModelConfig, 'arch' | 'd_model' | 'n_layers' | 'n_heads' | 'n_kv_heads' | 'd_head' | 'd_mlp' | 'd_vocab' | 'n_ctx'> {
  /** e.g. "HuggingFaceTB/SmolLM2-135M-Instruct@main" or the folder name */
  name: string;
  source: ModelSourceSpec['kind'];
  /** dtype of the weights as stored (e.g. 'bf16'), and config.json's torch_dtype */
  dtype: string;
  torchDtype: string;
  parameters: number;
  /** bytes of the weights on the GPU (≈ stored bytes) and of the files read */
  weightBytes: number;
  downloadBytes: number;
  tiedEmbeddings: boolean;
  chatTemplate: boolean;
  eosTokenIds: number[];
  loadMs: number;
  warnings: string[];
  /** the LoRA adapter merged into the weights (Engine.setAdapter), or null: the base model */
  /** the active adapter; `terms`: what its governance.json says of its data (absent when it has none) */
  adapter: { name: string; r: number; alpha: number; targets: string[]; terms?: AdapterTerms } | null;
}

/** A PEFT adapter as files (adapter_config.json + adapter_model.safetensors), with a name to show. */
export interface AdapterSpec {
  name: string;
  files: Record<string, Uint8Array>;
}

export interface GenerateRequest {
  /** plain text (tokenized with the tokenizer's special tokens, e.g. BOS) ... */
  prompt?: string;
  /** ... or chat messages rendered with the model's chat template + the assistant prompt */
  messages?: ChatMessage[];
  maxNewTokens: number;
  sampling: Sampling;
  ignoreEos?: boolean;
}

/** One streamed step: the token chosen, its text, and the whole decoded output so far. */
export interface GenerateProgress {
  step: number;
  token: number;
  piece: string;
  text: string;
}

export interface GenerateResult {
  promptTokens: number;
  tokens: number[];
  text: string;
  stop: 'eos' | 'length';
  ms: number;
  tokensPerSec: number;
}

/** { terms } of an adapter that carries a governance.json (the terms of the data it was trained on), else {}. */
function adapterTerms(a: AdapterSpec): { terms?: AdapterTerms } {
  const g = a.files['governance.json'];
  const terms = adapterTermsOf(g ? new TextDecoder().decode(g) : undefined, `adapter ${a.name}`);
  return terms ? { terms } : {};
}

export interface SessionLoadOptions {
  /** IndexedDB (browser) or memory (Node): where Hub files are cached */
  store: BlobStore;
  limits: PlanLimits;
  memoryBudget?: number;
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
  /** minimum ms between progress messages of one phase (the last one is always sent); default 100 */
  progressIntervalMs?: number;
  /** a PEFT LoRA adapter merged into the weights as they load (exactly as `lab forward --adapter`) */
  adapter?: AdapterSpec | null;
}

/** Throws CancelledError before and after each read once `signal` aborted: a load stops between reads. */
function guarded(src: FileSource, signal?: AbortSignal): FileSource {
  const check = () => {
    if (signal?.aborted) throw new CancelledError('Loading was cancelled.');
  };
  return {
    name: src.name,
    ...(src.list ? { list: async () => (check(), src.list!()) } : {}),
    size: async (p) => (check(), await src.size(p).finally(check)),
    read: async (p, range) => (check(), await src.read(p, range).finally(check)),
  };
}

/** Free browser storage for a Hub download: quota − usage, plus what this repo@revision already holds. */
async function storageFree(cache: HubCache, repo: string, revision: string): Promise<number | undefined> {
  const storage = (globalThis as { navigator?: { storage?: StorageManager } }).navigator?.storage;
  if (!storage?.estimate) return undefined;
  try {
    const e = await storage.estimate();
    if (e.quota === undefined || e.usage === undefined) return undefined;
    const mine = (await cache.list()).filter((f) => f.repo === repo && f.revision === revision).reduce((a, f) => a + f.size, 0);
    return e.quota - e.usage + mine;
  } catch {
    return undefined;
  }
}

/** Progress of one phase, throttled, with a smoothed speed and an ETA. */
function phaseReporter(phase: LoadProgress['phase'], send: ((p: LoadProgress) => void) | undefined, intervalMs: number) {
  const meter = new RateMeter();
  let last = 0;
  return (bytes: number, total: number, file: string, force = false) => {
    if (!send) return;
    const now = Date.now();
    const rate = meter.update(bytes, now);
    if (!force && bytes < total && now - last < intervalMs) return;
    last = now;
    const etaSec = bytes >= total ? 0 : rate > 0 ? (total - bytes) / rate : null;
    send({ phase, bytes, total, bytesPerSec: rate, etaSec, file });
  };
}

export class ModelSession {
  private constructor(
    readonly model: LlamaModel,
    /** null only for a folder on disk without tokenizer.json (training on token ids) */
    readonly tokenizer: LabTokenizer | null,
    readonly summary: ModelSummary,
    /** MODEL_SIDE_FILES that exist, by name */
    readonly modelFiles: ReadonlyMap<string, Uint8Array>,
  ) {}

  /** The tokenizer, or an error saying the model has none. */
  tok(): LabTokenizer {
    if (!this.tokenizer) throw new Error(`${this.summary.name} has no tokenizer.json: it can train on token ids only.`);
    return this.tokenizer;
  }

  /** Plans (refusing what does not fit), then loads. `beforeWeights` runs once the plan passed (the engine frees the old model there). */
  static async load(rt: Runtime, spec: ModelSourceSpec, opts: SessionLoadOptions, beforeWeights?: () => void): Promise<ModelSession> {
    const t0 = performance.now();
    const { signal } = opts;
    const every = opts.progressIntervalMs ?? 100;
    const warnings: string[] = [];
    let name: string;
    let raw: FileSource;
    let release = () => {};
    let free: () => Promise<number | undefined> = async () => undefined;
    // the download phase (Hub only) counts bytes of every planned file together
    const fileBytes = new Map<string, number>();
    let planned: Map<string, number> | null = null;
    const download = phaseReporter('download', opts.onProgress, every);
    if (spec.kind === 'hub') {
      const hub = hubSource(spec.repo.trim(), spec.revision.trim() || 'main', {
        store: opts.store,
        token: spec.token || undefined,
        endpoint: spec.endpoint,
        signal,
        onWarning: (m) => warnings.push(m),
        onProgress: (p) => {
          if (!planned?.has(p.file)) return;
          fileBytes.set(p.file, p.bytes);
          const total = [...planned.values()].reduce((a, b) => a + b, 0);
          download(Math.min(total, [...fileBytes.values()].reduce((a, b) => a + b, 0)), total, p.file);
        },
      });
      (name = hub.name), (raw = hub), (release = () => hub.release());
      free = () => storageFree(hub.cache, hub.repo, hub.revision);
    } else if (spec.kind === 'dir') {
      raw = dirSource(spec.path);
      name = spec.path;
    } else if (spec.kind === 'files') {
      raw = filesSource(spec.files, { paths: spec.paths, name: spec.name });
      name = raw.name;
    } else {
      const u = urlSource(spec.baseUrl, { signal });
      (name = u.name.replace(/\/$/, '').split('/').pop() || u.name), (raw = u), (release = () => u.release());
    }
    const src = guarded(raw, signal);
    const cancelled = () => new CancelledError('Loading was cancelled.');
    try {
      // 1. the plan: metadata only, refused here when it cannot run
      opts.onProgress?.({ phase: 'plan', bytes: 0, total: 0, bytesPerSec: 0, etaSec: null, file: 'config.json' });
      const plan = await planDownload(src, opts.limits, { memoryBudget: opts.memoryBudget, storageFree: await free() });
      planned = new Map(plan.files.filter((f) => f.path.endsWith('.safetensors')).map((f) => [f.path, f.size]));
      // 2. the tokenizer before the weights: a missing or broken tokenizer.json costs no download
      const tokenizer = spec.kind === 'dir' && (await src.size('tokenizer.json')) === null ? null : await loadTokenizer(src);
      const modelFiles = new Map<string, Uint8Array>();
      for (const f of MODEL_SIDE_FILES) if ((await src.size(f)) !== null) modelFiles.set(f, await src.read(f));
      beforeWeights?.();
      // 3. weights: read (downloading Hub shards into the cache first), then onto the GPU
      const upload = phaseReporter(spec.kind === 'url' ? 'download' : 'upload', opts.onProgress, every);
      const loaded = await loadModel(rt, src, { tokenizer: false, adapter: opts.adapter ? new Map(Object.entries(opts.adapter.files)) : undefined, onProgress: (p) => upload(p.bytes, p.total, p.file.split('/').pop() ?? p.file) });
      if (signal?.aborted) {
        disposeWeights(loaded.model.w);
        throw cancelled();
      }
      upload(plan.weightBytes, plan.weightBytes, 'done', true);
      warnings.push(...loaded.warnings);
      const cfg = loaded.model.cfg;
      const parameters = expectedTensors(cfg).reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);
      const byDtype = new Map<string, number>();
      for (const t of plan.tensors) byDtype.set(t.dtype, (byDtype.get(t.dtype) ?? 0) + t.bytes);
      const dtype = [...byDtype].sort((a, b) => b[1] - a[1])[0]?.[0].toLowerCase() ?? cfg.torch_dtype;
      const { arch, d_model, n_layers, n_heads, n_kv_heads, d_head, d_mlp, d_vocab, n_ctx } = cfg;
      const summary: ModelSummary = {
        name, source: spec.kind, arch, d_model, n_layers, n_heads, n_kv_heads, d_head, d_mlp, d_vocab, n_ctx, dtype, torchDtype: cfg.torch_dtype, parameters,
        weightBytes: plan.weightBytes, downloadBytes: plan.downloadBytes, tiedEmbeddings: cfg.tie_word_embeddings, chatTemplate: !!tokenizer?.chatTemplate,
        eosTokenIds: cfg.eos_token_ids, loadMs: performance.now() - t0, warnings,
        adapter: loaded.adapter && opts.adapter ? { name: opts.adapter.name, r: loaded.adapter.r, alpha: loaded.adapter.alpha, targets: [...loaded.adapter.targets], ...adapterTerms(opts.adapter) } : null,
      };
      return new ModelSession(loaded.model, tokenizer, summary, modelFiles);
    } catch (e) {
      if (signal?.aborted && !(e instanceof CancelledError)) throw cancelled();
      throw e;
    } finally {
      release();
    }
  }

  /** The prompt's token ids: plain text with special tokens, or the chat template with the assistant prompt. */
  promptIds(req: Pick<GenerateRequest, 'prompt' | 'messages'>): number[] {
    const tok = this.tok();
    if (req.messages) {
      if (!tok.chatTemplate) throw new Error('This model has no chat template; send plain text instead.');
      return tok.applyChatTemplate(req.messages, { addGenerationPrompt: true });
    }
    const ids = tok.encode(req.prompt ?? '', { addSpecialTokens: true });
    if (ids.length === 0) throw new Error('The prompt is empty: type some text first.');
    return ids;
  }

  async generate(req: GenerateRequest, onProgress?: (p: GenerateProgress) => void, signal?: AbortSignal): Promise<GenerateResult> {
    const ids = this.promptIds(req);
    const t0 = performance.now();
    const tokens: number[] = [];
    let out: number[][];
    try {
      out = await generate(this.model, [ids], {
        maxNewTokens: req.maxNewTokens,
        sampling: req.sampling,
        ignoreEos: req.ignoreEos,
        signal,
        onStep: (step, chosen) => {
          tokens.push(chosen[0]);
          const skip = { skipSpecialTokens: true };
          onProgress?.({ step, token: chosen[0], piece: this.tok().decode([chosen[0]], skip), text: this.tok().decode(tokens, skip) });
        },
      });
    } catch (e) {
      if (e instanceof GenerationCancelled) throw new CancelledError(`Generation was stopped after ${tokens.length} tokens.`);
      throw e;
    }
    const ms = performance.now() - t0;
    const gen = out[0];
    const last = gen[gen.length - 1];
    const eos = !req.ignoreEos && last !== undefined && this.model.cfg.eos_token_ids.includes(last);
    return {
      promptTokens: ids.length,
      tokens: gen,
      text: this.tok().decode(gen, { skipSpecialTokens: true }),
      stop: eos ? 'eos' : 'length',
      ms,
      tokensPerSec: gen.length / Math.max(ms / 1000, 1e-9),
    };
  }

  /** One forward pass over the prompt capturing blocks.{l}.attn.hook_pattern of the asked layers (./inspect.ts). */
  inspect(req: InspectRequest, signal?: AbortSignal): Promise<InspectResult> {
    return inspectPatterns(this.model, this.tok(), req, signal);
  }

  /** Logits at every position of `ids` ([T][V]), with the weights as loaded (adapter merged or not). */
  async logits(ids: number[]): Promise<number[][]> {
    const { rt, cfg } = this.model;
    const T = ids.length, V = cfg.d_vocab;
    if (T === 0) throw new Error('forward: no token ids');
    if (T > cfg.n_ctx) throw new Error(`forward: ${T} tokens exceed the model's context of ${cfg.n_ctx}`);
    const bad = ids.find((i) => !Number.isInteger(i) || i < 0 || i >= V);
    if (bad !== undefined) throw new Error(`forward: token id ${bad} is outside the vocabulary (0..${V - 1})`);
    const idsT = rt.upload(Int32Array.from(ids), [1, T], 'i32', 'ids'); // [B=1, T]
    const { logits } = this.model.forward(idsT, { logits: 'all' });
    idsT.dispose();
    const flat = (await rt.read(logits!)) as Float32Array; // [T, V]
    logits!.dispose();
    return Array.from({ length: T }, (_, t) => Array.from(flat.subarray(t * V, (t + 1) * V)));
  }

  dispose(): void {
    disposeWeights(this.model.w);
  }
}
