// `npm run bench -- features [--sizes 256,2048] [--json out]` (issue 14, item 2): what Dawn exposes on this
// machine's GPU, with its default toggles and with allow_unsafe_apis — the adapter's features, subgroup
// sizes and subgroup-matrix (cooperative matrix) configurations — then, on a device with what it offers:
// an f16 shader computed and checked, and, where subgroup matrices exist, an f16 × f16 → f32 matmul made of
// them (one subgroup a 4 × 4 block of tiles, straight from global memory: a first look at the tensor cores,
// not a tuned kernel), checked against a float64 sum on sampled entries and timed (wall clock of back-to-back
// dispatches). Node only (it creates Dawn instances with its own flags).
import { writeFileSync } from 'node:fs';
import { parseArgs } from '../cli/args.ts';
import { toHalfBits } from '../engine/gpu/half.ts';

interface SgmConfig { componentType: string; resultComponentType: string; M: number; N: number; K: number }
interface FlagReport { features: string[]; info: Record<string, unknown>; subgroupMatrixConfigs: SgmConfig[]; wgslLanguageFeatures: string[] }

const FLAG_SETS: Record<string, string[]> = { default: [], allow_unsafe_apis: ['enable-dawn-features=allow_unsafe_apis'] };

export async function featuresBench(argv: string[]): Promise<void> {
  const p = parseArgs(argv, { values: ['sizes', 'json'] });
  const sizes = (p.values.get('sizes') ?? '256,2048').split(',').map(Number);
  const mod = (await import('webgpu')) as unknown as { create(flags: string[]): GPU; globals: object };
  Object.assign(globalThis, mod.globals);
  const report: Record<string, unknown> = {};
  let unsafe: GPUAdapter | null = null;
  for (const [name, flags] of Object.entries(FLAG_SETS)) {
    const gpu = mod.create(flags);
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) throw new Error(`no WebGPU adapter (${name})`);
    const info = adapter.info as unknown as Record<string, unknown>;
    const cfgs = (info.subgroupMatrixConfigs as SgmConfig[] | undefined) ?? [];
    const r: FlagReport = {
      features: [...adapter.features].sort(),
      info: Object.fromEntries(['vendor', 'architecture', 'device', 'description', 'subgroupMinSize', 'subgroupMaxSize'].map((k) => [k, info[k]])),
      subgroupMatrixConfigs: [...cfgs].map((c) => ({ componentType: c.componentType, resultComponentType: c.resultComponentType, M: c.M, N: c.N, K: c.K })),
      wgslLanguageFeatures: [...(gpu.wgslLanguageFeatures ?? [])].sort(),
    };
    report[name] = r;
    console.log(`${name}: ${r.info.description} (${r.info.vendor}, ${r.info.architecture}); subgroups ${r.info.subgroupMinSize}-${r.info.subgroupMaxSize}`);
    console.log(`  features: ${r.features.join(', ')}`);
    console.log(`  subgroup-matrix configs: ${r.subgroupMatrixConfigs.length ? r.subgroupMatrixConfigs.map((c) => `${c.componentType}->${c.resultComponentType} ${c.M}x${c.N}x${c.K}`).join(', ') : 'none'}`);
    if (name === 'allow_unsafe_apis') unsafe = adapter;
  }
  const checks = await deviceChecks(unsafe!, (report.allow_unsafe_apis as FlagReport).subgroupMatrixConfigs, sizes);
  report.checks = checks;
  const json = p.values.get('json');
  if (json) writeFileSync(json, JSON.stringify(report, null, 1));
}

