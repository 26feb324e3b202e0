// The GRPO objective (objective.ts) against the numpy fixture (tools/golden/make_rl_fixtures.py →
// models/fixtures/rl/objective.json), against the naive float64 reference (objective.ref.ts) on seeded
// random groups, and its gradient against central finite differences. Both sides are float64, so the
// tolerance is 1e-12 relative; atol 1e-15 only covers values that are 0 up to rounding (a clipped
// token's gradient, a zero advantage).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertAllClose } from '../testing/allclose.ts';
import { Rng } from '../testing/rng.ts';
import { grpoObjective, groupAdvantages, groupedAdvantages, LOSS_TYPES, type ObjectiveInput } from './objective.ts';
import { parseJsonLenient, readRlLossRequest, rlLoss, RlInputError } from './input.ts';
import { refObjective, type RefCase } from './objective.ref.ts';

const ROOT = new URL('../../../', import.meta.url).pathname;
const TOL = { atol: 1e-15, rtol: 1e-12 };

interface FixtureCase {
  name: string;
  what: string;
  max_completion_length: number;
  inputs: RefCase & { epsilon_high: number; scale_rewards: 'group' | 'none' };
  expected: {
    advantages: number[];
    loss_sequence_mean: number;
    loss_token_mean: number;
    loss_dr_grpo: number;
    grad_logp: number[][];
    grad_logp_dapo: number[][];
    grad_logp_dr_grpo: number[][];
    kl_mean: number;
    clip_frac_low: number;
    clip_frac_high: number;
  };
}
const fixture = JSON.parse(readFileSync(join(ROOT, 'models/fixtures/rl/objective.json'), 'utf8')) as { schema: string; cases: FixtureCase[] };

/** The objective's arrays from a case in the `rl-loss` form. */
function toInput(c: RefCase): ObjectiveInput {
  const G = c.logp.length, T = c.logp[0].length;
  return {
    G,
    T,
    logp: Float64Array.from(c.logp.flat()), //     [G, T]
    oldLogp: Float64Array.from(c.old_logp.flat()),
    refLogp: Float64Array.from(c.ref_logp.flat()),
    mask: Float64Array.from(c.mask.flat()),
    advantages: groupAdvantages(c.rewards, c.scale_rewards ?? 'group'), // [G]
  };
}
const cfgOf = (c: RefCase) => ({ epsilon: c.epsilon, epsilonHigh: c.epsilon_high ?? c.epsilon, beta: c.beta });

/** Worst |a − r| / |r| over values not near 0, for the report. */
function worstRel(a: ArrayLike<number>, r: ArrayLike<number>): number {
  let w = 0;
  for (let i = 0; i < r.length; i++) if (Math.abs(r[i]) > 1e-300) w = Math.max(w, Math.abs(a[i] - r[i]) / Math.abs(r[i]));
  return w;
}

test('the fixture covers what the issue asks: G 2..16, T ≤ 12, equal rewards, ε_high ≠ ε, β 0 and 0.1, no std scaling', () => {
  assert.equal(fixture.schema, 'rl-objective-v1');
  const cs = fixture.cases;
  const Gs = cs.map((c) => c.inputs.rewards.length);
  assert.ok(Math.min(...Gs) === 2 && Math.max(...Gs) === 16);
  assert.ok(cs.every((c) => c.inputs.mask.every((row) => row.length <= 12 && row.some((m) => m === 1))));
  assert.ok(cs.some((c) => c.expected.advantages.every((a) => a === 0)));
  assert.ok(cs.some((c) => c.inputs.epsilon_high !== c.inputs.epsilon));
  assert.ok(cs.some((c) => c.inputs.beta === 0) && cs.some((c) => c.inputs.beta === 0.1));
  assert.ok(cs.some((c) => c.inputs.scale_rewards === 'none'));
  assert.ok(cs.some((c) => c.expected.clip_frac_low > 0) && cs.some((c) => c.expected.clip_frac_high > 0));
});

