// "Velmic" Rosetta-style puzzles, seeded and deterministic (issue 5).
//
// VELMIC IS A CONSTRUCTED, SYNTHETIC LANGUAGE — NOT A REAL LANGUAGE. Its roots are drawn by a
// fixed-seed generator from invented CV syllables; no word is taken from Stoney Nakoda or from any
// other real language, and its grammar is not modelled on any. (Four-letter random roots can still
// match some word of some language by chance; well-known matches are screened out by AVOID.)
// Every item carries `language: VELMIC_LABEL` and says so in its question. It is the offline
// stand-in for Linguistics-Olympiad style reasoning (LINGOLY, modeLing): infer word meanings and
// affixes from a few examples, then apply them.
//
// Velmic grammar (fixed for the whole language):
//   roots     C V C V from consonants v f l t k s r d n and vowels a e i o u; every root holds a
//             v or f (labiodentals, absent from the native sound inventory of the Siouan family,
//             an extra guard against accidental resemblance) and no affix syllable (so every
//             word splits into morphemes one way only).
//   noun word root + [ri plural] + [su "my"] + [ka object marker]      e.g. nivo-ri-su-ka
//   verb word [lo past] + root; bare root = present                    e.g. lo-vuve
//   word order SUBJECT OBJECT VERB (English is S V O); adjective AFTER its noun; no articles.
//   Velmic is written without hyphens: "nivorisu fele lovuve" = "my old horses slept".
//
// A puzzle: 3–6 example pairs (Velmic = English), then a NEW sentence to translate (either way) or
// a noun phrase to produce. Examples are drawn until they show every root the answer needs, each of
// its affixes ALONE on some word, the order of any suffixes it stacks and its word-order rules, plus
// a contrast (some word without the affix) for every affix they use; the target itself never appears
// among them. conlang.test.ts re-checks all of this from the text.
//
// SPLIT RULE: RESERVED roots (8 nouns, 4 verbs, 2 adjectives) never appear in train items, not even
// in examples; every held-out target contains at least one of them, so held-out puzzles can only be
// solved from their examples (the model never saw those roots), and no held-out question can
// occur in train.
import type { Split, TaskItem } from './index.ts';
import { TaskRng, hashSeed, collectDistinct } from './rng.ts';

export const VELMIC_LABEL = 'Velmic (constructed, synthetic — not a real language)';
export const CONLANG_DESCRIPTION =
  'Rosetta-style puzzles in Velmic, a synthetic constructed language (not a real language): 3–6 example ' +
  'pairs, then translate a new sentence or produce a phrase. Held-out split: puzzles on reserved roots.';

// ---- English side of the lexicon (glosses; the Velmic roots are generated below) -----------
/** [singular, plural]; the last 8 are reserved for held-out puzzles. */
const NOUNS: ReadonlyArray<[string, string]> = [
  ['dog', 'dogs'], ['cat', 'cats'], ['horse', 'horses'], ['bird', 'birds'], ['fox', 'foxes'], ['wolf', 'wolves'],
  ['bear', 'bears'], ['child', 'children'], ['woman', 'women'], ['man', 'men'], ['farmer', 'farmers'],
  ['baker', 'bakers'], ['sailor', 'sailors'], ['teacher', 'teachers'], ['king', 'kings'], ['girl', 'girls'],
  ['boy', 'boys'], ['friend', 'friends'], ['goat', 'goats'], ['mouse', 'mice'], ['rabbit', 'rabbits'],
  ['snake', 'snakes'], ['duck', 'ducks'], ['lion', 'lions'], ['cow', 'cows'], ['pig', 'pigs'], ['hen', 'hens'],
  ['crow', 'crows'], ['box', 'boxes'], ['stone', 'stones'], ['tree', 'trees'], ['boat', 'boats'],
  // reserved (held-out only)
  ['goose', 'geese'], ['whale', 'whales'], ['owl', 'owls'], ['ox', 'oxen'], ['tiger', 'tigers'],
  ['basket', 'baskets'], ['queen', 'queens'], ['frog', 'frogs'],
];
interface VerbGloss { base: string; s3: string; past: string; trans: boolean }
const v = (base: string, s3: string, past: string, trans: boolean): VerbGloss => ({ base, s3, past, trans });
/** The last 4 are reserved for held-out puzzles. */
const VERBS: readonly VerbGloss[] = [
  v('see', 'sees', 'saw', true), v('chase', 'chases', 'chased', true), v('carry', 'carries', 'carried', true),
  v('find', 'finds', 'found', true), v('hold', 'holds', 'held', true), v('eat', 'eats', 'ate', true),
  v('push', 'pushes', 'pushed', true), v('watch', 'watches', 'watched', true), v('help', 'helps', 'helped', true),
  v('call', 'calls', 'called', true), v('sleep', 'sleeps', 'slept', false), v('run', 'runs', 'ran', false),
  v('sing', 'sings', 'sang', false), v('jump', 'jumps', 'jumped', false), v('fall', 'falls', 'fell', false),
  v('walk', 'walks', 'walked', false),
  // reserved (held-out only)
  v('follow', 'follows', 'followed', true), v('wash', 'washes', 'washed', true), v('swim', 'swims', 'swam', false),
  v('laugh', 'laughs', 'laughed', false),
];
/** The last 2 are reserved for held-out puzzles. */
const ADJS: readonly string[] = ['big', 'small', 'red', 'old', 'young', 'white', 'black', 'green', 'tall'];
const RESERVED = { nouns: 8, verbs: 4, adjs: 2 };

