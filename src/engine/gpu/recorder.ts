// The runtime's command recording (./runtime.ts). Dispatches accumulate in one command encoder (one compute pass
// between copies and clears) until submit(). Uniforms of all dispatches of a submit go into one arena buffer, written
// with a single queue.writeBuffer just before the submit; queue order makes reusing the arena safe. Long stretches
// of work are submitted in parts without waiting (autoFlushEvery), ramping up after each wait (autoFlushFirst).
// What is encoded here is already resolved (pipelines, bind groups): the Runtime and replayed logs (./replay.ts)
// both end here.

const ARENA_BYTES = 1 << 20;

export class Recorder {
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  /** the pipeline last set on the open pass (a repeated setPipeline is skipped) */
  private passPipeline: GPUComputePipeline | null = null;
  readonly arena: GPUBuffer;
  private arenaHost = new Uint8Array(ARENA_BYTES);
  private arenaUsed = 0;
  private readonly uniformAlign: number;
  /** a timed region (Runtime.timeGpu): one pass with timestamps at its ends, never split */
  timing: { querySet: GPUQuerySet } | null = null;
  /** dispatches recorded so far (all time); benchmarks read it to count CPU-side work */
  dispatchCount = 0;
  /** command buffers submitted so far (all time) */
  submitCount = 0;
  /** CPU time spent in submit() so far (all time, ms): the uniforms' write, finish() and queue.submit(), where Dawn
   *  turns the recorded dispatches into the backend's commands (benchmarks split a step's record with it) */
  submitMs = 0;
  /** compute passes begun so far (all time): a clear or copy between dispatches ends one, and each costs a native begin/end */
  passCount = 0;
  /** see Runtime.autoFlushEvery */
  autoFlushEvery = 256;
  /** see Runtime.autoFlushFirst */
  autoFlushFirst = 16;
  private sinceFlush = 0;
  /** the submit threshold while ramping up after a read/sync; 0 when not ramping */
  private flushRamp = 0;

  constructor(private readonly device: GPUDevice) {
    this.uniformAlign = Number(device.limits.minUniformBufferOffsetAlignment) || 256;
    this.arena = device.createBuffer({ size: ARENA_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: 'uniform-arena' });
  }

  enc(): GPUCommandEncoder {
    return (this.encoder ??= this.device.createCommandEncoder({ label: 'lab-batch' }));
  }

  private beginPass(): GPUComputePassEncoder {
    if (!this.pass) {
      const timestampWrites = this.timing ? { querySet: this.timing.querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } : undefined;
      this.pass = this.enc().beginComputePass({ label: 'lab-pass', timestampWrites });
      this.passPipeline = null;
      this.passCount++;
    }
    return this.pass;
  }

  /** Ends the open pass (a copy, clear or read comes next). */
  endPass(): void {
    if (this.timing && this.pass) throw new Error('a copy or clear inside a timed region would split its pass');
    this.pass?.end();
    this.pass = null;
  }

  /** Opens a pass of its own with timestamps at slot j of `querySet` (per-dispatch profiles). */
  beginProfiledPass(querySet: GPUQuerySet, j: number): void {
    this.endPass();
    this.pass = this.enc().beginComputePass({ label: 'profile-pass', timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * j, endOfPassWriteIndex: 2 * j + 1 } });
    this.passPipeline = null;
  }

  /** The uniform block's offset in the arena (submits first when the arena is full). */
  pushUniforms(data: Uint8Array): number {
    const offset = Math.ceil(this.arenaUsed / this.uniformAlign) * this.uniformAlign;
    if (offset + data.byteLength > ARENA_BYTES) {
      if (this.timing) throw new Error('too many dispatches inside one timed region (uniform arena full)');
      this.submit();
      return this.pushUniforms(data);
    }
    this.arenaHost.set(data, offset);
    this.arenaUsed = offset + data.byteLength;
    return offset;
  }

  /** The dispatch on the open pass (begun if none; ended after it with `ownPass`), then the auto-submit's count. */
  dispatch(pipeline: GPUComputePipeline, bindGroup: GPUBindGroup, x: number, y: number, z: number, ownPass = false): void {
    const pass = this.beginPass();
    if (pipeline !== this.passPipeline) {
      pass.setPipeline(pipeline);
      this.passPipeline = pipeline;
    }
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    if (ownPass) this.endPass();
    this.dispatchCount++;
    const every = this.flushRamp > 0 ? Math.min(this.flushRamp, this.autoFlushEvery) : this.autoFlushEvery;
    if (++this.sinceFlush >= every && this.autoFlushEvery > 0 && !this.timing) {
      this.submit();
      if (this.flushRamp > 0) this.flushRamp = 2 * this.flushRamp < this.autoFlushEvery ? 2 * this.flushRamp : 0;
    }
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.endPass();
    this.enc().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  clear(buffer: GPUBuffer, offset: number, size: number): void {
    this.endPass();
    this.enc().clearBuffer(buffer, offset, size);
  }

  /** Submits everything recorded so far (the arena's uniforms first). */
  submit(): void {
    if (!this.encoder) return;
    const t0 = performance.now();
    this.endPass();
    if (this.arenaUsed > 0) {
      this.device.queue.writeBuffer(this.arena, 0, this.arenaHost, 0, Math.ceil(this.arenaUsed / 4) * 4);
      this.arenaUsed = 0;
    }
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.sinceFlush = 0;
    this.submitCount++;
    this.submitMs += performance.now() - t0;
  }

  /** The GPU ran dry (a read or sync waited): the next submits ramp up from autoFlushFirst. */
  waited(): void {
    this.flushRamp = this.autoFlushFirst;
  }

  destroy(): void {
    this.encoder = null;
    this.pass = null;
    this.arena.destroy();
  }
}
