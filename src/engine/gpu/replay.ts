// Replayed command sequences (issue 14: the CPU record of a training step). A block's forward or backward
// records the same dispatches over the same buffers step after step (Runtime.repeat hands every acquire the
// buffer its last run got), yet its JavaScript (shape checks, plans, uniforms, bind-group keys, tensors,
// scopes) ran again each time: ~85-90 % of a step's record on lavapipe. Runtime.replayable(store, key,
// inputs, fn) runs fn once while logging what it does to the GPU and the pool (dispatches with their
// pipeline, bind group and uniform bytes, copies, clears, buffer acquires and releases), then replays that
// log for later calls of the same key instead of running fn: a dispatch becomes a uniform copy and three
// native calls. What fn returned is rebuilt: new tensors over the buffers its surviving tensors had (owned
// by the current scope, as fn's would be), the inputs mapped to the caller's tensors, everything else as is.
//
// When a log is replayed, it does exactly what fn did, provided that:
//   - the inputs (tensors that change between calls) sit in the same buffers at the same offsets: checked;
//   - every buffer fn acquired is free now (so the pool can hand out exactly those): checked before
//     anything is replayed; the pool's epoch (trim) unchanged: checked;
//   - every other buffer fn bound (weights, adapters, gradients, caches) is still in use: checked for
//     pooled buffers; the caller puts their owners' identity in the store or the key;
//   - fn's GPU work depends on nothing else (no host data: an upload, a read or a sync inside breaks the
//     log, so it is not kept and the next call logs again; dropout seeds and hooks are the caller's to
//     exclude). A check that fails runs fn and logs it again.
import { Tensor, viewOf, type DType } from './tensor.ts';
import type { KernelSpec } from './kernel.ts';
import type { BufferPool } from './pool.ts';

/** a storage binding as bound: buffer, byte offset, byte size */
export interface Binding {
  buffer: GPUBuffer;
  offset: number;
  size: number;
}

type Op =
  | { kind: 'dispatch'; spec: KernelSpec; pipeline: GPUComputePipeline; bindGroup: GPUBindGroup; bindings: Binding[]; uniform: Uint8Array | null; uniformOffset: number; x: number; y: number; z: number }
  | { kind: 'copy'; src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; bytes: number }
  | { kind: 'clear'; buffer: GPUBuffer; offset: number; size: number }
  | { kind: 'acquire'; buffer: GPUBuffer }
  | { kind: 'release'; buffer: GPUBuffer }
  | { kind: 'flush' };

/** What the runtime lends the replay (its internals, bound). */
export interface ReplayHost {
  readonly pool: BufferPool;
  /** the uniform block's offset in the arena (may submit first when the arena is full) */
  pushUniforms(bytes: Uint8Array): number;
  /** the (cached) bind group of spec over these bindings and the uniform block at `uniformOffset` */
  bindGroupFor(spec: KernelSpec, bindings: readonly Binding[], uniformOffset: number, uniformSize: number): GPUBindGroup;
  encodeDispatch(pipeline: GPUComputePipeline, bindGroup: GPUBindGroup, x: number, y: number, z: number): void;
  encodeCopy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void;
  encodeClear(buffer: GPUBuffer, offset: number, size: number): void;
  submit(): void;
  /** an owning tensor over `buffer`, tracked by the current scope */
  adopt(buffer: GPUBuffer, shape: readonly number[], dtype: DType, label: string, byteOffset: number): Tensor;
}

/** How a tensor in fn's result is rebuilt: one of fn's survivors or an input (itself or a view of its root), or kept. */
type Slot =
  | { from: 'survivor' | 'input'; i: number; whole: boolean; shape: readonly number[]; byteOffset: number; label: string }
  | { from: 'same' };

interface Survivor {
  buffer: GPUBuffer;
  shape: readonly number[];
  dtype: DType;
  label: string;
  byteOffset: number;
}

interface Log {
  ops: Op[];
  inputs: Binding[];
  survivors: Survivor[];
  /** pooled buffers bound that fn neither acquired nor got as inputs (weights, adapters, gradients) */
  external: GPUBuffer[];
  epoch: number;
  result: unknown;
  slots: Map<Tensor, Slot>;
}

/** A capture in progress: what the runtime reports while fn runs (Runtime's `cap`). */
export class Capture {
  readonly ops: Op[] = [];
  /** owning tensors made (empty, reshape) */
  readonly created: Tensor[] = [];
  /** acquired here and not released yet */
  private held = new Set<GPUBuffer>();
  private acquiredEver = new Set<GPUBuffer>();
  private bound = new Set<GPUBuffer>();
  /** why the log cannot be replayed (host data, an outside tensor freed, a persistent tensor made) */
  broken: string | null = null;

