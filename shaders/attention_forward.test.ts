import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { attentionForward, attentionRowsApplies } from './attention_forward.ts';
import { attentionForwardRef, logitResolution, type AttnDims } from './attention_forward.ref.ts';
import { testRuntime, releaseTestRuntime } from '../src/engine/testing/gpu.ts';
import { assertAllClose } from '../src/engine/testing/allclose.ts';
import { Rng } from '../src/engine/testing/rng.ts';

after(releaseTestRuntime);
// Tolerances vs float64 (shaders/README.md): attention outputs 1e-3 relative plus 1e-5 absolute
// (fp32 dot products, exp and an online-softmax rescale per key block); probabilities 1e-5
// absolute, the bound the model-parity test asserts; lse 1e-5 relative (it is m + log l, with m a
// single fp32 dot product) plus 1e-5 absolute for lse near 0.
const OUT_TOL = { atol: 1e-5, rtol: 1e-3 };
const PROB_TOL = { atol: 1e-5, rtol: 0 };
const LSE_TOL = { atol: 1e-5, rtol: 1e-5 };
const NEG_BIG = Math.fround(-3.402823e38); // the kernel's lse for a row that sees no key

interface Case {
  dims: AttnDims;
  offset?: number;
  scale?: number;
  /** [S] or [B, S] of 0/1; batched says whether q is [B, T, H, D] */
  mask?: Uint32Array;
  batched?: boolean;
  /** multiplies q and k, to push logits up */
  amp?: number;
  /** keys past offset + T are filled with NaN (a cache buffer whose tail was never written) */
  nanTail?: boolean;
}

async function runCase(name: string, c: Case, seed: number): Promise<void> {
  const rt = await testRuntime();
  const rng = new Rng(seed);
  const { B, T, S, H, Hkv, D } = c.dims;
  const q = rng.normal(B * T * H * D, c.amp ?? 1); // [B, T, H, D]
  const k = rng.normal(B * S * Hkv * D, c.amp ?? 1); // [B, S, Hkv, D]
  const v = rng.normal(B * S * Hkv * D); // [B, S, Hkv, D]
  if (c.nanTail) {
    const first = (c.offset ?? 0) + T;
    for (let b = 0; b < B; b++) for (let e = (b * S + first) * Hkv * D; e < (b + 1) * S * Hkv * D; e++) k[e] = v[e] = NaN;
  }
  const batched = c.batched ?? B > 1;
  const qs = batched ? [B, T, H, D] : [T, H, D];
  const ks = batched ? [B, S, Hkv, D] : [S, Hkv, D];
  const ref = attentionForwardRef(q, k, v, c.dims, { offset: c.offset, scale: c.scale, keyMask: c.mask });
  const refLse = ref.lse.map((x) => (x === -Infinity ? NEG_BIG : x));
  // widen absolute tolerances by the fp32 resolution of the logits (tiny except for huge logits):
  // a logit error δ is a relative error δ on each probability, so ≤ δ on probs, ≤ δ·max|v| on out
  const delta = logitResolution(q, k, c.dims, c.scale);
  const maxV = v.reduce((m, x) => (Number.isFinite(x) ? Math.max(m, Math.abs(x)) : m), 0);
  const PROB_T = { ...PROB_TOL, atol: PROB_TOL.atol + delta };
  const OUT_T = { ...OUT_TOL, atol: OUT_TOL.atol + delta * maxV };
  const LSE_T = { ...LSE_TOL, atol: LSE_TOL.atol + delta };
  // version 3 (rows) where it applies (D % 4 == 0, D <= 64); the D = 100 / 256 cases run 1 and 2
  for (const version of attentionRowsApplies(D) ? ([1, 2, 3] as const) : ([1, 2] as const)) {
    const keyMask = c.mask ? rt.upload(c.mask, c.mask.length === S ? [S] : [B, S]) : undefined;
    const r = attentionForward(rt, rt.upload(q, qs), rt.upload(k, ks), rt.upload(v, ks), { offset: c.offset, scale: c.scale, keyMask, writeProbs: true, version });
    assert.deepEqual(r.out.shape, qs);
    assert.deepEqual(r.lse.shape, batched ? [B, H, T] : [H, T]);
    assert.deepEqual(r.probs!.shape, batched ? [B, H, T, S] : [H, T, S]);
    assertAllClose(await rt.read(r.out), ref.out, OUT_T, `${name} v${version} out`);
    assertAllClose(await rt.read(r.lse), refLse, LSE_T, `${name} v${version} lse`);
    assertAllClose(await rt.read(r.probs!), ref.probs, PROB_T, `${name} v${version} probs`);
    // without writeProbs the flash path skips the probs pass; out must not change
    const r2 = attentionForward(rt, rt.upload(q, qs), rt.upload(k, ks), rt.upload(v, ks), { offset: c.offset, scale: c.scale, keyMask, version });
    assert.equal(r2.probs, undefined);
    assertAllClose(await rt.read(r2.out), ref.out, OUT_T, `${name} v${version} out (no probs)`);
  }
}

test('attention forward: T = S not multiples of the 16-row tile, GQA ratios 1, 3, 7', async () => {
  await runCase('T=S=37 H=3 Hkv=1 D=8', { dims: { B: 1, T: 37, S: 37, H: 3, Hkv: 1, D: 8 } }, 1);
  await runCase('T=S=5 H=2 Hkv=2 D=64', { dims: { B: 1, T: 5, S: 5, H: 2, Hkv: 2, D: 64 } }, 2);
  await runCase('T=S=17 H=7 Hkv=1 D=8', { dims: { B: 1, T: 17, S: 17, H: 7, Hkv: 1, D: 8 } }, 3);
  await runCase('T=S=1 H=1 D=8', { dims: { B: 1, T: 1, S: 1, H: 1, Hkv: 1, D: 8 } }, 4);
});

