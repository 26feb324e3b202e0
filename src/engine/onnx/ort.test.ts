// onnxruntime-web (wasm backend, one thread) as an independent cross-check of the engine.
// 1. The ORT plumbing, now, on hand-encoded ONNX models (tiny-onnx.ts): a MatMul against float64, and a
//    Gather "language model" (logits = W[input_ids]) through ortLogits / verifyAgainstOnnx.
// 2. The golden fixtures, once tools/golden/export_onnx.py has written models/fixtures/<m>/model.onnx on the
//    GPU machine: ORT logits vs the engine's (loadModel) and vs transformers' (reference.json). Skipped
//    with a message until the files are there.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { testRuntime, releaseTestRuntime } from '../testing/gpu.ts';
import { assertAllClose } from '../testing/allclose.ts';
import { Rng } from '../testing/rng.ts';
import { dirSource } from '../model/checkpoint.ts';
import { loadModel } from '../model/load.ts';
import type { LlamaModel } from '../model/llama.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { embeddingForward } from '../../../shaders/embedding_forward.ts';
import { encodeOnnxModel, ONNX_FLOAT, ONNX_INT64 } from './tiny-onnx.ts';
import { loadOrt, ortLogits, verifyAgainstOnnx, compareLogits, createOrtSession, timeOrtForward, OnnxCheckError } from './ort.ts';

after(releaseTestRuntime);

// ---------------------------------------------------------------------------------------------- plumbing
// Y [M, N] = A [M, K] · B [K, N] with M and N symbolic (dynamic) axes.
const MATMUL = encodeOnnxModel({
  nodes: [{ op: 'MatMul', inputs: ['a', 'b'], outputs: ['y'] }],
  inputs: [
    { name: 'a', elemType: ONNX_FLOAT, dims: ['M', 7] },
    { name: 'b', elemType: ONNX_FLOAT, dims: [7, 'N'] },
  ],
  outputs: [{ name: 'y', elemType: ONNX_FLOAT, dims: ['M', 'N'] }],
});

// logits [B, T, C] = W [V, C] gathered at input_ids [B, T] (int64): the export's interface on a toy graph
const GV = 11, GC = 13;
const W = new Rng(7).normal(GV * GC, 1); // [V, C]
const GATHER = encodeOnnxModel({
  nodes: [{ op: 'Gather', inputs: ['W', 'input_ids'], outputs: ['logits'], intAttrs: { axis: 0 } }],
  inputs: [{ name: 'input_ids', elemType: ONNX_INT64, dims: ['batch', 'sequence'] }],
  outputs: [{ name: 'logits', elemType: ONNX_FLOAT, dims: ['batch', 'sequence', GC] }],
  initializers: [{ name: 'W', dims: [GV, GC], data: W }],
});

function matmulRef(a: Float32Array, b: Float32Array, M: number, K: number, N: number): Float64Array {
  const y = new Float64Array(M * N); // [M, N], float64 accumulation
  for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) y[m * N + n] += a[m * K + k] * b[k * N + n];
  return y;
}

test('ORT plumbing: a hand-encoded MatMul model equals a float64 reference, at two sizes of the dynamic axes', async () => {
  const ort = await loadOrt();
  const session = await ort.InferenceSession.create(MATMUL, { executionProviders: ['wasm'] });
  const rng = new Rng(1);
  for (const [M, N] of [[5, 3], [1, 9]]) {
    const K = 7;
    const a = rng.uniform(M * K), b = rng.uniform(K * N); // [M, K], [K, N]
    const out = await session.run({ a: new ort.Tensor('float32', a, [M, K]), b: new ort.Tensor('float32', b, [K, N]) });
    assert.deepEqual(out.y.dims, [M, N]);
    // fp32 products summed over K = 7 terms of |x| ≤ 1: rounding ≲ 1e-6; 1e-5 leaves room and catches any wrong term
    assertAllClose(out.y.data as Float32Array, matmulRef(a, b, M, K, N), { atol: 1e-5, rtol: 1e-5 }, `matmul ${M}x${K}x${N}`);
  }
  await session.release();
});

