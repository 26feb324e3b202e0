// Dataset loaders: record detection per row, JSONL / JSON / Parquet reading (Parquet fixtures written by
// pyarrow, tools/golden/make_parquet_fixtures.py, each with a JSON twin holding the same rows), reports per
// schema with per-line reasons, the GSM8K-Platinum drop rule, NFC and Stoney orthography byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectRecord } from './records.ts';
import { DatasetError, describeReport, inspectRows, readDataFile, readRows, selectedJsonl } from './dataset.ts';

const FIX = new URL('../../../models/fixtures/data/', import.meta.url).pathname;
const SHARED = new URL('../../../../shared/data/', import.meta.url).pathname;
const bytes = (s: string) => new TextEncoder().encode(s);
const fixture = (name: string) => new Uint8Array(readFileSync(join(FIX, name)));

test('each record format is detected by its keys, most specific first', () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ prompt: 'p', chosen: 'a', rejected: 'b' }, 'preference'],
    [{ prompt: [{ role: 'user', content: 'p' }], chosen: [{ role: 'assistant', content: 'a' }], rejected: 'b' }, 'preference'],
    [{ task_type: 'morphology', prompt: 'p', ideal_answer: 'a', verification_pattern: 'a+', hints: ['h'], difficulty: 'easy' }, 'rl_task'],
    [{ messages: [{ role: 'system', content: 's' }, { role: 'user', content: 'u' }, { role: 'assistant', content: 'a' }] }, 'chat'],
    [{ question: 'q', answer: 'x\n#### 1,000', cleaning_status: 'verified' }, 'gsm8k-platinum'],
    [{ question: 'q', answer: 'x\n#### -3.5' }, 'gsm8k'],
    [{ question: 'q', answer: 'a', source: 'synthetic' }, 'qa'],
    [{ prompt: 'p', completion: 'c', rating: 0.5 }, 'rating'],
    [{ prompt: 'p', completion: 'c' }, 'prompt-completion'],
    [{ prompt: 'p', answer: 'a' }, 'prompt'],
    [{ input_ids: [1, 2], labels: [-100, 2] }, 'tokenized'],
  ];
  for (const [row, schema] of cases) {
    const d = detectRecord(row);
    assert.equal(d.problem, undefined, `${JSON.stringify(row)}: ${d.problem}`);
    assert.equal(d.schema, schema, JSON.stringify(row));
  }
});

test('a row with a schema’s keys but a bad value gets that schema’s reason', () => {
  const rl = { task_type: 'morphology', prompt: 'p', ideal_answer: 'a', verification_pattern: 'a', hints: [], difficulty: 'easy' };
  const cases: [Record<string, unknown>, string | null, RegExp][] = [
    [{ ...rl, difficulty: 'trivial' }, 'rl_task', /difficulty is "trivial"; expected one of easy, medium, hard/],
    [{ ...rl, task_type: 'poetry' }, 'rl_task', /task_type is "poetry"/],
    [{ ...rl, verification_pattern: '(unclosed' }, 'rl_task', /not a valid regular expression/],
    [{ ...rl, hints: 'h' }, 'rl_task', /hints must be a list of strings/],
    [{ messages: [{ role: 'user', content: 'u' }] }, 'chat', /no assistant turn/],
    [{ messages: [{ role: 'narrator', content: 'u' }] }, 'chat', /messages\[0\]\.role is "narrator"/],
    [{ messages: [{ role: 'user', content: 3 }] }, 'chat', /messages\[0\]\.content is not a string/],
    [{ chosen: 'a', rejected: 'b' }, 'preference', /"prompt" is missing/],
    [{ prompt: 'p', completion: 'c', rating: 'good' }, 'rating', /finite number/],
    [{ question: '', answer: 'a' }, 'qa', /"question" must be a non-empty string/],
    [{ question: 'q', answer: 'no answer line', cleaning_status: 'verified' }, 'gsm8k-platinum', /no "#### n" line/],
    [{ input_ids: [1, -5] }, 'tokenized', /list of token ids/],
    [{ text: 'free text', meta: 1 }, null, /no known record format \(keys: text, meta\)/],
  ];
  for (const [row, schema, re] of cases) {
    const d = detectRecord(row);
    assert.equal(d.schema, schema, JSON.stringify(row));
    assert.match(d.problem ?? '', re, JSON.stringify(row));
  }
});

