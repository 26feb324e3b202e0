// loadCheckpoint on tiny in-memory checkpoints (checkpoint-fixtures.ts) and on a real folder
// (dirSource). Weights must come back bit-exact (no tolerance: loading is a copy).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bf16BitsToF32, f16BitsToF32 } from '../gpu/half.ts';
import { dirSource, loadCheckpoint, type FileSource, type LoadProgress } from './checkpoint.ts';
import { makeTinyCheckpoint, mapSource, type TinyCheckpoint } from './checkpoint-fixtures.ts';
import { expectedTensors, parseConfig } from './config.ts';
import { CheckpointError, readSafetensors, writeSafetensors, type StDtype } from './safetensors.ts';

async function rejectsCk(p: Promise<unknown>, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof CheckpointError, `expected CheckpointError, got ${String(e)}`);
    assert.ok(!e.message.includes('\n'), `message must be one line: ${e.message}`);
    for (const r of patterns) assert.match(e.message, r);
    return true;
  });
}

/** Checks every loaded tensor against the fixture's values, bit for bit. */
function assertSameWeights(ck: TinyCheckpoint, tensors: Map<string, { dtype: string; shape: number[]; data: Float32Array | Uint16Array }>): void {
  const cfg = parseConfig(ck.configJson);
  assert.deepEqual([...tensors.keys()], expectedTensors(cfg).map((t) => t.name), 'exactly the expected tensors, in order');
  for (const { name, shape } of expectedTensors(cfg)) {
    const t = tensors.get(name)!;
    assert.deepEqual(t.shape, shape, name);
    const want = ck.weights.get(name)!;
    const got = t.dtype === 'f32' ? t.data : Float32Array.from(t.data as Uint16Array, t.dtype === 'f16' ? f16BitsToF32 : bf16BitsToF32);
    assert.ok(t.dtype === 'f32' ? t.data instanceof Float32Array : t.data instanceof Uint16Array, `${name} typed array`);
    assert.deepEqual(got, want, name);
  }
}

/** The fixture with model.safetensors replaced by `tensors` (named from the original file). */
function rewrite(ck: TinyCheckpoint, edit: (t: { name: string; dtype: StDtype; shape: number[]; data: Uint8Array }[]) => typeof t): FileSource {
  const files = new Map(ck.files);
  const parsed = [...readSafetensors(files.get('model.safetensors')!, 'x')].map(([name, { info, data }]) => ({ name, dtype: info.dtype, shape: info.shape, data }));
  files.set('model.safetensors', writeSafetensors(edit(parsed)));
  return mapSource(ck.name, files);
}

test('tiny llama f32: config, every tensor bit-exact, progress ends at total, no warnings', async () => {
  const ck = makeTinyCheckpoint({}, 1, 'f32');
  const progress: LoadProgress[] = [];
  const r = await loadCheckpoint(ck, { onProgress: (p) => progress.push(p) });
  assert.deepEqual(r.config, parseConfig(ck.configJson));
  assertSameWeights(ck, r.tensors);
  assert.deepEqual(r.warnings, []);
  assert.equal(progress.length, r.tensors.size);
  const total = [...ck.weights.values()].reduce((a, w) => a + w.byteLength, 0);
  assert.ok(progress.every((p, i) => p.total === total && p.bytes > (progress[i - 1]?.bytes ?? 0) && p.file === 'tiny-llama-1/model.safetensors'));
  assert.equal(progress.at(-1)!.bytes, total);
});

