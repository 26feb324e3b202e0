// KV cache for incremental decoding: per layer, keys and values [B, S, Hkv, D] with S the capacity,
// written by rope_kv_write (shaders/) straight from the fused q|k|v projection.
// `length` positions are filled (the same for every sequence of the batch: left padding keeps the
// batch aligned); the attention kernel reads only keys j <= offset + i, so slots past the filled
// length are never read. A key mask [B, S] (1 = real token, 0 = padding) rides along for padded
// batches and is uploaded when it changes.
import type { Runtime } from '../gpu/runtime.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { ModelConfig } from './config.ts';

export class KVCache {
  readonly k: Tensor[] = []; // per layer [B, S, Hkv, D]
  readonly v: Tensor[] = [];
  length = 0;
  private mask: Int32Array; // [B, S] host copy
  private maskGpu: Tensor | null = null;
  private maskDirty = true;
  private hasPadding = false;

  constructor(
    private readonly rt: Runtime,
    cfg: ModelConfig,
    readonly batch: number,
    readonly capacity: number,
  ) {
    const shape = [batch, capacity, cfg.n_kv_heads, cfg.d_head];
    for (let l = 0; l < cfg.n_layers; l++) {
      this.k.push(rt.empty(shape, 'f32', `cache.k.${l}`));
      this.v.push(rt.empty(shape, 'f32', `cache.v.${l}`));
    }
    this.mask = new Int32Array(batch * capacity).fill(1);
  }

  /** Called once per forward, after every layer wrote its T positions. */
  advance(T: number): void {
    this.length += T;
  }

  /** Mark padding: keyMask[b][j] = 0 for positions j of sequence b that are padding. */
  setPadding(b: number, positions: Iterable<number>): void {
    for (const j of positions) {
      this.mask[b * this.capacity + j] = 0;
      this.hasPadding = true;
    }
    this.maskDirty = true;
  }

  /** The key mask on the GPU, or undefined when nothing is padded (the kernel then skips it). */
  maskTensor(): Tensor | undefined {
    if (!this.hasPadding) return undefined;
    if (this.maskDirty) {
      this.maskGpu?.dispose();
      this.maskGpu = this.rt.persistent(() => this.rt.upload(this.mask, [this.batch, this.capacity], 'i32', 'cache.mask')); // the cache's: no scope frees it
      this.maskDirty = false;
    }
    return this.maskGpu!;
  }

  dispose(): void {
    for (const t of [...this.k, ...this.v]) t.dispose();
    this.maskGpu?.dispose();
  }
}
