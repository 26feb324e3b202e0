// Engine + worker protocol in Node: LocalEngine on Dawn (nodeGpu), and WorkerEngine talking to the
// same engine through serveEngine over a MessageChannel (the protocol as the browser worker uses
// it, minus the Worker). Shapes are the registry's tiny ones: the whole file runs in a few seconds.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { LocalEngine, type Engine } from '../src/engine/engine.ts';
import { WorkerEngine } from './worker-engine.ts';
import { CancelledError, selfCheckNames, type Progress, type SelfCheckCase } from '../src/engine/selfcheck.ts';
import { SELF_CHECK_CASES, defineCase, readAndFree } from '../src/engine/selfcheck-cases.ts';
import { GpuError } from '../src/engine/gpu/device.ts';
import { DEFAULT_KERNEL_PREFS } from '../src/engine/gpu/kernel-prefs.ts';
import { nodeGpu, releaseNodeGpu } from '../src/engine/gpu/node.ts';
import { serveEngine } from './serve.ts';
import type { Port } from './protocol.ts';
import { addScale } from '../shaders/add_scale.ts';
import { addScaleRef } from '../shaders/add_scale.ref.ts';
import { MemoryBlobStore } from '../src/engine/hub/index.ts';
import { defineModelTests } from '../src/engine/engine-model.testlib.ts';

// A case that waits (up to 5 s) until its run is cancelled: makes cancellation deterministic.
const waitsForCancel = defineCase({
  name: 'waits_for_cancel',
  shape: '-',
  tol: { atol: 0, rtol: 0 },
  inputs: () => null,
  gpu: (_rt, _i, signal) =>
    new Promise<ArrayLike<number>>((resolve) => {
      if (signal?.aborted) return resolve([0]);
      const t = setTimeout(() => resolve([0]), 5000);
      signal?.addEventListener('abort', () => (clearTimeout(t), resolve([0])), { once: true });
    }),
  ref: () => [0],
});

// A deliberately wrong kernel call (beta sign flipped against the reference): must be reported failed.
const wrong = defineCase({
  name: 'add_scale_wrong',
  shape: 'n=300',
  tol: { atol: 1e-6, rtol: 1e-6 },
  inputs: (rng) => ({ a: rng.uniform(300), b: rng.uniform(300) }),
  gpu: (rt, i) => {
    const a = rt.upload(i.a, [300]), b = rt.upload(i.b, [300]);
    return readAndFree(rt, addScale(rt, a, 1, b, 1), a, b);
  },
  ref: (i) => addScaleRef(i.a, 1, i.b, -1),
});

const cases: SelfCheckCase[] = [...SELF_CHECK_CASES, waitsForCancel, wrong];
const gpu = await nodeGpu();
const local = new LocalEngine(gpu, { cases, store: new MemoryBlobStore() });
const channel = new MessageChannel();
serveEngine(channel.port1 as unknown as Port, local);
const proxy = new WorkerEngine(channel.port2 as unknown as Port);

after(() => {
  local.dispose();
  channel.port1.close();
  channel.port2.close();
  releaseNodeGpu();
});

const realNames = selfCheckNames(SELF_CHECK_CASES);

