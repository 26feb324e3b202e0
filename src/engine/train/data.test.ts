// SFT row parsing: every row form with the qwen2-tied fixture tokenizer (ChatML template, EOS
// <|im_end|>, no BOS) and the llama-like tokenizer test fixture (BOS post-processor); exact label
// masks; every problem kind with its line number; the shared GSM8K / Stoney files when present.
// Pure TypeScript: no GPU.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { tokenizerFromJSON, type LabTokenizer } from '../model/tokenizer.ts';
import { IGNORE_INDEX, countedTokens, loadSftData, parseSftJsonl, type SftExample } from './data.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const QWEN = join(ROOT, 'models', 'fixtures', 'qwen2-tied');
const LLAMA_LIKE = join(ROOT, 'src', 'engine', 'model', 'testdata', 'tokenizer', 'llama-like');
const readJSON = (p: string) => JSON.parse(readFileSync(p, 'utf8'));

/** qwen2-tied as loadTokenizer would build it; withTemplate false drops the chat template. */
function qwen(withTemplate = true): LabTokenizer {
  return tokenizerFromJSON({
    tokenizerJSON: readJSON(join(QWEN, 'tokenizer.json')),
    tokenizerConfig: readJSON(join(QWEN, 'tokenizer_config.json')), // has no chat_template key
    chatTemplate: withTemplate ? readFileSync(join(QWEN, 'chat_template.jinja'), 'utf8') : null,
  });
}
const tok = qwen();
const tokNoTemplate = qwen(false);
const llamaLike = tokenizerFromJSON({
  tokenizerJSON: readJSON(join(LLAMA_LIKE, 'tokenizer.json')),
  tokenizerConfig: readJSON(join(LLAMA_LIKE, 'tokenizer_config.json')),
  chatTemplate: readFileSync(join(LLAMA_LIKE, 'chat_template.jinja'), 'utf8'),
});

const jsonl = (...rows: unknown[]) => rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n');
const OPTS = { file: 'data.jsonl', maxLength: 512 };

/** The one example of a one-row file, failing with the problems if there is none. */
function one(row: unknown, t: LabTokenizer | null = tok, opts: Partial<typeof OPTS> & { eosAfterCompletion?: boolean; vocabSize?: number } = {}): SftExample {
  const r = parseSftJsonl(jsonl(row), t, { ...OPTS, ...opts });
  assert.deepEqual(r.problems, []);
  assert.equal(r.examples.length, 1);
  const ex = r.examples[0];
  assert.equal(ex.labels.length, ex.input_ids.length);
  // Wherever a label is set it is the token at that position (unshifted convention).
  ex.labels.forEach((l, i) => assert.ok(l === IGNORE_INDEX || l === ex.input_ids[i], `labels[${i}]`));
  return ex;
}

/** Maximal runs [start, end) of trained positions. */
function spans(ex: SftExample): [number, number][] {
  const out: [number, number][] = [];
  ex.labels.forEach((l, i) => {
    if (l === IGNORE_INDEX) return;
    const last = out[out.length - 1];
    if (last && last[1] === i) last[1] = i + 1;
    else out.push([i, i + 1]);
  });
  return out;
}
const decodeSpan = (t: LabTokenizer, ex: SftExample, [a, b]: [number, number]) => t.decode(ex.input_ids.slice(a, b));

/** The problem messages of a file, as `line: message`. */
const problemsOf = (text: string, t: LabTokenizer | null = tok, opts = {}) =>
  parseSftJsonl(text, t, { ...OPTS, ...opts }).problems.map((p) => `${p.line}: ${p.message}`);

test('form a: tokenized rows; labels default to input_ids', () => {
  const ex = one({ input_ids: [5, 6, 7, 8], labels: [-100, -100, 7, 8] }, null);
  assert.deepEqual(ex, { line: 1, input_ids: [5, 6, 7, 8], labels: [-100, -100, 7, 8] });
  const all = one({ input_ids: [5, 6, 7] }, null);
  assert.deepEqual(all.labels, [5, 6, 7]);
  assert.equal(countedTokens(all), 2); // position 0 is never a target
});