// ---- Velmic affixes and root generation -------------------------------------------------------
export const AFFIX = { PL: 'ri', POSS: 'su', ACC: 'ka', PAST: 'lo' } as const;
const CONSONANTS = ['v', 'f', 'l', 't', 'k', 's', 'r', 'd', 'n'];
const VOWELS = ['a', 'e', 'i', 'o', 'u'];
const AFFIX_SYLLABLES = new Set<string>(Object.values(AFFIX));
/** Root syllables: every CV except the affix syllables (keeps segmentation unambiguous). */
const ROOT_SYLLABLES = CONSONANTS.flatMap((c) => VOWELS.map((x) => c + x)).filter((s) => !AFFIX_SYLLABLES.has(s));
/** Draws that happen to spell common words of English (or other widely known languages) are skipped. */
const AVOID = new Set(['dive', 'five', 'fire', 'fine', 'fade', 'fate', 'safe', 'sofa', 'tofu', 'lava', 'love', 'live',
  'rave', 'save', 'vote', 'vase', 'dove', 'nova', 'diva', 'fore', 'fuse', 'vine', 'vita', 'vida', 'vino', 'fino', 'fado',
  'fete', 'fife', 'feta', 'defi', 'kefi', 'revi', 'veto', 'vedi', 'vera', 'vive', 'vivo', 'fora', 'foto', 'fada', 'nave',
  'nevi', 'rive', 'sive', 'tava', 'vale', 'vane', 'veda', 'vela', 'vena', 'vila', 'vole', 'voto', 'fake', 'fame', 'fare',
  'vero', 'veni', 'vidi', 'vici', 'fido', 'tufa', 'fosa', 'lavo', 'fula', 'devi', 'reve', 'rafe', 'fase', 'vusa', 'fere',
  'divi', 'feve', 'fano', 'vodu', 'feli', 'fela', 'sofi', 'nafa', 'lefa', 'vide', 'dafo',
  'fera', 'vede', 'fata', 'sova', 'viso', 'tifo', 'fute', 'vore', 'fidi', 'vedo', 'vado', 'fiso']);
/** Fixed seed of the lexicon: changing it changes the language (and every generated data set). */
const LEXICON_SEED = 0x5e1_0c0de;

export interface VelmicRoot {
  kind: 'noun' | 'verb' | 'adj';
  /** Index into this kind's gloss list (the index used in Sentence / NP). */
  index: number;
  root: string;
  /** English gloss: singular noun, bare verb, adjective. */
  gloss: string;
  /** Held-out only (see SPLIT RULE). */
  reserved: boolean;
}

function buildLexicon(): VelmicRoot[] {
  const r = new TaskRng(LEXICON_SEED);
  const used = new Set<string>();
  const draw = (): string => {
    for (;;) {
      const s1 = r.pick(ROOT_SYLLABLES), s2 = r.pick(ROOT_SYLLABLES), root = s1 + s2;
      if (s1 !== s2 && /[vf]/.test(root) && !used.has(root) && !AVOID.has(root)) {
        used.add(root);
        return root;
      }
    }
  };
  const out: VelmicRoot[] = [];
  const add = (kind: VelmicRoot['kind'], glosses: readonly string[], reserved: number) =>
    glosses.forEach((gloss, index) => out.push({ kind, index, root: draw(), gloss, reserved: index >= glosses.length - reserved }));
  add('noun', NOUNS.map((n) => n[0]), RESERVED.nouns);
  add('verb', VERBS.map((x) => x.base), RESERVED.verbs);
  add('adj', ADJS, RESERVED.adjs);
  return out;
}

