// The attention hook points that need their own path (hooks.ts): hook_q / hook_k / hook_v before RoPE
// (windows of the fused q|k|v rows) and hook_attn_scores / a written hook_pattern (attention in explicit
// steps), on a tiny GQA checkpoint (H 4, Hkv 2). Each is checked against what it must equal by
// construction: host float64 arithmetic on the weights and on other captures of the same run, or an
// edit whose effect is known exactly (v = 0 gives z = 0; q = 0 gives a uniform pattern over the visible
// keys; a pattern or scores pinned on key 0 give z = v at position 0).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { testRuntime, releaseTestRuntime } from '../testing/gpu.ts';
import { makeTinyCheckpoint } from './checkpoint-fixtures.ts';
import { loadModel } from './load.ts';
import type { LlamaModel } from './llama.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { HOOKS, hookNames, type HookFn } from './hooks.ts';
import { logitsWith } from '../analysis/interventions.ts';

after(releaseTestRuntime);

let loaded: Promise<LlamaModel> | null = null;
const model = () => (loaded ??= testRuntime().then(async (rt) => (await loadModel(rt, makeTinyCheckpoint({}, 7, 'f32'), { tokenizer: false })).model));
const IDS = [3, 17, 12, 5, 29, 23, 8];
const T = IDS.length;
const MASKED = -3.402823e38;

const read = async (m: LlamaModel, t: Tensor) => Float64Array.from((await m.rt.read(t)) as Float32Array);
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
};
/** A hook that overwrites the whole activation with `values` (shaped like it). */
const setTo = (m: LlamaModel, values: (act: Tensor) => Float32Array): HookFn => (act) => {
  const src = m.rt.upload(values(act), act.shape, 'f32', 'hook.values');
  m.rt.copy(src, 0, act, 0, act.numel);
  src.dispose();
};
const dispose = (c: Map<string, Tensor>) => {
  for (const t of new Set(c.values())) t.dispose();
};

test('hook_q / hook_k / hook_v are ln1 · W_q|k|vᵀ (+ bias), the fused projection\'s column windows', async () => {
  const m = await model();
  const { d_model: C, n_heads: H, n_kv_heads: Hkv, d_head: D } = m.cfg;
  const l = 1;
  const r = await logitsWith(m, IDS, undefined, new Set([HOOKS.ln1(l), HOOKS.q(l), HOOKS.k(l), HOOKS.v(l)]));
  const h = await read(m, r.captures.get(HOOKS.ln1(l))!); // [T, C]
  const W = await read(m, m.w.blocks[l].wqkv); // [(H + 2Hkv)·D, C]
  const b = m.w.blocks[l].bqkv ? await read(m, m.w.blocks[l].bqkv!) : null;
  for (const [name, heads, at] of [[HOOKS.q(l), H, 0], [HOOKS.k(l), Hkv, H * D], [HOOKS.v(l), Hkv, (H + Hkv) * D]] as const) {
    const got = r.captures.get(name)!;
    assert.deepEqual(got.shape, [1, T, heads, D], name);
    const want = new Float64Array(T * heads * D);
    for (let t = 0; t < T; t++)
      for (let o = 0; o < heads * D; o++) {
        let s = b ? b[at + o] : 0;
        for (let c = 0; c < C; c++) s += h[t * C + c] * W[(at + o) * C + c];
        want[t * heads * D + o] = s;
      }
    assert.ok(maxDiff(await read(m, got), want) < 1e-5, name);
  }
  dispose(r.captures);
});