test('attention forward: several 64-row tiles and 32-key blocks (T = S = 150, 70), GQA, batch', async () => {
  await runCase('T=S=150 H=4 Hkv=2 D=16', { dims: { B: 1, T: 150, S: 150, H: 4, Hkv: 2, D: 16 } }, 13);
  await runCase('B=2 T=S=70 H=3 Hkv=1 D=12', { dims: { B: 2, T: 70, S: 70, H: 3, Hkv: 1, D: 12 } }, 14);
});

test('attention forward: head dims 100 and 256 (100 is not a multiple of the 16-dim stage), custom scale', async () => {
  await runCase('T=S=19 H=2 Hkv=1 D=100', { dims: { B: 1, T: 19, S: 19, H: 2, Hkv: 1, D: 100 }, scale: 0.3 }, 5);
  await runCase('T=S=6 H=2 Hkv=2 D=256', { dims: { B: 1, T: 6, S: 6, H: 2, Hkv: 2, D: 256 } }, 6);
});

test('attention forward: KV-cache offset (prefill after a prefix, decode T=1), NaN past the cache end unread', async () => {
  await runCase('prefill T=5 offset=12 S=17', { dims: { B: 1, T: 5, S: 17, H: 6, Hkv: 2, D: 64 }, offset: 12 }, 7);
  await runCase('decode T=1 offset=39 S=40', { dims: { B: 1, T: 1, S: 40, H: 9, Hkv: 3, D: 64 }, offset: 39 }, 8);
  // a fixed-capacity cache: S = 48 slots, only offset + T = 21 written, the rest NaN
  await runCase('capacity S=48, offset=16 T=5, NaN tail', { dims: { B: 1, T: 5, S: 48, H: 2, Hkv: 1, D: 8 }, offset: 16, nanTail: true }, 9);
});

test('attention forward: key padding masks, fully masked rows give zeros (not NaN)', async () => {
  // batch of 2, left padded: sequence 0 has 3 pad keys, so its queries 0..2 see nothing at all
  const S = 21;
  const mask = new Uint32Array(2 * S).fill(1);
  mask.fill(0, 0, 3);
  mask.fill(0, S, S + 1);
  mask[S + 9] = 0; // a hole in the middle of sequence 1
  await runCase('B=2 [B,S] mask', { dims: { B: 2, T: S, S, H: 4, Hkv: 2, D: 8 }, mask }, 10);
  // one [S] mask for a single sequence, with an offset
  const m1 = new Uint32Array(13).fill(1);
  m1.fill(0, 0, 11); // queries at positions 10, 11 see nothing; 12 sees keys 11, 12
  await runCase('[S] mask, offset 10', { dims: { B: 1, T: 3, S: 13, H: 3, Hkv: 3, D: 8 }, offset: 10, mask: m1 }, 11);

  const rt = await testRuntime();
  const r = attentionForward(rt, rt.upload(new Float32Array(3 * 8).fill(1), [3, 1, 8]), rt.upload(new Float32Array(3 * 8).fill(1), [3, 1, 8]), rt.upload(new Float32Array(3 * 8).fill(1), [3, 1, 8]), {
    keyMask: rt.upload(new Int32Array([0, 0, 0]), [3], 'i32'),
    writeProbs: true,
  });
  assert.ok((await rt.read(r.out)).every((x) => x === 0), 'all keys masked → zero output');
  assert.ok((await rt.read(r.probs!)).every((x) => x === 0), 'all keys masked → zero probabilities');
});

test('attention forward: huge logits (q·k·scale ~ 1e4) stay finite and match', async () => {
  // q, k ~ N(0, 40²) with D = 8: scores ~ 1e4; every row is essentially one-hot at its max.
  // Here the fp32 logits themselves are uncertain by ~1e-3 (logitResolution), so the absolute
  // tolerances widen by that; on the H200 the probs were off by up to 2e-4 (lavapipe: exact).
  await runCase('logits ~1e4', { dims: { B: 1, T: 23, S: 23, H: 2, Hkv: 1, D: 8 }, amp: 40 }, 12);
});

test('attention forward: shape guards', async () => {
  const rt = await testRuntime();
  const t = (shape: number[]) => rt.empty(shape, 'f32', 'x');
  assert.throws(() => attentionForward(rt, t([4, 3, 8]), t([4, 2, 8]), t([4, 2, 8])), /multiple of Hkv/);
  assert.throws(() => attentionForward(rt, t([4, 2, 300]), t([4, 2, 300]), t([4, 2, 300])), /D=300/);
  assert.throws(() => attentionForward(rt, t([4, 2, 8]), t([4, 2, 8]), t([5, 2, 8])), /must match/);
  assert.throws(() => attentionForward(rt, t([4, 2, 8]), t([4, 2, 8]), t([4, 2, 8]), { keyMask: rt.empty([5], 'u32') }), /keyMask/);
  assert.throws(() => attentionForward(rt, t([4, 2, 100]), t([4, 2, 100]), t([4, 2, 100]), { version: 3 }), /version 3 needs D % 4 == 0 and D <= 64/);
});
