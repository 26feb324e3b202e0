// safetensors: write/read round trip, the exact bytes of a tiny file, and one test per kind of
// damaged file (each bad file is built byte by byte here). Every error must be a one-line
// CheckpointError naming the file (and the tensor when one is involved), never a crash or hang.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../testing/rng.ts';
import { CheckpointError, parseSafetensorsHeader, parseShardIndex, readSafetensors, writeSafetensors, type StDtype } from './safetensors.ts';

const enc = new TextEncoder();

/** A file from a header given as a string (or object) and a data section of `dataBytes` bytes. */
function rawFile(header: string | object, dataBytes = 0, headerLength?: bigint): Uint8Array {
  const json = enc.encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

function throwsCk(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CheckpointError, `expected CheckpointError, got ${String(e)}`);
    assert.ok(!e.message.includes('\n'), `message must be one line: ${e.message}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

const F = 'w.safetensors';
const read = (b: Uint8Array) => () => readSafetensors(b, F);
const one = (entry: object, dataBytes: number) => rawFile({ t: entry }, dataBytes);

test('round trip: dtypes, scalar and empty tensors, metadata, order kept, header padded to 8', () => {
  const rng = new Rng(7);
  const f32 = rng.normal(15); // [3, 5]
  const bf16 = new Uint16Array([0x3f80, 0xbf80, 0x7fc0]); // [3]
  const i64 = new BigInt64Array([1n, -2n]); // [2]
  const tensors: { name: string; dtype: StDtype; shape: number[]; data: Uint8Array }[] = [
    { name: 'z.last.first', dtype: 'F32', shape: [3, 5], data: new Uint8Array(f32.buffer) },
    { name: 'odd', dtype: 'U8', shape: [3], data: new Uint8Array([1, 2, 3]) }, // leaves the next tensor unaligned
    { name: 'a.bf16', dtype: 'BF16', shape: [3], data: new Uint8Array(bf16.buffer) },
    { name: 'ids', dtype: 'I64', shape: [2], data: new Uint8Array(i64.buffer) },
    { name: 'scalar', dtype: 'F64', shape: [], data: new Uint8Array(new Float64Array([Math.PI]).buffer) },
    { name: 'empty', dtype: 'F16', shape: [0, 4], data: new Uint8Array(0) },
    { name: '__proto__', dtype: 'BOOL', shape: [1], data: new Uint8Array([1]) },
  ];
  const file = writeSafetensors(tensors, { format: 'pt', note: 'ünïcode' });
  const h = parseSafetensorsHeader(file, file.length, F);
  assert.equal(h.headerLength % 8, 0, 'header padded to a multiple of 8');
  assert.equal(h.dataOffset, 8 + h.headerLength);
  assert.equal(file.length, h.dataOffset + 60 + 3 + 6 + 16 + 8 + 0 + 1, 'data is contiguous, no gaps');
  assert.deepEqual({ ...h.metadata }, { format: 'pt', note: 'ünïcode' });
  // header JSON keys: __metadata__ first, then tensors in the order given
  const text = new TextDecoder().decode(file.subarray(8, h.dataOffset));
  assert.deepEqual(Object.keys(JSON.parse(text)), ['__metadata__', ...tensors.map((t) => t.name)]);
  assert.match(text, /} *$/, 'padding is trailing spaces');
  const got = readSafetensors(file, F);
  assert.deepEqual([...got.keys()], tensors.map((t) => t.name), 'offsets ascend in the given order');
  for (const t of tensors) {
    const g = got.get(t.name)!;
    assert.equal(g.info.dtype, t.dtype);
    assert.deepEqual(g.info.shape, t.shape);
    assert.deepEqual([...g.data], [...t.data], t.name);
  }
  assert.deepEqual(new Float32Array(got.get('z.last.first')!.data.slice().buffer), f32);
});

test('exact bytes of a tiny file (the layout the Rust writer produces)', () => {
  const file = writeSafetensors([{ name: 'a', dtype: 'F32', shape: [2], data: new Uint8Array(new Float32Array([1, -2]).buffer) }], { format: 'pt' });
  const json = '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'; // 85 bytes
  const padded = json + ' '.repeat(88 - json.length);
  const want = new Uint8Array(8 + 88 + 8);
  want[0] = 88; // u64 little-endian header length
  want.set(enc.encode(padded), 8);
  want.set(new Uint8Array(new Float32Array([1, -2]).buffer), 96);
  assert.deepEqual(file, want);
});

test('empty file, shorter than 8 bytes', () => {
  throwsCk(read(new Uint8Array(0)), /^w\.safetensors: /, /empty/);
  throwsCk(read(new Uint8Array(5)), /^w\.safetensors: /, /5 bytes, shorter than/);
});

test('header length: zero, past the end of the file, absurd (2^60, 2^32)', () => {
  throwsCk(read(rawFile('', 4)), /header length is 0/);
  const ok = rawFile('{}');
  throwsCk(read(rawFile('{}', 0, 1000n)), /header length 1000 .* past the end of the 10-byte file/);
  throwsCk(read(ok.subarray(0, 9)), /past the end/);
  throwsCk(read(rawFile('{}', 0, 2n ** 60n)), /header length 1152921504606846976 bytes exceeds/);
  throwsCk(read(rawFile('{}', 0, 2n ** 32n)), /exceeds/);
  throwsCk(read(rawFile('{}', 0, 100_000_001n)), /exceeds the 100000000-byte limit/);
  // parseSafetensorsHeader given too few bytes of a large file says so instead of misreading
  throwsCk(() => parseSafetensorsHeader(ok.subarray(0, 8), 1000, F), /need the first 10 bytes/);
});

test('header not JSON, not UTF-8, not an object', () => {
  throwsCk(read(rawFile('{"a": ')), /header is not valid JSON/);
  throwsCk(read(rawFile('PK\u0003\u0004 zip file')), /not valid JSON/);
  const bad = rawFile('{"\u00ff":1}');
  bad[10] = 0xff; // a lone 0xff byte is never UTF-8
  throwsCk(read(bad), /not valid UTF-8/);
  throwsCk(read(rawFile('[1,2]')), /must be an object, got an array/);
  throwsCk(read(rawFile('null')), /must be an object, got null/);
  throwsCk(read(rawFile('42')), /must be an object, got number/);
});

test('bad entries: not an object, unknown dtype, bad shape, bad metadata', () => {
  throwsCk(read(rawFile({ t: [1] })), /tensor 't': header entry must be an object/);
  throwsCk(read(one({ dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] }, 1)), /^w\.safetensors: tensor 't': unsupported dtype "F8_E4M3"/);
  throwsCk(read(one({ dtype: 'f32', shape: [1], data_offsets: [0, 4] }, 4)), /tensor 't': unsupported dtype "f32"/);
  throwsCk(read(one({ dtype: 'toString', shape: [1], data_offsets: [0, 4] }, 4)), /unsupported dtype "toString"/);
  throwsCk(read(one({ shape: [1], data_offsets: [0, 4] }, 4)), /unsupported dtype undefined/);
  for (const shape of [[-1], [1.5], ['3'], 3, null, [2 ** 60]]) {
    throwsCk(read(one({ dtype: 'F32', shape, data_offsets: [0, 4] }, 4)), /tensor 't': shape must be an array of non-negative integers/);
  }
  throwsCk(read(rawFile({ __metadata__: { format: 1 } })), /__metadata__\.format must be a string/);
  throwsCk(read(rawFile({ __metadata__: [] })), /__metadata__ must be an object/);
});

test('a tensor name given twice is refused, naming the file and the tensor (JSON.parse alone would keep the last)', () => {
  const e = '{"dtype":"F32","shape":[1],"data_offsets":[0,4]}';
  const e2 = '{"dtype":"F32","shape":[1],"data_offsets":[4,8]}';
  throwsCk(read(rawFile(`{"a":${e},"b":${e2},"a":${e}}`, 8)), /^w\.safetensors: tensor 'a': given twice in the header/);
  // the same key spelled with an escape, nested objects and strings holding quotes, braces and commas
  throwsCk(read(rawFile(`{"__metadata__":{"x":"a\\"},{\\"a\\":1,[","a":"}"},"w\\u0031":${e}, "w1" : ${e2}}`, 8)), /tensor 'w1': given twice/);
  throwsCk(read(rawFile(`{"__metadata__":{},"t":${e},"__metadata__":{}}`, 4)), /tensor '__metadata__': given twice/);
  // equal names inside nested objects are not top-level duplicates
  const ok = readSafetensors(rawFile(`{"__metadata__":{"a":"1"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":${e2}}`, 8), F);
  assert.deepEqual([...ok.keys()].sort(), ['a', 'b']);
});

test('offsets: malformed, begin > end, out of range, not matching the shape, overlapping', () => {
  const f32 = (data_offsets: unknown, shape: number[] = [2]) => ({ dtype: 'F32', shape, data_offsets });
  for (const offs of [[0], [0, 8, 9], [-8, 0], [0, 8.5], '0,8', null]) {
    throwsCk(read(one(f32(offs), 8)), /tensor 't': data_offsets must be \[begin, end\]/);
  }
  throwsCk(read(one(f32([8, 0]), 8)), /begin > end/);
  throwsCk(read(one(f32([0, 8]), 7)), /tensor 't': data_offsets \[0, 8\] run past the 7-byte data section/);
  throwsCk(read(one(f32([2 ** 40, 2 ** 40 + 8]), 8)), /run past/);
  throwsCk(read(one(f32([0, 12]), 12)), /tensor 't': shape \[2\] × F32 needs 8 bytes but data_offsets \[0, 12\] hold 12/);
  throwsCk(read(one(f32([0, 8], [2 ** 20, 2 ** 20]), 8)), /needs 4398046511104 bytes/);
  throwsCk(read(one(f32([0, 8], [2 ** 40, 2 ** 40]), 8)), /needs too many bytes/);
  const overlap = rawFile({ a: f32([0, 8]), b: f32([4, 12]) }, 12);
  throwsCk(read(overlap), /tensor 'b': bytes \[4, 12\) overlap tensor 'a' \[0, 8\)/);
  const same = rawFile({ a: f32([0, 8]), b: f32([0, 8]) }, 8);
  throwsCk(read(same), /overlap/);
  // tolerated: a gap, trailing bytes, empty tensors sharing an offset
  const gappy = rawFile({ a: f32([8, 16]), e: f32([8, 8], [0]), z: f32([8, 8], [0, 2]) }, 20);
  assert.deepEqual([...readSafetensors(gappy, F).keys()], ['e', 'z', 'a']);
});

test('random corruption never escapes as anything but a CheckpointError', () => {
  const rng = new Rng(3);
  const good = writeSafetensors([
    { name: 'x', dtype: 'F32', shape: [4, 3], data: new Uint8Array(48) },
    { name: 'y', dtype: 'BF16', shape: [5], data: new Uint8Array(10) },
  ]);
  let rejected = 0;
  for (let trial = 0; trial < 400; trial++) {
    const b = good.slice(0, trial % 5 === 0 ? rng.int(0, good.length) : good.length); // sometimes truncated
    for (let k = rng.int(1, 4); k > 0; k--) if (b.length) b[rng.int(0, Math.min(b.length, 120))] = rng.int(0, 256);
    try {
      readSafetensors(b, F);
    } catch (e) {
      assert.ok(e instanceof CheckpointError, `trial ${trial}: ${String(e)}`);
      assert.ok(e.message.startsWith('w.safetensors: ') && !e.message.includes('\n'));
      rejected++;
    }
  }
  assert.ok(rejected > 100, `most corruptions are caught (${rejected}/400)`);
});

test('writeSafetensors refuses inconsistent input', () => {
  throwsCk(() => writeSafetensors([{ name: 'a', dtype: 'F32', shape: [3], data: new Uint8Array(8) }]), /tensor 'a': shape \[3\] × F32 needs 12 bytes, data has 8/);
  const t = { name: 'a', dtype: 'U8' as const, shape: [1], data: new Uint8Array(1) };
  throwsCk(() => writeSafetensors([t, t]), /duplicate/);
  throwsCk(() => writeSafetensors([{ ...t, name: '__metadata__' }]), /reserved/);
  throwsCk(() => writeSafetensors([{ ...t, shape: [-1] }]), /bad shape/);
});

test('parseShardIndex: valid map, and each malformed shape named', () => {
  const idx = { metadata: { total_size: 123 }, weight_map: { 'a.weight': 'model-00001-of-00002.safetensors', 'b.weight': 'model-00002-of-00002.safetensors' } };
  assert.deepEqual([...parseShardIndex(idx, 'i.json')], Object.entries(idx.weight_map));
  assert.equal(parseShardIndex({ weight_map: { a: 'sub/x.safetensors' } }, 'i.json').get('a'), 'sub/x.safetensors');
  throwsCk(() => parseShardIndex([], 'i.json'), /^i\.json: index must be a JSON object/);
  throwsCk(() => parseShardIndex({ metadata: {} }, 'i.json'), /"weight_map" must be an object/);
  throwsCk(() => parseShardIndex({ weight_map: [] }, 'i.json'), /"weight_map" must be an object/);
  throwsCk(() => parseShardIndex({ weight_map: {} }, 'i.json'), /"weight_map" is empty/);
  throwsCk(() => parseShardIndex({ metadata: 3, weight_map: { a: 'x' } }, 'i.json'), /"metadata" must be an object/);
  throwsCk(() => parseShardIndex({ weight_map: { a: 5 } }, 'i.json'), /tensor 'a': weight_map value must be a file name/);
  for (const bad of ['../x.safetensors', '/etc/passwd', 'a/../../x', 'C:\\x', 'a\\b', '']) {
    throwsCk(() => parseShardIndex({ weight_map: { a: bad } }, 'i.json'), /is not a plain relative file name/);
  }
});
