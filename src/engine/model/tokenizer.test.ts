// Tokenizer tests on two hand-built byte-level BPE tokenizers (testdata/tokenizer/, written by
// make-fixture.ts): a Qwen2-like one (ChatML template in tokenizer_config.json, no BOS) and a
// Llama-3-like one (BOS post-processor, ignore_merges, chat_template.jinja). Each directory holds
// expected.json from Python transformers (make_expected.py: transformers 5.18.0, tokenizers 0.23.2);
// ids and strings must match it exactly. Every check runs with the merges in both tokenizer.json
// forms: ["a", "b"] pairs (as committed) and "a b" strings (derived here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { Rng } from '../testing/rng.ts';
import { dirSource, type FileSource } from './checkpoint.ts';
import { loadTokenizer, tokenizerFromJSON, type LabTokenizer } from './tokenizer.ts';

const DATA = join(dirname(fileURLToPath(import.meta.url)), 'testdata', 'tokenizer');
const VARIANTS = ['qwen-like', 'llama-like'] as const;
type Variant = (typeof VARIANTS)[number];

interface Expected {
  vocab_size: number;
  eos_token_id: number | null;
  bos_token_id: number | null;
  pad_token_id: number | null;
  cases: { text: string; ids: number[]; ids_special: number[]; decoded: string; decoded_skip: string }[];
  chat: {
    messages: { role: string; content: string }[];
    render_gen: string; render_nogen: string; ids_gen: number[]; ids_nogen: number[];
  };
  oov: { ids: number[]; decoded: string };
}

/** A FileSource over in-memory files (what the browser's IndexedDB/HTTP sources look like). */
function mapSource(name: string, files: Record<string, string | Uint8Array>): FileSource {
  const bytes = (p: string) => {
    const f = files[p];
    return typeof f === 'string' ? new TextEncoder().encode(f) : f;
  };
  return {
    name,
    list: async () => Object.keys(files).sort(),
    size: async (p) => (p in files ? bytes(p).length : null),
    read: async (p, range) => {
      if (!(p in files)) throw new Error(`${name}/${p}: no such file`);
      return range ? bytes(p).subarray(range[0], range[1]) : bytes(p);
    },
  };
}

const readText = (v: Variant, f: string) => readFileSync(join(DATA, v, f), 'utf8');
const expected = (v: Variant): Expected => JSON.parse(readText(v, 'expected.json'));

type MergesForm = 'pairs' | 'strings';

/** The fixture's files, with tokenizer.json's merges rewritten as "a b" strings when asked. */
function fixtureFiles(v: Variant, form: MergesForm): Record<string, string> {
  const tok = JSON.parse(readText(v, 'tokenizer.json'));
  assert.ok(Array.isArray(tok.model.merges[0]), 'committed fixture uses the pairs form');
  if (form === 'strings') tok.model.merges = tok.model.merges.map(([a, b]: [string, string]) => `${a} ${b}`);
  const files: Record<string, string> = {
    'tokenizer.json': JSON.stringify(tok),
    'tokenizer_config.json': readText(v, 'tokenizer_config.json'),
  };
  if (existsSync(join(DATA, v, 'chat_template.jinja'))) files['chat_template.jinja'] = readText(v, 'chat_template.jinja');
  return files;
}

const load = (v: Variant, form: MergesForm) => loadTokenizer(mapSource(`${v}(${form})`, fixtureFiles(v, form)));

for (const v of VARIANTS) {
  for (const form of ['pairs', 'strings'] as const) {
    test(`${v}, merges as ${form}: encode/decode match Python transformers`, async () => {
      const tok = await load(v, form);
      const exp = expected(v);
      assert.equal(tok.vocabSize, exp.vocab_size, 'vocabSize = len(tokenizer)');
      assert.equal(tok.eosTokenId, exp.eos_token_id);
      assert.equal(tok.bosTokenId, exp.bos_token_id);
      assert.equal(tok.padTokenId, exp.pad_token_id);
      for (const c of exp.cases) {
        const what = JSON.stringify(c.text);
        assert.deepEqual(tok.encode(c.text), c.ids, `encode ${what} (default: no special tokens)`);
        assert.deepEqual(tok.encode(c.text, { addSpecialTokens: false }), c.ids, `encode ${what}`);
        assert.deepEqual(tok.encode(c.text, { addSpecialTokens: true }), c.ids_special, `encode ${what} with special tokens`);
        assert.equal(tok.decode(c.ids_special), c.decoded, `decode ids of ${what}`);
        assert.equal(tok.decode(c.ids_special, { skipSpecialTokens: true }), c.decoded_skip, `decode ids of ${what}, skipping special`);
      }
      assert.equal(tok.decode(exp.oov.ids), exp.oov.decoded, 'ids past the vocabulary decode to nothing');
    });

    test(`${v}, merges as ${form}: chat template matches Python transformers`, async () => {
      const tok = await load(v, form);
      const { chat } = expected(v);
      assert.equal(tok.renderChatTemplate(chat.messages, { addGenerationPrompt: true }), chat.render_gen);
      assert.equal(tok.renderChatTemplate(chat.messages, { addGenerationPrompt: false }), chat.render_nogen);
      assert.equal(tok.renderChatTemplate(chat.messages), chat.render_nogen, 'addGenerationPrompt defaults to false');
      assert.deepEqual(tok.applyChatTemplate(chat.messages, { addGenerationPrompt: true }), chat.ids_gen);
      assert.deepEqual(tok.applyChatTemplate(chat.messages), chat.ids_nogen);
    });
  }
}