test('ortLogits: int64 input_ids → logits [B, T, V] through a Gather model (exact: a gather copies)', async () => {
  const ids = [[0, 5, 10, 3, 3], [7, 1, 0, 9, 2]]; // [B=2, T=5]
  const got = await ortLogits(GATHER, ids); // [2, 5, C]
  const want = ids.flat().flatMap((id) => Array.from(W.subarray(id * GC, (id + 1) * GC)));
  assertAllClose(got, want, { atol: 0, rtol: 0 }, 'gather logits');
  // one token, one row (the smallest dynamic shape)
  assertAllClose(await ortLogits(GATHER, [[4]]), W.subarray(4 * GC, 5 * GC), { atol: 0, rtol: 0 }, 'gather [1, 1]');
  await assert.rejects(ortLogits(GATHER, [[1, 2], [3]]), OnnxCheckError, 'ragged rows are refused (the graph has no mask)');
  await assert.rejects(ortLogits(GATHER, [[1, -2]]), OnnxCheckError, 'negative ids are refused');
  await assert.rejects(ortLogits(MATMUL, [[1]]), /expected input "input_ids" and output "logits"/, 'a model without input_ids/logits is refused');
});

test('compareLogits: per-row relative error, worst position, argmax agreement, NaN never passes', () => {
  const [B, T, V] = [2, 3, 4];
  const ort = Float32Array.from({ length: B * T * V }, (_, i) => ((i * 7) % 5) - 2); // [B, T, V], rows not all-zero
  const same = compareLogits(ort, ort, [B, T, V]);
  assert.deepEqual([same.maxAbsErr, same.maxRelErr, same.argmaxAgree, same.positions], [0, 0, 6, 6]);
  const ours = Float32Array.from(ort);
  const o = (1 * T + 2) * V; // row (b=1, t=2)
  const rowMax = Math.max(...Array.from(ort.subarray(o, o + V), Math.abs));
  ours[o + 1] += 5; // becomes this row's argmax too
  const r = compareLogits(ours, ort, [B, T, V]);
  assert.equal(r.maxAbsErr, 5);
  assert.ok(Math.abs(r.maxRelErr - 5 / rowMax) < 1e-12, `maxRelErr ${r.maxRelErr} != ${5 / rowMax}`);
  assert.deepEqual(r.worst, { b: 1, t: 2 });
  assert.equal(r.argmaxAgree, 5);
  ours[3] = NaN;
  const n = compareLogits(ours, ort, [B, T, V]);
  assert.ok(Number.isNaN(n.maxAbsErr) && Number.isNaN(n.maxRelErr) && !(n.maxRelErr <= 1), 'NaN must surface as NaN errors');
});

// A stand-in for LlamaModel whose forward is a real GPU computation on the ids tensor (the embedding
// kernel gathers rows of W): verifyAgainstOnnx's upload, forward, read-back and comparison are exercised.
async function gatherModel(perturb = 0): Promise<{ model: LlamaModel; table: Tensor }> {
  const rt = await testRuntime();
  const w = Float32Array.from(W);
  w[3 * GC + 4] += perturb; // row of token 3, column 4
  const table = rt.upload(w, [GV, GC], 'f32', 'gather_table'); // [V, C]
  const model = { rt, cfg: { d_vocab: GC }, forward: (ids: Tensor) => ({ logits: embeddingForward(rt, ids, table), captures: new Map() }) };
  return { model: model as unknown as LlamaModel, table };
}

test('verifyAgainstOnnx: engine-side read-back against ORT; a perturbed logit is found at its position', async () => {
  const ids = [[0, 5, 10, 3], [3, 1, 0, 9]]; // [B=2, T=4]; token 3 at (0, 3) and (1, 0)
  const exact = await gatherModel();
  const r = await verifyAgainstOnnx(exact.model, GATHER, ids);
  exact.table.dispose();
  assert.deepEqual([r.maxAbsErr, r.maxRelErr, r.argmaxAgree, r.positions], [0, 0, 8, 8]);
  assert.deepEqual(r.shape, [2, 4, GC]);
  const off = await gatherModel(1e-3);
  const session = await createOrtSession(GATHER); // a session passed in is used as it is, and kept open
  const p = await verifyAgainstOnnx(off.model, session, ids, { returnLogits: true });
  assert.equal((await verifyAgainstOnnx(off.model, session, ids)).maxAbsErr, p.maxAbsErr, 'the session is still usable');
  await session.release();
  off.table.dispose();
  assert.equal(p.logits?.ort.length, 2 * 4 * GC);
  const rowMax = Math.max(...Array.from(W.subarray(3 * GC, 4 * GC), Math.abs));
  // fp32 rounding of W + 1e-3 moves the error by ≤ 1 ulp of |W| ≲ 3e-7
  assert.ok(Math.abs(p.maxAbsErr - 1e-3) < 1e-6, `maxAbsErr ${p.maxAbsErr}`);
  assert.ok(Math.abs(p.maxRelErr - 1e-3 / rowMax) < 1e-6, `maxRelErr ${p.maxRelErr}`);
  assert.deepEqual(p.worst, { b: 0, t: 3 }); // first of the two equal rows
  await assert.rejects(verifyAgainstOnnx(exact.model, GATHER, [[GC]]), OnnxCheckError, 'an id ≥ vocab is refused');
});