for (const fc of fixture.cases) {
  test(`fixture "${fc.name}" (${fc.what}): advantages, three losses, gradients and metrics equal numpy within 1e-12`, () => {
    const c = fc.inputs, e = fc.expected;
    const input = toInput(c);
    const r = grpoObjective(input, { ...cfgOf(c), maxCompletionLength: fc.max_completion_length });
    assertAllClose(input.advantages, e.advantages, TOL, `${fc.name} advantages`);
    assertAllClose([r.loss.grpo, r.loss.dapo, r.loss.dr_grpo], [e.loss_sequence_mean, e.loss_token_mean, e.loss_dr_grpo], TOL, `${fc.name} losses`);
    assertAllClose(r.grad.grpo, e.grad_logp.flat(), TOL, `${fc.name} grad grpo`);
    assertAllClose(r.grad.dapo, e.grad_logp_dapo.flat(), TOL, `${fc.name} grad dapo`);
    assertAllClose(r.grad.dr_grpo, e.grad_logp_dr_grpo.flat(), TOL, `${fc.name} grad dr_grpo`);
    assertAllClose([r.metrics.klMean, r.metrics.clipFracLow, r.metrics.clipFracHigh], [e.kl_mean, e.clip_frac_low, e.clip_frac_high], TOL, `${fc.name} metrics`);
    // the independent loop reference agrees too
    const ref = refObjective(c, fc.max_completion_length);
    assertAllClose([ref.grpo, ref.dapo, ref.dr_grpo], [e.loss_sequence_mean, e.loss_token_mean, e.loss_dr_grpo], TOL, `${fc.name} reference losses`);
    assertAllClose(ref.grad.grpo.flat(), e.grad_logp.flat(), TOL, `${fc.name} reference grad`);
    const rel = Math.max(worstRel([r.loss.grpo, r.loss.dapo, r.loss.dr_grpo], [e.loss_sequence_mean, e.loss_token_mean, e.loss_dr_grpo]), worstRel(r.grad.grpo, e.grad_logp.flat()), worstRel(input.advantages, e.advantages));
    console.log(`  ${fc.name}: worst relative difference to numpy ${rel.toExponential(2)}`);
  });
}

/** A seeded random group in the `rl-loss` form; `spread` is the std of logp − old_logp. */
function randomCase(rng: Rng, G: number, T: number, spread: number, opts: Partial<RefCase> = {}): RefCase {
  const mat = (f: () => number) => Array.from({ length: G }, () => Array.from({ length: T }, f));
  const normal = () => rng.normal(1)[0];
  const logp = mat(() => -3 * rng.next() - 0.01);
  const old = logp.map((row) => row.map((x) => x + spread * normal()));
  const ref = logp.map((row) => row.map((x) => x + 0.3 * normal()));
  const mask = mat(() => (rng.next() < 0.7 ? 1 : 0));
  for (const row of mask) if (!row.includes(1)) row[rng.int(0, T)] = 1;
  const rewards = Array.from({ length: G }, () => rng.next());
  return { logp, old_logp: old, ref_logp: ref, mask, rewards, epsilon: 0.2, beta: 0.04, ...opts };
}

test('objective.ts equals the loop reference on seeded random groups (G 2..16, T 1..33, wide ratios, both scalings)', () => {
  const rng = new Rng(11);
  for (let k = 0; k < 40; k++) {
    const G = rng.int(2, 17), T = rng.int(1, 34);
    const c = randomCase(rng, G, T, [0.05, 0.3, 1, 3][k % 4], { epsilon_high: k % 3 === 0 ? 0.28 : undefined, beta: k % 2 ? 0.1 : 0, scale_rewards: k % 5 === 0 ? 'none' : 'group' });
    const r = grpoObjective(toInput(c), cfgOf(c));
    const ref = refObjective(c);
    const name = `case ${k} (G ${G}, T ${T})`;
    assertAllClose([r.loss.grpo, r.loss.dapo, r.loss.dr_grpo], [ref.grpo, ref.dapo, ref.dr_grpo], { atol: 1e-14, rtol: 1e-12 }, `${name} losses`);
    for (const t of LOSS_TYPES) assertAllClose(r.grad[t], ref.grad[t].flat(), TOL, `${name} grad ${t}`);
    assertAllClose([r.metrics.klMean, r.metrics.clipFracLow, r.metrics.clipFracHigh], [ref.kl_mean, ref.clip_frac_low, ref.clip_frac_high], TOL, `${name} metrics`);
  }
});

