// "Velmic" Rosetta-style puzzles, seeded and deterministic (issue 5).
//
// VELMIC IS A CONSTRUCTED, SYNTHETIC LANGUAGE — NOT A REAL LANGUAGE. Its roots are random strings of
// invented CV syllables; no word is taken from Stoney Nakoda or from any other real language, and its
// grammar is not modelled on any. (Four-letter random roots can still match some word of some language
// by chance; well-known matches are screened out by AVOID.) Every item carries `language: VELMIC_LABEL`
// and says so in its question. It is the offline stand-in for Linguistics-Olympiad style reasoning
// (LINGOLY, modeLing): infer word meanings and affixes from a few examples, then apply them.
//
// Velmic GRAMMAR is fixed for the whole language (learnable across puzzles):
//   roots     C V C V from consonants v f l t k s r d n and vowels a e i o u; every root holds a
//             v or f (labiodentals, absent from the native sound inventory of the Siouan family,
//             an extra guard against accidental resemblance) and no affix syllable (so every
//             word splits into morphemes one way only).
//   noun word root + [ri plural] + [su "my"] + [ka object marker]      e.g. nivo-ri-su-ka
//   verb word [lo past] + root; bare root = present                    e.g. lo-vuve
//   word order SUBJECT OBJECT VERB (English is S V O); adjective AFTER its noun; no articles.
//   Velmic is written without hyphens: "nivorisu fele lovuve" = "my old horses slept".
//
// Velmic ROOTS are NOT fixed: every puzzle draws its own lexicon. It picks a few English glosses
// (6 nouns, 3 verbs, 2 adjectives from the word lists below) and gives each a FRESH random root,
// distinct within the puzzle. The same English word therefore gets unrelated roots in different
// puzzles ("dog" = tovi in one, fesa in the next), and a root's meaning can only be read from the
// puzzle's own examples; memorising roots cannot help (it is what made a model trained on a fixed
// lexicon answer held-out puzzles with the right grammar but the wrong, memorised roots).
//
// A puzzle: 3–6 example pairs (Velmic = English), then a NEW sentence to translate (either way) or
// a noun phrase to produce. Examples are drawn until they show every root the answer needs, each of
// its affixes ALONE on some word, the order of any suffixes it stacks and its word-order rules, plus
// a contrast (some word without the affix) for every affix they use; the target itself never appears
// among them. conlang.test.ts re-checks all of this from the text, and solves every puzzle from its
// text alone (grammar + English word forms + the examples).
//
// SPLIT RULE (root spaces): the well-formed roots (ROOT_SPACE, ~620 of them) are split in two by a
// fixed hash: a root is HELD-OUT iff hashSeed('velmic-heldout-root', root) % 5 === 0 (isHeldoutRoot),
// about a fifth of them. Train puzzles draw roots only from the other four fifths, held-out puzzles
// only from this fifth, so no held-out root, hence no held-out (root, gloss) pair and no held-out
// question, ever occurs in train. English glosses and sentence structures are shared by both splits
// (held-out answers need no English word that train lacks); what is new in held-out is every root.
// A hash, not a rule like "first syllable in a reserved set", so that every syllable still occurs in
// both word positions in train: held-out roots are new pairings of familiar syllables, not words that
// begin with a syllable (or a tokenizer piece) training never saw at a word start.
import type { TaskItem } from './index.ts';
import { checkSplit, type Split } from './split.ts';
import { TaskRng, hashSeed, collectDistinct } from './rng.ts';

export const VELMIC_LABEL = 'Velmic (constructed, synthetic — not a real language)';
export const CONLANG_DESCRIPTION =
  'Rosetta-style puzzles in Velmic, a synthetic constructed language (not a real language): 3–6 example ' +
  'pairs, then translate a new sentence or produce a phrase. Roots are fresh in every puzzle (read them from ' +
  'the examples; the grammar is fixed). Held-out split: roots from a reserved fifth of the root space. RL split: ' +
  'puzzles like train\'s (train roots, another stream).';