test('hook_attn_scores: rot_q · rot_kᵀ / √D on visible keys, the mask constant above the diagonal; its softmax is hook_pattern; capturing it leaves the logits', async () => {
  const m = await model();
  const { n_heads: H, n_kv_heads: Hkv, d_head: D } = m.cfg;
  const l = 0;
  const plain = await logitsWith(m, IDS);
  const r = await logitsWith(m, IDS, undefined, new Set([HOOKS.rotQ(l), HOOKS.rotK(l), HOOKS.attnScores(l), HOOKS.pattern(l)]));
  assert.ok(maxDiff(plain.logits, r.logits) < 1e-5, 'the explicit path gives the flash path\'s logits');
  const q = await read(m, r.captures.get(HOOKS.rotQ(l))!); // [T, H, D]
  const k = await read(m, r.captures.get(HOOKS.rotK(l))!); // [T, Hkv, D]
  const scores = await read(m, r.captures.get(HOOKS.attnScores(l))!); // [H, T, T]
  const pattern = await read(m, r.captures.get(HOOKS.pattern(l))!);
  assert.deepEqual(r.captures.get(HOOKS.attnScores(l))!.shape, [1, H, T, T]);
  const g = H / Hkv;
  for (let h = 0; h < H; h++)
    for (let i = 0; i < T; i++) {
      const row = (a: Float64Array) => a.subarray((h * T + i) * T, (h * T + i + 1) * T);
      const s = row(scores), p = row(pattern);
      let z = 0;
      for (let j = 0; j <= i; j++) z += Math.exp(s[j] - Math.max(...s.subarray(0, i + 1)));
      for (let j = 0; j < T; j++) {
        if (j > i) {
          assert.equal(s[j], Math.fround(MASKED), `masked score [${h}, ${i}, ${j}]`);
          assert.equal(p[j], 0);
          continue;
        }
        let dot = 0;
        for (let d = 0; d < D; d++) dot += q[(i * H + h) * D + d] * k[(j * Hkv + Math.floor(h / g)) * D + d];
        assert.ok(Math.abs(s[j] - dot / Math.sqrt(D)) < 1e-5, `score [${h}, ${i}, ${j}]`);
        assert.ok(Math.abs(p[j] - Math.exp(s[j] - Math.max(...s.subarray(0, i + 1))) / z) < 1e-6, `pattern [${h}, ${i}, ${j}]`);
      }
    }
  dispose(r.captures);
});

test('edits before RoPE flow on: v = 0 gives z = 0; q = 0 gives a uniform pattern over the visible keys', async () => {
  const m = await model();
  const l = 1;
  const zeros = (act: Tensor) => new Float32Array(act.numel);
  const rv = await logitsWith(m, IDS, new Map([[HOOKS.v(l), setTo(m, zeros)]]), new Set([HOOKS.z(l), HOOKS.v(l)]));
  assert.ok(maxDiff(await read(m, rv.captures.get(HOOKS.z(l))!), new Float64Array(rv.captures.get(HOOKS.z(l))!.numel)) === 0, 'z = 0');
  dispose(rv.captures);
  const rq = await logitsWith(m, IDS, new Map([[HOOKS.q(l), setTo(m, zeros)]]), new Set([HOOKS.pattern(l)]));
  const p = await read(m, rq.captures.get(HOOKS.pattern(l))!); // [H, T, T]
  for (let h = 0; h < m.cfg.n_heads; h++)
    for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) assert.ok(Math.abs(p[(h * T + i) * T + j] - (j <= i ? 1 / (i + 1) : 0)) < 1e-6, `pattern [${h}, ${i}, ${j}]`);
  dispose(rq.captures);
  const plain = await logitsWith(m, IDS);
  assert.ok(maxDiff(plain.logits, rq.logits) > 1e-4, 'the edit changes the logits');
});

