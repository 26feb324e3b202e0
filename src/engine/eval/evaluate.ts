// Engine.evaluate: the loaded model and adapters on it, each answering the same rows, scored with one
// metric — the base vs SFT vs RL table. One code path: `lab eval` (src/cli/eval.ts, adapters from
// folders) and the Evaluate page (adapters of finished runs in the run store) both call this.
//   data      a JSONL text (the CLI's --data, a file picked in the page) or an embedded task set, made
//             here exactly as `lab tasks --split <s> --n <n> --seed <s>` writes it ({question, answer} rows)
//   models    'base' (the loaded model as it is), a finished run's adapter ({runId}) or a PEFT adapter's
//             files ({name, files}); each adapter is applied unmerged on the one loaded base (no reload)
//   answers   greedy, in batches of `batch`, until EOS or `maxNewTokens` (or the context's end)
//   score     rows.ts: one result object per model, its 95% CI a percentile bootstrap from `seed`
// Every adapter is read and checked against the loaded model before anything is generated, so a misfit
// fails at once and names the run. Progress: the model in flight, rows answered, the table's ETA;
// the signal stops generation within a step (CancelledError). No node: imports.
import type { Runtime } from '../gpu/runtime.ts';
import type { LlamaModel } from '../model/llama.ts';
import type { LabTokenizer } from '../model/tokenizer.ts';
import type { FileSource } from '../model/checkpoint.ts';
import type { ModelSummary } from '../session.ts';
import { generate, GenerationCancelled } from '../model/generate.ts';
import { adapterSlots, readAdapter } from '../train/adapter.ts';
import type { RunStore } from '../train/run-store.ts';
import { EMBEDDED_DECISION, EMBEDDED_TASKS, TASK_GENERATOR, withdrawnError, type TaskSetProvenance, type TrainingDecision } from '../train/governance.ts';
import { sha256Hex } from '../util/sha256.ts';
import { CancelledError, TrainingError } from '../errors.ts';
import { isEvalMetric, EVAL_METRICS, type EvalMetric } from '../../rewards/index.ts';
import { getTask, isSplit, SPLITS, toSftJsonl, type Split } from '../../tasks/index.ts';
import { evalResult, evalRows, EvalInputError, type EvalModelResult, type EvalRow, type EvalRunInfo } from './rows.ts';

export { EvalInputError, finalAnswer, type EvalModelResult, type EvalRunInfo, type ExactItem, type ScoredItem } from './rows.ts';
export type { EvalMetric };

/** The lab's version (package.json's; a test keeps them equal): results say which lab made them. */
export const LAB_VERSION = '0.1.0';
export const EVAL_GENERATOR = 'Stoney-RL Lab, evaluation (lab eval / #/evaluate)';

/** What to evaluate on: a JSONL text, or an embedded task set generated here. */
export type EvalData =
  | {
      kind: 'text';
      /** the file's name (messages say "name:line: …"; the CLI gives its --data path) */
      name: string;
      text: string;
      /** the governance decision of its source manifest, when one was given (not required to evaluate: it is recorded) */
      governance?: TrainingDecision | null;
    }
  | { kind: 'embedded'; task: string; split: Split; n: number; seed: number };

/** One row of the table: the loaded model as it is, a stored run's adapter, or a PEFT adapter's files. */
export type EvalModelSpec = 'base' | { runId: string } | { name: string; files: Record<string, Uint8Array> };

export interface EvaluateRequest {
  data: EvalData;
  metric: EvalMetric;
  models: EvalModelSpec[];
  maxNewTokens: number;
  /** rows per generate batch */
  batch: number;
  /** only the first `limit` rows; null: all */
  limit?: number | null;
  /** the bootstrap's seed */
  seed: number;
}

export interface EvaluateProgress {
  phase: 'adapter' | 'answer';
  /** the model in flight (0-based) and how many there are */
  model: number;
  models: number;
  /** 'base' or the adapter's name */
  label: string;
  /** rows this model has answered, of `total` */
  done: number;
  total: number;
  /** seconds left for the whole table at the rate so far; null before the first batch */
  etaSec: number | null;
}

