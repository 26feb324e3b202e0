// `lab export-trl --run <dir> --out <dir>` on real run folders: tiny `lab sft`, `lab grpo` and `lab dpo`
// runs on lab-micro (seconds each), exported; every .py of each project passes `python3 -m py_compile`;
// train.py carries the run's hyper-parameters under TRL's names with the run's values; the rewards map to
// rewards.py's functions; lab_data.py reads the run's data as the lab does; the data is referenced, never
// copied, and its terms travel in provenance.json; a folder that is not a run, an unreadable run.json and
// a used --out are refused, naming the file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLab, runLabOk } from './lab-run.testlib.ts';
import { REWARDS, GROUP_REWARDS } from '../rewards/index.ts';
import { PY_REWARDS } from '../engine/export/trl/project.ts';

const tmp = mkdtempSync(join(tmpdir(), 'lab-export-trl-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const arith = join(tmp, 'arith.jsonl');
const pairsDir = join(tmp, 'pairs');
const pairs = join(pairsDir, 'pairs.jsonl');
const python = spawnSync('python3', ['--version']).status === 0 ? 'python3' : null;

// the model as `lab` is usually given it: relative to the repository, where runLab runs
const MODEL = 'models/lab-micro';
const SFT = ['--rank', '4', '--alpha', '8', '--targets', 'q_proj,v_proj', '--lora-dropout', '0.05', '--steps', '2', '--lr', '3e-4', '--lr-schedule', 'constant', '--warmup-steps', '1',
  '--weight-decay', '0.01', '--betas', '0.9,0.95', '--eps', '1e-7', '--max-grad-norm', '0.5', '--batch-size', '2', '--grad-accum', '2', '--seed', '7', '--checkpoint-every', '1'];
const GRPO = ['--reward', 'exact:1,chrf++:0.5,gsm8k-format:0.25', '--group-size', '4', '--prompts-per-step', '2', '--steps', '1', '--beta', '0.05', '--epsilon', '0.3', '--epsilon-high', '0.4',
  '--loss', 'dr_grpo', '--mu', '2', '--max-new-tokens', '6', '--temperature', '0.8', '--top-p', '0.9', '--lr', '2e-5', '--seed', '3', '--rank', '8', '--alpha', '16'];

before(() => {
  runLabOk(['tasks', '--task', 'arithmetic', '--split', 'train', '--n', '4', '--seed', '2', '--out', arith]); // approved by its provenance record
  mkdirSync(pairsDir);
  writeFileSync(pairs, [{ prompt: 'What is 2+3?', chosen: '5', rejected: '7' }, { prompt: 'Name a colour.', chosen: 'Blue.', rejected: 'I do not know.' }].map((r) => JSON.stringify(r)).join('\n') + '\n');
  // a source whose terms forbid copies: the export must reference it and say so
  writeFileSync(join(pairsDir, 'SOURCE_MANIFEST.yml'), 'schema_version: "1.0"\nrecords:\n  - {source_id: test_pairs, path_glob: "*.jsonl", data_type: synthetic, origin: this test, rights_holder: Stoney-RL Lab, ' +
    'permission_status: approved_for_training, license: repository, allowed_uses: [training], prohibited_uses: [redistribution, upload], contains_sensitive_content: true, review_contact: maintainers, notes: "test pairs"}\n');
  runLabOk(['sft', '--model', MODEL, '--data', arith, ...SFT, '--out', join(tmp, 'sft')]);
  runLabOk(['grpo', '--model', MODEL, '--data', arith, ...GRPO, '--out', join(tmp, 'grpo')]);
  runLabOk(['dpo', '--model', MODEL, '--data', pairs, '--beta', '0.2', '--label-smoothing', '0.1', '--steps', '1', '--batch-size', '2', '--rank', '4', '--targets', 'q_proj,v_proj', '--out', join(tmp, 'dpo')]);
});

/** Exports run `name` into a new folder; returns the folder, lab's stderr and train.py's config keywords (name → Python value). */
function exported(name: string): { dir: string; stderr: string; train: string; kw: Map<string, string> } {
  const dir = join(tmp, `trl-${name}`);
  const r = runLab(['export-trl', '--run', join(tmp, name), '--out', dir]);
  assert.equal(r.code, 0, r.stderr);
  const train = readFileSync(join(dir, 'train.py'), 'utf8');
  const kw = new Map([...train.matchAll(/^ {8}(\w+)=(.*?),  # lab: /gm)].map((m) => [m[1], m[2]] as [string, string]));
  return { dir, stderr: r.stderr, train, kw };
}

/** `python3 -m py_compile` on every .py of a project. */
function compiles(t: { skip: (m: string) => void }, dir: string): void {
  if (!python) return t.skip('python3 not found: py_compile cannot run here');
  const files = readdirSync(dir).filter((f) => f.endsWith('.py'));
  assert.deepEqual(files.sort(), ['evaluate.py', 'lab_data.py', 'rewards.py', 'train.py']);
  const r = spawnSync(python, ['-m', 'py_compile', ...files.map((f) => join(dir, f))], { encoding: 'utf8' });
  assert.equal(r.status, 0, `py_compile: ${r.stderr}`);
}

const num = (py: string | undefined) => Number(py);

test('an SFT run becomes SFTTrainer + LoraConfig with its hyper-parameters under TRL\'s names; the project compiles', (t) => {
  const { dir, train, kw } = exported('sft');
  assert.match(train, /from trl import SFTConfig, SFTTrainer/);
  const want: [string, number][] = [['max_steps', 2], ['learning_rate', 3e-4], ['warmup_steps', 1], ['weight_decay', 0.01], ['adam_beta1', 0.9], ['adam_beta2', 0.95], ['adam_epsilon', 1e-7],
    ['max_grad_norm', 0.5], ['seed', 7], ['save_steps', 1], ['r', 4], ['lora_alpha', 8], ['lora_dropout', 0.05]];
  for (const [k, v] of want) assert.equal(num(kw.get(k)), v, `${k} = ${kw.get(k)}`);
  // the lab's constant schedule with warmup is transformers' constant_with_warmup; plain "constant" ignores warmup
  assert.equal(kw.get('lr_scheduler_type'), '"constant_with_warmup"');
  assert.equal(kw.get('target_modules'), '["q_proj", "v_proj"]');
  assert.equal(kw.get('report_to'), '"wandb"');
  assert.equal(kw.get('completion_only_loss'), 'True');
  assert.match(train, /split_batch\(2, 2, world, /, '2 rows × 2 accumulation per optimizer step');
  assert.match(train, /MODEL = ".*\/models\/lab-micro"/, 'the relative --model resolved to a folder');
  assert.match(train, new RegExp(`DATA_FILE = "${arith.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`));
  compiles(t, dir);
});

test('a GRPO run becomes GRPOTrainer with its group, β, ε, loss, μ, sampling and weighted rewards; each reward is a function of rewards.py', (t) => {
  const { dir, train, kw } = exported('grpo');
  assert.match(train, /from trl import GRPOConfig, GRPOTrainer/);
  const want: [string, number][] = [['max_steps', 2], ['num_generations', 4], ['num_iterations', 2], ['beta', 0.05], ['epsilon', 0.3], ['epsilon_high', 0.4], ['max_completion_length', 6],
    ['temperature', 0.8], ['top_p', 0.9], ['learning_rate', 2e-5], ['seed', 3], ['r', 8], ['lora_alpha', 16], ['lora_dropout', 0]];
  for (const [k, v] of want) assert.equal(num(kw.get(k)), v, `${k} = ${kw.get(k)}`);
  assert.equal(kw.get('loss_type'), '"dr_grpo"');
  assert.equal(kw.get('scale_rewards'), '"group"');
  assert.equal(kw.get('reward_weights'), '[1.0, 0.5, 0.25]');
  assert.equal(kw.get('log_completions'), 'False');
  assert.match(train, /^REWARDS = \[\["exact", 1\], \["chrf\+\+", 0\.5\], \["gsm8k-format", 0\.25\]\]/m);
  assert.match(train, /split_batch\(8, 1, world, /, '2 prompts × 4 completions per optimizer step');
  assert.match(train, /lab_data\.grpo_rows\(DATA_FILE, tok, n_ctx, max_new_tokens=6\)/);
  compiles(t, dir);
  if (!python) return;
  // the names resolve in rewards.py, and lab_data.py reads the run's rows (question → prompt, answer → reference) with a stand-in tokenizer
  const script = [
    'import sys; sys.path.insert(0, sys.argv[1])',
    'import json, lab_data, rewards',
    'class Tok:',
    '    chat_template = None; bos_token = None; bos_token_id = None',
    '    def __call__(self, text, add_special_tokens=True): return {"input_ids": list(range(len(text)))}',
    'names = [n for n, _ in json.loads(sys.argv[2])]',
    'fns = [rewards.trl_reward(n, group_size=4) for n in names]',
    'rows = lab_data.grpo_rows(sys.argv[3], Tok(), 10000, 6)',
    'sft = lab_data.sft_rows(sys.argv[3], Tok(), 10000)',
    'print(json.dumps({"names": [f.__name__ for f in fns], "rows": rows, "sft": sft, "scores": fns[0]([r["prompt"] for r in rows], ["#### 0"] * len(rows), reference=[r["reference"] for r in rows])}))',
  ].join('\n');
  const r = spawnSync(python, ['-c', script, dir, JSON.stringify([['exact', 1], ['chrf++', 0.5], ['gsm8k-format', 0.25]]), arith], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { names: string[]; rows: { prompt: string; reference: string }[]; sft: { prompt: string; completion: string }[]; scores: number[] };
  assert.deepEqual(out.names, ['exact', 'chrf++', 'gsm8k-format']);
  const items = readFileSync(arith, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { question: string; answer: string });
  assert.deepEqual(out.rows.map((x) => x.prompt), items.map((i) => `Question: ${i.question}\nAnswer:`), 'no chat template: the lab\'s Question/Answer prompt');
  assert.deepEqual(out.rows.map((x) => x.reference), items.map((i) => i.answer));
  assert.deepEqual(out.sft.map((x) => x.completion), items.map((i) => ` ${i.answer}`));
  assert.equal(out.scores.length, items.length);
});

test('every lab reward but the learned reward model has a Python function in rewards.py', () => {
  assert.deepEqual(Object.keys(PY_REWARDS).sort(), [...Object.keys(REWARDS), ...Object.keys(GROUP_REWARDS)].sort());
  for (const [name, { group }] of Object.entries(PY_REWARDS)) assert.equal(group, name in GROUP_REWARDS, name);
});

test('a DPO run becomes DPOTrainer; label smoothing, which TRL\'s sigmoid loss ignores, is refused in train.py and warned; the data is referenced, its terms kept', (t) => {
  const { dir, stderr, train, kw } = exported('dpo');
  assert.match(train, /from trl import DPOConfig, DPOTrainer/);
  assert.equal(num(kw.get('beta')), 0.2);
  assert.equal(kw.get('loss_type'), '["sigmoid"]');
  assert.match(train, /LABEL_SMOOTHING_ACCEPTED = False/);
  assert.match(stderr, /warning: not as in the lab run: label smoothing 0\.1/);
  assert.match(stderr, /warning: the data's terms prohibit redistribution, upload/);
  const prov = JSON.parse(readFileSync(join(dir, 'provenance.json'), 'utf8'));
  assert.deepEqual(prov.inherited.prohibited_uses, ['redistribution', 'upload']);
  assert.equal(prov.inherited.contains_sensitive_content, true);
  assert.equal(prov.data.copied, false);
  assert.equal(prov.data.file, pairs);
  assert.ok(!readdirSync(dir).some((f) => f.endsWith('.jsonl')), 'no data file in the project');
  assert.match(readFileSync(join(dir, 'README.md'), 'utf8'), /do not push the adapter to the Hub/);
  compiles(t, dir);
});

test('not a run folder, an unreadable or incomplete run.json, a reward-model run and a used --out are refused, naming the file', () => {
  const empty = join(tmp, 'not-a-run');
  mkdirSync(empty);
  const r1 = runLab(['export-trl', '--run', empty, '--out', join(tmp, 'o1')]);
  assert.equal(r1.code, 1);
  assert.match(r1.stderr, new RegExp(`ExportError: ${empty}/run\\.json: missing: .* is not a run folder`));
  const broken = join(tmp, 'broken');
  mkdirSync(broken);
  writeFileSync(join(broken, 'run.json'), '{"schema": "lab-run-v1", ');
  const r2 = runLab(['export-trl', '--run', broken, '--out', join(tmp, 'o2')]);
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, new RegExp(`${broken}/run\\.json: not valid JSON`));
  const rec = JSON.parse(readFileSync(join(tmp, 'sft', 'run.json'), 'utf8'));
  writeFileSync(join(broken, 'run.json'), JSON.stringify({ ...rec, config: { ...rec.config, lora: undefined } }));
  const r3 = runLab(['export-trl', '--run', broken, '--out', join(tmp, 'o3')]);
  assert.equal(r3.code, 1);
  assert.match(r3.stderr, /run\.json: "config\.lora" is missing/);
  writeFileSync(join(broken, 'run.json'), JSON.stringify({ ...rec, kind: 'reward-model' }));
  assert.match(runLab(['export-trl', '--run', broken, '--out', join(tmp, 'o4')]).stderr, /a reward-model run: export-trl exports sft, grpo and dpo runs/);
  assert.ok(!existsSync(join(tmp, 'o1')) && !existsSync(join(tmp, 'o3')), 'nothing written on a refusal');
  const used = runLab(['export-trl', '--run', join(tmp, 'sft'), '--out', join(tmp, 'sft')]);
  assert.equal(used.code, 2);
  assert.match(used.stderr, /--out .* exists and is not empty/);
  assert.equal(runLab(['export-trl', '--run', join(tmp, 'nowhere'), '--out', join(tmp, 'o5')]).code, 2);
});
