// `npm run bench -- kernels`: GPU time per kernel and shape, as GFLOP/s and GB/s, beside PyTorch.
//
// Cases come from tools/bench/kernel_cases.json, the file tools/bench/torch_kernels.py also reads,
// so both sides time the same shapes. Each case: warm-up, then `inner` back-to-back dispatches per
// timed region (so a region lasts >= ~2 ms), GPU timestamps around the region when the adapter has
// them (else fenced wall-clock), median over repeats.
import { readFileSync } from 'node:fs';
import type { Runtime } from '../engine/gpu/runtime.ts';
import type { Tensor } from '../engine/gpu/tensor.ts';
import { toHalfBits } from '../engine/gpu/half.ts';
import { Rng } from '../engine/util/rng.ts';
import { matmul, matmulVec4Spec, matmulVersions, planColumnSplit, vec4Applies, writeOutKk, type MatmulOptions } from '../../shaders/matmul_forward.ts';
import vec4File from '../../shaders/matmul_forward_vec4.wgsl';
import { median } from './stats.ts';

export interface BenchCase {
  name: string;
  op: string;
  [dim: string]: string | number | boolean;
}

export interface BenchResult {
  name: string;
  version: string;
  ms: number;
  gflops: number | null;
  gbps: number;
  method: string;
}

interface Prepared {
  record: () => void;
  flops: number;
  bytes: number;
  tensors: Tensor[];
}

/** null: this version does not apply to this case (skipped) */
type Runner = (rt: Runtime, c: BenchCase, version: string) => Prepared | null;

const rng = new Rng(7);
function rand(rt: Runtime, shape: number[], label: string): Tensor {
  return rt.upload(rng.uniform(shape.reduce((a, b) => a * b, 1), -1, 1), shape, 'f32', label);
}
const n = (c: BenchCase, k: string): number => Number(c[k]);

/**
 * Matmul variants timed beside the versions (which run as the pickers choose): the vec4 kernel at the
 * other K step and at each tile, and split-K over vec4 (forced, whatever the runtime prefers; also at tile 64,
 * at S = 2, 8, 9 and 14 ranges, and at K step 8), so one run shows which the pickers and plans should take.
 */
export const MATMUL_VARIANTS: Record<string, MatmulOptions> = {
  'vec4-bk8': { version: 'vec4', bk: 8 },
  'vec4-t64': { version: 'vec4', tile: 64 },
  'vec4-t128': { version: 'vec4', tile: 128 },
  'vec4-128x64': { version: 'vec4', tile: 128, tileN: 64 },
  'vec4-64x128': { version: 'vec4', tile: 64, tileN: 128 },
  'vec4-prefetch': { version: 'vec4', prefetch: true },
  'vec4-noprefetch': { version: 'vec4', prefetch: false },
  // the grouped launch order (GROUP_M tile rows down before one column right: B's column tiles shared through L2)
  'vec4-g4': { version: 'vec4', groupM: 4 },
  'vec4-g8': { version: 'vec4', groupM: 8 },
  'vec4-g16': { version: 'vec4', groupM: 16 },
  // the column split (planColumnSplit; KernelPrefs.tail 'columns'): shapes without one are not timed under it
  'vec4-columns': { version: 'vec4' },
  'splitk-vec4': { version: 'splitk', splitInner: 'vec4' },
  'splitk-vec4-t64': { version: 'splitk', splitInner: 'vec4', tile: 64 },
  'splitk-vec4-s2': { version: 'splitk', splitInner: 'vec4', splits: 2 },
  'splitk-vec4-s8': { version: 'splitk', splitInner: 'vec4', splits: 8 },
  'splitk-vec4-s9': { version: 'splitk', splitInner: 'vec4', splits: 9 },
  'splitk-vec4-s14': { version: 'splitk', splitInner: 'vec4', splits: 14 },
  'splitk-vec4-bk8': { version: 'splitk', splitInner: 'vec4', bk: 8 },
  // the kk loops against the kernel's (the prefetch path 8 kk a turn, the 128 x 128 path the whole K step): both rolled
  // (the file as written), or both 2 or 8 kk a turn (at 128 x 128: 2-11 % slower than the whole step on the H100)
  'vec4-rolled': { version: 'vec4', vec4Spec: { ...matmulVec4Spec, name: 'matmul_forward_vec4~rolled', code: vec4File } },
  'vec4-kk2-all': { version: 'vec4', vec4Spec: { ...matmulVec4Spec, name: 'matmul_forward_vec4~kk2-all', code: writeOutKk(writeOutKk(vec4File, 2), 2) } },
  'vec4-kk8-all': { version: 'vec4', vec4Spec: { ...matmulVec4Spec, name: 'matmul_forward_vec4~kk8-all', code: writeOutKk(writeOutKk(vec4File, 8), 8) } },
};

/** A variant of the vec4 kernel's source (`bench -- kernels --vec4-variants <json>`): its file, and K step / tile. */
export interface Vec4Variant { name: string; file: string; bk?: 8 | 16 | 32; tile?: 64 | 128; tileN?: 64 | 128 }

/**
 * Times other sources of the vec4 kernel (same bindings, uniforms and pipeline constants) beside it, as matmul
 * versions named by each variant's name: a kernel tried on the GPU machine before it replaces the vec4 file. A
 * variant runs as its file is written, with its tile's row pitch set as the file's is (matmul_forward.ts pitchSpec),
 * but its kk loops are not written out (writeOutKk): the file itself as a variant times the loop rolled.
 */
