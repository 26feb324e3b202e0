// Micro-batches (shift + right padding), epoch order determinism and DataCursor resume.
// Pure TypeScript: no GPU. The pinned permutations were checked against an independent Python
// re-implementation of mix32 + mulberry32 + Fisher–Yates (same values), so a change of PRNG or of
// the shuffle loop — which would silently change every run's data order — fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IGNORE_INDEX, type SftExample } from './data.ts';
import { DataCursor, epochOrder, makeMicroBatch, microBatches, stepsForEpochs, type CursorOptions } from './batches.ts';

const X = IGNORE_INDEX;
const PAD = 0;

/** Example k: line 10+k, length 2 + k % 4, ids 100k+t, every token after the first trained. */
function examples(n: number): SftExample[] {
  return Array.from({ length: n }, (_, k) => {
    const L = 2 + (k % 4);
    const ids = Array.from({ length: L }, (_, t) => 100 * k + t + 1);
    return { line: 10 + k, input_ids: ids, labels: ids.map((id, t) => (t === 0 ? X : id)) };
  });
}

test('makeMicroBatch shifts labels, pads on the right and counts targets', () => {
  const rows: SftExample[] = [
    { line: 3, input_ids: [11, 12, 13], labels: [X, 12, 13] },
    { line: 7, input_ids: [21, 22, 23, 24, 25], labels: [X, X, X, 24, 25] },
    { line: 9, input_ids: [31, 32], labels: [31, 32] },
  ];
  const mb = makeMicroBatch(rows, PAD);
  assert.equal(mb.B, 3);
  assert.equal(mb.T, 5); // longest row
  assert.deepEqual(mb.rows, [3, 7, 9]);
  assert.deepEqual([...mb.lengths], [3, 5, 2]);
  // prettier-ignore
  assert.deepEqual([...mb.ids], [
    11, 12, 13, PAD, PAD,
    21, 22, 23, 24, 25,
    31, 32, PAD, PAD, PAD,
  ]);
  // labels[b, t] = row labels[t+1]; the last real position and padding are -100.
  // prettier-ignore
  assert.deepEqual([...mb.labels], [
    12, 13, X, X, X,
    X, X, 24, 25, X,
    32, X, X, X, X,
  ]);
  assert.equal(mb.counted, 5);
  assert.throws(() => makeMicroBatch([], PAD), /no rows/);
  assert.throws(() => makeMicroBatch([{ line: 1, input_ids: [1, 2], labels: [1] }], PAD), /line 1: 1 labels for 2 ids/);
});

test('microBatches follows the order and keeps a short last batch', () => {
  const ex = examples(5);
  const mbs = [...microBatches(ex, [4, 2, 0, 1, 3], 2, PAD)];
  assert.deepEqual(mbs.map((m) => m.rows), [[14, 12], [10, 11], [13]]);
  assert.deepEqual(mbs.map((m) => m.T), [4, 3, 5]); // lengths 2+k%4: rows 4,2 → 2,4; 0,1 → 2,3; 3 → 5
  assert.throws(() => [...microBatches(ex, [0], 0, PAD)], /batch size 0/);
});

test('epochOrder: identity without shuffle; pinned, deterministic permutations per (seed, epoch)', () => {
  assert.deepEqual(epochOrder(6, 3, 42, false), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(epochOrder(10, 0, 42, true), [5, 2, 1, 0, 9, 8, 4, 3, 7, 6]);
  assert.deepEqual(epochOrder(10, 1, 42, true), [4, 3, 0, 8, 7, 2, 1, 9, 6, 5]);
  assert.deepEqual(epochOrder(7, 0, 0, true), [3, 1, 0, 6, 5, 2, 4]);
  assert.deepEqual(epochOrder(0, 0, 1, true), []);
  assert.deepEqual(epochOrder(1, 5, 1, true), [0]);
  for (const [n, epoch, seed] of [[37, 0, 1], [37, 1, 1], [37, 0, 2], [1000, 9, 123456789]]) {
    const o = epochOrder(n, epoch, seed, true);
    assert.deepEqual(o, epochOrder(n, epoch, seed, true), 'same inputs, same order');
    assert.deepEqual([...o].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i), 'a permutation');
  }
  assert.notDeepEqual(epochOrder(37, 0, 1, true), epochOrder(37, 1, 1, true), 'epochs differ');
  assert.notDeepEqual(epochOrder(37, 0, 1, true), epochOrder(37, 0, 2, true), 'seeds differ');
});

const OPTS: CursorOptions = { batchSize: 2, gradAccum: 3, seed: 7, shuffle: true, padId: PAD };

test('DataCursor: fixed-size steps over the epoch stream, wrapping into the next epoch', () => {
  const ex = examples(5); // 6 rows per step: every step after the first straddles an epoch boundary
  const cur = new DataCursor(ex, OPTS);
  const stream = [...epochOrder(5, 0, 7, true), ...epochOrder(5, 1, 7, true), ...epochOrder(5, 2, 7, true)];
  const got: number[] = [];
  for (let s = 0; s < 2; s++) {
    const step = cur.nextStep();
    assert.equal(step.micro.length, 3);
    assert.ok(step.micro.every((m) => m.B === 2));
    assert.equal(step.counted, step.micro.reduce((a, m) => a + m.counted, 0));
    assert.equal(step.epoch, s === 0 ? 0 : 1);
    got.push(...step.micro.flatMap((m) => m.rows));
  }
  assert.deepEqual(got, stream.slice(0, 12).map((k) => 10 + k));
  assert.deepEqual(cur.state(), { epoch: 2, index: 2 });
  assert.equal(stepsForEpochs(5, 3, 2, 3), 3); // 15 rows / 6 per step, rounded up
  // Without shuffle the stream is 0..n-1 repeated.
  const plain = new DataCursor(ex, { ...OPTS, shuffle: false, gradAccum: 1, batchSize: 4 });
  assert.deepEqual([plain.nextStep(), plain.nextStep()].flatMap((s) => s.micro[0].rows), [10, 11, 12, 13, 14, 10, 11, 12]);
});

test('DataCursor: state through JSON resumes with exactly the same batches', () => {
  const ex = examples(7);
  const straight = new DataCursor(ex, OPTS);
  const want = Array.from({ length: 6 }, () => straight.nextStep());
  const first = new DataCursor(ex, OPTS);
  const got = [first.nextStep(), first.nextStep()];
  const saved = JSON.stringify(first.state());
  const resumed = new DataCursor(ex, OPTS, JSON.parse(saved));
  for (let s = 0; s < 4; s++) got.push(resumed.nextStep());
  assert.equal(got.length, want.length);
  for (let s = 0; s < want.length; s++) {
    assert.equal(got[s].counted, want[s].counted, `step ${s}`);
    assert.equal(got[s].epoch, want[s].epoch, `step ${s}`);
    for (let m = 0; m < want[s].micro.length; m++) {
      const a = got[s].micro[m];
      const b = want[s].micro[m];
      assert.deepEqual(a.rows, b.rows, `step ${s} micro ${m}`);
      assert.deepEqual([...a.ids], [...b.ids]);
      assert.deepEqual([...a.labels], [...b.labels]);
    }
  }
  assert.throws(() => new DataCursor(ex, OPTS, { epoch: 0, index: 7 }), /does not fit 7 examples/);
  assert.throws(() => new DataCursor(ex, { ...OPTS, gradAccum: 0 }), /gradAccum = 0/);
  assert.throws(() => new DataCursor([], OPTS), /no examples/);
});
