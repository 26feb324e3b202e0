// `lab sft` as scripts use it (the exact form), on the llama-gqa fixture: metrics and PEFT
// files written; resume from a checkpoint reproduces the uninterrupted losses exactly; bad rows and
// a NaN loss get the errors the issue describes; the adapter written applies through --adapter.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { ROOT, runLab, writeTestManifest } from './lab-run.testlib.ts';

const fixture = join(ROOT, 'models/fixtures/llama-gqa');
const tmp = mkdtempSync(join(tmpdir(), 'lab-sft-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const lab = (...args: string[]) => runLab(args);

/** Pre-tokenized rows (ids < the fixture's vocab of 299), prompt masked, and one broken line 4. */
const data = join(tmp, 'rows.jsonl');
const lines: string[] = [];
for (let i = 0; i < 6; i++) {
  const ids = Array.from({ length: 8 + i }, (_, t) => (17 * i + 5 * t) % 290);
  lines.push(JSON.stringify({ input_ids: ids, labels: ids.map((x, t) => (t < 3 ? -100 : x)) }));
}
lines.splice(3, 0, '{"input_ids": [1, 2], "labels": [1]}');
writeFileSync(data, lines.join('\n') + '\n');
writeTestManifest(tmp); // lab sft trains only on data a source manifest approves

/** everything but the learning rate and its schedule */
const setup = ['--model', fixture, '--data', data, '--rank', '4', '--alpha', '8', '--targets', 'q_proj,v_proj,down_proj', '--lora-dropout', '0.1', '--batch-size', '2', '--grad-accum', '2', '--seed', '3'];
const common = [...setup, '--lr', '1e-2', '--lr-schedule', 'cosine', '--warmup-steps', '1'];
const losses = (dir: string): number[] => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).loss);

test('sft writes metrics.jsonl, a PEFT adapter and checkpoints; resume (with LoRA dropout) reproduces the uninterrupted losses exactly', () => {
  const a = join(tmp, 'a');
  const r = lab('sft', ...common, '--steps', '6', '--checkpoint-every', '3', '--out', a);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /skipped row: rows\.jsonl:4: .*same length/, 'the bad row is reported with its line');
  assert.match(r.stderr, /step 6\/6 · loss [\d.]+ · grad norm [\d.]+ · lr [\d.e+-]+ · \d+ tok\/s · ETA/);
  const la = losses(a);
  assert.equal(la.length, 6);
  const m = JSON.parse(readFileSync(join(a, 'metrics.jsonl'), 'utf8').split('\n')[0]);
  for (const k of ['step', 'loss', 'grad_norm', 'lr', 'tokens_per_s']) assert.ok(k in m, `metrics line has ${k}`);
  assert.equal(m.lr, 0, 'cosine with 1 warmup step: the first step runs at lr 0 (transformers)');
  for (const f of ['adapter_config.json', 'adapter_model.safetensors', 'checkpoint-3/optimizer.safetensors', 'checkpoint-3/trainer_state.json']) assert.ok(existsSync(join(a, f)), f);
  const cfg = JSON.parse(readFileSync(join(a, 'adapter_config.json'), 'utf8'));
  assert.equal(cfg.peft_type, 'LORA');
  assert.deepEqual(cfg.target_modules, ['down_proj', 'q_proj', 'v_proj']);
  assert.equal(cfg.lora_dropout, 0.1);

  const b = join(tmp, 'b');
  const rb = lab('sft', ...common, '--steps', '6', '--resume', join(a, 'checkpoint-3'), '--out', b);
  assert.equal(rb.code, 0, rb.stderr);
  assert.deepEqual(losses(b), la.slice(3), 'steps 4..6 after resume equal the uninterrupted run');
  assert.ok(la[5] < la[1], `loss falls: ${la.join(', ')}`);

  // the adapter applies at inference: logits differ from the base model's
  const ids = '5,22,39,56,73,90';
  const [o1, o2] = [join(tmp, 'base.json'), join(tmp, 'adapted.json')];
  assert.equal(lab('forward', '--model', fixture, '--ids', ids, '--out', o1).code, 0);
  const rf = lab('forward', '--model', fixture, '--ids', ids, '--adapter', a, '--out', o2);
  assert.equal(rf.code, 0, rf.stderr);
  const [l1, l2] = [JSON.parse(readFileSync(o1, 'utf8')).logits.flat(), JSON.parse(readFileSync(o2, 'utf8')).logits.flat()];
  assert.ok(l1.some((v: number, i: number) => Math.abs(v - l2[i]) > 1e-3), 'the adapter changes the logits');
});

