// `npm run bench -- browser [--model llama-gqa] [--reps 10] [--backends webgpu,wasm]`: the same-browser
// comparison of our forward pass with onnxruntime-web, in headless Chromium (the page's engine worker,
// through window.__labEngine): the model and its model.onnx from models/fixtures/, the same token ids,
// median of `reps` timed runs of each side after warm-up, logits read back to the CPU on both sides.
// Here Chromium's WebGPU runs on SwiftShader (CPU), so the numbers compare overheads on tiny models,
// not GPU speed; with a GPU and a desktop Chromium the same command measures the real thing.
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { ROOT, buildApp, closeServer, launchChromium, originOf, serveStatic } from '../../e2e/harness.ts';
import { parseArgs, num } from '../cli/args.ts';
import { speedWords } from './stats.ts';

interface VerifyRow {
  found: boolean;
  backend?: string;
  maxRelErr?: number;
  argmaxAgree?: number;
  positions?: number;
  msOurs?: number;
  msOrt?: number;
}

export async function browserBench(argv: string[]): Promise<void> {
  const p = parseArgs(argv, { values: ['model', 'reps', 'backends', 'json'] });
  const model = p.values.get('model') ?? 'llama-gqa';
  const reps = num(p, 'reps', 10);
  const backends = (p.values.get('backends') ?? 'webgpu,wasm').split(',');
  const build = buildApp();
  const server = await serveStatic(build.distDir, { '/fixtures/': join(ROOT, 'models', 'fixtures') });
  const browser = await launchChromium();
  const rows: VerifyRow[] = [];
  try {
    const page = await browser.newPage();
    await page.goto(`${originOf(server)}/?model=./fixtures/${model}/`);
    await page.waitForFunction(() => !!window.__labEngine, null, { timeout: 60_000 });
    const info = await page.evaluate(() => window.__labEngine!.adapterInfo());
    console.log(`browser: Chromium, WebGPU adapter ${info.vendor} ${info.architecture} ${info.description}`.trim());
    // the ?model= auto-load runs in the page; wait until the engine reports a model
    await page.waitForFunction(async () => !!(await window.__labEngine!.modelInfo().catch(() => null)), null, { timeout: 120_000, polling: 500 });
    for (const backend of backends) {
      const r = (await page.evaluate(
        ([b, n]) => window.__labEngine!.verifyOnnx({ backend: b as 'wasm' | 'webgpu', reps: n as number }, () => undefined, new AbortController().signal),
        [backend, reps] as const,
      )) as VerifyRow;
      rows.push({ ...r, backend });
      if (!r.found) {
        console.log(`${backend}: no model.onnx beside ${model}`);
        continue;
      }
      const ratio = r.msOrt! / r.msOurs!;
      console.log(`${model} forward of ${r.positions} tokens, median of ${reps}: lab ${r.msOurs!.toFixed(2)} ms · onnxruntime-web ${backend} ${r.msOrt!.toFixed(2)} ms (lab ${speedWords(ratio)}); max rel err ${r.maxRelErr!.toExponential(1)}, argmax ${r.argmaxAgree}/${r.positions}`);
    }
  } finally {
    await browser.close();
    await closeServer(server);
    build.cleanup();
  }
  const json = p.values.get('json');
  if (json) writeFileSync(json, JSON.stringify({ model, reps, rows }, null, 1));
}
