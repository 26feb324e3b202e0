// What the runtime keeps per kernel so a dispatch costs little CPU: bind group layouts (per kernel name),
// compiled pipelines (per spec and override constants), and bind groups (per buffer, offset and size of
// each binding). Bind groups cost ~40 µs each to create in Dawn (measured: 43 of 66 µs per dispatch).
// Inside Runtime.repeat() the pool hands a step the buffers its last run got, and the uniform arena fills
// in the same order, so a training step or a forward of one shape finds every bind group it needs here
// from its third run on (a decode step's buffers recur without it).
import type { KernelSpec } from './kernel.ts';
import type { Tensor } from './tensor.ts';

/** bind groups kept; past this the cache starts over (a step's worth is a few thousand) */
const MAX_CACHED_BIND_GROUPS = 50_000;

export class KernelCache {
  private pipelines = new Map<string, GPUComputePipeline>();
  private specPipelines = new WeakMap<KernelSpec, Map<string, GPUComputePipeline>>();
  /** by the constants object itself, for callers that reuse one per configuration (no key string per dispatch) */
  private constPipelines = new WeakMap<Record<string, number>, Map<KernelSpec, GPUComputePipeline>>();
  private layouts = new Map<string, GPUBindGroupLayout>();
  /** by the hash of the key's integers (hashInts); each entry keeps its key to tell collisions apart */
  private bindGroups = new Map<number, { key: number[]; bindGroup: GPUBindGroup }[]>();
  private bindGroupCount = 0;
  private keyScratch: number[] = [];
  private bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 1;
  private specIds = new WeakMap<KernelSpec, number>();
  private nextSpecId = 1;
  /** bind groups created so far (cache misses; flat after a step's warm-up when the pool repeats) */
  bindGroupsCreated = 0;

  constructor(private readonly device: GPUDevice) {}

