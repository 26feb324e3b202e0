// The validation export loads with the lab's own loaders: corrections as SFT rows (parseSftJsonl, both
// forms, through a tokenizer with a chat template — qwen2-tied — and one without — lab-micro), A/B choices
// as DPO pairs (loadDpoData), ratings as the reward model's regression rows (loadRewardData) and as
// speakers' verdicts (validationReward); and its provenance names each file's bytes, the sources and the
// terms inherited from them. Synthetic strings with Stoney characters, no real data.
//
//   node tools/run-node.mjs --test --test-concurrency=1 src/app/validate/export.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tokenizerFromJSON, loadTokenizer } from '../../engine/model/tokenizer.ts';
import { dirSource } from '../../engine/model/checkpoint.ts';
import { parseSftJsonl, IGNORE_INDEX } from '../../engine/train/data.ts';
import { loadDpoData } from '../../engine/rl/dpo.ts';
import { loadRewardData } from '../../engine/rl/reward-model-run.ts';
import { sha256Hex } from '../../engine/util/sha256.ts';
import { validationReward } from '../../rewards/validations.ts';
import { applyEdit, type Edit, type ItemSource, type Judgement, type ValidationItem } from './session.ts';
import { buildExport, exportBase, exportRows } from './export.ts';

const ROOT = new URL('../../../', import.meta.url).pathname;
const readJSON = (p: string) => JSON.parse(readFileSync(p, 'utf8'));
const QWEN = join(ROOT, 'models/fixtures/qwen2-tied');
const chatTok = tokenizerFromJSON({ tokenizerJSON: readJSON(join(QWEN, 'tokenizer.json')), tokenizerConfig: readJSON(join(QWEN, 'tokenizer_config.json')), chatTemplate: readFileSync(join(QWEN, 'chat_template.jinja'), 'utf8') });
const NOW = new Date(2026, 11, 1, 14, 32, 5);

const items: ValidationItem[] = [
  { id: 'fa:1', prompt: 'Translate: test phrase one', outputs: ['qâx îzâ'], source: 'fa', line: 1 },
  { id: 'fa:2', prompt: 'Translate: test word two', outputs: ['zînîx', 'znîx'], source: 'fa', line: 2 },
  { id: 'fa:3', prompt: 'Translate: test word three', outputs: ['îsqoxes', 'îsqîxes'], source: 'fa', line: 3 },
  { id: 'g1:1', prompt: 'Say ṯẖ', outputs: ['ṯẖâ', 'ṯẖâ\u0301'], source: 'g1', line: 1 },
  { id: 'fb:1', prompt: 'untouched', outputs: ['x'], source: 'fb', line: 1 },
  { id: 'fa:4', prompt: 'same twice', outputs: ['ûŋ', 'u\u0302ŋ'], source: 'fa', line: 4 }, // the same text once NFC
];
const sources: ItemSource[] = [
  {
    id: 'fa', kind: 'file', name: 'items.jsonl', loadedAt: NOW.toISOString(), sha256: 'cd'.repeat(32), items: 4,
    terms: { manifest: 'SOURCE_MANIFEST.yml', path: 'val/items.jsonl', allowedForTraining: false, reason: 'synthetic', matched: [{ source_id: 'syn_a', permission_status: 'internal_only', allowed_uses: ['evaluation'], prohibited_uses: ['redistribution'] }], inherited: { prohibited_uses: ['redistribution'], contains_sensitive_content: true, sources: ['syn_a'] } },
  },
  { id: 'g1', kind: 'generated', name: 'lab-micro', loadedAt: NOW.toISOString(), items: 1, terms: null, model: { name: 'lab-micro', adapter: null, decoding: 'greedy', maxNewTokens: 32 } },
  { id: 'fb', kind: 'file', name: 'other.jsonl', loadedAt: NOW.toISOString(), items: 1, terms: null },
];

function judge(edits: Record<string, Edit[]>): Record<string, Judgement> {
  const out: Record<string, Judgement> = {};
  for (const [id, es] of Object.entries(edits)) {
    const it = items.find((i) => i.id === id)!;
    for (const e of es) out[id] = applyEdit(it, out[id], e, NOW.toISOString()) ?? out[id];
  }
  return out;
}
const judgements = judge({
  'fa:1': [{ rating: 'wrong' }, { correction: '  qâx, îzâ ṯẖeq\n' }],
  'fa:2': [{ choice: 'B' }, { rating: 'correct' }],
  'fa:3': [{ choice: 'A' }, { rating: 'partly' }, { comment: 'both close; A is the older spelling' }],
  'g1:1': [{ choice: 'A' }, { correction: 'ṯẖâ' }],
  'fa:4': [{ choice: 'A' }],
});

