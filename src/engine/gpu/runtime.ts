// The runtime: tensors from a pool, cached pipelines, many dispatches per submit, readback, timing.
//
//   const rt = await Runtime.create(gpu);           // gpu: navigator.gpu or nodeGpu()
//   const x = rt.upload(new Float32Array(...), [T, C]);
//   const y = rmsnormForward(rt, x, w, 1e-6);       // records a dispatch, returns a tensor
//   const host = await rt.read(y);                  // submits what is pending, maps, copies
//
// Dispatches accumulate in one command encoder until flush(), read() or sync() (./recorder.ts: passes, the
// uniform arena, submits in parts); a repeated stretch of work can be replayed from a log (./replay.ts).

import { acquireDevice, GpuError, type AcquireOptions, type GpuContext } from './device.ts';
import { BufferPool } from './pool.ts';
import { Tensor, byteLength, numelOf, type DType } from './tensor.ts';
import { ScopeStack } from './scope.ts';
import type { KernelSpec } from './kernel.ts';
import { KernelCache } from './kernel-cache.ts';
import { DEFAULT_KERNEL_PREFS, type KernelPrefs } from './kernel-prefs.ts';
import { resolveTimestamps, sumByLabel } from './timestamps.ts';
import { Recorder } from './recorder.ts';
import { Capture, replay, type ReplayHost, type ReplayStore } from './replay.ts';

export interface DispatchArgs {
  /** tensors bound to the spec's non-uniform bindings, in binding order */
  tensors: readonly Tensor[];
  /** uniform block for a spec whose bindings[0] is 'uniform' (see packUniforms) */
  uniforms?: ArrayBuffer;
  /** pipeline-overridable constants (`override` in WGSL); part of the pipeline cache key */
  constants?: Record<string, number>;
  workgroups: readonly [number, number?, number?];
}

type HostArray = Float32Array | Int32Array | Uint32Array;

export class Runtime {
  readonly device: GPUDevice;
  readonly pool: BufferPool;
  private kernels: KernelCache;
  private readonly maxWorkgroupsPerDim: number;
  private readonly rec: Recorder;
  /** the capture in progress (replayable()), told of everything recorded */
  private cap: Capture | null = null;
  /** replayable() replays its logs (off: it always runs its function; A/B benchmarks and tests) */
  replayOn = true;
  /** dispatches recorded so far (all time); benchmarks read it to count CPU-side work */
  get dispatchCount(): number {
    return this.rec.dispatchCount;
  }
  /** command buffers submitted so far (all time) */
  get submitCount(): number {
    return this.rec.submitCount;
  }
  /** compute passes begun so far (all time): a clear or copy between dispatches ends one, and each costs a native begin/end */
  /** CPU time spent submitting so far (ms, all time; Recorder.submitMs) */
  get submitMs(): number {
    return this.rec.submitMs;
  }

  get passCount(): number {
    return this.rec.passCount;
  }
  /**
   * Submit what is recorded after this many dispatches, without waiting: the GPU starts on the first
   * part of a long stretch of work (a training step: ~3 000 dispatches, 30-45 ms of recording) while
   * the CPU records the rest, instead of idling until the read at its end. 0: only at flush/read/sync.
   * Timed regions (timeGpu) are never split.
   */
  get autoFlushEvery(): number {
    return this.rec.autoFlushEvery;
  }
  set autoFlushEvery(n: number) {
    this.rec.autoFlushEvery = n;
  }
  /**
   * After a read or sync (the GPU has run dry), submit after this many dispatches, then twice as many each time up
   * to autoFlushEvery: the GPU restarts on the first few instead of idling while the CPU records 256 (a step's read of
   * its loss leaves the GPU waiting on the optimizer's and the next step's first dispatches). 0: no ramp.
   */
  get autoFlushFirst(): number {
    return this.rec.autoFlushFirst;
  }
  set autoFlushFirst(n: number) {
    this.rec.autoFlushFirst = n;
  }
  /**
   * Which kernel family the shape pickers take where several apply (issue 14): a benchmark times the
   * step under each choice in one run (`bench -- sft --kernels`), and the defaults follow what the GPU
   * machine measured.
   */
  kernelPrefs: KernelPrefs = { ...DEFAULT_KERNEL_PREFS };
  /** bind groups created so far (cache misses; flat after a step's warm-up when the pool repeats) */
  get bindGroupsCreated(): number {
    return this.kernels.bindGroupsCreated;
  }