test('a file with no usable row is an error naming the file and the first problems', () => {
  const bad = join(tmp, 'bad.jsonl');
  writeFileSync(bad, 'not json\n{"prompt": 3}\n');
  const r = lab('sft', '--model', fixture, '--data', bad, '--steps', '1', '--lr', '1e-3', '--out', join(tmp, 'x'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /bad\.jsonl: no usable training rows/);
  assert.match(r.stderr, /bad\.jsonl:1: /);
});

test('a NaN/Inf loss stops the run with a clear message naming the last good checkpoint', () => {
  const out = join(tmp, 'nan');
  // lr 1e30 without clipping: the updates blow the adapters up, a later loss is not finite
  const r = lab('sft', ...setup,
    '--lr', '1e30', '--max-grad-norm', '0', '--steps', '5', '--checkpoint-every', '1', '--out', out);
  assert.equal(r.code, 1, r.stderr);
  const m = /step (\d+): (loss is (NaN|Infinity|-Infinity)|gradient norm is \S+); no update applied\. Stopped; the last good checkpoint is .*checkpoint-(\d+)/.exec(r.stderr);
  assert.ok(m, r.stderr);
  assert.equal(Number(m[4]), Number(m[1]) - 1, 'the last good checkpoint is the step before the bad one');
  assert.ok(existsSync(join(out, `checkpoint-${m[4]}`, 'adapter_model.safetensors')));
  assert.ok(!existsSync(join(out, 'adapter_model.safetensors')), 'no final adapter from a failed run');
});

test('governance: data under a source manifest trains only when a record approves it; the terms go to governance.json', () => {
  const gov = join(tmp, 'governed');
  const rec = (id: string, glob: string, status: string, allowed: string, prohibited: string) =>
    `  - {source_id: ${id}, path_glob: "${glob}", data_type: chat, origin: o, rights_holder: r, permission_status: ${status}, license: l, allowed_uses: [${allowed}], prohibited_uses: [${prohibited}], contains_sensitive_content: true, review_contact: c, notes: ""}\n`;
  mkdirSync(join(gov, 'approved'), { recursive: true });
  mkdirSync(join(gov, 'raw'), { recursive: true });
  writeFileSync(join(gov, 'SOURCE_MANIFEST.yml'), `schema_version: "1.0"\nrecords:\n${rec('ok', 'approved/*.jsonl', 'approved_for_training', 'training', 'upload')}${rec('raw', 'raw/*.jsonl', 'unknown', '', 'training')}`);
  for (const d of ['approved', 'raw']) writeFileSync(join(gov, d, 'rows.jsonl'), readFileSync(data));
  const args = (d: string, out: string) => ['sft', '--model', fixture, '--data', join(gov, d, 'rows.jsonl'), '--rank', '2', '--targets', 'v_proj', '--steps', '1', '--lr', '1e-3', '--out', out];
  const refused = lab(...args('raw', join(tmp, 'gov-raw')));
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /GovernanceError: training refused: .*SOURCE_MANIFEST\.yml: record raw prohibits training for raw\/rows\.jsonl/);
  assert.ok(!existsSync(join(tmp, 'gov-raw', 'metrics.jsonl')), 'nothing trained');
  const ok = lab(...args('approved', join(tmp, 'gov-ok')));
  assert.equal(ok.code, 0, ok.stderr);
  const g = JSON.parse(readFileSync(join(tmp, 'gov-ok', 'governance.json'), 'utf8'));
  assert.equal(g.allowed, true);
  assert.deepEqual(g.inherited, { prohibited_uses: ['upload'], contains_sensitive_content: true, sources: ['ok'], release_approved: false });
});

test('Ctrl-C (SIGINT) finishes the step in flight, writes a checkpoint of it, says how to resume, exits 130; resume goes on, with the tokenized rows from the cache', async () => {
  const out = join(tmp, 'sigint');
  process.env.LAB_ROW_CACHE_MIN_ROWS = '1'; // the children inherit it: cache even this small file
  const hook = join(ROOT, 'tools/wgsl-hook.mjs');
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', hook, join(ROOT, 'src/cli/main.ts'), 'sft', ...common, '--steps', '500', '--out', out], { cwd: ROOT });
  let stderr = '';
  const code = await new Promise<number | null>((resolve) => {
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      if (/step 2\/500/.test(stderr) && !child.killed) {
        // Twice at once, as `timeout` delivers it (to the child and to its process group): still one clean stop.
        child.kill('SIGINT');
        process.kill(child.pid!, 'SIGINT');
      }
    });
    child.on('close', resolve);
  });
  assert.equal(code, 130, stderr);
  assert.match(stderr, /lab sft: tokenized 6 rows in .* \(kept in .*tokenized-rows\.cache\)/);
  const m = /stopped by SIGINT at step (\d+)\/500; resume with --resume (\S+checkpoint-(\d+))/.exec(stderr);
  assert.ok(m, stderr);
  assert.equal(m[1], m[3]);
  const n = Number(m[1]);
  assert.ok(n >= 2 && n < 500, `stopped at step ${n}`);
  assert.ok(existsSync(join(m[2], 'adapter_model.safetensors')) && existsSync(join(m[2], 'optimizer.safetensors')), 'the checkpoint is complete');
  assert.equal(losses(out).length, n, 'metrics.jsonl holds every finished step');
  const r = lab('sft', ...common, '--steps', String(n + 1), '--resume', m[2], '--out', out);
  delete process.env.LAB_ROW_CACHE_MIN_ROWS;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /lab sft: 6 tokenized rows from .*tokenized-rows\.cache/);
  assert.match(r.stderr, /skipped row: rows\.jsonl:4: /, 'problems found when tokenizing are still reported');
  assert.equal(losses(out).length, n + 1, 'the resumed run appends its step');
});

test('resuming from a checkpoint older than the metrics (a stop between checkpoints) keeps each step once in metrics.jsonl', () => {
  const out = join(tmp, 'older');
  assert.equal(lab('sft', ...common, '--steps', '4', '--checkpoint-every', '2', '--out', out).code, 0);
  const before = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const r = lab('sft', ...common, '--steps', '4', '--resume', join(out, 'checkpoint-2'), '--out', out);
  assert.equal(r.code, 0, r.stderr);
  const after = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(after.map((x) => x.step), [1, 2, 3, 4]);
  assert.deepEqual(after.map((x) => x.loss), before.map((x) => x.loss), 'steps 3-4 trained again give the same losses');
});
