import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { attentionForward, attentionRowsApplies } from './attention_forward.ts';
import { attentionBackward } from './attention_backward.ts';
import { attentionBackwardRef } from './attention_backward.ref.ts';
import { attentionForwardRef, attentionProbsRef, logitResolution, type AttnDims, type AttnOpts } from './attention_forward.ref.ts';
import { testRuntime, releaseTestRuntime } from '../src/engine/testing/gpu.ts';
import { assertAllClose } from '../src/engine/testing/allclose.ts';
import { Rng } from '../src/engine/testing/rng.ts';

after(releaseTestRuntime);
// Gradients vs float64 analytic gradients: 1e-3 relative plus 1e-5 absolute (shaders/README.md,
// attention): fp32 recomputation of P from lse, the dP − Δ difference and sums over up to S keys.
const GRAD_TOL = { atol: 1e-5, rtol: 1e-3 };

interface Case {
  dims: AttnDims;
  offset?: number;
  scale?: number;
  mask?: Uint32Array; // [S] or [B, S]
  amp?: number; // multiplies q and k
  nanTail?: boolean; // k/v slots past offset + T hold NaN (never-written cache)
}

/**
 * Per-unit-δ error bounds (max over elements) for dv and for dq/dk, and `round`, an absolute bound for dq/dk
 * from fp32 rounding of dP_ij − Δ_i; see runCase.
 */
function gradSlack(q: Float32Array, k: Float32Array, v: Float32Array, dO: Float32Array, dims: AttnDims, opts: AttnOpts): { dv: number; dqk: number; round: number } {
  const { B, T, S, H, Hkv, D } = dims;
  const scale = Math.abs(opts.scale ?? 1 / Math.sqrt(D));
  const { probs } = attentionProbsRef(q, k, dims, opts); // [B, H, T, S]
  const norm = (a: Float32Array, o: number) => Math.sqrt(Array.from(a.subarray(o, o + D)).reduce((t, x) => t + x * x, 0));
  const colDv = new Float64Array(B * S * Hkv); // Σ_i P_ij |dO_i| per key and kv head
  const colDk = new Float64Array(B * S * Hkv);
  const colRound = new Float64Array(B * S * Hkv);
  // dP_ij = dO_i·v_j and Δ_i = dO_i·O_i are D-term fp32 dot products summed in different orders (the kernel
  // and the Δ pass), so even where the exact dP_ij − Δ_i is 0 (a one-hot row: O_i = v_j) they differ, by
  // typically about a rounding each, 2·2^-24 of Σ_d |dO_i,d|·|v_j,d| (the worst case is D times that);
  // dS_ij carries it times P_ij·scale into dq_i (·|k_j|) and dk_j (·|q_i|). It matters where q, k are huge
  // (the rows kernels on an H100: 1.15e-5 where the reference is 0, logits ~1e4, bound 2e-4).
  const eps = 2 ** -23;
  let dqk = 0;
  let round = 0;
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < T; i++) {
        const hk = Math.floor(h / (H / Hkv));
        const oq = ((b * T + i) * H + h) * D;
        const row = ((b * H + h) * T + i) * S;
        const dP = new Float64Array(S);
        let delta = 0;
        for (let j = 0; j < S; j++) {
          const P = probs[row + j];
          if (!P) continue;
          const ov = ((b * S + j) * Hkv + hk) * D;
          for (let d = 0; d < D; d++) dP[j] += dO[oq + d] * v[ov + d];
          delta += P * dP[j];
        }
        let rowQ = 0;
        let rowRound = 0;
        for (let j = 0; j < S; j++) {
          const P = probs[row + j];
          if (!P) continue;
          const ok = ((b * S + j) * Hkv + hk) * D;
          const w = P * Math.abs(dP[j] - delta) * scale;
          rowQ += w * norm(k, ok);
          colDk[(b * S + j) * Hkv + hk] += w * norm(q, oq);
          colDv[(b * S + j) * Hkv + hk] += P * norm(dO, oq);
          let absDot = 0;
          for (let d = 0; d < D; d++) absDot += Math.abs(dO[oq + d] * v[ok + d]); // k and v share the index
          const r = P * eps * absDot * scale;
          rowRound += r * norm(k, ok);
          colRound[(b * S + j) * Hkv + hk] += r * norm(q, oq);
        }
        dqk = Math.max(dqk, rowQ);
        round = Math.max(round, rowRound);
      }
  return { dv: Math.max(0, ...colDv), dqk: Math.max(dqk, ...colDk), round: Math.max(round, ...colRound) };
}

