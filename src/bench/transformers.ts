// `npm run bench -- transformers --model <dir> [--onnx <file>] [--tokens 32,128] [--new 32] [--reps 10] [--device cpu|webgpu] [--json out]`
// Our forward against @huggingface/transformers (transformers.js: what a user would pick instead of the lab
// for running a model in JavaScript), in one Node process: the same checkpoint, transformers.js reading its
// ONNX export (exportOf: --onnx, else <dir>/model_kv.onnx, else model.onnx), the same ids [1, T], logits
// at every position read back on both sides, compared (max relative error, argmax agreement) and timed
// (median of --reps after two warm-up runs). transformers.js runs on onnxruntime-node: its CPU provider by
// default (what Node gives it here), or --device webgpu where that build offers it.
//
// Generation too, when the export has a KV cache (<dir>/model_kv.onnx, tools/golden/export_onnx_kv.py, or
// --onnx): greedy, --new tokens, EOS ignored, the tokens of both sides compared. transformers.js generates
// only from an export with past_key_values inputs and present.* outputs (its generate() feeds just the new
// token from the second step on); export_onnx.py's graph has none.
//
// Node only, and not in the GPU machine's single-file bundle (main.ts imports it by a non-literal name):
// transformers.js' Node build loads onnxruntime-node's native binding.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, linkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { nodeGpu } from '../engine/gpu/node.ts';
import { Runtime } from '../engine/gpu/runtime.ts';
import { dirSource } from '../engine/model/checkpoint.ts';
import { loadModel } from '../engine/model/load.ts';
import { generate } from '../engine/model/generate.ts';
import { compareLogits } from '../engine/onnx/ort.ts';
import { engineLogits, ONNX_CANDIDATES } from '../engine/verify.ts';
import { Rng } from '../engine/util/rng.ts';
import { parseArgs, num, UsageError } from '../cli/args.ts';
import { speedWords, timed } from './stats.ts';

type Tjs = typeof import('@huggingface/transformers');

/** tools/golden/export_onnx_kv.py's output beside a checkpoint: the decoder with past_key_values / present.* */
export const KV_EXPORT = 'model_kv.onnx';

/** The export transformers.js reads for `dir`: `onnx` when given, else model_kv.onnx (with a KV cache) when there, else the plain export. */
export function exportOf(dir: string, onnx?: string): string {
  if (onnx) {
    if (!existsSync(onnx)) throw new UsageError(`--onnx ${onnx} does not exist`);
    return onnx;
  }
  const found = [KV_EXPORT, ...ONNX_CANDIDATES].map((c) => join(dir, c)).find((f) => existsSync(f));
  if (!found) throw new UsageError(`${dir}: no ${[KV_EXPORT, ...ONNX_CANDIDATES].join(' or ')} (export one with tools/golden/export_onnx_kv.py or export_onnx.py)`);
  return found;
}

export interface TransformersModel {
  /** logits [1, T, V] of one sequence */
  logits(ids: number[]): Promise<Float32Array>;
  /** `n` new tokens, greedy, EOS ignored; only with a KV-cache export (hasCache) */
  generate(ids: number[], n: number): Promise<number[]>;
  /** the export has past_key_values inputs: transformers.js can generate from it */
  hasCache: boolean;
  version: string;
  dispose(): Promise<void>;
}

