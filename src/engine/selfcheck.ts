// Kernel self-check: run each registered kernel on small seeded inputs and compare its output with
// the kernel's float64 reference (allClose). Runs wherever a Runtime exists: a browser worker, the
// page, or Node. The registry is src/engine/selfcheck-cases.ts; this file only runs it.
//
//   const report = await runSelfCheck(rt, { only: ['add_scale'], onProgress, signal });
//
// Each case gets its own Rng, seeded from its name, so a case gives the same inputs whether it
// runs alone (`only`) or with the others. A case that throws is recorded as failed with the
// error's message; cancellation (AbortSignal) stops between cases with a CancelledError.

import { CancelledError } from './errors.ts';
import type { Runtime } from './gpu/runtime.ts';
import { GpuError } from './gpu/device.ts';
import { allClose, type Tolerance } from './util/allclose.ts';
import { Rng } from './util/rng.ts';
import { SELF_CHECK_CASES } from './selfcheck-cases.ts';

/** One registry entry. `I` is whatever inputs the case builds (host arrays plus sizes). */
export interface SelfCheckCase<I = unknown> {
  /** shown in the results table, e.g. 'add_scale' */
  name: string;
  /** the shapes it runs, for humans, e.g. 'n=1000' */
  shape: string;
  /** tolerance against float64, with its reason in a comment beside the entry */
  tol: Tolerance;
  /** a reason to skip on this device (e.g. a missing feature), or null to run */
  skip?: (rt: Runtime) => string | null;
  /** seeded inputs (host side) */
  inputs: (rng: Rng) => I;
  /** upload, run the kernel's host function, read back; timed */
  gpu: (rt: Runtime, inputs: I, signal?: AbortSignal) => Promise<ArrayLike<number>>;
  /** the kernel's float64 reference on the same inputs */
  ref: (inputs: I) => ArrayLike<number>;
}

export type SelfCheckStatus = 'pass' | 'fail' | 'skip';

export interface SelfCheckResult {
  name: string;
  shape: string;
  status: SelfCheckStatus;
  ok: boolean;
  /** worst |actual − ref| (NaN when the case threw or was skipped; Infinity for NaN/Inf outputs) */
  maxErr: number;
  /** allClose's report, the error message, or the skip reason */
  message: string;
  /** wall-clock of upload + dispatch + readback */
  ms: number;
  tol: Tolerance;
}

/** Where the engine runs: the test asserts the browser self-check ran in a worker. */
export type ExecutionContext = 'worker' | 'window' | 'node';

export interface SelfCheckReport {
  ok: boolean;
  total: number;
  passed: number;
  failed: number;
  skipped: number;
  results: SelfCheckResult[];
  ms: number;
  where: ExecutionContext;
  adapter: string;
}

export interface Progress {
  done: number;
  total: number;
  /** what runs now (kernel name), or 'done' */
  label: string;
}

export interface SelfCheckOptions {
  /** case names to run (in registry order); all when absent. Unknown names are an error. */
  only?: string[];
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
  /** replaces the registry (tests) */
  cases?: readonly SelfCheckCase[];
}

// Thrown when a self-check (or any engine request) is cancelled; defined with the other boundary errors.
export { CancelledError };

export function executionContext(): ExecutionContext {
  const g = globalThis as { process?: { versions?: { node?: string } }; WorkerGlobalScope?: unknown; document?: unknown };
  if (g.process?.versions?.node && !g.document) return 'node';
  if (typeof g.WorkerGlobalScope === 'function' && globalThis instanceof (g.WorkerGlobalScope as new () => object)) return 'worker';
  return 'window';
}

/** Names of the registered cases, in run order. */
export function selfCheckNames(cases: readonly SelfCheckCase[] = SELF_CHECK_CASES): string[] {
  return cases.map((c) => c.name);
}

// FNV-1a of the name: a stable per-case seed.
function seedOf(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** `done`: kernels that finished before the cancel was seen. */
function throwIfAborted(signal: AbortSignal | undefined, done: number, total: number): void {
  if (signal?.aborted) throw new CancelledError(`Self-check cancelled after ${done} of ${total} kernels.`);
}

export async function runSelfCheck(rt: Runtime, opts: SelfCheckOptions = {}): Promise<SelfCheckReport> {
  const registry = opts.cases ?? SELF_CHECK_CASES;
  let cases = registry;
  if (opts.only && opts.only.length) {
    const unknown = opts.only.filter((n) => !registry.some((c) => c.name === n));
    if (unknown.length) throw new Error(`Unknown self-check case(s): ${unknown.join(', ')}. Known: ${selfCheckNames(registry).join(', ')}.`);
    cases = registry.filter((c) => opts.only!.includes(c.name));
  }
  const total = cases.length;
  const results: SelfCheckResult[] = [];
  const t0 = performance.now();
  for (const [i, c] of cases.entries()) {
    throwIfAborted(opts.signal, i, total);
    opts.onProgress?.({ done: i, total, label: c.name });
    throwIfAborted(opts.signal, i, total); // a progress listener may have cancelled
    results.push(await runCase(rt, c, opts.signal));
  }
  // cancelled during the last kernel: still a cancellation (the caller asked to stop)
  throwIfAborted(opts.signal, total, total);
  opts.onProgress?.({ done: total, total, label: 'done' });
  const count = (s: SelfCheckStatus) => results.filter((r) => r.status === s).length;
  const s = rt.ctx.summary;
  return {
    ok: count('fail') === 0 && count('pass') > 0,
    total,
    passed: count('pass'),
    failed: count('fail'),
    skipped: count('skip'),
    results,
    ms: performance.now() - t0,
    where: executionContext(),
    adapter: [s.vendor, s.architecture, s.description].filter(Boolean).join(' / '),
  };
}

async function runCase(rt: Runtime, c: SelfCheckCase, signal?: AbortSignal): Promise<SelfCheckResult> {
  const base = { name: c.name, shape: c.shape, tol: c.tol };
  const why = c.skip?.(rt);
  if (why) return { ...base, status: 'skip', ok: true, maxErr: NaN, message: why, ms: 0 };
  const t0 = performance.now();
  try {
    const inputs = c.inputs(new Rng(seedOf(c.name)));
    const actual = await c.gpu(rt, inputs, signal);
    // GPU errors are reported asynchronously: wait for the queue so they land on this case
    await rt.sync();
    const ms = performance.now() - t0;
    const r = allClose(actual, c.ref(inputs), c.tol, c.name);
    return { ...base, status: r.ok ? 'pass' : 'fail', ok: r.ok, maxErr: r.worstAbsErr, message: r.message, ms };
  } catch (e) {
    // cancellation and a lost device end the whole run; other errors fail only this case
    if (e instanceof CancelledError || (e instanceof GpuError && e.kind === 'lost')) throw e;
    const err = e as Error;
    return { ...base, status: 'fail', ok: false, maxErr: NaN, message: `${err.name}: ${err.message}`, ms: performance.now() - t0 };
  }
}
