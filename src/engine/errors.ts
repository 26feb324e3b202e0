// The typed errors that cross the engine's boundary, and their wire form (structured clone drops
// Error classes: the worker sends { name, kind, message } and the page rebuilds the class). A leaf
// module: the engine's own modules import their errors from here; ./api.ts re-exports it all.
import { GpuError, type GpuErrorKind } from './gpu/device.ts';
import { HubError, type HubErrorCode } from './hub/errors.ts';
import { GovernanceError } from './train/governance.ts';

export { GpuError, HubError, GovernanceError };

/** A request was cancelled (its AbortSignal fired, or the engine was disposed). */
export class CancelledError extends Error {
  override name = 'CancelledError';
}

export type TrainingErrorKind =
  | 'busy' //            another run is active, or a model change was asked for during one
  | 'no-model' //        no model loaded
  | 'no-data' //         no usable training row
  | 'run-exists' //      a new run into an existing run's place (not a resume)
  | 'resume-mismatch' // the checkpoint was made with other data or settings
  | 'bad-checkpoint' //  unreadable, or holding NaN/Inf
  | 'non-finite' //      a NaN/Inf loss or gradient stopped the run before the update
  | 'storage' //         the checkpoint could not be stored (quota): nothing saved earlier is lost
  | 'invalid'; //        a bad setting

/** A training run could not start or stopped; `kind` lets the UI react without parsing text. */
export class TrainingError extends Error {
  override name = 'TrainingError';
  constructor(
    readonly kind: TrainingErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** An error as it crosses the boundary (Error objects lose their class in structured clone). */
export interface WireError {
  name: string;
  kind?: string;
  message: string;
}

export function toWireError(e: unknown): WireError {
  if (e instanceof HubError) return { name: e.name, kind: e.code, message: e.message };
  if (e instanceof Error) {
    const kind = (e as Error & { kind?: unknown }).kind;
    return { name: e.name, message: e.message, ...(typeof kind === 'string' ? { kind } : {}) };
  }
  return { name: 'Error', message: String(e) };
}

/** Rebuilds the typed error, so `instanceof GpuError` / `CancelledError` / ... work on the page side too. */
export function fromWireError(w: WireError): Error {
  if (w.name === 'GpuError') return new GpuError((w.kind ?? 'internal') as GpuErrorKind, w.message);
  if (w.name === 'CancelledError') return new CancelledError(w.message);
  if (w.name === 'TrainingError') return new TrainingError((w.kind ?? 'invalid') as TrainingErrorKind, w.message);
  if (w.name === 'GovernanceError') return new GovernanceError(w.message);
  // HubError's `code` travels as `kind` (the UI reacts to 'auth', 'too-large', ...)
  if (w.name === 'HubError' || w.name === 'HubCancelledError') return new HubError((w.kind ?? 'http') as HubErrorCode, w.message);
  const e = new Error(w.message);
  e.name = w.name;
  return e;
}