/** The whole Velmic lexicon (deterministic; same on every machine). */
export const VELMIC_LEXICON: readonly VelmicRoot[] = buildLexicon();
const rootOf = (kind: VelmicRoot['kind'], index: number): VelmicRoot =>
  VELMIC_LEXICON.find((e) => e.kind === kind && e.index === index)!;

/** Every English word form a root can take in a translation (for checks that glosses are shown). */
export function englishForms(e: VelmicRoot): string[] {
  if (e.kind === 'noun') return [...NOUNS[e.index]];
  if (e.kind === 'verb') { const g = VERBS[e.index]; return [g.base, g.s3, g.past]; }
  return [ADJS[e.index]];
}

/** Splits one Velmic word into morphemes: ["lo-", "feko"], ["tofa", "-ri", "-su", "-ka"]; null if not Velmic. */
export function parseVelmicWord(word: string): string[] | null {
  const out: string[] = [];
  let w = word;
  if (w.startsWith(AFFIX.PAST) && w.length === 6) { out.push(`${AFFIX.PAST}-`); w = w.slice(2); }
  const root = VELMIC_LEXICON.find((e) => e.root === w.slice(0, 4));
  if (!root || (out.length && root.kind !== 'verb')) return null;
  out.push(root.root);
  // Suffixes only on nouns, in the fixed order plural, possessive, object.
  let rest = w.slice(4);
  for (const s of [AFFIX.PL, AFFIX.POSS, AFFIX.ACC]) {
    if (root.kind === 'noun' && rest.startsWith(s)) { out.push(`-${s}`); rest = rest.slice(2); }
  }
  return rest === '' ? out : null;
}

// ---- sentences -----------------------------------------------------------------------------------
/** Noun phrase: noun index, plural, possessed by "my", optional adjective index. */
export interface NP { noun: number; pl: boolean; poss: boolean; adj: number | null }
/** Clause: subject, verb index, tense, object (present iff the verb is transitive). */
export interface Sentence { subj: NP; verb: number; past: boolean; obj: NP | null }

export function npVelmic(np: NP, object: boolean): string {
  const word = rootOf('noun', np.noun).root + (np.pl ? AFFIX.PL : '') + (np.poss ? AFFIX.POSS : '') + (object ? AFFIX.ACC : '');
  return np.adj === null ? word : `${word} ${rootOf('adj', np.adj).root}`; // adjective after the noun
}

export function npEnglish(np: NP): string {
  const noun = NOUNS[np.noun][np.pl ? 1 : 0];
  return [np.poss ? 'my' : 'the', ...(np.adj === null ? [] : [ADJS[np.adj]]), noun].join(' ');
}

/** S O V: subject, object + ka, verb (lo- in the past). */
export function sentenceVelmic(s: Sentence): string {
  const verb = (s.past ? AFFIX.PAST : '') + rootOf('verb', s.verb).root;
  return [npVelmic(s.subj, false), ...(s.obj ? [npVelmic(s.obj, true)] : []), verb].join(' ');
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
  /** Every root used anywhere in the item ("noun:dog", "verb:see", ...), for split checks. */
  roots: string[];
}
export type ConlangItem = TaskItem<ConlangMeta>;

/** Root-index pools of one split: train never sees reserved roots; held-out may use all. */
function pools(split: Split) {
  const pick = (kind: VelmicRoot['kind']) =>
    VELMIC_LEXICON.filter((e) => e.kind === kind && (split === 'heldout' || !e.reserved)).map((e) => e.index);
  return { nouns: pick('noun'), verbs: pick('verb'), adjs: pick('adj') };
}
type Pools = ReturnType<typeof pools>;

/** A random NP / sentence; `prefer` (the target's roots) is reused with probability 0.6 so that
 *  examples share roots with the target, as in Rosetta puzzles. */
function randomNP(r: TaskRng, p: Pools, prefer: Pools | null): NP {
  const from = (all: number[], pref: number[] | undefined) => (pref?.length && r.chance(0.6) ? r.pick(pref) : r.pick(all));
  return { noun: from(p.nouns, prefer?.nouns), pl: r.chance(0.4), poss: r.chance(0.3), adj: r.chance(0.35) ? from(p.adjs, prefer?.adjs) : null };
}
function randomSentence(r: TaskRng, p: Pools, prefer: Pools | null): Sentence {
  const verb = prefer?.verbs.length && r.chance(0.6) ? r.pick(prefer.verbs) : r.pick(p.verbs);
  return { subj: randomNP(r, p, prefer), verb, past: r.chance(0.5), obj: VERBS[verb].trans ? randomNP(r, p, prefer) : null };
}

