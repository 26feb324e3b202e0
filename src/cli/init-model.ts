// `lab init --config <config.json> [--tokenizer <dir>] [--seed s] [--dtype f32|bf16|f16] --out <dir>`:
// a fresh, randomly initialised checkpoint of any Llama-family shape, as transformers' _init_weights
// makes one (linear and embedding weights ~ N(0, initializer_range), norm weights 1, biases 0), for
// training from scratch (the embedded default model) with `lab sft --full`. The tokenizer files
// (tokenizer.json, tokenizer_config.json, chat_template.jinja) are copied from --tokenizer when given.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig, expectedTensors } from '../engine/model/config.ts';
import { writeSafetensors, type StDtype } from '../engine/model/safetensors.ts';
import { toHalfBits } from '../engine/gpu/half.ts';
import { Rng } from '../engine/util/rng.ts';
import { parseArgs, num, UsageError } from './args.ts';

export async function initCommand(argv: string[]): Promise<void> {
  const p = parseArgs(argv, { values: ['config', 'tokenizer', 'seed', 'dtype', 'out'] });
  const cfgFile = p.values.get('config'), out = p.values.get('out');
  if (!cfgFile || !out) throw new UsageError('--config <config.json> and --out <dir> are required');
  if (!existsSync(cfgFile)) throw new UsageError(`config ${cfgFile} does not exist`);
  const dtype = (p.values.get('dtype') ?? 'f32') as 'f32' | 'bf16' | 'f16';
  if (!['f32', 'bf16', 'f16'].includes(dtype)) throw new UsageError(`--dtype must be f32, bf16 or f16, got ${dtype}`);
  const json = JSON.parse(readFileSync(cfgFile, 'utf8')) as Record<string, unknown>;
  json.torch_dtype = { f32: 'float32', bf16: 'bfloat16', f16: 'float16' }[dtype];
  const cfg = parseConfig(json, cfgFile);
  const std = typeof json.initializer_range === 'number' ? json.initializer_range : 0.02;
  const rng = new Rng(num(p, 'seed', 0));
  const st: StDtype = dtype === 'f32' ? 'F32' : dtype === 'bf16' ? 'BF16' : 'F16';
  const tensors = expectedTensors(cfg).map(({ name, shape }) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const v = name.endsWith('norm.weight') ? new Float32Array(n).fill(1) : name.endsWith('.bias') ? new Float32Array(n) : rng.normal(n, std); // [shape]
    const bits = dtype === 'f32' ? v : toHalfBits(v, dtype);
    return { name, dtype: st, shape, data: new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength) };
  });
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'config.json'), JSON.stringify(json, null, 2));
  writeFileSync(join(out, 'model.safetensors'), writeSafetensors(tensors, { format: 'pt' }));
  const tok = p.values.get('tokenizer');
  if (tok) for (const f of ['tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja']) if (existsSync(join(tok, f))) copyFileSync(join(tok, f), join(out, f));
  const params = tensors.reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);
  process.stderr.write(`lab init: ${cfg.arch}, ${params.toLocaleString('en')} parameters (${dtype}) in ${out}\n`);
}
