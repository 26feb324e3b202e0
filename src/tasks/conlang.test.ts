// Tests of the Velmic puzzle generator. Velmic is a constructed, synthetic language (not a real
// language); these tests also check that every item says so. Pure TypeScript, no GPU:
//   node tools/run-node.mjs --test --test-reporter=spec src/tasks/*.test.ts
// Answers are strings compared exactly (after whitespace/case normalisation); no tolerance applies.
//
// Every puzzle has its own lexicon (fresh roots), so solvability is checked by SOLVING each item from
// its TEXT the way a reader must: parse the examples with the fixed grammar, align each Velmic word with
// its English word, read off root = gloss, then translate the target with that dictionary and compare
// with the item's final answer. The solver knows English word forms (ENGLISH) and the grammar, never
// the item's meta or any other puzzle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  generateConlang, VELMIC_LABEL, AFFIX, MAX_ITEM_CHARS, ENGLISH, ROOT_SPACE, ROOT_SYLLABLES, SPLIT_ROOTS,
  isHeldoutRoot, isVelmicRoot, parseVelmicWord, sentenceVelmic, sentenceEnglish, npVelmic, npEnglish,
  type ConlangItem, type NP, type Sentence, type VelmicRoot,
} from './conlang.ts';
import { score } from './index.ts';
import { normalizeText } from './rng.ts';

const TRAIN = generateConlang('train', 800, 1);
const TRAIN2 = generateConlang('train', 800, 2);
const HELD = generateConlang('heldout', 300, 2);
const ALL = [...TRAIN, ...HELD];
const SUFFIXES = [`-${AFFIX.PL}`, `-${AFFIX.POSS}`, `-${AFFIX.ACC}`];
const PAST = `${AFFIX.PAST}-`;

/** The pieces of an item's text: example pairs and the target in both languages. */
function parse(it: ConlangItem) {
  const lines = it.question.split('\n');
  const examples = lines.slice(1, -1).map((l) => {
    const [velmic, english] = l.split(' = ');
    return { velmic, english };
  });
  const task = lines.at(-1)!;
  const given = task.slice(task.indexOf(': ') + 2);
  const target = it.meta.kind === 'to_english' ? { velmic: given, english: it.final } : { velmic: it.final, english: given };
  return { header: lines[0], examples, task, target };
}
/** Morphemes of every word of a Velmic string; fails the test on a word that does not parse. */
function morphemes(velmic: string): string[][] {
  return velmic.split(' ').map((w) => {
    const m = parseVelmicWord(w);
    assert.ok(m, `"${w}" is not a Velmic word`);
    return m;
  });
}

// ---- the text-only solver ------------------------------------------------------------------------
type Kind = VelmicRoot['kind'];
interface Form { kind: Kind; index: number; pl: boolean; past: boolean }
/** English knowledge: every word form → its lemma (kind, index), number and tense. */
const EN = new Map<string, Form>();
const addForm = (w: string, f: Form) => {
  const old = EN.get(w); // a form may repeat only within one lemma with the same reading
  assert.ok(!old || (old.kind === f.kind && old.index === f.index && old.past === f.past), `ambiguous English form ${w}`);
  EN.set(w, f);
};
ENGLISH.nouns.forEach(([sg, pl], index) => { addForm(sg, { kind: 'noun', index, pl: false, past: false }); addForm(pl, { kind: 'noun', index, pl: true, past: false }); });
ENGLISH.verbs.forEach((g, index) => { for (const w of [g.base, g.s3]) addForm(w, { kind: 'verb', index, pl: false, past: false }); addForm(g.past, { kind: 'verb', index, pl: false, past: true }); });
ENGLISH.adjs.forEach((a, index) => addForm(a, { kind: 'adj', index, pl: false, past: false }));

