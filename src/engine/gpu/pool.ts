// Buffer pool: after warm-up, a training step or a decode step creates no GPU buffer.
//
// Sizes are rounded up to 8 steps per power of two (at most 12.5% waste), so a buffer freed by one
// op serves the next op of a similar size. Release is immediate: the GPU executes in queue order,
// so work recorded before the release still reads the old contents, and a later writer comes after.

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

export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  private sizes = new WeakMap<GPUBuffer, number>();
  private stats: PoolStats = { created: 0, bytesCreated: 0, inUse: 0, bytesInUse: 0, bytesFree: 0 };

  constructor(
    private readonly device: GPUDevice,
    private readonly maxBufferSize: number,
  ) {}

  acquire(bytes: number, label: string): GPUBuffer {
    const size = bucketSize(bytes);
    if (size > this.maxBufferSize) {
      throw new Error(`${label}: a buffer of ${bytes} bytes exceeds this GPU's maxBufferSize (${this.maxBufferSize})`);
    }
    const list = this.free.get(size);
    let buf = list?.pop();
    if (buf) {
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
    return buf;
  }

  release(buf: GPUBuffer): void {
    const size = this.sizes.get(buf);
    if (size === undefined) {
      buf.destroy(); // not ours (an exact-size weight buffer): free it now
      return;
    }
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(buf);
    this.stats.inUse--;
    this.stats.bytesInUse -= size;
    this.stats.bytesFree += size;
  }

  /** Destroy the free buffers (after a model is unloaded, say). */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.stats.bytesFree = 0;
  }

  snapshot(): PoolStats {
    return { ...this.stats };
  }
}