test('ChatML rendering, written out by hand (independent of expected.json)', async () => {
  const tok = await load('qwen-like', 'pairs');
  const msgs = [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'naïve?' },
  ];
  const body = '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nnaïve?<|im_end|>\n';
  assert.equal(tok.renderChatTemplate(msgs), body);
  assert.equal(tok.renderChatTemplate(msgs, { addGenerationPrompt: true }), body + '<|im_start|>assistant\n');
  // Tokenized: the special tokens of the rendered text become their own ids, no BOS/EOS added.
  const ids = tok.applyChatTemplate(msgs, { addGenerationPrompt: true });
  const start = tok.tokenToId('<|im_start|>')!;
  const end = tok.tokenToId('<|im_end|>')!;
  assert.equal(ids[0], start);
  assert.equal(ids.filter((i) => i === start).length, 3);
  assert.equal(ids.filter((i) => i === end).length, 2);
  assert.equal(tok.decode(ids), body + '<|im_start|>assistant\n');
  assert.equal(tok.eosTokenId, end, 'Qwen2-style eos is <|im_end|>');
});

test('special tokens in text are single ids whether or not addSpecialTokens is set', async () => {
  for (const v of VARIANTS) {
    const tok = await load(v, 'pairs');
    const eot = tok.tokenToId('<|endoftext|>')!;
    assert.equal(typeof eot, 'number');
    assert.equal(tok.idToToken(eot), '<|endoftext|>');
    for (const addSpecialTokens of [false, true]) {
      const ids = tok.encode('a<|endoftext|>b<|endoftext|>', { addSpecialTokens });
      assert.equal(ids.filter((i) => i === eot).length, 2, `${v} addSpecialTokens=${addSpecialTokens}`);
    }
    // A near miss is ordinary text.
    assert.ok(!tok.encode('<|endoftext|').includes(eot), `${v}: '<|endoftext|' is not the special token`);
    assert.equal(tok.decode(tok.encode('<|endoftext|')), '<|endoftext|');
  }
});

test('round trips on ASCII and UTF-8 text; both merges forms give identical ids (seeded random text)', async () => {
  const alphabet = [...'the hat in Hello, world! 12\n\t  ', 'ï', '—', '数', '字', '🙂', 'é', 'Ω', '\u{1F680}', '<|im_end|>'];
  for (const v of VARIANTS) {
    const [pairs, strings] = [await load(v, 'pairs'), await load(v, 'strings')];
    const rng = new Rng(1234);
    const texts = ['plain ASCII text, with punctuation!', 'naïve — 数字 🙂', ' leading and trailing spaces  ', '\n\n\n'];
    for (let k = 0; k < 40; k++) {
      let s = '';
      const n = rng.int(1, 30);
      for (let i = 0; i < n; i++) s += alphabet[rng.int(0, alphabet.length)];
      texts.push(s);
    }
    for (const text of texts) {
      const ids = pairs.encode(text);
      assert.deepEqual(strings.encode(text), ids, `${v}: merges forms differ on ${JSON.stringify(text)}`);
      // Qwen2's NFC normalizer leaves these (already NFC) strings unchanged, so decode is exact.
      assert.equal(pairs.decode(ids), text, `${v}: round trip of ${JSON.stringify(text)}`);
    }
    // Merged multi-byte characters are single tokens: 'ï', '—', '数', '🙂' each one id.
    assert.equal(pairs.encode('ï—数🙂').length, 4);
  }
});

test('decode edge cases: empty list, partial UTF-8 character', async () => {
  const tok = await load('qwen-like', 'pairs');
  assert.equal(tok.decode([]), '');
  // The first byte of '数' alone is not valid UTF-8: it decodes to U+FFFD, as Python's errors='replace'.
  assert.equal(tok.encode('数').length, 1, "'数' is one merged token");
  assert.equal(tok.decode([tok.tokenToId('æ')!]), '\uFFFD', 'byte 0xE6 alone');
  assert.equal(tok.decode([tok.tokenToId('æ')!, ...tok.encode('x')]), '\uFFFDx');
});

