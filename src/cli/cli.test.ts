// The CLI as scripts use it: `lab forward` / `lab generate` in the exact forms, against the
// golden fixtures, and bad input answered by one clear stderr line and a non-zero exit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runLab } from './lab-run.testlib.ts';
import { assertAllClose } from '../engine/testing/allclose.ts';

const fixture = join(ROOT, 'models/fixtures/llama-gqa');
const tmp = mkdtempSync(join(tmpdir(), 'lab-cli-'));
const ref = JSON.parse(readFileSync(join(fixture, 'reference.json'), 'utf8'));
const arith = ref.cases.find((c: { name: string }) => c.name === 'arith'); // one unpadded row

/** `lab <args>` with stderr cut to its `lab:` lines (the engine's driver warnings dropped). */
function lab(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = runLab(args, 120_000);
  return { ...r, stderr: r.stderr.split('\n').filter((l) => l.startsWith('lab:')).join('\n') };
}

test('forward --ids --attn writes ids, logits [pos][vocab] and attentions [layer][head][query][key] equal to transformers', () => {
  const out = join(tmp, 'fwd.json');
  const ids: number[] = arith.input_ids[0];
  const r = lab('forward', '--model', fixture, '--ids', ids.join(','), '--attn', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  const got = JSON.parse(readFileSync(out, 'utf8'));
  assert.deepEqual(Object.keys(got).sort(), ['attentions', 'ids', 'logits']);
  assert.deepEqual(got.ids, ids);
  assert.equal(got.logits.length, ids.length);
  assertAllClose(got.logits.flat(), arith.logits[0].flat(), { atol: 1e-5, rtol: 1e-4 }, 'CLI logits');
  assert.equal(got.attentions.length, ref.model_config.n_layers);
  for (let l = 0; l < got.attentions.length; l++) assertAllClose(got.attentions[l].flat(2), arith.attn_pattern[l][0].flat(2), { atol: 1e-5, rtol: 0 }, `CLI attentions layer ${l}`);
});

test('forward --text tokenizes without special tokens, and omits attentions without --attn', () => {
  const out = join(tmp, 'fwd-text.json');
  const r = lab('forward', '--model', fixture, '--text', arith.texts[0], '--out', out);
  assert.equal(r.code, 0, r.stderr);
  const got = JSON.parse(readFileSync(out, 'utf8'));
  assert.deepEqual(got.ids, arith.input_ids[0]);
  assert.equal(got.attentions, undefined);
});

test('generate --greedy --ignore-eos gives transformers greedy tokens and their text', () => {
  const out = join(tmp, 'gen.json');
  const n = arith.greedy.new_tokens[0].length;
  const r = lab('generate', '--model', fixture, '--ids', arith.input_ids[0].join(','), '--max-new-tokens', String(n), '--greedy', '--ignore-eos', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  const got = JSON.parse(readFileSync(out, 'utf8'));
  assert.deepEqual(Object.keys(got).sort(), ['ids', 'text']);
  assert.deepEqual(got.ids, arith.greedy.new_tokens[0]);
  assert.equal(typeof got.text, 'string');
});

test('generate --ids works on a checkpoint without tokenizer.json (text left empty, a warning said)', () => {
  const bare = join(tmp, 'no-tokenizer');
  cpSync(fixture, bare, { recursive: true });
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) rmSync(join(bare, f), { force: true });
  const out = join(tmp, 'gen-bare.json');
  const r = lab('generate', '--model', bare, '--ids', arith.input_ids[0].join(','), '--max-new-tokens', '4', '--greedy', '--ignore-eos', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /no tokenizer\.json/);
  const got = JSON.parse(readFileSync(out, 'utf8'));
  assert.deepEqual(got, { ids: arith.greedy.new_tokens[0].slice(0, 4), text: '' });
  // --text still needs one, and says so
  const t = lab('generate', '--model', bare, '--text', 'hi', '--max-new-tokens', '1', '--greedy', '--out', out);
  assert.notEqual(t.code, 0);
  assert.match(t.stderr, /tokenizer\.json/);
});

test('generate with temperature / top-p / top-k is reproducible by seed', () => {
  const run = (seed: string) => {
    const out = join(tmp, `gen-${seed}.json`);
    const r = lab('generate', '--model', fixture, '--text', 'The cat', '--max-new-tokens', '8', '--temperature', '1.5', '--top-p', '0.95', '--top-k', '50', '--seed', seed, '--ignore-eos', '--out', out);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(readFileSync(out, 'utf8')).ids as number[];
  };
  const a = run('3');
  assert.equal(a.length, 8);
  assert.deepEqual(run('3'), a);
});

test('bad input: one clear stderr line naming the problem, non-zero exit, no stack trace', () => {
  const bad = join(tmp, 'bad-model');
  cpSync(fixture, bad, { recursive: true });
  truncateSync(join(bad, 'model.safetensors'), 1000); // header intact, data cut short
  const notJson = join(tmp, 'bad-config');
  cpSync(fixture, notJson, { recursive: true });
  writeFileSync(join(notJson, 'config.json'), '{ not json');
  const cases: [string[], RegExp][] = [
    [['forward', '--ids', '1', '--out', join(tmp, 'x.json')], /--model <dir> is required/],
    [['forward', '--model', join(tmp, 'nowhere'), '--ids', '1', '--out', join(tmp, 'x.json')], /model folder .*nowhere does not exist/],
    [['forward', '--model', bad, '--ids', '1', '--out', join(tmp, 'x.json')], /model\.safetensors/],
    [['forward', '--model', notJson, '--ids', '1', '--out', join(tmp, 'x.json')], /config\.json/],
    [['forward', '--model', fixture, '--ids', '1,99999', '--out', join(tmp, 'x.json')], /99999.*vocabulary/],
    [['forward', '--model', fixture, '--ids', '1', '--text', 'a', '--out', join(tmp, 'x.json')], /exactly one of --text or --ids/],
    [['generate', '--model', fixture, '--ids', '1', '--max-new-tokens', '2', '--out', join(tmp, 'x.json')], /--greedy or --temperature/],
    [['forward', '--model', fixture, '--ids', '1', '--bogus', '--out', join(tmp, 'x.json')], /unknown option --bogus/],
  ];
  for (const [args, want] of cases) {
    const r = lab(...args);
    assert.notEqual(r.code, 0, `${args.join(' ')} should fail`);
    assert.match(r.stderr, want, `${args.join(' ')}: stderr was ${JSON.stringify(r.stderr)}`);
    assert.equal(r.stderr.split('\n').length, 1, `one line expected: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
});
