// Buffer pool: after warm-up, a training step or a decode step creates no GPU buffer.
//
// Sizes are rounded up to 8 steps per power of two (at most 12.5% waste), so a buffer freed by one
// op serves the next op of a similar size. Release is immediate: the GPU executes in queue order,
// so work recorded before the release still reads the old contents, and a later writer comes after.
//
// Repeated work (a training step, forwards of one shape) runs inside repeat(tag): its i-th acquire gets the
// buffer the i-th acquire of the last run with that tag got, when that buffer is free. Without this a
// step's buffers came back in a permuted order every step (a free list is a stack, and a step releases
// in another order than it acquires), so the runtime's cached bind groups (keyed by buffer) missed:
// measured on lavapipe, 1 741 of 2 202 dispatches of a LoRA step created a bind group each step.

/** Smallest pooled size >= bytes: multiples of 2^(floor(log2 n) - 3), and at least 16 bytes. */
export function bucketSize(bytes: number): number {
  const n = Math.max(16, Math.ceil(bytes));
  const step = 2 ** Math.max(2, Math.floor(Math.log2(n)) - 3);
  return Math.ceil(n / step) * step;
}

export interface PoolStats {
  /** createBuffer calls so far: flat after warm-up means no allocation in the loop. */
  created: number;
  bytesCreated: number;
  /** buffers handed out and not yet released */
  inUse: number;
  bytesInUse: number;
  bytesFree: number;
}

/** Acquires remembered per repeat(tag) at most (a step's are a few thousand): past it, no memory. */
const MAX_REMEMBERED = 1 << 16;
/** Tags remembered at most (forwards of many shapes make many): past it, the memory starts over. */
const MAX_TAGS = 256;

export class BufferPool {
  /** free buffers per bucket size; a Set so a remembered buffer can be taken out of the middle */
  private free = new Map<number, Set<GPUBuffer>>();
  private sizes = new WeakMap<GPUBuffer, number>();
  /** the buffers of each repeated stretch's acquires, in order, from its last run */
  private histories = new Map<string, GPUBuffer[]>();
  private history: GPUBuffer[] | null = null;
  private seq = 0;
  private stats: PoolStats = { created: 0, bytesCreated: 0, inUse: 0, bytesInUse: 0, bytesFree: 0 };
  /** counts trim()s: a replayed log (./replay.ts) of an older epoch may name destroyed buffers */
  epoch = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly maxBufferSize: number,
  ) {}

  acquire(bytes: number, label: string): GPUBuffer {
    const size = bucketSize(bytes);
    if (size > this.maxBufferSize) {
      throw new Error(`${label}: a buffer of ${bytes} bytes exceeds this GPU's maxBufferSize (${this.maxBufferSize})`);
    }
    const set = this.free.get(size);
    let buf: GPUBuffer | undefined;
    if (set?.size) {
      const remembered = this.history?.[this.seq];
      buf = remembered && set.has(remembered) ? remembered : set.values().next().value!;
      set.delete(buf);
      this.stats.bytesFree -= size;
      // (no relabel on reuse: setting a GPU label is a native call, ~5 µs in Dawn)
    } else {
      // (usage flags read at call time: in Node the GPU globals exist only once ./node.ts ran)
      const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
      buf = this.device.createBuffer({ size, usage, label });
      this.sizes.set(buf, size);
      this.stats.created++;
      this.stats.bytesCreated += size;
    }
    this.stats.inUse++;
    this.stats.bytesInUse += size;
    if (this.history && this.seq < MAX_REMEMBERED) this.history[this.seq++] = buf;
    return buf;
  }

  /** Takes `buf`, which must be free, out of the pool as an acquire would have handed it out (a replayed log: ./replay.ts). */
  take(buf: GPUBuffer): void {
    const size = this.sizes.get(buf);
    const set = size === undefined ? undefined : this.free.get(size);
    if (!set?.delete(buf)) throw new Error('pool: a replay took a buffer that is not free');
    this.stats.bytesFree -= size!;
    this.stats.inUse++;
    this.stats.bytesInUse += size!;
    if (this.history && this.seq < MAX_REMEMBERED) this.history[this.seq++] = buf;
  }

  /** Whether `buf` is one of the pool's and free now. */
  isFree(buf: GPUBuffer): boolean {
    const size = this.sizes.get(buf);
    return size !== undefined && (this.free.get(size)?.has(buf) ?? false);
  }

  /** Whether `buf` was made by the pool (acquire), not handed to it. */
  owns(buf: GPUBuffer): boolean {
    return this.sizes.has(buf);
  }

  /**
   * Runs `fn` as one repetition of the work named `tag` (see the header): returns what it returns, and
   * ends the repetition when it settles (a promise) or returns. Repetitions do not nest: an inner one
   * leaves the outer's memory alone and only the outermost counts.
   */
  repeat<T>(tag: string, fn: () => T): T {
    if (this.history) return fn();
    let h = this.histories.get(tag);
    if (!h) {
      if (this.histories.size >= MAX_TAGS) this.histories.clear();
      this.histories.set(tag, (h = []));
    }
    this.history = h;
    this.seq = 0;
    const end = () => {
      h.length = this.seq; // this run's acquires are what the next run follows
      this.history = null;
    };
    try {
      const r = fn();
      if (r instanceof Promise) return r.finally(end) as T;
      end();
      return r;
    } catch (e) {
      end();
      throw e;
    }
  }

  release(buf: GPUBuffer): void {
    const size = this.sizes.get(buf);
    if (size === undefined) {
      buf.destroy(); // not ours (an exact-size weight buffer): free it now
      return;
    }
    let set = this.free.get(size);
    if (!set) this.free.set(size, (set = new Set()));
    set.add(buf);
    this.stats.inUse--;
    this.stats.bytesInUse -= size;
    this.stats.bytesFree += size;
  }

  /** Destroy the free buffers (after a model is unloaded, say). */
  trim(): void {
    for (const set of this.free.values()) for (const b of set) b.destroy();
    this.free.clear();
    this.histories.clear();
    this.stats.bytesFree = 0;
    this.epoch++;
  }

  snapshot(): PoolStats {
    return { ...this.stats };
  }
}