  private constructor(readonly ctx: GpuContext) {
    this.device = ctx.device;
    this.pool = new BufferPool(this.device, ctx.summary.limits.maxBufferSize);
    this.kernels = new KernelCache(this.device);
    this.maxWorkgroupsPerDim = Number(this.device.limits.maxComputeWorkgroupsPerDimension);
    this.rec = new Recorder(this.device);
    this.replayHost = {
      pool: this.pool,
      pushUniforms: (bytes) => this.rec.pushUniforms(bytes),
      bindGroupFor: (spec, bindings, offset, size) => this.kernels.bindGroupOf(spec, bindings, { arena: this.rec.arena, offset, size }),
      encodeDispatch: (pipeline, bindGroup, x, y, z) => this.rec.dispatch(pipeline, bindGroup, x, y, z),
      encodeCopy: (src, srcOffset, dst, dstOffset, bytes) => this.rec.copy(src, srcOffset, dst, dstOffset, bytes),
      encodeClear: (buffer, offset, size) => this.rec.clear(buffer, offset, size),
      submit: () => this.rec.submit(),
      adopt: (buffer, shape, dtype, label, byteOffset) => {
        const t = new Tensor(this, buffer, shape, dtype, label, byteOffset);
        this.track(t);
        return t;
      },
    };
  }

  static async create(gpu: GPU | undefined, opts?: AcquireOptions): Promise<Runtime> {
    return new Runtime(await acquireDevice(gpu, opts));
  }

  // ---- tensors -------------------------------------------------------------------------------

  /** A pooled tensor with undefined contents (every kernel writing it overwrites all of it). */
  empty(shape: readonly number[], dtype: DType = 'f32', label = 'tensor'): Tensor {
    const bytes = byteLength(numelOf(shape), dtype);
    const t = new Tensor(this, this.pool.acquire(bytes, label), shape, dtype, label);
    this.cap?.acquire(t.buffer);
    this.track(t);
    return t;
  }

  // ---- scopes: tensor lifetimes by extent, not by hand-placed dispose() (./scope.ts) -------------

  private scopes = new ScopeStack();

  /**
   * Runs `fn` as one repetition of repeated work (a training step, forwards of one shape; BufferPool.repeat): its
   * tensors get the buffers the last repetition's got, so every dispatch finds its cached bind group.
   */
  repeat<T>(tag: string, fn: () => T): T {
    return this.pool.repeat(tag, fn);
  }

  /**
   * Runs `fn`, or replays what it recorded last time under `key` in `store` (./replay.ts): a block's forward or
   * backward, repeated each step, then costs a few native calls per dispatch instead of its JavaScript. `inputs`
   * are the tensors fn reads that change between calls (checked: same buffers and offsets, or fn runs again);
   * anything else it reads must outlive the store (weights, adapters: the store's owner or the key tells them
   * apart). fn must record GPU work only (an upload, read or sync inside: it runs each time). Returns what fn
   * returns, its tensors rebuilt over the same buffers and owned by the current scope.
   */
  replayable<T>(store: ReplayStore, key: string, inputs: readonly Tensor[], fn: () => T): T {
    if (!this.replayOn || this.cap || this.rec.timing || this.prof || store.hopeless(key)) return fn();
    const log = store.find(key, inputs, this.pool);
    if (log) {
      store.replays++;
      return replay<T>(this.replayHost, log, inputs);
    }
    const cap = (this.cap = new Capture());
    let out: T;
    try {
      out = fn();
    } finally {
      this.cap = null;
    }
    store.add(key, cap.finish(inputs, out, this.pool));
    return out;
  }

  private readonly replayHost: ReplayHost;

  /** @internal Tensor.reshape and empty() report the owning tensors they make. */
  track(t: Tensor): void {
    this.scopes.track(t);
    this.cap?.made(t, !this.scopes.persisting);
  }

