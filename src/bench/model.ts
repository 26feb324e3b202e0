// `npm run bench -- decode|prefill --model <dir> [--batch 1,16] [--tokens N] [--hf <bench.json>] [--json out] [--profile]
//                                  [--kernels matmul=tiled]`
// Whole-model speed, wall-clock (the number a user feels: CPU dispatch included), after a warm-up
// that compiles every pipeline. decode: greedy generation of N new tokens from a 32-token prompt
// (EOS ignored), tok/s = B·(N − 1) / (time for N tokens − time for 1 token): decode steps only.
// prefill: one forward of B × N tokens with last-position logits, tok/s = B·N / time.
// --profile (prefill): one more forward per batch size with each dispatch in its own timestamped pass, by kernel.
// --hf reads what tools/golden/real_shapes.py measured with HF transformers in the same run.
// --kernels sets the runtime's kernel preferences (Runtime.kernelPrefs), as `bench -- sft --kernels` does: e.g.
// matmul=tiled times f32 weights through the tiled kernel, the one half-precision checkpoints take.
import { readFileSync, writeFileSync } from 'node:fs';
import { nodeGpu } from '../engine/gpu/node.ts';
import { Runtime } from '../engine/gpu/runtime.ts';
import { parseKernelPrefs } from '../engine/gpu/kernel-prefs.ts';
import { dirSource } from '../engine/model/checkpoint.ts';
import { loadModel } from '../engine/model/load.ts';
import { generate } from '../engine/model/generate.ts';
import type { LlamaModel } from '../engine/model/llama.ts';
import { Rng } from '../engine/util/rng.ts';
import { parseArgs, num, UsageError } from '../cli/args.ts';
import { median, timed } from './stats.ts';
import { printProfile } from './profile.ts';

function prompts(model: LlamaModel, B: number, T: number, seed: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: B }, () => Array.from(rng.ints(T, 0, model.cfg.d_vocab)));
}

/**
 * Decode speed: generate N tokens and 1 token from the same prompts; the difference is N − 1 decode
 * steps (the prefill and first token cancel out). Wall clock, so CPU dispatch and read-backs count.
 */
async function timeDecode(model: LlamaModel, B: number, N: number): Promise<{ tokS: number; msPerStep: number }> {
  const ps = prompts(model, B, 32, 1);
  const run = async (n: number) => {
    const t0 = performance.now();
    await generate(model, ps, { maxNewTokens: n, sampling: { kind: 'greedy' }, ignoreEos: true });
    return performance.now() - t0;
  };
  const one = median([await run(1), await run(1), await run(1)]);
  const all = await run(N);
  const ms = Math.max(all - one, 1e-6);
  return { tokS: (B * (N - 1)) / (ms / 1000), msPerStep: ms / (N - 1) };
}

/** wall time of prefills run untimed before a batch size is timed (stats.ts timed, warmUp) */
const PREFILL_WARM_MS = 500;

async function timePrefill(model: LlamaModel, B: number, T: number, repeats: number, profile: boolean): Promise<number> {
  const { rt } = model;
  const ids = rt.upload(Int32Array.from(prompts(model, B, T, 2).flat()), [B, T], 'i32', 'ids');
  const forward = async () => {
    const { logits } = model.forward(ids, { logits: 'last' });
    await rt.read(logits!); // waits for the GPU
    logits!.dispose();
  };
  const ms = await timed(repeats, forward, PREFILL_WARM_MS); // warm: pipelines compiled, the pool filled, the GPU's clocks up
  if (profile) await printProfile(rt, `a prefill of ${B} × ${T}`, forward);
  ids.dispose();
  return (B * T) / (ms / 1000);
}

export async function modelBench(suite: 'decode' | 'prefill', argv: string[]): Promise<void> {
  const p = parseArgs(argv, { values: ['model', 'batch', 'tokens', 'hf', 'json', 'label', 'repeats', 'kernels'], flags: ['profile'] });
  const dir = p.values.get('model');
  if (!dir) throw new UsageError('--model <dir> is required');
  const batches = (p.values.get('batch') ?? '1,16').split(',').map(Number);
  const N = num(p, 'tokens', suite === 'decode' ? 64 : 256);
  const label = p.values.get('label') ?? dir;
  const hf = p.values.has('hf') ? (JSON.parse(readFileSync(p.values.get('hf')!, 'utf8')) as Record<string, unknown>) : null;
  const rt = await Runtime.create(await nodeGpu());
  rt.kernelPrefs = { ...rt.kernelPrefs, ...parseKernelPrefs(p.values.get('kernels') ?? '') };
  const t0 = performance.now();
  const { model } = await loadModel(rt, dirSource(dir), { tokenizer: false });
  console.log(`${label}: loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s on ${rt.ctx.summary.description || rt.ctx.summary.vendor} [matmul ${rt.kernelPrefs.matmul}, attention ${rt.kernelPrefs.attention}]`);
  const rows: Record<string, unknown>[] = [];
  for (const B of batches) {
    if (suite === 'decode') {
      await timeDecode(model, B, 4); // warm-up: compile every pipeline, fill the pool
      const r = await timeDecode(model, B, N);
      rows.push({ suite, model: label, batch: B, newTokens: N, tokS: r.tokS, msPerStep: r.msPerStep });
      console.log(`decode  B=${String(B).padStart(2)}  ${r.tokS.toFixed(1).padStart(8)} tok/s  ${r.msPerStep.toFixed(2)} ms/step`);
    } else {
      const tokS = await timePrefill(model, B, N, num(p, 'repeats', 5), p.flags.has('profile'));
      rows.push({ suite, model: label, batch: B, tokens: N, tokS });
      console.log(`prefill B=${String(B).padStart(2)} × ${N}  ${tokS.toFixed(0).padStart(8)} tok/s`);
    }
  }
  if (hf) console.log(`HF transformers (same run): ${JSON.stringify(hf)}`);
  const json = p.values.get('json');
  if (json) writeFileSync(json, JSON.stringify({ device: rt.ctx.summary.description, rows, hf }, null, 1));
  rt.destroy();
}