/** Velmic NP by grammar: noun word (root + suffixes), then optionally a bare adjective root. */
interface VNP { noun: string; pl: boolean; poss: boolean; acc: boolean; adj: string | null }
const vnp = (w: string[], a: string[] | undefined): VNP => ({
  noun: w[0], pl: w.includes(`-${AFFIX.PL}`), poss: w.includes(`-${AFFIX.POSS}`), acc: w.includes(`-${AFFIX.ACC}`), adj: a ? a[0] : null,
});
/** Velmic sentence: subject NP, [object NP (its noun carries -ka)], verb last. */
function velmicSentence(s: string): { subj: VNP; obj: VNP | null; verb: string; past: boolean } {
  const ws = morphemes(s), verb = ws.at(-1)!, rest = ws.slice(0, -1);
  assert.ok(rest.length >= 1 && verb.length <= 2 && (verb.length === 1 || verb[0] === PAST), `bad verb word in ${s}`);
  const o = rest.findIndex((w) => w.includes(`-${AFFIX.ACC}`));
  const subjW = o < 0 ? rest : rest.slice(0, o), objW = o < 0 ? [] : rest.slice(o);
  // Each NP is one noun word and at most one adjective, which carries no affix.
  for (const np of [subjW, objW]) assert.ok(np.length <= 2 && (np.length < 2 || np[1].length === 1), `bad noun phrase in ${s}`);
  assert.ok(subjW.length >= 1 && !subjW[0].includes(`-${AFFIX.ACC}`), `bad subject in ${s}`);
  return { subj: vnp(subjW[0], subjW[1]), obj: objW.length ? vnp(objW[0], objW[1]) : null, verb: verb.at(-1)!, past: verb[0] === PAST };
}
/** English NP "the|my [adj] noun" → gloss indices, number, "my". */
function englishNP(ws: string[]): NP {
  assert.ok(ws.length === 2 || ws.length === 3, `bad English noun phrase: ${ws.join(' ')}`);
  assert.ok(ws[0] === 'the' || ws[0] === 'my', `no determiner: ${ws.join(' ')}`);
  const noun = EN.get(ws.at(-1)!), adj = ws.length === 3 ? EN.get(ws[1]) : undefined;
  assert.ok(noun?.kind === 'noun' && (ws.length === 2 || adj?.kind === 'adj'), `bad English noun phrase: ${ws.join(' ')}`);
  return { noun: noun.index, pl: noun.pl, poss: ws[0] === 'my', adj: adj ? adj.index : null };
}
/** English sentence "NP verb [NP]" → Sentence (the verb is the first verb form). */
function englishSentence(s: string): Sentence {
  const ws = s.split(' '), v = ws.findIndex((w, i) => i > 0 && EN.get(w)?.kind === 'verb');
  assert.ok(v > 0, `no verb in ${s}`);
  const f = EN.get(ws[v])!;
  return { subj: englishNP(ws.slice(0, v)), verb: f.index, past: f.past, obj: v + 1 < ws.length ? englishNP(ws.slice(v + 1)) : null };
}

/** Reads root = gloss from aligned example pairs; checks affixes agree with the English; returns the dictionary. */
function readDictionary(examples: { velmic: string; english: string }[], ctx: string): Map<string, { kind: Kind; index: number }> {
  const dict = new Map<string, { kind: Kind; index: number }>();
  const learn = (root: string, kind: Kind, index: number) => {
    const known = dict.get(root);
    assert.ok(!known || (known.kind === kind && known.index === index), `root ${root} has two meanings\n${ctx}`);
    dict.set(root, { kind, index });
  };
  for (const e of examples) {
    const v = velmicSentence(e.velmic), en = englishSentence(e.english);
    assert.equal(!!v.obj, !!en.obj, `transitivity differs: ${e.velmic} = ${e.english}`);
    assert.equal(v.past, en.past, `tense differs: ${e.velmic} = ${e.english}`);
    learn(v.verb, 'verb', en.verb);
    for (const [vn, nn] of [[v.subj, en.subj], ...(v.obj ? [[v.obj, en.obj!]] : [])] as [VNP, NP][]) {
      assert.deepEqual([vn.pl, vn.poss, vn.adj === null], [nn.pl, nn.poss, nn.adj === null], `noun phrase differs: ${e.velmic} = ${e.english}`);
      learn(vn.noun, 'noun', nn.noun);
      if (vn.adj) learn(vn.adj, 'adj', nn.adj!);
    }
  }
  // One root per gloss within a puzzle as well (else the English → Velmic direction is ambiguous).
  const keys = [...dict.values()].map((x) => `${x.kind}:${x.index}`);
  assert.equal(new Set(keys).size, keys.length, `a gloss has two roots\n${ctx}`);
  return dict;
}