/** Where the numbers came from: the data, the model, the settings, the lab. Each run's own is in its row. */
export interface EvalProvenance {
  generator: string;
  lab: { name: 'Stoney-RL Lab'; version: string };
  createdAt: string;
  model: { name: string; source: string; arch: string; parameters: number; dtype: string };
  data: {
    name: string;
    source: 'embedded' | 'file';
    sha256: string;
    bytes: number;
    /** usable rows in the data, and the rows evaluated (the first `limit`) */
    rows: number;
    used: number;
    /** an embedded set's record, as `lab tasks` writes it beside its file */
    task: TaskSetProvenance | null;
    /** the source manifest's decision (an embedded set: the lab's own), or null when none was given */
    governance: TrainingDecision | null;
    note: string;
  };
  settings: { metric: EvalMetric; seed: number; maxNewTokens: number; batch: number; limit: number | null; decoding: 'greedy'; ci: string };
}

export interface EvalTable {
  schema: 'lab-eval-table-v1';
  /** the data's name, the metric and the rows per model: the CLI's --adapters file is {data, metric, n, rows} */
  data: string;
  metric: EvalMetric;
  n: number;
  rows: EvalModelResult[];
  provenance: EvalProvenance;
}

export interface EvalContext {
  rt: Runtime;
  model: LlamaModel;
  tokenizer: LabTokenizer;
  summary: ModelSummary;
  store: RunStore;
}

const whole = (x: unknown, lo: number, hi = Number.MAX_SAFE_INTEGER): boolean => typeof x === 'number' && Number.isInteger(x) && x >= lo && x <= hi;

/** What is wrong with the request's settings, or null. */
export function evalRequestProblem(req: EvaluateRequest): string | null {
  if (!isEvalMetric(req.metric)) return `the metric must be one of ${EVAL_METRICS.join(', ')}, got "${req.metric}"`;
  if (!whole(req.batch, 1, 4096)) return `the batch must be a whole number 1 … 4096, got ${req.batch}`;
  if (!whole(req.maxNewTokens, 1, 1 << 20)) return `the new tokens must be a whole number ≥ 1, got ${req.maxNewTokens}`;
  if (req.limit !== undefined && req.limit !== null && !whole(req.limit, 1)) return `the row limit must be a whole number ≥ 1, got ${req.limit}`;
  if (!whole(req.seed, 0, 2 ** 32 - 1)) return `the seed must be a whole number ≥ 0, got ${req.seed}`;
  if (!req.models.length) return 'no model to evaluate: choose the base model or an adapter';
  return null;
}

/** The embedded task set's name, text and `lab tasks` record (the same bytes and sha256 as the file it writes). */
export async function embeddedEvalData(task: string, split: Split, n: number, seed: number): Promise<{ name: string; text: string; record: TaskSetProvenance }> {
  if (!(EMBEDDED_TASKS as readonly string[]).includes(task)) throw new EvalInputError(`no embedded task set "${task}" (known: ${EMBEDDED_TASKS.join(', ')})`);
  if (!isSplit(split)) throw new EvalInputError(`the split must be one of ${SPLITS.join(', ')}, got ${split}`);
  if (!whole(n, 1, 100_000) || !whole(seed, 0)) throw new EvalInputError(`embedded ${task} set: rows must be a whole number 1 … 100000 and the seed a whole number ≥ 0`);
  const text = toSftJsonl(getTask(task).generate(split, n, seed));
  const bytes = new TextEncoder().encode(text);
  const name = `${task}-${split}-n${n}-seed${seed}.jsonl`;
  const record: TaskSetProvenance = {
    schema: 'lab-task-provenance-v1', generator: TASK_GENERATOR, task, split, seed, n, items: false, synthetic: true, contains_sensitive_content: false,
    file: name, bytes: bytes.length, sha256: await sha256Hex(bytes),
  };
  return { name, text, record };
}

/** A model of the table, resolved: its label, its adapter (null: the loaded model as it is), its run. */
interface Resolved {
  label: string;
  adapter: string | null;
  files: Record<string, Uint8Array> | null;
  run?: EvalRunInfo;
}