test('rows: corrections → SFT, choices → DPO pairs (a choice between the same text left out), ratings → 1 / 0.5 / 0 of the rated output', () => {
  const r = exportRows(items, judgements, 'messages');
  assert.deepEqual(r.sft, [
    { messages: [{ role: 'user', content: 'Translate: test phrase one' }, { role: 'assistant', content: 'qâx, îzâ ṯẖeq' }] },
    { messages: [{ role: 'user', content: 'Say ṯẖ' }, { role: 'assistant', content: 'ṯẖâ' }] },
  ]);
  assert.deepEqual(r.dpo, [
    { prompt: 'Translate: test word two', chosen: 'znîx', rejected: 'zînîx' },
    { prompt: 'Translate: test word three', chosen: 'îsqoxes', rejected: 'îsqîxes' },
    { prompt: 'Say ṯẖ', chosen: 'ṯẖâ', rejected: 'ṯẖâ\u0301' },
  ]);
  assert.deepEqual(r.ratings, [
    { prompt: 'Translate: test phrase one', completion: 'qâx îzâ', rating: 0 },
    { prompt: 'Translate: test word two', completion: 'znîx', rating: 1 },
    { prompt: 'Translate: test word three', completion: 'îsqoxes', rating: 0.5 },
  ]);
  assert.equal(r.judgements.length, 5);
  assert.deepEqual(exportRows(items, judgements, 'question-answer').sft[0], { question: 'Translate: test phrase one', answer: 'qâx, îzâ ṯẖeq' });
});

test('the exported SFT JSONL parses with parseSftJsonl: messages through a chat template, question/answer without one; the answer is what is trained', async () => {
  const files = await buildExport(items, judgements, sources, { sftForm: 'messages', now: NOW });
  const sft = files.find((f) => f.kind === 'sft')!;
  const chat = parseSftJsonl(sft.text, chatTok, { file: sft.name, maxLength: 512 });
  assert.deepEqual(chat.problems, []);
  assert.equal(chat.examples.length, 2);
  const trained = chat.examples[0].labels.filter((l) => l !== IGNORE_INDEX);
  assert.match(chatTok.decode(trained), /^qâx, îzâ ṯẖeq/, 'only the correction (and the turn end) is trained');

  const micro = await loadTokenizer(dirSource(join(ROOT, 'models/lab-micro')));
  assert.equal(micro.chatTemplate, null);
  assert.ok(parseSftJsonl(sft.text, micro, { file: sft.name, maxLength: 512 }).problems.length === 2, 'messages rows need a chat template');
  const qa = (await buildExport(items, judgements, sources, { sftForm: 'question-answer', now: NOW })).find((f) => f.kind === 'sft')!;
  for (const tok of [micro, chatTok]) {
    const d = parseSftJsonl(qa.text, tok, { file: qa.name, maxLength: 512 });
    assert.deepEqual([d.examples.length, d.problems], [2, []]);
  }
});

test('the exported DPO JSONL loads with loadDpoData, the ratings with loadRewardData and validationReward', async () => {
  const micro = await loadTokenizer(dirSource(join(ROOT, 'models/lab-micro')));
  const files = await buildExport(items, judgements, sources, { sftForm: 'messages', now: NOW });
  const dpo = files.find((f) => f.kind === 'dpo')!;
  for (const tok of [micro, chatTok]) {
    const d = loadDpoData(dpo.text, tok, { file: dpo.name, nCtx: 512, eosId: 0 });
    assert.deepEqual([d.pairs.length, d.problems], [3, []]);
  }
  const ratings = files.find((f) => f.kind === 'ratings')!;
  const rm = loadRewardData(ratings.text, micro, { file: ratings.name, nCtx: 512, objective: 'regression', eos: 0 });
  assert.deepEqual(rm.problems, []);
  assert.deepEqual(rm.items.map((i) => i.rating), [0, 1, 0.5]);
  const rows = ratings.text.trim().split('\n').map((l) => JSON.parse(l) as { prompt: string; completion: string; rating: number });
  const reward = validationReward(rows.map((r) => ({ prompt: r.prompt, output: r.completion, verdict: r.rating })));
  assert.equal(reward({ prompt: 'Translate: test word three', output: 'îsqoxes' }), 0.5);
});

test('provenance: every file with its rows and sha256, the sources judged from (not the untouched one), the strictest terms inherited', async () => {
  const files = await buildExport(items, judgements, sources, { sftForm: 'messages', now: NOW });
  const base = exportBase(NOW);
  assert.equal(base, 'validations-2026-12-01-1432');
  assert.deepEqual(files.map((f) => f.name), ['sft', 'dpo', 'ratings', 'judgements'].map((k) => `${base}.${k}.jsonl`).concat(`${base}.provenance.json`));
  const p = JSON.parse(files.at(-1)!.text);
  assert.equal(p.schema, 'lab-validation-export-v1');
  assert.match(p.statement, /^Validated on this device by a community speaker/);
  assert.equal(p.exported_at, NOW.toISOString());
  for (const f of files.slice(0, -1)) {
    const rec = p.files.find((x: { name: string }) => x.name === f.name);
    assert.equal(rec.sha256, await sha256Hex(f.text));
    assert.equal(rec.rows, f.rows);
  }
  assert.deepEqual(p.sources.map((s: { id: string }) => s.id), ['fa', 'g1']);
  assert.equal(p.sources[1].model.name, 'lab-micro');
  assert.match(p.sources[1].terms, /^undeclared/);
  assert.deepEqual(p.inherited, { prohibited_uses: ['redistribution'], contains_sensitive_content: true, sources: ['syn_a'], release_approved: false, undeclared: ['lab-micro'] });
  assert.match(p.terms_note, /default-deny/);
  assert.deepEqual(await buildExport(items, {}, sources, { sftForm: 'messages', now: NOW }), [], 'nothing judged: nothing to export');
});