test('the analytic gradient equals central finite differences of the loss, for all three normalisations', () => {
  const rng = new Rng(5);
  const h = 1e-6;
  let checked = 0, worst = 0;
  const cases = [...fixture.cases.map((f) => f.inputs), ...Array.from({ length: 6 }, (_, k) => randomCase(rng, 2 + 2 * k, 3 + k, 0.4, { epsilon_high: 0.28, beta: 0.1 }))];
  for (const c of cases) {
    const input = toInput(c);
    const cfg = cfgOf(c);
    const r = grpoObjective(input, cfg);
    const lo = 1 - cfg.epsilon, hi = 1 + cfg.epsilonHigh;
    for (let i = 0; i < input.G * input.T; i++) {
      const rho = Math.exp(input.logp[i] - input.oldLogp[i]);
      if (Math.abs(rho - lo) < 1e-4 || Math.abs(rho - hi) < 1e-4) continue; // the kink of min/clip: no derivative
      const at = (x: number) => grpoObjective({ ...input, logp: Float64Array.from(input.logp, (v, j) => (j === i ? x : v)) }, cfg).loss;
      const up = at(input.logp[i] + h), down = at(input.logp[i] - h);
      for (const t of LOSS_TYPES) {
        const fd = (up[t] - down[t]) / (2 * h);
        const err = Math.abs(fd - r.grad[t][i]);
        worst = Math.max(worst, err);
        assert.ok(err <= 1e-8 + 1e-6 * Math.abs(fd), `${t} token ${i}: finite difference ${fd}, analytic ${r.grad[t][i]}`);
      }
      checked++;
    }
  }
  console.log(`  ${checked} tokens, worst |fd − analytic| ${worst.toExponential(2)}`);
  assert.ok(checked > 500);
});

test('clipping: zero gradient where the clipped branch is taken and smaller; full gradient inside the range', () => {
  // one row, A > 0 (row 0) and A < 0 (row 1): ratios 0.5 (below 1 − ε), 1.0 (inside), 1.5 (above 1 + ε)
  const T = 3, lr = [Math.log(0.5), 0, Math.log(1.5)];
  const input: ObjectiveInput = {
    G: 2,
    T,
    logp: Float64Array.from([...lr, ...lr]),
    oldLogp: new Float64Array(6),
    mask: new Float64Array(6).fill(1),
    advantages: Float64Array.from([1, -1]),
  };
  const r = grpoObjective(input, { epsilon: 0.2 });
  const w = 1 / (2 * 3); // grpo weight: 1 / (G · n)
  // A = +1: min(ρ, clip ρ) → ρ = 0.5 unclipped (smaller), 1 inside, 1.2 clipped above (gradient 0)
  // A = −1: min(−ρ, −clip ρ) → −0.8 clipped below (gradient 0), −1 inside, −1.5 unclipped (gradient +ρ)
  assertAllClose(Array.from(r.grad.grpo, (x) => x / w), [-0.5, -1, 0, 0, 1, 1.5], { atol: 1e-15, rtol: 1e-15 }, 'clip gradient');
  assert.equal(r.grad.grpo[2], 0);
  assert.equal(r.grad.grpo[3], 0);
  assertAllClose([r.loss.grpo], [-(0.5 + 1 + 1.2 - 0.8 - 1 - 1.5) / 6], { atol: 1e-15, rtol: 1e-14 }, 'clip loss');
  assert.equal(r.metrics.clipFracHigh, 1 / 6);
  assert.equal(r.metrics.clipFracLow, 1 / 6);
  assert.ok(Number.isNaN(r.metrics.klMean)); // no reference given
});

test('equal rewards give zero advantages, and the loss is then β·KL alone', () => {
  const c = fixture.cases.find((f) => f.name === 'equal_rewards')!.inputs;
  const input = toInput(c);
  assert.deepEqual(Array.from(input.advantages), new Array(c.rewards.length).fill(0));
  const r = grpoObjective(input, cfgOf(c));
  assert.ok(Math.abs(r.loss.dapo - c.beta * r.metrics.klMean) < 1e-15);
  assert.throws(() => groupAdvantages([1]), /at least 2/);
});