async function runCase(name: string, c: Case, seed: number): Promise<void> {
  const rt = await testRuntime();
  const rng = new Rng(seed);
  const { B, T, S, H, Hkv, D } = c.dims;
  const q = rng.normal(B * T * H * D, c.amp ?? 1); // [B, T, H, D]
  const k = rng.normal(B * S * Hkv * D, c.amp ?? 1); // [B, S, Hkv, D]
  const v = rng.normal(B * S * Hkv * D); // [B, S, Hkv, D]
  const dOut = rng.normal(B * T * H * D); // [B, T, H, D]
  if (c.nanTail) {
    const first = (c.offset ?? 0) + T;
    for (let b = 0; b < B; b++) for (let e = (b * S + first) * Hkv * D; e < (b + 1) * S * Hkv * D; e++) k[e] = v[e] = NaN;
  }
  const qs = B > 1 ? [B, T, H, D] : [T, H, D];
  const ks = B > 1 ? [B, S, Hkv, D] : [S, Hkv, D];
  const opts: AttnOpts = { offset: c.offset, scale: c.scale, keyMask: c.mask };
  const ref = attentionBackwardRef(q, k, v, dOut, c.dims, opts);
  const keyMask = c.mask ? rt.upload(c.mask, c.mask.length === S ? [S] : [B, S]) : undefined;
  const gq = rt.upload(q, qs), gk = rt.upload(k, ks), gv = rt.upload(v, ks), gdo = rt.upload(dOut, qs);
  const gopts = { offset: c.offset, scale: c.scale, keyMask };
  const fwd = attentionForward(rt, gq, gk, gv, gopts);
  const g = attentionBackward(rt, gq, gk, gv, fwd.out, fwd.lse, gdo, gopts);
  assert.deepEqual(g.dq.shape, qs);
  assert.deepEqual(g.dk.shape, ks);
  // widen atol by the fp32 resolution δ of the logits (logitResolution: negligible unless logits are
  // huge). δ is a *relative* error on every P_ij, so the widening is weighted by the reference P:
  //   dv_j moves by ≤ δ·Σ_i P_ij·|dO_i|;  dq_i, dk_j through dS_ij = P_ij(dP_ij − Δ_i) by
  //   ≤ δ·scale·Σ P_ij·|dP_ij − Δ_i|·|k_j| (resp. |q_i|), with dP_ij = dO_i·v_j, Δ_i = Σ_j P_ij dP_ij;
  // and for dq, dk by `round`, the rounding of dP_ij − Δ_i (see gradSlack).
  const delta = logitResolution(q, k, c.dims, c.scale);
  const { dv: dvSlack, dqk: dqkSlack, round } = gradSlack(q, k, v, dOut, c.dims, opts);
  const tolV = { ...GRAD_TOL, atol: GRAD_TOL.atol + delta * dvSlack };
  const tolQK = { ...GRAD_TOL, atol: GRAD_TOL.atol + delta * dqkSlack + round };
  const dq = await rt.read(g.dq);
  assertAllClose(dq, ref.dq, tolQK, `${name} dq`);
  assertAllClose(await rt.read(g.dk), ref.dk, tolQK, `${name} dk`);
  assertAllClose(await rt.read(g.dv), ref.dv, tolV, `${name} dv`);
  // deterministic: no atomics, fixed summation order → bitwise equal on a second run
  const g2 = attentionBackward(rt, gq, gk, gv, fwd.out, fwd.lse, gdo, gopts);
  assert.deepEqual(await rt.read(g2.dq), dq, `${name}: dq differs between two runs`);
  if (!attentionRowsApplies(D)) return;
  // version 3: a thread per query row (dQ) and per (key, query head) (dK, dV), same tolerances, deterministic
  const g3 = attentionBackward(rt, gq, gk, gv, fwd.out, fwd.lse, gdo, { ...gopts, version: 3 });
  const [dq3, dk3, dv3] = [await rt.read(g3.dq), await rt.read(g3.dk), await rt.read(g3.dv)];
  assertAllClose(dq3, ref.dq, tolQK, `${name} dq (version 3)`);
  assertAllClose(dk3, ref.dk, tolQK, `${name} dk (version 3)`);
  assertAllClose(dv3, ref.dv, tolV, `${name} dv (version 3)`);
  const g4 = attentionBackward(rt, gq, gk, gv, fwd.out, fwd.lse, gdo, { ...gopts, version: 3 });
  assert.deepEqual([await rt.read(g4.dq), await rt.read(g4.dk), await rt.read(g4.dv)], [dq3, dk3, dv3], `${name}: version 3 differs between two runs`);
}

