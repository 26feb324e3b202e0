// `lab reward-model` as scripts use it (the form), on lab-micro with synthetic preference
// pairs declared by a SOURCE_MANIFEST.yml: metrics, checkpoints, the PEFT adapter, reward_head.safetensors
// and reward_model.json with the held-out accuracy written; a resume from a checkpoint repeats the
// uninterrupted run exactly; bad rows reported as file:line; ratings (regression); ungoverned data refused.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runLab, writeTestManifest } from './lab-run.testlib.ts';
import { readRewardModel } from '../engine/rl/reward-model.ts';
import { readDirFiles } from './dir-run-store.ts';

const micro = join(ROOT, 'models/lab-micro');
const tmp = mkdtempSync(join(tmpdir(), 'lab-rm-'));
const loose = mkdtempSync(join(tmpdir(), 'lab-rm-loose-'));
after(() => {
  rmSync(tmp, { recursive: true, force: true });
  rmSync(loose, { recursive: true, force: true });
});
writeTestManifest(tmp);
const rows = Array.from({ length: 12 }, (_, i) => {
  const [a, b] = [i + 2, (i * 7) % 10];
  return { prompt: `What is ${a} + ${b}?`, chosen: `${a} + ${b} = ${a + b}. #### ${a + b}`, rejected: 'I do not know.' };
});
const pairs = join(tmp, 'pairs.jsonl');
const lines = rows.map((r) => JSON.stringify(r));
lines.splice(3, 0, '{"prompt": "broken"', JSON.stringify({ prompt: 'no rejected', chosen: 'x' })); // lines 4 and 5
writeFileSync(pairs, `${lines.join('\n')}\n`);
const ratings = join(tmp, 'ratings.jsonl');
writeFileSync(ratings, rows.map((r, i) => JSON.stringify({ prompt: r.prompt, completion: i % 2 ? r.chosen : r.rejected, rating: i % 2 ? 1 : -1 })).join('\n'));

const form = (out: string, ...extra: string[]) => [
  'reward-model', '--model', micro, '--data', pairs, '--held-out', '0.25', '--rank', '4', '--alpha', '8', '--targets', 'q_proj,v_proj',
  '--steps', '4', '--lr', '1e-3', '--batch-size', '2', '--seed', '3', '--out', out, ...extra,
];
const jsonl = (f: string) => readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
/** what must repeat exactly on resume (not the timings) */
const numbers = (l: Record<string, unknown>) => ({ step: l.step, loss: l.loss, grad_norm: l.grad_norm, head_grad_norm: l.head_grad_norm, accuracy: l.accuracy, margin: l.margin, heldout_accuracy: l.heldout_accuracy, heldout_loss: l.heldout_loss });

test('lab reward-model writes metrics, checkpoints, the adapter, the head and reward_model.json; a resume repeats the steps exactly', async () => {
  const out = join(tmp, 'run');
  const r = runLab(form(out, '--checkpoint-every', '2'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /pairs\.jsonl:4: not valid JSON/);
  assert.match(r.stderr, /pairs\.jsonl:5: expected a preference pair/);
  assert.match(r.stderr, /held out 3 of 12/);
  assert.match(r.stderr, /step 4\/4 · loss .* · held-out acc /);
  assert.match(r.stdout, /^held-out pair accuracy (0|1)\.\d{3}\n$/);
  const m = jsonl(join(out, 'metrics.jsonl'));
  assert.equal(m.length, 4);
  for (const l of m) for (const k of ['loss', 'grad_norm', 'head_grad_norm', 'lr', 'accuracy', 'margin', 'reward_mean']) assert.ok(Number.isFinite(l[k]), `metrics ${k} = ${l[k]}`);
  assert.deepEqual(m.map((l) => typeof l.heldout_accuracy), ['undefined', 'number', 'undefined', 'number'], 'held-out numbers every 2 steps and at the end');
  for (const f of ['adapter_config.json', 'adapter_model.safetensors', 'reward_head.safetensors', 'reward_model.json', 'governance.json', 'checkpoint-2/reward_head.safetensors',
    'checkpoint-2/reward_head_optimizer.safetensors', 'checkpoint-2/reward_model.json', 'checkpoint-2/optimizer.safetensors']) assert.ok(existsSync(join(out, f)), f);
  assert.equal(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).kind, 'reward-model');
  const rm = await readRewardModel(readDirFiles(out), out);
  assert.equal(rm.info.objective, 'bradley-terry');
  assert.equal(rm.info.d_model, 48);
  assert.equal(rm.info.pooling, 'last');
  assert.equal(rm.info.heldout_rows, 3);
  assert.equal(rm.info.heldout_step, 4);
  assert.equal(rm.info.heldout_accuracy, m[3].heldout_accuracy);
  assert.equal(rm.v.length, 48);

  // resume from checkpoint 2 in a copy of the run: steps 3 and 4 again, the same numbers
  const again = join(tmp, 'again');
  cpSync(out, again, { recursive: true });
  const r2 = runLab(form(again, '--checkpoint-every', '2', '--resume', join(again, 'checkpoint-2')));
  assert.equal(r2.code, 0, r2.stderr);
  assert.deepEqual(jsonl(join(again, 'metrics.jsonl')).map(numbers), m.map(numbers));
  assert.deepEqual(readFileSync(join(again, 'reward_head.safetensors')), readFileSync(join(out, 'reward_head.safetensors')));

  // other settings than the checkpoint's are refused, naming the field
  const r3 = runLab(form(again, '--resume', join(again, 'checkpoint-2')).map((a) => (a === '0.25' ? '0.5' : a)));
  assert.notEqual(r3.code, 0);
  assert.match(r3.stderr, /cannot resume .*held-out share/);
});

test('lab reward-model --objective regression trains on ratings and reports the held-out RMSE', () => {
  const out = join(tmp, 'reg');
  const r = runLab(form(out, '--objective', 'regression').map((a) => (a === pairs ? ratings : a)));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^held-out RMSE \d+\.\d{4}\n$/);
  const m = jsonl(join(out, 'metrics.jsonl'));
  assert.ok(m.every((l) => Number.isFinite(l.rmse)));
  assert.ok(Number.isFinite(m[3].heldout_rmse));
  assert.equal(JSON.parse(readFileSync(join(out, 'reward_model.json'), 'utf8')).heldout_rmse, m[3].heldout_rmse);
});

test('a bad objective, a bad held-out share and data without a provenance record are refused before training', () => {
  const b1 = runLab(form(join(tmp, 'x1'), '--objective', 'pairwise'));
  assert.equal(b1.code, 2);
  assert.match(b1.stderr, /--objective must be bradley-terry or regression/);
  const b2 = runLab(form(join(tmp, 'x2')).map((a) => (a === '0.25' ? '0.9' : a)));
  assert.equal(b2.code, 2);
  assert.match(b2.stderr, /--held-out must be a share in \[0, 0\.5\]/);
  const ungoverned = join(loose, 'pairs.jsonl');
  writeFileSync(ungoverned, readFileSync(pairs));
  const r = runLab(form(join(loose, 'x3')).map((a) => (a === pairs ? ungoverned : a)));
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /training refused/);
  assert.ok(!existsSync(join(loose, 'x3', 'metrics.jsonl')));
});
