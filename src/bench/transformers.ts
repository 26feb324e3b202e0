// `npm run bench -- transformers --model <dir> [--tokens 32,128] [--reps 10] [--device cpu|webgpu] [--json out]`
// Our forward against @huggingface/transformers (transformers.js: what a user would pick instead of the lab
// for running a model in JavaScript), in one Node process: the same checkpoint, transformers.js reading its
// ONNX export (<dir>/model.onnx or onnx/model.onnx, tools/golden/export_onnx.py), the same ids [1, T], logits
// at every position read back on both sides, compared (max relative error, argmax agreement) and timed
// (median of --reps after two warm-up runs). transformers.js runs on onnxruntime-node: its CPU provider by
// default (what Node gives it here), or --device webgpu where that build offers it.
//
// Generation is not compared: transformers.js generates only from an export with past_key_values inputs
// and present.* outputs (its generate() feeds just the new token from the second step on), and the
// fixtures' exports have no KV cache (issue 14, item 5; see BENCHMARKS.md).
//
// Node only, and not in the GPU machine's single-file bundle (main.ts imports it by a non-literal name):
// transformers.js' Node build loads onnxruntime-node's native binding.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeGpu } from '../engine/gpu/node.ts';
import { Runtime } from '../engine/gpu/runtime.ts';
import { dirSource } from '../engine/model/checkpoint.ts';
import { loadModel } from '../engine/model/load.ts';
import { compareLogits } from '../engine/onnx/ort.ts';
import { engineLogits, ONNX_CANDIDATES } from '../engine/verify.ts';
import { Rng } from '../engine/util/rng.ts';
import { parseArgs, num, UsageError } from '../cli/args.ts';
import { median } from './stats.ts';

type Tjs = typeof import('@huggingface/transformers');

/** A transformers.js causal LM on the checkpoint in `dir` (its ONNX export), and a function giving its logits [1, T, V]. */
export async function transformersModel(dir: string, device: 'cpu' | 'webgpu' = 'cpu'): Promise<{ logits: (ids: number[]) => Promise<Float32Array>; dispose: () => Promise<void>; version: string }> {
  const onnx = ONNX_CANDIDATES.map((c) => join(dir, c)).find((f) => existsSync(f));
  if (!onnx) throw new UsageError(`${dir}: no ${ONNX_CANDIDATES.join(' or ')} (export one with tools/golden/export_onnx.py)`);
  // transformers.js' local layout: <root>/<name>/config.json (+ generation_config.json) and onnx/model.onnx
  const root = mkdtempSync(join(tmpdir(), 'lab-tjs-'));
  const at = join(root, 'model');
  mkdirSync(join(at, 'onnx'), { recursive: true });
  for (const f of ['config.json', 'generation_config.json']) if (existsSync(join(dir, f))) copyFileSync(join(dir, f), join(at, f));
  copyFileSync(onnx, join(at, 'onnx', 'model.onnx'));
  const name = '@huggingface/transformers';
  const tjs = (await import(/* @vite-ignore */ name)) as Tjs;
  tjs.env.allowRemoteModels = false;
  tjs.env.localModelPath = root + '/';
  const model = await tjs.AutoModelForCausalLM.from_pretrained('model', { dtype: 'fp32', device });
  const logits = async (ids: number[]) => {
    const input_ids = new tjs.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]);
    const attention_mask = new tjs.Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]);
    const out = (await model({ input_ids, attention_mask })) as { logits: { data: Float32Array } };
    return out.logits.data;
  };
  return { logits, version: tjs.env.version, dispose: async () => { await model.dispose(); rmSync(root, { recursive: true, force: true }); } };
}

async function timed(reps: number, run: () => Promise<unknown>): Promise<number> {
  await run();
  await run();
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await run();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

export async function transformersBench(argv: string[]): Promise<void> {
  const p = parseArgs(argv, { values: ['model', 'tokens', 'reps', 'device', 'json', 'label'] });
  const dir = p.values.get('model');
  if (!dir) throw new UsageError('--model <dir> is required');
  const device = (p.values.get('device') ?? 'cpu') as 'cpu' | 'webgpu';
  if (device !== 'cpu' && device !== 'webgpu') throw new UsageError(`--device must be cpu or webgpu, got ${device}`);
  const lengths = (p.values.get('tokens') ?? '32,128').split(',').map(Number);
  const reps = num(p, 'reps', 10);
  const label = p.values.get('label') ?? dir;
  const rt = await Runtime.create(await nodeGpu());
  const { model } = await loadModel(rt, dirSource(dir), { tokenizer: false });
  const tjs = await transformersModel(dir, device);
  const s = rt.ctx.summary;
  console.log(`${label}: the lab on Dawn (${s.description || s.vendor}); transformers.js ${tjs.version} on onnxruntime-node (${device})`);
  const V = model.cfg.d_vocab;
  const rows: Record<string, unknown>[] = [];
  try {
    for (const T of lengths) {
      const ids = Array.from(new Rng(7 + T).ints(T, 0, V)); // [T]
      const cmp = compareLogits(await engineLogits(model, [ids]), await tjs.logits(ids), [1, T, V]);
      const msOurs = await timed(reps, () => engineLogits(model, [ids]));
      const msTjs = await timed(reps, () => tjs.logits(ids));
      rows.push({ model: label, tokens: T, device, msOurs, msTransformers: msTjs, maxRelErr: cmp.maxRelErr, argmaxAgree: cmp.argmaxAgree, positions: cmp.positions });
      const ratio = msTjs / msOurs;
      console.log(
        `forward [1, ${T}] + logits, median of ${reps}: lab ${msOurs.toFixed(2)} ms · transformers.js ${msTjs.toFixed(2)} ms ` +
          `(lab ${ratio >= 1 ? `${ratio.toFixed(2)}x faster` : `${(1 / ratio).toFixed(2)}x slower`}); max rel err ${cmp.maxRelErr.toExponential(1)}, argmax ${cmp.argmaxAgree}/${cmp.positions}`,
      );
    }
  } finally {
    await tjs.dispose();
  }
  const json = p.values.get('json');
  if (json) writeFileSync(json, JSON.stringify({ device: s.description, transformers: tjs.version, rows }, null, 1));
  rt.destroy();
}