test('form b: messages train exactly the assistant turns plus their end-of-turn tokens', () => {
  const messages = [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Hi there' },
    { role: 'assistant', content: 'Hello!' },
    { role: 'user', content: 'Add 2 and 3.' },
    { role: 'assistant', content: 'It is 5.' },
  ];
  const ex = one({ messages });
  assert.deepEqual(ex.input_ids, tok.applyChatTemplate(messages));
  const s = spans(ex);
  assert.equal(s.length, 2);
  assert.equal(decodeSpan(tok, ex, s[0]), 'Hello!<|im_end|>\n');
  assert.equal(decodeSpan(tok, ex, s[1]), 'It is 5.<|im_end|>\n');
  // The span starts right after the generation prompt "<|im_start|>assistant\n".
  const head = tok.applyChatTemplate(messages.slice(0, 2), { addGenerationPrompt: true });
  assert.equal(s[0][0], head.length);
  assert.ok(tok.decode(ex.input_ids.slice(0, s[0][0])).endsWith('<|im_start|>assistant\n'));
  // Without a system message the template inserts its default one; spans still line up.
  const ex2 = one({ messages: messages.slice(1, 3) });
  assert.deepEqual(spans(ex2).map((sp) => decodeSpan(tok, ex2, sp)), ['Hello!<|im_end|>\n']);
  assert.ok(tok.decode(ex2.input_ids).startsWith('<|im_start|>system\nYou are a helpful assistant.'));
});

test('form c: prompt/completion masks the prompt and trains completion + EOS (TRL)', () => {
  const ex = one({ prompt: 'Question: 2+2?\nAnswer: ', completion: '4' });
  const p = tok.encode('Question: 2+2?\nAnswer: ', { addSpecialTokens: true });
  assert.deepEqual(ex.input_ids, [...tok.encode('Question: 2+2?\nAnswer: 4'), tok.eosTokenId]);
  assert.deepEqual(spans(ex), [[p.length, ex.input_ids.length]]);
  assert.equal(decodeSpan(tok, ex, spans(ex)[0]), '4<|im_end|>');
  // eosAfterCompletion false: no EOS appended.
  const noEos = one({ prompt: 'Q: hi\n', completion: 'yes' }, tok, { eosAfterCompletion: false });
  assert.equal(tok.decode(noEos.input_ids), 'Q: hi\nyes');
  assert.equal(decodeSpan(tok, noEos, spans(noEos)[0]), 'yes');
  // A completion that already ends with the EOS text gets no second EOS.
  const ends = one({ prompt: 'Q\n', completion: 'A<|im_end|>' });
  assert.equal(ends.input_ids.filter((id) => id === tok.eosTokenId).length, 1);
});

test('form c: a BPE merge across the prompt boundary masks only the common prefix', () => {
  // "Answer: " ends in its own space token; "Answer: the answer" merges it into " the".
  const p = tok.encode('Answer: ', { addSpecialTokens: true });
  const full = tok.encode('Answer: the answer', { addSpecialTokens: true });
  assert.notDeepEqual(full.slice(0, p.length), p, 'fixture must merge across the boundary');
  const ex = one({ prompt: 'Answer: ', completion: 'the answer' });
  assert.deepEqual(spans(ex), [[p.length - 1, full.length + 1]]);
  assert.equal(decodeSpan(tok, ex, spans(ex)[0]), ' the answer<|im_end|>');
});

test('form c with a BOS post-processor: BOS leads and is masked with the prompt', () => {
  const ex = one({ prompt: 'Say hi:\n', completion: 'hi' }, llamaLike);
  assert.equal(ex.input_ids[0], llamaLike.bosTokenId);
  assert.equal(ex.input_ids.filter((id) => id === llamaLike.bosTokenId).length, 1);
  const p = llamaLike.encode('Say hi:\n', { addSpecialTokens: true });
  assert.equal(p[0], llamaLike.bosTokenId);
  assert.deepEqual(spans(ex), [[p.length, ex.input_ids.length]]); // BOS + prompt masked
  assert.equal(ex.input_ids[ex.input_ids.length - 1], llamaLike.eosTokenId);
  assert.equal(llamaLike.decode(ex.input_ids.filter((_, i) => ex.labels[i] !== IGNORE_INDEX)), 'hi<|endoftext|>');
});

test('form d: question/answer uses the chat template when there is one, else "Question:/Answer:"', () => {
  const qa = { question: 'What is 6*7?', answer: '6*7 = <<6*7=42>>42\n#### 42' };
  const chat = one(qa);
  const viaMessages = one({ messages: [{ role: 'user', content: qa.question }, { role: 'assistant', content: qa.answer }] });
  assert.deepEqual(chat.input_ids, viaMessages.input_ids);
  assert.deepEqual(chat.labels, viaMessages.labels);
  const plain = one(qa, tokNoTemplate);
  assert.equal(tokNoTemplate.decode(plain.input_ids), `Question: ${qa.question}\nAnswer: ${qa.answer}<|im_end|>`);
  // the space after "Answer:" belongs to the trained answer, so the prompt ends at ":" (see qaPrompt)
  assert.equal(tokNoTemplate.decode(plain.input_ids.filter((_, i) => plain.labels[i] !== IGNORE_INDEX)), ` ${qa.answer}<|im_end|>`);
  assert.equal(tokNoTemplate.decode(plain.input_ids.filter((_, i) => plain.labels[i] === IGNORE_INDEX)), `Question: ${qa.question}\nAnswer:`);
});

