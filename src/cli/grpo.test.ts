// `lab grpo` as scripts use it (the exact form), on lab-micro with the lab's own arithmetic
// rows: metrics.jsonl, samples.jsonl, checkpoints and a PEFT adapter written; a resume from a
// checkpoint reproduces the uninterrupted run's steps exactly; bad rewards and ungoverned data refused.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runLab, writeTestManifest } from './lab-run.testlib.ts';
import { parseRewards } from './grpo.ts';

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
  // the samples of steps 2 and 3 were written again, not twice
  assert.deepEqual(lines(join(again, 'samples.jsonl')).map((g) => [g.step, g.completions.map((c: { text: string }) => c.text)]), s.map((g) => [g.step, g.completions.map((c: { text: string }) => c.text)]));

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

test('a learned reward model as a GRPO reward: reward-model=<dir> with a weight beside exact; its score is a part of each completion\'s reward', () => {
  // a tiny reward model from lab reward-model, on pairs declared by their own manifest
  const rmDir = join(tmp, 'rm-data');
  rmSync(rmDir, { recursive: true, force: true });
  mkdirSync(rmDir);
  writeTestManifest(rmDir);
  const pairs = Array.from({ length: 6 }, (_, i) => JSON.stringify({ prompt: `What is ${i} + 2?`, chosen: `${i} + 2 = ${i + 2}. #### ${i + 2}`, rejected: 'No.' }));
  writeFileSync(join(rmDir, 'pairs.jsonl'), `${pairs.join('\n')}\n`);
  const rm = join(tmp, 'rm');
  const made = runLab(['reward-model', '--model', micro, '--data', join(rmDir, 'pairs.jsonl'), '--held-out', '0', '--rank', '4', '--alpha', '8', '--targets', 'q_proj,v_proj', '--steps', '2', '--lr', '1e-3', '--batch-size', '2', '--out', rm]);
  assert.equal(made.code, 0, made.stderr);
  const out = join(tmp, 'with-rm');
  const withRm = (dir: string, rmDir: string, ...extra: string[]) => form(dir, ...extra).map((a) => (a === 'chrf:0.01,exact' ? `exact,reward-model=${rmDir}:0.5` : a)).map((a) => (a === '3' ? '2' : a));
  const r = runLab(withRm(out, rm, '--checkpoint-every', '1'));
  assert.equal(r.code, 0, r.stderr);
  // the run records which reward model scored it (the CLI keeps the record, not the files)
  const kept = JSON.parse(readFileSync(join(out, 'reward-model.json'), 'utf8'));
  assert.equal(kept.schema, 'lab-kept-reward-model-v1');
  assert.equal(kept.kept, false);
  assert.ok(kept.files.some((f: { name: string }) => f.name === 'adapter_model.safetensors'));
  // a resume scored by another reward model (one weight changed) is refused, naming both digests
  const rm2 = join(tmp, 'rm2');
  cpSync(rm, rm2, { recursive: true });
  const st = readFileSync(join(rm2, 'adapter_model.safetensors'));
  st[st.length - 1] ^= 1;
  writeFileSync(join(rm2, 'adapter_model.safetensors'), st);
  const other = runLab(withRm(out, rm2, '--checkpoint-every', '1', '--resume', join(out, 'checkpoint-1')));
  assert.notEqual(other.code, 0);
  assert.match(other.stderr, /its reward model .*digest [0-9a-f]{12}\) is not the one given/);
  const same = runLab(withRm(join(tmp, 'with-rm'), rm, '--checkpoint-every', '1', '--resume', join(out, 'checkpoint-1')));
  assert.equal(same.code, 0, same.stderr);
  const m = lines(join(out, 'metrics.jsonl'));
  assert.deepEqual(Object.keys(m[0].rewards).sort(), ['exact', 'reward-model']);
  for (const g of lines(join(out, 'samples.jsonl'))) {
    for (const c of g.completions) {
      assert.ok(Number.isFinite(c.rewards['reward-model']), 'each completion carries its reward-model score');
      assert.ok(Math.abs(c.reward - (c.rewards.exact + 0.5 * c.rewards['reward-model'])) < 1e-9, 'total = exact + 0.5 · reward model');
    }
  }
  // without its files, or on full-parameter training, it is refused
  const noDir = runLab(form(join(tmp, 'x4')).map((a) => (a === 'chrf:0.01,exact' ? 'reward-model' : a)));
  assert.equal(noDir.code, 2);
  assert.match(noDir.stderr, /reward-model=<dir>/);
  const full = runLab([...form(join(tmp, 'x5')).map((a) => (a === 'chrf:0.01,exact' ? `reward-model=${rm}` : a)).map((a) => (a === '0.05' ? '0' : a)), '--full']);
  assert.notEqual(full.code, 0);
  assert.match(full.stderr, /full-parameter GRPO changes those weights/);
});

test('parseRewards: weights, a reward model folder (a colon in the path is not a weight), unknown names', () => {
  assert.deepEqual(parseRewards('gsm8k:1,gsm8k-format:0.5'), { rewards: [{ name: 'gsm8k', weight: 1 }, { name: 'gsm8k-format', weight: 0.5 }], rewardModelDir: null });
  assert.deepEqual(parseRewards('exact,reward-model=/runs/a:b/rm:0.2'), { rewards: [{ name: 'exact', weight: 1 }, { name: 'reward-model', weight: 0.2 }], rewardModelDir: '/runs/a:b/rm' });
  assert.deepEqual(parseRewards('reward-model=/runs/a:b/rm').rewardModelDir, '/runs/a:b/rm');
  assert.throws(() => parseRewards('bleu'), /unknown reward "bleu"/);
  assert.throws(() => parseRewards('gsm8k:'), /weight after ":" must be a number/);
});

test('--reward regime-w samples with its 8 arms by default (each completion names its arm); a group size that is not a multiple of 8 is refused, --arms none turns them off', () => {
  const regime = (out: string, ...extra: string[]) => form(out, ...extra).map((a) => (a === 'chrf:0.01,exact' ? 'regime-w' : a)).map((a) => (a === '3' ? '1' : a)).map((a) => (a === '2' ? '1' : a));
  const bad = runLab(regime(join(tmp, 'w1')));
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--arms regime-w: its 8 arms need a group size that is a multiple of 8, got 4 .*--arms none/);
  const out = join(tmp, 'w2');
  const r = runLab(regime(out).map((a) => (a === '4' ? '8' : a)));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /--temperature is unused with --arms regime-w/);
  assert.match(r.stderr, /arms' system prompts need a chat template/); // lab-micro has none
  assert.match(r.stderr, /arms regime-w \(8 system prompts × temperatures\)/);
  const [g] = lines(join(out, 'samples.jsonl'));
  assert.deepEqual(g.completions.map((c: { arm: string }) => c.arm), ['precise-t0.2', 'precise-t0.3', 'precise-t0.4', 'precise-t0.5', 'reflective-t0.2', 'reflective-t0.3', 'reflective-t0.4', 'reflective-t0.5']);
  const off = runLab([...regime(join(tmp, 'w3')), '--arms', 'none']);
  assert.equal(off.code, 0, off.stderr);
  assert.ok(lines(join(tmp, 'w3', 'samples.jsonl'))[0].completions.every((c: { arm?: string }) => c.arm === undefined));
});
