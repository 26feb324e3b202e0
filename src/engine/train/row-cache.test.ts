// The tokenized-rows cache: exact round trip (u16 and i32 widths), and anything not made for this key
// (other data, other tokenizer, damaged bytes) is refused rather than trusted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rowCacheKey, encodeRowCache, decodeRowCache } from './row-cache.ts';
import { IGNORE_INDEX, type SftData } from './data.ts';

const rows = (maxId: number): SftData => ({
  examples: [
    { line: 1, input_ids: [5, 6, 7, maxId], labels: [IGNORE_INDEX, IGNORE_INDEX, 7, maxId] },
    { line: 3, input_ids: [0], labels: [0] },
    { line: 9, input_ids: [1, 65534, 2], labels: [IGNORE_INDEX, 65534, 2] },
  ],
  problems: [{ line: 2, message: 'd.jsonl:2: not valid JSON' }],
});

test('row cache: round trip is exact with u16 and i32 storage, problems included', async () => {
  const key = await rowCacheKey('{"a":1}\n', [new Uint8Array([1, 2]), null], { maxLength: 256 });
  for (const maxId of [9, 65535, 151_000]) {
    const data = rows(maxId);
    const bytes = encodeRowCache(key, data);
    assert.deepEqual(decodeRowCache(bytes, key), data, `ids up to ${maxId}`);
    // A Node Buffer view at an odd offset decodes the same (alignment is the decoder's job).
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    assert.deepEqual(decodeRowCache(shifted.subarray(1), key), data);
  }
});

test('row cache: another key, a truncated file or garbage gives null (rebuild), never wrong rows', async () => {
  const k = (data: string, tok: Uint8Array | null, n: number) => rowCacheKey(data, [tok], { maxLength: n });
  const key = await k('x', new Uint8Array([1]), 256);
  assert.notEqual(await k('y', new Uint8Array([1]), 256), key, 'data changes the key');
  assert.notEqual(await k('x', new Uint8Array([2]), 256), key, 'tokenizer changes the key');
  assert.notEqual(await k('x', null, 256), key);
  assert.notEqual(await k('x', new Uint8Array([1]), 512), key, 'options change the key');
  const bytes = encodeRowCache(key, rows(9));
  assert.equal(decodeRowCache(bytes, await k('y', new Uint8Array([1]), 256)), null);
  assert.equal(decodeRowCache(bytes.subarray(0, bytes.length - 2), key), null);
  assert.equal(decodeRowCache(new TextEncoder().encode('LABROWS1\xff\xff\xff\x7fgarbage'), key), null);
  assert.equal(decodeRowCache(new Uint8Array(3), key), null);
});
