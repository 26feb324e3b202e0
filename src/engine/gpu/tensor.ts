// Tensors: a GPU buffer with a shape and a dtype. Row-major, contiguous, no strides: every kernel
// states the layout it reads in its header, and views are made by the ops, not by the tensor.
// A tensor may start at a byte offset in its buffer (slice(): many small tensors in one buffer, so
// one dispatch can update all of them, e.g. AdamW over every LoRA matrix); the runtime binds
// (buffer, byteOffset, byteLength), so kernels never see the offset.
//
// Half-precision weights are stored without the `shader-f16` feature: two values packed in one u32
// (element 2i in the low 16 bits, 2i+1 in the high), unpacked in the shader (WEBGPU_TESTING.md).

export type DType = 'f32' | 'i32' | 'u32' | 'f16' | 'bf16';

/** Bytes a tensor of `numel` elements takes on the GPU (rounded up to whole u32 words). */
export function byteLength(numel: number, dtype: DType): number {
  if (dtype === 'f16' || dtype === 'bf16') return Math.ceil(numel / 2) * 4;
  return numel * 4;
}

export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`bad tensor shape [${shape.join(', ')}]: dimensions must be non-negative integers`);
    n *= d;
  }
  return n;
}

export interface TensorOwner {
  releaseBuffer(buffer: GPUBuffer): void;
  /** told of each owning tensor made (its scopes collect them: Runtime.scope) */
  track?(t: Tensor): void;
}

export class Tensor {
  readonly numel: number;
  readonly byteLength: number;
  private disposed = false;

  constructor(
    readonly owner: TensorOwner,
    readonly buffer: GPUBuffer,
    readonly shape: readonly number[],
    readonly dtype: DType,
    readonly label: string,
    /** where the tensor starts in its buffer (0 unless a slice) */
    readonly byteOffset = 0,
  ) {
    this.numel = numelOf(shape);
    this.byteLength = byteLength(this.numel, dtype);
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** The tensor that owns the buffer: itself, or a view's or slice's parent (what a scope must keep for it). */
  root(): Tensor {
    return this;
  }

  /** Same buffer, another shape with the same element count (no copy). The view must not outlive this tensor. */
  view(shape: readonly number[]): Tensor {
    if (numelOf(shape) !== this.numel) throw new Error(`cannot view ${this.label} [${this.shape}] as [${shape}]`);
    return new TensorView(this, shape);
  }

  /**
   * Elements [at, at + numel(shape)) of this 32-bit tensor as a tensor of `shape` (no copy, not
   * owning: it must not outlive this tensor). The start must be a multiple of SLICE_ALIGN bytes,
   * the most any WebGPU device asks of a storage binding's offset.
   */
  slice(at: number, shape: readonly number[], label = this.label): Tensor {
    if (this.dtype === 'f16' || this.dtype === 'bf16') throw new Error(`slice: ${this} is half precision (two values per word)`);
    const n = numelOf(shape);
    if (!Number.isInteger(at) || at < 0 || at + n > this.numel) throw new Error(`slice: [${at}, ${at + n}) is outside ${this}`);
    const off = this.byteOffset + 4 * at;
    if (off % SLICE_ALIGN !== 0) throw new Error(`slice: byte offset ${off} of ${label} is not a multiple of ${SLICE_ALIGN}`);
    return new TensorView(this, shape, off, label);
  }

  /**
   * The same buffer under another shape, taking ownership: this tensor counts as moved (using or
   * disposing it afterwards is an error / a no-op) and the returned one must be disposed instead.
   */
  reshape(shape: readonly number[]): Tensor {
    this.assertLive();
    if (numelOf(shape) !== this.numel) throw new Error(`cannot reshape ${this.label} [${this.shape}] to [${shape}]`);
    const t = new Tensor(this.owner, this.buffer, shape, this.dtype, this.label, this.byteOffset);
    this.disposed = true; // moved: the buffer now belongs to t
    this.owner.track?.(t);
    return t;
  }

  /** Give the buffer back to the pool. Work already recorded that reads it stays valid (queue order). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.owner.releaseBuffer(this.buffer);
  }

  assertLive(): void {
    if (this.disposed) throw new Error(`tensor ${this.label} [${this.shape}] was used after dispose()`);
  }

  toString(): string {
    return `${this.label}[${this.shape.join(',')}]:${this.dtype}`;
  }
}

/** Bytes a slice's start must be a multiple of (WebGPU's minStorageBufferOffsetAlignment is at most 256). */
export const SLICE_ALIGN = 256;

/** n 32-bit values rounded up to where the next slice may start (a multiple of SLICE_ALIGN bytes). */
export const sliceAligned = (n: number): number => Math.ceil(n / (SLICE_ALIGN / 4)) * (SLICE_ALIGN / 4);

/** A view or slice of `parent` (not owning) with this shape, start and label: a replayed log's rebuilt result (./replay.ts). */
export function viewOf(parent: Tensor, shape: readonly number[], byteOffset: number, label: string): Tensor {
  return new TensorView(parent, shape, byteOffset, label);
}

/** A reshaped view or a slice: shares its parent's buffer; disposing it does nothing. */
class TensorView extends Tensor {
  constructor(
    private readonly parent: Tensor,
    shape: readonly number[],
    byteOffset = parent.byteOffset,
    label = parent.label,
  ) {
    super(parent.owner, parent.buffer, shape, parent.dtype, label, byteOffset);
  }
  override get isDisposed(): boolean {
    return this.parent.isDisposed;
  }
  override root(): Tensor {
    return this.parent.root();
  }
  override dispose(): void {}
  override assertLive(): void {
    this.parent.assertLive();
  }
}

/** Throws unless `t` has exactly `shape` (-1 matches any size) and, if given, `dtype`. */
export function expectShape(t: Tensor, shape: readonly number[], what: string, dtypes?: readonly DType[]): void {
  const ok = t.shape.length === shape.length && shape.every((d, i) => d === -1 || d === t.shape[i]);
  if (!ok) throw new Error(`${what}: expected shape [${shape.map((d) => (d === -1 ? '*' : d)).join(', ')}], got ${t}`);
  if (dtypes && !dtypes.includes(t.dtype)) throw new Error(`${what}: expected dtype ${dtypes.join('|')}, got ${t}`);
}
