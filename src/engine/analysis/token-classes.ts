// Token classes of a prompt, as key masks [T] for the target masses of head-stats.ts (issue 12,
// item 2). Pure TypeScript: the tokenizer is only asked to decode. Classes are found on the DECODED
// text at character level and carried to tokens through each token's character span:
//
// SPANS. end_i = the longest common prefix of decode(ids[0..i]) with decode(ids) (monotone), span_i =
// [end_{i−1}, end_i). Cumulative decoding is what makes byte-level BPE work: a token holding part of a
// multi-byte character decodes alone to U+FFFD, so its span is empty and the character belongs to the
// token that completes it. Special tokens keep their text (decode without skipping), so spans of a
// prompt with BOS / chat markers still line up. Cost O(T²) decodes (T ≤ 512: fine).
// TOKEN RULE. A token is in a class when one of its non-whitespace characters is a class character
// (rule 'any', default: "vuka" is an affix piece because of "ka"), or, with rule 'all', when it has
// non-whitespace characters and all of them are (only pure affix tokens such as "ka").
//
// MATH (no item meta needed; works on any text):
//   numbers    characters \p{Nd} (a token "contains a digit"; the lab's tokenizers split digits one per token)
//   operators  + - − * / × ÷ = < > only (symbols, no words such as "plus" or "times"), EXCEPT a "-"
//              between two letters (a hyphen: "yo-yos") and "<" / ">" in a run of two or more (GSM8K's
//              calculator delimiters "<<3*4=12>>" are markup, not comparisons).
// VELMIC (conlang items; the meta written by src/tasks/conlang.ts, as `lab tasks --task conlang
// --items` prints it: kind, target / phrase, examples (the Sentence of every example line, in line
// order) and lexicon (root, gloss, kind, index)):
//   asked         the content words of the task line's target (roots for "Translate into English";
//                 English nouns, verbs, adjectives for "Translate into Velmic" / "Give the Velmic
//                 for"); the determiners "the" / "my" are not content words and are not asked.
//   aligned       words of the EXAMPLE lines that correspond to an asked word: Velmic words holding an
//                 asked root (alignedVelmic) and the English words glossing it (alignedEnglish), read
//                 from each example's Sentence, word slot by word slot (the grammar is fixed:
//                 Velmic  [noun(+ri+su+ka) adj?]_subj [noun… adj?]_obj? verb,
//                 English [the|my adj? noun]_subj verb [the|my adj? noun]_obj?); `groups` lists them
//                 per asked lexicon entry.
//   velmicWords / roots / affixPieces   every Velmic word anywhere in the text (examples, task line,
//                 the answer if present; found by conlang.ts's parseVelmicWord on each maximal run of
//                 letters), its root, and its affix morphemes (prefix lo-, suffixes -ri -su -ka).
//                 Affixes named in the answer's "Rules:" line ("-ri = plural") are mentions, not pieces.
// GAPS. (1) There is no Stoney Nakoda item generator in src/tasks (Velmic is a synthetic stand-in;
// Stoney data never enters the repo), so a Stoney prompt gets only the text-level classes here
// (numbers, operators; findVelmicWords finds nothing in it); aligned words and affix pieces for Stoney
// need per-item glosses (which words translate which) and a morpheme segmentation, which no item in
// the repo carries — a prompt-set row supplies them as its own "marks" (marks.ts) when such data exists.
// (2) The Velmic "ka" object marker and "lo" past prefix have no English word; they are affix pieces
// but never aligned, and "su" ↔ "my", "ri" ↔ the English plural are not aligned either (only roots and
// their glosses are). (3) The text must contain the item's question verbatim (the lab's prompts
// "Question: …\nAnswer:" and chat templates do); otherwise velmicClasses throws rather than guess.
import type { LabTokenizer } from '../model/tokenizer.ts';
import { parseVelmicWord, sentenceVelmic, sentenceEnglish, npEnglish, type ConlangMeta, type NP, type Sentence } from '../../tasks/conlang.ts';

/** Character spans [start, end) of every token in the decoded text. */
export interface TokenSpans {
  text: string;
  start: Int32Array; // [T]
  end: Int32Array; // [T]
}
export type CharRange = readonly [number, number];
export type TokenRule = 'any' | 'all';

/** Spans by cumulative decoding (see the header). */
export function tokenSpans(tok: Pick<LabTokenizer, 'decode'>, ids: readonly number[]): TokenSpans {
  const text = tok.decode([...ids]);
  const T = ids.length, start = new Int32Array(T), end = new Int32Array(T);
  let prev = 0;
  for (let i = 0; i < T; i++) {
    const pre = tok.decode(ids.slice(0, i + 1));
    let k = 0;
    while (k < pre.length && k < text.length && pre.charCodeAt(k) === text.charCodeAt(k)) k++;
    start[i] = prev;
    end[i] = prev = Math.max(prev, k);
  }
  return { text, start, end };
}

