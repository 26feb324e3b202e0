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
import type { Split, TaskItem } from './index.ts';
import { TaskRng, hashSeed, collectDistinct } from './rng.ts';

export const ARITHMETIC_DESCRIPTION =
  'GSM8K-format arithmetic word problems: 1–3 steps, <<a*b=c>> calculator annotations, final "#### n". ' +
  '14 operation structures with several stories each. Held-out split: one unseen story per structure ' +
  '(a familiar structure in new words) plus train stories whose first number is ≡ 2 (mod 3).';

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

// ---- word lists (short, everyday words keep questions under ~40 words; no digits in them) ----
const NAMES = ['Mia', 'Leo', 'Ava', 'Noah', 'Zoe', 'Omar', 'Lina', 'Ravi', 'Emma', 'Sam', 'Nora', 'Ben',
  'Iris', 'Kai', 'Maya', 'Theo', 'Aria', 'Finn', 'Lucy', 'Jack', 'Hana', 'Ivan', 'Rosa', 'Eli'];
const OBJECTS = ['pens', 'apples', 'stickers', 'marbles', 'books', 'cards', 'shells', 'eggs', 'beads',
  'stamps', 'crayons', 'buttons', 'coins', 'pencils', 'plums'];
const SHOP_ITEMS = ['notebooks', 'mugs', 'candles', 'plants', 'sandwiches', 'toy cars', 'socks', 'kites'];
const VEHICLES = ['car', 'bus', 'train', 'truck', 'boat', 'cyclist'];
const PLANTS = ['tomato plants', 'roses', 'tulips', 'carrots', 'sunflowers'];
const GIFTS = ['game', 'book', 'jacket', 'watch', 'lamp', 'scarf'];
const FRUITS = ['apples', 'pears', 'oranges', 'lemons', 'peaches', 'mangoes'];
const BAKED = ['muffins', 'rolls', 'buns', 'cupcakes', 'bagels'];
const TOYS = ['toy cars', 'dolls', 'yo-yos', 'puzzles', 'robots'];
const TREES = ['oak', 'pine', 'maple', 'birch', 'elm'];
const BUILDINGS = ['school', 'church', 'bridge', 'tower', 'museum', 'library'];

type Ranges = Readonly<Record<string, readonly [number, number]>>;
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

/** A story: wording of one structure. Word slots pick from lists (two slots with one list differ). */
interface Story {
  id: string;
  st: string;
  /** Held-out-only (split rule 1). */
  held?: boolean;
  r?: Ranges;
  w: Readonly<Record<string, string | readonly string[]>>;
  /** Question phrasings (different sentence orders and questions); one is picked per item. */
  q: readonly string[];
}

