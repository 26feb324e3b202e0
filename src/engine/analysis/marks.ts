// A prompt-set row's own token classes ("marks"), for what no generator annotates (issue 12, item 2): the
// aligned words and affix pieces of a Stoney item, which need a speaker's or linguist's glosses and morpheme
// segmentation. token-classes.ts finds numbers and operators in any text and Velmic's classes from an item's
// meta; a row of any other language names its classes itself:
//
//   {"question": "...", "answer": "...", "marks": {"aligned": ["wîcasta", "man"], "affixPieces": ["wîcasta[bi]"]}}
//
// MARKS. A class name (letters, digits, _ and -, starting with a letter; not a built-in class) maps to a list;
// each entry marks characters of the QUESTION (the prompt's text; the answer is not searched):
//   "text"          every occurrence of text as a whole word or phrase (no letter or digit just before or after
//                   it): "men" marks "men" but not the "men" inside "women";
//   "con[tex]t"     every occurrence of "context" (as above), marking only the bracketed part: "wîcasta[bi]"
//                   marks the "bi" of each "wîcastabi" (an affix inside a word); several brackets mark several
//                   parts; "[" and "]" are markup here, so text holding them is marked by a range instead;
//   [start, end]    the question's characters start ≤ i < end, counted in Unicode code points as Python's
//                   str indexes them (so "ṯẖ" is two, whatever its bytes).
// Each entry must mark something: a text that never occurs, or a range outside the question, is an error naming
// the class and entry (parseTaskRows adds the file and line). A class may be an empty list: that prompt has no
// such tokens (its mass is 0), which differs from not having the class. Every row of a set marks the same classes
// (parseTaskRows checks it), since a set's statistics are means over its prompts.
// Marks are matched on the NFC text (rows are read in NFC; util/nfc.ts), and become token masks by the token rule
// of token-classes.ts through each token's character span in the decoded prompt, which must hold the question.
// To compare a Stoney set with Velmic puzzles class by class, name the marks as Velmic's classes are named
// (aligned, affixPieces, roots, asked): selectivity compares the classes both sets have.
import { tokensInRanges, type CharRange, type TokenRule, type TokenSpans } from './token-classes.ts';

export type Mark = string | readonly [number, number];
export type RowMarks = Readonly<Record<string, readonly Mark[]>>;

/** Classes every prompt gets (token-classes.ts, any text): no row's marks may take these names. */
const MATH_CLASSES = new Set(['numbers', 'operators']);
/** Classes a Velmic item gets from its meta: its marks may not take these names (other rows' may, to compare with it). */
const VELMIC_CLASSES = new Set(['velmicWords', 'roots', 'affixPieces', 'asked', 'aligned', 'alignedVelmic', 'alignedEnglish']);
const NAME = /^\p{L}[\p{L}\p{N}_-]*$/u;
const WORDCHAR = /[\p{L}\p{N}\p{M}]/u;

const show = (m: Mark) => JSON.stringify(m);

/**
 * The marks of a row as checked data: throws (naming the class and entry) on a bad shape or name. `conlang`: the
 * row is a Velmic item, whose classes are built in (elsewhere their names are free for marks).
 */
export function checkMarks(v: unknown, conlang = false): RowMarks {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('"marks" must be an object of class name → list of marks');
  const out: Record<string, Mark[]> = {};
  for (const [name, list] of Object.entries(v as Record<string, unknown>)) {
    if (!NAME.test(name)) throw new Error(`marks: class name ${JSON.stringify(name)} must start with a letter and hold only letters, digits, _ and -`);
    if (MATH_CLASSES.has(name) || (conlang && VELMIC_CLASSES.has(name))) throw new Error(`marks: "${name}" is a built-in class of this row; name the marked class otherwise`);
    if (!Array.isArray(list)) throw new Error(`marks.${name} must be a list of texts or [start, end] ranges`);
    out[name] = list.map((m) => {
      if (typeof m === 'string') {
        if (!m.replace(/[[\]]/g, '').trim()) throw new Error(`marks.${name}: ${show(m)} marks nothing`);
        return m;
      }
      if (Array.isArray(m) && m.length === 2 && m.every((x) => Number.isInteger(x) && x >= 0) && m[0] < m[1]) return [m[0], m[1]] as const;
      throw new Error(`marks.${name}: ${JSON.stringify(m)} is neither a text nor a [start, end] range with 0 ≤ start < end`);
    });
  }
  return out;
}