/** Reads the runs' adapters from the store; refuses what cannot make a row, naming the run. */
async function resolveModels(specs: readonly EvalModelSpec[], ctx: EvalContext): Promise<Resolved[]> {
  const merged = ctx.summary.adapter;
  // a merged adapter is part of the weights: "base" would not be the base, and adapters would stack on it
  if (merged && specs.some((s) => s !== 'base')) {
    throw new TrainingError('invalid', `The adapter "${merged.name}" is active (merged into the weights): switch to the base model first, so that the base row is the base model and each adapter is applied to it alone.`);
  }
  const out: Resolved[] = [];
  for (const s of specs) {
    if (s === 'base') out.push({ label: merged ? merged.name : 'base', adapter: merged?.name ?? null, files: null });
    else if ('runId' in s) {
      const rec = await ctx.store.get(s.runId);
      if (!rec) throw new TrainingError('invalid', `run ${s.runId} is not in the run store (deleted?)`);
      const who = `run ${rec.name} (${rec.id})`;
      if (rec.config.full) throw new TrainingError('invalid', `${who} trained every weight: its result is a whole model, not an adapter — load its files as the model to evaluate it`);
      if (rec.kind === 'reward-model') throw new TrainingError('invalid', `${who} is a reward model: it scores answers, it does not write them`);
      // a source of its data withdrawn: a removal stops downstream work, evaluation included, until it is reviewed
      if (rec.revoked) throw withdrawnError(who, rec.revoked);
      const files = await ctx.store.readResult(rec.id);
      if (!files?.has('adapter_config.json')) throw new TrainingError('invalid', `${who} has no finished adapter (status ${rec.status}): finish or resume it first`);
      const gov = await ctx.store.readFile(rec.id, 'governance.json');
      let governance: Record<string, unknown> | null = (rec.governance as unknown as Record<string, unknown>) ?? null;
      try {
        if (gov) governance = JSON.parse(new TextDecoder().decode(gov)) as Record<string, unknown>;
      } catch {
        /* an unreadable governance.json: the record's decision stands */
      }
      const label = `${rec.name} (run ${rec.id})`;
      const run: EvalRunInfo = { id: rec.id, name: rec.name, kind: rec.kind ?? 'sft', model: rec.model, steps: rec.step, data: rec.data, governance };
      out.push({ label, adapter: label, files: Object.fromEntries(files), run });
    } else out.push({ label: s.name, adapter: s.name, files: s.files });
  }
  return out;
}

/** The adapter's files as a FileSource named after it, so readAdapter's messages name the adapter. */
function filesAs(name: string, files: Record<string, Uint8Array>): FileSource {
  return {
    name,
    size: async (p) => files[p]?.length ?? null,
    read: async (p, range) => {
      const f = files[p];
      if (!f) throw new Error(`no such file '${p}'`);
      return range ? f.subarray(range[0], range[1]) : f;
    },
  };
}

/** Greedy answers of `rows` in batches; `onBatch(done)` after each. */
async function answer(model: LlamaModel, tok: LabTokenizer, rows: readonly EvalRow[], batch: number, maxNew: number, onBatch: (done: number) => void, signal?: AbortSignal): Promise<string[]> {
  const outs: string[] = [];
  for (let i = 0; i < rows.length; i += batch) {
    if (signal?.aborted) throw new CancelledError('The evaluation was cancelled.');
    const chunk = rows.slice(i, i + batch);
    // the batch's longest prompt bounds its answers: the context has n_ctx positions
    const room = Math.min(maxNew, model.cfg.n_ctx - Math.max(...chunk.map((r) => r.ids.length)));
    let gen: number[][];
    try {
      gen = await generate(model, chunk.map((r) => r.ids), { maxNewTokens: Math.max(0, room), sampling: { kind: 'greedy' }, signal });
    } catch (e) {
      if (e instanceof GenerationCancelled) throw new CancelledError('The evaluation was cancelled.');
      throw e;
    }
    for (const g of gen) outs.push(tok.decode(g, { skipSpecialTokens: true }));
    onBatch(Math.min(i + batch, rows.length));
  }
  return outs;
}

