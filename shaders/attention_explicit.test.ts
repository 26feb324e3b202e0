import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { attentionScores, attentionPattern, attentionApply } from './attention_explicit.ts';
import { attentionScoresRef, attentionPatternRef, attentionApplyRef, visibleExplicitRef, MASKED_SCORE, type ExplicitDims } from './attention_explicit.ref.ts';
import { attentionForward } from './attention_forward.ts';
import { testRuntime, releaseTestRuntime } from '../src/engine/testing/gpu.ts';
import { assertAllClose } from '../src/engine/testing/allclose.ts';
import { Rng } from '../src/engine/testing/rng.ts';

after(releaseTestRuntime);
// Tolerances vs float64 (shaders/README.md). Each step is fed the very fp32 input the kernel got
// (q/k, the kernel's scores read back, the kernel's pattern read back), so only the step's own
// rounding is measured:
//   scores: one fp32 dot product of D <= 12 terms ~N(0,1)², summed in d order: error about
//     D·2^-24·Σ|q_d·k_d|·scale ≈ 1e-6 absolute; 1e-5 + 1e-5 relative leaves ~10x room.
//   pattern: exp and an S <= 13 term sum of fp32 values, a few ulps relative: 1e-5 relative (the
//     softmax tolerance); atol 1e-6 covers tail probabilities lavapipe flushes below fp32's normal range.
//   apply: an S-term fp32 sum of p·v with Σp = 1 and |v| < 5: ≤ S·2^-24·5 ≈ 4e-6 absolute.
// Against attention_forward (fp32 against fp32, other summation orders, flash's online rescale):
//   probs 1e-5 absolute (attention_forward's own probs bound), out 1e-5 absolute + 1e-5 relative
//   (measured on lavapipe: worst 2e-7 for both).
const SCORE_TOL = { atol: 1e-5, rtol: 1e-5 };
const PATTERN_TOL = { atol: 1e-6, rtol: 1e-5 };
const APPLY_TOL = { atol: 1e-5, rtol: 1e-5 };
const FWD_PROB_TOL = { atol: 1e-5, rtol: 0 };
const FWD_OUT_TOL = { atol: 1e-5, rtol: 1e-5 };

interface Case {
  /** S = keys in use (the S passed to attentionScores; undefined = default k.shape[1] = Smax) */
  dims: ExplicitDims & { Smax: number };
  passS?: boolean;
  offset?: number;
  scale?: number;
  /** [B, Smax] or [Smax] of 0/1 */
  mask?: Uint32Array;
  /** k/v rows past offset + T are NaN (a cache buffer whose tail was never written) */
  nanTail?: boolean;
}

interface Inputs {
  q: Float32Array; // [B, T, H, D]
  k: Float32Array; // [B, Smax, Hkv, D]
  v: Float32Array; // [B, Smax, Hkv, D]
}

function inputs(c: Case, seed: number): Inputs {
  const rng = new Rng(seed);
  const { B, T, H, Hkv, D, Smax } = c.dims;
  const q = rng.normal(B * T * H * D);
  const k = rng.normal(B * Smax * Hkv * D);
  const v = rng.normal(B * Smax * Hkv * D);
  if (c.nanTail) {
    const first = (c.offset ?? 0) + T;
    for (let b = 0; b < B; b++) for (let e = (b * Smax + first) * Hkv * D; e < (b + 1) * Smax * Hkv * D; e++) k[e] = v[e] = NaN;
  }
  return { q, k, v };
}

/** Columns [0, S) of a [rows, Smax] array. */
function firstCols(x: ArrayLike<number>, Smax: number, S: number): Float32Array {
  const rows = x.length / Smax;
  const out = new Float32Array(rows * S);
  for (let r = 0; r < rows; r++) for (let j = 0; j < S; j++) out[r * S + j] = x[r * Smax + j];
  return out;
}