test('chat_template.jinja overrides tokenizer_config.json; a missing template is a clear error', async () => {
  const files = fixtureFiles('llama-like', 'pairs');
  const withFile = await loadTokenizer(mapSource('llama', files));
  // (assert.ok always gets a message: without one, Node reads the source to build it and can hang under tsx)
  const rendered = withFile.renderChatTemplate([{ role: 'user', content: 'hi' }]);
  assert.equal(rendered, '<|begin_of_text|><|im_start|>user\nhi<|im_end|>\n', 'chat_template.jinja is used');
  delete files['chat_template.jinja'];
  const decoy = await loadTokenizer(mapSource('llama', files));
  assert.equal(decoy.renderChatTemplate([{ role: 'user', content: 'hi' }]), 'decoy: chat_template.jinja must win');

  const cfg = JSON.parse(files['tokenizer_config.json']);
  delete cfg.chat_template;
  const none = await loadTokenizer(mapSource('llama', { ...files, 'tokenizer_config.json': JSON.stringify(cfg) }));
  assert.equal(none.chatTemplate, null);
  assert.throws(() => none.applyChatTemplate([{ role: 'user', content: 'hi' }]), /no chat template/);
  // Encoding still works without a template, and without tokenizer_config.json at all.
  const bare = await loadTokenizer(mapSource('bare', { 'tokenizer.json': files['tokenizer.json'] }));
  assert.deepEqual(bare.encode('the hat'), [83, 257, 263]);
  assert.equal(bare.eosTokenId, null);
});

test('special tokens written as AddedToken objects (older tokenizer_config.json files)', async () => {
  const files = fixtureFiles('qwen-like', 'pairs');
  const cfg = JSON.parse(files['tokenizer_config.json']);
  cfg.eos_token = { __type: 'AddedToken', content: '<|endoftext|>', lstrip: false, normalized: false, rstrip: false, single_word: false };
  cfg.bos_token = { __type: 'AddedToken', content: '<|im_start|>', lstrip: false, normalized: false, rstrip: false, single_word: false };
  const tok = await loadTokenizer(mapSource('old', { ...files, 'tokenizer_config.json': JSON.stringify(cfg) }));
  assert.equal(tok.eosTokenId, tok.tokenToId('<|endoftext|>'));
  assert.equal(tok.bosTokenId, tok.tokenToId('<|im_start|>'));
  cfg.eos_token = 7;
  await assert.rejects(
    loadTokenizer(mapSource('old', { ...files, 'tokenizer_config.json': JSON.stringify(cfg) })),
    /old\/tokenizer_config\.json: eos_token must be a string/,
  );
});

test('errors name the file: missing, not JSON, unsupported model, mixed merges', async () => {
  const cfg = readText('qwen-like', 'tokenizer_config.json');
  await assert.rejects(loadTokenizer(mapSource('repo', { 'tokenizer_config.json': cfg })), /repo\/tokenizer\.json: missing/);
  await assert.rejects(loadTokenizer(mapSource('repo', { 'tokenizer.json': '{"model": ' })), /repo\/tokenizer\.json: not valid JSON/);
  await assert.rejects(
    loadTokenizer(mapSource('repo', { 'tokenizer.json': 'x', 'tokenizer_config.json': cfg })),
    /repo\/tokenizer\.json: not valid JSON/,
  );
  await assert.rejects(
    loadTokenizer(mapSource('repo', { 'tokenizer.json': fixtureFiles('qwen-like', 'pairs')['tokenizer.json'], 'tokenizer_config.json': '[' })),
    /repo\/tokenizer_config\.json: not valid JSON/,
  );
  const wordLevel = JSON.stringify({ model: { type: 'WordLevel', vocab: { a: 0 }, unk_token: 'a' } });
  await assert.rejects(loadTokenizer(mapSource('repo', { 'tokenizer.json': wordLevel })), /repo\/tokenizer\.json: unsupported model type "WordLevel"/);
  const tok = JSON.parse(fixtureFiles('qwen-like', 'pairs')['tokenizer.json']);
  tok.model.merges[3] = `${tok.model.merges[3][0]} ${tok.model.merges[3][1]}`;
  assert.throws(() => tokenizerFromJSON({ tokenizerJSON: tok }), /tokenizer\.json: model\.merges\[3\]/);
});

test('loadTokenizer(dirSource(dir)) reads a directory on disk', async () => {
  const tok: LabTokenizer = await loadTokenizer(dirSource(join(DATA, 'qwen-like')));
  const exp = expected('qwen-like');
  for (const c of exp.cases) assert.deepEqual(tok.encode(c.text), c.ids);
  assert.deepEqual(tok.applyChatTemplate(exp.chat.messages, { addGenerationPrompt: true }), exp.chat.ids_gen);
});
