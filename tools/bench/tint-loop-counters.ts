// Which loops of a matmul source Tint bounds with a loop counter of its own.
//   node tools/run-node.mjs tools/bench/tint-loop-counters.ts vec4 <tile 64|128> <bk 8|16>
//   node tools/run-node.mjs tools/bench/tint-loop-counters.ts file <file.wgsl> <tile> <bk>   (a variant's source)
// Tint's SPIR-V writer (its PreventInfiniteLoops transform) adds a 64-bit down-counter, and an exit on it, to every
// loop it cannot prove finite: it proves `for (var i = …; i < bound; i++)` with a constant bound, not `i += n` or a
// bound read from a uniform. On the H100 the NVIDIA compiler made slower code of matmul loops that carried one
// (BENCHMARKS.md, twenty-third session). This compiles one pipeline on a device with Dawn's `dump_shaders` toggle:
// Dawn writes the pipeline's SPIR-V to this process's output, where countLoops (tint-loops.ts) counts the loops
// (OpLoopMerge) and the counters (an OpAll over the counter's vec2: the matmul sources call no all() of their own).
import { readFileSync } from 'node:fs';
import { nodeGpu } from '../../src/engine/gpu/node.ts';
import { vec4Spec } from '../../shaders/matmul_forward.ts';

const [what, ...rest] = process.argv.slice(2);
const [code, tile, bk] = what === 'file' ? [readFileSync(rest[0], 'utf8'), Number(rest[1]), Number(rest[2])] : [null, Number(rest[0]), Number(rest[1])];
if (!(what === 'vec4' || what === 'file') || ![64, 128].includes(tile) || ![8, 16].includes(bk)) {
  console.error('usage: tint-loop-counters.ts vec4 <tile 64|128> <bk 8|16> | file <file.wgsl> <tile> <bk>');
  process.exit(2);
}
const source = code ?? vec4Spec(tile as 64 | 128, tile as 64 | 128, false, bk as 8 | 16).code;
const gpu = await nodeGpu(['enable-dawn-features=dump_shaders']);
const device = await (await gpu.requestAdapter())!.requestDevice({ requiredLimits: { maxComputeWorkgroupStorageSize: 32768 } });
const constants = { TX: tile / 8, TY: tile / 8, BK: bk, TRANS_A: 0, TRANS_B: 1, PREFETCH: tile === 128 ? 0 : 1 };
// the dump goes to this process's output as Dawn compiles; the parent reads it
device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: source }), entryPoint: 'main', constants } });
await device.queue.onSubmittedWorkDone();
device.destroy();

