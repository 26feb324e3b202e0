// The vec4 matmul's kk loops are loops Tint proves finite, so its SPIR-V writer adds no loop counter to them: the
// NVIDIA compiler made slower code of matmul loops that carried one (BENCHMARKS.md, twenty-third session). Only the
// kt loops, whose bound comes from the uniform, keep theirs. Checked in the SPIR-V Dawn makes here (lavapipe), so a
// change of the loops' form, or a Dawn that proves less, shows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countLoops, tintLoops } from '../../tools/bench/tint-loops.ts';

test('the vec4 matmul: no Tint loop counter in its kk loops at either tile and K step; a kk += 2u loop gets one', () => {
  for (const [tile, bk] of [[64, 16], [128, 16], [128, 8]] as const) {
    const { loops, counters } = tintLoops(['vec4', String(tile), String(bk)]);
    assert.ok(loops >= 4, `tile ${tile} bk ${bk}: the kt and kk loops are there (${loops} loops)`);
    assert.ok(counters <= 2, `tile ${tile} bk ${bk}: counters only on the two kt loops, got ${counters}`);
  }
  // the control: the file with one kk loop stepping by 2 (the form writeOutKk wrote until this session) gets a counter
  const file = readFileSync('shaders/matmul_forward_vec4.wgsl', 'utf8');
  const LOOP = 'for (var kk = 0u; kk < BK; kk++) {';
  assert.ok(file.includes(LOOP));
  const dir = mkdtempSync(join(tmpdir(), 'tint-loops-'));
  writeFileSync(join(dir, 'plain.wgsl'), file);
  writeFileSync(join(dir, 'step2.wgsl'), file.replace(LOOP, 'for (var kk = 0u; kk < BK; kk += 2u) {'));
  const plain = tintLoops(['file', join(dir, 'plain.wgsl'), '128', '16']);
  const step2 = tintLoops(['file', join(dir, 'step2.wgsl'), '128', '16']);
  assert.equal(step2.loops, plain.loops);
  assert.equal(step2.counters, plain.counters + 1, 'kk += 2u: one more counter');
  assert.throws(() => countLoops('no dump here'), /no SPIR-V in the output/);
});
