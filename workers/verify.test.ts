// Engine.verifyOnnx ("Verify against ONNX Runtime") in Node: LocalEngine on Dawn (lavapipe) and
// WorkerEngine over a MessageChannel (the protocol as the browser worker uses it), on the llama-gqa
// fixture whose model.onnx was exported from the same checkpoint by torch.onnx. ORT runs its wasm
// backend (one thread). Also: no export → found: false; the onnx/model.onnx layout; cancel; Hub
// files cached like the weights; the feeds an optimum-style graph needs (hand-encoded model).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, mkdirSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalEngine, type Engine, type VerifyOnnxProgress } from '../src/engine/engine.ts';
import { WorkerEngine } from './worker-engine.ts';
import { CancelledError } from '../src/engine/selfcheck.ts';
import { nodeGpu, releaseNodeGpu } from '../src/engine/gpu/node.ts';
import { serveEngine } from './serve.ts';
import type { Port } from './protocol.ts';
import { MemoryBlobStore } from '../src/engine/hub/index.ts';
import { requestsFor, startHubServer, tempRoot } from '../src/engine/hub/testing.ts';
import { Rng } from '../src/engine/testing/rng.ts';
import { assertAllClose } from '../src/engine/testing/allclose.ts';
import { encodeOnnxModel, ONNX_FLOAT, ONNX_INT64 } from '../src/engine/onnx/tiny-onnx.ts';
import { OnnxCheckError } from '../src/engine/onnx/ort.ts';
import { ONNX_CANDIDATES, VERIFY_DEFAULT_TEXT, onnxFeeds, runOnnxLogits, verifyOrt } from '../src/engine/verify.ts';

const FIXTURE = new URL('../models/fixtures/llama-gqa/', import.meta.url).pathname;
const FILES = readdirSync(FIXTURE).filter((f) => !/reference|fixture/.test(f)).sort(); // includes model.onnx
const ONNX_SIZE = statSync(join(FIXTURE, 'model.onnx')).size;

/** The fixture as picked files; `rename` moves or drops (null) files. */
function picked(rename: Record<string, string | null> = {}): { kind: 'files'; files: Blob[]; paths: string[] } {
  const keep = FILES.filter((f) => rename[f] !== null);
  return { kind: 'files', files: keep.map((f) => new Blob([readFileSync(join(FIXTURE, f))])), paths: keep.map((f) => `llama-gqa/${rename[f] ?? f}`) };
}

const gpu = await nodeGpu();
const local = new LocalEngine(gpu, { store: new MemoryBlobStore() });
const channel = new MessageChannel();
serveEngine(channel.port1 as unknown as Port, local);
const proxy = new WorkerEngine(channel.port2 as unknown as Port);

after(() => {
  proxy.dispose();
  channel.port1.close();
  channel.port2.close();
  local.dispose();
  releaseNodeGpu();
});

// Engine vs ORT, both fp32 on the same weights, T ≈ 10 positions of a 3-layer model: 1e-4 per-row
// relative (the bound for logits; ort.test.ts uses the same for these fixtures).
const REL = 1e-4;

for (const [label, engine] of [['LocalEngine', local], ['WorkerEngine over MessageChannel', proxy]] as [string, Engine][]) {
  test(`${label}: verify on llama-gqa (wasm): ORT agrees, progress download onnx → ort → compare, timings`, async () => {
    await engine.loadModel(picked());
    const seen: VerifyOnnxProgress[] = [];
    const r = await engine.verifyOnnx({ backend: 'wasm', reps: 2 }, (p) => seen.push(p));
    assert.ok(r.found, 'model.onnx is beside the weights');
    assert.equal(r.file, 'model.onnx');
    assert.equal(r.backend, 'wasm');
    assert.equal(r.onnxBytes, ONNX_SIZE);
    console.log(`${label}: ${r.positions} tokens, max rel ${r.maxRelErr.toExponential(2)}, max abs ${r.maxAbsErr.toExponential(2)}, argmax ${r.argmaxAgree}/${r.positions}, ours ${r.msOurs.toFixed(1)} ms, ORT ${r.msOrt.toFixed(1)} ms`);
    assert.ok(r.maxRelErr <= REL, `max relative error ${r.maxRelErr} > ${REL} at position ${r.worst} (max abs ${r.maxAbsErr})`);
    assert.ok(r.positions >= 5 && r.positions <= 32, `the default sentence is a short prompt (${r.positions} tokens)`);
    assert.equal(r.ids.length, r.positions);
    assert.equal(r.argmaxAgree, r.positions, 'argmax equal at every position');
    assert.ok(r.msOurs > 0 && r.msOrt > 0 && r.reps === 2, JSON.stringify(r));
    const phases = seen.map((p) => p.phase).filter((p, i, a) => p !== a[i - 1]);
    assert.deepEqual(phases, ['download onnx', 'ort', 'compare']);
    const dl = seen.filter((p) => p.phase === 'download onnx');
    assert.deepEqual([dl[dl.length - 1].bytes, dl[dl.length - 1].total], [ONNX_SIZE, ONNX_SIZE], 'the download ends at the file size');
    // a prompt of one's own, cut to maxTokens
    const short = await engine.verifyOnnx({ backend: 'wasm', text: `${VERIFY_DEFAULT_TEXT} ${VERIFY_DEFAULT_TEXT}`, maxTokens: 4, reps: 1 });
    assert.ok(short.found && short.positions === 4 && short.argmaxAgree === 4 && short.maxRelErr <= REL, JSON.stringify(short));
  });
}

