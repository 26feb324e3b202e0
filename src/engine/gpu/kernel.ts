// The typed spec every kernel in shaders/ exports (CONVENTIONS §5), and the uniform packer.
//
// A kernel is: a WGSL source (imported from shaders/<name>.wgsl), an entry point, and the kinds of
// its bindings in @group(0) order. Bindings are declared explicitly (no 'auto' layout) so that a
// binding the compiler optimises away cannot shift the others. The host function beside it (in
// shaders/<name>.ts) checks shapes, packs uniforms and computes the dispatch.

export type BindingKind = 'uniform' | 'read' | 'storage';

export interface KernelSpec {
  /** File stem in shaders/, e.g. 'rmsnorm_forward'. Labels every GPU object made for it. */
  readonly name: string;
  /** WGSL source. */
  readonly code: string;
  readonly entryPoint?: string;
  /** @binding(i) of @group(0) is bindings[i]. 'read' = read-only storage, 'storage' = read_write. */
  readonly bindings: readonly BindingKind[];
}

export type UniformField = ['u32' | 'i32' | 'f32', number];

/**
 * Packs uniform values in declaration order, 4 bytes each, padded to 16 bytes: matches a WGSL
 * struct whose members are all u32/i32/f32 scalars in the same order.
 */
export function packUniforms(fields: readonly UniformField[]): ArrayBuffer {
  const buf = new ArrayBuffer(Math.max(16, Math.ceil((fields.length * 4) / 16) * 16));
  const dv = new DataView(buf);
  fields.forEach(([type, v], i) => {
    if (type === 'f32') dv.setFloat32(i * 4, v, true);
    else if (type === 'i32') dv.setInt32(i * 4, v, true);
    else {
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`uniform field ${i}: ${v} is not a u32`);
      dv.setUint32(i * 4, v, true);
    }
  });
  return buf;
}

/** ceil(a / b) for dispatch sizes. */
export const cdiv = (a: number, b: number): number => Math.ceil(a / b);

/** WebGPU's per-dimension workgroup-count limit (maxComputeWorkgroupsPerDimension default). */
export const MAX_WORKGROUPS_PER_DIM = 65535;

/**
 * Spreads `n` workgroups over x and y when n exceeds the per-dimension limit. A kernel using this
 * computes its linear workgroup index as `wid.x + wid.y * nwg.x` and returns when it is >= n.
 */
export function grid1d(n: number): [number, number, number] {
  if (n <= MAX_WORKGROUPS_PER_DIM) return [Math.max(1, n), 1, 1];
  const y = Math.ceil(n / MAX_WORKGROUPS_PER_DIM);
  return [Math.ceil(n / y), y, 1];
}
