// Arithmetic word problems in GSM8K's format, seeded and deterministic (issue 5).
//
//   question: one short story problem (≲ 40 words), 1–3 reasoning steps with + − × ÷.
//   answer:   one line per step with a calculator annotation, e.g.
//               "In total: 3*12 = <<3*12=36>>36 pens."
//             then "#### 36" (GSM8K's final-answer marker; score() in index.ts reads it).
//
// STRUCTURE vs STORY. A structure is an operation pattern (a*b, a*b+c*d, (a*b−c)/d, ...) with ONE
// fixed set of reasoning lines ("In total: …", "For each friend: …", "Left: …"); a story is one
// surface wording of a structure (objects, verbs, sentence order, 2–3 question phrasings) whose
// nouns fill the structure's line slots. So two stories of one structure have answers of the same
// shape, and a model that learned the structure from its train stories can solve a new story.
// The STRUCTURES are below; the STORIES table (8–9 train stories per structure plus the
// held-out-only ones) is in arithmetic-stories.ts.
//
// Number rules (a tiny model must learn this, and every answer must be exact):
//   - every intermediate and final result is an integer in [0, 10000) (Work.calc enforces it;
//     divisions are built as (divisor × quotient) / divisor, so they are always exact);
//   - every operand is either a number written in the question or an earlier step's result
//     (nothing implicit like "a dozen" or "twice"), so arithmetic.test.ts can recompute it.
//
// SPLIT RULE (documented here, checked by arithmetic.test.ts):
//   1. Story hold-out: every structure has at least one HELD-OUT-ONLY story (`held: true` below)
//      that never occurs in train, and at least two train stories of the same structure. Half of
//      the held-out items come from these stories: new wordings of operations learned in train.
//   2. Number hold-out: for every other (train-capable) story, an item is held-out iff the FIRST
//      number in its question is ≡ 2 (mod 3); train items have first number ≡ 0 or 1 (mod 3).
//      Magnitudes stay the same, but no held-out number combination can occur in train.
//   Together: a normalised held-out question can never equal a train question, whatever the seeds.
//   3. RL split (issue 11): the RL-only stories of arithmetic-rl-stories.ts (new settings, no 5-word run
//      shared with any train or held-out phrasing), train-class numbers (rule 2). The SFT never saw
//      these wordings and the test does not hold them: prompts for GRPO that the model sometimes
//      solves, unlike train items (≈ 98% solved), whose rewards give GRPO no signal.
import type { TaskItem } from './index.ts';
import { checkSplit, type Split } from './split.ts';
import { TaskRng, hashSeed, collectDistinct } from './rng.ts';
import { STORIES, type Story, type Ranges } from './arithmetic-stories.ts';
import { RL_STORIES } from './arithmetic-rl-stories.ts';

export const ARITHMETIC_DESCRIPTION =
  'GSM8K-format arithmetic word problems: 1–3 steps, <<a*b=c>> calculator annotations, final "#### n". ' +
  '14 operation structures with several stories each. Held-out split: one unseen story per structure ' +
  '(a familiar structure in new words) plus train stories whose first number is ≡ 2 (mod 3). RL split: 28 other ' +
  'wordings, in neither train nor held-out (prompts for GRPO).';

export type Op = '+' | '-' | '*' | '/';

/** One calculator step: a op b = c (c is exact; see applyOp). */
export interface ArithStep {
  a: number;
  op: Op;
  b: number;
  c: number;
}

export interface ArithMeta extends Record<string, unknown> {
  /** Story id (unique over all structures). */
  template: string;
  /** Operation structure the story belongs to (same reasoning lines for all its stories). */
  structure: string;
  /** True for stories that only ever appear in the held-out split. */
  heldoutOnly: boolean;
  /** Every integer written in the question, in order (the first one decides the number split). */
  numbers: number[];
  /** The worked solution; final = String(steps[steps.length - 1].c). */
  steps: ArithStep[];
}

export type ArithItem = TaskItem<ArithMeta>;

/** Exact arithmetic on small integers; division may return a fraction (callers check). */
export function applyOp(a: number, op: Op, b: number): number {
  switch (op) {
    case '+': return a + b;
    case '-': return a - b;
    case '*': return a * b;
    case '/': return a / b;
  }
}

