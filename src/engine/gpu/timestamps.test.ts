import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sumByLabel } from './timestamps.ts';

test('sumByLabel: per label, the summed end − begin of its dispatches in ms and their count, largest first', () => {
  // dispatch i: [ts[2i], ts[2i+1]] in ns
  const ts = BigUint64Array.from([0n, 1_000_000n, 5_000_000n, 5_500_000n, 6_000_000n, 9_000_000n, 9_000_000n, 9_250_000n]);
  const rows = sumByLabel(['mm [1,1,1]', 'norm [4,1,1]', 'mm [1,1,1]', 'norm [4,1,1]'], ts);
  assert.deepEqual(rows, [
    { name: 'mm [1,1,1]', ms: 4, count: 2 },
    { name: 'norm [4,1,1]', ms: 0.75, count: 2 },
  ]);
  assert.deepEqual(sumByLabel([], new BigUint64Array(2)), []);
});
