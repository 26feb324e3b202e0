// KvRunStore's appended files (GRPO's samples.jsonl): lines come back in order across chunks, setLines
// replaces them (a resume from an older checkpoint), delete removes them, usage counts them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBlobStore } from '../hub/store.ts';
import { KvRunStore } from './run-store.ts';

const text = (b: Uint8Array | null) => (b ? new TextDecoder().decode(b) : null);

test('appendLine keeps order across chunks; setLines replaces; delete removes', async () => {
  const s = new KvRunStore(new MemoryBlobStore());
  assert.equal(await s.readFile('r', 'samples.jsonl'), null);
  const lines = Array.from({ length: 150 }, (_, i) => JSON.stringify({ step: i + 1 }));
  for (const l of lines) await s.appendLine('r', 'samples.jsonl', l);
  assert.equal(text(await s.readFile('r', 'samples.jsonl')), lines.map((l) => `${l}\n`).join(''));
  await s.setLines('r', 'samples.jsonl', lines.slice(0, 70));
  await s.appendLine('r', 'samples.jsonl', 'next');
  assert.equal(text(await s.readFile('r', 'samples.jsonl')), [...lines.slice(0, 70), 'next'].map((l) => `${l}\n`).join(''));
  assert.ok(((await s.usage()).get('r')?.other ?? 0) > 0, 'usage counts the lines');
  await s.delete('r');
  assert.equal(await s.readFile('r', 'samples.jsonl'), null);
});
