// `lab convert`: dtype change of a whole checkpoint (the embedded default is trained in f32, shipped in bf16).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runLab } from './lab-run.testlib.ts';
import { readSafetensors } from '../engine/model/safetensors.ts';
import { f32ToBf16Bits, bf16BitsToF32 } from '../engine/gpu/half.ts';

const tmp = mkdtempSync(join(tmpdir(), 'lab-convert-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const micro = join(ROOT, 'models/lab-micro');
const tensorsOf = (dir: string) => readSafetensors(readFileSync(join(dir, 'model.safetensors')), dir);

test('convert f32 → bf16 → f32: every value rounds to nearest even once, then comes back exactly; config and tokenizer follow', () => {
  const bf = join(tmp, 'bf16'), back = join(tmp, 'f32');
  let r = runLab(['convert', '--model', micro, '--dtype', 'bf16', '--out', bf]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /lab convert: 75,504 parameters → bf16/);
  r = runLab(['convert', '--model', bf, '--dtype', 'f32', '--out', back]);
  assert.equal(r.code, 0, r.stderr);
  const src = tensorsOf(micro), half = tensorsOf(bf), f32 = tensorsOf(back);
  assert.deepEqual([...half.keys()], [...src.keys()]);
  for (const [name, { info, data }] of src) {
    const h = half.get(name)!, f = f32.get(name)!;
    assert.equal(h.info.dtype, 'BF16', name);
    assert.deepEqual(h.info.shape, info.shape, name);
    const v = new Float32Array(new Uint8Array(data).buffer), hb = new Uint16Array(new Uint8Array(h.data).buffer), fv = new Float32Array(new Uint8Array(f.data).buffer);
    for (let i = 0; i < v.length; i++) {
      assert.equal(hb[i], f32ToBf16Bits(v[i]), `${name}[${i}]`);
      assert.equal(fv[i], bf16BitsToF32(hb[i]), `${name}[${i}] after the way back`);
    }
  }
  assert.equal(JSON.parse(readFileSync(join(bf, 'config.json'), 'utf8')).torch_dtype, 'bfloat16');
  assert.equal(JSON.parse(readFileSync(join(back, 'config.json'), 'utf8')).torch_dtype, 'float32');
  assert.equal(readFileSync(join(bf, 'tokenizer.json'), 'utf8'), readFileSync(join(micro, 'tokenizer.json'), 'utf8'));
  // Half the bytes (plus a header).
  assert.ok(readFileSync(join(bf, 'model.safetensors')).length < readFileSync(join(micro, 'model.safetensors')).length / 2 + 4096);
});

test('convert: bad input gets a one-line error naming what is wrong, and writes nothing', () => {
  let r = runLab(['convert', '--model', micro, '--dtype', 'int4', '--out', join(tmp, 'x')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--dtype must be f32, bf16 or f16, got int4/);
  r = runLab(['convert', '--model', join(tmp, 'nowhere'), '--dtype', 'bf16', '--out', join(tmp, 'y')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /nowhere\/model\.safetensors does not exist/);
  assert.equal(existsSync(join(tmp, 'x')) || existsSync(join(tmp, 'y')), false);
});

test('convert keeps the terms the model inherits (governance.json) and refuses a model whose source was withdrawn', () => {
  const src = join(tmp, 'governed');
  cpSync(micro, src, { recursive: true });
  const terms = { data: 'rows.jsonl', inherited: { prohibited_uses: ['upload'], contains_sensitive_content: true, sources: ['s1'] } };
  writeFileSync(join(src, 'governance.json'), JSON.stringify(terms));
  const r = runLab(['convert', '--model', src, '--dtype', 'bf16', '--out', join(tmp, 'governed-bf16')]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(readFileSync(join(tmp, 'governed-bf16', 'governance.json'), 'utf8')), terms);
  writeFileSync(join(src, 'governance.json'), JSON.stringify({ ...terms, revoked: { at: '2026-12-05T00:00:00Z', reason: 'record s1 is removed_pending_review' } }));
  const no = runLab(['convert', '--model', src, '--dtype', 'bf16', '--out', join(tmp, 'governed-2')]);
  assert.equal(no.code, 1);
  assert.match(no.stderr, /--model .* refused: it was made from a source that was withdrawn \(record s1 is removed_pending_review/);
  assert.equal(existsSync(join(tmp, 'governed-2')), false);
});
