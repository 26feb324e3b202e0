// The `lab rl-loss` file format, read and checked (every problem names its field and index), and the
// answer written back. Input (one group):
//   {"logp", "old_logp", "ref_logp", "mask": [G][T], "rewards": [G], "epsilon", "beta",
//    "epsilon_high"? (default epsilon), "scale_rewards"? ("group" | "none", default "group")}
// Output:
//   {"advantages": [G], "loss_sequence_mean" (grpo), "loss_token_mean" (dapo), "grad_logp": [G][T]
//    (d loss_sequence_mean / d logp)}
// JSON has no NaN or Infinity; a file written by Python's json (bare NaN / Infinity tokens) is still read,
// so that the error names the field and index of the bad number instead of a JSON syntax position.
import { grpoObjective, groupAdvantages, type ObjectiveConfig, type ObjectiveInput, type ScaleRewards } from './objective.ts';

/** A `rl-loss` input that cannot be used; the message names the field and index and says what was expected. */
export class RlInputError extends Error {
  override name = 'RlInputError';
}

export interface RlLossRequest {
  input: ObjectiveInput;
  cfg: ObjectiveConfig;
  rewards: Float64Array; // [G]
  scaleRewards: ScaleRewards;
}

export interface RlLossAnswer {
  advantages: number[]; //        [G]
  loss_sequence_mean: number; //  grpo normalisation
  loss_token_mean: number; //     dapo normalisation
  grad_logp: number[][]; //       [G][T] d loss_sequence_mean / d logp
}

/** JSON text → value; bare NaN / Infinity / -Infinity (outside strings) are read as strings naming them. */
export function parseJsonLenient(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const patched = text.replace(/"(?:[^"\\]|\\.)*"|(-?(?:NaN|Infinity))/g, (m, bare: string | undefined) => (bare ? `"${bare}"` : m));
    if (patched === text) throw new RlInputError(`not valid JSON: ${(e as Error).message}`);
    try {
      return JSON.parse(patched);
    } catch {
      throw new RlInputError(`not valid JSON: ${(e as Error).message}`);
    }
  }
}

const describe = (v: unknown): string => (typeof v === 'string' ? `"${v}"` : v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : String(v));

function finite(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    const what = v === 'NaN' ? 'NaN' : v === 'Infinity' || v === '-Infinity' ? String(v) : describe(v);
    throw new RlInputError(`${where} is ${what}; expected a finite number`);
  }
  return v;
}

function vector(obj: Record<string, unknown>, key: string): Float64Array {
  const v = obj[key];
  if (!Array.isArray(v)) throw new RlInputError(`"${key}" is ${v === undefined ? 'missing' : describe(v)}; expected an array of numbers`);
  return Float64Array.from(v, (x, i) => finite(x, `${key}[${i}]`));
}

/** A [G][T] array of numbers → Float64Array [G·T]; every row must have T entries. */
function matrix(obj: Record<string, unknown>, key: string, G: number, T: number, shapeFrom: string): Float64Array {
  const v = obj[key];
  if (!Array.isArray(v)) throw new RlInputError(`"${key}" is ${v === undefined ? 'missing' : describe(v)}; expected [G][T] numbers`);
  if (v.length !== G) throw new RlInputError(`"${key}" has ${v.length} rows; expected G = ${G} (${shapeFrom})`);
  const out = new Float64Array(G * T); // [G, T]
  for (let g = 0; g < G; g++) {
    const row = v[g];
    if (!Array.isArray(row)) throw new RlInputError(`${key}[${g}] is ${describe(row)}; expected an array of ${T} numbers`);
    if (row.length !== T) throw new RlInputError(`${key}[${g}] has ${row.length} entries; expected T = ${T} (the length of mask[0]): ragged rows`);
    for (let t = 0; t < T; t++) out[g * T + t] = finite(row[t], `${key}[${g}][${t}]`);
  }
  return out;
}

/** Checks a parsed `rl-loss` input and turns it into the objective's arrays. */
export function readRlLossRequest(value: unknown): RlLossRequest {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RlInputError(`the input is ${describe(value)}; expected a JSON object`);
  const obj = value as Record<string, unknown>;
  const known = new Set(['logp', 'old_logp', 'ref_logp', 'mask', 'rewards', 'epsilon', 'beta', 'epsilon_high', 'scale_rewards']);
  for (const k of Object.keys(obj)) if (!known.has(k)) throw new RlInputError(`unknown field "${k}" (fields: ${[...known].join(', ')})`);

  const rewards = vector(obj, 'rewards'); // [G]
  const G = rewards.length;
  if (G < 2) throw new RlInputError(`"rewards" has ${G} entr${G === 1 ? 'y' : 'ies'}; a group needs G ≥ 2 completions`);
  const m0 = Array.isArray(obj.mask) ? (obj.mask as unknown[])[0] : undefined;
  const T = Array.isArray(m0) ? m0.length : 0;
  if (Array.isArray(m0) && T === 0) throw new RlInputError('mask[0] is empty; expected T ≥ 1 positions');
  const mask = matrix(obj, 'mask', G, T, 'the length of "rewards"');
  for (let i = 0; i < G * T; i++) {
    if (mask[i] !== 0 && mask[i] !== 1) throw new RlInputError(`mask[${Math.floor(i / T)}][${i % T}] is ${mask[i]}; expected 0 or 1`);
  }
  for (let g = 0; g < G; g++) {
    let n = 0;
    for (let t = 0; t < T; t++) n += mask[g * T + t];
    if (n === 0) throw new RlInputError(`mask[${g}] has no masked-in token (all 0); every completion needs at least one counted token`);
  }
  const logp = matrix(obj, 'logp', G, T, 'the length of "rewards"');
  const oldLogp = matrix(obj, 'old_logp', G, T, 'the length of "rewards"');
  const refLogp = matrix(obj, 'ref_logp', G, T, 'the length of "rewards"');

  const epsilon = finite(obj.epsilon, '"epsilon"');
  const epsilonHigh = obj.epsilon_high === undefined ? epsilon : finite(obj.epsilon_high, '"epsilon_high"');
  const beta = finite(obj.beta, '"beta"');
  if (!(epsilon >= 0 && epsilon < 1)) throw new RlInputError(`"epsilon" is ${epsilon}; expected 0 ≤ ε < 1`);
  if (!(epsilonHigh >= 0)) throw new RlInputError(`"epsilon_high" is ${epsilonHigh}; expected ε_high ≥ 0`);
  if (!(beta >= 0)) throw new RlInputError(`"beta" is ${beta}; expected β ≥ 0`);
  const sr = obj.scale_rewards ?? 'group';
  if (sr !== 'group' && sr !== 'none') throw new RlInputError(`"scale_rewards" is ${describe(sr)}; expected "group" or "none"`);

  const scaleRewards = sr as ScaleRewards;
  const advantages = groupAdvantages(rewards, scaleRewards);
  return { input: { G, T, logp, oldLogp, refLogp, mask, advantages }, cfg: { epsilon, epsilonHigh, beta }, rewards, scaleRewards };
}

/** The `rl-loss` computation: advantages, grpo and dapo losses, and d(grpo loss)/d logp as [G][T]. */
export function rlLoss(req: RlLossRequest): RlLossAnswer {
  const { G, T } = req.input;
  const r = grpoObjective(req.input, req.cfg);
  const grad_logp = Array.from({ length: G }, (_, g) => Array.from(r.grad.grpo.subarray(g * T, (g + 1) * T)));
  return { advantages: Array.from(req.input.advantages), loss_sequence_mean: r.loss.grpo, loss_token_mean: r.loss.dapo, grad_logp };
}
