// `lab analyze report --model <dir> [--adapter <dir>] --task-a <file.jsonl> --task-b <file.jsonl> [--label-a name]
//   [--label-b name] [--n 100] [--seed s] [--queries answer|prompt|all] [--ablation zero|mean] [--boot 2000]
//   [--perm 5000] [--manifest <SOURCE_MANIFEST.yml>] --out <dir>`
// The interpretability report of two prompt sets (issue 12, item 6): head statistics with each head's
// task selectivity (raw and position-controlled), the logit lens at the final answer's tokens, and the
// all-heads ablation sweep — written as <out>/report.json (every number with what reproduces it),
// <out>/report.html (self-contained, offline) and <out>/figures/*.svg. Rows are the lab's task items
// (`lab tasks --items`) or {question, answer} rows; each set's provenance record is carried into the report:
// `lab tasks`' record (<file>.provenance.json), or else what the source manifest governing the file (the
// nearest SOURCE_MANIFEST.yml at or above it, or --manifest) says of it, or none (undeclared). The terms the
// report inherits from its sets and its adapter's data (report-terms.ts) go to <out>/governance.json.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { nodeGpu } from '../engine/gpu/node.ts';
import { withCliKernels } from './kernels.ts';
import { Runtime } from '../engine/gpu/runtime.ts';
import { dirSource } from '../engine/model/checkpoint.ts';
import { loadModel } from '../engine/model/load.ts';
import { disposeWeights } from '../engine/model/weights.ts';
import type { QuerySet, TaskRow } from '../engine/analysis/heads.ts';
import { buildReport, type ReportSetInput } from '../engine/analysis/build-report.ts';
import { renderReport } from '../engine/analysis/report.ts';
import { reportToJson, type ReportData } from '../engine/analysis/report-data.ts';
import { findManifest, governDataFile, provenancePath, refuseRevoked } from './governance-fs.ts';
import { adapterTermsOf, reportTerms } from '../engine/analysis/report-terms.ts';
import { parseArgs, required, num, UsageError } from './args.ts';
import { taskRows } from './task-files.ts';
import { sampleRows } from '../engine/analysis/task-rows.ts';

function labCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null;
  } catch {
    return null;
  }
}

/** What a report is made of, as the CLI takes it (the flags of `lab analyze report`). */
export interface ReportArgs {
  dir: string;
  adapter?: string;
  fa: string;
  fb: string;
  labelA?: string;
  labelB?: string;
  n: number;
  seed: number;
  nBoot: number;
  nPerm: number;
  queries: QuerySet;
  ablation: 'zero' | 'mean';
  command: string;
  /** the source manifest for sets with no `lab tasks` record (else the nearest one at or above each file) */
  manifest?: string;
}

/** Parses and checks `lab analyze report`'s flags (also `lab analyze checkpoints`', which adds its own). */
export function reportArgs(p: ReturnType<typeof parseArgs>, command: string, opts: { needAdapter?: boolean } = {}): ReportArgs {
  const need = (k: string) => required(p, k);
  const dir = need('model'), fa = need('task-a'), fb = need('task-b');
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`model folder ${dir} does not exist`);
  const adapter = opts.needAdapter === false ? undefined : p.values.get('adapter');
  if (adapter !== undefined && !existsSync(adapter)) throw new UsageError(`adapter folder ${adapter} does not exist`);
  if (adapter !== undefined) refuseRevoked(adapter, '--adapter');
  const queries = (p.values.get('queries') ?? 'answer') as QuerySet;
  if (!['answer', 'prompt', 'all'].includes(queries)) throw new UsageError(`--queries must be answer, prompt or all, got ${queries}`);
  const ablation = (p.values.get('ablation') ?? 'zero') as 'zero' | 'mean';
  if (ablation !== 'zero' && ablation !== 'mean') throw new UsageError(`--ablation must be zero or mean, got ${ablation}`);
  const manifest = p.values.get('manifest');
  if (manifest !== undefined && !existsSync(manifest)) throw new UsageError(`--manifest ${manifest} does not exist`);
  return {
    manifest,
    dir, adapter, fa, fb, labelA: p.values.get('label-a'), labelB: p.values.get('label-b'),
    n: num(p, 'n', 100), seed: num(p, 'seed', 0), nBoot: num(p, 'boot', 2000), nPerm: num(p, 'perm', 5000), queries, ablation, command,
  };
}

