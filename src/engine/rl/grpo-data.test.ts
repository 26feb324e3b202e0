// GRPO prompts with sampling arms: each prompt rendered once per arm with the arm's system turn in place
// of the row's own (a chat template: the qwen2-tied fixture's), the plain prompt where the tokenizer has
// no template (lab-micro), and the context limit checked on the longest arm prompt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirSource } from '../model/checkpoint.ts';
import { loadTokenizer } from '../model/tokenizer.ts';
import { armsSeeSystem, loadGrpoData } from './grpo-data.ts';

const root = new URL('../../../', import.meta.url).pathname;
const rows = [
  JSON.stringify({ question: 'What is 2 + 3?', answer: '#### 5' }),
  JSON.stringify({ messages: [{ role: 'system', content: 'OLD SYSTEM' }, { role: 'user', content: 'What is 4 + 4?' }, { role: 'assistant', content: '#### 8' }] }),
].join('\n');
const systems = ['Be precise.', 'Think it through, then check your answer twice before you give it.'];

test('with a chat template each arm\'s system prompt replaces the row\'s own, one rendering per arm', async () => {
  const tok = await loadTokenizer(dirSource(`${root}models/fixtures/qwen2-tied`));
  assert.ok(armsSeeSystem(tok));
  const { items, problems } = loadGrpoData(rows, tok, { file: 'p.jsonl', nCtx: 4096, maxNewTokens: 16, systems });
  assert.deepEqual(problems, []);
  for (const it of items) {
    assert.equal(it.armIds!.length, 2);
    const texts = it.armIds!.map((ids) => tok.decode(ids));
    texts.forEach((t, a) => {
      assert.ok(t.includes(systems[a]), `arm ${a} shows its system prompt: ${t}`);
      assert.ok(!t.includes('OLD SYSTEM'), 'the row\'s own system turn is replaced');
      assert.ok(t.includes(it.prompt), 'and keeps the user turn');
    });
    assert.ok(it.armIds![1].length > it.armIds![0].length);
  }
  // without systems: no arm prompts
  assert.equal(loadGrpoData(rows, tok, { file: 'p.jsonl', nCtx: 4096, maxNewTokens: 16 }).items[0].armIds, undefined);
  // the longest arm prompt must fit with the new tokens
  const plain = loadGrpoData(rows, tok, { file: 'p.jsonl', nCtx: 4096, maxNewTokens: 16 }).items[0].ids.length;
  const tight = loadGrpoData(rows, tok, { file: 'p.jsonl', nCtx: plain + 16, maxNewTokens: 16, systems });
  assert.equal(tight.items.length, 0);
  assert.match(tight.problems[0].message, /^p\.jsonl:1: with an arm's system prompt the prompt has \d+ tokens/);
});

test('without a chat template the arms\' prompts are the plain prompt (they differ by temperature only)', async () => {
  const tok = await loadTokenizer(dirSource(`${root}models/lab-micro`));
  assert.ok(!armsSeeSystem(tok));
  const { items } = loadGrpoData(rows, tok, { file: 'p.jsonl', nCtx: 4096, maxNewTokens: 16, systems });
  for (const it of items) for (const a of it.armIds!) assert.deepEqual(a, it.ids);
});
