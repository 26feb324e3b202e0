// The TRL export on run records no quick CLI run makes: Regime W's sampling arms and a learned reward
// model (not exportable: said, never faked), a run whose only reward is the reward model, full
// fine-tuning (no LoraConfig; output/ is a model); the run record's checks name the field; Python
// literals; where the data was read. The variants' train.py and evaluate.py pass py_compile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import type { RunRecord } from '../../api.ts';
import { ExportError, dataPathOf, exportTrlProject, parseRunRecord } from './project.ts';
import { py, pyFloat } from './recipe.ts';

const governance = {
  allowed: true, reason: 'test', manifest: '/data/SOURCE_MANIFEST.yml', path: 'stoney/train.jsonl',
  matched: [{ source_id: 's1', permission_status: 'approved_for_training', allowed_uses: ['training'], prohibited_uses: ['public_release'] }],
  inherited: { prohibited_uses: ['public_release'], contains_sensitive_content: true, sources: ['s1'] },
};

/** A run record as `lab grpo` writes it (run.json), with `over` merged into its config. */
function grpoRecord(over: Record<string, unknown> = {}, grpo: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schema: 'lab-run-v1', id: 'r1', name: 'train.jsonl', kind: 'grpo', status: 'done', createdAt: 0, updatedAt: 0, model: 'Qwen/Qwen2.5-0.5B-Instruct@main',
    config: {
      full: false, lora: { r: 16, alpha: 32, dropout: 0, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'], layers: [0, 1] }, steps: 50, lr: 2e-5, lrSchedule: 'cosine', warmupSteps: 5,
      weightDecay: 0, betas: [0.9, 0.999], eps: 1e-8, maxGradNorm: 1, batchSize: 2, gradAccum: 1, seed: 0, checkpointEvery: 10, recompute: true, kind: 'grpo',
      grpo: { groupSize: 16, promptsPerStep: 2, maxNewTokens: 256, temperature: 1, beta: 0.1, epsilon: 0.2, loss: 'dapo', mu: 1, scaleRewards: 'group', seed: 0, topK: 5, ...grpo },
      rewards: [{ name: 'regime-w', weight: 1 }, { name: 'reward-model', weight: 0.2 }, { name: 'exact', weight: 0.5 }], ...over,
    },
    data: { name: 'train.jsonl', sha256: 'ab'.repeat(32), rows: 100 }, governance, step: 50, lastLoss: 0.1, checkpoints: [], hasResult: true,
  };
}

const project = (rec: Record<string, unknown>) => {
  const run = parseRunRecord(rec, 'run.json');
  return exportTrlProject({ run, governance, runDir: '/runs/r1', dataFile: '/data/stoney/train.jsonl', model: { id: 'Qwen/Qwen2.5-0.5B-Instruct', revision: 'main', note: 'the Hub' }, date: '2026-12-01' });
};
const file = (p: ReturnType<typeof project>, name: string) => p.files.find((f) => f.path === name)!.text;

