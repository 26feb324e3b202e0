import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nfc } from './nfc.ts';
import { parseTaskRows } from '../analysis/task-rows.ts';
import { forEachJsonRow, type RowProblem } from '../train/data.ts';

// Stoney orthography, composed (NFC) and decomposed (NFD: base letter + combining mark)
const STONEY = 'oqâṯẖix îzârqe zîtqô zînîx ûpax';
const NFD = STONEY.normalize('NFD');

test('nfc: every string of a row, nested too, composed; composed Stoney text comes out byte for byte; other values untouched', () => {
  assert.notEqual(NFD, STONEY);
  const row = { messages: [{ role: 'user', content: NFD }], hints: [NFD, 'x'], n: 3, ok: true, none: null };
  const out = nfc(row);
  assert.deepEqual(out, { messages: [{ role: 'user', content: STONEY }], hints: [STONEY, 'x'], n: 3, ok: true, none: null });
  assert.deepEqual(Buffer.from(nfc(STONEY)), Buffer.from(STONEY), 'composed text unchanged');
  assert.equal(nfc(`${NFD}`).length, STONEY.length);
});

test('the row readers hand NFC text to every loader: JSONL rows (SFT, GRPO, DPO, reward model) and analysis prompt sets', () => {
  const problems: RowProblem[] = [];
  const seen: unknown[] = [];
  forEachJsonRow(JSON.stringify({ prompt: NFD, ideal_answer: NFD }) + '\n', 'f.jsonl', problems, (r) => seen.push(r));
  assert.deepEqual(seen, [{ prompt: STONEY, ideal_answer: STONEY }]);
  assert.deepEqual(problems, []);
  assert.equal(parseTaskRows(JSON.stringify({ question: NFD, answer: `#### ${NFD}` }), 'p.jsonl')[0].question, STONEY);
});
