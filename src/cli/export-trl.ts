// `lab export-trl --run <dir> --out <dir>`: a run folder of `lab sft`, `lab grpo` or `lab dpo` as a ready
// TRL + PEFT + accelerate project for the same recipe (issue 13, item 6), for users who outgrow one machine.
// A thin shell around src/engine/export/trl/project.ts (pure): this file reads run.json and
// governance.json, finds the base model and the data file on disk (the data is checked against the
// sha256 the run trained on, never copied), and writes the files into --out, which must be new or empty.
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { ExportError, dataPathOf, exportTrlProject, parseRunRecord } from '../engine/export/trl/project.ts';
import { parseArgs, required, UsageError } from './args.ts';
import { refuseRevoked } from './governance-fs.ts';

function readJson(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ExportError(`${file}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): ${what}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ExportError(`${file}: not valid JSON (${(e as Error).message.split('\n')[0]}): ${what}`);
  }
}

const isModelDir = (p: string) => existsSync(join(p, 'config.json'));

/**
 * The base model of a run: run.json's "model" is the --model folder as given (relative to where `lab` ran) or,
 * for a run of the page, "<repo>@<revision>" on the Hub. A folder found from here or from the run's parent is
 * written as an absolute path.
 */
export function locateModel(model: string, runDir: string): { id: string; revision: string | null; note: string } {
  for (const base of [process.cwd(), dirname(runDir)]) {
    const p = isAbsolute(model) ? model : resolve(base, model);
    if (isModelDir(p)) return { id: p, revision: null, note: `the lab run's --model ${model}, a local folder transformers loads as an HF checkpoint` };
  }
  const hub = /^([\w.-]+\/[\w.-]+)@([^\s@]+)$/.exec(model);
  if (hub) return { id: hub[1], revision: hub[2], note: `the Hub model the lab run loaded (${model})` };
  return { id: model, revision: null, note: `the lab run's model "${model}", not found from here: set MODEL to its folder or Hub id` };
}

export async function exportTrlCommand(argv: string[]): Promise<void> {
  const p = parseArgs(argv, { values: ['run', 'out'] });
  const runDir = resolve(required(p, 'run'));
  const out = resolve(required(p, 'out'));
  if (p.positional.length) throw new UsageError(`unexpected argument "${p.positional[0]}"`);
  if (!existsSync(runDir) || !statSync(runDir).isDirectory()) throw new UsageError(`--run ${runDir}: no such folder`);
  refuseRevoked(runDir, '--run');
  const runFile = join(runDir, 'run.json');
  if (!existsSync(runFile)) throw new ExportError(`${runFile}: missing: ${runDir} is not a run folder (lab sft, grpo and dpo write run.json into their --out)`);
  const run = parseRunRecord(readJson(runFile, 'the run record'), runFile);
  // governance.json holds the terms the result inherits; the run record carries the same decision
  const govFile = join(runDir, 'governance.json');
  const governance = existsSync(govFile) ? readJson(govFile, 'the data\'s terms') : run.governance;
  if (typeof governance !== 'object' || governance === null || Array.isArray(governance)) throw new ExportError(`${govFile}: not a governance record (a JSON object)`);
  const gov = governance as Record<string, unknown>;
  if (gov.allowed !== true) throw new ExportError(`${existsSync(govFile) ? govFile : runFile}: the data was never approved for training (governance "allowed" is not true): nothing to export`);
  if (existsSync(out) && (!statSync(out).isDirectory() || readdirSync(out).length > 0)) throw new UsageError(`--out ${out} exists and is not empty: choose a new folder`);

  // ---- where the lab run read its data, and whether it is still those bytes ----
  const warnings: string[] = [];
  const dataFile = dataPathOf(gov, isAbsolute, join, dirname);
  if (dataFile === null) warnings.push(`${govFile}: the data's path is not recorded as a file (${String(gov.path)})`);
  else if (!existsSync(dataFile)) warnings.push(`the run's data ${dataFile} is not there any more: train.py will refuse to start until DATA_FILE names it`);
  else {
    const sha = createHash('sha256').update(readFileSync(dataFile)).digest('hex');
    if (sha !== run.data.sha256) warnings.push(`${dataFile} changed since the run (sha256 ${sha.slice(0, 12)}…, the run trained on ${run.data.sha256.slice(0, 12)}…): train.py refuses it unless DATA_SHA256 is set to None`);
  }
  const model = locateModel(run.model, runDir);
  if (model.note.includes('not found')) warnings.push(`the base model ${run.model} was not found from here or from ${dirname(runDir)}: set MODEL in train.py and evaluate.py`);

  const project = exportTrlProject({ run, governance: gov, runDir, dataFile, model, date: new Date().toISOString().slice(0, 10) });
  mkdirSync(out, { recursive: true });
  for (const f of project.files) {
    mkdirSync(dirname(join(out, f.path)), { recursive: true });
    writeFileSync(join(out, f.path), f.text);
  }
  for (const w of [...warnings, ...project.warnings]) process.stderr.write(`lab: warning: ${w}\n`);
  const r = project.recipe;
  process.stderr.write(`lab export-trl: the ${run.kind} run ${runDir} as TRL ${r.trainer}${r.lora ? ' + PEFT LoRA' : ' (full fine-tuning)'} in ${out}: ${project.files.map((f) => f.path).join(', ')}\n`);
  process.stderr.write(`lab export-trl: python train.py (one GPU) or accelerate launch --config_file accelerate_config.yaml --num_processes N train.py; README.md says how the adapter comes back\n`);
}
