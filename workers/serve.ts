// The worker side of the protocol: answers requests on a port (the worker's global scope in the
// browser, a MessagePort in tests) with any Engine. One handler per request type; the mapped type
// makes the compiler check that each returns its request's result.

import type { Engine } from '../src/engine/api.ts';
import { isRequest, toWireError, type Payload, type Port, type ProgressOf, type Reply, type RequestType, type Result } from './protocol.ts';

interface HandlerContext<K extends RequestType> {
  id: number;
  signal: AbortSignal;
  progress: (p: ProgressOf<K>) => void;
}

type Handlers = { [K in RequestType]: (payload: Payload<K>, ctx: HandlerContext<K>) => Promise<Result<K>> };

export function serveEngine(port: Port, engine: Engine): void {
  // requests still running, by id, so `cancel` can reach them
  const running = new Map<number, AbortController>();
  const post = (reply: Reply) => port.postMessage(reply);

  const handlers: Handlers = {
    adapterInfo: () => engine.adapterInfo(),
    selfCheck: (payload, ctx) => engine.selfCheck({ only: payload?.only }, ctx.progress, ctx.signal),
    loadModel: (payload, ctx) => engine.loadModel(payload.source, ctx.progress, ctx.signal),
    unloadModel: () => engine.unloadModel(),
    setKernelPrefs: (payload) => engine.setKernelPrefs(payload),
    modelInfo: () => engine.modelInfo(),
    generate: (payload, ctx) => engine.generate(payload, ctx.progress, ctx.signal),
    inspect: (payload, ctx) => engine.inspect(payload, ctx.signal),
    verifyOnnx: (payload, ctx) => engine.verifyOnnx(payload, ctx.progress, ctx.signal),
    cacheUsage: () => engine.cacheUsage(),
    clearCache: (payload) => engine.clearCache(payload?.repo),
    loadDataset: (payload, ctx) => engine.loadDataset(payload, ctx.progress, ctx.signal),
    applyManifest: (payload) => engine.applyManifest(payload),
    forward: (payload) => engine.forward(payload),
    setAdapter: (payload, ctx) => engine.setAdapter(payload.adapter, ctx.progress),
    analyzeReport: (payload, ctx) => engine.analyzeReport(payload, ctx.progress, ctx.signal),
    evaluate: (payload, ctx) => engine.evaluate(payload, ctx.progress, ctx.signal),
    train: (payload, ctx) => engine.train(payload, ctx.progress, ctx.signal),
    trainControl: (payload) => engine.trainControl(payload.runId, payload.action),
    listRuns: () => engine.listRuns(),
    runMetrics: (payload) => engine.runMetrics(payload.runId),
    runSamples: (payload) => engine.runSamples(payload.runId, payload.last),
    runFiles: (payload) => engine.runFiles(payload.runId, payload.which),
    deleteRun: (payload) => engine.deleteRun(payload.runId),
    runsUsage: () => engine.runsUsage(),
    cancel: async ({ target }) => {
      const c = running.get(target);
      c?.abort();
      return { cancelled: !!c };
    },
  };

  port.addEventListener('message', async (ev) => {
    const req = (ev as MessageEvent).data;
    if (!isRequest(req)) return; // not ours (no id to answer to)
    const handler = handlers[req.type] as ((p: unknown, ctx: HandlerContext<RequestType>) => Promise<unknown>) | undefined;
    if (!handler) {
      post({ id: req.id, kind: 'error', error: { name: 'ProtocolError', message: `unknown request type '${req.type}'` } });
      return;
    }
    const ctl = new AbortController();
    if (req.type !== 'cancel') running.set(req.id, ctl);
    try {
      const progress = (p: ProgressOf<RequestType>) => post({ id: req.id, kind: 'progress', progress: p });
      const result = await handler(req.payload, { id: req.id, signal: ctl.signal, progress });
      post({ id: req.id, kind: 'result', result } as Reply);
    } catch (e) {
      post({ id: req.id, kind: 'error', error: toWireError(e) });
    } finally {
      running.delete(req.id);
    }
  });
  port.start?.();
}