  dispatch(spec: KernelSpec, pipeline: GPUComputePipeline, bindGroup: GPUBindGroup, tensors: readonly Tensor[], uniforms: ArrayBuffer | undefined, uniformOffset: number, x: number, y: number, z: number): void {
    const bindings = tensors.map((t) => ({ buffer: t.buffer, offset: t.byteOffset, size: t.byteLength }));
    for (const b of bindings) this.bound.add(b.buffer);
    const uniform = uniforms ? new Uint8Array(uniforms.slice(0)) : null;
    this.ops.push({ kind: 'dispatch', spec, pipeline, bindGroup, bindings, uniform, uniformOffset, x, y, z });
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.bound.add(src).add(dst);
    this.ops.push({ kind: 'copy', src, srcOffset, dst, dstOffset, bytes });
  }

  clear(buffer: GPUBuffer, offset: number, size: number): void {
    this.bound.add(buffer);
    this.ops.push({ kind: 'clear', buffer, offset, size });
  }

  acquire(buffer: GPUBuffer): void {
    this.held.add(buffer);
    this.acquiredEver.add(buffer);
    this.ops.push({ kind: 'acquire', buffer });
  }

  release(buffer: GPUBuffer): void {
    if (!this.held.delete(buffer)) {
      this.broken ??= 'it freed a tensor it did not make';
      return;
    }
    this.ops.push({ kind: 'release', buffer });
  }

  flush(): void {
    this.ops.push({ kind: 'flush' });
  }

  made(t: Tensor, collected: boolean): void {
    if (!collected) this.broken ??= 'it made a tensor no scope collects (a cache)';
    this.created.push(t);
  }

  hostData(what: string): void {
    this.broken ??= `it ${what}`;
  }

  /** The log of this capture, or the reason there is none. */
  finish(inputs: readonly Tensor[], result: unknown, pool: BufferPool): Log | string {
    if (this.broken) return this.broken;
    if (!plainData(result)) return 'its result holds something other than tensors, arrays and plain objects';
    const survivors = this.created.filter((t) => !t.isDisposed);
    if (survivors.length !== this.held.size || survivors.some((t) => !this.held.has(t.buffer))) return 'its surviving tensors do not own the buffers it kept';
    const inputBuffers = new Set(inputs.map((t) => t.buffer));
    const external = [...this.bound].filter((b) => !this.acquiredEver.has(b) && !inputBuffers.has(b) && pool.owns(b));
    const slots = new Map<Tensor, Slot>();
    const rootIndex = (list: readonly Tensor[], t: Tensor) => list.findIndex((s) => s.root() === t.root());
    for (const t of tensorsIn(result)) {
      const ii = inputs.indexOf(t);
      const si = ii >= 0 ? -1 : rootIndex(survivors, t);
      const ri = ii >= 0 || si >= 0 ? -1 : rootIndex(inputs, t);
      const common = { shape: t.shape, byteOffset: t.byteOffset, label: t.label };
      if (ii >= 0) slots.set(t, { from: 'input', i: ii, whole: true, ...common });
      else if (si >= 0) slots.set(t, { from: 'survivor', i: si, whole: survivors[si] === t, ...common });
      else if (ri >= 0) slots.set(t, { from: 'input', i: ri, whole: false, ...common });
      else slots.set(t, { from: 'same' });
    }
    return {
      ops: this.ops,
      inputs: inputs.map((t) => ({ buffer: t.buffer, offset: t.byteOffset, size: t.byteLength })),
      survivors: survivors.map((t) => ({ buffer: t.buffer, shape: t.shape, dtype: t.dtype, label: t.label, byteOffset: t.byteOffset })),
      external,
      epoch: pool.epoch,
      result,
      slots,
    };
  }
}

/** Logs a key keeps: one per set of buffers it was seen with (micro-batches of a step alternate between sets). */
const LOGS_PER_KEY = 4;

/**
 * Logs kept by one owner (a training graph), by key, a few per key (the newest first); a key whose captures keep
 * breaking is left alone.
 */
export class ReplayStore {
  private logs = new Map<string, Log[]>();
  private misses = new Map<string, number>();
  /** replays so far, and captures (logs made, kept or not) */
  replays = 0;
  captures = 0;
  /** why the last capture that broke could not be kept (diagnostics) */
  lastBroken: string | null = null;

  /** A log of `key` that can be replayed now with these inputs (canReplay), if any. */
  find(key: string, inputs: readonly Tensor[], pool: BufferPool): Log | undefined {
    const list = this.logs.get(key);
    if (list) for (const log of list) if (canReplay(log, inputs, pool)) return log;
    return undefined;
  }

