// The rows an evaluation answers and what each model's answers score, as `lab eval` has always written
// them (src/cli/eval.ts is now a flag parser around Engine.evaluate; the Evaluate page calls the same):
//   exact (default)   {"question", "answer"} rows whose answer ends in "#### <final answer>" (GSM8K form,
//                     the embedded task sets); an output is correct when its final answer (the text after
//                     its last "####") equals the reference's. Result: {model, adapter, data, metric,
//                     accuracy, correct, n, score, ci95, items: [{line, question, expected, output, final, correct}]}.
//   gsm8k, chrf, chrf++, stoney-rubric   rows in any form GRPO reads (rl/grpo-data.ts), each with a
//                     reference. Result: {model, adapter, data, metric, score, ci95, n, items: [{line,
//                     prompt, reference, output, score}]} (chrF: the corpus score, 0–100; the others: the mean).
// The key order is the file format (the CLI writes these objects as they are). No node: imports.
import type { LabTokenizer } from '../model/tokenizer.ts';
import { promptIds } from '../train/data.ts';
import { nfc } from '../util/nfc.ts';
import { loadGrpoData } from '../rl/grpo-data.ts';
import { RewardInputError, scoreSet, type EvalMetric, type Sample } from '../../rewards/index.ts';
import { extractFinal } from '../../tasks/index.ts';

/** A problem with the evaluation's data or settings, naming the file and line; the CLI exits 2 on it. */
export class EvalInputError extends Error {
  override name = 'EvalInputError';
}

/** The final answer of a worked answer: extractFinal's line after the last "####", spaces collapsed, thousands commas dropped. */
export function finalAnswer(text: string): string | null {
  return extractFinal(text)?.replace(/\s+/g, ' ').replace(/,(?=\d{3}\b)/g, '') ?? null;
}

/** One row to answer: its prompt ids, and what the metric judges the output against. */
export interface EvalRow {
  /** 1-based line in the data text */
  line: number;
  prompt: string;
  ids: number[];
  reference: string;
  task?: Sample['task'];
  /** exact: the reference's final answer */
  expected?: string;
}

/** exact's item: the question, the expected and the model's final answer. */
export interface ExactItem {
  line: number;
  question: string;
  expected: string;
  output: string;
  final: string | null;
  correct: boolean;
}

/** The other metrics' item: the output and its own score (sentence chrF for chrF). */
export interface ScoredItem {
  line: number;
  prompt: string;
  reference: string;
  output: string;
  score: number;
}

/** A finished run whose adapter made a row (the page's rows; the CLI's adapters are folders). */
export interface EvalRunInfo {
  id: string;
  name: string;
  kind: 'sft' | 'grpo' | 'dpo' | 'reward-model';
  /** the model it was trained on, and its steps */
  model: string;
  steps: number;
  data: { name: string; sha256: string; rows: number };
  /** the run's governance.json (the data's decision and the terms the adapter inherits), or its record's decision */
  governance: Record<string, unknown> | null;
}

/** One model's result (one row of the table). */
export interface EvalModelResult {
  /** the loaded model's name (the CLI: its --model folder) */
  model: string;
  /** the adapter applied (its name, the CLI: its folder), or null for the base model */
  adapter: string | null;
  /** the data's name (the CLI: its --data path) */
  data: string;
  metric: EvalMetric;
  /** exact only: the share correct and the count */
  accuracy?: number;
  correct?: number;
  n: number;
  /** the set's score: a mean (0–1 for exact and gsm8k) or chrF's corpus score (0–100) */
  score: number;
  /** percentile bootstrap 95% interval over the items (1000 resamples from the seed) */
  ci95: [number, number];
  items: ExactItem[] | ScoredItem[];
  /** the stored run the adapter came from (not written by the CLI) */
  run?: EvalRunInfo;
}

/** The rows of a JSONL text for `metric`; `nCtx`/`maxNew` bound the prompts (a prompt needs room for one new token). */
export function evalRows(text: string, file: string, metric: EvalMetric, tok: LabTokenizer, nCtx: number, maxNew: number): EvalRow[] {
  if (metric === 'exact') {
    const rows: EvalRow[] = [];
    text.split('\n').forEach((raw, i) => {
      if (!raw.trim()) return;
      let r: { question?: unknown; answer?: unknown };
      try {
        r = nfc(JSON.parse(raw));
      } catch {
        throw new EvalInputError(`${file}:${i + 1}: not valid JSON`);
      }
      if (typeof r.question !== 'string' || typeof r.answer !== 'string') throw new EvalInputError(`${file}:${i + 1}: needs "question" and "answer" strings`);
      const expected = finalAnswer(r.answer);
      if (expected === null) throw new EvalInputError(`${file}:${i + 1}: the answer has no "#### <final answer>" line`);
      rows.push({ line: i + 1, prompt: r.question, ids: promptIds(tok, r.question), reference: r.answer, expected });
    });
    return rows;
  }
  // a prompt needs room for one new token here; the answering loop cuts each batch's answers to the room left
  const { items, problems } = loadGrpoData(text, tok, { file, nCtx, maxNewTokens: Math.min(maxNew, 1) });
  if (problems.length) throw new EvalInputError(problems.slice(0, 5).map((p) => p.message).join('\n') + (problems.length > 5 ? `\n… and ${problems.length - 5} more` : ''));
  return items.map((it) => {
    if (it.reference === undefined) throw new EvalInputError(`${file}:${it.line}: no reference to score ${metric} against (an answer, ideal_answer, reference or assistant turn)`);
    return { line: it.line, prompt: it.prompt, ids: it.ids, reference: it.reference, task: it.task };
  });
}

/** One model's result object (see the header), its CI from `seed`. */
export function evalResult(metric: EvalMetric, rows: readonly EvalRow[], outs: readonly string[], seed: number, who: { model: string; adapter: string | null; data: string }): EvalModelResult {
  let scored;
  try {
    scored = scoreSet(metric, rows.map((r, i) => ({ output: outs[i], reference: r.reference, task: r.task })), { seed });
  } catch (e) {
    if (e instanceof RewardInputError) throw new EvalInputError(`${who.data}: ${e.message}`);
    throw e;
  }
  if (metric === 'exact') {
    const items: ExactItem[] = rows.map((r, i) => {
      const final = finalAnswer(outs[i]);
      return { line: r.line, question: r.prompt, expected: r.expected!, output: outs[i], final, correct: final !== null && final.toLowerCase() === r.expected!.toLowerCase() };
    });
    const correct = items.filter((x) => x.correct).length;
    return { ...who, metric, accuracy: correct / rows.length, correct, n: rows.length, score: scored.score, ci95: scored.ci95, items };
  }
  const items: ScoredItem[] = rows.map((r, i) => ({ line: r.line, prompt: r.prompt, reference: r.reference, output: outs[i], score: scored.sentence[i] }));
  return { ...who, metric, score: scored.score, ci95: scored.ci95, n: rows.length, items };
}