// ---- English side of the lexicon (glosses; every puzzle gives the ones it uses fresh roots) ----
/** [singular, plural]. */
const NOUNS: ReadonlyArray<[string, string]> = [
  ['dog', 'dogs'], ['cat', 'cats'], ['horse', 'horses'], ['bird', 'birds'], ['fox', 'foxes'], ['wolf', 'wolves'],
  ['bear', 'bears'], ['child', 'children'], ['woman', 'women'], ['man', 'men'], ['farmer', 'farmers'],
  ['baker', 'bakers'], ['sailor', 'sailors'], ['teacher', 'teachers'], ['king', 'kings'], ['girl', 'girls'],
  ['boy', 'boys'], ['friend', 'friends'], ['goat', 'goats'], ['mouse', 'mice'], ['rabbit', 'rabbits'],
  ['snake', 'snakes'], ['duck', 'ducks'], ['lion', 'lions'], ['cow', 'cows'], ['pig', 'pigs'], ['hen', 'hens'],
  ['crow', 'crows'], ['box', 'boxes'], ['stone', 'stones'], ['tree', 'trees'], ['boat', 'boats'],
  ['goose', 'geese'], ['whale', 'whales'], ['owl', 'owls'], ['ox', 'oxen'], ['tiger', 'tigers'],
  ['basket', 'baskets'], ['queen', 'queens'], ['frog', 'frogs'],
];
interface VerbGloss { base: string; s3: string; past: string; trans: boolean }
const v = (base: string, s3: string, past: string, trans: boolean): VerbGloss => ({ base, s3, past, trans });
const VERBS: readonly VerbGloss[] = [
  v('see', 'sees', 'saw', true), v('chase', 'chases', 'chased', true), v('carry', 'carries', 'carried', true),
  v('find', 'finds', 'found', true), v('hold', 'holds', 'held', true), v('eat', 'eats', 'ate', true),
  v('push', 'pushes', 'pushed', true), v('watch', 'watches', 'watched', true), v('help', 'helps', 'helped', true),
  v('call', 'calls', 'called', true), v('sleep', 'sleeps', 'slept', false), v('run', 'runs', 'ran', false),
  v('sing', 'sings', 'sang', false), v('jump', 'jumps', 'jumped', false), v('fall', 'falls', 'fell', false),
  v('walk', 'walks', 'walked', false), v('follow', 'follows', 'followed', true), v('wash', 'washes', 'washed', true),
  v('swim', 'swims', 'swam', false), v('laugh', 'laughs', 'laughed', false),
];
const ADJS: readonly string[] = ['big', 'small', 'red', 'old', 'young', 'white', 'black', 'green', 'tall'];
/** How many glosses of each kind one puzzle uses (its vocabulary; each gets a fresh root). */
const VOCAB = { nouns: 6, verbs: 3, adjs: 2 };

/** The English word lists, read-only (tests and solvers know English; only Velmic roots are unknown). */
export const ENGLISH = { nouns: NOUNS, verbs: VERBS, adjs: ADJS } as const;

// ---- Velmic affixes and the root space --------------------------------------------------------
export const AFFIX = { PL: 'ri', POSS: 'su', ACC: 'ka', PAST: 'lo' } as const;
const CONSONANTS = ['v', 'f', 'l', 't', 'k', 's', 'r', 'd', 'n'];
const VOWELS = ['a', 'e', 'i', 'o', 'u'];
const AFFIX_SYLLABLES = new Set<string>(Object.values(AFFIX));
/** Root syllables: every CV except the affix syllables (keeps segmentation unambiguous). */
export const ROOT_SYLLABLES: readonly string[] =
  CONSONANTS.flatMap((c) => VOWELS.map((x) => c + x)).filter((s) => !AFFIX_SYLLABLES.has(s));
/** Roots that happen to spell common words of English (or other widely known languages) are excluded. */
const AVOID = new Set(['dive', 'five', 'fire', 'fine', 'fade', 'fate', 'safe', 'sofa', 'tofu', 'lava', 'love', 'live',
  'rave', 'save', 'vote', 'vase', 'dove', 'nova', 'diva', 'fore', 'fuse', 'vine', 'vita', 'vida', 'vino', 'fino', 'fado',
  'fete', 'fife', 'feta', 'defi', 'kefi', 'revi', 'veto', 'vedi', 'vera', 'vive', 'vivo', 'fora', 'foto', 'fada', 'nave',
  'nevi', 'rive', 'sive', 'tava', 'vale', 'vane', 'veda', 'vela', 'vena', 'vila', 'vole', 'voto', 'fake', 'fame', 'fare',
  'vero', 'veni', 'vidi', 'vici', 'fido', 'tufa', 'fosa', 'lavo', 'fula', 'devi', 'reve', 'rafe', 'fase', 'vusa', 'fere',
  'divi', 'feve', 'fano', 'vodu', 'feli', 'fela', 'sofi', 'nafa', 'lefa', 'vide', 'dafo',
  'fera', 'vede', 'fata', 'sova', 'viso', 'tifo', 'fute', 'vore', 'fidi', 'vedo', 'vado', 'fiso']);