async function deviceChecks(adapter: GPUAdapter, cfgs: SgmConfig[], sizes: number[]): Promise<Record<string, unknown>> {
  const want = (['shader-f16', 'subgroups', 'chromium-experimental-subgroup-matrix'] as string[]).filter((f) => adapter.features.has(f as GPUFeatureName));
  const lim = adapter.limits;
  const dev = await adapter.requestDevice({ requiredFeatures: want as GPUFeatureName[], requiredLimits: { maxStorageBufferBindingSize: lim.maxStorageBufferBindingSize, maxBufferSize: lim.maxBufferSize } });
  const out: Record<string, unknown> = { deviceFeatures: [...dev.features].sort() };
  const errors: string[] = [];
  dev.addEventListener('uncapturederror', (e) => errors.push((e as GPUUncapturedErrorEvent).error.message));
  const storage = (bytes: ArrayBufferView, usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST) => {
    const b = dev.createBuffer({ size: Math.max(16, Math.ceil(bytes.byteLength / 4) * 4), usage });
    dev.queue.writeBuffer(b, 0, bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return b;
  };
  const readF32 = async (b: GPUBuffer, n: number) => {
    const r = dev.createBuffer({ size: n * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const e = dev.createCommandEncoder();
    e.copyBufferToBuffer(b, 0, r, 0, n * 4);
    dev.queue.submit([e.finish()]);
    await r.mapAsync(GPUMapMode.READ);
    const x = new Float32Array(r.getMappedRange().slice(0));
    r.destroy();
    return x;
  };
  const pipeline = async (code: string, label: string) => {
    dev.pushErrorScope('validation');
    const module = dev.createShaderModule({ code, label });
    const msgs = (await module.getCompilationInfo()).messages.filter((m) => m.type === 'error').map((m) => m.message);
    const p = dev.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label });
    const err = await dev.popErrorScope();
    if (err || msgs.length) throw new Error(`${label}: ${[...msgs, err?.message].filter(Boolean).join('; ')}`);
    return p;
  };

  // ---- f16 arithmetic ----
  if (dev.features.has('shader-f16')) {
    try {
      const p = await pipeline('enable f16;\n@group(0) @binding(0) var<storage, read_write> o: array<f32>;\n@compute @workgroup_size(1) fn main() { let a = vec4<f16>(1.5h, 3.0h, -2.25h, 0.125h); o[0] = f32(dot(a, a)); }', 'f16-check');
      const o = storage(new Float32Array(4));
      const e = dev.createCommandEncoder();
      const pass = e.beginComputePass();
      pass.setPipeline(p);
      pass.setBindGroup(0, dev.createBindGroup({ layout: p.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: o } }] }));
      pass.dispatchWorkgroups(1);
      pass.end();
      dev.queue.submit([e.finish()]);
      const got = (await readF32(o, 1))[0], want = 1.5 ** 2 + 3 ** 2 + 2.25 ** 2 + 0.125 ** 2;
      out.f16 = { ok: got === want, got, want };
      console.log(`shader-f16: dot of a vec4<f16> = ${got} (exact: ${want}) ${got === want ? 'ok' : 'WRONG'}`);
    } catch (e) {
      out.f16 = { ok: false, error: (e as Error).message };
      console.log(`shader-f16: ${(e as Error).message}`);
    }
  } else console.log('shader-f16: not offered');

  // ---- subgroup matrices: f16 x f16 -> f32 ----
  const c = cfgs.find((x) => x.componentType === 'f16' && x.resultComponentType === 'f32');
  if (!dev.features.has('chromium-experimental-subgroup-matrix' as GPUFeatureName) || !c) {
    console.log(`subgroup matrices: ${cfgs.length ? 'no f16 -> f32 configuration' : 'not offered'}`);
    out.subgroupMatrix = { offered: false };
    return out;
  }
  const TM = 4, TN = 4; // tiles per subgroup
  const code = `enable f16;
enable chromium_experimental_subgroup_matrix;
@group(0) @binding(0) var<storage, read> A: array<f16>;   // [M, K] row-major
@group(0) @binding(1) var<storage, read> B: array<f16>;   // [K, N] row-major
@group(0) @binding(2) var<storage, read_write> C: array<f32>; // [M, N] row-major
@group(0) @binding(3) var<uniform> u: vec4<u32>;          // M, N, K
@compute @workgroup_size(${adapter.info.subgroupMaxSize || 32}) fn main(@builtin(workgroup_id) w: vec3u) {
  let m0 = w.y * ${TM * c.M}u;
  let n0 = w.x * ${TN * c.N}u;
  var acc: array<subgroup_matrix_result<f32, ${c.N}, ${c.M}>, ${TM * TN}>;
  for (var k = 0u; k < u.z; k += ${c.K}u) {
    var l: array<subgroup_matrix_left<f16, ${c.K}, ${c.M}>, ${TM}>;
    var r: array<subgroup_matrix_right<f16, ${c.N}, ${c.K}>, ${TN}>;
    for (var i = 0u; i < ${TM}u; i++) { l[i] = subgroupMatrixLoad<subgroup_matrix_left<f16, ${c.K}, ${c.M}>>(&A, (m0 + i * ${c.M}u) * u.z + k, false, u.z); }
    for (var j = 0u; j < ${TN}u; j++) { r[j] = subgroupMatrixLoad<subgroup_matrix_right<f16, ${c.N}, ${c.K}>>(&B, k * u.y + n0 + j * ${c.N}u, false, u.y); }
    for (var i = 0u; i < ${TM}u; i++) { for (var j = 0u; j < ${TN}u; j++) { acc[i * ${TN}u + j] = subgroupMatrixMultiplyAccumulate(l[i], r[j], acc[i * ${TN}u + j]); } }
  }
  for (var i = 0u; i < ${TM}u; i++) { for (var j = 0u; j < ${TN}u; j++) { subgroupMatrixStore(&C, (m0 + i * ${c.M}u) * u.y + n0 + j * ${c.N}u, acc[i * ${TN}u + j], false, u.y); } }
}`;
  const rows: Record<string, unknown>[] = [];
  try {
    const p = await pipeline(code, 'subgroup-matrix-matmul');
    for (const S of sizes) {
      if (S % (TM * c.M) || S % (TN * c.N) || S % c.K) continue;
      // values on a 1/8 grid in [-1, 1]: exact in f16, products and sums exact in f32 up to K = 2^11
      const grid = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => (((i * 2654435761 + seed) >>> 0) % 17 - 8) / 8);
      const a = grid(S * S, 1), b = grid(S * S, 7);
      const bA = storage(toHalfBits(a, 'f16')), bB = storage(toHalfBits(b, 'f16')), bC = storage(new Float32Array(S * S)), bU = storage(new Uint32Array([S, S, S, 0]), GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
      const bg = dev.createBindGroup({ layout: p.getBindGroupLayout(0), entries: [bA, bB, bC, bU].map((buffer, binding) => ({ binding, resource: { buffer } })) });
      const run = (reps: number) => {
        const e = dev.createCommandEncoder();
        const pass = e.beginComputePass();
        pass.setPipeline(p);
        pass.setBindGroup(0, bg);
        for (let i = 0; i < reps; i++) pass.dispatchWorkgroups(S / (TN * c.N), S / (TM * c.M));
        pass.end();
        dev.queue.submit([e.finish()]);
        return dev.queue.onSubmittedWorkDone();
      };
      await run(1);
      const got = await readF32(bC, S * S);
      let maxErr = 0;
      for (let t = 0; t < 64; t++) {
        const i = (t * 7919) % S, j = (t * 104729) % S;
        let s = 0;
        for (let k = 0; k < S; k++) s += a[i * S + k] * b[k * S + j];
        maxErr = Math.max(maxErr, Math.abs(s - got[i * S + j]));
      }
      const reps = S >= 2048 ? 20 : 100;
      await run(3);
      const t0 = performance.now();
      await run(reps);
      const ms = (performance.now() - t0) / reps;
      const row = { size: S, ms, tflops: (2 * S ** 3) / ms / 1e9, maxAbsErr: maxErr };
      rows.push(row);
      console.log(`subgroup-matrix f16->f32 matmul ${S}^3: ${ms.toFixed(4)} ms, ${row.tflops.toFixed(1)} TFLOP/s, max |err| ${maxErr} on 64 sampled entries (exact inputs)`);
      for (const x of [bA, bB, bC, bU]) x.destroy();
    }
    out.subgroupMatrix = { offered: true, config: c, rows, errors };
  } catch (e) {
    out.subgroupMatrix = { offered: true, config: c, error: (e as Error).message };
    console.log(`subgroup matrices: ${(e as Error).message}`);
  }
  return out;
}