async function runCase(name: string, c: Case, seed: number): Promise<void> {
  const rt = await testRuntime();
  const { B, T, S, H, Hkv, D, Smax } = c.dims;
  const { q, k, v } = inputs(c, seed);
  const ref = { offset: c.offset, scale: c.scale, keyMask: c.mask };
  const gq = rt.upload(q, [B, T, H, D]);
  const gk = rt.upload(k, [B, Smax, Hkv, D]);
  const gv = rt.upload(v, [B, Smax, Hkv, D]);
  const keyMask = c.mask ? rt.upload(c.mask, c.mask.length === Smax ? [Smax] : [B, Smax]) : undefined;

  // step 1: scores, exact mask constant where invisible
  const scores = attentionScores(rt, gq, gk, { S: c.passS ? S : undefined, offset: c.offset, scale: c.scale, keyMask });
  assert.deepEqual(scores.shape, [B, H, T, S]);
  const sc = (await rt.read(scores)) as Float32Array;
  assertAllClose(sc, attentionScoresRef(q, k, c.dims, ref), SCORE_TOL, `${name} scores`);
  let invisible = 0;
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < T; i++)
        for (let j = 0; j < S; j++) {
          if (visibleExplicitRef(c.dims, ref, b, i, j)) continue;
          invisible++;
          assert.equal(sc[((b * H + h) * T + i) * S + j], MASKED_SCORE, `${name}: masked score [${b}, ${h}, ${i}, ${j}]`);
        }
  assert.ok(invisible > 0, `${name}: the case masks something`);

  // step 2: pattern from the kernel's own scores
  const pattern = attentionPattern(rt, scores, { offset: c.offset, keyMask });
  assert.deepEqual(pattern.shape, [B, H, T, S]);
  const pt = (await rt.read(pattern)) as Float32Array;
  assertAllClose(pt, attentionPatternRef(sc, c.dims, ref), PATTERN_TOL, `${name} pattern`);

  // step 3: z from the kernel's own pattern
  const z = attentionApply(rt, pattern, gv);
  assert.deepEqual(z.shape, [B, T, H, D]);
  const zz = (await rt.read(z)) as Float32Array;
  assertAllClose(zz, attentionApplyRef(pt, v, c.dims), APPLY_TOL, `${name} z`);

  // the chain equals attention_forward (S = k.shape[1] = Smax there) on the same inputs, both versions
  for (const version of [1, 2] as const) {
    const f = attentionForward(rt, gq, gk, gv, { offset: c.offset, scale: c.scale, keyMask, writeProbs: true, version });
    const probs = await rt.read(f.probs!); // [B, H, T, Smax]
    assertAllClose(pt, firstCols(probs, Smax, S), FWD_PROB_TOL, `${name} pattern vs attention_forward v${version} probs`);
    if (S < Smax) assert.ok(probs.every((p, e) => e % Smax < S || p === 0), `${name}: forward probs past S are 0`);
    assertAllClose(zz, await rt.read(f.out), FWD_OUT_TOL, `${name} z vs attention_forward v${version} out`);
    for (const t of [f.out, f.lse, f.probs!]) t.dispose();
  }
  for (const t of [gq, gk, gv, scores, pattern, z]) t.dispose();
  keyMask?.dispose();
}

test('attention explicit: GQA H=4 Hkv=2 and H=3 Hkv=1, B=2, sizes off the workgroup sizes', async () => {
  await runCase('B=2 T=S=11 H=4 Hkv=2 D=8', { dims: { B: 2, T: 11, S: 11, Smax: 11, H: 4, Hkv: 2, D: 8 } }, 1);
  await runCase('B=2 T=S=6 H=3 Hkv=1 D=12 scale 0.3', { dims: { B: 2, T: 6, S: 6, Smax: 6, H: 3, Hkv: 1, D: 12 }, scale: 0.3 }, 2);
});