test('timeOrtForward: returns reps timings and a median', async () => {
  const session = await createOrtSession(GATHER);
  const t = await timeOrtForward(session, [[1, 2, 3]], 3, { warmup: 1 });
  await session.release();
  assert.equal(t.ms.length, 3);
  assert.ok(t.msMedian >= 0 && Number.isFinite(t.tokPerS) && t.tokPerS > 0, JSON.stringify(t));
});

// ------------------------------------------------------------------------------------------ golden fixtures
interface Case {
  name: string;
  input_ids: number[][]; // [B][T], left-padded with 296
  attention_mask: number[][]; // [B][T]
  lengths: number[]; // [B]
  logits: number[][][]; // [B][T][V], 0 on pads
}

// ORT vs engine, both fp32 on the same weights: 1e-4 per-row relative (the bound for logits).
// ORT vs transformers (reference.json): the export is transformers' own graph, so 1e-4 relative + 1e-5
// absolute for logits near 0, as in golden.test.ts.
const ENGINE_REL = 1e-4;
const REF_TOL = { atol: 1e-5, rtol: 1e-4 };
const FIXTURES = ['llama-gqa', 'qwen2-tied', 'llama-bf16'];
const dir = (m: string) => new URL(`../../../models/fixtures/${m}/`, import.meta.url).pathname;

for (const m of FIXTURES) {
  test(`${m}: ONNX Runtime (wasm) logits equal the engine's and transformers'`, async (t) => {
    if (!existsSync(dir(m) + 'model.onnx')) {
      t.skip(`skip: models/fixtures/${m}/model.onnx not present — run tools/golden/export_onnx.py on the GPU machine`);
      return;
    }
    const onnx = new Uint8Array(readFileSync(dir(m) + 'model.onnx'));
    const cases = (JSON.parse(readFileSync(dir(m) + 'reference.json', 'utf8')) as { cases: Case[] }).cases;
    const rt = await testRuntime();
    const { model } = await loadModel(rt, dirSource(dir(m)), { tokenizer: false });
    const V = model.cfg.d_vocab;
    const session = await createOrtSession(onnx);
    try {
      for (const c of cases) {
        // The graph has no mask: padded batches run as each row's real tokens alone (reference.json's
        // padded_vs_alone check is 0, so these positions equal the padded reference), plus the padded
        // ids as they are, where the engine (no mask) and ORT must agree too. rows: which reference rows
        // the run's rows are (null: nothing to compare with in reference.json).
        const runs: { ids: number[][]; rows: number[] | null; label: string }[] = c.attention_mask.some((r) => r.includes(0))
          ? [
              ...c.input_ids.map((row, b) => ({ ids: [row.slice(row.length - c.lengths[b])], rows: [b], label: `row ${b} alone` })),
              { ids: c.input_ids, rows: null, label: 'padded ids, pads as tokens' },
            ]
          : [{ ids: c.input_ids, rows: c.input_ids.map((_, b) => b), label: '' }];
        for (const run of runs) {
          const at = `${m} ${c.name} ${run.label}`.trimEnd();
          const rep = await verifyAgainstOnnx(model, session, run.ids, { returnLogits: true });
          assert.ok(rep.maxRelErr <= ENGINE_REL, `${at}: engine vs ORT per-row relative error ${rep.maxRelErr} > ${ENGINE_REL} at ${JSON.stringify(rep.worst)} (max abs ${rep.maxAbsErr})`);
          console.log(`${at}: engine vs ORT max abs ${rep.maxAbsErr.toExponential(2)}, max rel ${rep.maxRelErr.toExponential(2)}, argmax ${rep.argmaxAgree}/${rep.positions}`);
          if (!run.rows) continue;
          const logits = rep.logits!.ort; // [B', T', V]
          const T = run.ids[0].length, T0 = c.input_ids[0].length;
          run.rows.forEach((b, i) => {
            for (let t = 0; t < T; t++) // row b's real positions sit at the end of the padded reference row
              assertAllClose(logits.subarray((i * T + t) * V, (i * T + t + 1) * V), c.logits[b][T0 - T + t], REF_TOL, `${at} t${t}: ORT vs reference.json`);
          });
        }
      }
    } finally {
      await session.release();
    }
  });
}
