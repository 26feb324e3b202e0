// The one worker protocol (CONVENTIONS §11). Every message between the page and the engine worker
// has one of the shapes below; `Requests` maps each request type to its payload and its result, so
// the compiler checks each pair on both sides (WorkerEngine in src/engine/engine.ts posts them,
// serveEngine in ./serve.ts answers them).
//
//   page → worker   { type, id, payload }                       one request
//   worker → page   { id, kind: 'progress', progress }           zero or more, while it runs
//                   { id, kind: 'result', result }               then exactly one of these two
//                   { id, kind: 'error', error: { name, kind?, message } }
//
// A request is cancelled by another request: { type: 'cancel', payload: { target: id } }; the
// cancelled request then ends with an error named 'CancelledError'.

import type { AdapterInfo } from '../src/engine/engine.ts';
import type { Progress, SelfCheckReport } from '../src/engine/selfcheck.ts';
import { GpuError, type GpuErrorKind } from '../src/engine/gpu/device.ts';
import { CancelledError } from '../src/engine/selfcheck.ts';

export interface Requests {
  /** the adapter the engine runs on, and what the device enabled */
  adapterInfo: { payload: void; result: AdapterInfo };
  /** run the kernel self-check (all registered cases, or `only` these) */
  selfCheck: { payload: { only?: string[] }; result: SelfCheckReport };
  /** cancel the running request `target`; `cancelled` is false when it had already ended */
  cancel: { payload: { target: number }; result: { cancelled: boolean } };
}

export type RequestType = keyof Requests;
export type Payload<T extends RequestType> = Requests[T]['payload'];
export type Result<T extends RequestType> = Requests[T]['result'];

/** A request; `Request` alone is the union over all types (narrow on `type`). */
export type Request<T extends RequestType = RequestType> = {
  [K in T]: { type: K; id: number; payload: Payload<K> };
}[T];

/** An error as it crosses the boundary (Error objects lose their class in structured clone). */
export interface WireError {
  name: string;
  kind?: string;
  message: string;
}

export type Reply<T extends RequestType = RequestType> =
  | { id: number; kind: 'result'; result: Result<T> }
  | { id: number; kind: 'error'; error: WireError }
  | { id: number; kind: 'progress'; progress: Progress };

/**
 * What a Worker, a worker's global scope and a MessagePort all offer: enough to carry the
 * protocol. `start` exists on MessagePort only; `terminate` on Worker only.
 */
export interface Port {
  postMessage(message: unknown): void;
  addEventListener(type: 'message' | 'messageerror' | 'error', listener: (ev: Event) => void): void;
  start?(): void;
  terminate?(): void;
}

export function toWireError(e: unknown): WireError {
  if (e instanceof Error) {
    const kind = (e as Error & { kind?: unknown }).kind;
    return { name: e.name, message: e.message, ...(typeof kind === 'string' ? { kind } : {}) };
  }
  return { name: 'Error', message: String(e) };
}

/** Rebuilds the typed error, so `instanceof GpuError` / `CancelledError` work on the page side too. */
export function fromWireError(w: WireError): Error {
  if (w.name === 'GpuError') return new GpuError((w.kind ?? 'internal') as GpuErrorKind, w.message);
  if (w.name === 'CancelledError') return new CancelledError(w.message);
  const e = new Error(w.message);
  e.name = w.name;
  return e;
}

export function isRequest(x: unknown): x is Request {
  const r = x as Partial<Request> | null;
  return !!r && typeof r === 'object' && typeof r.id === 'number' && typeof r.type === 'string';
}
