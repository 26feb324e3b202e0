// The report's numbers from two prompt sets on the loaded model (issue 12, item 6): one code path for
// `lab analyze report` and the page. Head statistics with each head's selectivity (raw and position-
// controlled), the logit lens at the final answer's tokens and the all-heads ablation sweep, with
// bootstrap CIs; the caller renders it (report.ts) and writes or shows it.
import type { LlamaModel } from '../model/llama.ts';
import type { LabTokenizer } from '../model/tokenizer.ts';
import { qaPrompt } from '../train/data.ts';
import { Rng } from '../util/rng.ts';
import { sha256Hex } from '../util/sha256.ts';
import { analysisPrompt, compareHeads, patternTables, type QuerySet, type TaskRow } from './heads.ts';
import { ablationSweep, finalAnswerPositions, lensByLayer } from './causal.ts';
import { bootstrapMeanCI } from './selectivity.ts';
import type { HeadEffect, LensCurve, ReportData, ReportTaskSet } from './report-data.ts';
import type { AdapterTerms } from './report-terms.ts';

export interface ReportSetInput {
  label: string;
  /** the file's name and its exact text (hashed into the report) */
  file: string;
  text: string;
  /** the rows to use (already sampled), and how many the file has */
  rows: TaskRow[];
  total: number;
  provenance: Record<string, unknown> | null;
}

export interface ReportInput {
  model: LlamaModel;
  tokenizer: LabTokenizer;
  modelName: string;
  adapterName: string | null;
  /** the terms of the adapter's data (its governance.json), carried into the report */
  adapterTerms?: AdapterTerms;
  a: ReportSetInput;
  b: ReportSetInput;
  seed: number;
  nBoot: number;
  nPerm: number;
  queries: QuerySet;
  ablation: 'zero' | 'mean';
  command: string;
  labCommit: string | null;
}

export type ReportPhase = 'head statistics' | 'selectivity' | 'logit lens' | 'ablation sweep';

export async function buildReport(r: ReportInput, opts: { signal?: AbortSignal; onProgress?: (phase: ReportPhase, done: number, total: number) => void } = {}): Promise<ReportData> {
  const { model, tokenizer: tok } = r;
  const { n_layers: L, n_heads: H, d_model, d_vocab } = model.cfg;
  const seconds: Record<string, number> = {};
  const timed = async <T>(what: ReportPhase, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const out = await fn();
    seconds[what] = (performance.now() - t0) / 1000;
    return out;
  };
  const sets = [r.a, r.b];
  const prompts = sets.map((s) => s.rows.map((row) => analysisPrompt(tok, row)));
  const positions = prompts.map((ps) => ps.map((q) => finalAnswerPositions(tok, q)));
  const progress = (phase: ReportPhase, s: number) => (d: number, t: number) => opts.onProgress?.(phase, s * t + d, 2 * t);
  const tables = await timed('head statistics', async () => [
    await patternTables(model, prompts[0], { queries: r.queries, signal: opts.signal, onProgress: progress('head statistics', 0) }),
    await patternTables(model, prompts[1], { queries: r.queries, signal: opts.signal, onProgress: progress('head statistics', 1) }),
  ]);
  opts.onProgress?.('selectivity', 0, 1);
  const cmp = await timed('selectivity', async () => compareHeads(tables[0], tables[1], { nBoot: r.nBoot, nPerm: r.nPerm, seed: r.seed }));
  opts.onProgress?.('selectivity', 1, 1);
  const rng = new Rng(r.seed ^ 0x5eed);
  const curve = (lens: { logprob: number[][]; rank: number[][] }): LensCurve => {
    const rows = lens.logprob.map((lp, i) => ({ lp, rk: lens.rank[i] })).filter((x) => x.lp.length);
    const stats = Array.from({ length: L + 1 }, (_, k) => bootstrapMeanCI(rows.map((x) => x.lp[k]), r.nBoot, 0.95, rng));
    const rank = Array.from({ length: L + 1 }, (_, k) => rows.reduce((a, x) => a + x.rk[k], 0) / Math.max(rows.length, 1));
    return { logprob: stats.map((s) => s.mean), logprobCi: stats.map((s) => s.ci), rank, n: rows.length };
  };
  const lens = await timed('logit lens', async () => {
    const out: LensCurve[] = [];
    for (let s = 0; s < 2; s++) out.push(curve(await lensByLayer(model, prompts[s], positions[s], opts.signal, progress('logit lens', s))));
    return out;
  });
  const effects = await timed('ablation sweep', async () => {
    const out: HeadEffect[][] = [];
    for (let s = 0; s < 2; s++) {
      const sw = await ablationSweep(model, prompts[s], positions[s], { mode: r.ablation, signal: opts.signal, onProgress: progress('ablation sweep', s) });
      out.push(sw.effect.flatMap((row, layer) => row.map((e, head) => {
        const m = bootstrapMeanCI(e, r.nBoot, 0.95, rng);
        return { layer, head, mean: m.mean, ci: m.ci, n: m.n };
      })));
    }
    return out;
  });
  const set = async (s: ReportSetInput): Promise<ReportTaskSet> => ({
    label: s.label, file: s.file, n: s.rows.length, rows: s.total, sha256: await sha256Hex(s.text), provenance: s.provenance,
    examples: s.rows.slice(0, 3).map((row) => `${qaPrompt(row.question)} ${row.answer}`),
  });
  return {
    schema: 'lab-analysis-report-v1', createdAt: new Date().toISOString(),
    reproduce: { command: r.command, seed: r.seed, nBoot: r.nBoot, nPerm: r.nPerm, queries: r.queries, ablation: r.ablation, labCommit: r.labCommit },
    model: { name: r.modelName, layers: L, heads: H, dModel: d_model, vocab: d_vocab },
    adapter: r.adapterName ? { name: r.adapterName, ...(r.adapterTerms ? { terms: r.adapterTerms } : {}) } : null,
    tasks: { a: await set(r.a), b: await set(r.b) },
    selectivity: cmp.rows, lens: { a: lens[0], b: lens[1] }, ablation: { a: effects[0], b: effects[1] }, seconds,
  };
}
