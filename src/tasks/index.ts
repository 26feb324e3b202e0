// Task registry for the lab's embedded default model (issue 5): seeded, deterministic generators
// of small reasoning tasks, their GSM8K-form SFT rows and one exact-match scorer.
//
//   arithmetic — GSM8K-format word problems (1–3 steps, <<a*b=c>> annotations, "#### n").
//   conlang    — Rosetta-style puzzles in "Velmic", a SYNTHETIC CONSTRUCTED LANGUAGE invented by a
//                seeded generator (not a real language; it contains no words of Stoney Nakoda or
//                of any other real language). Offline stand-in for Linguistics-Olympiad tasks.
//
// Every item ends its answer with "#### <final>", so score() works the same for both tasks.
import { generateArithmetic, ARITHMETIC_DESCRIPTION } from './arithmetic.ts';
import { generateConlang, CONLANG_DESCRIPTION } from './conlang.ts';
import { normalizeText } from './rng.ts';

export type TaskName = 'arithmetic' | 'conlang';
export { SPLITS, isSplit, type Split } from './split.ts';
import type { Split } from './split.ts';

export interface TaskItem<M = Record<string, unknown>> {
  /** Unique within (task, split, seed): `${task}-${split}-${seed}-${index}`. */
  id: string;
  task: TaskName;
  split: Split;
  question: string;
  /** Full worked answer: reasoning lines, then a last line "#### <final>". */
  answer: string;
  /** The exact short answer used for exact-match scoring (what follows "####"). */
  final: string;
  /** Conlang items only: the constructed-language label, carried on every item. */
  language?: string;
  /** Everything needed to recompute `final` (operands and ops, or sentence structures). */
  meta: M;
}

export interface TaskSpec {
  name: TaskName;
  description: string;
  /** Same (split, n, seed) → identical items; the first k items do not depend on n. */
  generate(split: Split, n: number, seed: number): TaskItem[];
}

export const TASKS: readonly TaskSpec[] = [
  { name: 'arithmetic', description: ARITHMETIC_DESCRIPTION, generate: generateArithmetic },
  { name: 'conlang', description: CONLANG_DESCRIPTION, generate: generateConlang },
];

export function getTask(name: string): TaskSpec {
  const t = TASKS.find((x) => x.name === name);
  if (!t) throw new Error(`unknown task "${name}"; known tasks: ${TASKS.map((x) => x.name).join(', ')}`);
  return t;
}

/** GSM8K row form; src/engine/train/data.ts accepts {"question", "answer"} rows. */
export function toSftRow(item: TaskItem): { question: string; answer: string } {
  return { question: item.question, answer: item.answer };
}

/** Items as JSONL of GSM8K rows, one per line (what the lab's SFT loader reads). */
export function toSftJsonl(items: readonly TaskItem[]): string {
  return items.map((it) => JSON.stringify(toSftRow(it))).join('\n') + (items.length ? '\n' : '');
}

/**
 * The final answer a model wrote: the rest of the line after the LAST "####" (GSM8K's marker),
 * or null when there is none. Only the line is taken so that text generated after the answer
 * line (a new "Question:" ...) does not spoil a correct answer.
 */
export function extractFinal(output: string): string | null {
  const at = output.lastIndexOf('####');
  if (at < 0) return null;
  return output.slice(at + 4).split('\n')[0].trim();
}

/** Exact match of the final answer after whitespace/case normalisation (nothing else: "36." ≠ "36"). */
export function score(item: TaskItem, modelOutput: string): boolean {
  const got = extractFinal(modelOutput);
  return got !== null && got.length > 0 && normalizeText(got) === normalizeText(item.final);
}
