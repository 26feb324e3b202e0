// A lab run as a TRL + PEFT + accelerate project (issue 13, item 6): the run record and its governance
// record in, the project's files out as {path, text}. Pure — no file system, no engine — so the CLI
// (`lab export-trl`, src/cli/export-trl.ts) and the page can both call it; the caller resolves where the
// model and the data are. The data itself is never copied: the project names the file where the lab
// run read it, and its terms (provenance.json, and governance.json beside the trained adapter) go with
// the result. What the project cannot do as the lab run did comes back as warnings and is written in
// train.py and README.md.
import type { RunRecord } from '../../api.ts';
import { trlRecipe, type ExportKind, type TrlRecipe } from './recipe.ts';
import { trainPy } from './train-py.ts';
import { evaluatePy } from './evaluate-py.ts';
import { readmeMd } from './readme.ts';
import { REWARDS_PY } from './rewards-py.ts';
import { LAB_DATA_PY } from './lab-data-py.ts';

export { ExportError, parseRunRecord, trlRecipe, PY_REWARDS, type TrlRecipe, type ExportKind } from './recipe.ts';

export interface ExportFile {
  /** relative to the project folder */
  path: string;
  text: string;
}

export interface TrlExportInput {
  run: RunRecord & { kind: ExportKind };
  /** governance.json of the run (the decision and the terms its result inherits); the run record's own when absent */
  governance: Record<string, unknown>;
  /** where the run is (for messages and the README) */
  runDir: string;
  /** the data file where the lab run read it (absolute), or null when it cannot be known */
  dataFile: string | null;
  /** the base model: a Hub repo id or a local folder, its revision (Hub) and where that came from */
  model: { id: string; revision: string | null; note: string };
  /** the export's date (YYYY-MM-DD) */
  date: string;
}

/** Versions the recipe was checked against: TRL 1.13's config names; PEFT whose adapter_config.json the lab reads. */
export const REQUIREMENTS = `# Stoney-RL Lab export: train.py uses TRL 1.13's config names; the lab reads PEFT <= 0.21's adapter files.
trl==1.13.0
peft>=0.16,<0.22
transformers>=4.56.2,<6
accelerate>=1.4
datasets>=4.7
torch>=2.4
sacrebleu>=2.4,<3
wandb>=0.19
# evaluate.py
unbabel-comet>=2.2
mauve-text>=0.4
`;

/** accelerate on one machine with N GPUs (DDP); `--num_processes N` on the command line sets N. */
export const ACCELERATE_CONFIG = `# accelerate launch --config_file accelerate_config.yaml --num_processes N train.py
compute_environment: LOCAL_MACHINE
debug: false
distributed_type: MULTI_GPU
downcast_bf16: 'no'
gpu_ids: all
machine_rank: 0
main_training_function: main
mixed_precision: bf16  # 'no' on GPUs without bf16 (train.py then trains in f32)
num_machines: 1
num_processes: 2
rdzv_backend: static
same_network: true
tpu_env: []
tpu_use_cluster: false
tpu_use_sudo: false
use_cpu: false
`;

const USES_THAT_FORBID_COPIES = ['redistribution', 'public_release', 'upload'];

type Inherited = { prohibited_uses: string[]; contains_sensitive_content: boolean; sources: string[] };

function inheritedOf(g: Record<string, unknown>): Inherited {
  const i = (g.inherited ?? {}) as Partial<Inherited>;
  return {
    prohibited_uses: Array.isArray(i.prohibited_uses) ? i.prohibited_uses.map(String) : [],
    contains_sensitive_content: i.contains_sensitive_content === true,
    sources: Array.isArray(i.sources) ? i.sources.map(String) : [],
  };
}

/** The project's files, the recipe, and what the user must hear (each a line). */
export function exportTrlProject(x: TrlExportInput): { files: ExportFile[]; recipe: TrlRecipe; warnings: string[] } {
  const recipe = trlRecipe(x.run);
  const inherited = inheritedOf(x.governance);
  const warnings = recipe.notExported.map((n) => `not as in the lab run: ${n.what}: ${n.why}`);
  const forbidden = inherited.prohibited_uses.filter((u) => USES_THAT_FORBID_COPIES.includes(u));
  if (forbidden.length) warnings.push(`the data's terms prohibit ${forbidden.join(', ')}: the project references the data and never copies it; train only on machines those terms allow, and do not push the result to a hub`);
  if (inherited.contains_sensitive_content) warnings.push('the data is marked as containing sensitive content: its terms go with the result (provenance.json, output/governance.json)');
  if (x.dataFile === null) warnings.push('the run\'s data file could not be located from its governance record: set DATA_FILE in train.py and evaluate.py');

  const provenance = {
    schema: 'lab-trl-export-v1',
    exported_by: 'lab export-trl (Stoney-RL Lab)',
    date: x.date,
    run: { dir: x.runDir, id: x.run.id, kind: x.run.kind, status: x.run.status, step: x.run.step, model: x.run.model },
    data: {
      file: x.dataFile,
      name: x.run.data.name,
      sha256: x.run.data.sha256,
      rows: x.run.data.rows,
      copied: false,
      why_not_copied: `lab export-trl never copies data: the project reads it where the lab run read it, so its source manifest (and a removal) keeps governing it${forbidden.length ? `; its inherited terms also prohibit ${forbidden.join(', ')}` : ''}`,
    },
    governance: x.governance,
    inherited,
    note: 'What this project trains from the data inherits these terms; train.py writes them as output/governance.json beside the result.',
  };
  const model = x.model;
  const files: ExportFile[] = [
    { path: 'train.py', text: trainPy({ recipe, runId: x.run.id, runDir: x.runDir, model, dataFile: x.dataFile, dataSha256: x.run.data.sha256, date: x.date }) },
    { path: 'lab_data.py', text: LAB_DATA_PY },
    { path: 'rewards.py', text: REWARDS_PY },
    { path: 'evaluate.py', text: evaluatePy({ model, dataFile: x.dataFile, maxNewTokens: recipe.maxNewTokens, full: recipe.lora === null }) },
    { path: 'accelerate_config.yaml', text: ACCELERATE_CONFIG },
    { path: 'requirements.txt', text: REQUIREMENTS },
    { path: 'provenance.json', text: `${JSON.stringify(provenance, null, 1)}\n` },
    { path: 'lab_run.json', text: `${JSON.stringify(x.run, null, 1)}\n` },
    {
      path: 'README.md',
      text: readmeMd({ recipe, runId: x.run.id, runDir: x.runDir, runStatus: x.run.status, runStep: x.run.step, model, dataFile: x.dataFile, dataSha256: x.run.data.sha256, inherited, date: x.date }),
    },
  ];
  return { files, recipe, warnings };
}

/** Where the run read its data, from its governance record: the manifest's folder + the path, or the path itself when absolute. */
export function dataPathOf(governance: Record<string, unknown>, isAbsolute: (p: string) => boolean, join: (a: string, b: string) => string, dirname: (p: string) => string): string | null {
  const path = typeof governance.path === 'string' ? governance.path : null;
  const manifest = typeof governance.manifest === 'string' ? governance.manifest : null;
  if (path === null || path.startsWith('embedded:')) return null;
  if (manifest !== null && isAbsolute(manifest)) return join(dirname(manifest), path);
  return isAbsolute(path) ? path : null;
}
