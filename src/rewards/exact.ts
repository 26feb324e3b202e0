// exact: 1 when the output's final answer equals the reference's, else 0 — the exact match that
// `lab eval` measures on the embedded tasks (src/tasks/: arithmetic "#### 42", Velmic conlang "#### velo-ka").
//
// The final answer of a text: the rest of the line after its LAST "####" (src/tasks/index.ts extractFinal),
// whitespace runs collapsed to one space and thousands commas dropped ("1,000" → "1000"), as `lab eval`'s
// finalAnswer (src/cli/eval.ts) does. That function is not imported: src/cli/eval.ts imports node: modules.
//   - An output with no "####" scores 0 (an empty final answer, "####" at the very end, too).
//   - A reference with no "####" is a bare answer: all of it, trimmed, with the same normalisation.
//     A reference whose final answer is empty is a RewardInputError.
//   - The comparison ignores case, as `lab eval` (final.toLowerCase() === expected.toLowerCase()) and the
//     tasks' own score() do. Nothing else is forgiven: "36." ≠ "36", "18.0" ≠ "18" (use gsm8k for numbers).
import { extractFinal } from '../tasks/index.ts';
import { RewardInputError, type Sample } from './types.ts';

/** `lab eval`'s normalisation of a final answer: whitespace runs → one space, thousands commas dropped. */
function normalizeFinal(s: string): string {
  return s.replace(/\s+/g, ' ').replace(/,(?=\d{3}\b)/g, '');
}

/** The final answer of an output (the line after the last "####", normalised), or null when it has no "####". */
export function exactFinalAnswer(output: string): string | null {
  const f = extractFinal(output);
  return f === null ? null : normalizeFinal(f);
}

/** The reference's final answer: after its last "####", or the whole reference when it has none. */
export function exactReferenceAnswer(reference: string): string {
  const final = exactFinalAnswer(reference) ?? normalizeFinal(reference.trim());
  if (final === '') throw new RewardInputError(`exact: the reference has no final answer: ${JSON.stringify(reference.slice(0, 80))}`);
  return final;
}

/** 1 when the output's final answer equals the reference's (case ignored), else 0. */
export function exactReward(sample: Sample): number {
  if (sample.reference === undefined) throw new RewardInputError('exact: the sample has no reference');
  const want = exactReferenceAnswer(sample.reference);
  const got = exactFinalAnswer(sample.output);
  return got !== null && got.toLowerCase() === want.toLowerCase() ? 1 : 0;
}