test('a written pattern, or scores pinned on key 0, flow on: z = v at position 0 for every query', async () => {
  const m = await model();
  const { n_heads: H, n_kv_heads: Hkv, d_head: D } = m.cfg;
  const l = 1, g = H / Hkv;
  const onKey0 = (act: Tensor) => {
    const a = new Float32Array(act.numel); // [1, H, T, S]
    for (let r = 0; r < H * T; r++) a[r * T] = 1;
    return a;
  };
  const pinned = async (hooks: Map<string, HookFn>) => {
    const r = await logitsWith(m, IDS, hooks, new Set([HOOKS.v(l), HOOKS.z(l)]));
    const v = await read(m, r.captures.get(HOOKS.v(l))!); // [T, Hkv, D]
    const z = await read(m, r.captures.get(HOOKS.z(l))!); // [T, H, D]
    const want = new Float64Array(T * H * D);
    for (let t = 0; t < T; t++) for (let h = 0; h < H; h++) for (let d = 0; d < D; d++) want[(t * H + h) * D + d] = v[Math.floor(h / g) * D + d];
    dispose(r.captures);
    return maxDiff(z, want);
  };
  assert.ok((await pinned(new Map([[HOOKS.pattern(l), setTo(m, onKey0)]]))) < 1e-6, 'pattern one-hot on key 0');
  // scores: key 0 at +1e4 over the rest (a masked key stays masked: rows keep their causal mask)
  const high = (act: Tensor) => {
    const a = new Float32Array(act.numel);
    for (let r = 0; r < H * T; r++) for (let j = 0; j < T; j++) a[r * T + j] = j === 0 ? 1e4 : 0;
    return a;
  };
  assert.ok((await pinned(new Map([[HOOKS.attnScores(l), setTo(m, high)]]))) < 1e-5, 'scores pinned on key 0');
  // hook_rot_k is still read-only (it lives in the KV cache's rows): edit hook_k instead
  await assert.rejects(logitsWith(m, IDS, new Map([[HOOKS.rotK(l), () => {}]])), /can be captured but not written/);
  assert.ok(hookNames(m.cfg.n_layers).includes(HOOKS.attnScores(0)));
});

test('startAt: a forward from block l on its captured hook_resid_pre gives the full forward\'s logits and later hooks; a cache or a bad layer is refused', async () => {
  const m = await model();
  const { rt, cfg } = m;
  const idsT = rt.upload(Int32Array.from(IDS), [1, T], 'i32', 'ids');
  const names = Array.from({ length: cfg.n_layers }, (_, l) => HOOKS.residPre(l));
  const full = m.forward(idsT, { capture: new Set([...names, HOOKS.lnFinal]), logits: 'all' });
  const want = await read(m, full.logits!);
  for (let l = 0; l < cfg.n_layers; l++) {
    const resid = full.captures.get(HOOKS.residPre(l))!;
    const before = await read(m, resid);
    const part = m.forward(idsT, { startAt: { layer: l, resid }, capture: new Set([HOOKS.lnFinal, HOOKS.embed]), logits: 'all' });
    assert.ok(maxDiff(await read(m, part.logits!), want) < 1e-5, `logits from block ${l}`);
    assert.ok(maxDiff(await read(m, part.captures.get(HOOKS.lnFinal)!), await read(m, full.captures.get(HOOKS.lnFinal)!)) < 1e-5);
    assert.equal(part.captures.has(HOOKS.embed), false, 'points before the start do not fire');
    assert.equal(maxDiff(await read(m, resid), before), 0, 'the given residual is not changed');
    part.logits!.dispose();
    for (const t of part.captures.values()) t.dispose();
  }
  const r0 = full.captures.get(HOOKS.residPre(0))!;
  assert.throws(() => m.forward(idsT, { startAt: { layer: cfg.n_layers, resid: r0 } }), /startAt layer \d+ is outside/);
  assert.throws(() => m.forward(idsT, { startAt: { layer: 0, resid: r0.view([T, cfg.d_model]) } }), /must be \[1, 7, \d+\]/);
  full.logits!.dispose();
  for (const t of new Set(full.captures.values())) t.dispose();
  idsT.dispose();
});

test('edits of ln1 / ln2 hook_normalized flow on: zeroed, q|k|v (no bias) and the MLP are zero, so z = 0 and hook_mlp_out = 0', async () => {
  const m = await model();
  const l = 1;
  const zeros = (act: Tensor) => new Float32Array(act.numel);
  const r = await logitsWith(m, IDS, new Map([[HOOKS.ln1(l), setTo(m, zeros)], [HOOKS.ln2(l), setTo(m, zeros)]]), new Set([HOOKS.q(l), HOOKS.v(l), HOOKS.z(l), HOOKS.mlpOut(l)]));
  for (const name of [HOOKS.q(l), HOOKS.v(l), HOOKS.z(l), HOOKS.mlpOut(l)]) {
    const t = r.captures.get(name)!;
    assert.equal(maxDiff(await read(m, t), new Float64Array(t.numel)), 0, `${name} = 0 after the norms' outputs were zeroed`);
  }
  dispose(r.captures);
});
