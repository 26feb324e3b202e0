// stoney-rubric: the rubric of the user's RL environment for rl_task items
// (shared/data/stoney/rl_task.schema.json: prompt, ideal_answer, verification_pattern, hints, ...):
//
//   total = 0.6 × exact + 0.3 × charF1 + 0.1 × verification
//
//   exact         1 when the output equals the reference (the task's ideal_answer) after normalisation, else 0
//   charF1        F1 of the two bags (multisets) of characters, whitespace ignored, after normalisation
//   verification  1/0: the task's verification_pattern matches the output; or, when the pattern is empty
//                 or absent, the share of the task's hints found in the output
//
// Where the issue is silent, chosen here:
//   - normalisation (for exact, charF1 and hints): Unicode NFC, then lower case (String.toLowerCase, no
//     locale), then whitespace runs collapsed to one space and the ends trimmed (Python's whitespace set).
//     NFC so that "â" typed precomposed or as "a" + U+0302 is the same answer (unlike chrF, which must
//     equal sacrebleu and does not normalise). No other folding: "ʼ" (U+02BC) and "'" stay different
//     letters, as do "ṯ" and "t".
//   - charF1 counts code points; both bags empty → 1, one empty → 0.
//   - the pattern is searched anywhere in the output (Python's re.search, not fullmatch), as a JS RegExp
//     with the "u" flag (without it when the pattern is only valid that way, e.g. Python's "\-"), against the
//     NFC output with its case kept (the pattern may say (?i)). Python-only syntax is translated: named
//     groups (?P<n>…) and (?P=n), and leading inline flags (?i), (?s), (?m) → JS flags. A pattern that still
//     does not compile is a RewardInputError (a silent 0 would hide a broken task).
//   - hints: each hint (normalised; empty hints dropped) counts when it is a substring of the normalised
//     output; the share is found / number of hints.
//   - no pattern and no (non-empty) hints: the verification part does not exist and the other two keep
//     their proportions, total = (0.6 × exact + 0.3 × charF1) / 0.9, so a perfect answer scores 1 in every task.
import { collapseWhitespace, codePoints, removeWhitespace } from './text.ts';
import { RewardInputError, type RlTaskFields, type Sample } from './types.ts';

/** The weights (the total is computed in tenths, below). */
export const STONEY_RUBRIC_WEIGHTS = { exact: 0.6, charF1: 0.3, verification: 0.1 } as const;

export interface StoneyRubricParts {
  exact: number;
  charF1: number;
  /** null when the task has neither a pattern nor hints. */
  verification: number | null;
  verificationKind: 'pattern' | 'hints' | 'none';
  total: number;
}

/** NFC, lower case, whitespace collapsed and trimmed. */
export function rubricNormalize(s: string): string {
  return collapseWhitespace(s.normalize('NFC').toLowerCase());
}

/** F1 of the character multisets of a and b (already normalised), whitespace removed. */
export function charBagF1(a: string, b: string): number {
  const ca = codePoints(removeWhitespace(a)), cb = codePoints(removeWhitespace(b));
  if (ca.length === 0 && cb.length === 0) return 1;
  if (ca.length === 0 || cb.length === 0) return 0;
  const bag = new Map<string, number>();
  for (const c of cb) bag.set(c, (bag.get(c) ?? 0) + 1);
  let overlap = 0;
  for (const c of ca) {
    const n = bag.get(c) ?? 0;
    if (n > 0) {
      overlap++;
      bag.set(c, n - 1);
    }
  }
  if (overlap === 0) return 0;
  const precision = overlap / ca.length, recall = overlap / cb.length;
  return (2 * precision * recall) / (precision + recall);
}

const compiled = new Map<string, RegExp>();

/** A verification_pattern (Python re syntax) as a JS RegExp; see the header for what is translated. */
export function compileVerificationPattern(pattern: string): RegExp {
  const hit = compiled.get(pattern);
  if (hit) return hit;
  let src = pattern.normalize('NFC');
  let flags = '';
  const lead = /^\(\?([ims]+)\)/.exec(src);
  if (lead) {
    flags = [...new Set(lead[1])].join('');
    src = src.slice(lead[0].length);
  }
  src = src.replace(/\(\?P</g, '(?<').replace(/\(\?P=(\w+)\)/g, '\\k<$1>');
  let re: RegExp | undefined;
  for (const f of [flags + 'u', flags]) {
    try {
      re = new RegExp(src, f);
      break;
    } catch {
      /* next */
    }
  }
  if (!re) throw new RewardInputError(`stoney-rubric: the verification_pattern ${JSON.stringify(pattern)} is not a regular expression JavaScript can run`);
  compiled.set(pattern, re);
  return re;
}

function verification(output: string, task: RlTaskFields | undefined): { value: number | null; kind: StoneyRubricParts['verificationKind'] } {
  const pattern = task?.verification_pattern ?? '';
  if (pattern !== '') return { value: compileVerificationPattern(pattern).test(output.normalize('NFC')) ? 1 : 0, kind: 'pattern' };
  const hints = (task?.hints ?? []).map(rubricNormalize).filter((h) => h !== '');
  if (hints.length === 0) return { value: null, kind: 'none' };
  const out = rubricNormalize(output);
  return { value: hints.filter((h) => out.includes(h)).length / hints.length, kind: 'hints' };
}

export function stoneyRubricParts(sample: Sample): StoneyRubricParts {
  if (sample.reference === undefined) throw new RewardInputError('stoney-rubric: the sample has no reference (the task\'s ideal_answer)');
  const out = rubricNormalize(sample.output), ref = rubricNormalize(sample.reference);
  const exact = out === ref ? 1 : 0;
  const charF1 = charBagF1(out, ref);
  const v = verification(sample.output, sample.task);
  // in tenths, so that a perfect answer is exactly 1 (0.6 + 0.3 + 0.1 is 0.9999999999999999 in doubles)
  const total = v.value === null ? (6 * exact + 3 * charF1) / 9 : (6 * exact + 3 * charF1 + 1 * v.value) / 10;
  return { exact, charF1, verification: v.value, verificationKind: v.kind, total };
}

export function stoneyRubricReward(sample: Sample): number {
  return stoneyRubricParts(sample).total;
}
