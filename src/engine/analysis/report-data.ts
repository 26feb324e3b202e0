// What an interpretability report holds (issue 12, item 6): every number of the report with the inputs
// that reproduce it. `lab analyze report` (src/cli/analyze-report.ts) and the page build it; report.ts
// renders it as a self-contained HTML page with SVG figures. report.json is this object.
import type { SelectivityRow } from './selectivity.ts';
import type { AdapterTerms } from './report-terms.ts';

export interface ReportTaskSet {
  /** short label ("arithmetic", "Velmic") */
  label: string;
  file: string;
  /** rows used, of rows in the file */
  n: number;
  rows: number;
  /** the file's sha256 and its provenance record, when it has one (`lab tasks` writes one) */
  sha256: string;
  provenance: Record<string, unknown> | null;
  /** up to 3 example prompts (text), for the top-heads section */
  examples: string[];
}

export interface ReportData {
  schema: 'lab-analysis-report-v1';
  createdAt: string;
  /** how to make it again: the command line, seeds, the lab's version */
  reproduce: { command: string; seed: number; nBoot: number; nPerm: number; queries: string; ablation: 'zero' | 'mean'; labCommit: string | null };
  model: { name: string; layers: number; heads: number; dModel: number; vocab: number };
  /** the adapter, with the terms of its data when it carries a governance.json (report-terms.ts) */
  adapter: { name: string; terms?: AdapterTerms } | null;
  tasks: { a: ReportTaskSet; b: ReportTaskSet };
  /** head statistics: selectivity rows per statistic (raw and resid:<stat>), L·H rows each */
  selectivity: Record<string, SelectivityRow[]>;
  /** the logit lens at the final answer's tokens: per task, per layer (L + 1), mean over prompts and a 95% CI */
  lens: { a: LensCurve; b: LensCurve };
  /** all-heads ablation: per task, per layer and head, the mean change of the answer's log-prob and its 95% CI */
  ablation: { a: HeadEffect[]; b: HeadEffect[] };
  seconds: Record<string, number>;
}

export interface LensCurve {
  /** [L + 1] mean log-prob of the final answer's tokens */
  logprob: number[];
  logprobCi: [number, number][];
  /** [L + 1] mean rank (0 = the top token) */
  rank: number[];
  /** prompts with a final answer */
  n: number;
}

export interface HeadEffect {
  layer: number;
  head: number;
  /** mean over prompts of (ablated − base) answer log-prob; negative: the head helps the answer */
  mean: number;
  ci: [number, number];
  n: number;
}

/**
 * JSON whose non-finite numbers (a Cohen's d of ±∞ when both sets are constant, its CI bound, a NaN
 * effect) are written as {"$num": "Infinity" | "-Infinity" | "NaN"} instead of JSON's null, so what is
 * read back equals what was written. report.json and diff.json use it.
 */
export function taggedJson(value: unknown, indent = 1): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? { $num: String(v) } : v), indent);
}

/** taggedJson's text parsed, its tagged non-finite numbers restored. */
export function parseTaggedJson(text: string): unknown {
  return JSON.parse(text, (_k, v: unknown) => {
    const tag = v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1 ? (v as { $num?: unknown }).$num : undefined;
    return tag === 'Infinity' || tag === '-Infinity' || tag === 'NaN' ? Number(tag) : v;
  });
}

/** report.json's text (taggedJson), so the report renders from its JSON exactly as it did from the data. Read it back with reportFromJson. */
export const reportToJson = (data: ReportData, indent = 1): string => taggedJson(data, indent);

/** The ReportData of a report.json text. */
export const reportFromJson = (text: string): ReportData => parseTaggedJson(text) as ReportData;
