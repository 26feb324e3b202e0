// The CLI's argument parsing: `--ids` lists of token ids are strict (an empty field is not a 0).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseIdList, UsageError } from './args.ts';
import { ROOT, runLab } from './lab-run.testlib.ts';

const refused = (value: string, ...patterns: RegExp[]) =>
  assert.throws(() => parseIdList(value, 'ids'), (e: unknown) => {
    assert.ok(e instanceof UsageError, String(e));
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });

test('--ids: digits separated by commas (spaces around a field allowed)', () => {
  assert.deepEqual(parseIdList('1,0,2', 'ids'), [1, 0, 2]);
  assert.deepEqual(parseIdList(' 5, 22 ,39', 'ids'), [5, 22, 39]);
  assert.deepEqual(parseIdList('7', 'ids'), [7]);
});

test('--ids: an empty, negative or non-integer field is an error naming the flag and the field', () => {
  refused('1,,2', /^--ids: field 2 of 3 is empty in "1,,2"/);
  refused('1,2,', /--ids: field 3 of 3 is empty/);
  refused(',1', /--ids: field 1 of 2 is empty/);
  refused('', /--ids: field 1 of 1 is empty/);
  refused('1, ,2', /field 2 of 3 is empty/);
  refused('1,-2', /--ids: field 2 of 2 \("-2"\) is not a token id/);
  for (const bad of ['1.5', '1.0', '1e3', '0x10', 'abc', '+3', '99999999999999999999']) refused(`4,${bad}`, /--ids: field 2 of 2 /, /is not a token id/);
});

test('lab forward --ids 1,,2 stops with a usage error (exit 2) before running anything', () => {
  const r = runLab(['forward', '--model', join(ROOT, 'models/fixtures/llama-gqa'), '--ids', '1,,2', '--out', join(tmpdir(), 'lab-args-never-written.json')], 120_000);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /lab: usage error: --ids: field 2 of 3 is empty in "1,,2"/);
});
