// `lab grpo` as scripts use it (the exact form), on lab-micro with the lab's own arithmetic
// rows: metrics.jsonl, samples.jsonl, checkpoints and a PEFT adapter written; a resume from a
// checkpoint reproduces the uninterrupted run's steps exactly; bad rewards and ungoverned data refused.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runLab } from './lab-run.testlib.ts';

const micro = join(ROOT, 'models/lab-micro');
const tmp = mkdtempSync(join(tmpdir(), 'lab-grpo-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const data = join(tmp, 'arith.jsonl');
const made = runLab(['tasks', '--task', 'arithmetic', '--split', 'train', '--n', '3', '--seed', '2', '--out', data]); // with its provenance record

const form = (out: string, ...extra: string[]) => [
  'grpo', '--model', micro, '--data', data, '--reward', 'chrf:0.01,exact', '--group-size', '4', '--steps', '3', '--prompts-per-step', '2',
  '--beta', '0.05', '--epsilon', '0.2', '--loss', 'grpo', '--mu', '1', '--max-new-tokens', '8', '--temperature', '0.9', '--lr', '1e-3', '--seed', '4',
  '--out', out, ...extra,
];
const lines = (f: string) => readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
/** what must repeat exactly on resume (not the timings) */
const numbers = (l: Record<string, unknown>) => ({ step: l.step, loss: l.loss, grad_norm: l.grad_norm, reward: l.reward, kl: l.kl, rewards: l.rewards, completion_length: l.completion_length });

test('lab grpo writes metrics, samples, checkpoints and a PEFT adapter; a resume repeats the steps exactly', () => {
  assert.equal(made.code, 0, made.stderr);
  const out = join(tmp, 'run');
  const r = runLab(form(out, '--checkpoint-every', '1'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /step 3\/3 · reward/);
  const m = lines(join(out, 'metrics.jsonl'));
  assert.equal(m.length, 3);
  for (const l of m) {
    for (const k of ['loss', 'grad_norm', 'lr', 'reward', 'reward_std', 'kl', 'clip_frac', 'completion_length', 'tokens_per_s', 'rollout_tokens_per_s']) assert.ok(Number.isFinite(l[k]), `metrics ${k} = ${l[k]}`);
    assert.deepEqual(Object.keys(l.rewards).sort(), ['chrf', 'exact']);
  }
  const s = lines(join(out, 'samples.jsonl'));
  assert.equal(s.length, 6, 'one record per prompt per step');
  for (const g of s) {
    assert.equal(g.completions.length, 4);
    assert.ok(typeof g.prompt === 'string' && typeof g.reference === 'string');
    for (const c of g.completions) assert.ok(typeof c.text === 'string' && Number.isFinite(c.reward) && Number.isFinite(c.advantage));
  }
  for (const f of ['adapter_config.json', 'adapter_model.safetensors', 'governance.json', 'checkpoint-1/adapter_model.safetensors', 'checkpoint-2/optimizer.safetensors']) assert.ok(existsSync(join(out, f)), f);
  assert.equal(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).kind, 'grpo');

  // resume from checkpoint 1 in a copy of the run: steps 2 and 3 again, the same numbers
  const again = join(tmp, 'again');
  cpSync(out, again, { recursive: true });
  const r2 = runLab(form(again, '--checkpoint-every', '1', '--resume', join(again, 'checkpoint-1')));
  assert.equal(r2.code, 0, r2.stderr);
  assert.deepEqual(lines(join(again, 'metrics.jsonl')).map(numbers), m.map(numbers));

  // other settings than the checkpoint's are refused, naming the field
  const r3 = runLab(form(join(tmp, 'again'), '--resume', join(again, 'checkpoint-1')).map((a) => (a === '0.05' ? '0.1' : a)));
  assert.notEqual(r3.code, 0);
  assert.match(r3.stderr, /cannot resume .*GRPO settings/);
});

test('an unknown reward, an impossible setting and data without a provenance record are refused before training', () => {
  const bad = runLab(form(join(tmp, 'x1')).map((a) => (a === 'chrf:0.01,exact' ? 'bleu' : a)));
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown reward "bleu" \(rewards: .*gsm8k.*regime-w/);
  const g1 = runLab(form(join(tmp, 'x2')).map((a) => (a === '4' ? '1' : a)));
  assert.equal(g1.code, 2);
  assert.match(g1.stderr, /group size must be an integer in 2\.\.16/);
  const loose = join(tmp, 'loose.jsonl');
  writeFileSync(loose, readFileSync(data));
  const r = runLab(form(join(tmp, 'x3')).map((a) => (a === data ? loose : a)));
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /training refused/);
  assert.ok(!existsSync(join(tmp, 'x3', 'metrics.jsonl')));
});