/** Integers written in a question ("$12" → 12), in order of appearance. */
export function questionNumbers(question: string): number[] {
  return (question.match(/\d+/g) ?? []).map(Number);
}

/** The number split for train-capable stories: held-out iff the first question number is ≡ 2 (mod 3). */
export function heldoutByNumbers(numbers: readonly number[]): boolean {
  return numbers.length > 0 && numbers[0] % 3 === 2;
}

/** A rejected draw (a number rule failed); the generator draws again. */
class Reject extends Error {}

/** Records the steps of one solution and formats each as "a*b = <<a*b=c>>c". */
class Work {
  readonly steps: ArithStep[] = [];

  calc(a: number, op: Op, b: number): { t: string; v: number } {
    const c = applyOp(a, op, b);
    // Integer, non-negative and modest: the exactness and size rules of the header.
    if (!Number.isInteger(c) || c < 0 || c >= 10000) throw new Reject();
    this.steps.push({ a, op, b, c });
    return { t: `${a}${op}${b} = <<${a}${op}${b}=${c}>>${c}`, v: c };
  }
}

type Nums = Record<string, number>;

/** An operation structure: its calculator steps and the reasoning lines shared by all its stories. */
interface Structure {
  id: string;
  /** Steps in order; an operand is a number name (a, b, c, d) or '1'..'3' = that step's result. */
  steps: ReadonlyArray<readonly [string, Op, string]>;
  /** One line per step; {1}..{3} = the step's "a*b = <<a*b=c>>c", other slots come from the story. */
  lines: readonly string[];
  /** Default number ranges (inclusive); a story may override some. Helper numbers q, e are not shown. */
  ranges: Ranges;
  /** Derived numbers that make divisions exact and differences positive. */
  fix?(r: TaskRng, n: Nums, R: Ranges): void;
}

const lo = (R: Ranges, k: string) => R[k][0], hi = (R: Ranges, k: string) => R[k][1];
const gcd = (x: number, y: number): number => (y === 0 ? x : gcd(y, x % y));