/**
 * A set's provenance record: `lab tasks`' own (<file>.provenance.json), else what the governing manifest
 * says of the file (the page's 'lab-source-terms-v1' record), else null: its terms were never declared.
 */
export function setProvenance(file: string, manifest?: string): Record<string, unknown> | null {
  if (existsSync(provenancePath(file))) return JSON.parse(readFileSync(provenancePath(file), 'utf8')) as Record<string, unknown>;
  if (manifest === undefined && findManifest(file) === null) return null;
  const decision = governDataFile(file, manifest);
  return { schema: 'lab-source-terms-v1', file: basename(file), manifest: decision.manifest, path: decision.path, decision };
}

/** The report of the model in `a.dir` (with `a.adapter`, when given) on the two prompt sets; progress on stderr. */
export async function makeReport(rt: Runtime, a: ReportArgs): Promise<ReportData> {
  const all = [taskRows(a.fa), taskRows(a.fb)];
  const sets = [sampleRows(all[0], a.n, a.seed), sampleRows(all[1], a.n, a.seed + 1)];
  if (sets.some((s) => s.length < 2)) throw new UsageError('each task needs at least 2 prompts');
  const { model, tokenizer, warnings } = await loadModel(rt, dirSource(a.dir), { adapter: a.adapter !== undefined ? dirSource(a.adapter) : undefined });
  try {
    for (const w of warnings) process.stderr.write(`lab: warning: ${w}\n`);
    const input = (file: string, label: string, rows: TaskRow[], total: number): ReportSetInput => ({
      label, file: basename(file), text: readFileSync(file, 'utf8'), rows, total, provenance: setProvenance(file, a.manifest),
    });
    const terms = a.adapter !== undefined && existsSync(join(a.adapter, 'governance.json')) ? readFileSync(join(a.adapter, 'governance.json'), 'utf8') : undefined;
    let phase = '';
    const data = await buildReport({
      model, tokenizer: tokenizer!, modelName: basename(a.dir.replace(/\/+$/, '')), adapterName: a.adapter !== undefined ? basename(a.adapter.replace(/\/+$/, '')) : null,
      adapterTerms: adapterTermsOf(terms, a.adapter ?? ''),
      a: input(a.fa, a.labelA ?? sets[0][0].task ?? 'task A', sets[0], all[0].length),
      b: input(a.fb, a.labelB ?? sets[1][0].task ?? 'task B', sets[1], all[1].length),
      seed: a.seed, nBoot: a.nBoot, nPerm: a.nPerm, queries: a.queries, ablation: a.ablation, command: a.command, labCommit: labCommit(),
    }, {
      onProgress: (ph, done, total) => {
        if (ph !== phase && phase) process.stderr.write('\n');
        phase = ph;
        process.stderr.write(`\ranalyze report: ${ph} ${done}/${total}`);
      },
    });
    process.stderr.write(`\nanalyze report: ${Object.entries(data.seconds).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ')}\n`);
    return data;
  } finally {
    disposeWeights(model.w);
  }
}

/** report.json, report.html and figures/*.svg of `data` in `out`. */
export function writeReport(out: string, data: ReportData): void {
  const { html, figures } = renderReport(data);
  mkdirSync(join(out, 'figures'), { recursive: true });
  writeFileSync(join(out, 'report.json'), reportToJson(data));
  writeFileSync(join(out, 'report.html'), html);
  for (const [name, svg] of Object.entries(figures)) writeFileSync(join(out, 'figures', name), svg);
  const terms = reportTerms([data]);
  if (terms) writeFileSync(join(out, 'governance.json'), JSON.stringify(terms, null, 1) + '\n');
  process.stderr.write(`analyze report: ${out}/report.html, report.json and ${Object.keys(figures).length} figures${terms ? ' (governance.json: the terms it inherits)' : ''}\n`);
}

export async function reportCommand(argv: string[]): Promise<void> {
  const p = parseArgs(argv, { values: ['model', 'adapter', 'task-a', 'task-b', 'label-a', 'label-b', 'n', 'seed', 'queries', 'ablation', 'boot', 'perm', 'manifest', 'out'] });
  const out = required(p, 'out');
  const a = reportArgs(p, `npm run lab -- analyze report ${argv.join(' ')}`);
  const rt = withCliKernels(await Runtime.create(await nodeGpu()));
  try {
    writeReport(out, await makeReport(rt, a));
  } finally {
    rt.destroy();
  }
}
