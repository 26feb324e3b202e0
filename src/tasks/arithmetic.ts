// Arithmetic word problems in GSM8K's format, seeded and deterministic (issue 5).
//
//   question: one short story problem (≲ 40 words), 1–3 reasoning steps with + − × ÷.
//   answer:   one line per step with a calculator annotation, e.g.
//               "Mia buys 3*12 = <<3*12=36>>36 pens."
//             then "#### 36" (GSM8K's final-answer marker; score() in index.ts reads it).
//
// Number rules (a tiny model must learn this, and every answer must be exact):
//   - every intermediate and final result is an integer in [0, 10000) (Work.calc enforces it;
//     divisions are built as (divisor × quotient) / divisor, so they are always exact);
//   - every operand is either a number written in the question or an earlier step's result
//     (nothing implicit like "a dozen" or "twice"), so the arithmetic.test.ts can recompute it.
//
// SPLIT RULE (documented here, checked by arithmetic.test.ts):
//   1. Template hold-out: HELDOUT_ONLY templates (tickets, legs, groups, temperature) never occur
//      in train. Half of the held-out items come from them (new wordings of familiar operations).
//   2. Number hold-out: for every other (shared) template, an item is held-out iff the FIRST number
//      in its question is ≡ 2 (mod 3); train items have first number ≡ 0 or 1 (mod 3). Magnitudes stay
//      the same, but no held-out number combination can occur in train, so memorising fails.
//   Together: a normalised held-out question can never equal a train question, whatever the seeds.
import type { Split, TaskItem } from './index.ts';
import { TaskRng, hashSeed, collectDistinct } from './rng.ts';

export const ARITHMETIC_DESCRIPTION =
  'GSM8K-format arithmetic word problems: 1–3 steps, <<a*b=c>> calculator annotations, final "#### n". ' +
  'Held-out split: 4 unseen templates plus shared templates whose first number is ≡ 2 (mod 3).';

export type Op = '+' | '-' | '*' | '/';

/** One calculator step: a op b = c (c is exact; see applyOp). */
export interface ArithStep {
  a: number;
  op: Op;
  b: number;
  c: number;
}