test('every problem kind is reported with its file and 1-based line; good rows are kept', () => {
  const longText = 'word '.repeat(40);
  const text = [
    JSON.stringify({ input_ids: [1, 2, 3] }), // 1 ok
    '', // 2 blank: ignored, still counted
    '{"input_ids": [1, 2', // 3 bad JSON
    '[1, 2, 3]', // 4 not an object
    JSON.stringify({ text: 'hello' }), // 5 unknown form
    JSON.stringify({ messages: 'hi' }), // 6 wrong type
    JSON.stringify({ prompt: 3, completion: 'x' }), // 7 wrong type
    JSON.stringify({ input_ids: [1, 2.5] }), // 8 not integers
    JSON.stringify({ input_ids: [1, 2], labels: [1] }), // 9 length mismatch
    JSON.stringify({ input_ids: [1, 2], labels: [1, -5] }), // 10 bad label
    JSON.stringify({ input_ids: [1, 299] }), // 11 out of vocab (299 tokens)
    JSON.stringify({ input_ids: [1, 2], labels: [-100, 400] }), // 12 label out of vocab
    JSON.stringify({ input_ids: [1, 2, 3], labels: [1, -100, -100] }), // 13 nothing trained after the shift
    JSON.stringify({ messages: [{ role: 'user', content: 'no reply' }] }), // 14 no assistant turn
    JSON.stringify({ messages: [{ role: 'assistant', content: 'first' }] }), // 15 template prefix mismatch
    JSON.stringify({ prompt: longText, completion: longText }), // 16 too long
    '  ', // 17 blank
    JSON.stringify({ prompt: 'a: ', completion: 'b' }), // 18 ok
    '42', // 19 not an object
  ].join('\r\n'); // CRLF line ends
  const r = parseSftJsonl(text, tok, { file: 'data.jsonl', maxLength: 64 });
  assert.deepEqual(r.examples.map((e) => e.line), [1, 18]);
  const got = new Map(r.problems.map((p) => [p.line, p.message]));
  const want: [number, RegExp][] = [
    [3, /^data\.jsonl:3: not valid JSON \(/],
    [4, /^data\.jsonl:4: a row must be a JSON object, got an array$/],
    [5, /^data\.jsonl:5: unknown row form \(keys: "text"\); expected \{"input_ids"/],
    [6, /^data\.jsonl:6: "messages" must be a non-empty array of \{role, content\}/],
    [7, /^data\.jsonl:7: "prompt" must be a string, got number$/],
    [8, /^data\.jsonl:8: "input_ids" must be an array of integers$/],
    [9, /^data\.jsonl:9: "labels" has 1 entries but "input_ids" has 2/],
    [10, /^data\.jsonl:10: labels\[1\] is -5; labels are token ids or -100$/],
    [11, /^data\.jsonl:11: input_ids\[1\] = 299 is outside the vocabulary \[0, 299\)$/],
    [12, /^data\.jsonl:12: labels\[1\] = 400 is outside the vocabulary/],
    [13, /^data\.jsonl:13: nothing to train: every label after the first position is -100$/],
    [14, /^data\.jsonl:14: "messages" has no "assistant" message/],
    [15, /^data\.jsonl:15: .*not a prefix of the whole conversation's tokens, so assistant message 0/],
    [16, /^data\.jsonl:16: \d+ tokens, longer than the maximum length 64/],
    [19, /^data\.jsonl:19: a row must be a JSON object, got number$/],
  ];
  assert.deepEqual([...got.keys()], want.map(([l]) => l));
  for (const [line, re] of want) assert.match(got.get(line)!, re);
  for (const p of r.problems) assert.ok(!p.message.includes('\n'), 'one line per problem');
});

test('tokenizer-dependent problems: no tokenizer, no chat template, model vocabulary', () => {
  assert.deepEqual(problemsOf(jsonl({ prompt: 'a', completion: 'b' }), null), [
    '1: data.jsonl:1: a "prompt"/"completion" row needs a tokenizer (none was given; only {"input_ids"} rows work without one)',
  ]);
  const noTpl = problemsOf(jsonl({ messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }] }), tokNoTemplate);
  assert.equal(noTpl.length, 1);
  assert.match(noTpl[0], /^1: data\.jsonl:1: the tokenizer has no chat template/);
  // A model whose embedding is smaller than the tokenizer: opts.vocabSize wins.
  const small = problemsOf(jsonl({ prompt: 'a: ', completion: 'b' }), tok, { vocabSize: 100 });
  assert.match(small[0], /is outside the vocabulary \[0, 100\)/);
});

test('loadSftData throws when no row is usable, naming the file and the first problems', () => {
  assert.throws(
    () => loadSftData(jsonl('nope', { a: 1 }, [1], { b: 2 }, 7), tok, { file: 'bad.jsonl', maxLength: 64 }),
    (e: Error) =>
      /^bad\.jsonl: no usable training rows \(5 with problems\):/.test(e.message) &&
      e.message.includes('bad.jsonl:1: not valid JSON') &&
      e.message.includes('bad.jsonl:2: unknown row form') &&
      e.message.includes('… and 2 more'),
  );
  assert.throws(() => loadSftData('\n\n', tok, { file: 'empty.jsonl', maxLength: 64 }), /^Error: empty\.jsonl: no training rows/);
  const ok = loadSftData(jsonl('nope', { input_ids: [1, 2] }), tok, { file: 'x', maxLength: 64 });
  assert.equal(ok.examples.length, 1);
  assert.equal(ok.problems.length, 1);
});

test('shared GSM8K sample (first 500 train rows) parses with qwen2-tied', (t) => {
  const file = '/work/shared/data/gsm8k/train_first500.jsonl';
  if (!existsSync(file)) return t.skip(`${file} absent (shared data not on this machine)`);
  const text = readFileSync(file, 'utf8');
  const rows = text.split('\n').filter((l) => l.trim() !== '').length;
  const r = parseSftJsonl(text, tok, { file: 'train_first500.jsonl', maxLength: 4096 });
  assert.deepEqual(r.problems.slice(0, 5), []);
  assert.equal(r.examples.length, rows);
  assert.equal(rows, 500);
  // Each row trains its answer (ending in "#### <number>") followed by the end-of-turn tokens.
  for (const ex of r.examples.slice(0, 20)) {
    const trained = tok.decode(ex.input_ids.filter((_, i) => ex.labels[i] !== IGNORE_INDEX));
    assert.match(trained, /#### -?[\d,.]+<\|im_end\|>\n$/);
  }
});

test('shared Stoney validation sample parses as "messages" rows (read only, nothing copied)', (t) => {
  const file = '/work/shared/data/stoney/stoney_valid_first100.jsonl';
  if (!existsSync(file)) return t.skip(`${file} absent (shared data not on this machine)`);
  const text = readFileSync(file, 'utf8');
  const r = parseSftJsonl(text, tok, { file: 'stoney_valid_first100.jsonl', maxLength: 8192 });
  assert.deepEqual(r.problems.slice(0, 5), []);
  assert.equal(r.examples.length, text.split('\n').filter((l) => l.trim() !== '').length);
  for (const ex of r.examples) assert.ok(spans(ex).length >= 1 && countedTokens(ex) > 0);
});

test('SFT rows are read in Unicode NFC: a decomposed Stoney row trains the same tokens as its composed form (a tokenizer without a normalizer)', () => {
  const stoney = 'oqâṯẖix îzârqe zîtqô';
  const row = (s: string) => JSON.stringify({ question: `Translate: ${s}`, answer: s });
  const opts = { file: 'stoney.jsonl', maxLength: 256 };
  const composed = parseSftJsonl(row(stoney) + '\n', llamaLike, opts);
  const decomposed = parseSftJsonl(row(stoney.normalize('NFD')) + '\n', llamaLike, opts);
  assert.deepEqual(decomposed.problems, []);
  assert.deepEqual(decomposed.examples[0].input_ids, composed.examples[0].input_ids);
  assert.deepEqual(decomposed.examples[0].labels, composed.examples[0].labels);
});

test('a rated output {"prompt","completion","rating"} is refused as an SFT row (it may be one a speaker marked wrong)', () => {
  const text = jsonl({ prompt: 'Say it.', completion: 'a wrong answer', rating: 0 });
  const r = parseSftJsonl(text, tok, { ...OPTS });
  assert.equal(r.examples.length, 0);
  assert.match(r.problems[0].message, /:1: a \{"prompt", "completion", "rating"\} row is a rated output for a reward model/);
});