export function addVec4Variants(list: Vec4Variant[]): void {
  for (const v of list) {
    if (!v.name || !v.file) throw new Error(`--vec4-variants: each entry needs a name and a file, got ${JSON.stringify(v)}`);
    const spec = { ...matmulVec4Spec, name: `matmul_forward_vec4~${v.name}`, code: readFileSync(v.file, 'utf8') };
    MATMUL_VARIANTS[v.name] = { version: 'vec4', vec4Spec: spec, bk: v.bk, tile: v.tile, tileN: v.tileN };
    runners.matmul.versions.push(v.name);
  }
}

/** One runner per op; each returns a `record` closure that writes into preallocated outputs. */
const runners: Record<string, { versions: string[]; run: Runner }> = {
  matmul: {
    versions: [...matmulVersions, ...Object.keys(MATMUL_VARIANTS)],
    run(rt, c, version) {
      const [M, N, K] = [n(c, 'M'), n(c, 'N'), n(c, 'K')];
      const [transA, transB] = [Boolean(c.transA), Boolean(c.transB)];
      let variant: MatmulOptions = MATMUL_VARIANTS[version] ?? { version: version as MatmulOptions['version'] };
      if (version === 'vec4-columns') {
        const columnSplit = c.tile === undefined ? planColumnSplit(M, N) : null;
        if (!columnSplit) return null;
        variant = { ...variant, columnSplit };
      }
      const usesVec4 = variant.version === 'vec4' || variant.version === 'vec4h' || (variant.splitInner ?? 'tiled') !== 'tiled';
      if (usesVec4 && !vec4Applies(M, N, K, { transA, transB, dtype: String(c.bdtype ?? 'f32') })) return null;
      if (variant.version === 'vec4h' && !rt.ctx.hasF16) return null; // mixed precision needs shader-f16
      const a = rand(rt, transA ? [K, M] : [M, K], 'a');
      let b: Tensor;
      if (c.bdtype === 'bf16' || c.bdtype === 'f16') {
        b = rt.upload(toHalfBits(rng.uniform(N * K), c.bdtype), transB ? [N, K] : [K, N], c.bdtype, 'b');
      } else {
        b = rand(rt, transB ? [N, K] : [K, N], 'b');
      }
      const out = rt.empty([M, N], 'f32', 'out');
      const opts: MatmulOptions = { ...variant, transA, transB, out, tile: c.tile === 64 || c.tile === 128 ? (c.tile as 64 | 128) : variant.tile };
      return { record: () => void matmul(rt, a, b, opts), flops: 2 * M * N * K, bytes: a.byteLength + b.byteLength + out.byteLength, tensors: [a, b, out] };
    },
  },
};

/** Registers the runner of an op (kernel modules that exist add theirs in bench/ops.ts). */
export function registerRunner(op: string, versions: readonly string[], run: Runner): void {
  runners[op] = { versions: [...versions], run };
}

export function loadCases(file = 'tools/bench/kernel_cases.json'): BenchCase[] {
  return (JSON.parse(readFileSync(file, 'utf8')) as { cases: BenchCase[] }).cases;
}

/** For a quick harness check on CPU Vulkan: every dimension capped at `cap`. */
export function shrink(c: BenchCase, cap: number): BenchCase {
  const out: BenchCase = { ...c };
  for (const [k, v] of Object.entries(c)) if (typeof v === 'number') out[k] = Math.min(v, cap);
  return out;
}

/** Wall time each version runs untimed before it is timed, so the GPU's clocks are up (see benchCase). */
export const WARM_MS = 150;

export async function benchCase(rt: Runtime, c: BenchCase, opts: { repeats: number; targetMs: number; versions?: string[] }): Promise<BenchResult[]> {
  const r = runners[c.op];
  if (!r) return [];
  const out: BenchResult[] = [];
  for (const version of r.versions) {
    if (opts.versions && !opts.versions.includes(version)) continue;
    const p = r.run(rt, c, version);
    if (!p) continue;
    try {
      for (let i = 0; i < 3; i++) p.record(); // warm-up: pipelines compiled, pool filled
      await rt.sync();
      // then keep the GPU busy for WARM_MS: an idle GPU clocks down (an H100 idles at 345 MHz, 1980 under load) and
      // the probe below would time the clock ramp and pick too few repetitions (seen: every case after the first
      // 2-3x slow in runs where the cases before left the GPU idle; PyTorch's own loops keep it up)
      for (const t0 = performance.now(); performance.now() - t0 < WARM_MS; ) {
        for (let i = 0; i < 8; i++) p.record();
        await rt.sync();
      }
      const probe = await rt.timeGpu(p.record);
      const inner = Math.max(1, Math.min(200, Math.ceil(opts.targetMs / Math.max(probe.ms, 1e-3))));
      const times: number[] = [];
      let method = probe.method;
      for (let i = 0; i < opts.repeats; i++) {
        const t = await rt.timeGpu(() => {
          for (let j = 0; j < inner; j++) p.record();
        });
        times.push(t.ms / inner);
        method = t.method;
      }
      const ms = median(times);
      out.push({ name: c.name, version, ms, gflops: p.flops ? p.flops / ms / 1e6 : null, gbps: p.bytes / ms / 1e6, method });
    } finally {
      for (const t of p.tensors) t.dispose();
    }
  }
  return out;
}
