// `npm run bench -- ort --model <dir> [--tokens 32,128] [--reps 10] [--ort-dist <dir>] [--json out]`
// Our forward against onnxruntime-web's WebGPU execution provider, in one Node process on the same
// GPU through the same WebGPU implementation (Dawn): the GPU machine has no Chromium, so this is the
// real-GPU form of `bench -- browser`. <dir> holds the checkpoint and its export model.onnx
// (tools/golden/export_onnx.py). Each side: one prompt [1, T], logits at every position read back
// to the CPU (the same work on both sides), median of --reps runs after two warm-up runs; the
// logits are compared too, so a fast wrong answer cannot pass.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { nodeGpu } from '../engine/gpu/node.ts';
import { Runtime } from '../engine/gpu/runtime.ts';
import { dirSource } from '../engine/model/checkpoint.ts';
import { loadModel } from '../engine/model/load.ts';
import { compareLogits } from '../engine/onnx/ort.ts';
import { loadOrtWebGpuNode } from './ort-node-webgpu.ts';
import { engineLogits, runOnnxLogits, ONNX_CANDIDATES } from '../engine/verify.ts';
import { Rng } from '../engine/util/rng.ts';
import { parseArgs, num, UsageError } from '../cli/args.ts';
import { speedWords, timed } from './stats.ts';

export async function ortBench(argv: string[]): Promise<void> {
  const p = parseArgs(argv, { values: ['model', 'tokens', 'reps', 'ort-dist', 'json', 'label'] });
  const dir = p.values.get('model');
  if (!dir) throw new UsageError('--model <dir> is required');
  const onnxPath = ONNX_CANDIDATES.map((c) => join(dir, c)).find((f) => existsSync(f));
  if (!onnxPath) throw new UsageError(`${dir}: no ${ONNX_CANDIDATES.join(' or ')} (export one with tools/golden/export_onnx.py)`);
  const lengths = (p.values.get('tokens') ?? '32,128').split(',').map(Number);
  const reps = num(p, 'reps', 10);
  const label = p.values.get('label') ?? dir;

  const rt = await Runtime.create(await nodeGpu());
  const { model } = await loadModel(rt, dirSource(dir), { tokenizer: false });
  const ort = await loadOrtWebGpuNode(p.values.get('ort-dist'));
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(readFileSync(onnxPath), { executionProviders: ['webgpu'], graphOptimizationLevel: 'all' });
  const msSession = performance.now() - t0;
  const s = rt.ctx.summary;
  console.log(`${label}: Node ${process.version}, Dawn on ${s.description || s.vendor}; onnxruntime-web ${ort.env.versions?.web ?? '?'} (webgpu EP, session ${msSession.toFixed(0)} ms)`);
  const cfg = model.cfg;
  const kv = { n_kv_heads: cfg.n_kv_heads, d_head: cfg.d_head };
  const rows: Record<string, unknown>[] = [];
  try {
    for (const T of lengths) {
      const rng = new Rng(7 + T);
      const ids = [Array.from(rng.ints(T, 0, cfg.d_vocab))]; // [1][T]
      const ours = await engineLogits(model, ids); // [1, T, V]
      const theirs = await runOnnxLogits(ort, session, ids, kv, cfg.d_vocab);
      const cmp = compareLogits(ours, theirs, [1, T, cfg.d_vocab]);
      const msOurs = await timed(reps, () => engineLogits(model, ids));
      const msOrt = await timed(reps, () => runOnnxLogits(ort, session, ids, kv, cfg.d_vocab));
      rows.push({ model: label, tokens: T, msOurs, msOrt, maxRelErr: cmp.maxRelErr, argmaxAgree: cmp.argmaxAgree, positions: cmp.positions });
      const ratio = msOrt / msOurs;
      console.log(
        `forward [1, ${T}] + logits read back, median of ${reps}: lab ${msOurs.toFixed(2)} ms · ORT webgpu ${msOrt.toFixed(2)} ms ` +
          `(lab ${speedWords(ratio)}); max rel err ${cmp.maxRelErr.toExponential(1)}, argmax ${cmp.argmaxAgree}/${cmp.positions}`,
      );
    }
  } finally {
    await session.release();
  }
  const json = p.values.get('json');
  if (json) writeFileSync(json, JSON.stringify({ device: s.description, rows }, null, 1));
  rt.destroy();
}