  layoutFor(spec: KernelSpec): GPUBindGroupLayout {
    let layout = this.layouts.get(spec.name);
    if (!layout) {
      const entries: GPUBindGroupLayoutEntry[] = spec.bindings.map((kind, binding) => ({
        binding,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: kind === 'uniform' ? 'uniform' : kind === 'read' ? 'read-only-storage' : 'storage' },
      }));
      layout = this.device.createBindGroupLayout({ entries, label: spec.name });
      this.layouts.set(spec.name, layout);
    }
    return layout;
  }

  /**
   * Compiled pipeline for a spec and its override constants; compiled once, then cached. A caller that passes the
   * same frozen constants object for the same configuration (matmul does) is found by that object, without a key
   * string.
   */
  pipeline(spec: KernelSpec, constants?: Record<string, number>): GPUComputePipeline {
    const byObject = constants && this.constPipelines.get(constants);
    const hit = byObject?.get(spec);
    if (hit) return hit;
    const p = this.pipelineByKey(spec, constants);
    // only frozen objects (matmul's canonical ones) are kept by identity: a fresh object per dispatch would add an
    // entry per dispatch
    if (constants && Object.isFrozen(constants)) {
      if (byObject) byObject.set(spec, p);
      else this.constPipelines.set(constants, new Map([[spec, p]]));
    }
    return p;
  }

  private pipelineByKey(spec: KernelSpec, constants?: Record<string, number>): GPUComputePipeline {
    // per spec object, by the constants in the caller's key order (one short string, no sort: a call site
    // writes its keys in one order); a miss looks the pipeline up by the sorted key, so another order finds it too
    let ukey = '';
    if (constants) for (const k in constants) ukey += `${k}=${constants[k]},`;
    let bySpec = this.specPipelines.get(spec);
    if (!bySpec) this.specPipelines.set(spec, (bySpec = new Map()));
    let p = bySpec.get(ukey);
    if (p) return p;
    const ckey = constants ? Object.keys(constants).sort().map((k) => `${k}=${constants[k]}`).join(',') : '';
    // the source's hash, not only its length: matmul's per-tile sources differ in a constant's digits alone
    const key = `${spec.name}|${spec.entryPoint ?? 'main'}|${ckey}|${this.codeKey(spec)}`;
    p = this.pipelines.get(key);
    if (!p) {
      const module = this.device.createShaderModule({ code: spec.code, label: spec.name });
      p = this.device.createComputePipeline({
        label: key,
        layout: this.device.createPipelineLayout({ bindGroupLayouts: [this.layoutFor(spec)], label: spec.name }),
        compute: { module, entryPoint: spec.entryPoint ?? 'main', constants },
      });
      this.pipelines.set(key, p);
    }
    bySpec.set(ukey, p);
    return p;
  }

  private codeKeys = new WeakMap<KernelSpec, string>();
  /** length and FNV-1a hash of a spec's source, computed once per spec object */
  private codeKey(spec: KernelSpec): string {
    let k = this.codeKeys.get(spec);
    if (k === undefined) {
      let h = 0x811c9dc5;
      for (let i = 0; i < spec.code.length; i++) h = Math.imul(h ^ spec.code.charCodeAt(i), 0x01000193);
      this.codeKeys.set(spec, (k = `${spec.code.length}:${(h >>> 0).toString(16)}`));
    }
    return k;
  }

  get pipelineCount(): number {
    return this.pipelines.size;
  }

  /**
   * The bind group of `spec` over `tensors` (in binding order after the uniform), with the uniform block at
   * `uniform` (its offset and size in `arena`) when the spec has one; made on a miss.
   */
  bindGroup(spec: KernelSpec, tensors: readonly Tensor[], uniform: { arena: GPUBuffer; offset: number; size: number } | null): GPUBindGroup {
    // the key: integers (spec, uniform offset and size, each binding's buffer, offset and size) hashed to a number,
    // compared in full on a hit; building a key string took ~1-3 µs a dispatch (a step records thousands)
    const key = this.keyScratch;
    key.length = 0;
    key.push(this.specId(spec), uniform ? uniform.offset : -1, uniform ? uniform.size : -1);
    for (const t of tensors) {
      t.assertLive();
      key.push(this.bufferId(t.buffer), t.byteOffset, t.byteLength);
    }
    return this.found(key) ?? this.make(spec, key, tensors.map((t) => ({ buffer: t.buffer, offset: t.byteOffset, size: t.byteLength })), uniform);
  }

  /** bindGroup() over raw bindings (a replayed dispatch whose uniform block moved: ./replay.ts). */
  bindGroupOf(spec: KernelSpec, bindings: readonly { buffer: GPUBuffer; offset: number; size: number }[], uniform: { arena: GPUBuffer; offset: number; size: number } | null): GPUBindGroup {
    const key = this.keyScratch;
    key.length = 0;
    key.push(this.specId(spec), uniform ? uniform.offset : -1, uniform ? uniform.size : -1);
    for (const b of bindings) key.push(this.bufferId(b.buffer), b.offset, b.size);
    return this.found(key) ?? this.make(spec, key, bindings, uniform);
  }

  private found(key: readonly number[]): GPUBindGroup | undefined {
    const bucket = this.bindGroups.get(hashInts(key));
    if (bucket) for (const e of bucket) if (sameInts(e.key, key)) return e.bindGroup;
    return undefined;
  }

  private make(spec: KernelSpec, key: readonly number[], bindings: readonly { buffer: GPUBuffer; offset: number; size: number }[], uniform: { arena: GPUBuffer; offset: number; size: number } | null): GPUBindGroup {
    const entries: GPUBindGroupEntry[] = [];
    if (uniform) entries.push({ binding: 0, resource: { buffer: uniform.arena, offset: uniform.offset, size: uniform.size } });
    const first = uniform ? 1 : 0;
    bindings.forEach((b, i) => entries.push({ binding: i + first, resource: { buffer: b.buffer, offset: b.offset, size: Math.max(4, b.size) } }));
    const bindGroup = this.device.createBindGroup({ layout: this.layoutFor(spec), entries, label: spec.name });
    this.bindGroupsCreated++;
    if (this.bindGroupCount >= MAX_CACHED_BIND_GROUPS) {
      this.bindGroups.clear();
      this.bindGroupCount = 0;
    }
    const h = hashInts(key);
    const e = { key: key.slice(), bindGroup };
    const b = this.bindGroups.get(h);
    if (b) b.push(e);
    else this.bindGroups.set(h, [e]);
    this.bindGroupCount++;
    return bindGroup;
  }

  /** Forgets the bind groups (the runtime is going away; they hold its buffers). */
  clear(): void {
    this.bindGroups.clear();
    this.bindGroupCount = 0;
  }

  private specId(spec: KernelSpec): number {
    let id = this.specIds.get(spec);
    if (id === undefined) this.specIds.set(spec, (id = this.nextSpecId++));
    return id;
  }

  private bufferId(b: GPUBuffer): number {
    let id = this.bufferIds.get(b);
    if (id === undefined) this.bufferIds.set(b, (id = this.nextBufferId++));
    return id;
  }
}

/** FNV-1a over 32-bit words of non-negative integers below 2^53 (or -1): both halves of each value. */
export function hashInts(xs: readonly number[]): number {
  let h = 0x811c9dc5;
  for (const x of xs) {
    h = Math.imul(h ^ (x | 0), 0x01000193);
    h = Math.imul(h ^ ((x / 0x100000000) | 0), 0x01000193);
  }
  return h >>> 0;
}

function sameInts(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