/** A text mark split into its search text and the parts it marks (offsets in the search text). */
function parseText(m: string, cls: string): { find: string; parts: CharRange[] } {
  let find = '';
  const parts: CharRange[] = [];
  let open = -1;
  for (const ch of m) {
    if (ch === '[') {
      if (open >= 0) throw new Error(`marks.${cls}: ${show(m)} opens a bracket inside another`);
      open = find.length;
    } else if (ch === ']') {
      if (open < 0) throw new Error(`marks.${cls}: ${show(m)} closes a bracket it did not open`);
      if (find.length === open) throw new Error(`marks.${cls}: ${show(m)} has an empty bracket`);
      parts.push([open, find.length]);
      open = -1;
    } else find += ch;
  }
  if (open >= 0) throw new Error(`marks.${cls}: ${show(m)} leaves a bracket open`);
  return { find, parts: parts.length ? parts : [[0, find.length]] };
}

/** UTF-16 index of each code point index 0..n of s (n = the code point count). */
function codePointOffsets(s: string): number[] {
  const at = [0];
  for (const ch of s) at.push(at[at.length - 1] + ch.length);
  return at;
}

/** Character ranges (UTF-16, in `question`) of each class's marks; throws naming the class and entry that marks nothing. */
export function markRanges(question: string, marks: RowMarks): Record<string, CharRange[]> {
  const out: Record<string, CharRange[]> = {};
  let cp: number[] | null = null;
  for (const [cls, list] of Object.entries(marks)) {
    const ranges: CharRange[] = [];
    for (const m of list) {
      if (typeof m !== 'string') {
        cp ??= codePointOffsets(question);
        if (m[1] > cp.length - 1) throw new Error(`marks.${cls}: range ${show(m)} ends past the question's ${cp.length - 1} characters`);
        ranges.push([cp[m[0]], cp[m[1]]]);
        continue;
      }
      const { find, parts } = parseText(m, cls);
      let found = 0;
      const first = [...find][0], last = [...find].pop()!;
      for (let i = question.indexOf(find); i >= 0; i = question.indexOf(find, i + 1)) {
        const before = [...question.slice(Math.max(0, i - 2), i)].pop() ?? '';
        const after = [...question.slice(i + find.length, i + find.length + 2)][0] ?? '';
        if ((WORDCHAR.test(before) && WORDCHAR.test(first)) || (WORDCHAR.test(last) && WORDCHAR.test(after))) continue; // inside a longer word
        for (const [a, b] of parts) ranges.push([i + a, i + b]);
        found++;
      }
      if (!found) throw new Error(`marks.${cls}: ${show(m)} does not occur in the question as a whole word or phrase`);
    }
    out[cls] = ranges;
  }
  return out;
}

/**
 * Token masks [T] of a row's marks in a tokenized prompt whose decoded text holds the question (at `questionAt`,
 * default its first occurrence); throws when it does not.
 */
export function markClasses(question: string, marks: RowMarks, spans: TokenSpans, opts: { questionAt?: number; rule?: TokenRule } = {}): Record<string, Uint8Array> {
  const q0 = opts.questionAt ?? spans.text.indexOf(question);
  if (q0 < 0 || spans.text.slice(q0, q0 + question.length) !== question) throw new Error('marks: the decoded prompt does not contain the row\'s question');
  const out: Record<string, Uint8Array> = {};
  for (const [cls, ranges] of Object.entries(markRanges(question, marks))) {
    out[cls] = tokensInRanges(spans, ranges.map(([a, b]) => [q0 + a, q0 + b] as const), opts.rule);
  }
  return out;
}