function compiles(t: { skip: (m: string) => void }, texts: Record<string, string>): void {
  if (spawnSync('python3', ['--version']).status !== 0) return t.skip('python3 not found: py_compile cannot run here');
  const dir = mkdtempSync(join(tmpdir(), 'lab-trl-variant-'));
  try {
    for (const [name, text] of Object.entries(texts)) writeFileSync(join(dir, name), text);
    const r = spawnSync('python3', ['-m', 'py_compile', ...Object.keys(texts).map((n) => join(dir, n))], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('Regime W arms and a learned reward model are not exported: said in warnings, train.py and the README; the group reward keeps whole groups per process', (t) => {
  const p = project(grpoRecord({}, { arms: 'regime-w' }));
  const train = file(p, 'train.py');
  assert.deepEqual(p.recipe.rewards.map((r) => r.name), ['regime-w', 'exact']);
  assert.deepEqual(p.recipe.notExported.map((n) => n.what), ['reward "reward-model" (weight 0.2)', 'sampling arms "regime-w"']);
  assert.ok(p.warnings.some((w) => /reward "reward-model"/.test(w)) && p.warnings.some((w) => /sampling arms/.test(w)));
  assert.match(train, /^REWARDS = \[\["regime-w", 1\], \["exact", 0\.5\]\]/m);
  assert.match(train, /reward_weights=\[1\.0, 0\.5\],/);
  assert.match(train, /if per_device % GROUP_SIZE:/, 'regime-w scores against its group: a process must hold whole groups');
  assert.match(train, /top_k=5,/);
  assert.match(train, /layers_to_transform=\[0, 1\],/);
  assert.match(train, /lr_scheduler_type="cosine",/);
  assert.match(train, /save_steps=10,/);
  assert.match(train, /gradient_checkpointing=True,/);
  assert.match(train, /^MODEL = "Qwen\/Qwen2\.5-0\.5B-Instruct"/m);
  assert.match(train, /^REVISION = "main"/m);
  const readme = file(p, 'README.md');
  assert.match(readme, /\| reward "reward-model" \(weight 0\.2\) \| \| \*\*no\*\*: /);
  assert.match(readme, /sampling arms "regime-w"/);
  assert.match(readme, /prohibit `public_release`/);
  compiles(t, { 'train.py': train, 'evaluate.py': file(p, 'evaluate.py') });
});

test('a run whose only reward is the learned reward model exports no reward and train.py refuses to start', (t) => {
  const p = project(grpoRecord({ rewards: [{ name: 'reward-model', weight: 1 }] }));
  const train = file(p, 'train.py');
  assert.match(train, /^REWARDS = \[\]/m);
  assert.match(train, /if not REWARDS:\n\s+sys\.exit\(/);
  compiles(t, { 'train.py': train });
});

test('full fine-tuning: no LoraConfig, output/ is a whole model for the lab and for evaluate.py', (t) => {
  const rec = grpoRecord({ full: true, rewards: [{ name: 'gsm8k', weight: 1 }] }, { beta: 0 });
  const p = project({ ...rec, kind: 'sft', config: { ...(rec.config as object), kind: undefined, grpo: undefined, rewards: undefined, lora: undefined } });
  const train = file(p, 'train.py');
  assert.equal(p.recipe.lora, null);
  assert.doesNotMatch(train, /def lora_config|LoraConfig\(/);
  assert.match(train, /peft_config = None {2}# full fine-tuning/);
  assert.match(file(p, 'evaluate.py'), /^FULL = True/m);
  assert.match(file(p, 'README.md'), /holds the whole trained model/);
  compiles(t, { 'train.py': train, 'evaluate.py': file(p, 'evaluate.py') });
});

test('the run record is checked field by field, each refusal naming the file and the field', () => {
  const bad = (rec: unknown, msg: RegExp) => assert.throws(() => parseRunRecord(rec, '/r/run.json'), (e: unknown) => e instanceof ExportError && msg.test(e.message) && e.message.startsWith('/r/run.json: '));
  bad([], /not a JSON object/);
  bad({ ...grpoRecord(), schema: 'x' }, /"schema" is "x"/);
  bad({ ...grpoRecord(), kind: 'ppo' }, /"kind" is "ppo"/);
  bad({ ...grpoRecord(), config: undefined }, /"config" is missing/);
  bad(grpoRecord({}, { mu: 0 }), /"config\.grpo\.mu" is 0; expected a positive integer/);
  bad(grpoRecord({}, { loss: 'ppo' }), /"config\.grpo\.loss"/);
  bad(grpoRecord({ lr: 'x' }), /"config\.lr" is "x"/);
  bad(grpoRecord({ rewards: [] }), /"config\.rewards"/);
  bad({ ...grpoRecord(), governance: undefined }, /"governance" is missing/);
  assert.equal(parseRunRecord(grpoRecord(), 'run.json').kind, 'grpo');
});

test('Python literals and the data\'s path from the governance record', () => {
  assert.equal(py('a"b\n\u00e2'), '"a\\"b\\n\u00e2"');
  assert.equal(py(null), 'None');
  assert.equal(py([true, false, 2, 'x']), '[True, False, 2, "x"]');
  assert.equal(py({ k: [1e-7] }), '{"k": [1e-7]}');
  assert.equal(pyFloat(2), '2.0');
  assert.equal(pyFloat(0.05), '0.05');
  assert.equal(Number(py(2e-5)), 2e-5);
  assert.throws(() => py(NaN), ExportError);
  const at = (g: Record<string, unknown>) => dataPathOf(g, isAbsolute, join, dirname);
  assert.equal(at(governance), '/data/stoney/train.jsonl', 'the manifest\'s folder + the path in it');
  assert.equal(at({ manifest: null, path: '/tmp/arith.jsonl' }), '/tmp/arith.jsonl', 'a lab tasks file: its real path');
  assert.equal(at({ manifest: null, path: 'embedded:arithmetic' }), null, 'the page\'s embedded sets are no file');
  assert.equal(at({ manifest: 'SOURCE_MANIFEST.yml', path: 'x.jsonl' }), null, 'a manifest picked in the page has no folder here');
});