test('bf16 and f16 stay half bits (Uint16Array); qwen2 biases; GQA', async () => {
  for (const dtype of ['bf16', 'f16'] as const) {
    const ck = makeTinyCheckpoint({ architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2' }, 2, dtype);
    const r = await loadCheckpoint(ck);
    assert.equal(r.config.arch, 'qwen2');
    assert.equal(r.tensors.get('model.layers.1.self_attn.k_proj.bias')!.dtype, dtype);
    assert.deepEqual(r.tensors.get('model.layers.1.self_attn.k_proj.weight')!.shape, [8, 16]); // [KV·Dh, D]
    assertSameWeights(ck, r.tensors);
  }
});

test('F32 data at offsets that are not 4-aligned is copied, not misread', async () => {
  const ck = makeTinyCheckpoint({}, 3, 'f32');
  // a 3-byte tensor first shifts every F32 tensor to offset ≡ 3 (mod 4) in the data section
  const src = rewrite(ck, (t) => [{ name: 'junk', dtype: 'U8', shape: [3], data: new Uint8Array([1, 2, 3]) }, ...t]);
  const r = await loadCheckpoint(src);
  assertSameWeights(ck, r.tensors);
  assert.deepEqual(r.warnings, ["tiny-llama-3/model.safetensors: ignored unexpected tensor 'junk'"]);
});

test('tied embeddings: a stored lm_head.weight and rotary inv_freq buffers are ignored quietly', async () => {
  const z = (n: number) => new Uint8Array(n * 4);
  const ck = makeTinyCheckpoint({ tie_word_embeddings: true }, 4, 'f32', {
    extra: [
      { name: 'lm_head.weight', dtype: 'F32', shape: [32, 16], data: z(32 * 16) },
      { name: 'model.layers.0.self_attn.rotary_emb.inv_freq', dtype: 'F32', shape: [2], data: z(2) },
      { name: 'model.layers.0.mlp.extra_proj.weight', dtype: 'I32', shape: [2], data: z(2) },
    ],
  });
  const r = await loadCheckpoint(ck);
  assert.ok(!r.tensors.has('lm_head.weight'));
  assertSameWeights(ck, r.tensors);
  assert.deepEqual(r.warnings, ["tiny-llama-4/model.safetensors: ignored unexpected tensor 'model.layers.0.mlp.extra_proj.weight'"]);
});

test('sharded checkpoint: index + 3 shards, each shard header read once, same tensors as one file', async () => {
  const single = makeTinyCheckpoint({}, 5, 'bf16');
  const sharded = makeTinyCheckpoint({}, 5, 'bf16', { shards: 3 });
  assert.ok(!sharded.files.has('model.safetensors') && sharded.files.has('model-00003-of-00003.safetensors'));
  const reads: string[] = [];
  const spy: FileSource = { ...sharded, read: (p, range) => (reads.push(`${p}@${range?.[0] ?? 'all'}`), sharded.read(p, range)) };
  const r = await loadCheckpoint(spy);
  assertSameWeights(single, r.tensors);
  for (let s = 1; s <= 3; s++) {
    // two reads at offset 0 per shard: the 8-byte length, then the header
    assert.equal(reads.filter((x) => x === `model-0000${s}-of-00003.safetensors@0`).length, 2, `shard ${s}`);
  }
});

test('missing files: config.json, weights, a shard', async () => {
  const ck = makeTinyCheckpoint({}, 6);
  const without = (...names: string[]) => mapSource('m', new Map([...ck.files].filter(([k]) => !names.includes(k))));
  await rejectsCk(loadCheckpoint(without('config.json')), /^m\/config\.json: missing$/);
  await rejectsCk(loadCheckpoint(without('model.safetensors')), /^m: no model\.safetensors or model\.safetensors\.index\.json found$/);
  const withBin = new Map(without('model.safetensors').files).set('pytorch_model.bin', new Uint8Array(4));
  await rejectsCk(loadCheckpoint(mapSource('m', withBin)), /pytorch_model\.bin is not supported/);
  const sh = makeTinyCheckpoint({}, 6, 'f32', { shards: 2 });
  const files = new Map(sh.files);
  files.delete('model-00002-of-00002.safetensors');
  await rejectsCk(loadCheckpoint(mapSource('m', files)), /^m\/model-00002-of-00002\.safetensors: missing \(listed in model\.safetensors\.index\.json\)/);
});

test('bad config.json and bad index are named', async () => {
  const ck = makeTinyCheckpoint({}, 7);
  const withFile = (name: string, text: string, base = ck) => mapSource('m', new Map(base.files).set(name, new TextEncoder().encode(text)));
  await rejectsCk(loadCheckpoint(withFile('config.json', '{"hidden_size": 16,')), /^m\/config\.json: not valid JSON/);
  await rejectsCk(loadCheckpoint(withFile('config.json', JSON.stringify({ ...ck.configJson, architectures: ['GPT2LMHeadModel'] }))), /^m\/config\.json: unsupported architecture "GPT2LMHeadModel"/);
  const sh = makeTinyCheckpoint({}, 7, 'f32', { shards: 2 });
  await rejectsCk(loadCheckpoint(withFile('model.safetensors.index.json', '{"weight_map": {"a": "../../x"}}', sh)), /^m\/model\.safetensors\.index\.json: .*not a plain relative file name/);
  const idx = JSON.parse(new TextDecoder().decode(sh.files.get('model.safetensors.index.json')!));
  delete idx.weight_map['model.norm.weight'];
  await rejectsCk(loadCheckpoint(withFile('model.safetensors.index.json', JSON.stringify(idx), sh)), /^m\/model\.safetensors\.index\.json: tensor 'model\.norm\.weight': missing from weight_map/);
  // weight_map points at the wrong shard
  const idx2 = JSON.parse(new TextDecoder().decode(sh.files.get('model.safetensors.index.json')!));
  idx2.weight_map['model.norm.weight'] = 'model-00001-of-00002.safetensors';
  await rejectsCk(loadCheckpoint(withFile('model.safetensors.index.json', JSON.stringify(idx2), sh)), /^m\/model-00001-of-00002\.safetensors: tensor 'model\.norm\.weight': missing/);
});

test('missing tensor, wrong shape, wrong dtype: file + tensor + expected vs got', async () => {
  const ck = makeTinyCheckpoint({}, 8);
  const F = /^tiny-llama-8\/model\.safetensors: /;
  await rejectsCk(loadCheckpoint(rewrite(ck, (t) => t.filter((x) => x.name !== 'model.layers.1.mlp.up_proj.weight'))),
    F, /tensor 'model\.layers\.1\.mlp\.up_proj\.weight': missing \(expected shape \[24, 16\]\)/);
  await rejectsCk(loadCheckpoint(rewrite(ck, (t) => t.map((x) => (x.name === 'model.norm.weight' ? { ...x, shape: [4, 4] } : x)))),
    F, /tensor 'model\.norm\.weight': expected shape \[16\], got \[4, 4\]/);
  await rejectsCk(loadCheckpoint(rewrite(ck, (t) => t.map((x) => (x.name === 'lm_head.weight' ? { ...x, dtype: 'I32' } : x)))),
    F, /tensor 'lm_head\.weight': dtype I32 is not a weight dtype/);
  // untied config but no lm_head in the file
  await rejectsCk(loadCheckpoint(rewrite(ck, (t) => t.filter((x) => x.name !== 'lm_head.weight'))), /tensor 'lm_head\.weight': missing/);
});

test('truncated or failing files become CheckpointErrors', async () => {
  const ck = makeTinyCheckpoint({}, 9);
  const st = ck.files.get('model.safetensors')!;
  for (const len of [0, 5, 40, st.length - 1]) {
    const src = mapSource('m', new Map(ck.files).set('model.safetensors', st.subarray(0, len)));
    await rejectsCk(loadCheckpoint(src), /^m\/model\.safetensors: /);
  }
  const failing: FileSource = { ...ck, read: async (p, r) => (p === 'model.safetensors' && r && r[0] > 0 ? Promise.reject(new Error('EIO: disk on fire')) : ck.read(p, r)) };
  await rejectsCk(loadCheckpoint(failing), /model\.safetensors: read failed: EIO: disk on fire/);
  const short: FileSource = { ...ck, read: async (p, r) => (await ck.read(p, r)).subarray(0, r && r[0] > 0 ? 3 : undefined) };
  await rejectsCk(loadCheckpoint(short), /short read/);
  const statFails: FileSource = { ...ck, size: async () => { throw new Error('EACCES'); } };
  await rejectsCk(loadCheckpoint(statFails), /config\.json: cannot stat: EACCES/);
});

// A real folder on disk through dirSource
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test('dirSource: loads a folder from disk; missing → null; refuses paths outside the folder', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ckpt-test-'));
  dirs.push(dir);
  const ck = makeTinyCheckpoint({ tie_word_embeddings: true }, 10, 'bf16', { shards: 2 });
  for (const [name, bytes] of ck.files) await writeFile(join(dir, name), bytes);
  const src = dirSource(dir);
  assert.equal(await src.size('nope.json'), null);
  assert.equal(await src.size('config.json'), ck.files.get('config.json')!.length);
  assert.deepEqual(await src.list!(), [...ck.files.keys()].sort());
  assert.deepEqual(await src.read('config.json', [2, 7]), ck.files.get('config.json')!.subarray(2, 7));
  await assert.rejects(src.read('../etc/passwd'), CheckpointError);
  const r = await loadCheckpoint(src);
  assertSameWeights(ck, r.tensors);
  assert.deepEqual(r.warnings, []);
  await rejectsCk(loadCheckpoint(dirSource(join(dir, 'absent'))), /absent\/config\.json: missing/);
});
