// `lab analyze checkpoints` as scripts use it (issue 12, item 5: each checkpoint of a run), on lab-micro: a
// 2-step `lab sft` LoRA run with a checkpoint per step; a report for the base model and for each checkpoint,
// then the series across them. The step-2 point equals `lab analyze report --adapter checkpoint-2`; a second
// call keeps the reports already made; missing steps and folders without checkpoints are usage errors.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runLab, runLabOk, writeTestManifest } from './lab-run.testlib.ts';
import { reportFromJson } from '../engine/analysis/report-data.ts';
import { trajectoryFromJson } from '../engine/analysis/trajectory.ts';

const tmp = mkdtempSync(join(tmpdir(), 'lab-analyze-ckpt-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const model = join(ROOT, 'models/lab-micro');
const ok = runLabOk;

test('analyze checkpoints: the base and each checkpoint of a run, the series of every head, what moved most; kept reports are not made again', () => {
  const a = join(tmp, 'a.jsonl'), b = join(tmp, 'b.jsonl'), run = join(tmp, 'run'), out = join(tmp, 'traj');
  ok(['tasks', '--task', 'arithmetic', '--split', 'heldout', '--n', '3', '--items', '--out', a]);
  ok(['tasks', '--task', 'conlang', '--split', 'heldout', '--n', '3', '--items', '--out', b]);
  writeTestManifest(tmp);
  ok(['sft', '--model', model, '--data', a, '--rank', '4', '--alpha', '8', '--steps', '2', '--lr', '1e-1', '--batch-size', '2', '--seed', '1', '--checkpoint-every', '1', '--out', run]);
  const common = ['--task-a', a, '--task-b', b, '--label-a', 'arithmetic', '--label-b', 'Velmic', '--n', '3', '--boot', '20', '--perm', '20'];
  const r = ok(['analyze', 'checkpoints', '--model', model, '--run', run, ...common, '--top', '4', '--out', out]);
  const t = trajectoryFromJson(readFileSync(join(out, 'trajectory.json'), 'utf8'));
  assert.equal(t.schema, 'lab-analysis-trajectory-v1');
  assert.deepEqual(t.steps, [0, 1, 2]);
  assert.deepEqual(t.adapters, [null, 'checkpoint-1', 'checkpoint-2']);
  // the checkpoints carry the run's terms (its data: the lab's own arithmetic set), and so does the trajectory
  const terms = JSON.parse(readFileSync(join(out, 'governance.json'), 'utf8'));
  assert.deepEqual([terms.adapters.map((x: { name: string }) => x.name), terms.inherited.sources, terms.inherited.release_approved], [['run run', 'checkpoint-1', 'checkpoint-2'], ['lab_tasks_arithmetic'], true]);
  assert.deepEqual([t.model.layers, t.model.heads, t.heads.length], [2, 2, 4]);
  assert.deepEqual([t.lens.a.length, t.lens.a[0].length, t.answer.b.length], [3, 3, 3], '[steps][L + 1]');
  for (const h of t.heads) {
    assert.equal(h.ablation.a.length, 3);
    assert.ok(Object.values(h.selectivity).every((s) => s.length === 3));
  }
  assert.equal(t.changes.length, 2);
  assert.ok(t.top.causal.length > 0 && t.top.causal.length <= 4, 'lr 0.1 moves the heads; --top 4');
  t.top.causal.forEach((h, i) => assert.ok(i === 0 || Math.abs(t.top.causal[i - 1].maxChange) >= Math.abs(h.maxChange)));
  // each point is an ordinary report: step 2's equals lab analyze report --adapter checkpoint-2
  const direct = join(tmp, 'direct');
  ok(['analyze', 'report', '--model', model, '--adapter', join(run, 'checkpoint-2'), ...common, '--out', direct]);
  const [p2, d2] = [join(out, 'step-2/report.json'), join(direct, 'report.json')].map((f) => reportFromJson(readFileSync(f, 'utf8')));
  assert.deepEqual(p2.ablation, d2.ablation);
  assert.deepEqual(p2.lens, d2.lens);
  assert.equal(reportFromJson(readFileSync(join(out, 'step-0/report.json'), 'utf8')).adapter, null);
  // the series are the reports' numbers
  const h = t.heads.find((x) => x.layer === 1 && x.head === 0)!;
  assert.equal(h.ablation.b[2], p2.ablation.b.find((e) => e.layer === 1 && e.head === 0)!.mean);
  assert.match(r.stdout, /^lab-micro: 3 points \(steps 0, 1, 2\)/m);
  assert.match(r.stdout, /answer log-prob, arithmetic: .+ → .+ → .+/);
  assert.match(readFileSync(join(out, 'trajectory.txt'), 'utf8'), /heads whose causal effect moved most:\n {2}L\dH\d ablation on (arithmetic|Velmic): /);

  // again: every report is kept, the trajectory is the same
  const again = ok(['analyze', 'checkpoints', '--model', model, '--run', run, ...common, '--top', '4', '--out', out]);
  assert.equal((again.stderr.match(/is already there: kept/g) ?? []).length, 3);
  assert.deepEqual(trajectoryFromJson(readFileSync(join(out, 'trajectory.json'), 'utf8')).heads, t.heads);
  // --steps picks checkpoints; a step the run lacks, and a folder with none, are usage errors
  const only = ok(['analyze', 'checkpoints', '--model', model, '--run', run, ...common, '--steps', '2', '--out', out]);
  assert.match(only.stdout, /2 points \(steps 0, 2\)/);
  const missing = runLab(['analyze', 'checkpoints', '--model', model, '--run', run, ...common, '--steps', '7', '--out', out]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /has no checkpoint of step 7 \(it has 1, 2\)/);
  mkdirSync(join(tmp, 'empty'));
  const none = runLab(['analyze', 'checkpoints', '--model', model, '--run', join(tmp, 'empty'), ...common, '--out', out]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /has no checkpoint-<step> folders/);
});