/** The table: every model on the same rows (see the header). */
export async function evaluate(ctx: EvalContext, req: EvaluateRequest, onProgress?: (p: EvaluateProgress) => void, signal?: AbortSignal): Promise<EvalTable> {
  const bad = evalRequestProblem(req);
  if (bad) throw new EvalInputError(bad);
  const { model, tokenizer: tok, summary } = ctx;
  const d = req.data;
  const src = d.kind === 'embedded' ? await embeddedEvalData(d.task, d.split, d.n, d.seed) : { name: d.name, text: d.text, record: null };
  const governance = d.kind === 'embedded' ? EMBEDDED_DECISION(d.task) : (d.governance ?? null);
  const all = evalRows(src.text, src.name, req.metric, tok, model.cfg.n_ctx, req.maxNewTokens);
  const rows = all.slice(0, req.limit ?? all.length);
  if (rows.length === 0) throw new EvalInputError(`${src.name}: no rows`);
  const models = await resolveModels(req.models, ctx);
  const adapters = new Map<Resolved, Awaited<ReturnType<typeof readAdapter>>>();
  for (const m of models) {
    if (!m.files) continue;
    try {
      adapters.set(m, await readAdapter(filesAs(m.label, m.files), model.cfg));
    } catch (e) {
      const trained = m.run && m.run.model !== summary.name ? ` (it was trained on ${m.run.model})` : '';
      throw new TrainingError('invalid', `${m.label}: the adapter does not fit the loaded model ${summary.name}${trained}: ${(e as Error).message}`);
    }
  }

  const t0 = performance.now();
  const total = rows.length * models.length;
  const results: EvalModelResult[] = [];
  for (const [i, m] of models.entries()) {
    const report = (phase: EvaluateProgress['phase'], done: number) => {
      const answered = i * rows.length + done;
      const s = (performance.now() - t0) / 1000;
      onProgress?.({ phase, model: i, models: models.length, label: m.label, done, total: rows.length, etaSec: answered > 0 ? (s / answered) * (total - answered) : null });
    };
    report('adapter', 0);
    const a = adapters.get(m);
    const on = a ? adapterSlots(ctx.rt, a, model.cfg, 'eval.lora') : null;
    model.adapter = on?.lora ?? null;
    try {
      const outs = await answer(model, tok, rows, req.batch, req.maxNewTokens, (done) => report('answer', done), signal);
      const r = evalResult(req.metric, rows, outs, req.seed, { model: summary.name, adapter: m.adapter, data: src.name });
      results.push(m.run ? { ...r, run: m.run } : r);
    } finally {
      model.adapter = null;
      for (const t of on?.tensors ?? []) t.dispose();
    }
  }

  const bytes = new TextEncoder().encode(src.text);
  const note =
    d.kind === 'embedded'
      ? `the lab's own synthetic data (src/tasks/), the bytes that lab tasks --task ${d.task} --split ${d.split} --n ${d.n} --seed ${d.seed} writes; no outside text`
      : governance
        ? `the source manifest ${governance.manifest ?? ''} says: ${governance.reason} (results inherit the data's terms)`
        : 'no source manifest was given with this file: its sources and terms are not recorded here (results inherit the file\'s own terms)';
  return {
    schema: 'lab-eval-table-v1',
    data: src.name,
    metric: req.metric,
    n: rows.length,
    rows: results,
    provenance: {
      generator: EVAL_GENERATOR,
      lab: { name: 'Stoney-RL Lab', version: LAB_VERSION },
      createdAt: new Date().toISOString(),
      model: { name: summary.name, source: summary.source, arch: summary.arch, parameters: summary.parameters, dtype: summary.dtype },
      data: { name: src.name, source: d.kind === 'embedded' ? 'embedded' : 'file', sha256: await sha256Hex(bytes), bytes: bytes.length, rows: all.length, used: rows.length, task: src.record, governance, note },
      settings: { metric: req.metric, seed: req.seed, maxNewTokens: req.maxNewTokens, batch: req.batch, limit: req.limit ?? null, decoding: 'greedy', ci: 'percentile bootstrap 95%, 1000 resamples over the items' },
    },
  };
}