const STORIES: Story[] = [
  // mul: a*b
  { id: 'packs', st: 'mul', w: { N: NAMES, u: OBJECTS }, q: [
    '{N} buys {a} packs of {u}. Each pack has {b} {u}. How many {u} does {N} buy?',
    'There are {a} boxes with {b} {u} in each box. How many {u} are there in all?',
    '{N} has {a} bags with {b} {u} in each bag. What is the total number of {u}?'] },
  { id: 'hall', st: 'mul', w: { u: ['chairs', 'seats', 'benches'], pl: ['hall', 'theater', 'classroom'] }, q: [
    'A {pl} has {a} rows with {b} {u} in each row. How many {u} are in the {pl}?',
    'There are {b} {u} in each row of a {pl}, and there are {a} rows. How many {u} are there in total?'] },
  { id: 'trays', st: 'mul', held: true, w: { u: BAKED }, q: [
    'A baker fills {a} trays with {b} {u} on each tray. How many {u} are there in total?',
    'Each tray holds {b} {u}. A baker fills {a} trays. What is the total number of {u}?'] },
  // rate_time: rate a per unit of time, for b units
  { id: 'speed', st: 'rate_time', w: { v: VEHICLES, u: 'km', t: 'hours' }, q: [
    'A {v} travels {a} km every hour. How many km does it travel in {b} hours?',
    'A {v} goes {a} km per hour. How many km does it go in {b} hours?'] },
  { id: 'pump', st: 'rate_time', w: { m: ['pump', 'hose', 'tap'], u: 'liters', t: 'minutes' }, q: [
    'A {m} gives {a} liters of water each minute. How many liters does it give in {b} minutes?',
    'How many liters does a {m} fill in {b} minutes if it fills {a} liters per minute?'] },
  { id: 'typing', st: 'rate_time', w: { N: NAMES, u: 'words', t: 'minutes' }, q: [
    '{N} types {a} words per minute. How many words does {N} type in {b} minutes?',
    'In {b} minutes, how many words can {N} type at {a} words a minute?'] },
  { id: 'machine', st: 'rate_time', held: true, w: { u: TOYS, t: 'hours' }, q: [
    'A machine makes {a} {u} every hour. How many {u} does it make in {b} hours?',
    'A factory machine runs for {b} hours and makes {a} {u} per hour. How many {u} does it make?'] },
  // div: a/b
  { id: 'share', st: 'div', w: { N: NAMES, u: OBJECTS, p: 'friend' }, q: [
    '{N} has {a} {u} and shares them equally among {b} friends. How many {u} does each friend get?',
    '{a} {u} are split equally between {b} friends. How many {u} does each friend get?'] },
  { id: 'trip', st: 'div', r: { b: [2, 9], q: [15, 120] }, w: { v: VEHICLES, u: 'km', p: 'hour' }, q: [
    'A {v} travels {a} km in {b} hours at a steady speed. How many km does it travel each hour?',
    'In {b} hours a {v} covers {a} km at a steady speed. How many km is that per hour?'] },
  { id: 'ribbon', st: 'div', w: { N: NAMES, m: ['ribbon', 'rope', 'string'], u: 'cm', p: 'piece' }, q: [
    'A {m} is {a} cm long. {N} cuts it into {b} equal pieces. How long is each piece, in cm?',
    '{N} cuts a {a} cm {m} into {b} equal pieces. How many cm long is each piece?'] },
  { id: 'teams', st: 'div', held: true, w: { u: ['players', 'children', 'runners'], p: 'team' }, q: [
    '{a} {u} are split into {b} equal teams. How many {u} are on each team?',
    'A coach puts {a} {u} into {b} teams of equal size. How many {u} are in each team?'] },
  // add_sub: a+b, then −c
  { id: 'give', st: 'add_sub', w: { N: NAMES, M: NAMES, u: OBJECTS }, q: [
    '{N} has {a} {u}. {N} finds {b} more, then gives {c} to {M}. How many {u} does {N} have now?',
    '{N} had {a} {u}, found {b} more and gave {c} of them to {M}. How many {u} does {N} have left?'] },
  { id: 'bus', st: 'add_sub', w: { u: 'people' }, q: [
    'A bus has {a} people on it. At the next stop {b} people get on and {c} get off. How many people are on the bus now?',
    'At a stop, {b} people get on a bus that had {a} people, then {c} get off. How many people are on the bus?'] },
  { id: 'shelf', st: 'add_sub', w: { u: 'books' }, q: [
    'A library shelf has {a} books. Readers return {b} books and borrow {c} books. How many books are on the shelf now?',
    'Readers return {b} books to a shelf that holds {a} books, then borrow {c}. How many books are on the shelf?'] },
  { id: 'temperature', st: 'add_sub', held: true, r: { a: [1, 30], b: [2, 20] }, w: { u: 'degrees' }, q: [
    'In the morning it is {a} degrees. By noon it is {b} degrees warmer, and by night it is {c} degrees cooler than at noon. What is the temperature at night?',
    'It is {a} degrees in the morning. It gets {b} degrees warmer by noon, then {c} degrees cooler by night. How many degrees is it at night?'] },
  // mul_sub: a*b, then −c
  { id: 'savings', st: 'mul_sub', r: { a: [3, 25], b: [2, 12] }, w: { N: NAMES, g: GIFTS, u: 'dollars' }, q: [
    '{N} saves ${a} every week for {b} weeks, then spends ${c} on a {g}. How much money does {N} have left?',
    'For {b} weeks {N} saves ${a} each week. Then {N} buys a {g} for ${c}. How many dollars are left?'] },
  { id: 'garden', st: 'mul_sub', w: { u: PLANTS }, q: [
    'A garden has {a} rows of {b} {u}. Then {c} of the {u} die. How many {u} are left?',
    'There are {b} {u} in each of {a} rows of a garden. If {c} {u} die, how many {u} are left?'] },
  { id: 'sheets', st: 'mul_sub', w: { N: NAMES, u: ['stickers', 'stamps', 'labels'] }, q: [
    '{N} has {a} sheets with {b} {u} on each sheet. {N} uses {c} {u}. How many {u} are left?',
    '{N} uses {c} {u} from {a} sheets that hold {b} {u} each. How many {u} are left?'] },
  { id: 'bakery', st: 'mul_sub', held: true, w: { u: BAKED }, q: [
    'A bakery makes {a} batches of {b} {u} and sells {c} of them. How many {u} are left?',
    'A bakery bakes {b} {u} in each of {a} batches. It sells {c} {u}. How many {u} does it have left?'] },
  // left_after: b*c used up, a − that is left
  { id: 'change', st: 'left_after', w: { N: NAMES, it: SHOP_ITEMS, u: 'dollars' }, q: [
    '{N} has ${a} and buys {b} {it} for ${c} each. How much money does {N} have left?',
    '{N} buys {b} {it} at ${c} each. {N} had ${a} before. How many dollars does {N} have now?'] },
  { id: 'reading', st: 'left_after', r: { b: [5, 30], c: [2, 9], e: [5, 150] }, w: { N: NAMES, u: 'pages' }, q: [
    'A book has {a} pages. {N} reads {b} pages a day for {c} days. How many pages are left?',
    '{N} reads {b} pages of a {a}-page book each day for {c} days. How many pages are left to read?'] },
  { id: 'tank', st: 'left_after', r: { b: [5, 40], c: [2, 9], e: [5, 200] }, w: { u: 'liters' }, q: [
    'A tank holds {a} liters of water. A farm uses {b} liters a day for {c} days. How many liters are left in the tank?',
    'A farm uses {b} liters of water a day for {c} days from a tank of {a} liters. How many liters are left?'] },
  { id: 'road', st: 'left_after', held: true, r: { b: [30, 90], c: [2, 6], e: [10, 300] }, w: { u: 'km' }, q: [
    'A road trip is {a} km long. A family drives {b} km each hour for {c} hours. How many km are still left?',
    'A family drives {b} km per hour for {c} hours on a {a} km trip. How many km of the trip are left?'] },
  // two_products: a*b + c*d
  { id: 'fruit', st: 'two_products', w: { N: NAMES, x: FRUITS, y: FRUITS, u: 'dollars' }, q: [
    '{N} buys {a} {x} at ${b} each and {c} {y} at ${d} each. How much does {N} spend in total?',
    '{N} buys {a} {x} and {c} {y}. The {x} cost ${b} each and the {y} cost ${d} each. How many dollars does {N} pay?'] },
  { id: 'crates', st: 'two_products', w: { x: 'big boxes', y: 'small boxes', u: OBJECTS }, q: [
    'A shop has {a} big boxes of {b} {u} and {c} small boxes of {d} {u}. How many {u} are there in total?',
    'There are {b} {u} in each of {a} big boxes and {d} {u} in each of {c} small boxes. What is the total number of {u}?'] },
  { id: 'wheels', st: 'two_products', r: { a: [2, 60], b: [4, 4], c: [2, 60], d: [2, 2] },
    w: { x: 'cars', y: 'bikes', u: 'wheels', pl: ['parking lot', 'street', 'garage'] }, q: [
      'A {pl} has {a} cars and {c} bikes. Each car has {b} wheels and each bike has {d} wheels. How many wheels are there in total?',
      'In a {pl} there are {a} cars with {b} wheels each and {c} bikes with {d} wheels each. What is the total number of wheels?'] },
  { id: 'tickets', st: 'two_products', held: true, r: { a: [2, 9], b: [10, 25], c: [2, 9], d: [2, 9] },
    w: { N: NAMES, x: 'adult tickets', y: 'child tickets', u: 'dollars' }, q: [
      'Adult tickets cost ${b} and child tickets cost ${d}. How much do {a} adult and {c} child tickets cost in total?',
      '{N} buys {a} adult tickets at ${b} each and {c} child tickets at ${d} each. What is the total cost in dollars?'] },
  { id: 'legs', st: 'two_products', held: true, r: { a: [2, 40], b: [4, 4], c: [2, 40], d: [2, 2] },
    w: { x: ['cows', 'goats', 'horses'], y: ['hens', 'ducks', 'geese'], u: 'legs' }, q: [
      'A farm has {a} {x} and {c} {y}. The {x} have {b} legs each and the {y} have {d} legs each. How many legs are there in total?'] },
  // mul_div: a*b, then ÷c
  { id: 'pizza', st: 'mul_div', w: { u: 'dollars', p: ['friend', 'cousin', 'classmate'], f: ['pizzas', 'cakes', 'pies'] }, q: [
    '{c} {p}s buy {a} {f} for ${b} each and split the cost equally. How much does each {p} pay?',
    'Some {p}s buy {a} {f} at ${b} each. The {c} {p}s split the cost equally. How many dollars does each {p} pay?'] },
  { id: 'candy', st: 'mul_div', w: { N: NAMES, u: ['candies', 'cookies', 'grapes'], p: 'child' }, q: [
    '{N} has {a} bags of {b} {u} and shares them equally among {c} children. How many {u} does each child get?',
    '{N} shares {a} bags with {b} {u} in each bag equally among {c} children. How many {u} does each child get?'] },
  { id: 'boat', st: 'mul_div', w: { u: 'dollars', p: ['friend', 'cousin', 'neighbor'], m: ['boat', 'car', 'tent', 'bike'] }, q: [
    '{c} {p}s rent a {m} for {a} hours at ${b} an hour. They split the cost equally. How much does each {p} pay?',
    'A {m} costs ${b} an hour. {c} {p}s rent it for {a} hours and share the cost equally. How many dollars does each {p} pay?'] },
  { id: 'orchard', st: 'mul_div', held: true, w: { u: FRUITS, p: 'crate' }, q: [
    'A farmer picks {a} baskets of {b} {u} and puts them equally into {c} crates. How many {u} go in each crate?',
    'A farmer fills {a} baskets with {b} {u} each, then shares the {u} equally among {c} crates. How many {u} are in each crate?'] },
  // bags: a*b, −c, then ÷d
  { id: 'baking', st: 'bags', w: { N: NAMES, u: 'cookies', g: 'bags' }, q: [
    '{N} bakes {a} trays of {b} cookies, eats {c} of them and packs the rest in bags of {d}. How many bags does {N} fill?'] },
  { id: 'eggs', st: 'bags', r: { a: [2, 14], b: [6, 30], d: [2, 12] }, w: { u: 'eggs', g: 'cartons' }, q: [
    'A farm collects {b} eggs a day for {a} days. Then {c} eggs break, and the rest are packed in cartons of {d}. How many cartons are filled?',
    'For {a} days a farm collects {b} eggs a day. It packs all but {c} broken eggs in cartons of {d}. How many cartons does it fill?'] },
  { id: 'seeds', st: 'bags', w: { N: NAMES, u: 'seeds', g: 'rows' }, q: [
    '{N} has {a} packets of {b} seeds. {N} loses {c} seeds and plants the rest in rows of {d}. How many rows does {N} plant?'] },
  { id: 'oranges', st: 'bags', held: true, w: { u: FRUITS, g: 'bags' }, q: [
    'A shop gets {a} crates of {b} {u}. It throws away {c} bad ones and packs the rest in bags of {d}. How many bags does it fill?'] },
  // sub_mul: a−b, then ×c
  { id: 'discount', st: 'sub_mul', r: { a: [10, 90], c: [2, 9] }, w: { g: GIFTS, u: 'dollars', v: 'dollars' }, q: [
    'A {g} costs ${a}. On sale it is ${b} cheaper. How much do {c} of them cost on sale?',
    'A shop sells a {g} for ${a}, but today it is ${b} off. How many dollars do {c} of them cost today?'] },
  { id: 'class', st: 'sub_mul', w: { u: 'students', v: OBJECTS }, q: [
    'A class has {a} students, but {b} are absent. Each student present gets {c} {v}. How many {v} are given out?'] },
  { id: 'hens', st: 'sub_mul', w: { u: 'hens', v: 'eggs' }, q: [
    'A farm has {a} hens. {b} of them are sick and lay no eggs. Each other hen lays {c} eggs a week. How many eggs are laid in a week?',
    'Of the {a} hens on a farm, {b} are sick and lay no eggs. The others lay {c} eggs each. How many eggs do they lay?'] },
  { id: 'runners', st: 'sub_mul', held: true, w: { u: 'runners', v: 'laps' }, q: [
    '{a} runners start a race, and {b} of them drop out. Each runner who stays runs {c} laps. How many laps are run in total?'] },
  // age: a+b now, then +c years
  { id: 'sibling', st: 'age', w: { N: NAMES, M: NAMES }, q: [
    '{N} is {a} years old. {M} is {b} years older than {N}. How old will {M} be in {c} years?',
    '{M} is {b} years older than {N}, who is {a}. How old will {M} be in {c} years?'] },
  { id: 'parent', st: 'age', r: { a: [2, 40], b: [18, 40], c: [2, 20] }, w: { N: NAMES, rel: ['mother', 'father', 'aunt', 'uncle'] }, q: [
    '{N} is {a} years old. {N} was born when the {rel} was {b}. How old will the {rel} be in {c} years?'] },
  { id: 'tree', st: 'age', w: { x: TREES, y: TREES }, q: [
    'The {x} tree is {a} years old. The {y} tree is {b} years older. How old will the {y} tree be in {c} years?',
    'A {y} tree is {b} years older than an old {x} tree, which is {a}. What age will the {y} tree be in {c} years?'] },
  { id: 'building', st: 'age', held: true, w: { x: BUILDINGS, y: BUILDINGS }, q: [
    'A {x} is {a} years old. The {y} next to it is {b} years older. How old will the {y} be in {c} years?',
    'A {x} was built {a} years ago. A {y} in the same town is {b} years older. How old will the {y} be in {c} years?'] },
  // div_mul: a/b groups, then ×c
  { id: 'tables', st: 'div_mul', w: { u: ['candles', 'flowers', 'napkins', 'balloons'], g: 'tables' }, q: [
    '{a} guests sit at tables of {b}. Each table gets {c} {u}. How many {u} are needed?',
    'At a party {a} guests sit in tables of {b}, and each table has {c} {u}. How many {u} are there?'] },
  { id: 'fruitbags', st: 'div_mul', w: { f: FRUITS, u: 'dollars', g: 'bags' }, q: [
    'A farmer packs {a} {f} into bags of {b}. Each bag sells for ${c}. How much money does the farmer get for all the bags?',
    'A farmer sells {a} {f} in bags of {b}, at ${c} a bag. How many dollars does the farmer get?'] },
  { id: 'carpool', st: 'div_mul', w: { u: 'liters', g: ['cars', 'vans', 'boats'], m: ['people', 'fans', 'players'] }, q: [
    '{a} {m} travel in {g} that hold {b} {m} each. Each of the {g} uses {c} liters of fuel. How many liters are used?'] },
  { id: 'groups', st: 'div_mul', held: true, w: { u: 'markers', g: 'groups' }, q: [
    'A class of {a} students forms groups of {b}. Each group needs {c} markers. How many markers are needed?',
    'A teacher splits {a} students into groups of {b} and gives {c} markers to each group. How many markers does she give?'] },
  // sum_mul: b+c units of time, then ×a per unit
  { id: 'wages', st: 'sum_mul', w: { N: NAMES, t: 'hours', u: 'dollars' }, q: [
    '{N} earns ${a} an hour and works {b} hours on Monday and {c} hours on Tuesday. How much does {N} earn?',
    '{N} works {b} hours on Monday and {c} hours on Tuesday for ${a} an hour. How many dollars does {N} earn?'] },
  { id: 'pages', st: 'sum_mul', w: { N: NAMES, t: 'days', u: 'pages' }, q: [
    '{N} reads {a} pages each day. {N} reads for {b} days in May and {c} days in June. How many pages does {N} read?'] },
  { id: 'laps', st: 'sum_mul', w: { N: NAMES, t: 'days', u: 'laps' }, q: [
    '{N} swims {a} laps each day, for {b} days one week and {c} days the next week. How many laps does {N} swim in total?'] },
  { id: 'orchard_rows', st: 'sum_mul', held: true, w: { t: 'rows', u: 'trees' }, q: [
    'A farmer plants {a} trees in each row. He plants {b} rows on Monday and {c} rows on Tuesday. How many trees does he plant?'] },
  // mul_add_sub: b*c added to a, then −d
  { id: 'earn_spend', st: 'mul_add_sub', r: { a: [5, 90], b: [3, 25], c: [2, 9] }, w: { N: NAMES, u: 'dollars' }, q: [
    '{N} has ${a}. {N} earns ${b} a day for {c} days, then spends ${d}. How much money does {N} have now?'] },
  { id: 'stock', st: 'mul_add_sub', w: { u: SHOP_ITEMS }, q: [
    'A shop has {a} {u}. It gets {b} boxes of {c} more {u}, then sells {d} {u}. How many {u} does it have now?'] },
  { id: 'library', st: 'mul_add_sub', w: { u: 'books' }, q: [
    'A library has {a} books. It buys {b} boxes of {c} books and gives away {d} old books. How many books does it have now?'] },
  { id: 'flock', st: 'mul_add_sub', held: true, w: { u: ['sheep', 'goats', 'cows'] }, q: [
    'A farmer has {a} {u}. He buys {b} groups of {c} {u} at a market and later sells {d} {u}. How many {u} does he have now?'] },
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

function makeItem(r: TaskRng, split: Split, seed: number, index: number): ArithItem | null {
  // Held-out: half held-out-only stories (rule 1), half train stories with held-out numbers (rule 2).
  // Train stories: structure first (uniform), then one of its train stories (structures stay balanced).
  const s = split === 'heldout' && r.chance(0.5) ? r.pick(HELD_ONLY) : r.pick(r.pick(TRAIN_BY_STRUCT));
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
  if (split !== 'train' && split !== 'heldout') throw new Error(`arithmetic: split must be "train" or "heldout", got "${split}"`);
  const rng = new TaskRng(hashSeed('arithmetic', split, seed));
  return collectDistinct(n, rng, (r, i) => makeItem(r, split, seed, i), 'arithmetic');
}