test('attention explicit: KV cache (offset 5, S = offset + T), buffer larger than used, left padding with a row that sees nothing, long rows', async () => {
  const [B, T, offset, Smax] = [2, 4, 5, 13];
  const S = offset + T; // 9 keys written; slots 9..12 of the cache are unwritten (NaN here)
  // batch 0: 7 pad keys, so its queries 0 and 1 (positions 5, 6) see no key at all;
  // batch 1: 1 pad key and a hole at key 3
  const mask = new Uint32Array(B * Smax).fill(1);
  mask.fill(0, 0, 7);
  mask[Smax] = 0;
  mask[Smax + 3] = 0;
  const c: Case = { dims: { B, T, S, Smax, H: 3, Hkv: 1, D: 12 }, offset, mask, nanTail: true };
  await runCase('S=offset+T=9 passed, Smax=13, [B,Smax] mask', { ...c, passS: true }, 3);
  // S left to default = k.shape[1] = 13 (attention_forward's S): the unwritten tail is hidden by causality
  await runCase('S default = Smax = 13, [B,Smax] mask', { ...c, dims: { ...c.dims, S: Smax } }, 3);
  // GQA 2:1 with one [Smax] mask shared by both sequences
  const m1 = new Uint32Array(Smax).fill(1);
  m1.fill(0, 0, 2);
  await runCase('S=9 of Smax=13, H=4 Hkv=2, [Smax] mask', { dims: { B, T, S, Smax, H: 4, Hkv: 2, D: 8 }, offset, mask: m1, nanTail: true, passS: true }, 4);
  // long rows: decode-like T=2 after 131 cached keys, S = 133 > 2 × the 64 lanes of a softmax row,
  // so every lane holds several keys and the whole tree reduction matters
  const long = new Uint32Array(2 * 133).fill(1);
  long.fill(0, 0, 40);
  long.fill(0, 133 + 70, 133 + 75);
  await runCase('long rows S=133, offset 131, T=2', { dims: { B: 2, T: 2, S: 133, Smax: 133, H: 3, Hkv: 1, D: 8 }, offset: 131, mask: long }, 7);

  // the dead rows are exact zeros in pattern and z
  const rt = await testRuntime();
  const { q, k, v } = inputs(c, 3);
  const keyMask = rt.upload(mask, [B, Smax]);
  const kv = (x: Float32Array) => rt.upload(x, [B, Smax, 1, 12]);
  const p = attentionPattern(rt, attentionScores(rt, rt.upload(q, [B, T, 3, 12]), kv(k), { S, offset, keyMask }), { offset, keyMask });
  const pt = await rt.read(p); // [B, H, T, S]
  const zz = await rt.read(attentionApply(rt, p, kv(v))); // [B, T, H, D]
  for (let h = 0; h < 3; h++) for (const i of [0, 1]) assert.ok(pt.subarray((h * T + i) * S, (h * T + i + 1) * S).every((x) => x === 0), `dead row h=${h} i=${i}`);
  for (const i of [0, 1]) assert.ok(zz.subarray(i * 3 * 12, (i + 1) * 3 * 12).every((x) => x === 0), `dead z row i=${i}`);
});

test('attention explicit: edited scores (±1e4, masked keys set high, visible keys at the mask constant) stay masked and stable', async () => {
  const rt = await testRuntime();
  const rng = new Rng(5);
  const [B, H, T, S, offset] = [2, 2, 3, 7, 4];
  const dims: ExplicitDims = { B, T, S, H, Hkv: 1, D: 1 };
  const mask = new Uint32Array(B * S).fill(1);
  mask[1] = 0; // batch 0 key 1 masked
  const ref = { offset, keyMask: mask };
  // scores ~ ±1e4, so every exp is of a huge difference; every masked / future entry is set to +1e4
  // (an edit that must not unmask it)
  const sc = rng.uniform(B * H * T * S, -1e4, 1e4);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < T; i++) {
        const row = ((b * H + h) * T + i) * S;
        for (let j = 0; j < S; j++) if (!visibleExplicitRef(dims, ref, b, i, j)) sc[row + j] = 1e4;
      }
  // batch 1 head 0: row 0 all visible keys equal (uniform), row 1 a near-tie at 1e4, row 2 visible
  // keys at the mask constant but for key 2 (one-hot), head 1 row 0 all at the mask constant (uniform)
  const r = (b: number, h: number, i: number) => ((b * H + h) * T + i) * S;
  sc.fill(1e4 - 3, r(1, 0, 0), r(1, 0, 0) + offset + 1);
  sc.set([1e4, 1e4 - 0.5, -1e4, 1e4 - 1, 9999, 1e4], r(1, 0, 1));
  sc.fill(MASKED_SCORE, r(1, 0, 2), r(1, 0, 2) + offset + 3);
  sc[r(1, 0, 2) + 2] = -5e3;
  sc.fill(MASKED_SCORE, r(1, 1, 0), r(1, 1, 0) + offset + 1);
  const pt = (await rt.read(attentionPattern(rt, rt.upload(sc, [B, H, T, S]), { offset, keyMask: rt.upload(mask, [B, S]) }))) as Float32Array;
  const want = attentionPatternRef(sc, dims, ref);
  assertAllClose(pt, want, PATTERN_TOL, 'edited scores pattern');
  for (let e = 0; e < pt.length; e++) if (want[e] === 0) assert.equal(pt[e], 0, `masked entry ${e} stays 0`);
  for (let row = 0; row < B * H * T; row++) {
    const sum = pt.subarray(row * S, (row + 1) * S).reduce((a, x) => a + x, 0);
    assert.ok(Math.abs(sum - 1) < 1e-5, `row ${row} sums to ${sum}`);
  }
  assert.ok(Math.abs(pt[r(1, 0, 0)] - 1 / (offset + 1)) < 1e-6, 'equal visible scores → uniform');
  assert.equal(pt[r(1, 0, 2) + 2], 1, 'one key above the mask constant takes all the mass');
  assert.ok(Math.abs(pt[r(1, 1, 0)] - 1 / (offset + 1)) < 1e-6, 'visible keys all at the mask constant → uniform');
});