// Shared line vocabulary: "In total:", "For each <part>:", "For the <kind>:", "Left:", "Used:",
// "After the increase/decrease:", "Number of <groups>:" — the same words mean the same step everywhere.
const STRUCTURES: Structure[] = [
  { id: 'mul', steps: [['a', '*', 'b']], lines: ['In total: {1} {u}.'], ranges: { a: [2, 15], b: [3, 24] } },
  { id: 'rate_time', steps: [['a', '*', 'b']], lines: ['In {b} {t}: {1} {u}.'], ranges: { a: [12, 95], b: [2, 15] } },
  { id: 'div', steps: [['a', '/', 'b']], lines: ['For each {p}: {1} {u}.'], ranges: { b: [2, 9], q: [2, 25] },
    fix(r, n) { n.a = n.b * n.q; } }, // [a = b × q] exact
  { id: 'add_sub', steps: [['a', '+', 'b'], ['1', '-', 'c']],
    lines: ['After the increase: {1} {u}.', 'After the decrease: {2} {u}.'], ranges: { a: [5, 80], b: [2, 40] },
    fix(r, n) { n.c = r.int(2, n.a + n.b - 1); } },
  { id: 'mul_sub', steps: [['a', '*', 'b'], ['1', '-', 'c']], lines: ['In total: {1} {u}.', 'Left: {2} {u}.'],
    ranges: { a: [2, 15], b: [3, 20] }, fix(r, n) { n.c = r.int(2, n.a * n.b - 1); } },
  { id: 'left_after', steps: [['b', '*', 'c'], ['a', '-', '1']], lines: ['Used: {1} {u}.', 'Left: {2} {u}.'],
    ranges: { b: [2, 9], c: [2, 12], e: [5, 120] }, fix(r, n) { n.a = n.b * n.c + n.e; } },
  { id: 'two_products', steps: [['a', '*', 'b'], ['c', '*', 'd'], ['1', '+', '2']],
    lines: ['For the {x}: {1} {u}.', 'For the {y}: {2} {u}.', 'In total: {3} {u}.'],
    ranges: { a: [2, 12], b: [2, 15], c: [2, 12], d: [2, 15] } },
  { id: 'mul_div', steps: [['a', '*', 'b'], ['1', '/', 'c']], lines: ['In total: {1} {u}.', 'For each {p}: {2} {u}.'],
    ranges: { a: [2, 12], b: [4, 30], c: [2, 8] },
    fix(r, n, R) { // b a multiple of c / gcd(a, c), so c divides a·b
      const g = n.c / gcd(n.a, n.c), k0 = Math.ceil(lo(R, 'b') / g), k1 = Math.floor(hi(R, 'b') / g);
      if (k1 < k0) throw new Reject();
      n.b = g * r.int(k0, k1);
    } },
  { id: 'bags', steps: [['a', '*', 'b'], ['1', '-', 'c'], ['2', '/', 'd']],
    lines: ['In total: {1} {u}.', 'Left: {2} {u}.', 'Number of {g}: {3}.'], ranges: { a: [2, 8], b: [6, 15], d: [2, 8] },
    fix(r, n) { // c ≡ a·b (mod d), so the rest fills whole groups; at least one group remains
      const total = n.a * n.b, rem = total % n.d, k0 = rem === 0 ? 1 : 0, k1 = Math.floor((total - n.d - rem) / n.d);
      if (k1 < k0) throw new Reject();
      n.c = rem + n.d * r.int(k0, k1);
    } },
  { id: 'sub_mul', steps: [['a', '-', 'b'], ['1', '*', 'c']], lines: ['After the decrease: {1} {u}.', 'In total: {2} {v}.'],
    ranges: { a: [10, 60], c: [2, 12] }, fix(r, n) { n.b = r.int(2, Math.min(20, n.a - 2)); } },
  { id: 'age', steps: [['a', '+', 'b'], ['1', '+', 'c']], lines: ['Now: {1} years old.', 'In {c} years: {2} years old.'],
    ranges: { a: [4, 60], b: [2, 30], c: [2, 20] } },
  { id: 'div_mul', steps: [['a', '/', 'b'], ['1', '*', 'c']], lines: ['Number of {g}: {1}.', 'In total: {2} {u}.'],
    ranges: { b: [2, 8], q: [2, 15], c: [2, 15] }, fix(r, n) { n.a = n.b * n.q; } }, // [a = b × q] exact
  { id: 'sum_mul', steps: [['b', '+', 'c'], ['a', '*', '1']], lines: ['Altogether: {1} {t}.', 'In total: {2} {u}.'],
    ranges: { a: [8, 30], b: [2, 9], c: [2, 9] } },
  { id: 'mul_add_sub', steps: [['b', '*', 'c'], ['a', '+', '1'], ['2', '-', 'd']],
    lines: ['Added: {1} {u}.', 'After the increase: {2} {u}.', 'After the decrease: {3} {u}.'],
    ranges: { a: [5, 90], b: [2, 9], c: [3, 25] }, fix(r, n) { n.d = r.int(2, n.a + n.b * n.c - 1); } },
];

const STRUCT_BY_ID = new Map(STRUCTURES.map((s) => [s.id, s]));

/** Story ids with their structure and split role (for tests and UI listings). */
export const ARITH_TEMPLATES: ReadonlyArray<{ id: string; structure: string; heldoutOnly: boolean; phrasings: number }> =
  STORIES.map((s) => ({ id: s.id, structure: s.st, heldoutOnly: !!s.held, phrasings: s.q.length }));
export const ARITH_STRUCTURES: readonly string[] = STRUCTURES.map((s) => s.id);

/** Fills "{k}" slots; a missing value is a bug in the tables above, not a rejected draw. */
function fill(tpl: string, vals: Readonly<Record<string, string | number>>, where: string): string {
  return tpl.replace(/\{(\w+)\}/g, (_, k: string) => {
    if (vals[k] === undefined) throw new Error(`arithmetic: ${where} has no value for {${k}}`);
    return String(vals[k]);
  });
}

