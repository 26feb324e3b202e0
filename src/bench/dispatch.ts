// `npm run bench -- dispatch [--n 2000] [--rows 1024] [--cols 896] [--rank 16] [--json out]`: what one dispatch costs
// in the GPU's stream and on the CPU that records it. Each case records n dispatches with no submit in between
// (Runtime.autoFlushEvery = 0), then submits once and reads: GPU µs a dispatch = (submit → read done) / n, CPU µs a
// dispatch = record time / n. Unlike `bench -- sft --profile` (each dispatch in its own timestamped pass, ~20 µs of
// it the pass itself on an H100), this is a dispatch's cost where a step runs it. Cases: the floor (add_scale on 16
// floats, each dispatch reading the last one's output, or all independent), a memory-bound add on [rows, cols], and
// the LoRA products of a [rows, cols] → r adapter: x·Aᵀ (matmul_skinny), dx += dxa·A as the vec4 matmul runs it and
// as matmul_short_k does; q, k and v's x·Aᵀ apart (three dispatches) or stacked (one, n = 3r); lora_forward's
// y += s·xa·Bᵀ; the weight gradients dB += s·dyᵀ·xa and dA += dxaᵀ·x, four at a time as a layer's backward runs
// them, through split-K with its reduces batched four to a dispatch or through matmul_atb. Times are per iteration of a case (its dispatches column). Each case runs twice; the second (warm)
// is reported.
import { writeFileSync } from 'node:fs';
import { nodeGpu } from '../engine/gpu/node.ts';
import { Runtime } from '../engine/gpu/runtime.ts';
import type { Tensor } from '../engine/gpu/tensor.ts';
import { parseArgs, num, UsageError } from '../cli/args.ts';
import { addScale } from '../../shaders/add_scale.ts';
import { matmul } from '../../shaders/matmul_forward.ts';
import { matmulSkinny } from '../../shaders/matmul_skinny.ts';
import { matmulShortK } from '../../shaders/matmul_short_k.ts';
import { loraForward } from '../../shaders/lora_forward.ts';
import { matmulAtB } from '../../shaders/matmul_atb.ts';
import { SplitkReduceBatch } from '../../shaders/splitk_reduce_batch.ts';

export interface DispatchRow {
  name: string;
  /** dispatches one iteration of the case records */
  dispatches: number;
  /** GPU time an iteration, µs (one submit for all n) */
  gpuUs: number;
  /** CPU time to record an iteration, µs */
  cpuUs: number;
}

/** The uniform arena (1 MiB, 256-byte slots) holds 4096 dispatches' uniforms: more would submit midway. */
export const DISPATCH_MAX_N = 4000;