test('Parquet written by pyarrow (Snappy, several row groups) reads as the same rows as its JSON twin', async () => {
  for (const name of ['chat', 'qa', 'gsm8k-platinum', 'rl_task', 'tokenized', 'mixed']) {
    const pq = await readRows(fixture(`${name}.parquet`), `${name}.parquet`);
    const js = await readRows(fixture(`${name}.json`), `${name}.json`);
    assert.equal(pq.rows.length, js.rows.length, name);
    assert.ok(pq.rows.length >= 2, name);
    assert.deepEqual(pq.rows.map((r) => r.row), js.rows.map((r) => r.row), name);
    assert.deepEqual(pq.rows.map((r) => r.at), js.rows.map((r) => r.at), name);
  }
  // int64 token ids arrive as numbers, not BigInt
  const tok = await readRows(fixture('tokenized.parquet'), 'tokenized.parquet');
  assert.deepEqual(tok.rows[0].row.labels, [-100, -100, 3, 4]);
});

test('a Parquet file with a codec the reader lacks, or not Parquet at all, is refused naming the file', async () => {
  await assert.rejects(readRows(fixture('qa-zstd.parquet'), 'qa-zstd.parquet'), /qa-zstd\.parquet: column question is compressed with ZSTD/);
  await assert.rejects(readRows(bytes('{"a": 1}\n'), 'fake.parquet'), /fake\.parquet: not a readable Parquet file/);
  await assert.rejects(readRows(bytes('x'), 'data.csv'), /data\.csv: unknown data format; the lab reads \.jsonl, \.json and \.parquet/);
});

test('a file mixing schemas is reported with counts per schema; the chosen rows keep their line numbers', async () => {
  const loaded = await readRows(fixture('mixed.parquet'), 'mixed.parquet');
  const r = inspectRows(loaded);
  assert.deepEqual(r.counts, { chat: 2, qa: 1 });
  assert.equal(r.mixed, true);
  assert.match(describeReport(r), /mixed\.parquet \(parquet\): 3 rows: 2 chat, 1 qa\n {2}the file mixes record formats: choose the rows to use \(chat, qa\)/);
  const chat = selectedJsonl(loaded, r, ['chat']);
  assert.equal(chat.rows, 2);
  const lines = chat.text.split('\n');
  assert.equal(lines[1], '', 'row 2 (the Q&A row) is left blank');
  assert.deepEqual(JSON.parse(lines[0]).messages, loaded.rows[0].row.messages);
  assert.deepEqual(JSON.parse(lines[2]).messages, loaded.rows[2].row.messages);
  assert.throws(() => selectedJsonl(loaded, r, ['poems' as never]), DatasetError);
});

test('JSONL: every unusable line gets its own reason; a JSON file may hold its rows under "tasks" (the rl_task payload)', async () => {
  const text = ['{"question": "q", "answer": "a"}', 'not json', '[1, 2]', '', '{"messages": [{"role": "user", "content": "u"}]}', '{"text": "t"}'].join('\n');
  const r = inspectRows(await readRows(bytes(text), 'rows.jsonl'));
  assert.deepEqual(r.counts, { qa: 1 });
  assert.deepEqual(r.problems.map((p) => p.message), [
    'rows.jsonl:2: not valid JSON',
    'rows.jsonl:3: not a JSON object',
    'rows.jsonl:5: chat: "messages" has no assistant turn',
    'rows.jsonl:6: no known record format (keys: text); expected one of: preference, rl_task, chat, gsm8k-platinum, gsm8k, qa, rating, prompt-completion, prompt, tokenized',
  ]);
  const tasks = JSON.stringify({ tasks: JSON.parse(readFileSync(join(FIX, 'rl_task.json'), 'utf8')) });
  const t = inspectRows(await readRows(bytes(tasks), 'payload.json'));
  assert.deepEqual(t.counts, { rl_task: 2 });
  await assert.rejects(readRows(bytes('{"name": "x"}'), 'odd.json'), /odd\.json: a \.json dataset must be an array of rows or an object with a "tasks"/);
});

