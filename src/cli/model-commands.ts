// `lab forward` and `lab generate`: the model on the engine, from a local checkpoint folder.
//   forward  --model <dir> (--text <s> | --ids <i,j,...>) [--attn] --out <file.json>
//            → {"ids": [...], "logits": [[...]] /* [pos][vocab] */, "attentions": [[[[...]]]] /* [layer][head][query][key], with --attn */}
//   generate --model <dir> (--text|--ids) --max-new-tokens N (--greedy | --temperature T [--top-p P] [--top-k K] [--seed S])
//            [--ignore-eos] --out <file.json>   → {"ids": [...new tokens only], "text": "..."}
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeGpu } from '../engine/gpu/node.ts';
import { withCliKernels } from './kernels.ts';
import { Runtime } from '../engine/gpu/runtime.ts';
import { dirSource } from '../engine/model/checkpoint.ts';
import { loadModel, type LoadedModel } from '../engine/model/load.ts';
import { HOOKS } from '../engine/model/llama.ts';
import { generate } from '../engine/model/generate.ts';
import type { Sampling } from '../engine/model/sampling.ts';
import { parseArgs, parseIdList, num, UsageError, type Parsed } from './args.ts';
import { refuseRevoked } from './governance-fs.ts';

async function open(p: Parsed, needTokenizer: boolean): Promise<{ rt: Runtime; loaded: LoadedModel; ids: number[] }> {
  const dir = p.values.get('model');
  if (!dir) throw new UsageError('--model <dir> is required');
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`model folder ${dir} does not exist (give a folder with config.json, *.safetensors and tokenizer.json)`);
  const text = p.values.get('text');
  const idsArg = p.values.get('ids');
  if ((text === undefined) === (idsArg === undefined)) throw new UsageError('give exactly one of --text or --ids');
  if (!p.values.get('out')) throw new UsageError('--out <file.json> is required');
  const given = idsArg !== undefined ? parseIdList(idsArg, 'ids') : null; // checked before the GPU starts
  const adapter = p.values.get('adapter');
  if (adapter !== undefined && !existsSync(adapter)) throw new UsageError(`adapter folder ${adapter} does not exist`);
  if (adapter !== undefined) refuseRevoked(adapter, '--adapter');
  refuseRevoked(dir, '--model');
  const rt = withCliKernels(await Runtime.create(await nodeGpu()));
  const loaded = await loadModel(rt, dirSource(dir), { tokenizer: needTokenizer || text !== undefined, adapter: adapter !== undefined ? dirSource(adapter) : undefined });
  for (const w of loaded.warnings) process.stderr.write(`lab: warning: ${w}\n`);
  let ids: number[];
  if (text !== undefined) ids = loaded.tokenizer!.encode(text, { addSpecialTokens: false });
  else ids = given!;
  const V = loaded.model.cfg.d_vocab;
  const bad = ids.find((i) => i >= V);
  if (bad !== undefined) throw new UsageError(`token id ${bad} is outside the model's vocabulary (0..${V - 1})`);
  if (ids.length === 0) throw new UsageError('the input is empty (no tokens)');
  if (ids.length > loaded.model.cfg.n_ctx) throw new UsageError(`${ids.length} tokens exceed the model's context of ${loaded.model.cfg.n_ctx}`);
  return { rt, loaded, ids };
}

/** Nested arrays from a flat row-major array. */
function nest(a: Float32Array, shape: number[]): unknown {
  if (shape.length === 1) return Array.from(a.subarray(0, shape[0]));
  const inner = shape.slice(1).reduce((x, y) => x * y, 1);
  return Array.from({ length: shape[0] }, (_, i) => nest(a.subarray(i * inner, (i + 1) * inner), shape.slice(1)));
}

export async function forwardCommand(argv: string[]): Promise<void> {
  const p = parseArgs(argv, { values: ['model', 'text', 'ids', 'out', 'adapter'], flags: ['attn'] });
  const { rt, loaded, ids } = await open(p, false);
  const { model } = loaded;
  const T = ids.length;
  const capture = new Set<string>();
  if (p.flags.has('attn')) for (let l = 0; l < model.cfg.n_layers; l++) capture.add(HOOKS.pattern(l));
  const idsT = rt.upload(Int32Array.from(ids), [1, T], 'i32', 'ids');
  const { logits, captures } = model.forward(idsT, { capture, logits: 'all' });
  const result: Record<string, unknown> = { ids };
  result.logits = nest((await rt.read(logits!)) as Float32Array, [T, model.cfg.d_vocab]);
  if (p.flags.has('attn')) {
    const layers = [];
    for (let l = 0; l < model.cfg.n_layers; l++) {
      const probs = captures.get(HOOKS.pattern(l))!; // [1, H, T, T]
      layers.push(nest((await rt.read(probs)) as Float32Array, [model.cfg.n_heads, T, T]));
    }
    result.attentions = layers;
  }
  writeFileSync(p.values.get('out')!, JSON.stringify(result));
  rt.destroy();
}

export async function generateCommand(argv: string[]): Promise<void> {
  const p = parseArgs(argv, {
    values: ['model', 'text', 'ids', 'out', 'max-new-tokens', 'temperature', 'top-p', 'top-k', 'seed', 'adapter'],
    flags: ['greedy', 'ignore-eos'],
  });
  const greedy = p.flags.has('greedy');
  if (greedy === p.values.has('temperature')) throw new UsageError('give exactly one of --greedy or --temperature T');
  if (greedy && (p.values.has('top-p') || p.values.has('top-k') || p.values.has('seed'))) throw new UsageError('--top-p, --top-k and --seed go with --temperature, not --greedy');
  const sampling: Sampling = greedy
    ? { kind: 'greedy' }
    : {
        kind: 'sample',
        temperature: num(p, 'temperature'),
        topP: p.values.has('top-p') ? num(p, 'top-p') : undefined,
        topK: p.values.has('top-k') ? num(p, 'top-k') : undefined,
        seed: num(p, 'seed', 0),
      };
  const maxNewTokens = num(p, 'max-new-tokens');
  // with --ids the tokenizer only turns the new ids into "text": use it when the folder has one
  const dir = p.values.get('model');
  const haveTokenizer = !!dir && existsSync(join(dir, 'tokenizer.json'));
  const { rt, loaded, ids } = await open(p, haveTokenizer);
  const [newIds] = await generate(loaded.model, [ids], { maxNewTokens, sampling, ignoreEos: p.flags.has('ignore-eos') });
  if (!loaded.tokenizer) process.stderr.write(`lab: warning: ${dir} has no tokenizer.json: "text" is left empty\n`);
  const text = loaded.tokenizer ? loaded.tokenizer.decode(newIds, { skipSpecialTokens: false }) : '';
  writeFileSync(p.values.get('out')!, JSON.stringify({ ids: newIds, text }));
  rt.destroy();
}
