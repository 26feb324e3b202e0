// gsm8k: 1 when the output's final answer equals the reference's numerically, else 0.
//
// Extraction, in order (the first that applies):
//   1. "hash"        — GSM8K's official rule (openai/grade-school-math, dataset.py): the FIRST match of
//                      /#### (\-?[0-9\.\,]+)/ (exactly one space after ####), commas removed. Python's
//                      re.search finds the first match; so do we (a model that goes on to write another
//                      "Question … #### n" after its answer is judged by its first answer).
//   2. "answer"      — no "#### n": the LAST "Answer: n" (case-insensitive, optional "$", commas removed),
//                      the form the Looper-Math evaluation prompts for.
//   3. "last-number" — neither: the last number in the output (commas inside it removed), the usual
//                      fallback of GSM8K evaluations. A "-" counts as a sign only when it does not follow a
//                      letter or digit ("16-3" is 16 and 3, not 16 and -3).
//   (The Looper-Math evaluation script itself is not in this repository; 2 and 3 follow the words.)
// The reference: a GSM8K answer ("… #### 18": rule 1) or a bare number ("18", "1,000"); anything else is a
// RewardInputError (a reference must be unambiguous; no fallback guessing on it).
//
// Comparison rule (chosen here): both strings that look like decimal numbers (-?digits[.digits], also "18."
// and ".5") are compared as numbers, so "18" = "18.0" = "18." and "1,000" = "1000"; exact float equality
// of the parsed values, no tolerance ("18.01" ≠ "18"; GSM8K answers are integers). When either side is
// not a number ("1.2.3"), the cleaned strings must be equal.
import { pyStrip } from './text.ts';
import { RewardInputError, type Sample } from './types.ts';

export type Gsm8kExtraction = { answer: string; how: 'hash' | 'answer' | 'last-number' } | { answer: null; how: null };

const HASH = /#### (-?[0-9.,]+)/;
const ANSWER = /answer\s*:\s*\$?\s*(-?[0-9][0-9,]*(?:\.[0-9]+)?)/gi;
const NUMBER = /(?:(?<![\p{L}\p{N}])-)?[0-9][0-9,]*(?:\.[0-9]+)?/gu;
const DECIMAL = /^-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)$/;

const noCommas = (s: string): string => s.replace(/,/g, '');

/** GSM8K's official extraction alone: the first "#### n", commas removed, or null ("[invalid]"). */
export function officialGsm8kAnswer(text: string): string | null {
  const m = HASH.exec(text);
  return m ? noCommas(pyStrip(m[1])) : null;
}

/**
 * extractGsm8kAnswer and where the match that found the answer starts in the output (its "####", its
 * "Answer", or its number; −1 when there is no answer). The text before `index` is the reasoning.
 */
export function locateGsm8kAnswer(output: string): Gsm8kExtraction & { index: number } {
  const hash = HASH.exec(output);
  if (hash) return { answer: noCommas(pyStrip(hash[1])), how: 'hash', index: hash.index };
  const answers = [...output.matchAll(ANSWER)];
  if (answers.length) {
    const last = answers[answers.length - 1];
    return { answer: noCommas(last[1]), how: 'answer', index: last.index };
  }
  const numbers = [...output.matchAll(NUMBER)];
  if (numbers.length) {
    const last = numbers[numbers.length - 1];
    return { answer: noCommas(last[0]), how: 'last-number', index: last.index };
  }
  return { answer: null, how: null, index: -1 };
}

/** The final answer of a model's output, by the rules above, and which rule found it. */
export function extractGsm8kAnswer(output: string): Gsm8kExtraction {
  const found = locateGsm8kAnswer(output);
  return found.how === null ? { answer: null, how: null } : { answer: found.answer, how: found.how };
}

/** The reference's answer: its "#### n", or the reference itself when that is a bare number. */
export function gsm8kReferenceAnswer(reference: string): string {
  const official = officialGsm8kAnswer(reference);
  if (official !== null) return official;
  const bare = noCommas(pyStrip(reference));
  if (DECIMAL.test(bare)) return bare;
  throw new RewardInputError(`gsm8k: the reference has no "#### <number>" line and is not a number: ${JSON.stringify(reference.slice(0, 80))}`);
}

/** The comparison rule above: numeric when both are decimal numbers, else string equality. */
export function gsm8kAnswersEqual(a: string, b: string): boolean {
  if (DECIMAL.test(a) && DECIMAL.test(b)) return Number(a) === Number(b);
  return a === b;
}

/** 1 when the output's answer equals the reference's, else 0 (also 0 when the output has no number). */
export function gsm8kReward(sample: Sample): number {
  if (sample.reference === undefined) throw new RewardInputError('gsm8k: the sample has no reference');
  const want = gsm8kReferenceAnswer(sample.reference);
  const got = extractGsm8kAnswer(sample.output).answer;
  return got !== null && gsm8kAnswersEqual(got, want) ? 1 : 0;
}