  add(key: string, log: Log | string): void {
    this.captures++;
    if (typeof log === 'string') {
      this.lastBroken = `${key}: ${log}`;
      this.misses.set(key, (this.misses.get(key) ?? 0) + 1);
      return;
    }
    const list = this.logs.get(key) ?? [];
    this.logs.set(key, [log, ...list].slice(0, LOGS_PER_KEY));
    this.misses.delete(key); // a capture that broke once (a cache made on first use) is not held against the key
  }

  /** after this many captures in a row that broke, a key is run without capturing */
  hopeless(key: string): boolean {
    return (this.misses.get(key) ?? 0) >= 3;
  }

  clear(): void {
    this.logs.clear();
    this.misses.clear();
  }
}

/** Whether `log` can be replayed now with these inputs (see the header). */
export function canReplay(log: Log, inputs: readonly Tensor[], pool: BufferPool): boolean {
  if (log.epoch !== pool.epoch || inputs.length !== log.inputs.length) return false;
  for (let i = 0; i < inputs.length; i++) {
    const t = inputs[i], b = log.inputs[i];
    if (t.isDisposed || t.buffer !== b.buffer || t.byteOffset !== b.offset || t.byteLength !== b.size) return false;
  }
  for (const b of log.external) if (pool.isFree(b)) return false;
  // the acquires in order: each buffer free in the pool now, or released earlier in the log
  const taken = new Set<GPUBuffer>();
  const released = new Set<GPUBuffer>();
  for (const op of log.ops) {
    if (op.kind === 'acquire') {
      if (released.delete(op.buffer)) continue;
      if (taken.has(op.buffer) || !pool.isFree(op.buffer)) return false;
      taken.add(op.buffer);
    } else if (op.kind === 'release') released.add(op.buffer);
  }
  return true;
}

/** Replays `log` (replayable() said yes) and returns fn's result rebuilt over `inputs`. */
export function replay<T>(host: ReplayHost, log: Log, inputs: readonly Tensor[]): T {
  const { pool } = host;
  for (const op of log.ops) {
    switch (op.kind) {
      case 'dispatch': {
        let bindGroup = op.bindGroup;
        if (op.uniform) {
          const at = host.pushUniforms(op.uniform);
          if (at !== op.uniformOffset) bindGroup = host.bindGroupFor(op.spec, op.bindings, at, op.uniform.byteLength);
        }
        host.encodeDispatch(op.pipeline, bindGroup, op.x, op.y, op.z);
        break;
      }
      case 'copy':
        host.encodeCopy(op.src, op.srcOffset, op.dst, op.dstOffset, op.bytes);
        break;
      case 'clear':
        host.encodeClear(op.buffer, op.offset, op.size);
        break;
      case 'acquire':
        pool.take(op.buffer);
        break;
      case 'release':
        pool.release(op.buffer);
        break;
      case 'flush':
        host.submit();
        break;
    }
  }
  const survivors = log.survivors.map((s) => host.adopt(s.buffer, s.shape, s.dtype, s.label, s.byteOffset));
  const rebuild = (v: unknown): unknown => {
    if (v instanceof Tensor) {
      const s = log.slots.get(v)!;
      if (s.from === 'same') return v;
      const base = s.from === 'survivor' ? survivors[s.i] : inputs[s.i];
      return s.whole ? base : viewOf(base.root(), s.shape, s.byteOffset, s.label);
    }
    if (Array.isArray(v)) return v.map(rebuild);
    if (isPlainObject(v)) {
      const o: Record<string, unknown> = {};
      for (const k in v) o[k] = rebuild(v[k]);
      return o;
    }
    return v;
  };
  return rebuild(log.result) as T;
}

/** Whether v is tensors, arrays, plain objects and primitives only (what replay() can rebuild). */
function plainData(v: unknown): boolean {
  if (v === null || typeof v !== 'object' || v instanceof Tensor) return true;
  if (Array.isArray(v)) return v.every(plainData);
  return isPlainObject(v) && Object.values(v).every(plainData);
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype;

/**
 * The tensors in `v` (itself, or inside arrays and plain objects, recursively), in a fixed order: a region's
 * inputs given as a structure (a block's activations) and the tensors of fn's result.
 */
export function tensorsIn(v: unknown, out: Tensor[] = []): Tensor[] {
  if (v instanceof Tensor) out.push(v);
  else if (Array.isArray(v)) for (const x of v) tensorsIn(x, out);
  else if (isPlainObject(v)) for (const k in v) tensorsIn(v[k], out);
  return out;
}