/** Solves an item from its text alone; returns the answer it derives. */
function solve(it: ConlangItem): string {
  const ctx = `${it.id}:\n${it.question}`;
  const { examples, task } = parse(it);
  const dict = readDictionary(examples, ctx);
  const lex: VelmicRoot[] = [...dict].map(([root, x]) => ({ ...x, root, gloss: '' }));
  const given = task.slice(task.indexOf(': ') + 2);
  const look = (root: string, kind: Kind): number => {
    const x = dict.get(root);
    assert.ok(x && x.kind === kind, `root ${root} is not shown as a ${kind} in the examples\n${ctx}`);
    return x.index;
  };
  const shown = (kind: Kind, index: number) =>
    assert.ok(lex.some((e) => e.kind === kind && e.index === index), `no root for ${kind} ${index} in the examples\n${ctx}`);
  if (it.meta.kind === 'to_english') {
    const v = velmicSentence(given);
    const np = (x: VNP): NP => ({ noun: look(x.noun, 'noun'), pl: x.pl, poss: x.poss, adj: x.adj ? look(x.adj, 'adj') : null });
    return sentenceEnglish({ subj: np(v.subj), verb: look(v.verb, 'verb'), past: v.past, obj: v.obj ? np(v.obj) : null });
  }
  const need = (np: NP) => { shown('noun', np.noun); if (np.adj !== null) shown('adj', np.adj); };
  if (it.meta.kind === 'to_velmic') {
    const s = englishSentence(given);
    need(s.subj); if (s.obj) need(s.obj); shown('verb', s.verb);
    return sentenceVelmic(s, lex);
  }
  const np = englishNP(given.split(' '));
  need(np);
  return npVelmic(np, false, lex);
}

// ---- tests -----------------------------------------------------------------------------------------
test('conlang: same (split, n, seed) gives identical items; prefixes are stable; seeds differ', () => {
  assert.deepEqual(generateConlang('train', 40, 7), generateConlang('train', 40, 7));
  assert.deepEqual(generateConlang('heldout', 10, 7), generateConlang('heldout', 40, 7).slice(0, 10));
  const a = generateConlang('train', 40, 7).map((x) => x.question);
  const b = generateConlang('train', 40, 8).map((x) => x.question);
  assert.ok(a.filter((q, i) => q === b[i]).length <= 1, 'seeds 7 and 8 gave the same items');
  assert.equal(new Set(TRAIN.map((x) => normalizeText(x.question))).size, TRAIN.length, 'questions are distinct');
});

test('conlang: every item is labelled as a constructed, synthetic language', () => {
  assert.match(VELMIC_LABEL, /constructed/);
  assert.match(VELMIC_LABEL, /not a real language/);
  for (const it of ALL) {
    assert.equal(it.language, VELMIC_LABEL, it.id);
    assert.match(parse(it).header, /^Velmic is a constructed language \(synthetic, not real\)/, it.id);
  }
});