/** One draw of a story: numbers, words, steps; throws Reject when a number rule fails. */
function buildStory(s: Story, r: TaskRng, w: Work): { q: string; lines: string[] } {
  const st = STRUCT_BY_ID.get(s.st)!;
  const R: Ranges = { ...st.ranges, ...s.r };
  const n: Nums = {};
  for (const k of Object.keys(R)) n[k] = r.int(lo(R, k), hi(R, k));
  st.fix?.(r, n, R);
  // Words: slots drawing from the same list get different words (two names, two fruits).
  const vals: Record<string, string | number> = { ...n };
  const used = new Map<readonly string[], Set<string>>();
  for (const [k, v] of Object.entries(s.w)) {
    if (typeof v === 'string') { vals[k] = v; continue; }
    const taken = used.get(v) ?? new Set<string>();
    let x = r.pick(v);
    while (taken.has(x)) x = r.pick(v);
    taken.add(x);
    used.set(v, taken);
    vals[k] = x;
  }
  // Steps: operands are numbers of the question or earlier results ('1'..'3').
  const res: Array<{ t: string; v: number }> = [];
  const arg = (x: string) => (/^\d$/.test(x) ? res[Number(x) - 1].v : n[x]);
  for (const [x, op, y] of st.steps) res.push(w.calc(arg(x), op, arg(y)));
  res.forEach((x, i) => { vals[String(i + 1)] = x.t; });
  const q = fill(r.pick(s.q), vals, `story ${s.id}`);
  return { q, lines: st.lines.map((l) => fill(l, vals, `structure ${st.id} (story ${s.id})`)) };
}

const TRAIN_BY_STRUCT = STRUCTURES.map((st) => STORIES.filter((s) => s.st === st.id && !s.held));
const HELD_ONLY = STORIES.filter((s) => s.held);
const RL_BY_STRUCT = STRUCTURES.map((st) => RL_STORIES.filter((s) => s.st === st.id));

function makeItem(r: TaskRng, split: Split, seed: number, index: number): ArithItem | null {
  // Held-out: half held-out-only stories (rule 1), half train stories with held-out numbers (rule 2).
  // Train stories: structure first (uniform), then one of its train stories (structures stay balanced).
  // RL: structure first, then one of its RL-only stories (rule 3).
  const s = split === 'rl' ? r.pick(r.pick(RL_BY_STRUCT))
    : split === 'heldout' && r.chance(0.5) ? r.pick(HELD_ONLY) : r.pick(r.pick(TRAIN_BY_STRUCT));
  // Redraw numbers (same story) until the draw is valid and, for a train story, its first
  // number falls in this split's class (rule 2); keeps the story mix uniform within each pool.
  for (let tries = 0; tries < 50; tries++) {
    const w = new Work();
    let built: { q: string; lines: string[] };
    try {
      built = buildStory(s, r, w);
    } catch (e) {
      if (e instanceof Reject) continue;
      throw e;
    }
    const numbers = questionNumbers(built.q);
    if (!s.held && heldoutByNumbers(numbers) !== (split === 'heldout')) continue;
    return finish(s, w, built, numbers, split, seed, index);
  }
  return null;
}

/** Assembles the item: reasoning lines, then the "#### final" line GSM8K scorers read. */
function finish(s: Story, w: Work, built: { q: string; lines: string[] }, numbers: number[], split: Split, seed: number, index: number): ArithItem {
  const final = String(w.steps[w.steps.length - 1].c);
  return {
    id: `arithmetic-${split}-${seed}-${index}`,
    task: 'arithmetic',
    split,
    question: built.q,
    answer: [...built.lines, `#### ${final}`].join('\n'),
    final,
    meta: { template: s.id, structure: s.st, heldoutOnly: !!s.held, numbers, steps: w.steps },
  };
}

/** n distinct arithmetic items of one split; same (split, n, seed) → identical items. */
export function generateArithmetic(split: Split, n: number, seed: number): ArithItem[] {
  checkSplit('arithmetic', split);
  const rng = new TaskRng(hashSeed('arithmetic', split, seed));
  return collectDistinct(n, rng, (r, i) => makeItem(r, split, seed, i), 'arithmetic');
}