test('no ONNX export beside the model: found false, both places named; the onnx/ layout is found', async () => {
  await local.loadModel(picked({ 'model.onnx': null }));
  assert.deepEqual(await proxy.verifyOnnx({ backend: 'wasm' }), { found: false, looked: ['model.onnx', 'onnx/model.onnx'] });
  assert.deepEqual(ONNX_CANDIDATES, ['model.onnx', 'onnx/model.onnx']);
  await local.loadModel(picked({ 'model.onnx': 'onnx/model.onnx' }));
  const r = await proxy.verifyOnnx({ backend: 'wasm', maxTokens: 3, reps: 1 });
  assert.ok(r.found && r.file === 'onnx/model.onnx' && r.maxRelErr <= REL && r.argmaxAgree === 3, JSON.stringify(r));
  await local.unloadModel();
  await assert.rejects(proxy.verifyOnnx({ backend: 'wasm' }), /No model is loaded/);
});

test('cancel: a verification stopped mid-way ends with CancelledError; the engine still works', async () => {
  await local.loadModel(picked());
  for (const [engine, at] of [[local, 'download onnx'], [proxy, 'ort']] as const) {
    const ctl = new AbortController();
    const phases: string[] = [];
    const run = engine.verifyOnnx({ backend: 'wasm' }, (p) => {
      phases.push(p.phase);
      if (p.phase === at) ctl.abort();
    }, ctl.signal);
    await assert.rejects(run, (e: Error) => (assert.ok(e instanceof CancelledError, `got ${e.name}: ${e.message}`), true));
    assert.ok(!phases.includes('compare') || engine === proxy, `local: stopped before compare (${phases})`);
    await assert.rejects(engine.verifyOnnx({ backend: 'wasm' }, undefined, AbortSignal.abort()), CancelledError);
  }
  const again = await proxy.verifyOnnx({ backend: 'wasm', maxTokens: 2, reps: 1 });
  assert.ok(again.found && again.argmaxAgree === 2, 'verifies after the cancels');
});

test('Hub source: the ONNX file is read through the cache (a second verify sends no request for it)', async () => {
  const root = await tempRoot();
  const hub = await (async () => {
    const dir = join(root.root, 'test-org/llama-gqa', 'main');
    mkdirSync(dir, { recursive: true });
    for (const f of FILES) copyFileSync(join(FIXTURE, f), join(dir, f));
    return startHubServer({ root: root.root });
  })();
  try {
    await local.loadModel({ kind: 'hub', repo: 'test-org/llama-gqa', revision: 'main', endpoint: hub.url });
    hub.resetStats();
    const seen: VerifyOnnxProgress[] = [];
    const r1 = await local.verifyOnnx({ backend: 'wasm', maxTokens: 3, reps: 1 }, (p) => seen.push(p));
    assert.ok(r1.found && r1.argmaxAgree === 3 && r1.maxRelErr <= REL, JSON.stringify(r1));
    assert.equal(requestsFor(hub, 'model.onnx').filter((q) => !q.range).length, 1, 'downloaded once');
    assert.ok(seen.some((p) => p.phase === 'download onnx' && p.bytes === ONNX_SIZE), 'download progress reached the size');
    hub.resetStats();
    const r2 = await local.verifyOnnx({ backend: 'wasm', maxTokens: 3, reps: 1 });
    assert.equal(r2.found && r2.maxRelErr, r1.maxRelErr);
    assert.deepEqual(hub.stats.requests.filter((q) => /onnx/.test(q.path)), [], 'second verify: the ONNX file came from the cache');
  } finally {
    await local.unloadModel();
    await hub.close();
    await root.remove();
  }
});