  /**
   * Runs `fn` and then disposes every tensor made inside it (empty, zeros, upload, every kernel's output,
   * reshapes) except the ones it returns — a Tensor, or Tensors inside the returned array, Map, Set or plain
   * object, one level down or more — and the ones passed to `keep` meanwhile. Those move to the enclosing
   * scope, if any. Tensors disposed inside stay disposed; tensors made before the scope are not touched.
   * Synchronous: work recorded inside stays valid (disposal returns buffers to the pool in queue order).
   */
  scope<T>(fn: (keep: (t: Tensor) => Tensor) => T): T {
    return this.scopes.run(fn);
  }

  /** How many scopes are open now (for escape). */
  get scopeDepth(): number {
    return this.scopes.depth;
  }

  /**
   * The scopes opened since `depth` (a scopeDepth read earlier) keep `t`, as if passed to their `keep`: it
   * leaves them as they end and belongs to the scope that was innermost at `depth`, which frees it as any
   * tensor it made. For code inside scopes it did not open and holds no `keep` of: hook points hand a
   * capture out of the block's scope to the forward's caller. Returns t.
   */
  escape(t: Tensor, depth: number): Tensor {
    return this.scopes.escape(t, depth);
  }

  /**
   * Runs `fn` (synchronous) with scopes not collecting what it makes: for caches owned by something that
   * outlives the scope that first needs them (the RoPE tables, a KV cache's mask), which a scope would free.
   */
  persistent<T>(fn: () => T): T {
    return this.scopes.persistent(fn);
  }

  /**
   * scope() for async work: the same, over the awaits inside `fn`. Only for work that has the runtime to
   * itself meanwhile (the engine runs one request at a time): a tensor another task makes while this scope
   * is open would be collected by it.
   */
  scopeAsync<T>(fn: (keep: (t: Tensor) => Tensor) => Promise<T>): Promise<T> {
    return this.scopes.runAsync(fn);
  }

  /** A pooled tensor filled with zeros (recorded as a clear, in order with the dispatches). */
  zeros(shape: readonly number[], dtype: DType = 'f32', label = 'zeros'): Tensor {
    const t = this.empty(shape, dtype, label);
    this.encodeClear(t.buffer, 0, Math.max(4, t.byteLength));
    return t;
  }

  /** Set every element of `t` to zero, recorded in order with the dispatches (gradient buffers between steps). */
  clear(t: Tensor): void {
    t.assertLive();
    this.encodeClear(t.buffer, t.byteOffset, t.byteLength);
  }

  private encodeClear(buffer: GPUBuffer, offset: number, size: number): void {
    this.cap?.clear(buffer, offset, size);
    this.rec.clear(buffer, offset, size);
  }

  /** Upload host data. f16/bf16 take a Uint16Array of raw half bits (packed two per u32 here). */
  upload(data: HostArray | Uint16Array, shape: readonly number[], dtype?: DType, label = 'upload'): Tensor {
    const dt: DType = dtype ?? (data instanceof Float32Array ? 'f32' : data instanceof Int32Array ? 'i32' : data instanceof Uint32Array ? 'u32' : 'bf16');
    const n = numelOf(shape);
    if (data.length !== n) throw new Error(`${label}: ${data.length} values for shape [${shape}] (${n} elements)`);
    this.cap?.hostData('uploaded host data');
    const t = this.empty(shape, dt, label);
    let bytes: Uint8Array<ArrayBuffer>;
    if (dt === 'f16' || dt === 'bf16') {
      if (!(data instanceof Uint16Array)) throw new Error(`${label}: ${dt} upload takes a Uint16Array of half bits`);
      const padded = new Uint16Array(Math.ceil(n / 2) * 2); // little-endian: element 2i in the low half of word i
      padded.set(data);
      bytes = new Uint8Array(padded.buffer);
    } else {
      bytes = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
    }
    // writeBuffer is a queue operation: pending dispatches must go first to keep order
    this.rec.submit();
    this.device.queue.writeBuffer(t.buffer, 0, bytes);
    return t;
  }

