// `lab analyze checkpoints --model <dir> --run <run dir> --task-a <file.jsonl> --task-b <file.jsonl>
//   [--steps 25,50,...] [--every k] [--top 10] [--n 100] [--seed s] [--queries ...] [--ablation zero|mean]
//   [--boot 2000] [--perm 5000] [--manifest <SOURCE_MANIFEST.yml>] --out <dir>`
// The report along a run (issue 12, item 5): `lab analyze report` for the base model (step 0) and for each
// checkpoint-<step> of a run folder (`lab sft`, `lab grpo` or `lab dpo` --out; a LoRA checkpoint is used as
// an adapter, a full fine-tune's as the model), each into <out>/step-<step>/, then the series across them
// (src/engine/analysis/trajectory.ts): <out>/trajectory.json and trajectory.txt, with <out>/governance.json
// when the sets or the run's data have terms (the strictest of them: report-terms.ts). A point whose report.json
// is already there (made with the same settings) is not made again, so an interrupted loop picks up where
// it stopped.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { nodeGpu } from '../engine/gpu/node.ts';
import { withCliKernels } from './kernels.ts';
import { Runtime } from '../engine/gpu/runtime.ts';
import { reportFromJson, type ReportData } from '../engine/analysis/report-data.ts';
import { buildTrajectory, checkpointSteps, formatTrajectory, trajectoryToJson, type TrajectoryPoint } from '../engine/analysis/trajectory.ts';
import { makeReport, reportArgs, writeReport, type ReportArgs } from './analyze-report.ts';
import { adapterTermsOf, reportTerms } from '../engine/analysis/report-terms.ts';
import { parseArgs, required, num, UsageError } from './args.ts';

interface Point {
  step: number;
  /** the checkpoint folder (null: the base model) */
  dir: string | null;
  /** a full fine-tune's checkpoint: a model folder, not an adapter */
  full: boolean;
}

/** The run folder's checkpoints, ascending; each an adapter (adapter_model.safetensors) or a model (config.json + model*.safetensors). */
export function runCheckpoints(run: string): Point[] {
  if (!existsSync(run) || !statSync(run).isDirectory()) throw new UsageError(`run folder ${run} does not exist (give the --out folder of lab sft, lab grpo or lab dpo)`);
  const out: Point[] = [];
  for (const name of readdirSync(run)) {
    const m = /^checkpoint-(\d+)$/.exec(name);
    if (!m) continue;
    const dir = join(run, name);
    const files = readdirSync(dir);
    if (files.includes('adapter_model.safetensors')) out.push({ step: Number(m[1]), dir, full: false });
    else if (files.includes('config.json') && files.some((f) => /^model.*\.safetensors$/.test(f))) out.push({ step: Number(m[1]), dir, full: true });
    else throw new UsageError(`${dir} holds neither an adapter (adapter_model.safetensors) nor a model (config.json, model.safetensors)`);
  }
  if (!out.length) throw new UsageError(`${run} has no checkpoint-<step> folders (train with --checkpoint-every)`);
  return out.sort((a, b) => a.step - b.step);
}

/** A kept report that can stand for this point (same settings, same model, same adapter), or null. */
function kept(file: string, a: ReportArgs, adapterName: string | null): ReportData | null {
  if (!existsSync(file)) return null;
  try {
    const d = reportFromJson(readFileSync(file, 'utf8'));
    const r = d.reproduce;
    const same = d.schema === 'lab-analysis-report-v1' && r.seed === a.seed && r.nBoot === a.nBoot && r.nPerm === a.nPerm && r.queries === a.queries && r.ablation === a.ablation &&
      d.tasks.a.n === Math.min(a.n, d.tasks.a.rows) && (d.adapter?.name ?? null) === adapterName;
    return same ? d : null;
  } catch {
    return null;
  }
}

