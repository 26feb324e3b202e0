// `npm run bench -- <suite> [options]`: benchmarks on the engine, with PyTorch numbers beside them.
//   decode|prefill --model <dir> [...]: whole-model speed (see model.ts)
//   browser [--model llama-gqa] [--reps 10]: our forward vs onnxruntime-web in the same Chromium page (see browser.ts)
//   ort --model <dir> [--tokens 32,128]: our forward vs onnxruntime-web's WebGPU EP in Node on Dawn (see ort.ts)
//   transformers --model <dir> [--tokens 32,128] [--device cpu|webgpu]: our forward vs transformers.js in Node (see transformers.ts)
//   sft --model <dir> [--batch 8] [--seq 256] [--rank 16]: one LoRA training step beside PyTorch + PEFT (see sft.ts)
//   grpo --model <dir> [--group 16] [--prompt 64] [--new 128] [--rank 16]: one GRPO step beside an HF loop (see grpo.ts)
//   analysis --model <dir> [--prompts 100] [--len 96] [--layers all|k]: head statistics and the ablation sweep beside PyTorch hooks (see analysis.ts)
//   features [--sizes 256,2048] [--json out]: what Dawn exposes here (f16, subgroups, subgroup matrices) and a first tensor-core check (see features.ts)
//   dispatch [--n 2000] [--rows 1024] [--cols 896] [--rank 16] [--json out]: one dispatch's cost in the GPU's stream and on the CPU (see dispatch.ts)
//   kernels [--torch <torch.json>] [--filter <text>[|<text>...]] [--versions naive,tiled] [--repeats n]
//           [--smoke] [--json <out.json>] [--vec4-variants <variants.json>: other sources of the vec4 kernel, see kernels.ts]
// --torch reads what tools/bench/torch_kernels.py wrote in the same run and prints the ratio
// (speed vs torch = torch ms / our ms; > 1 means we are faster).
// --smoke caps every dimension at 64: checks the harness on CPU Vulkan, measures nothing useful.
import { readFileSync, writeFileSync } from 'node:fs';
import { nodeGpu } from '../engine/gpu/node.ts';
import { Runtime } from '../engine/gpu/runtime.ts';
import { parseArgs, num, UsageError } from '../cli/args.ts';
import { addVec4Variants, benchCase, loadCases, shrink, type BenchResult, type Vec4Variant } from './kernels.ts';
import './ops.ts';
import { modelBench } from './model.ts';
import { ortBench } from './ort.ts';
import { sftBench } from './sft.ts';
import { grpoBench } from './grpo.ts';
import { analysisBench } from './analysis.ts';
import { featuresBench } from './features.ts';
import { dispatchBench } from './dispatch.ts';

interface TorchCase {
  ms?: number;
  tflops?: number | null;
  error?: string;
}

async function kernels(argv: string[]): Promise<void> {
  const p = parseArgs(argv, { values: ['torch', 'filter', 'versions', 'repeats', 'json', 'vec4-variants'], flags: ['smoke'] });
  const variants = p.values.get('vec4-variants');
  if (variants) addVec4Variants(JSON.parse(readFileSync(variants, 'utf8')) as Vec4Variant[]);
  const torch = p.values.has('torch')
    ? (JSON.parse(readFileSync(p.values.get('torch')!, 'utf8')) as { device: string; torch: string; cases: Record<string, TorchCase> })
    : null;
  const filter = p.values.get('filter');
  // --filter a|b: the cases whose name contains any of the parts
  let cases = loadCases().filter((c) => !filter || filter.split('|').some((f) => c.name.includes(f)));
  if (p.flags.has('smoke')) cases = cases.map((c) => shrink(c, 64));
  const rt = await Runtime.create(await nodeGpu());
  const s = rt.ctx.summary;
  console.log(`device: ${s.description || s.vendor} (${s.architecture || 'n/a'}); timestamps: ${rt.ctx.hasTimestamps}`);
  if (torch) console.log(`reference: PyTorch ${torch.torch} on ${torch.device}`);
  const head = ['case', 'version', 'ms', 'GFLOP/s', 'GB/s', 'torch ms', 'vs torch'];
  console.log(head.map((h, i) => (i === 0 ? h.padEnd(34) : h.padStart(10))).join(' '));
  const rows: (BenchResult & { torchMs: number | null; speedup: number | null })[] = [];
  for (const c of cases) {
    let results: BenchResult[];
    try {
      results = await benchCase(rt, c, { repeats: num(p, 'repeats', 7), targetMs: 2, versions: p.values.get('versions')?.split(',') });
    } catch (e) {
      console.log(`${c.name.padEnd(34)} failed: ${(e as Error).message}`);
      continue;
    }
    for (const r of results) {
      const t = torch?.cases[r.name];
      const torchMs = t?.ms ?? null;
      const speedup = torchMs !== null && !p.flags.has('smoke') ? torchMs / r.ms : null;
      rows.push({ ...r, torchMs, speedup });
      const cells = [r.name.padEnd(34), r.version, r.ms.toFixed(4), r.gflops?.toFixed(0) ?? '-', r.gbps.toFixed(0), torchMs?.toFixed(4) ?? '-', speedup ? `${speedup.toFixed(2)}x` : '-'];
      console.log(cells.map((x, i) => (i === 0 ? x : x.padStart(10))).join(' '));
    }
  }
  const json = p.values.get('json');
  if (json) writeFileSync(json, JSON.stringify({ device: s, torch: torch ? { device: torch.device, version: torch.torch } : null, smoke: p.flags.has('smoke'), rows }, null, 1));
  rt.destroy();
}

const suites: Record<string, (argv: string[]) => Promise<void>> = {
  kernels,
  decode: (argv) => modelBench('decode', argv),
  prefill: (argv) => modelBench('prefill', argv),
  ort: ortBench,
  sft: sftBench,
  grpo: grpoBench,
  analysis: analysisBench,
  features: featuresBench,
  dispatch: dispatchBench,
  // loaded only when asked for (it drives Chromium through playwright-core); a non-literal specifier
  // keeps it out of the single-file bundle sent to the GPU machine
  browser: async (argv) => {
    const mod = './browser.ts';
    const { browserBench } = (await import(/* @vite-ignore */ mod)) as typeof import('./browser.ts');
    await browserBench(argv);
  },
  // likewise: transformers.js' Node build loads onnxruntime-node's native binding
  transformers: async (argv) => {
    const mod = './transformers.ts';
    const { transformersBench } = (await import(/* @vite-ignore */ mod)) as typeof import('./transformers.ts');
    await transformersBench(argv);
  },
};

const [suite, ...rest] = process.argv.slice(2);
const run = suites[suite ?? ''];
(run ? run(rest) : Promise.reject(new UsageError(`usage: npm run bench -- <${Object.keys(suites).join('|')}> [options]`))).then(
  () => process.exit(0),
  (e: Error) => {
    process.stderr.write(`bench: ${e.message}\n`);
    process.exit(e instanceof UsageError ? 2 : 1);
  },
);