export interface ArithMeta extends Record<string, unknown> {
  template: string;
  /** True for templates that only ever appear in the held-out split. */
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

/** The number split for shared templates: held-out iff the first question number is ≡ 2 (mod 3). */
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

// ---- word lists (short, everyday words keep questions under ~40 words) ----------------------
const NAMES = ['Mia', 'Leo', 'Ava', 'Noah', 'Zoe', 'Omar', 'Lina', 'Ravi', 'Emma', 'Sam', 'Nora', 'Ben',
  'Iris', 'Kai', 'Maya', 'Theo', 'Aria', 'Finn', 'Lucy', 'Jack', 'Hana', 'Ivan', 'Rosa', 'Eli'];
const OBJECTS = ['pens', 'apples', 'stickers', 'marbles', 'books', 'cards', 'shells', 'eggs', 'beads',
  'stamps', 'crayons', 'buttons', 'coins', 'pencils', 'plums'];
const SHOP_ITEMS = ['notebooks', 'mugs', 'candles', 'plants', 'sandwiches', 'toy cars', 'socks', 'kites'];
const VEHICLES = ['car', 'bus', 'train', 'truck', 'boat', 'cyclist'];
const PLANTS = ['tomato plants', 'roses', 'tulips', 'carrots', 'sunflowers'];
const GIFTS = ['game', 'book', 'jacket', 'watch', 'lamp', 'scarf'];
const BIG_ANIMALS: ReadonlyArray<[string, number]> = [['cows', 4], ['goats', 4], ['horses', 4]];
const BIRDS: ReadonlyArray<[string, number]> = [['hens', 2], ['ducks', 2], ['geese', 2]];

interface Template {
  id: string;
  heldoutOnly: boolean;
  /** Draws numbers and words, records the steps in w, returns question and reasoning lines. */
  build(r: TaskRng, w: Work): { q: string; lines: string[] };
}

// Shared templates (train, and held-out under the number rule). Steps noted as ops.
const SHARED: Template[] = [
  { id: 'packs', heldoutOnly: false, build(r, w) { // 1 step: ×
    const n = r.pick(NAMES), o = r.pick(OBJECTS), a = r.int(2, 15), b = r.int(3, 24);
    const s = w.calc(a, '*', b);
    const q = r.chance(0.5)
      ? `${n} buys ${a} packs of ${o}. Each pack has ${b} ${o}. How many ${o} does ${n} buy?`
      : `There are ${a} boxes with ${b} ${o} in each box. How many ${o} are there in all?`;
    return { q, lines: [`There are ${s.t} ${o}.`] };
  } },
  { id: 'change', heldoutOnly: false, build(r, w) { // 2 steps: ×, −
    const n = r.pick(NAMES), it = r.pick(SHOP_ITEMS), a = r.int(2, 9), b = r.int(2, 12);
    const bill = r.pick([20, 50, 100, 200].filter((x) => x > a * b));
    const s1 = w.calc(a, '*', b), s2 = w.calc(bill, '-', s1.v);
    return {
      q: `${n} buys ${a} ${it} for $${b} each and pays with a $${bill} bill. How much change does ${n} get?`,
      lines: [`The ${it} cost ${s1.t} dollars.`, `The change is ${s2.t} dollars.`],
    };
  } },
  { id: 'share', heldoutOnly: false, build(r, w) { // 1 step: ÷ (a = b × quotient, so exact)
    const n = r.pick(NAMES), o = r.pick(OBJECTS), b = r.int(2, 9), a = b * r.int(2, 25);
    const s = w.calc(a, '/', b);
    return {
      q: `${n} has ${a} ${o} and shares them equally among ${b} friends. How many ${o} does each friend get?`,
      lines: [`Each friend gets ${s.t} ${o}.`],
    };
  } },
  { id: 'speed', heldoutOnly: false, build(r, w) { // 1 step: ×
    const v = r.pick(VEHICLES), a = r.int(12, 95), b = r.int(2, 9);
    const s = w.calc(a, '*', b);
    return { q: `A ${v} travels ${a} km every hour. How many km does it travel in ${b} hours?`, lines: [`It travels ${s.t} km.`] };
  } },
  { id: 'ages', heldoutOnly: false, build(r, w) { // 2 steps: +, +
    const [n, m] = r.pick2(NAMES), a = r.int(4, 60), b = r.int(2, 30), c = r.int(2, 20);
    const s1 = w.calc(a, '+', b), s2 = w.calc(s1.v, '+', c);
    return {
      q: `${n} is ${a} years old. ${m} is ${b} years older than ${n}. How old will ${m} be in ${c} years?`,
      lines: [`${m} is ${s1.t} years old now.`, `In ${c} years ${m} will be ${s2.t} years old.`],
    };
  } },
  { id: 'savings', heldoutOnly: false, build(r, w) { // 2 steps: ×, −
    const n = r.pick(NAMES), g = r.pick(GIFTS), a = r.int(3, 25), b = r.int(2, 12), c = r.int(1, a * b - 1);
    const s1 = w.calc(a, '*', b), s2 = w.calc(s1.v, '-', c);
    return {
      q: `${n} saves $${a} every week for ${b} weeks, then spends $${c} on a ${g}. How much money does ${n} have left?`,
      lines: [`${n} saves ${s1.t} dollars.`, `${n} has ${s2.t} dollars left.`],
    };
  } },
  { id: 'garden', heldoutOnly: false, build(r, w) { // 2 steps: ×, −
    const p = r.pick(PLANTS), a = r.int(2, 15), b = r.int(3, 20), c = r.int(1, a * b - 1);
    const s1 = w.calc(a, '*', b), s2 = w.calc(s1.v, '-', c);
    return {
      q: `A garden has ${a} rows of ${b} ${p}. Then ${c} of the ${p} die. How many ${p} are left?`,
      lines: [`There are ${s1.t} ${p}.`, `After ${c} die, ${s2.t} are left.`],
    };
  } },
  { id: 'baking', heldoutOnly: false, build(r, w) { // 3 steps: ×, −, ÷
    const n = r.pick(NAMES), a = r.int(2, 6), b = r.int(6, 12), d = r.int(2, 6);
    // Eaten cookies c ≡ total (mod d), so the rest fills whole bags; at least one bag remains.
    const total = a * b, rem = total % d, kMin = rem === 0 ? 1 : 0, kMax = Math.floor((total - d - rem) / d);
    if (kMax < kMin) throw new Reject();
    const c = rem + d * r.int(kMin, kMax);
    const s1 = w.calc(a, '*', b), s2 = w.calc(s1.v, '-', c), s3 = w.calc(s2.v, '/', d);
    return {
      q: `${n} bakes ${a} trays of ${b} cookies, eats ${c} of them and packs the rest in bags of ${d}. How many bags does ${n} fill?`,
      lines: [`${n} bakes ${s1.t} cookies.`, `Then ${s2.t} cookies are left.`, `${n} fills ${s3.t} bags.`],
    };
  } },
  { id: 'reading', heldoutOnly: false, build(r, w) { // 2 steps: ×, −
    const n = r.pick(NAMES), b = r.int(5, 30), c = r.int(2, 9), a = b * c + r.int(5, 150);
    const s1 = w.calc(b, '*', c), s2 = w.calc(a, '-', s1.v);
    return {
      q: `A book has ${a} pages. ${n} reads ${b} pages a day for ${c} days. How many pages are left?`,
      lines: [`${n} reads ${s1.t} pages.`, `There are ${s2.t} pages left.`],
    };
  } },
  { id: 'give', heldoutOnly: false, build(r, w) { // 2 steps: +, −
    const [n, m] = r.pick2(NAMES), o = r.pick(OBJECTS), a = r.int(5, 80), b = r.int(2, 40), c = r.int(1, a + b - 1);
    const s1 = w.calc(a, '+', b), s2 = w.calc(s1.v, '-', c);
    return {
      q: `${n} has ${a} ${o}. ${n} finds ${b} more, then gives ${c} to ${m}. How many ${o} does ${n} have now?`,
      lines: [`${n} has ${s1.t} ${o} after finding more.`, `${n} has ${s2.t} ${o} now.`],
    };
  } },
  { id: 'pizza', heldoutOnly: false, build(r, w) { // 2 steps: ×, ÷ (draws with an uneven split are rejected)
    const k = r.int(2, 6), a = r.int(2, 8), b = r.int(6, 20);
    if ((a * b) % k !== 0) throw new Reject();
    const s1 = w.calc(a, '*', b), s2 = w.calc(s1.v, '/', k);
    return {
      q: `${k} friends buy ${a} pizzas for $${b} each and split the cost equally. How much does each friend pay?`,
      lines: [`The pizzas cost ${s1.t} dollars.`, `Each friend pays ${s2.t} dollars.`],
    };
  } },
  { id: 'trip', heldoutOnly: false, build(r, w) { // 1 step: ÷ (a = b × speed)
    const v = r.pick(VEHICLES), b = r.int(2, 9), a = b * r.int(15, 120);
    const s = w.calc(a, '/', b);
    return {
      q: `A ${v} travels ${a} km in ${b} hours at a steady speed. How many km does it travel each hour?`,
      lines: [`Each hour it travels ${s.t} km.`],
    };
  } },
  { id: 'wages', heldoutOnly: false, build(r, w) { // 2 steps: +, ×
    const n = r.pick(NAMES), a = r.int(8, 30), b = r.int(2, 9), c = r.int(2, 9);
    const s1 = w.calc(b, '+', c), s2 = w.calc(a, '*', s1.v);
    return {
      q: `${n} earns $${a} an hour and works ${b} hours on Monday and ${c} hours on Tuesday. How much does ${n} earn?`,
      lines: [`${n} works ${s1.t} hours.`, `${n} earns ${s2.t} dollars.`],
    };
  } },
  { id: 'earn_spend', heldoutOnly: false, build(r, w) { // 3 steps: ×, +, −
    const n = r.pick(NAMES), a = r.int(5, 90), b = r.int(3, 25), c = r.int(2, 9), d = r.int(1, a + b * c - 1);
    const s1 = w.calc(b, '*', c), s2 = w.calc(a, '+', s1.v), s3 = w.calc(s2.v, '-', d);
    return {
      q: `${n} has $${a}. ${n} earns $${b} a day for ${c} days, then spends $${d}. How much money does ${n} have now?`,
      lines: [`${n} earns ${s1.t} dollars.`, `${n} then has ${s2.t} dollars.`, `After spending, ${n} has ${s3.t} dollars.`],
    };
  } },
];

// Held-out-only templates: wordings the model never trains on (rule 1 of the split).
const HELDOUT_ONLY: Template[] = [
  { id: 'tickets', heldoutOnly: true, build(r, w) { // 3 steps: ×, ×, +
    const a = r.int(6, 25), b = r.int(2, a - 1), c = r.int(1, 9), d = r.int(1, 9);
    const s1 = w.calc(a, '*', c), s2 = w.calc(b, '*', d), s3 = w.calc(s1.v, '+', s2.v);
    return {
      q: `Adult tickets cost $${a} and child tickets cost $${b}. How much do ${c} adult and ${d} child tickets cost in total?`,
      lines: [`Adult tickets cost ${s1.t} dollars.`, `Child tickets cost ${s2.t} dollars.`, `In total they cost ${s3.t} dollars.`],
    };
  } },
  { id: 'legs', heldoutOnly: true, build(r, w) { // 3 steps: ×, ×, + (legs per animal are written out)
    const [big, bl] = r.pick(BIG_ANIMALS), [bird, fl] = r.pick(BIRDS), a = r.int(2, 40), b = r.int(2, 40);
    const s1 = w.calc(a, '*', bl), s2 = w.calc(b, '*', fl), s3 = w.calc(s1.v, '+', s2.v);
    return {
      q: `A farm has ${a} ${big} and ${b} ${bird}. The ${big} have ${bl} legs each and the ${bird} have ${fl} legs each. How many legs are there in total?`,
      lines: [`The ${big} have ${s1.t} legs.`, `The ${bird} have ${s2.t} legs.`, `There are ${s3.t} legs.`],
    };
  } },
  { id: 'groups', heldoutOnly: true, build(r, w) { // 2 steps: ÷, × (a = b × groups)
    const b = r.int(2, 8), a = b * r.int(2, 12), c = r.int(2, 9);
    const s1 = w.calc(a, '/', b), s2 = w.calc(s1.v, '*', c);
    return {
      q: `A class of ${a} students forms groups of ${b}. Each group needs ${c} markers. How many markers are needed?`,
      lines: [`There are ${s1.t} groups.`, `They need ${s2.t} markers.`],
    };
  } },
  { id: 'temperature', heldoutOnly: true, build(r, w) { // 2 steps: +, − (never below zero)
    const a = r.int(1, 30), b = r.int(2, 20), c = r.int(1, a + b);
    const s1 = w.calc(a, '+', b), s2 = w.calc(s1.v, '-', c);
    return {
      q: `In the morning it is ${a} degrees. By noon it is ${b} degrees warmer, and by night it is ${c} degrees cooler than at noon. What is the temperature at night?`,
      lines: [`At noon it is ${s1.t} degrees.`, `At night it is ${s2.t} degrees.`],
    };
  } },
];

/** Template ids with their split role (for tests and UI listings). */
export const ARITH_TEMPLATES: ReadonlyArray<{ id: string; heldoutOnly: boolean }> =
  [...SHARED, ...HELDOUT_ONLY].map(({ id, heldoutOnly }) => ({ id, heldoutOnly }));

function makeItem(r: TaskRng, split: Split, seed: number, index: number): ArithItem | null {
  // Held-out: half unseen templates (rule 1), half shared templates with held-out numbers (rule 2).
  const pool = split === 'heldout' && r.chance(0.5) ? HELDOUT_ONLY : SHARED;
  const t = r.pick(pool);
  // Redraw numbers (same template) until the draw is valid and, for a shared template, its first
  // number falls in this split's class (rule 2); keeps the template mix uniform within each pool.
  for (let tries = 0; tries < 50; tries++) {
    const w = new Work();
    let built: { q: string; lines: string[] };
    try {
      built = t.build(r, w);
    } catch (e) {
      if (e instanceof Reject) continue;
      throw e;
    }
    const numbers = questionNumbers(built.q);
    if (!t.heldoutOnly && heldoutByNumbers(numbers) !== (split === 'heldout')) continue;
    return finish(t, w, built, numbers, split, seed, index);
  }
  return null;
}

/** Assembles the item: reasoning lines, then the "#### final" line GSM8K scorers read. */
function finish(t: Template, w: Work, built: { q: string; lines: string[] }, numbers: number[], split: Split, seed: number, index: number): ArithItem {
  const final = String(w.steps[w.steps.length - 1].c);
  return {
    id: `arithmetic-${split}-${seed}-${index}`,
    task: 'arithmetic',
    split,
    question: built.q,
    answer: [...built.lines, `#### ${final}`].join('\n'),
    final,
    meta: { template: t.id, heldoutOnly: t.heldoutOnly, numbers, steps: w.steps },
  };
}

/** n distinct arithmetic items of one split; same (split, n, seed) → identical items. */
export function generateArithmetic(split: Split, n: number, seed: number): ArithItem[] {
  if (split !== 'train' && split !== 'heldout') throw new Error(`arithmetic: split must be "train" or "heldout", got "${split}"`);
  const rng = new TaskRng(hashSeed('arithmetic', split, seed));
  return collectDistinct(n, rng, (r, i) => makeItem(r, split, seed, i), 'arithmetic');
}