export async function checkpointsCommand(argv: string[]): Promise<void> {
  const p = parseArgs(argv, { values: ['model', 'run', 'task-a', 'task-b', 'label-a', 'label-b', 'n', 'seed', 'queries', 'ablation', 'boot', 'perm', 'steps', 'every', 'top', 'manifest', 'out'] });
  const run = required(p, 'run'), out = required(p, 'out');
  const base = reportArgs(p, `npm run lab -- analyze checkpoints ${argv.join(' ')}`, { needAdapter: false });
  const top = num(p, 'top', 10), every = num(p, 'every', 1);
  if (!Number.isInteger(top) || top < 1) throw new UsageError(`--top must be a whole number ≥ 1, got ${p.values.get('top')}`);
  if (!Number.isInteger(every) || every < 1) throw new UsageError(`--every must be a whole number ≥ 1, got ${p.values.get('every')}`);
  let points = runCheckpoints(run);
  const stepsArg = p.values.get('steps');
  if (stepsArg !== undefined) {
    const want = stepsArg.split(',').map((s) => Number(s.trim()));
    if (want.some((s) => !Number.isInteger(s) || s < 1)) throw new UsageError(`--steps must be checkpoint steps (whole numbers ≥ 1, comma-separated), got ${stepsArg}`);
    const missing = want.filter((s) => !points.some((q) => q.step === s));
    if (missing.length) throw new UsageError(`${run} has no checkpoint of step ${missing.join(', ')} (it has ${points.map((q) => q.step).join(', ')})`);
    points = points.filter((q) => want.includes(q.step));
  } else {
    const keep = checkpointSteps(points.map((q) => q.step), every);
    points = points.filter((q) => keep.includes(q.step));
  }
  const all: Point[] = [{ step: 0, dir: null, full: false }, ...points];
  mkdirSync(out, { recursive: true });

  const rt = withCliKernels(await Runtime.create(await nodeGpu()));
  const made: TrajectoryPoint[] = [];
  const t0 = performance.now();
  let fresh = 0;
  try {
    for (const [i, pt] of all.entries()) {
      const dir = join(out, `step-${pt.step}`);
      const args: ReportArgs = pt.full ? { ...base, dir: pt.dir!, adapter: undefined } : { ...base, adapter: pt.dir ?? undefined };
      const adapterName = pt.full || !pt.dir ? null : basename(pt.dir.replace(/\/+$/, '')); // as makeReport names it
      const elapsed = (performance.now() - t0) / 1000;
      const eta = fresh ? ` · ETA ${Math.round((elapsed / fresh) * (all.length - i))} s` : '';
      process.stderr.write(`analyze checkpoints: point ${i + 1}/${all.length} (step ${pt.step}${pt.dir ? `, ${pt.dir}` : ', the base model'})${eta}\n`);
      let data = kept(join(dir, 'report.json'), args, adapterName);
      if (data) process.stderr.write(`analyze checkpoints: ${dir}/report.json is already there: kept\n`);
      else {
        data = await makeReport(rt, args);
        writeReport(dir, data);
        fresh++;
      }
      made.push({ step: pt.step, report: data });
    }
  } finally {
    rt.destroy();
  }
  let traj;
  try {
    traj = buildTrajectory(made, { top, allowDifferentModel: all.some((q) => q.full) });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const text = formatTrajectory(traj, top);
  writeFileSync(join(out, 'trajectory.json'), trajectoryToJson(traj));
  writeFileSync(join(out, 'trajectory.txt'), text + '\n');
  const runTerms = existsSync(join(run, 'governance.json')) ? adapterTermsOf(readFileSync(join(run, 'governance.json'), 'utf8'), run) : undefined;
  const terms = reportTerms(made.map((m) => m.report), runTerms ? [{ name: `run ${basename(run)}`, terms: runTerms }] : []);
  if (terms) writeFileSync(join(out, 'governance.json'), JSON.stringify(terms, null, 1) + '\n');
  process.stdout.write(text + '\n');
  process.stderr.write(`analyze checkpoints: ${all.length} points → ${out}/trajectory.json, trajectory.txt and step-*/report.html\n`);
}
