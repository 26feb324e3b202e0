// The analysis bench's prompts are the ones tools/bench/torch_analysis.py makes (its Mulberry32 is
// src/engine/util/rng.ts's, bit for bit): these values were printed by both on 2026-12-05.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benchPrompts } from './analysis.ts';

test('benchPrompts: seeded lengths (len ± 25%), answer at the end, ids as torch_analysis.py makes them', () => {
  const p = benchPrompts(3, 96, 4, 151936, 2);
  assert.deepEqual(p.map((x) => [x.ids.length, x.answerAt, x.ids.slice(0, 5), x.ids.at(-1)]), [
    [107, 103, [49378, 43346, 81734, 132987, 95846], 148209],
    [102, 98, [17324, 87866, 143668, 4370, 87842], 69324],
    [105, 101, [18734, 69467, 24576, 101026, 3411], 61477],
  ]);
  for (const x of benchPrompts(50, 20, 4, 100, 7)) {
    assert.ok(x.ids.length >= 15 && x.ids.length <= 25 && x.answerAt === x.ids.length - 4);
    assert.ok(x.ids.every((i) => i >= 0 && i < 100));
  }
});