test('GSM8K-Platinum: rows the authors removed (ambiguous) are dropped with the reason; consensus, verified and revised rows are kept', async () => {
  const r = inspectRows(await readRows(fixture('gsm8k-platinum.parquet'), 'gsm8k-platinum.parquet'));
  assert.deepEqual(r.counts, { 'gsm8k-platinum': 3 });
  assert.equal(r.dropped.count, 1);
  assert.deepEqual(r.dropped.lines.map((l) => l.message), ['gsm8k-platinum.parquet: row 2: dropped: cleaning_status is ambiguous (the Platinum authors removed such questions)']);
  assert.equal(r.problems.length, 0);
});

test('NFC: decomposed input is composed; composed Stoney orthography survives byte for byte', async () => {
  const stoney = 'îzâ ṯẖe mûda ṯẖa';
  const text = `{"question": "${stoney}", "answer": "ẖûma\u0302"}\n`;
  const loaded = await readRows(bytes(text), 'nfc.jsonl');
  const out = selectedJsonl(loaded, inspectRows(loaded), ['qa']).text;
  assert.ok(Buffer.from(out).includes(Buffer.from(stoney, 'utf8')), 'the composed bytes are unchanged');
  assert.equal(JSON.parse(out.split('\n')[0]).answer, 'ẖûmâ');
  assert.equal(JSON.parse(out.split('\n')[0]).answer, 'ẖûma\u0302'.normalize('NFC'));
  const pq = await readRows(fixture('chat.parquet'), 'chat.parquet');
  assert.match(JSON.stringify(pq.rows[1].row), /ẖûmâ/);
  // a byte that is not UTF-8 is an error naming the file and where
  const badBytes = new Uint8Array([...bytes('{"question": "a'), 0xff, ...bytes('", "answer": "b"}\n')]);
  await assert.rejects(readRows(badBytes, 'latin1.jsonl'), /latin1\.jsonl: not UTF-8 text \(a bad byte at offset 15\)/);
});

test('the shared samples: GSM8K reads as GSM8K and the Stoney sample as chat triples (skipped, saying so, when ../shared/data is absent)', async (t) => {
  const gsm = join(SHARED, 'gsm8k/train_first500.jsonl');
  const stoney = join(SHARED, 'stoney/stoney_valid_first100.jsonl');
  if (!existsSync(gsm) || !existsSync(stoney)) return t.skip('../shared/data is absent on this machine: the shared samples were not checked');
  const g = inspectRows(await readRows(new Uint8Array(readFileSync(gsm)), 'train_first500.jsonl'));
  assert.deepEqual(g.counts, { gsm8k: 500 });
  assert.equal(g.problems.length, 0);
  const raw = readFileSync(stoney);
  const s = inspectRows(await readRows(new Uint8Array(raw), 'stoney_valid_first100.jsonl'));
  assert.deepEqual(s.counts, { chat: 100 });
  // the sample's orthography is already NFC: read and written back, every line is the same text
  const loaded = await readRows(new Uint8Array(raw), 'stoney_valid_first100.jsonl');
  const back = selectedJsonl(loaded, s, ['chat']).text.split('\n');
  raw.toString('utf8').split('\n').forEach((line, i) => {
    if (line.trim()) assert.deepEqual(JSON.parse(back[i]), JSON.parse(line), `line ${i + 1}`);
  });
});

test('readDataFile (the CLI and the page): a JSONL file\'s text without its BOM, JSON rows as JSONL at their row numbers; not UTF-8 is refused naming the file', async () => {
  const line = '{"question": "1 + 1", "answer": "#### 2"}';
  const bom = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode(line + '\n')]);
  const j = await readDataFile(bom, 'a.jsonl');
  assert.equal(j.text, line + '\n', 'the BOM is dropped, the rest byte for byte');
  assert.equal(j.loaded.rows.length, 1);
  const unknown = await readDataFile(bom, 'a.txt');
  assert.equal(unknown.text, j.text, 'an unknown extension reads as JSONL');
  const json = await readDataFile(new TextEncoder().encode(`[${line}, ${line}]`), 'a.json');
  assert.equal(json.loaded.rows.length, 2);
  assert.equal(json.text.split('\n').filter(Boolean).length, 2);
  await assert.rejects(readDataFile(new Uint8Array([0x7b, 0xff, 0x7d]), 'bad.jsonl'), /bad\.jsonl: not UTF-8 text \(a bad byte at offset 1\)/);
});
