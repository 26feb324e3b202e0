// `lab dpo` as scripts use it (the form), on lab-micro with a few synthetic preference pairs this
// test writes (with a SOURCE_MANIFEST.yml approving them): metrics.jsonl, checkpoints and a PEFT adapter
// written; bad pair rows reported with file:line and skipped; a resume from a checkpoint repeats the
// uninterrupted run's steps exactly; full-parameter DPO, impossible settings and ungoverned data refused.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runLab, writeTestManifest } from './lab-run.testlib.ts';

const micro = join(ROOT, 'models/lab-micro');
const tmp = mkdtempSync(join(tmpdir(), 'lab-dpo-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
writeTestManifest(tmp);
const data = join(tmp, 'pairs.jsonl');
const good = [
  { prompt: 'What is 2+3?', chosen: '5', rejected: '7' },
  { prompt: 'What is 4+4?', chosen: '8', rejected: 'eight or so' },
  { prompt: 'Name a colour.', chosen: 'Blue.', rejected: 'I do not know.' },
  { prompt: 'What is 10-7?', chosen: '3', rejected: '17' },
];
writeFileSync(data, [
  ...good.slice(0, 2).map((r) => JSON.stringify(r)),
  JSON.stringify({ prompt: 'q', chosen: 'a' }), // line 3: no rejected
  JSON.stringify({ prompt: 'q', chosen: '', rejected: 'b' }), // line 4: empty chosen
  ...good.slice(2).map((r) => JSON.stringify(r)),
  JSON.stringify({ prompt: 'long', chosen: 'word '.repeat(300), rejected: 'b' }), // line 7: longer than the context (256)
].join('\n') + '\n');

const form = (out: string, ...extra: string[]) => [
  'dpo', '--model', micro, '--data', data, '--beta', '0.2', '--label-smoothing', '0.05', '--rank', '4', '--alpha', '8', '--targets', 'q_proj,v_proj,o_proj',
  '--steps', '3', '--lr', '1e-3', '--batch-size', '2', '--seed', '3', '--out', out, ...extra,
];
const lines = (f: string) => readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
/** what must repeat exactly on resume (not the timings) */
const numbers = (l: Record<string, unknown>) => ({
  step: l.step, epoch: l.epoch, loss: l.loss, grad_norm: l.grad_norm, lr: l.lr, rewards_chosen: l.rewards_chosen, rewards_rejected: l.rewards_rejected,
  accuracy: l.accuracy, margin: l.margin, tokens: l.tokens, trained_tokens: l.trained_tokens,
});

test('lab dpo writes metrics, checkpoints and a PEFT adapter, reports bad rows with file:line; a resume repeats the steps exactly', () => {
  const out = join(tmp, 'run');
  const r = runLab(form(out, '--checkpoint-every', '1'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /lab dpo: 4 pairs/);
  assert.match(r.stderr, /skipped row: pairs\.jsonl:3: no "rejected"/);
  assert.match(r.stderr, /skipped row: pairs\.jsonl:4: "chosen" is empty/);
  assert.match(r.stderr, /skipped row: pairs\.jsonl:7: .*more than the model's context of 256/);
  assert.match(r.stderr, /DPO \(sigmoid\), LoRA r=4 alpha=8 on q_proj,v_proj,o_proj, reference = adapter off, 2 pairs\/step, β=0\.2, label smoothing 0\.05/);
  assert.match(r.stderr, /step 3\/3 · loss .* margin .* accuracy/);
  const m = lines(join(out, 'metrics.jsonl'));
  assert.equal(m.length, 3);
  for (const l of m) {
    for (const k of ['loss', 'grad_norm', 'lr', 'rewards_chosen', 'rewards_rejected', 'accuracy', 'margin', 'logps_chosen', 'logps_rejected', 'tokens_per_s', 'step_s']) assert.ok(Number.isFinite(l[k]), `metrics ${k} = ${l[k]}`);
    assert.ok(l.trained_tokens > 0 && l.tokens >= l.trained_tokens);
  }
  // step 1 starts from B = 0 (policy = reference): z = 0, so the loss is log 2 and the rewards 0
  assert.ok(Math.abs(m[0].loss - Math.LN2) < 1e-4 && Math.abs(m[0].margin) < 1e-4, `step 1: loss ${m[0].loss}, margin ${m[0].margin}`);
  assert.deepEqual(m.map((l) => l.epoch), [0, 0, 1], '4 pairs, 2 per step');
  for (const f of ['adapter_config.json', 'adapter_model.safetensors', 'governance.json', 'checkpoint-1/adapter_model.safetensors', 'checkpoint-2/optimizer.safetensors']) assert.ok(existsSync(join(out, f)), f);
  assert.equal(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).kind, 'dpo');
  const state = JSON.parse(readFileSync(join(out, 'checkpoint-1/trainer_state.json'), 'utf8'));
  assert.equal(state.kind, 'dpo');
  assert.deepEqual(state.dpo, { beta: 0.2, labelSmoothing: 0.05 });
  const adapter = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'));
  assert.equal(adapter.r, 4);

  // resume from checkpoint 1 in a copy of the run: steps 2 and 3 again, the same numbers
  const again = join(tmp, 'again');
  cpSync(out, again, { recursive: true });
  const r2 = runLab(form(again, '--checkpoint-every', '1', '--resume', join(again, 'checkpoint-1')));
  assert.equal(r2.code, 0, r2.stderr);
  assert.deepEqual(lines(join(again, 'metrics.jsonl')).map(numbers), m.map(numbers));

  // other settings than the checkpoint's are refused, naming the field
  const r3 = runLab(form(again, '--resume', join(again, 'checkpoint-1')).map((a) => (a === '0.2' ? '0.3' : a)));
  assert.notEqual(r3.code, 0);
  assert.match(r3.stderr, /cannot resume .*DPO settings/);
});

test('full-parameter DPO, impossible settings and data without a provenance record are refused before training', () => {
  const full = runLab([...form(join(tmp, 'x1')), '--full']);
  assert.equal(full.code, 2);
  assert.match(full.stderr, /DPO needs LoRA: the reference policy is the model with the adapter off.*second copy of the model/);
  const ls = runLab(form(join(tmp, 'x2')).map((a) => (a === '0.05' ? '0.5' : a)));
  assert.equal(ls.code, 2);
  assert.match(ls.stderr, /label smoothing must be in \[0, 0\.5\)/);
  const beta = runLab(form(join(tmp, 'x3')).map((a) => (a === '0.2' ? '0' : a)));
  assert.equal(beta.code, 2);
  assert.match(beta.stderr, /beta must be > 0/);
  const elsewhere = mkdtempSync(join(tmpdir(), 'lab-dpo-ungoverned-')); // no manifest at or above it
  after(() => rmSync(elsewhere, { recursive: true, force: true }));
  const loose = join(elsewhere, 'pairs.jsonl');
  writeFileSync(loose, readFileSync(data));
  const r = runLab(form(join(tmp, 'x4')).map((a) => (a === data ? loose : a)));
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /training refused/);
  assert.ok(!existsSync(join(tmp, 'x4', 'metrics.jsonl')));
});