/** Token mask [T] of the class whose characters are `ranges` (the token rule of the header). */
export function tokensInRanges(spans: TokenSpans, ranges: readonly CharRange[], rule: TokenRule = 'any'): Uint8Array {
  const inClass = new Uint8Array(spans.text.length);
  for (const [a, b] of ranges) inClass.fill(1, Math.max(0, a), Math.min(spans.text.length, b));
  const out = new Uint8Array(spans.start.length);
  for (let t = 0; t < out.length; t++) {
    let some = false, all = true, any = false;
    for (let c = spans.start[t]; c < spans.end[t]; c++) {
      if (/\s/.test(spans.text[c])) continue;
      some = true;
      if (inClass[c]) any = true;
      else all = false;
    }
    out[t] = (rule === 'any' ? any : some && all) ? 1 : 0;
  }
  return out;
}

/** Ranges of the characters matched by a global regex. */
const matchRanges = (text: string, re: RegExp): CharRange[] => [...text.matchAll(re)].map((m) => [m.index!, m.index! + m[0].length] as const);

export const OPERATOR_CHARS = ['+', '-', '\u2212', '*', '/', '\u00d7', '\u00f7', '=', '<', '>'] as const;

/** Number characters (\p{Nd}). */
export const numberRanges = (text: string): CharRange[] => matchRanges(text, /\p{Nd}/gu);

/** Operator characters, without hyphens between letters and without "<<" / ">>" runs (the header). */
export function operatorRanges(text: string): CharRange[] {
  const out: CharRange[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (!(OPERATOR_CHARS as readonly string[]).includes(c)) continue;
    if (c === '-' && /\p{L}/u.test(text[i - 1] ?? '') && /\p{L}/u.test(text[i + 1] ?? '')) continue;
    if ((c === '<' || c === '>') && (text[i - 1] === c || text[i + 1] === c)) continue;
    out.push([i, i + 1]);
  }
  return out;
}

/** Math classes of any prompt: numbers and operators, as token masks [T]. */
export function mathClasses(spans: TokenSpans, rule: TokenRule = 'any'): { numbers: Uint8Array; operators: Uint8Array } {
  return { numbers: tokensInRanges(spans, numberRanges(spans.text), rule), operators: tokensInRanges(spans, operatorRanges(spans.text), rule) };
}

/** A Velmic word found in the text, with the character ranges of its morphemes. */
export interface VelmicWordSpan {
  word: string;
  at: number;
  root: CharRange;
  affixes: CharRange[];
}

/** Every Velmic word in `text` (maximal letter runs that parseVelmicWord accepts). */
export function findVelmicWords(text: string): VelmicWordSpan[] {
  const out: VelmicWordSpan[] = [];
  for (const m of text.matchAll(/\p{L}+/gu)) {
    const parts = parseVelmicWord(m[0]);
    if (!parts) continue;
    let c = m.index!;
    let root: CharRange = [c, c];
    const affixes: CharRange[] = [];
    for (const part of parts) {
      const bare = part.replace('-', '');
      if (part.includes('-')) affixes.push([c, c + bare.length]);
      else root = [c, c + bare.length];
      c += bare.length;
    }
    out.push({ word: m[0], at: m.index!, root, affixes });
  }
  return out;
}

/** One asked lexicon entry and its token positions. */
export interface AlignedGroup {
  /** "noun:5", "verb:3", "adj:6" (the lexicon's kind:index) */
  key: string;
  root: string;
  gloss: string;
  /** tokens of the asked word(s) in the task line */
  asked: number[];
  /** tokens of example Velmic words holding the root */
  velmic: number[];
  /** tokens of example English words glossing it */
  english: number[];
}

export interface VelmicClasses {
  velmicWords: Uint8Array;
  roots: Uint8Array;
  affixPieces: Uint8Array;
  asked: Uint8Array;
  aligned: Uint8Array;
  alignedVelmic: Uint8Array;
  alignedEnglish: Uint8Array;
  groups: AlignedGroup[];
}

type Slot = string | null; // lexicon key of a word, null for a determiner
const npKeys = (np: NP): Slot[] => [`noun:${np.noun}`, ...(np.adj === null ? [] : [`adj:${np.adj}`])]; // Velmic order
const npKeysEn = (np: NP): Slot[] => [null, ...(np.adj === null ? [] : [`adj:${np.adj}`]), `noun:${np.noun}`]; // English order
const velmicSlots = (s: Sentence): Slot[] => [...npKeys(s.subj), ...(s.obj ? npKeys(s.obj) : []), `verb:${s.verb}`];
const englishSlots = (s: Sentence): Slot[] => [...npKeysEn(s.subj), `verb:${s.verb}`, ...(s.obj ? npKeysEn(s.obj) : [])];

/** Words of `str` (placed at `at` in the text) with their slots; throws when the counts disagree. */
function slotWords(str: string, at: number, slots: Slot[], what: string): Array<{ range: CharRange; key: Slot }> {
  const words = [...str.matchAll(/\S+/g)];
  if (words.length !== slots.length) throw new Error(`token-classes: ${what} "${str}" has ${words.length} words, its structure ${slots.length}`);
  return words.map((w, i) => ({ range: [at + w.index!, at + w.index! + w[0].length] as const, key: slots[i] }));
}

/** Token indices of a mask. */
const indices = (m: Uint8Array): number[] => [...m.keys()].filter((i) => m[i]);