export async function measureDispatches(rt: Runtime, o: { n: number; rows: number; cols: number; rank: number }): Promise<DispatchRow[]> {
  const { n, rows, cols, rank } = o;
  if (!(n >= 1 && n <= DISPATCH_MAX_N)) throw new UsageError(`--n must be 1..${DISPATCH_MAX_N} (one submit), got ${n}`);
  if (cols % 4 !== 0) throw new UsageError(`--cols must be a multiple of 4, got ${cols}`);
  const made: Tensor[] = [];
  const keep = <T extends Tensor>(t: T): T => (made.push(t), t);
  const small = Array.from({ length: 8 }, () => keep(rt.zeros([16])));
  const big = Array.from({ length: 8 }, () => keep(rt.zeros([rows, cols])));
  const xa = Array.from({ length: 8 }, () => keep(rt.zeros([rows, rank])));
  const x = keep(rt.upload(new Float32Array(rows * cols).fill(0.01), [rows, cols])); // [rows, cols]
  const A = keep(rt.upload(new Float32Array(rank * cols).fill(0.01), [rank, cols])); // [r, cols]
  const A3 = keep(rt.upload(new Float32Array(3 * rank * cols).fill(0.01), [3 * rank, cols])); // [3r, cols]: q|k|v stacked
  const B = keep(rt.upload(new Float32Array(cols * rank).fill(0.01), [cols, rank])); // [cols, r]
  const xa3 = Array.from({ length: 8 }, () => keep(rt.zeros([rows, 3 * rank])));
  const dB = Array.from({ length: 4 }, () => keep(rt.zeros([cols, rank]))); // [cols, r]
  const dA = Array.from({ length: 4 }, () => keep(rt.zeros([rank, cols]))); // [r, cols]
  const reduces = new SplitkReduceBatch(rt);
  const four = (one: (j: number) => void) => () => {
    for (let j = 0; j < 4; j++) one(j);
    reduces.flush();
  };
  // each case: its name, the dispatches one iteration records (a case records about n: fewer iterations when more),
  // and one iteration
  const cases: [string, number, (i: number) => void][] = [
    ['add_scale [16], each on the last', 1, (i) => addScale(rt, small[i % 2], 1, small[2], 1e-9, small[(i + 1) % 2])],
    ['add_scale [16], independent', 1, (i) => addScale(rt, small[2], 1, small[2], 1, small[3 + (i % 5)])],
    [`add_scale [${rows}, ${cols}]`, 1, (i) => addScale(rt, x, 1, x, 1, big[i % 8])],
    [`LoRA x·Aᵀ [${rows}, ${cols}]·[${rank}, ${cols}]ᵀ (matmul_skinny)`, 1, (i) => matmulSkinny(rt, x, A, { transB: true, out: xa[i % 8] })],
    [`LoRA dx += dxa·A [${rows}, ${rank}]·[${rank}, ${cols}] (vec4 matmul)`, 1, (i) => matmul(rt, xa[0], A, { out: big[i % 8], accumulate: true })],
    [`LoRA dx += dxa·A [${rows}, ${rank}]·[${rank}, ${cols}] (matmul_short_k)`, 1, (i) => matmulShortK(rt, xa[0], A, { out: big[i % 8], accumulate: true })],
    // would stacking q|k|v's A (one product for the three adapters that share an input) pay?
    [`LoRA x·Aᵀ for q, k, v apart (3 × matmul_skinny, n = ${rank})`, 3, (i) => { for (let j = 0; j < 3; j++) matmulSkinny(rt, x, A, { transB: true, out: xa[(3 * i + j) % 8] }); }],
    [`LoRA x·Aᵀ for q, k, v stacked (matmul_skinny, n = ${3 * rank})`, 1, (i) => matmulSkinny(rt, x, A3, { transB: true, out: xa3[i % 8] })],
    [`LoRA y += s·xa·Bᵀ [${rows}, ${rank}]·[${cols}, ${rank}]ᵀ (lora_forward)`, 1, (i) => loraForward(rt, x, A, B, big[i % 8], 2, { xa: xa[0] })],
    // LoRA's weight gradients, four a layer's batch: split-K (partial sums, reduces four to a dispatch) or matmul_atb
    [`4 × LoRA dB += s·dyᵀ·xa [${cols}, ${rank}], K ${rows} (split-K + reduce)`, 5, four((j) => matmul(rt, x, xa[j], { transA: true, alpha: 2, out: dB[j], accumulate: true, version: 'splitk', reduceBatch: reduces }))],
    [`4 × LoRA dB += s·dyᵀ·xa [${cols}, ${rank}], K ${rows} (matmul_atb)`, 4, four((j) => matmulAtB(rt, x, xa[j], { alpha: 2, out: dB[j], accumulate: true }))],
    [`4 × LoRA dA += dxaᵀ·x [${rank}, ${cols}], K ${rows} (split-K + reduce)`, 5, four((j) => matmul(rt, xa[j], x, { transA: true, out: dA[j], accumulate: true, version: 'splitk', reduceBatch: reduces }))],
    [`4 × LoRA dA += dxaᵀ·x [${rank}, ${cols}], K ${rows} (matmul_atb)`, 4, four((j) => matmulAtB(rt, xa[j], x, { out: dA[j], accumulate: true }))],
  ];
  const every = rt.autoFlushEvery;
  rt.autoFlushEvery = 0;
  const out: DispatchRow[] = [];
  try {
    for (const [name, per, run] of cases) {
      const k = Math.max(1, Math.floor(n / per)); // iterations
      let row: DispatchRow | null = null;
      for (let rep = 0; rep < 2; rep++) {
        await rt.sync();
        const d0 = rt.dispatchCount;
        const t0 = performance.now();
        for (let i = 0; i < k; i++) run(i);
        const t1 = performance.now();
        await rt.sync();
        const t2 = performance.now();
        row = { name, dispatches: (rt.dispatchCount - d0) / k, gpuUs: ((t2 - t1) / k) * 1000, cpuUs: ((t1 - t0) / k) * 1000 };
      }
      out.push(row!);
    }
  } finally {
    rt.autoFlushEvery = every;
    for (const t of made) t.dispose();
  }
  return out;
}

export async function dispatchBench(argv: string[]): Promise<void> {
  const p = parseArgs(argv, { values: ['n', 'rows', 'cols', 'rank', 'json'], flags: [] });
  const rt = await Runtime.create(await nodeGpu());
  const rows = await measureDispatches(rt, { n: num(p, 'n', 2000), rows: num(p, 'rows', 1024), cols: num(p, 'cols', 896), rank: num(p, 'rank', 16) });
  const s = rt.ctx.summary;
  console.log(`device: ${s.description || s.vendor} (${s.architecture || 'n/a'})`);
  console.log(`${'case (times an iteration)'.padEnd(64)} ${'disp.'.padStart(5)} ${'GPU µs'.padStart(8)} ${'CPU µs'.padStart(8)}`);
  for (const r of rows) console.log(`${r.name.padEnd(64)} ${String(r.dispatches).padStart(5)} ${r.gpuUs.toFixed(2).padStart(8)} ${r.cpuUs.toFixed(1).padStart(8)}`);
  const json = p.values.get('json');
  if (json) writeFileSync(json, JSON.stringify({ device: s, rows }, null, 1));
  rt.destroy();
}
