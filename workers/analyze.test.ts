// The report through the worker protocol, as the page will ask for it (WorkerEngine → serveEngine →
// LocalEngine, lab-micro from picked files), against `lab analyze report` on the same sets, seed and
// settings: one code path, the same numbers; progress by phase; cancel ends with CancelledError.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalEngine } from '../src/engine/engine.ts';
import { CancelledError, type AnalyzeProgress, type AnalyzeRequest } from '../src/engine/api.ts';
import { nodeGpu, releaseNodeGpu } from '../src/engine/gpu/node.ts';
import { serveEngine } from './serve.ts';
import { WorkerEngine } from './worker-engine.ts';
import type { Port } from './protocol.ts';
import { ROOT, runLab } from '../src/cli/lab-run.testlib.ts';
import { reportFromJson } from '../src/engine/analysis/report-data.ts';

const MICRO = join(ROOT, 'models/lab-micro');
const tmp = mkdtempSync(join(tmpdir(), 'lab-analyze-w-'));
const gpu = await nodeGpu();
const local = new LocalEngine(gpu);
const ch = new MessageChannel();
serveEngine(ch.port1 as unknown as Port, local);
const page = new WorkerEngine(ch.port2 as unknown as Port);
after(() => {
  local.dispose();
  ch.port1.close();
  ch.port2.close();
  releaseNodeGpu();
  rmSync(tmp, { recursive: true, force: true });
});

test('analyzeReport in the worker gives lab analyze report\'s numbers', async () => {
  const [fa, fb, out] = [join(tmp, 'a.jsonl'), join(tmp, 'b.jsonl'), join(tmp, 'rep')];
  assert.equal(runLab(['tasks', '--task', 'arithmetic', '--split', 'heldout', '--n', '4', '--items', '--out', fa]).code, 0);
  assert.equal(runLab(['tasks', '--task', 'conlang', '--split', 'heldout', '--n', '4', '--items', '--out', fb]).code, 0);
  const cli = runLab(['analyze', 'report', '--model', MICRO, '--task-a', fa, '--task-b', fb, '--label-a', 'arithmetic', '--label-b', 'Velmic', '--n', '3', '--seed', '2', '--boot', '80', '--perm', '80', '--out', out]);
  assert.equal(cli.code, 0, cli.stderr);
  const want = reportFromJson(readFileSync(join(out, 'report.json'), 'utf8'));

  const names = readdirSync(MICRO).filter((f) => /\.(json|safetensors)$/.test(f));
  await page.loadModel({ kind: 'files', files: names.map((f) => new Blob([readFileSync(join(MICRO, f))])), paths: names.map((f) => `lab-micro/${f}`), name: 'lab-micro' });
  const req: AnalyzeRequest = {
    a: { label: 'arithmetic', file: 'a.jsonl', text: readFileSync(fa, 'utf8'), provenance: JSON.parse(readFileSync(`${fa}.provenance.json`, 'utf8')) },
    b: { label: 'Velmic', file: 'b.jsonl', text: readFileSync(fb, 'utf8') },
    n: 3, seed: 2, queries: 'answer', ablation: 'zero', nBoot: 80, nPerm: 80,
  };
  const phases = new Set<string>();
  const got = await page.analyzeReport(req, (p: AnalyzeProgress) => phases.add(p.phase));
  assert.deepEqual([...phases].sort(), ['ablation sweep', 'head statistics', 'logit lens', 'selectivity']);
  assert.equal(got.tasks.a.sha256, want.tasks.a.sha256);
  assert.equal(got.tasks.b.provenance, null);
  const close = (x: number, y: number, what: string) => assert.ok(Math.abs(x - y) <= 1e-6 * Math.max(1, Math.abs(y)), `${what}: ${x} vs ${y}`);
  for (const stat of ['entropyNorm', 'mass:numbers', 'resid:entropy']) {
    (got.selectivity[stat] as { d: number; p: number }[]).forEach((r, i) => {
      close(r.d, want.selectivity[stat][i].d, `${stat} d ${i}`);
      close(r.p, want.selectivity[stat][i].p, `${stat} p ${i}`);
    });
  }
  got.lens.b.logprob.forEach((v, k) => close(v, want.lens.b.logprob[k], `lens ${k}`));
  got.ablation.a.forEach((e, i) => close(e.mean, want.ablation.a[i].mean, `ablation ${i}`));

  // cancel: the request ends with CancelledError and the engine answers the next one
  const stop = new AbortController();
  const running = page.analyzeReport({ ...req, nBoot: 50, nPerm: 50 }, (p) => p.phase === 'ablation sweep' && stop.abort(), stop.signal);
  await assert.rejects(running, (e: Error) => e instanceof CancelledError || e.name === 'CancelledError');
  assert.ok(await page.modelInfo());
});
