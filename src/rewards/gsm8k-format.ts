// gsm8k-format: the four rewards of the widely used GRPO GSM8K recipe (the GRPOtuned format), each a part:
//
//   correctness 2.0  the <answer> content equals the reference answer (string equality after strip)
//   integer     0.5  the <answer> content is all digits (Python's str.isdigit(): no sign, no point)
//   strict      0.5  the whole output is /^<reasoning>\n.*?\n<\/reasoning>\n<answer>\n.*?\n<\/answer>\n$/s
//   soft        0.5  the output starts with /<reasoning>.*?<\/reasoning>\s*<answer>.*?<\/answer>/s
//   total = the sum (0 … 3.5)
//
// As in the recipe (Python):
//   - the answer is text.split("<answer>")[-1].split("</answer>")[0].strip(): the part after the LAST
//     "<answer>" up to the next "</answer>"; with no "<answer>" at all it is the whole output.
//   - the reference answer is text.split("####")[1].strip() (a GSM8K answer), or the reference stripped
//     when it has no "####" (a bare answer). No numeric comparison: "18.0" ≠ "18", as in the recipe.
//   - re.match anchors at the start only; Python's "$" (no MULTILINE) matches at the end or before one
//     final "\n", so the strict check also accepts one extra trailing newline. Reproduced below.
//   - \s and strip() use Python's whitespace set (text.ts).
// Chosen here: DOTALL for both checks. The brief fixes it for strict; the recipe's soft check has no
// DOTALL, which fails every multi-line reasoning (even each output the strict check accepts), so soft uses
// DOTALL too and strict ⇒ soft.
import { PY_WHITESPACE, pyIsDigit, pyStrip } from './text.ts';
import { RewardInputError, type Sample } from './types.ts';

export interface Gsm8kFormatParts {
  correctness: number;
  integer: number;
  strict: number;
  soft: number;
  total: number;
}

// Python's `$` without MULTILINE: the end, or just before a final "\n" → (?=\n?$) in JS (no m flag).
const STRICT = /^<reasoning>\n[^]*?\n<\/reasoning>\n<answer>\n[^]*?\n<\/answer>\n(?=\n?$)/u;
const SOFT = new RegExp(`^<reasoning>[^]*?</reasoning>[${PY_WHITESPACE}]*<answer>[^]*?</answer>`, 'u');

/** The recipe's extract_xml_answer. */
export function extractXmlAnswer(text: string): string {
  const afterOpen = text.split('<answer>').at(-1)!;
  return pyStrip(afterOpen.split('</answer>')[0]);
}

/** The recipe's extract_hash_answer for a GSM8K answer; a reference without "####" is used whole. */
export function hashAnswer(reference: string): string {
  const pieces = reference.split('####');
  return pyStrip(pieces.length > 1 ? pieces[1] : reference);
}

export function gsm8kFormatParts(sample: Sample): Gsm8kFormatParts {
  if (sample.reference === undefined) throw new RewardInputError('gsm8k-format: the sample has no reference');
  const out = sample.output;
  const answer = extractXmlAnswer(out);
  const correctness = answer === hashAnswer(sample.reference) ? 2.0 : 0;
  const integer = pyIsDigit(answer) ? 0.5 : 0;
  const strict = STRICT.test(out) ? 0.5 : 0;
  const soft = SOFT.test(out) ? 0.5 : 0;
  return { correctness, integer, strict, soft, total: correctness + integer + strict + soft };
}

export function gsm8kFormatReward(sample: Sample): number {
  return gsm8kFormatParts(sample).total;
}