  /** Copy a tensor to the host: f32 → Float32Array, i32 → Int32Array, u32/f16/bf16 → Uint32Array (raw words). */
  async read(t: Tensor): Promise<HostArray> {
    t.assertLive();
    this.cap?.hostData('read a tensor back');
    const bytes = Math.max(4, t.byteLength);
    const staging = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: `read:${t.label}` });
    this.rec.copy(t.buffer, t.byteOffset, staging, 0, bytes);
    this.rec.submit();
    try {
      await staging.mapAsync(GPUMapMode.READ);
    } catch (e) {
      this.ctx.throwIfFailed();
      throw new GpuError('internal', `reading ${t} back failed: ${(e as Error).message}`);
    }
    this.ctx.throwIfFailed();
    this.rec.waited();
    const copy = staging.getMappedRange().slice(0, t.byteLength);
    staging.unmap();
    staging.destroy();
    if (t.dtype === 'f32') return new Float32Array(copy);
    if (t.dtype === 'i32') return new Int32Array(copy);
    return new Uint32Array(copy);
  }

  /**
   * Copy `count` elements of `src` from element `srcAt` into `dst` at element `dstAt` (f32/i32/u32),
   * recorded in order with the dispatches (KV-cache writes, gathers of contiguous rows).
   */
  copy(src: Tensor, srcAt: number, dst: Tensor, dstAt: number, count: number): void {
    src.assertLive();
    dst.assertLive();
    if (src.dtype === 'f16' || src.dtype === 'bf16' || src.dtype !== dst.dtype) throw new Error(`copy ${src} → ${dst}: needs equal 32-bit dtypes`);
    if (srcAt < 0 || dstAt < 0 || srcAt + count > src.numel || dstAt + count > dst.numel) {
      throw new Error(`copy ${src}[${srcAt}..+${count}] → ${dst}[${dstAt}..]: out of range`);
    }
    if (src.buffer === dst.buffer) throw new Error(`copy ${src} → ${dst}: the same buffer (slices of one buffer cannot be copied into each other)`);
    if (count === 0) return;
    this.encodeCopy(src.buffer, src.byteOffset + srcAt * 4, dst.buffer, dst.byteOffset + dstAt * 4, count * 4);
  }

  private encodeCopy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.cap?.copy(src, srcOffset, dst, dstOffset, bytes);
    this.rec.copy(src, srcOffset, dst, dstOffset, bytes);
  }

  releaseBuffer(buffer: GPUBuffer): void {
    this.cap?.release(buffer);
    this.pool.release(buffer);
  }

  // ---- kernels -------------------------------------------------------------------------------

  /** Compiled pipeline for a spec and its override constants; compiled once, then cached. */
  pipeline(spec: KernelSpec, constants?: Record<string, number>): GPUComputePipeline {
    return this.kernels.pipeline(spec, constants);
  }

  get pipelineCount(): number {
    return this.kernels.pipelineCount;
  }

  // ---- profiling: one pass per dispatch with timestamps (slow; for benchmarks that ask for it) ----
  private prof: { sets: GPUQuerySet[]; names: string[]; cap: number } | null = null;

  /**
   * From now on every dispatch runs in its own timestamped pass (needs timestamp queries), for at
   * most `cap` dispatches (query sets of 2048 dispatches each: WebGPU allows 4096 queries per set).
   */
  startProfile(cap = 8192): boolean {
    if (!this.ctx.hasTimestamps) return false;
    this.rec.submit();
    const sets = Array.from({ length: Math.ceil(cap / 2048) }, () => this.device.createQuerySet({ type: 'timestamp', count: 4096, label: 'profile' }));
    this.prof = { sets, names: [], cap };
    return true;
  }

  /** Stops profiling; GPU ms per dispatch label (kernel [grid]), summed, largest first. */
  async stopProfile(): Promise<{ name: string; ms: number; count: number }[]> {
    const prof = this.prof;
    if (!prof) return [];
    this.rec.endPass();
    this.prof = null;
    const n = prof.names.length;
    const ts = n > 0 ? await this.readTimestamps(prof.sets.map((q, s) => ({ querySet: q, count: 2 * Math.max(0, Math.min(2048, n - s * 2048)) }))) : null;
    const rows = ts ? sumByLabel(prof.names, ts) : [];
    for (const q of prof.sets) q.destroy();
    return rows;
  }

  /** Record one dispatch of `spec`. Nothing runs until flush()/read()/sync(). */
  dispatch(spec: KernelSpec, args: DispatchArgs): void {
    const [x, y = 1, z = 1] = args.workgroups;
    const maxDim = this.maxWorkgroupsPerDim;
    if (x > maxDim || y > maxDim || z > maxDim) {
      throw new Error(`${spec.name}: dispatch [${x}, ${y}, ${z}] exceeds ${maxDim} workgroups per dimension`);
    }
    if (x === 0 || y === 0 || z === 0) return; // empty work
    const hasUniform = spec.bindings[0] === 'uniform';
    const nStorage = spec.bindings.length - (hasUniform ? 1 : 0);
    if (args.tensors.length !== nStorage) {
      throw new Error(`${spec.name}: expects ${nStorage} tensors, got ${args.tensors.length}`);
    }
    const uniform = hasUniform ? { arena: this.rec.arena, offset: this.rec.pushUniforms(new Uint8Array(args.uniforms ?? this.missingUniforms(spec))), size: args.uniforms!.byteLength } : null;
    const bindGroup = this.kernels.bindGroup(spec, args.tensors, uniform);
    const pipeline = this.pipeline(spec, args.constants);
    this.cap?.dispatch(spec, pipeline, bindGroup, args.tensors, args.uniforms, uniform ? uniform.offset : -1, x, y, z);
    const prof = this.prof && this.prof.names.length < this.prof.cap ? this.prof : null;
    if (prof) {
      const i = prof.names.length;
      prof.names.push(`${spec.name} [${x},${y},${z}]`);
      this.rec.beginProfiledPass(prof.sets[Math.floor(i / 2048)], i % 2048);
    }
    this.rec.dispatch(pipeline, bindGroup, x, y, z, prof !== null);
  }

  private missingUniforms(spec: KernelSpec): never {
    throw new Error(`${spec.name}: needs uniforms`);
  }

  // ---- submission ----------------------------------------------------------------------------

  /** Submit everything recorded so far. */
  flush(): void {
    this.cap?.flush();
    this.rec.submit();
  }

  /** Submit and wait until the GPU has finished; throws any GPU error seen meanwhile. */
  async sync(): Promise<void> {
    this.cap?.hostData('waited for the GPU');
    this.rec.submit();
    await this.device.queue.onSubmittedWorkDone();
    this.ctx.throwIfFailed();
    this.rec.waited();
  }

  /**
   * GPU time in milliseconds of the dispatches `record` makes, measured with timestamp queries
   * around one compute pass when the device has them, else fenced wall-clock (submit → done).
   */
  async timeGpu(record: () => void): Promise<{ ms: number; method: 'timestamp' | 'wallclock' }> {
    await this.sync();
    if (!this.ctx.hasTimestamps) {
      const t0 = performance.now();
      record();
      await this.sync();
      return { ms: performance.now() - t0, method: 'wallclock' };
    }
    const querySet = this.device.createQuerySet({ type: 'timestamp', count: 2, label: 'timeGpu' });
    this.rec.timing = { querySet };
    try {
      record();
    } finally {
      this.rec.timing = null;
    }
    this.rec.endPass();
    const [t0, t1] = await this.readTimestamps([{ querySet, count: 2 }]);
    querySet.destroy();
    return { ms: Number(t1 - t0) / 1e6, method: 'timestamp' };
  }

  /** The first `count` timestamps of each query set, read back in order (ns): submits what is recorded (timestamps.ts). */
  private readTimestamps(sets: { querySet: GPUQuerySet; count: number }[]): Promise<BigUint64Array> {
    return resolveTimestamps(this.device, this.rec.enc(), () => this.rec.submit(), sets, () => this.ctx.throwIfFailed());
  }

  destroy(): void {
    this.kernels.clear();
    this.rec.destroy();
    this.pool.trim();
    this.device.destroy();
  }
}
