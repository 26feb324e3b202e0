// The engine worker: WebGPU is acquired here, off the page's main thread, and the protocol
// (./protocol.ts) is served with the in-thread engine. The page talks to it through WorkerEngine.
//
//   new Worker(new URL('../../workers/engine.worker.ts', import.meta.url), { type: 'module' })

import { LocalEngine } from '../src/engine/engine.ts';
import { serveEngine } from './serve.ts';
import type { Port } from './protocol.ts';

// navigator.gpu is undefined where WebGPU is not exposed; the engine then fails with a GpuError
// ('unavailable') whose message says what to do, and the page shows it.
serveEngine(self as unknown as Port, new LocalEngine(navigator.gpu));
