import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sampler, argmax } from './sampling.ts';
import { Rng } from '../util/rng.ts';

test('greedy is argmax with the first index on ties (torch.argmax)', () => {
  assert.equal(argmax([1, 3, 3, 2]), 1);
  assert.equal(new Sampler({ kind: 'greedy' }).next(Float32Array.of(-5, -1, -9)), 1);
});

test('top-k keeps the k most likely, renormalised', () => {
  const s = new Sampler({ kind: 'sample', temperature: 1, topK: 2 });
  const d = s.distribution([0, Math.log(3), Math.log(1), Math.log(6)]);
  assert.deepEqual([...d.ids], [3, 1]);
  assert.ok(Math.abs(d.probs[0] - 6 / 9) < 1e-12 && Math.abs(d.probs[1] - 3 / 9) < 1e-12);
});

test('top-p drops the least likely tokens whose total mass is <= 1 − p (transformers), never the top one', () => {
  // probs 0.5, 0.3, 0.15, 0.05
  const row = [Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05)];
  assert.deepEqual([...new Sampler({ kind: 'sample', temperature: 1, topP: 0.75 }).distribution(row).ids], [0, 1]);
  assert.deepEqual([...new Sampler({ kind: 'sample', temperature: 1, topP: 0.85 }).distribution(row).ids], [0, 1, 2]);
  assert.deepEqual([...new Sampler({ kind: 'sample', temperature: 1, topP: 0.01 }).distribution(row).ids], [0]);
});

test('temperature sharpens or flattens; sampling is reproducible by seed and follows the distribution', () => {
  const row = [0, Math.log(3)]; // p = 0.25, 0.75
  const hot = new Sampler({ kind: 'sample', temperature: 2 }).distribution(row);
  assert.ok(Math.abs(hot.probs[0] - Math.sqrt(3) / (1 + Math.sqrt(3))) < 1e-12);
  const draw = (seed: number) => Array.from({ length: 4000 }, () => 0).map(((s) => () => s.next(row))(new Sampler({ kind: 'sample', temperature: 1, seed })));
  const a = draw(7), b = draw(7), c = draw(8);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  const freq = a.filter((t) => t === 1).length / a.length;
  assert.ok(Math.abs(freq - 0.75) < 0.03, `frequency of the likely token ${freq}`);
});

test('bad sampling settings are refused with a clear message', () => {
  assert.throws(() => new Sampler({ kind: 'sample', temperature: 0 }), /temperature/);
  assert.throws(() => new Sampler({ kind: 'sample', temperature: 1, topP: 1.5 }), /top-p/);
  assert.throws(() => new Sampler({ kind: 'sample', temperature: 1, topK: 0 }), /top-k/);
});

test('plain sampling (no top-k/top-p) draws by the inverse CDF in id order, without sorting the vocabulary, and keeps the log-prob', () => {
  // the draw for a uniform u is the first id whose cumulative probability exceeds u (float64 reference)
  const want = (row: number[], temperature: number, seed: number) => {
    const max = Math.max(...row);
    const w = row.map((x) => Math.exp((x - max) / temperature));
    const z = w.reduce((a, b) => a + b, 0);
    let u = new Rng(seed).next();
    for (let i = 0; i < row.length; i++) if ((u -= w[i] / z) < 0) return { id: i, logprob: Math.log(w[i] / z) };
    return { id: row.length - 1, logprob: Math.log(w[row.length - 1] / z) };
  };
  const gen = new Rng(3);
  let draws = 0;
  const tokens = new Set<number>();
  for (const V of [1, 2, 7, 300, 5000]) {
    for (const spread of [0.1, 3, 40]) {
      // logits with ties (rounded to 1 decimal) and a long tail of very unlikely tokens
      const row = Array.from({ length: V }, () => Math.round((gen.next() - 0.5) * 2 * spread * 10) / 10 - (gen.next() < 0.3 ? 200 : 0));
      for (const temperature of [0.3, 1, 2.5]) {
        for (let seed = 0; seed < 40; seed++) {
          const s = new Sampler({ kind: 'sample', temperature, seed });
          const got = s.next(row);
          const w = want(row, temperature, seed);
          assert.equal(got, w.id, `V ${V} spread ${spread} T ${temperature} seed ${seed}`);
          assert.ok(Math.abs(s.logprob - w.logprob) < 1e-9, `log-prob ${s.logprob} vs ${w.logprob}`);
          tokens.add(got);
          draws++;
        }
      }
    }
  }
  assert.ok(tokens.size > 100, `the draws cover many tokens (${tokens.size} in ${draws})`);
  // top-k / top-p draws keep no log-prob (they sample a truncated distribution)
  const k = new Sampler({ kind: 'sample', temperature: 1, topK: 2 });
  k.next([0, 1, 2]);
  assert.ok(Number.isNaN(k.logprob));
});