test('optimum-style graph: attention_mask, position_ids, an empty KV cache and use_cache_branch are fed', async () => {
  // logits [B, T, C] = W[input_ids] + P[position_ids] ⊙ M[attention_mask]; M = [zeros, ones], so a
  // mask of ones adds P at each position 0..T-1; the cache and the branch flag pass through Identity.
  const V = 9, C = 9, NP = 6, NKV = 2, DH = 3;
  const rng = new Rng(3);
  const W = rng.normal(V * C, 1), P = rng.normal(NP * C, 1); // [V, C], [NP, C]
  const M = Float32Array.from({ length: 2 * C }, (_, i) => (i < C ? 0 : 1)); // [2, C]
  const BOOL = 9;
  const model = encodeOnnxModel({
    nodes: [
      { op: 'Gather', inputs: ['W', 'input_ids'], outputs: ['w'], intAttrs: { axis: 0 } },
      { op: 'Gather', inputs: ['P', 'position_ids'], outputs: ['p'], intAttrs: { axis: 0 } },
      { op: 'Gather', inputs: ['M', 'attention_mask'], outputs: ['m'], intAttrs: { axis: 0 } },
      { op: 'Mul', inputs: ['p', 'm'], outputs: ['pm'] },
      { op: 'Add', inputs: ['w', 'pm'], outputs: ['logits'] },
      { op: 'Identity', inputs: ['past_key_values.0.key'], outputs: ['present.0.key'] },
      { op: 'Identity', inputs: ['use_cache_branch'], outputs: ['branch'] },
    ],
    inputs: [
      { name: 'input_ids', elemType: ONNX_INT64, dims: ['batch', 'seq'] },
      { name: 'attention_mask', elemType: ONNX_INT64, dims: ['batch', 'seq'] },
      { name: 'position_ids', elemType: ONNX_INT64, dims: ['batch', 'seq'] },
      { name: 'past_key_values.0.key', elemType: ONNX_FLOAT, dims: ['batch', NKV, 'past', DH] },
      { name: 'use_cache_branch', elemType: BOOL, dims: [1] },
    ],
    outputs: [
      { name: 'logits', elemType: ONNX_FLOAT, dims: ['batch', 'seq', C] },
      { name: 'present.0.key', elemType: ONNX_FLOAT, dims: ['batch', NKV, 'past', DH] },
      { name: 'branch', elemType: BOOL, dims: [1] },
    ],
    initializers: [
      { name: 'W', dims: [V, C], data: W },
      { name: 'P', dims: [NP, C], data: P },
      { name: 'M', dims: [2, C], data: M },
    ],
  });
  const ort = await verifyOrt();
  const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'] });
  try {
    const ids = [[4, 0, 8, 4, 2]]; // [B=1, T=5]
    const kv = { n_kv_heads: NKV, d_head: DH };
    const feeds = onnxFeeds(ort, session, ids, kv);
    assert.deepEqual(Object.keys(feeds).sort(), ['attention_mask', 'input_ids', 'past_key_values.0.key', 'position_ids', 'use_cache_branch']);
    assert.deepEqual(feeds['past_key_values.0.key'].dims, [1, NKV, 0, DH], 'an empty cache [B, n_kv, 0, d_head]');
    assert.deepEqual(Array.from(feeds.position_ids.data as BigInt64Array, Number), [0, 1, 2, 3, 4]);
    for (const t of Object.values(feeds)) t.dispose();
    const got = await runOnnxLogits(ort, session, ids, kv, C); // [1, 5, C]
    const want = ids[0].flatMap((id, t) => Array.from({ length: C }, (_, c) => W[id * C + c] + P[t * C + c]));
    // one fp32 add per element: exact up to 1 ulp of |x| ≲ 4 → 1e-6
    assertAllClose(got, want, { atol: 1e-6, rtol: 1e-6 }, 'W[id] + P[t]');
    await assert.rejects(runOnnxLogits(ort, session, ids, kv, C + 1), /vocab 9, the loaded model 10/);
  } finally {
    await session.release();
  }
  // a graph with an input the lab cannot fill is refused by name
  const odd = encodeOnnxModel({
    nodes: [{ op: 'Gather', inputs: ['W', 'input_ids'], outputs: ['logits'], intAttrs: { axis: 0 } }, { op: 'Identity', inputs: ['pixel_values'], outputs: ['pv'] }],
    inputs: [{ name: 'input_ids', elemType: ONNX_INT64, dims: ['b', 't'] }, { name: 'pixel_values', elemType: ONNX_FLOAT, dims: ['b', 3] }],
    outputs: [{ name: 'logits', elemType: ONNX_FLOAT, dims: ['b', 't', C] }, { name: 'pv', elemType: ONNX_FLOAT, dims: ['b', 3] }],
    initializers: [{ name: 'W', dims: [V, C], data: W }],
  });
  const s2 = await ort.InferenceSession.create(odd, { executionProviders: ['wasm'] });
  try {
    assert.throws(() => onnxFeeds(ort, s2, [[1]], { n_kv_heads: 1, d_head: 1 }), (e: Error) => e instanceof OnnxCheckError && /input "pixel_values"/.test(e.message));
  } finally {
    await s2.release();
  }
});