/** A transformers.js causal LM on the checkpoint in `dir` (its ONNX export, exportOf). */
export async function transformersModel(dir: string, opts: { device?: 'cpu' | 'webgpu'; onnx?: string } = {}): Promise<TransformersModel> {
  const onnx = exportOf(dir, opts.onnx);
  // transformers.js' local layout: <root>/<name>/config.json (+ generation_config.json) and onnx/model.onnx
  const root = mkdtempSync(join(tmpdir(), 'lab-tjs-'));
  const at = join(root, 'model');
  mkdirSync(join(at, 'onnx'), { recursive: true });
  for (const f of ['config.json', 'generation_config.json']) if (existsSync(join(dir, f))) copyFileSync(join(dir, f), join(at, f));
  copyFileSync(onnx, join(at, 'onnx', 'model.onnx'));
  // weights stored beside a large export (export_onnx_kv.py past 2 GiB): ORT reads them from the model's own folder
  // (it refuses a symbolic link out of it), by the name the export recorded (<export>_data); hard-linked where the
  // file system allows, else copied (2 GB for Qwen2.5-0.5B)
  const data = `${onnx}_data`;
  if (existsSync(data)) {
    const to = join(at, 'onnx', basename(data));
    try {
      linkSync(data, to);
    } catch {
      copyFileSync(data, to);
    }
  }
  const name = '@huggingface/transformers';
  const tjs = (await import(/* @vite-ignore */ name)) as Tjs;
  tjs.env.allowRemoteModels = false;
  tjs.env.localModelPath = root + '/';
  const model = await tjs.AutoModelForCausalLM.from_pretrained('model', { dtype: 'fp32', device: opts.device ?? 'cpu' });
  const hasCache = (model.sessions as Record<string, { inputNames: string[] }>).model.inputNames.some((n) => n.startsWith('past_key_values.'));
  const i64 = (xs: number[]) => new tjs.Tensor('int64', BigInt64Array.from(xs.map(BigInt)), [1, xs.length]);
  return {
    hasCache,
    version: tjs.env.version,
    async logits(ids) {
      const inputs: Record<string, unknown> = { input_ids: i64(ids), attention_mask: i64(ids.map(() => 1)) };
      const out = (await model(inputs)) as { logits: { data: Float32Array } };
      return out.logits.data;
    },
    async generate(ids, n) {
      if (!hasCache) throw new Error(`${onnx}: no past_key_values inputs: transformers.js cannot generate from it (tools/golden/export_onnx_kv.py writes one that can)`);
      const out = (await model.generate({ input_ids: i64(ids), max_new_tokens: n, min_new_tokens: n, do_sample: false } as never)) as { data: BigInt64Array };
      return Array.from(out.data, Number).slice(ids.length);
    },
    async dispose() {
      await model.dispose();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export async function transformersBench(argv: string[]): Promise<void> {
  const p = parseArgs(argv, { values: ['model', 'onnx', 'tokens', 'new', 'reps', 'device', 'json', 'label'] });
  const dir = p.values.get('model');
  if (!dir) throw new UsageError('--model <dir> is required');
  const device = (p.values.get('device') ?? 'cpu') as 'cpu' | 'webgpu';
  if (device !== 'cpu' && device !== 'webgpu') throw new UsageError(`--device must be cpu or webgpu, got ${device}`);
  const lengths = (p.values.get('tokens') ?? '32,128').split(',').map(Number);
  const reps = num(p, 'reps', 10);
  const label = p.values.get('label') ?? dir;
  const rt = await Runtime.create(await nodeGpu());
  const { model } = await loadModel(rt, dirSource(dir), { tokenizer: false });
  const tjs = await transformersModel(dir, { device, onnx: p.values.get('onnx') });
  const nNew = num(p, 'new', 32);
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
          `(lab ${speedWords(ratio)}); max rel err ${cmp.maxRelErr.toExponential(1)}, argmax ${cmp.argmaxAgree}/${cmp.positions}`,
      );
    }
    // generation: greedy, nNew tokens after the longest prompt, EOS ignored; both sides' tokens must agree
    if (tjs.hasCache) {
      const T = lengths.at(-1)!;
      const ids = Array.from(new Rng(11 + T).ints(T, 0, V));
      const ours = async () => (await generate(model, [ids], { maxNewTokens: nNew, sampling: { kind: 'greedy' }, ignoreEos: true }))[0];
      const same = (await ours()).join(',') === (await tjs.generate(ids, nNew)).join(',');
      const msOurs = await timed(reps, ours);
      const msTjs = await timed(reps, () => tjs.generate(ids, nNew));
      rows.push({ model: label, generate: { prompt: T, new: nNew }, device, msOurs, msTransformers: msTjs, sameTokens: same });
      const ratio = msTjs / msOurs;
      console.log(
        `greedy generation of ${nNew} tokens after [1, ${T}], median of ${reps}: lab ${msOurs.toFixed(1)} ms (${((1000 * nNew) / msOurs).toFixed(0)} tok/s) · ` +
          `transformers.js ${msTjs.toFixed(1)} ms (${((1000 * nNew) / msTjs).toFixed(0)} tok/s) (lab ${speedWords(ratio)}); tokens ${same ? 'identical' : 'DIFFER'}`,
      );
    } else console.log('generation: not compared (this export has no KV cache; tools/golden/export_onnx_kv.py writes one transformers.js generates from)');
  } finally {
    await tjs.dispose();
  }
  const json = p.values.get('json');
  if (json) writeFileSync(json, JSON.stringify({ device: s.description, transformers: tjs.version, rows }, null, 1));
  rt.destroy();
}
