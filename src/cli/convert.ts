// `lab convert --model <dir> --dtype f32|bf16|f16 --out <dir>`: the same checkpoint with every
// floating-point tensor stored in another dtype (round to nearest even, as torch's .to() does), the
// config's torch_dtype updated, the tokenizer files copied. The embedded default model is trained in
// f32 and shipped in bf16 by this command, so the ≤ 10 MB checkpoint is made by the lab itself.
// Integer tensors are copied unchanged; a single-file checkpoint (model.safetensors) is expected.
// The copy is the same model: the terms it inherits from its training data (governance.json) go with it,
// and a model marked revoked (its source withdrawn) is not converted.
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors, CheckpointError, type StDtype } from '../engine/model/safetensors.ts';
import { fromHalfBits, toHalfBits } from '../engine/gpu/half.ts';
import { parseArgs, UsageError } from './args.ts';
import { refuseRevoked } from './governance-fs.ts';

const TARGET: Record<string, { st: StDtype; torch: string }> = {
  f32: { st: 'F32', torch: 'float32' }, bf16: { st: 'BF16', torch: 'bfloat16' }, f16: { st: 'F16', torch: 'float16' },
};
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja', 'special_tokens_map.json', 'generation_config.json'];

/** A float tensor's values as f32 (a copy; `data` need not be aligned). */
function toF32(name: string, dtype: StDtype, data: Uint8Array, file: string): Float32Array {
  const copy = new Uint8Array(data); // an aligned copy of the bytes (Buffer.slice would share the file)
  if (dtype === 'F32') return new Float32Array(copy.buffer);
  if (dtype === 'BF16' || dtype === 'F16') return fromHalfBits(new Uint16Array(copy.buffer), dtype === 'BF16' ? 'bf16' : 'f16');
  if (dtype === 'F64') return Float32Array.from(new Float64Array(copy.buffer));
  throw new CheckpointError(file, `cannot convert dtype ${dtype}`, name);
}

export async function convertCommand(argv: string[]): Promise<void> {
  const p = parseArgs(argv, { values: ['model', 'dtype', 'out'] });
  const model = p.values.get('model'), out = p.values.get('out'), dtype = p.values.get('dtype');
  if (!model || !out || !dtype) throw new UsageError('--model <dir>, --dtype f32|bf16|f16 and --out <dir> are required');
  const target = TARGET[dtype];
  if (!target) throw new UsageError(`--dtype must be f32, bf16 or f16, got ${dtype}`);
  const file = join(model, 'model.safetensors');
  if (!existsSync(file)) throw new UsageError(`${file} does not exist (lab convert reads a single-file checkpoint)`);
  const cfgFile = join(model, 'config.json');
  if (!existsSync(cfgFile)) throw new UsageError(`${cfgFile} does not exist`);
  refuseRevoked(model, '--model');
  const cfg = JSON.parse(readFileSync(cfgFile, 'utf8')) as Record<string, unknown>;

  const FLOAT = new Set<StDtype>(['F32', 'F16', 'BF16', 'F64']);
  let params = 0, maxRel = 0;
  const tensors = [...readSafetensors(readFileSync(file), file)].map(([name, { info, data }]) => {
    if (!FLOAT.has(info.dtype)) return { name, dtype: info.dtype, shape: info.shape, data };
    const v = toF32(name, info.dtype, data, file); // [numel]
    params += v.length;
    const bits = target.st === 'F32' ? v : toHalfBits(v, dtype as 'bf16' | 'f16');
    if (target.st !== 'F32') {
      const back = fromHalfBits(bits as Uint16Array, dtype as 'bf16' | 'f16'); // [numel] the stored values
      // f16 overflows above 65504: refuse rather than write Inf into a checkpoint.
      if (target.st === 'F16') for (let i = 0; i < v.length; i++) if (Number.isFinite(v[i]) && !Number.isFinite(back[i])) throw new CheckpointError(file, `value ${v[i]} at index ${i} overflows f16`, name);
      let num = 0, den = 0;
      for (let i = 0; i < v.length; i++) { num = Math.max(num, Math.abs(back[i] - v[i])); den = Math.max(den, Math.abs(v[i])); }
      if (den > 0) maxRel = Math.max(maxRel, num / den);
    }
    return { name, dtype: target.st, shape: info.shape, data: new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength) };
  });
  mkdirSync(out, { recursive: true });
  const bytes = writeSafetensors(tensors, { format: 'pt' });
  // Written beside, then renamed: a killed run never leaves a half-written checkpoint under the real name.
  writeFileSync(join(out, 'model.safetensors.tmp'), bytes);
  renameSync(join(out, 'model.safetensors.tmp'), join(out, 'model.safetensors'));
  writeFileSync(join(out, 'config.json'), JSON.stringify({ ...cfg, torch_dtype: target.torch }, null, 2));
  for (const f of [...TOKENIZER_FILES, 'governance.json']) if (existsSync(join(model, f))) copyFileSync(join(model, f), join(out, f));
  process.stderr.write(`lab convert: ${params.toLocaleString('en')} parameters → ${dtype} (${(bytes.length / 1e6).toFixed(2)} MB, ` +
    `largest change ${maxRel.toExponential(2)} of a tensor's largest value) in ${out}\n`);
}