test('attention_backward reference equals central differences of the float64 forward', () => {
  // L = Σ out ∘ dOut; a tiny case with GQA 2, an offset and a masked key, every input element probed
  const dims: AttnDims = { B: 1, T: 3, S: 5, H: 2, Hkv: 1, D: 3 };
  const opts: AttnOpts = { offset: 2, keyMask: [1, 0, 1, 1, 1] };
  const rng = new Rng(99);
  const q = Float64Array.from(rng.normal(18)), k = Float64Array.from(rng.normal(15)), v = Float64Array.from(rng.normal(15));
  const dOut = rng.normal(18);
  const loss = () => attentionForwardRef(q, k, v, dims, opts).out.reduce((a, o, i) => a + o * dOut[i], 0);
  const ref = attentionBackwardRef(q, k, v, dOut, dims, opts);
  const eps = 1e-6;
  for (const [x, gx, what] of [[q, ref.dq, 'dq'], [k, ref.dk, 'dk'], [v, ref.dv, 'dv']] as const) {
    const num = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const x0 = x[i];
      x[i] = x0 + eps;
      const lp = loss();
      x[i] = x0 - eps;
      const lm = loss();
      x[i] = x0;
      num[i] = (lp - lm) / (2 * eps);
    }
    // central differences in float64: truncation ~eps², rounding ~1e-16/eps → 1e-7 is ample
    assertAllClose(gx, num, { atol: 1e-7, rtol: 1e-6 }, `finite differences ${what}`);
  }
  assert.ok(ref.dk.subarray(3, 6).every((x) => x === 0), 'the masked key gets no gradient');
});

test('attention backward: T, S not multiples of 16, GQA ratios 1, 3, 7, D = 8, 64, 100', async () => {
  await runCase('T=S=37 H=3 Hkv=1 D=8', { dims: { B: 1, T: 37, S: 37, H: 3, Hkv: 1, D: 8 } }, 1);
  await runCase('T=S=5 H=2 Hkv=2 D=64', { dims: { B: 1, T: 5, S: 5, H: 2, Hkv: 2, D: 64 } }, 2);
  await runCase('T=S=17 H=7 Hkv=1 D=8', { dims: { B: 1, T: 17, S: 17, H: 7, Hkv: 1, D: 8 } }, 3);
  await runCase('T=S=19 H=2 Hkv=1 D=100 scale=0.3', { dims: { B: 1, T: 19, S: 19, H: 2, Hkv: 1, D: 100 }, scale: 0.3 }, 4);
  await runCase('T=S=1', { dims: { B: 1, T: 1, S: 1, H: 1, Hkv: 1, D: 8 } }, 5);
});

test('attention backward: several 64-row tiles and 32-key blocks (T = S = 150, 70), GQA, batch', async () => {
  await runCase('T=S=150 H=4 Hkv=2 D=16', { dims: { B: 1, T: 150, S: 150, H: 4, Hkv: 2, D: 16 } }, 12);
  await runCase('B=2 T=S=70 H=3 Hkv=1 D=12', { dims: { B: 2, T: 70, S: 70, H: 3, Hkv: 1, D: 12 } }, 13);
});

test('attention backward: KV-cache offset (prefill after a prefix, decode), NaN past the cache end unread', async () => {
  await runCase('prefill T=5 offset=12 S=17', { dims: { B: 1, T: 5, S: 17, H: 6, Hkv: 2, D: 64 }, offset: 12 }, 6);
  await runCase('decode T=1 offset=39 S=40', { dims: { B: 1, T: 1, S: 40, H: 9, Hkv: 3, D: 64 }, offset: 39 }, 7);
  await runCase('capacity S=48 offset=16 T=5, NaN tail', { dims: { B: 1, T: 5, S: 48, H: 2, Hkv: 1, D: 8 }, offset: 16, nanTail: true }, 8);
});

test('attention backward: padding masks; fully masked rows and masked keys get zero gradients', async () => {
  const S = 21;
  const mask = new Uint32Array(2 * S).fill(1);
  mask.fill(0, 0, 3); // sequence 0: 3 left pads, its queries 0..2 see nothing
  mask.fill(0, S, S + 1);
  mask[S + 9] = 0;
  await runCase('B=2 [B,S] mask', { dims: { B: 2, T: S, S, H: 4, Hkv: 2, D: 8 }, mask }, 9);
  const m1 = new Uint32Array(13).fill(1);
  m1.fill(0, 0, 11);
  await runCase('[S] mask offset 10', { dims: { B: 1, T: 3, S: 13, H: 3, Hkv: 3, D: 8 }, offset: 10, mask: m1 }, 10);
});

test('attention backward: huge logits (~1e4) give finite gradients', async () => {
  await runCase('logits ~1e4', { dims: { B: 1, T: 23, S: 23, H: 2, Hkv: 1, D: 8 }, amp: 40 }, 11);
});