test('attention explicit: an overwritten pattern row flows into z exactly as the reference says', async () => {
  const rt = await testRuntime();
  const c: Case = { dims: { B: 2, T: 5, S: 8, Smax: 10, H: 4, Hkv: 2, D: 8 }, offset: 3 };
  const { B, T, S, Smax, H, Hkv, D } = c.dims;
  const { q, k, v } = inputs(c, 6);
  const gv = rt.upload(v, [B, Smax, Hkv, D]);
  const pattern = attentionPattern(rt, attentionScores(rt, rt.upload(q, [B, T, H, D]), rt.upload(k, [B, Smax, Hkv, D]), { S, offset: 3 }), { offset: 3 });
  const pt = (await rt.read(pattern)) as Float32Array;
  const z0 = await rt.read(attentionApply(rt, pattern, gv));
  // overwrite row (b=1, h=2, i=1): 0.25 on key 0, 0.5 on key 6 — a future key the causal mask hid
  // (position 6 > offset + 1) — and a sum of 0.75: apply neither masks nor renormalises, the edit
  // flows on as given. Weights 1/4 and 1/2 make both products exact, so z has one rounding (FMA or not).
  const edited = pt.slice();
  const row = ((1 * H + 2) * T + 1) * S;
  edited.fill(0, row, row + S);
  edited[row] = 0.25;
  edited[row + 6] = 0.5;
  const z1 = (await rt.read(attentionApply(rt, rt.upload(edited, [B, H, T, S]), gv))) as Float32Array;
  assertAllClose(z1, attentionApplyRef(edited, v, c.dims), APPLY_TOL, 'edited pattern z');
  const zo = ((1 * T + 1) * H + 2) * D; // z[1, 1, 2, :]
  const vo = (j: number) => ((1 * Smax + j) * Hkv + 1) * D; // kv head 2 / (4 / 2) = 1
  for (let d = 0; d < D; d++) {
    assert.equal(z1[zo + d], Math.fround(0.25 * v[vo(0) + d] + 0.5 * v[vo(6) + d]), `z[1, 1, 2, ${d}]`);
  }
  // every other z element is bit-identical to the unedited run
  for (let e = 0; e < z1.length; e++) if (e < zo || e >= zo + D) assert.equal(z1[e], z0[e], `z element ${e} unchanged`);
});

test('attention explicit: shape guards', async () => {
  const rt = await testRuntime();
  const t = (shape: number[]) => rt.empty(shape, 'f32', 'x');
  const q = t([1, 4, 3, 8]);
  assert.throws(() => attentionScores(rt, q, t([1, 4, 2, 8])), /multiple of Hkv/);
  assert.throws(() => attentionScores(rt, t([4, 3, 8]), t([4, 3, 8])), /q must be f32 \[B, T, H, D\]/);
  assert.throws(() => attentionScores(rt, q, t([1, 4, 3, 7])), /k .* does not match q/);
  assert.throws(() => attentionScores(rt, q, t([1, 6, 1, 8]), { S: 7 }), /S=7/);
  assert.throws(() => attentionScores(rt, q, t([1, 6, 1, 8]), { keyMask: rt.empty([1, 5], 'u32') }), /keyMask/);
  assert.throws(() => attentionScores(rt, q, t([1, 6, 1, 8]), { keyMask: rt.empty([6], 'f32') }), /keyMask must be u32\/i32/);
  assert.throws(() => attentionScores(rt, q, t([1, 6, 1, 8]), { offset: -1 }), /offset/);
  assert.throws(() => attentionPattern(rt, t([1, 3, 4])), /scores must be f32 \[B, H, T, S\]/);
  assert.throws(() => attentionPattern(rt, t([2, 3, 4, 6]), { keyMask: rt.empty([1, 6], 'i32') }), /keyMask/);
  assert.throws(() => attentionPattern(rt, rt.empty([1, 3, 4, 6], 'i32')), /scores must be f32/);
  assert.throws(() => attentionApply(rt, t([1, 3, 4, 6]), t([1, 5, 1, 8])), /holds only 5/);
  assert.throws(() => attentionApply(rt, t([1, 3, 4, 6]), t([2, 6, 1, 8])), /differ in batch/);
  assert.throws(() => attentionApply(rt, t([1, 3, 4, 6]), t([1, 6, 2, 8])), /multiple of Hkv/);
});