/** Every well-formed root: two different root syllables, holding v or f, not in AVOID (fixed order). */
export const ROOT_SPACE: readonly string[] = ROOT_SYLLABLES.flatMap((a) => ROOT_SYLLABLES.map((b) => a + b))
  .filter((x) => x.slice(0, 2) !== x.slice(2) && /[vf]/.test(x) && !AVOID.has(x));
const ROOT_SET = new Set(ROOT_SPACE);
export const isVelmicRoot = (w: string): boolean => ROOT_SET.has(w);
/** SPLIT RULE: the held-out fifth of the root space (a fixed hash of the root's spelling). */
export const isHeldoutRoot = (root: string): boolean => hashSeed('velmic-heldout-root', root) % 5 === 0;
/** The roots each split draws from; train's and heldout's are disjoint by construction (rl draws train's). */
const TRAIN_ROOTS = ROOT_SPACE.filter((x) => !isHeldoutRoot(x));
export const SPLIT_ROOTS: Readonly<Record<Split, readonly string[]>> = {
  train: TRAIN_ROOTS,
  heldout: ROOT_SPACE.filter(isHeldoutRoot),
  // RL prompts draw from the train roots: what is new to the model in a puzzle is its lexicon, not its roots
  rl: TRAIN_ROOTS,
};

/** One entry of a puzzle's lexicon: a fresh root and the English gloss it has in that puzzle only. */
export interface VelmicRoot {
  kind: 'noun' | 'verb' | 'adj';
  /** Index into this kind's gloss list (the index used in Sentence / NP). */
  index: number;
  root: string;
  /** English gloss: singular noun, bare verb, adjective. */
  gloss: string;
}
export type Lexicon = readonly VelmicRoot[];

const glossOf = (kind: VelmicRoot['kind'], index: number): string =>
  kind === 'noun' ? NOUNS[index][0] : kind === 'verb' ? VERBS[index].base : ADJS[index];

/** A puzzle's vocabulary (gloss indices per kind) with a fresh root each, distinct within the puzzle. */
function drawLexicon(r: TaskRng, split: Split, vocab: Vocab): VelmicRoot[] {
  const used = new Set<string>();
  const out: VelmicRoot[] = [];
  for (const [kind, ids] of [['noun', vocab.nouns], ['verb', vocab.verbs], ['adj', vocab.adjs]] as const) {
    for (const index of ids) {
      let root = r.pick(SPLIT_ROOTS[split]);
      while (used.has(root)) root = r.pick(SPLIT_ROOTS[split]);
      used.add(root);
      out.push({ kind, index, root, gloss: glossOf(kind, index) });
    }
  }
  return out;
}
function rootOf(lex: Lexicon, kind: VelmicRoot['kind'], index: number): VelmicRoot {
  const e = lex.find((x) => x.kind === kind && x.index === index);
  if (!e) throw new Error(`conlang: no ${kind} ${index} in this puzzle's lexicon`);
  return e;
}

/** Every English word form a root can take in a translation (for checks that glosses are shown). */
export function englishForms(e: Pick<VelmicRoot, 'kind' | 'index'>): string[] {
  if (e.kind === 'noun') return [...NOUNS[e.index]];
  if (e.kind === 'verb') { const g = VERBS[e.index]; return [g.base, g.s3, g.past]; }
  return [ADJS[e.index]];
}

/**
 * Splits one Velmic word into morphemes by the fixed grammar alone (no lexicon needed):
 * ["lo-", "feko"], ["tofa", "-ri", "-su", "-ka"]; null if not a well-formed Velmic word.
 * Unambiguous because no root syllable is an affix syllable: a word starting "lo" is a past verb.
 */
export function parseVelmicWord(word: string): string[] | null {
  if (word.startsWith(AFFIX.PAST)) return word.length === 6 && ROOT_SET.has(word.slice(2)) ? [`${AFFIX.PAST}-`, word.slice(2)] : null;
  const root = word.slice(0, 4);
  if (!ROOT_SET.has(root)) return null;
  const out = [root];
  // Suffixes (nouns only) in the fixed order plural, possessive, object.
  let rest = word.slice(4);
  for (const s of [AFFIX.PL, AFFIX.POSS, AFFIX.ACC]) {
    if (rest.startsWith(s)) { out.push(`-${s}`); rest = rest.slice(2); }
  }
  return rest === '' ? out : null;
}