const sameNP = (a: NP, b: NP) => a.noun === b.noun && a.pl === b.pl && a.poss === b.poss && a.adj === b.adj;
function rootsOf(nps: NP[], verbs: number[]): string[] {
  const out = new Set<string>();
  for (const np of nps) {
    out.add(`noun:${NOUNS[np.noun][0]}`);
    if (np.adj !== null) out.add(`adj:${ADJS[np.adj]}`);
  }
  for (const x of verbs) out.add(`verb:${VERBS[x].base}`);
  return [...out];
}
const nps = (s: Sentence): NP[] => (s.obj ? [s.subj, s.obj] : [s.subj]);
const isReservedRoot = (key: string): boolean => {
  const [kind, gloss] = key.split(':');
  return VELMIC_LEXICON.some((e) => e.kind === kind && e.gloss === gloss && e.reserved);
};
/** Reserved-root keys ("noun:goose", ...), exported for the split test. */
export const RESERVED_ROOTS: readonly string[] = VELMIC_LEXICON.filter((e) => e.reserved).map((e) => `${e.kind}:${e.gloss}`);

/** question + answer stay under this many characters: ~150–200 byte-level BPE tokens, inside a 256-token context. */
export const MAX_ITEM_CHARS = 600;

function makeItem(r: TaskRng, split: Split, seed: number, index: number): ConlangItem | null {
  const p = pools(split);
  const kind: PuzzleKind = r.pick(['to_english', 'to_velmic', 'phrase_to_velmic'] as const);
  const sent = randomSentence(r, p, null);
  const target: Sentence | null = kind === 'phrase_to_velmic' ? null : sent;
  // A phrase puzzle asks for a noun phrase with at least one affix or an adjective (else it is a lookup).
  const phrase: NP | null = kind === 'phrase_to_velmic' ? { ...sent.subj, pl: sent.subj.pl || !sent.subj.poss } : null;
  const targetNPs = target ? nps(target) : [phrase!];
  const targetRoots = rootsOf(targetNPs, target ? [target.verb] : []);
  // Held-out targets must use a reserved root (SPLIT RULE); train pools hold none.
  if (split === 'heldout' && !targetRoots.some(isReservedRoot)) return null;

  const needs = target ? sentenceFacts(target, 'needs') : (() => { const s = new Set<string>(); npFacts(phrase!, false, 'needs', s); return s; })();
  const prefer: Pools = { nouns: targetNPs.map((x) => x.noun), verbs: target ? [target.verb] : [], adjs: targetNPs.flatMap((x) => (x.adj === null ? [] : [x.adj])) };
  const examples: Sentence[] = [];
  const seen = new Set<string>([target ? sentenceVelmic(target) : '']);
  // A candidate example is valid when new and not giving the answer away.
  const valid = (c: Sentence) => !seen.has(sentenceVelmic(c)) && (phrase === null || !nps(c).some((x) => sameNP(x, phrase)));
  const push = (c: Sentence) => { examples.push(c); seen.add(sentenceVelmic(c)); };

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
  const lines = examples.map((s) => `${sentenceVelmic(s)} = ${sentenceEnglish(s)}`);
  const task = kind === 'to_english' ? `Translate into English: ${sentenceVelmic(target!)}`
    : kind === 'to_velmic' ? `Translate into Velmic: ${sentenceEnglish(target!)}`
      : `Give the Velmic for: ${npEnglish(phrase!)}`;
  const question = ['Velmic is a constructed language (synthetic, not real). Examples:', ...lines, task].join('\n');
  const final = kind === 'to_english' ? sentenceEnglish(target!) : kind === 'to_velmic' ? sentenceVelmic(target!) : npVelmic(phrase!, false);

  // Worked answer: the roots used, then the affixes and order rules used, then the final line.
  const words = [...new Set([
    ...targetNPs.flatMap((x) => [rootOf('noun', x.noun), ...(x.adj === null ? [] : [rootOf('adj', x.adj)])]),
    ...(target ? [rootOf('verb', target.verb)] : []),
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
    meta: { kind, target, phrase, examples, roots: rootsOf(allNPs, [...(target ? [target.verb] : []), ...examples.map((s) => s.verb)]) },
  };
}

/** n distinct Velmic puzzles of one split; same (split, n, seed) → identical items. */
export function generateConlang(split: Split, n: number, seed: number): ConlangItem[] {
  if (split !== 'train' && split !== 'heldout') throw new Error(`conlang: split must be "train" or "heldout", got "${split}"`);
  const rng = new TaskRng(hashSeed('conlang', split, seed));
  return collectDistinct(n, rng, (r, i) => makeItem(r, split, seed, i), 'conlang');
}