for (const [label, engine] of [['LocalEngine', local], ['WorkerEngine over MessageChannel', proxy]] as [string, Engine][]) {
  test(`${label}: adapterInfo reports the adapter and the engine limits`, async () => {
    const info = await engine.adapterInfo();
    assert.ok(info.architecture || info.description || info.vendor, 'adapter named');
    assert.equal(info.where, 'node');
    assert.ok(info.limits.maxComputeInvocationsPerWorkgroup >= 256);
    assert.ok(Array.isArray(info.features));
    assert.equal(typeof info.enabled.shaderF16, 'boolean');
  });

  test(`${label}: selfCheck runs the registry, all pass, progress fires for each kernel`, async () => {
    const seen: Progress[] = [];
    const report = await engine.selfCheck({ only: realNames }, (p) => seen.push(p));
    assert.equal(report.total, realNames.length);
    assert.ok(report.total >= 1);
    assert.equal(report.ok, true, report.results.map((r) => r.message).join('\n'));
    // the mixed-precision kernel skips where the device has no shader-f16, and is held to f16's error, not f32's
    const f16 = (await engine.adapterInfo()).enabled.shaderF16;
    assert.equal(report.passed, report.total - (f16 ? 0 : 1));
    for (const r of report.results) {
      if (r.status === 'skip') {
        assert.equal(r.name, 'matmul_forward.vec4h');
        continue;
      }
      const bound = r.name === 'matmul_forward.vec4h' ? 2e-2 : 1e-5;
      assert.ok(Number.isFinite(r.maxErr) && r.maxErr <= bound, `${r.name} maxErr ${r.maxErr}`);
      assert.ok(r.ms >= 0);
    }
    // one progress per kernel before it runs (label = its name), then done = total
    assert.deepEqual(seen.map((p) => p.label), [...realNames, 'done']);
    assert.deepEqual(seen.map((p) => p.done), [...realNames.map((_, i) => i), realNames.length]);
  });

  test(`${label}: a wrong result is reported as a failure with its worst error`, async () => {
    const report = await engine.selfCheck({ only: ['add_scale', 'add_scale_wrong'] });
    assert.equal(report.ok, false);
    assert.equal(report.failed, 1);
    const bad = report.results.find((r) => r.name === 'add_scale_wrong')!;
    assert.equal(bad.status, 'fail');
    assert.ok(bad.maxErr > 0.01, `maxErr ${bad.maxErr}`);
    assert.match(bad.message, /outside atol/);
  });

  test(`${label}: aborting the signal stops the self-check with a CancelledError`, async () => {
    const ctl = new AbortController();
    const labels: string[] = [];
    // registry order: add_scale, scale, waits_for_cancel, add_scale_wrong → runs add_scale, waits, wrong
    const run = engine.selfCheck({ only: ['add_scale', 'waits_for_cancel', 'add_scale_wrong'] }, (p) => {
      labels.push(p.label);
      if (p.label === 'waits_for_cancel') ctl.abort();
    }, ctl.signal);
    await assert.rejects(run, (e: Error) => {
      assert.ok(e instanceof CancelledError, `got ${e.name}`);
      // in-thread the listener's abort is seen before waits_for_cancel starts (1 done); through the
      // worker the cancel message reaches it while it runs (2 done)
      assert.match(e.message, /cancelled after [12] of 3 kernels/);
      return true;
    });
    assert.deepEqual(labels, ['add_scale', 'waits_for_cancel'], 'the kernel after the cancel never started');
    // the engine still works afterwards
    assert.equal((await engine.selfCheck({ only: ['scale'] })).ok, true);
  });

  test(`${label}: setKernelPrefs sets the precision later requests run under, and refuses f16 without shader-f16`, async () => {
    const f16 = (await engine.adapterInfo()).enabled.shaderF16;
    if (f16) {
      assert.equal((await engine.setKernelPrefs({ precision: 'f16' })).precision, 'f16');
      const r = await engine.selfCheck({ only: ['matmul_forward.vec4'] }); // forced vec4: still f32 exact under f16 prefs
      assert.equal(r.ok, true);
    } else {
      await assert.rejects(engine.setKernelPrefs({ precision: 'f16' }), /needs the GPU feature shader-f16/);
    }
    const back = await engine.setKernelPrefs({ precision: 'f32' });
    assert.deepEqual(back, { ...DEFAULT_KERNEL_PREFS, precision: 'f32' }, 'the other preferences stay at their defaults');
  });

  test(`${label}: already-aborted signal and unknown case names are clear errors`, async () => {
    await assert.rejects(engine.selfCheck({}, undefined, AbortSignal.abort()), CancelledError);
    await assert.rejects(engine.selfCheck({ only: ['nope'] }), /Unknown self-check case\(s\): nope/);
  });
}

// loadModel / generate / inspect / cancel / size refusal / Hub cache, on the llama-gqa fixture
defineModelTests({ gpu, local, proxy });

test('no WebGPU: both engines fail with GpuError(unavailable) and a message saying what to do', async () => {
  const none = new LocalEngine(undefined);
  const ch = new MessageChannel();
  serveEngine(ch.port1 as unknown as Port, none);
  const viaProxy = new WorkerEngine(ch.port2 as unknown as Port);
  try {
    for (const e of [none, viaProxy]) {
      await assert.rejects(e.adapterInfo(), (err: Error) => {
        assert.ok(err instanceof GpuError, `got ${err.name}`);
        assert.equal(err.kind, 'unavailable');
        assert.match(err.message, /WebGPU is not available/);
        return true;
      });
    }
  } finally {
    ch.port1.close();
    ch.port2.close();
  }
});
