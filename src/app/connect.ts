// Where the page gets its Engine: the engine worker (WebGPU is acquired in the worker, off the
// main thread). The UI sees only the Engine interface.

import type { Engine } from '../engine/api.ts';
import { WorkerEngine } from '../../workers/worker-engine.ts';

export function createEngine(): Engine {
  try {
    const worker = new Worker(new URL('../../workers/engine.worker.ts', import.meta.url), { type: 'module', name: 'lab-engine' });
    return new WorkerEngine(worker);
  } catch (e) {
    // no module workers here: every request fails with the reason, and the page shows it
    const err = new Error(`This browser cannot start the engine worker: ${(e as Error).message}. Use a recent Chrome or Edge.`);
    const fail = () => Promise.reject(err);
    // every request rejects with the reason; dispose does nothing
    return new Proxy({} as Engine, { get: (_, key) => (key === 'dispose' ? () => undefined : fail) });
  }
}