/**
 * Velmic classes of a conlang item's prompt. `questionAt` is where item.question starts in
 * spans.text (default: its first occurrence). Throws when the text or meta do not match the grammar.
 */
export function velmicClasses(item: { question: string; meta: ConlangMeta }, spans: TokenSpans, opts: { questionAt?: number; rule?: TokenRule } = {}): VelmicClasses {
  const { text } = spans, meta = item.meta, rule = opts.rule ?? 'any';
  const q0 = opts.questionAt ?? text.indexOf(item.question);
  if (q0 < 0 || text.slice(q0, q0 + item.question.length) !== item.question) throw new Error('token-classes: the decoded prompt does not contain this item\'s question');
  const lex = meta.lexicon;
  const entry = (key: string) => lex.find((e) => `${e.kind}:${e.index}` === key);
  // Lines of the question with their offsets: header, examples, task line.
  const lines: Array<{ s: string; at: number }> = [];
  let at = q0;
  for (const s of item.question.split('\n')) { lines.push({ s, at }); at += s.length + 1; }
  if (lines.length !== meta.examples.length + 2) throw new Error(`token-classes: ${lines.length - 2} example lines but ${meta.examples.length} examples in meta`);
  // Example lines: Velmic and English sides, word slot by word slot.
  const exVelmic: Array<{ range: CharRange; key: Slot }> = [], exEnglish: Array<{ range: CharRange; key: Slot }> = [];
  meta.examples.forEach((s, i) => {
    const { s: line, at: a } = lines[i + 1];
    const v = sentenceVelmic(s, lex), e = sentenceEnglish(s);
    if (line !== `${v} = ${e}`) throw new Error(`token-classes: example line ${i + 1} "${line}" is not its meta "${v} = ${e}"`);
    exVelmic.push(...slotWords(v, a, velmicSlots(s), 'Velmic example'));
    exEnglish.push(...slotWords(e, a + v.length + 3, englishSlots(s), 'English example'));
  });
  // Task line: the target after ": ", in the language the puzzle gives it in.
  const task = lines[lines.length - 1];
  const gAt = task.s.indexOf(': ') + 2;
  const given = task.s.slice(gAt);
  let askedWords: Array<{ range: CharRange; key: Slot }>;
  if (meta.kind === 'phrase_to_velmic') {
    if (!meta.phrase || given !== npEnglish(meta.phrase)) throw new Error(`token-classes: task "${given}" is not the phrase in meta`);
    askedWords = slotWords(given, task.at + gAt, npKeysEn(meta.phrase), 'phrase');
  } else {
    const t = meta.target;
    if (!t) throw new Error(`token-classes: a ${meta.kind} item needs meta.target`);
    const velmic = meta.kind === 'to_english';
    const want = velmic ? sentenceVelmic(t, lex) : sentenceEnglish(t);
    if (given !== want) throw new Error(`token-classes: task "${given}" is not the target "${want}" in meta`);
    askedWords = slotWords(given, task.at + gAt, velmic ? velmicSlots(t) : englishSlots(t), 'target');
  }
  askedWords = askedWords.filter((w) => w.key !== null);
  const askedKeys = [...new Set(askedWords.map((w) => w.key!))];
  const mask = (ws: Array<{ range: CharRange }>) => tokensInRanges(spans, ws.map((w) => w.range), rule);
  const groups: AlignedGroup[] = askedKeys.map((key) => {
    const e = entry(key);
    if (!e) throw new Error(`token-classes: asked word ${key} is not in meta.lexicon`);
    return {
      key, root: e.root, gloss: e.gloss,
      asked: indices(mask(askedWords.filter((w) => w.key === key))),
      velmic: indices(mask(exVelmic.filter((w) => w.key === key))),
      english: indices(mask(exEnglish.filter((w) => w.key === key))),
    };
  });
  const keySet = new Set(askedKeys);
  const alignedVelmic = mask(exVelmic.filter((w) => w.key !== null && keySet.has(w.key)));
  const alignedEnglish = mask(exEnglish.filter((w) => w.key !== null && keySet.has(w.key)));
  const words = findVelmicWords(text);
  return {
    velmicWords: tokensInRanges(spans, words.map((w) => [w.at, w.at + w.word.length] as const), rule),
    roots: tokensInRanges(spans, words.map((w) => w.root), rule),
    affixPieces: tokensInRanges(spans, words.flatMap((w) => w.affixes), rule),
    asked: mask(askedWords),
    aligned: alignedVelmic.map((x, i) => x | alignedEnglish[i]),
    alignedVelmic,
    alignedEnglish,
    groups,
  };
}

/** The target classes of a task item's prompt: math classes always, Velmic classes for conlang items. */
export function itemClasses(item: { task: string; question: string; meta: unknown }, spans: TokenSpans, rule: TokenRule = 'any'): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = { ...mathClasses(spans, rule) };
  if (item.task === 'conlang') {
    const { groups: _groups, ...masks } = velmicClasses(item as { question: string; meta: ConlangMeta }, spans, { rule });
    Object.assign(out, masks);
  }
  return out;
}
