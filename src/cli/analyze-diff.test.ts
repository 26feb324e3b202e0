// `lab analyze diff` as scripts use it (issue 12, item 5), on lab-micro: two reports of `lab analyze report`
// on the same prompt sets (tiny n, few resamples), the base model and the model with a 2-step `lab sft`
// LoRA adapter; the diff names both, covers every head, ranks by |Δ| and prints what it ranked. A report
// against itself changes nothing; a missing file, a file that is not JSON and an incomparable (hand-edited)
// report are usage errors (exit 2) naming the file or the difference.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runLab, runLabOk, writeTestManifest } from './lab-run.testlib.ts';
import { reportFromJson, reportToJson } from '../engine/analysis/report-data.ts';
import { diffFromJson } from '../engine/analysis/report-diff.ts';

const tmp = mkdtempSync(join(tmpdir(), 'lab-analyze-diff-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const model = join(ROOT, 'models/lab-micro');
const ok = runLabOk;

test('analyze diff: base vs a LoRA adapter on lab-micro, every head, ranked by |Δ|; a report against itself changes nothing', () => {
  const a = join(tmp, 'a.jsonl'), b = join(tmp, 'b.jsonl'), adapter = join(tmp, 'adapter');
  ok(['tasks', '--task', 'arithmetic', '--split', 'heldout', '--n', '3', '--items', '--out', a]);
  ok(['tasks', '--task', 'conlang', '--split', 'heldout', '--n', '3', '--items', '--out', b]);
  writeTestManifest(tmp); // lab sft trains only on data a source manifest approves
  ok(['sft', '--model', model, '--data', a, '--rank', '4', '--alpha', '8', '--steps', '2', '--lr', '1e-1', '--batch-size', '2', '--seed', '1', '--out', adapter]);
  const report = (out: string, extra: string[] = []) =>
    ok(['analyze', 'report', '--model', model, ...extra, '--task-a', a, '--task-b', b, '--label-a', 'arithmetic', '--label-b', 'Velmic', '--n', '3', '--boot', '50', '--perm', '50', '--out', out]);
  report(join(tmp, 'base'));
  report(join(tmp, 'sft'), ['--adapter', adapter]);
  const [rb, ra] = [join(tmp, 'base/report.json'), join(tmp, 'sft/report.json')];

  const out = join(tmp, 'out/diff.json'); // its folder is made
  const r = ok(['analyze', 'diff', '--before', rb, '--after', ra, '--out', out, '--top', '3']);
  const d = diffFromJson(readFileSync(out, 'utf8'));
  assert.equal(d.schema, 'lab-analysis-diff-v1');
  assert.deepEqual([d.before.modelName, d.before.adapter, d.after.adapter], ['lab-micro', null, 'adapter']);
  assert.deepEqual([d.model.layers, d.model.heads, d.tasks.a.label, d.tasks.b.label, d.reproduce.nBoot], [2, 2, 'arithmetic', 'Velmic', 50]);
  assert.equal(d.selectivity.length, d.stats.length * 4, 'every statistic at every head');
  assert.ok(d.stats.includes('entropyNorm') && d.stats.includes('resid:entropy'));
  assert.equal(d.causal.length, 2 * 4, 'every head on both tasks');
  assert.ok(d.summary.causal.changed > 0, 'the adapter changes the ablation effects');
  for (const list of [d.top.selectivity.map((s) => s.deltaD), d.top.causal.map((c) => c.delta)]) {
    assert.ok(list.length > 0 && list.length <= 3, `--top 3: ${list.length}`);
    list.forEach((x, i) => assert.ok(x !== 0 && (i === 0 || Math.abs(list[i - 1]) >= Math.abs(x)), `sorted by |Δ|: ${list.join(', ')}`));
  }
  assert.match(r.stdout, /^before: lab-micro; after: lab-micro \+ adapter; tasks A = arithmetic, B = Velmic$/m);
  assert.ok(r.stdout.includes(`  1. ${d.top.selectivity[0].line}\n`) && r.stdout.includes(`  1. ${d.top.causal[0].line}\n`), r.stdout);
  assert.match(d.top.causal[0].line, /^L\dH\d ablation on (arithmetic|Velmic): .+ → .+; Δ [+−][\d.]+/);
  assert.match(r.stderr, /analyze diff: \d+ head-statistic pairs and 8 head-task effects → .*diff\.json/);

  const same = join(tmp, 'same.json');
  const s = ok(['analyze', 'diff', '--before', ra, '--after', ra, '--out', same]);
  const z = diffFromJson(readFileSync(same, 'utf8'));
  assert.ok(z.selectivity.every((x) => x.deltaD === 0 || Number.isNaN(x.deltaD)) && z.causal.every((x) => x.delta === 0 || Number.isNaN(x.delta)));
  assert.deepEqual([z.top.selectivity.length, z.top.causal.length, z.summary.selectivity.changed, z.summary.causal.changed], [0, 0, 0, 0]);
  assert.equal((s.stdout.match(/\(none\)/g) ?? []).length, 2);

  // usage errors, each naming the file or the difference
  const notJson = join(tmp, 'broken.json'), edited = join(tmp, 'edited.json');
  writeFileSync(notJson, '{"schema": "lab-analysis-report-v1", ');
  const e = reportFromJson(readFileSync(ra, 'utf8'));
  e.tasks.b.sha256 = '0'.repeat(64);
  e.reproduce.seed = 5;
  writeFileSync(edited, reportToJson(e));
  for (const [args, re] of [
    [['--before', join(tmp, 'none.json'), '--after', ra], /none\.json does not exist/],
    [['--before', rb, '--after', notJson], /broken\.json is not valid JSON/],
    [['--before', rb, '--after', join(tmp, 'a.jsonl.provenance.json')], /a\.jsonl\.provenance\.json: expected schema lab-analysis-report-v1/],
    [['--before', rb, '--after', edited], /base\/report\.json and .*edited\.json are not comparable: .*task B file sha256.*seed 0 vs 5/],
    [['--before', rb, '--after', ra, '--top', '-1'], /--top must be a whole number/],
    [['--before', rb, '--out', join(tmp, 'x.json')], /--after is required/],
  ] as [string[], RegExp][]) {
    const bad = runLab(['analyze', 'diff', ...args, ...(args.includes('--out') ? [] : ['--out', join(tmp, 'x.json')])]);
    assert.equal(bad.code, 2, `${args.join(' ')}: ${bad.stderr}`);
    assert.match(bad.stderr, re);
  }
});