// ---- sentences -----------------------------------------------------------------------------------
/** Noun phrase: noun index, plural, possessed by "my", optional adjective index. */
export interface NP { noun: number; pl: boolean; poss: boolean; adj: number | null }
/** Clause: subject, verb index, tense, object (present iff the verb is transitive). */
export interface Sentence { subj: NP; verb: number; past: boolean; obj: NP | null }

/** Velmic noun phrase in this puzzle's lexicon: noun word (+ri +su +ka), then the adjective. */
export function npVelmic(np: NP, object: boolean, lex: Lexicon): string {
  const word = rootOf(lex, 'noun', np.noun).root + (np.pl ? AFFIX.PL : '') + (np.poss ? AFFIX.POSS : '') + (object ? AFFIX.ACC : '');
  return np.adj === null ? word : `${word} ${rootOf(lex, 'adj', np.adj).root}`; // adjective after the noun
}

export function npEnglish(np: NP): string {
  const noun = NOUNS[np.noun][np.pl ? 1 : 0];
  return [np.poss ? 'my' : 'the', ...(np.adj === null ? [] : [ADJS[np.adj]]), noun].join(' ');
}

/** S O V: subject, object + ka, verb (lo- in the past). */
export function sentenceVelmic(s: Sentence, lex: Lexicon): string {
  const verb = (s.past ? AFFIX.PAST : '') + rootOf(lex, 'verb', s.verb).root;
  return [npVelmic(s.subj, false, lex), ...(s.obj ? [npVelmic(s.obj, true, lex)] : []), verb].join(' ');
}

/** S V O with English agreement: past form, or "sees" for a singular subject, "see" for a plural one. */
export function sentenceEnglish(s: Sentence): string {
  const g = VERBS[s.verb];
  const verb = s.past ? g.past : s.subj.pl ? g.base : g.s3;
  return [npEnglish(s.subj), verb, ...(s.obj ? [npEnglish(s.obj)] : [])].join(' ');
}

/** Suffixes on one noun word, in their fixed order. */
const suffixes = (np: NP, object: boolean): string[] =>
  [...(np.pl ? ['PL'] : []), ...(np.poss ? ['POSS'] : []), ...(object ? ['ACC'] : [])];

/**
 * Facts a solver must have seen to produce or read a phrase/sentence: each root, each suffix
 * ALONE on some word (so its meaning is not confused with a neighbour's), the relative order of
 * every suffix pair the answer stacks, the past prefix, and the word-order rules it uses.
 */
function npFacts(np: NP, object: boolean, mode: 'needs' | 'shows', out: Set<string>): void {
  out.add(`noun:${np.noun}`);
  const sfx = suffixes(np, object);
  // A target needs every suffix isolated; an example shows a suffix isolated only when it is alone.
  if (mode === 'needs' || sfx.length === 1) for (const x of sfx) out.add(x);
  for (let i = 0; i < sfx.length; i++) for (let j = i + 1; j < sfx.length; j++) out.add(`${sfx[i]}<${sfx[j]}`);
  if (np.adj !== null) { out.add(`adj:${np.adj}`); out.add('ORDER:noun-adj'); }
}
function sentenceFacts(s: Sentence, mode: 'needs' | 'shows'): Set<string> {
  const out = new Set<string>([`verb:${s.verb}`]);
  npFacts(s.subj, false, mode, out);
  if (s.obj) { npFacts(s.obj, true, mode, out); out.add('ORDER:SOV'); }
  if (s.past) out.add('PAST');
  return out;
}
/** Per affix: does some example use it, and does some slot that could carry it go without it? */
function affixUse(examples: readonly Sentence[]): Record<'PL' | 'POSS' | 'PAST', { with: boolean; without: boolean }> {
  const u = { PL: { with: false, without: false }, POSS: { with: false, without: false }, PAST: { with: false, without: false } };
  for (const s of examples) {
    for (const np of s.obj ? [s.subj, s.obj] : [s.subj]) {
      u.PL[np.pl ? 'with' : 'without'] = true;
      u.POSS[np.poss ? 'with' : 'without'] = true;
    }
    u.PAST[s.past ? 'with' : 'without'] = true;
  }
  return u;
}

// ---- puzzle generation ---------------------------------------------------------------------------
export type PuzzleKind = 'to_english' | 'to_velmic' | 'phrase_to_velmic';