test('advantages: unbiased std, 1e-4 in the denominator, "none" only centres; several groups each on their own', () => {
  const a = groupAdvantages([0, 1]); // mean 0.5, unbiased std √0.5
  assert.ok(Math.abs(a[0] + 0.5 / (Math.SQRT1_2 + 1e-4)) < 1e-15 && Math.abs(a[1] - 0.5 / (Math.SQRT1_2 + 1e-4)) < 1e-15);
  assert.deepEqual(Array.from(groupAdvantages([1, 2, 6], 'none')), [-2, -1, 3]);
  const rewards = [0, 1, 1, 0.5, 0.5, 0.5, 3, 1, 2];
  const all = groupedAdvantages(rewards, 3);
  for (let g = 0; g < 3; g++) assert.deepEqual(Array.from(all.subarray(3 * g, 3 * g + 3)), Array.from(groupAdvantages(rewards.slice(3 * g, 3 * g + 3))));
  assert.throws(() => groupedAdvantages(rewards, 4), /groups of 4/);
});

test('dr_grpo divides by G · maxCompletionLength (default T); dapo by the masked tokens; grpo by rows then tokens', () => {
  const c = fixture.cases[0].inputs;
  const input = toInput(c);
  const r = grpoObjective(input, cfgOf(c));
  const r64 = grpoObjective(input, { ...cfgOf(c), maxCompletionLength: 64 });
  assert.ok(Math.abs(r64.loss.dr_grpo - (r.loss.dr_grpo * input.T) / 64) < 1e-15);
  const tokens = input.mask.reduce((s, m) => s + m, 0);
  assert.ok(Math.abs(r.loss.dr_grpo * input.G * input.T - r.loss.dapo * tokens) < 1e-13);
  assert.equal(r.metrics.tokens, tokens);
});

test('rl-loss input: the answer on fixture case 1, and bad input named by field and index', () => {
  const fc = fixture.cases[0];
  const ans = rlLoss(readRlLossRequest(fc.inputs));
  assert.deepEqual(Object.keys(ans).sort(), ['advantages', 'grad_logp', 'loss_sequence_mean', 'loss_token_mean']);
  assertAllClose([ans.loss_sequence_mean, ans.loss_token_mean], [fc.expected.loss_sequence_mean, fc.expected.loss_token_mean], TOL, 'rl-loss losses');
  assertAllClose(ans.grad_logp.flat(), fc.expected.grad_logp.flat(), TOL, 'rl-loss grad');

  const bad = (patch: Record<string, unknown>, re: RegExp) => assert.throws(() => readRlLossRequest({ ...structuredClone(fc.inputs), ...patch }), (e: unknown) => e instanceof RlInputError && re.test((e as Error).message));
  const G = fc.inputs.rewards.length;
  const ragged = structuredClone(fc.inputs.old_logp);
  ragged[2].pop();
  bad({ old_logp: ragged }, /old_logp\[2\] has 7 entries; expected T = 8/);
  const empty = structuredClone(fc.inputs.mask);
  empty[3] = empty[3].map(() => 0);
  bad({ mask: empty }, /mask\[3\] has no masked-in token/);
  bad({ rewards: [1] }, /"rewards" has 1 entry; a group needs G ≥ 2/);
  bad({ rewards: fc.inputs.rewards.slice(0, G - 1) }, /"mask" has 4 rows; expected G = 3/);
  bad({ epsilon: undefined }, /"epsilon" is undefined/);
  bad({ scale_rewards: 'batch' }, /"scale_rewards" is "batch"/);
  bad({ extra: 1 }, /unknown field "extra"/);
  const twos = structuredClone(fc.inputs.mask);
  twos[0][0] = 2;
  bad({ mask: twos }, /mask\[0\]\[0\] is 2; expected 0 or 1/);
  // NaN as Python's json writes it (a bare token): read, then named
  const text = JSON.stringify(fc.inputs).replace(/("logp":\[\[[^,]+,)[^,]+/, '$1NaN');
  assert.throws(() => readRlLossRequest(parseJsonLenient(text)), /logp\[0\]\[1\] is NaN; expected a finite number/);
  assert.throws(() => parseJsonLenient('{"logp": [1,'), /not valid JSON/);
});
