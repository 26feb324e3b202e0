// The Evaluate page's inputs, their pure parts: the data (an embedded held-out or rl set, made by the engine
// exactly as `lab tasks --split heldout|rl` writes it, or a file the user picked, with the source manifest
// that governs it when they have one), the metric, which models make rows (the base model and finished
// runs' adapters) and the settings, with the checks the page shows beside each field, and the engine
// request they make. A picked file needs no approving decision to be *evaluated*: the manifest's
// decision, sources and terms are recorded in the results' provenance. Nothing here touches the engine.
import type { EvaluateRequest, EvalMetric, ModelSummary, RunRecord } from '../../engine/api.ts';
import { decideUpload, type TrainingDecision } from '../../engine/train/governance.ts';
import type { TaskName } from '../../tasks/index.ts';

export type EvalDataChoice =
  | { kind: 'embedded'; task: TaskName; n: number; seed: number; /** heldout (absent: forms kept before) or rl: the prompts GRPO runs on */ split?: 'heldout' | 'rl' }
  | {
      kind: 'file';
      /** the file's name and its rows as JSONL ('' before one is picked; .json/.parquet converted when picked) */
      name: string;
      text: string;
      rows: number;
      /** why it cannot be read */
      problem?: string;
      /** the SOURCE_MANIFEST.yml picked with it, and the file's path relative to the manifest's folder */
      manifest: { name: string; text: string; path: string } | null;
    };

export interface EvalForm {
  data: EvalDataChoice;
  metric: EvalMetric;
  /** a row for the base model */
  base: boolean;
  /** finished runs whose adapters make rows, in the order the runs are listed */
  runIds: string[];
  maxNewTokens: number;
  batch: number;
  /** only the first rows; undefined: all */
  limit: number | undefined;
  /** the bootstrap's seed */
  seed: number;
}

export const DEFAULT_FORM: EvalForm = { data: { kind: 'embedded', task: 'arithmetic', n: 100, seed: 0 }, metric: 'exact', base: true, runIds: [], maxNewTokens: 128, batch: 16, limit: undefined, seed: 0 };

export const METRIC_TEXT: Record<EvalMetric, string> = {
  exact: 'exact match of the final answer after “####” (0–1)',
  gsm8k: 'GSM8K answer reward (0–1)',
  chrf: 'chrF, corpus score (0–100)',
  'chrf++': 'chrF++, corpus score (0–100)',
  'stoney-rubric': 'rubric: exact, character F1, verification (0–1)',
};

/** The largest score a metric gives (the chart's axis). */
export const metricMax = (m: EvalMetric): number => (m === 'chrf' || m === 'chrf++' ? 100 : 1);

const whole = (x: number | undefined, lo: number, hi: number) => typeof x === 'number' && Number.isInteger(x) && x >= lo && x <= hi;

/** What is wrong with each field, by name (empty when the form can run). */
export function formProblems(f: EvalForm): Partial<Record<'n' | 'dataSeed' | 'file' | 'models' | 'maxNewTokens' | 'batch' | 'limit' | 'seed', string>> {
  const out: ReturnType<typeof formProblems> = {};
  if (f.data.kind === 'embedded') {
    if (!whole(f.data.n, 1, 100_000)) out.n = 'a whole number 1 … 100000';
    if (!whole(f.data.seed, 0, 2 ** 31 - 1)) out.dataSeed = 'a whole number ≥ 0';
  } else if (!f.data.name) out.file = 'pick a data file';
  else if (f.data.problem) out.file = f.data.problem;
  if (!f.base && !f.runIds.length) out.models = 'choose the base model or at least one run';
  if (!whole(f.maxNewTokens, 1, 8192)) out.maxNewTokens = 'a whole number 1 … 8192';
  if (!whole(f.batch, 1, 512)) out.batch = 'a whole number 1 … 512';
  if (f.limit !== undefined && !whole(f.limit, 1, 10_000_000)) out.limit = 'empty (all rows) or a whole number ≥ 1';
  if (!whole(f.seed, 0, 2 ** 31 - 1)) out.seed = 'a whole number ≥ 0';
  return out;
}

/** The manifest's decision for a picked file, or null without a manifest (recorded, not required). */
export function fileDecision(d: EvalDataChoice): TrainingDecision | null {
  if (d.kind !== 'file' || !d.manifest) return null;
  return decideUpload({ name: d.name, text: d.text, manifest: d.manifest });
}

/** The engine's request for the form. */
export function evalRequest(f: EvalForm): EvaluateRequest {
  const d = f.data;
  return {
    data: d.kind === 'embedded' ? { kind: 'embedded', task: d.task, split: d.split ?? 'heldout', n: d.n, seed: d.seed } : { kind: 'text', name: d.name, text: d.text, governance: fileDecision(d) },
    metric: f.metric,
    models: [...(f.base ? (['base'] as const) : []), ...f.runIds.map((runId) => ({ runId }))],
    maxNewTokens: f.maxNewTokens,
    batch: f.batch,
    limit: f.limit ?? null,
    seed: f.seed,
  };
}

/** Can a run make a row: a finished LoRA adapter of SFT, GRPO or DPO. Why not, otherwise. */
export function runProblem(r: RunRecord, summary: ModelSummary | undefined): string | null {
  if (r.kind === 'reward-model') return 'a reward model scores answers, it does not write them';
  const revoked = (r as { revoked?: { reason: string } }).revoked;
  if (revoked) return `a source of its data was withdrawn (${revoked.reason})`;
  if (r.config.full) return 'trained every weight: load its files as the model instead';
  if (!r.hasResult) return `no finished adapter (${r.status})`;
  if (summary && r.model !== summary.name) return `trained on ${r.model}; the loaded model is ${summary.name}`;
  return null;
}

/** "SFT", "GRPO", "DPO" (the table's run kind), or "base". */
export const kindLabel = (k: string | undefined): string => (k ? k.toUpperCase() : 'base');