export interface ConlangMeta extends Record<string, unknown> {
  kind: PuzzleKind;
  /** The sentence to translate (null for phrase puzzles). */
  target: Sentence | null;
  /** The noun phrase to produce (phrase puzzles only; subject form, no object marker). */
  phrase: NP | null;
  examples: Sentence[];
  /** This puzzle's own lexicon: every root used in the item, with its gloss in this puzzle. */
  lexicon: VelmicRoot[];
}
export type ConlangItem = TaskItem<ConlangMeta>;

/** Gloss indices one puzzle may use, per kind. */
interface Vocab { nouns: number[]; verbs: number[]; adjs: number[] }
const firstK = (r: TaskRng, n: number, k: number): number[] => r.shuffle([...Array(n).keys()]).slice(0, k);
function drawVocab(r: TaskRng): Vocab {
  return { nouns: firstK(r, NOUNS.length, VOCAB.nouns), verbs: firstK(r, VERBS.length, VOCAB.verbs), adjs: firstK(r, ADJS.length, VOCAB.adjs) };
}

/** A random NP / sentence over the puzzle's vocabulary; `prefer` (the target's glosses) is reused
 *  with probability 0.6 so that examples share roots with the target, as in Rosetta puzzles. */
function randomNP(r: TaskRng, p: Vocab, prefer: Vocab | null): NP {
  const from = (all: number[], pref: number[] | undefined) => (pref?.length && r.chance(0.6) ? r.pick(pref) : r.pick(all));
  return { noun: from(p.nouns, prefer?.nouns), pl: r.chance(0.4), poss: r.chance(0.3), adj: r.chance(0.35) ? from(p.adjs, prefer?.adjs) : null };
}
function randomSentence(r: TaskRng, p: Vocab, prefer: Vocab | null): Sentence {
  const verb = prefer?.verbs.length && r.chance(0.6) ? r.pick(prefer.verbs) : r.pick(p.verbs);
  return { subj: randomNP(r, p, prefer), verb, past: r.chance(0.5), obj: VERBS[verb].trans ? randomNP(r, p, prefer) : null };
}

const sameNP = (a: NP, b: NP) => a.noun === b.noun && a.pl === b.pl && a.poss === b.poss && a.adj === b.adj;
const nps = (s: Sentence): NP[] => (s.obj ? [s.subj, s.obj] : [s.subj]);
/** The lexicon entries a set of NPs and verbs use, in the lexicon's order. */
function usedEntries(lex: Lexicon, npList: NP[], verbs: number[]): VelmicRoot[] {
  const keys = new Set<string>([
    ...npList.flatMap((x) => [`noun:${x.noun}`, ...(x.adj === null ? [] : [`adj:${x.adj}`])]),
    ...verbs.map((x) => `verb:${x}`),
  ]);
  return lex.filter((e) => keys.has(`${e.kind}:${e.index}`));
}

/** question + answer stay under this many characters: ~150–200 byte-level BPE tokens, inside a 256-token context. */
export const MAX_ITEM_CHARS = 600;