test('conlang: root space is invented from the Velmic syllables; each puzzle lexicon is fresh and well-formed', () => {
  assert.equal(new Set(ROOT_SPACE).size, ROOT_SPACE.length);
  assert.ok(ROOT_SPACE.length > 500, `root space too small: ${ROOT_SPACE.length}`);
  for (const root of ROOT_SPACE) {
    assert.match(root, /^([vfltksrdn][aeiou]){2}$/, root);
    assert.match(root, /[vf]/, `${root} lacks a labiodental`);
    for (const a of Object.values(AFFIX)) assert.ok(root.slice(0, 2) !== a && root.slice(2) !== a, `${root} holds affix ${a}`);
  }
  for (const it of ALL) {
    const lex = it.meta.lexicon;
    assert.equal(new Set(lex.map((e) => e.root)).size, lex.length, `roots not distinct in ${it.id}`);
    assert.equal(new Set(lex.map((e) => `${e.kind}:${e.gloss}`)).size, lex.length, `glosses not distinct in ${it.id}`);
    for (const e of lex) assert.ok(isVelmicRoot(e.root) && SPLIT_ROOTS[it.split].includes(e.root), `${e.root} outside the ${it.split} root space`);
  }
});

test('conlang: every item is solved from its text alone (grammar + examples), and recomputes from meta', () => {
  for (const it of ALL) {
    const ctx = `${it.id}:\n${it.question}\n${it.answer}`;
    const { examples, target } = parse(it);
    assert.equal(solve(it), it.final, `text-only solver disagrees\n${ctx}`);
    // Recompute: the examples and the final answer are the renderings of the stored structures.
    const lex = it.meta.lexicon;
    assert.deepEqual(examples, it.meta.examples.map((s) => ({ velmic: sentenceVelmic(s, lex), english: sentenceEnglish(s) })), ctx);
    const t = it.meta.target, p = it.meta.phrase;
    const expect = t ? { velmic: sentenceVelmic(t, lex), english: sentenceEnglish(t) } : { velmic: npVelmic(p!, false, lex), english: npEnglish(p!) };
    assert.deepEqual(target, expect, ctx);
    assert.equal(it.answer.split('\n').at(-1), `#### ${it.final}`, ctx);
    assert.match(it.answer, /^Words: .+\.\nRules: .+\.\n#### /, ctx);
    // The worked "Words:" line lists exactly the target's roots, each with the gloss the examples show.
    const dict = readDictionary(examples, ctx);
    const listed = it.answer.split('\n')[0].slice('Words: '.length, -1).split(', ').map((x) => x.split(' = '));
    assert.deepEqual(listed.map(([r]) => r).sort(), [...new Set(morphemes(target.velmic).flat().filter(isVelmicRoot))].sort(), ctx);
    for (const [root, gloss] of listed) assert.deepEqual(dict.get(root), { kind: EN.get(gloss)!.kind, index: EN.get(gloss)!.index }, ctx);
    assert.ok(examples.length >= 3 && examples.length <= 6, ctx);

    // The target is new: not an example sentence, and a target phrase is not inside any example.
    assert.ok(examples.every((e) => e.velmic !== target.velmic && e.english !== target.english), `target among examples\n${ctx}`);
    if (p) assert.ok(examples.every((e) => !` ${e.english} `.includes(` ${target.english} `)), `phrase shown verbatim\n${ctx}`);

    // Affixes are inferable in-puzzle too: each one the target uses occurs ALONE on some example word,
    // stacked suffixes show their order, and SOV / noun–adjective order are shown when used.
    const flat = examples.flatMap((e) => morphemes(e.velmic));
    const tw = morphemes(target.velmic);
    for (const word of tw) {
      for (const m of word.filter((x) => !isVelmicRoot(x))) assert.ok(flat.some((w) => w.includes(m) && w.length === 2), `affix ${m} never shown alone\n${ctx}`);
      const sfx = word.filter((m) => SUFFIXES.includes(m));
      for (let i = 0; i + 1 < sfx.length; i++) {
        assert.ok(flat.some((w) => w.indexOf(sfx[i]) >= 0 && w.indexOf(sfx[i]) < w.indexOf(sfx[i + 1])), `order ${sfx[i]} ${sfx[i + 1]} unseen\n${ctx}`);
      }
    }
    if (tw.some((w) => w.includes(`-${AFFIX.ACC}`))) assert.ok(flat.some((w) => w.includes(`-${AFFIX.ACC}`)), `no SOV example\n${ctx}`);
    const adjRoots = new Set(lex.filter((e) => e.kind === 'adj').map((e) => e.root));
    if (tw.some((w) => adjRoots.has(w[0]))) assert.ok(flat.some((w) => adjRoots.has(w[0])), `no adjective example\n${ctx}`);
    // Contrast: an affix the examples use is also missing somewhere (else it looks like part of a root).
    const kindOf = (w: string[]) => lex.find((e) => e.root === w.find(isVelmicRoot))?.kind;
    const nounWords = flat.filter((w) => kindOf(w) === 'noun'), verbWords = flat.filter((w) => kindOf(w) === 'verb');
    for (const a of [`-${AFFIX.PL}`, `-${AFFIX.POSS}`]) {
      if (nounWords.some((w) => w.includes(a))) assert.ok(nounWords.some((w) => !w.includes(a)), `${a} never absent\n${ctx}`);
    }
    if (verbWords.some((w) => w.includes(PAST))) assert.ok(verbWords.some((w) => !w.includes(PAST)), `${PAST} never absent\n${ctx}`);
  }
  // All three puzzle kinds occur in both splits.
  for (const set of [TRAIN, HELD]) assert.equal(new Set(set.map((x) => x.meta.kind)).size, 3);
});

/** Every root in an item's TEXT (question and answer), found by parsing each word as Velmic. */
const textRoots = (it: ConlangItem): string[] =>
  it.question.concat('\n', it.answer).match(/[a-z]+/g)!.flatMap((w) => parseVelmicWord(w)?.filter(isVelmicRoot) ?? []);

test('conlang: split rule — disjoint root spaces; no held-out root, (root, gloss) pair or question in train', () => {
  // The spaces partition ROOT_SPACE by isHeldoutRoot; held-out is about a fifth.
  assert.equal(SPLIT_ROOTS.train.length + SPLIT_ROOTS.heldout.length, ROOT_SPACE.length);
  assert.ok(SPLIT_ROOTS.train.every((x) => !isHeldoutRoot(x)) && SPLIT_ROOTS.heldout.every(isHeldoutRoot));
  assert.ok(SPLIT_ROOTS.heldout.length >= 80, `held-out root space too small: ${SPLIT_ROOTS.heldout.length}`);
  // Every syllable occurs in both word positions of train roots (held-out roots are new pairings only).
  for (const s of ROOT_SYLLABLES) {
    assert.ok(SPLIT_ROOTS.train.some((x) => x.startsWith(s)) && SPLIT_ROOTS.train.some((x) => x.endsWith(s)), `syllable ${s} missing in train roots`);
  }
  // From the text of two train seeds: no held-out root anywhere (examples, target, worked answer).
  const trainRoots = new Set<string>();
  for (const it of [...TRAIN, ...TRAIN2]) {
    const roots = textRoots(it);
    assert.ok(roots.length >= 4, `too few Velmic roots parsed from ${it.id}`);
    for (const r of roots) { assert.ok(!isHeldoutRoot(r), `held-out root ${r} in train text: ${it.id}`); trainRoots.add(r); }
  }
  for (const it of HELD) {
    for (const r of textRoots(it)) assert.ok(isHeldoutRoot(r) && !trainRoots.has(r), `root ${r} of ${it.id} is not held-out`);
  }
  const pairs = (xs: ConlangItem[]) => new Set(xs.flatMap((x) => x.meta.lexicon.map((e) => `${e.root}=${e.gloss}`)));
  const trainPairs = pairs([...TRAIN, ...TRAIN2]);
  assert.equal([...pairs(HELD)].filter((x) => trainPairs.has(x)).length, 0, 'held-out (root, gloss) pair in train');
  const trainQ = new Set([...TRAIN, ...TRAIN2].map((x) => normalizeText(x.question)));
  assert.equal(HELD.filter((x) => trainQ.has(normalizeText(x.question))).length, 0, 'held-out question in train');
  // The held-out root space is actually used (not a handful of roots).
  assert.ok(new Set(HELD.flatMap(textRoots)).size >= 0.8 * SPLIT_ROOTS.heldout.length);
});

test('conlang: the same English gloss gets different roots across puzzles (memorising roots cannot work)', () => {
  const TR = [...TRAIN, ...TRAIN2];
  const uses = new Map<string, string[]>(); // gloss → the root it had in each puzzle that used it
  for (const it of TR) for (const e of it.meta.lexicon) uses.set(`${e.kind}:${e.gloss}`, [...(uses.get(`${e.kind}:${e.gloss}`) ?? []), e.root]);
  let checked = 0;
  const memo = new Map<string, string>(); // a memoriser: each gloss → its commonest root in train
  for (const [gloss, roots] of uses) {
    const counts = new Map<string, number>();
    for (const r of roots) counts.set(r, (counts.get(r) ?? 0) + 1);
    const top = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0];
    memo.set(gloss, top[0]);
    if (roots.length < 30) continue;
    checked++;
    // n uses drawn uniformly from N train roots give N(1 - (1 - 1/N)^n) distinct roots on average
    // (a few percent spread at these sizes; 0.85 of it allows for chance), and no root dominates.
    const N = SPLIT_ROOTS.train.length, expect = N * (1 - (1 - 1 / N) ** roots.length);
    assert.ok(counts.size >= 0.85 * expect, `${gloss}: ${counts.size} roots in ${roots.length} puzzles (uniform: ${expect.toFixed(0)})`);
    assert.ok(top[1] <= 0.05 * roots.length + 2, `${gloss} keeps root ${top[0]} in ${top[1]} of ${roots.length} puzzles`);
  }
  assert.ok(checked >= 50, `only ${checked} glosses used often enough to check`);
  // The memoriser fails every held-out puzzle and ~all train ones (it must read the examples instead).
  const memorised = (it: ConlangItem) => {
    const lex = it.meta.lexicon.map((e) => ({ ...e, root: memo.get(`${e.kind}:${e.gloss}`) ?? 'none' }));
    return it.meta.target ? sentenceVelmic(it.meta.target, lex) : npVelmic(it.meta.phrase!, false, lex);
  };
  const toVelmic = (xs: ConlangItem[]) => xs.filter((x) => x.meta.kind !== 'to_english');
  assert.equal(toVelmic(HELD).filter((x) => memorised(x) === x.final).length, 0, 'memorised roots answer a held-out puzzle');
  const trainHits = toVelmic(TRAIN).filter((x) => memorised(x) === x.final).length;
  assert.ok(trainHits <= 0.02 * toVelmic(TRAIN).length, `memorised roots answer ${trainHits} train puzzles`);
});

test(`conlang: items are short (question + answer < ${MAX_ITEM_CHARS} chars)`, () => {
  for (const it of ALL) assert.ok(it.question.length + it.answer.length < MAX_ITEM_CHARS, it.id);
});

test('conlang: score() accepts the final answer in any case/spacing and rejects a wrong one', () => {
  for (const it of ALL.slice(0, 50)) {
    assert.equal(score(it, it.answer), true);
    assert.equal(score(it, `Words: ...\n####   ${it.final.toUpperCase().replace(/ /g, '  ')}\n`), true);
    // One morpheme wrong: drop the last character of the answer (a letter of a root or affix).
    assert.equal(score(it, `#### ${it.final.slice(0, -1)}`), false);
    assert.equal(score(it, `#### ${it.final} extra`), false);
  }
});

test('conlang: two sample items (for reviewers)', () => {
  for (const it of [TRAIN.find((x) => x.meta.kind === 'to_english')!, HELD.find((x) => x.meta.kind === 'to_velmic')!]) console.log(`--- ${it.id} [${it.meta.kind}; ${it.language}]\nQ: ${it.question}\nA: ${it.answer}`);
});
