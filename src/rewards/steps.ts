// steps: partial credit for the worked steps — the F1 between the clauses of the output's reasoning and the
// reference's. A denser signal than exact match for GRPO where the final answer hangs on one step: in a
// Velmic puzzle the answer is right in 265 of 268 cases where the "Words:" line (which root means which
// word) is right (models/lab-default/README.md), so credit for each right root pair rewards the step the
// model gets wrong, not only the whole answer. Meant to be weighted beside `exact` (e.g. exact:1,steps:0.5).
//
// The reasoning of a text: everything before its LAST "####" (all of it when it has none). Its clauses: each
// line with a leading label ("Words:", "In total:" — a word or words and a colon at the line's start) dropped,
// split at ", ", "; " and at a full stop that ends the line or is followed by a space (so "2.5" and
// "<<6+3=9>>9" stay whole); each clause lower-cased, whitespace runs collapsed, empty ones dropped.
//   Velmic  "Words: vifu = mouse, favi = young." → ["vifu = mouse", "favi = young"]
//   GSM8K   "In total: 12*9 = <<12*9=108>>108 letters." → ["12*9 = <<12*9=108>>108 letters"]
// The score: 2·m / (|output clauses| + |reference clauses|), m = clauses in common counted with multiplicity
// (a clause repeated twice in the output matches at most as often as the reference has it); order is not
// scored (the final answer is exact's). 0 for an output with no clauses; a reference with none is an error.
import { RewardInputError, type Sample } from './types.ts';

/** The clauses of a text's reasoning (before its last "####"), normalised as the header says. */
export function stepClauses(text: string): string[] {
  const at = text.lastIndexOf('####');
  const reasoning = at < 0 ? text : text.slice(0, at);
  const out: string[] = [];
  for (const line of reasoning.split('\n')) {
    const body = line.replace(/^\s*[A-Za-z][A-Za-z ]{0,30}:\s+/, '');
    for (const part of body.split(/[,;]\s+|\.(?=\s|$)/)) {
      const c = part.replace(/\s+/g, ' ').trim().toLowerCase();
      if (c) out.push(c);
    }
  }
  return out;
}

/** F1 of the output's reasoning clauses against the reference's, in [0, 1]. */
export function stepsReward(sample: Sample): number {
  if (sample.reference === undefined) throw new RewardInputError('steps: the sample has no reference');
  const want = stepClauses(sample.reference);
  if (want.length === 0) throw new RewardInputError(`steps: the reference has no worked steps before its "####": ${JSON.stringify(sample.reference.slice(0, 80))}`);
  const got = stepClauses(sample.output);
  if (got.length === 0) return 0;
  const left = new Map<string, number>();
  for (const c of want) left.set(c, (left.get(c) ?? 0) + 1);
  let m = 0;
  for (const c of got) {
    const n = left.get(c) ?? 0;
    if (n > 0) {
      m++;
      left.set(c, n - 1);
    }
  }
  return (2 * m) / (got.length + want.length);
}