function makeItem(r: TaskRng, split: Split, seed: number, index: number): ConlangItem | null {
  // This puzzle's vocabulary and its fresh roots, from the split's root space (SPLIT RULE).
  const p = drawVocab(r);
  const lex = drawLexicon(r, split, p);
  const kind: PuzzleKind = r.pick(['to_english', 'to_velmic', 'phrase_to_velmic'] as const);
  const sent = randomSentence(r, p, null);
  const target: Sentence | null = kind === 'phrase_to_velmic' ? null : sent;
  // A phrase puzzle asks for a noun phrase with at least one affix or an adjective (else it is a lookup).
  const phrase: NP | null = kind === 'phrase_to_velmic' ? { ...sent.subj, pl: sent.subj.pl || !sent.subj.poss } : null;
  const targetNPs = target ? nps(target) : [phrase!];

  const needs = target ? sentenceFacts(target, 'needs') : (() => { const s = new Set<string>(); npFacts(phrase!, false, 'needs', s); return s; })();
  const prefer: Vocab = { nouns: targetNPs.map((x) => x.noun), verbs: target ? [target.verb] : [], adjs: targetNPs.flatMap((x) => (x.adj === null ? [] : [x.adj])) };
  const examples: Sentence[] = [];
  const seen = new Set<string>([target ? sentenceVelmic(target, lex) : '']);
  // A candidate example is valid when new and not giving the answer away.
  const valid = (c: Sentence) => !seen.has(sentenceVelmic(c, lex)) && (phrase === null || !nps(c).some((x) => sameNP(x, phrase)));
  const push = (c: Sentence) => { examples.push(c); seen.add(sentenceVelmic(c, lex)); };

  // 1. Coverage: greedily add examples that show something the answer needs.
  const missing = new Set(needs);
  for (let tries = 0; missing.size > 0 && tries < 300; tries++) {
    const c = randomSentence(r, p, prefer);
    if (!valid(c)) continue;
    const gain = [...sentenceFacts(c, 'shows')].filter((x) => missing.has(x));
    if (gain.length === 0) continue;
    push(c);
    for (const x of gain) missing.delete(x);
  }
  if (missing.size > 0) return null;
  // 2. Contrast: every affix the examples use must also be absent somewhere, so it can be isolated.
  for (let tries = 0; tries < 300; tries++) {
    const u = affixUse(examples);
    const open = (['PL', 'POSS', 'PAST'] as const).filter((a) => u[a].with && !u[a].without);
    if (open.length === 0) break;
    const c = randomSentence(r, p, prefer);
    const cu = affixUse([c]);
    if (valid(c) && cu[open[0]].without) push(c);
  }
  // 3. At least 3 examples; more than 6 is too long for the context budget → redraw.
  while (examples.length < 3) { const c = randomSentence(r, p, prefer); if (valid(c)) push(c); }
  if (examples.length > 6) return null;
  const u = affixUse(examples);
  if ((['PL', 'POSS', 'PAST'] as const).some((a) => u[a].with && !u[a].without)) return null;
  r.shuffle(examples);

  // Question text: label, example pairs, task line.
  const lines = examples.map((s) => `${sentenceVelmic(s, lex)} = ${sentenceEnglish(s)}`);
  const task = kind === 'to_english' ? `Translate into English: ${sentenceVelmic(target!, lex)}`
    : kind === 'to_velmic' ? `Translate into Velmic: ${sentenceEnglish(target!)}`
      : `Give the Velmic for: ${npEnglish(phrase!)}`;
  const question = ['Velmic is a constructed language (synthetic, not real). Examples:', ...lines, task].join('\n');
  const final = kind === 'to_english' ? sentenceEnglish(target!) : kind === 'to_velmic' ? sentenceVelmic(target!, lex) : npVelmic(phrase!, false, lex);

  // Worked answer: the roots used (as read from the examples) in Velmic word order, then the affixes
  // and order rules used, then the final line.
  const words = [...new Set([
    ...targetNPs.flatMap((x) => [rootOf(lex, 'noun', x.noun), ...(x.adj === null ? [] : [rootOf(lex, 'adj', x.adj)])]),
    ...(target ? [rootOf(lex, 'verb', target.verb)] : []),
  ])].map((e) => `${e.root} = ${e.gloss}`);
  const rules: string[] = [];
  if (needs.has('PL')) rules.push(`-${AFFIX.PL} = plural`);
  if (needs.has('POSS')) rules.push(`-${AFFIX.POSS} = my`);
  if (needs.has('ACC')) rules.push(`-${AFFIX.ACC} marks the object`);
  if (target) rules.push(target.past ? `${AFFIX.PAST}- = past` : `no ${AFFIX.PAST}- = present`);
  if (needs.has('ORDER:SOV')) rules.push('order subject object verb');
  if (needs.has('ORDER:noun-adj')) rules.push('adjective after noun');
  const answer = [`Words: ${words.join(', ')}.`, `Rules: ${rules.join('; ')}.`, `#### ${final}`].join('\n');
  if (question.length + answer.length >= MAX_ITEM_CHARS) return null;

  const allNPs = [...targetNPs, ...examples.flatMap(nps)];
  return {
    id: `conlang-${split}-${seed}-${index}`,
    task: 'conlang',
    split,
    question,
    answer,
    final,
    language: VELMIC_LABEL,
    meta: { kind, target, phrase, examples, lexicon: usedEntries(lex, allNPs, [...(target ? [target.verb] : []), ...examples.map((s) => s.verb)]) },
  };
}

/** n distinct Velmic puzzles of one split; same (split, n, seed) → identical items. */
export function generateConlang(split: Split, n: number, seed: number): ConlangItem[] {
  checkSplit('conlang', split);
  const rng = new TaskRng(hashSeed('conlang', split, seed));
  return collectDistinct(n, rng, (r, i) => makeItem(r, split, seed, i), 'conlang');
}
