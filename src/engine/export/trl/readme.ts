// README.md of an exported TRL project: how to install, train on one or N GPUs, evaluate and bring the
// adapter back into the lab; the recipe as a table (lab flag → TRL name = value, from ./recipe.ts);
// what this project does differently from the lab run, and the data's terms.
import type { TrlRecipe } from './recipe.ts';

export interface ReadmeInput {
  recipe: TrlRecipe;
  runId: string;
  runDir: string;
  runStatus: string;
  runStep: number;
  model: { id: string; revision: string | null; note: string };
  dataFile: string | null;
  dataSha256: string;
  inherited: { prohibited_uses: string[]; contains_sensitive_content: boolean; sources: string[] };
  date: string;
}

const code = (s: string) => `\`${s.replace(/`/g, "'")}\``;
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** What TRL does differently from the lab whatever the run (the run's own items come from the recipe). */
function alwaysDifferent(r: TrlRecipe): string[] {
  const out = [
    'The data order: TRL\'s sampler shuffles with the same seed number, not in the lab\'s order, so the losses are not step-for-step the lab\'s.',
    'Precision: the lab trains in f32; train.py uses bf16 autocast where the GPU supports it (LoRA weights stay f32 under PEFT).',
  ];
  if (r.kind === 'sft') out.push('A conversation with several assistant turns becomes one prompt-completion row per turn (the lab trains all turns of a row at once): the same tokens are trained, in other batches.');
  if (r.kind === 'grpo') out.push('Rollouts: TRL samples with transformers\' generate (top-k / top-p as set, else plain sampling), the lab with its own sampler: the same distribution, other draws.');
  return out;
}

export function readmeMd(x: ReadmeInput): string {
  const r = x.recipe;
  const t = r.trainer;
  const prohibited = x.inherited.prohibited_uses;
  const rows = [
    ['run', `${code(x.runDir)} (${x.runStatus}, step ${x.runStep})`],
    ['model', `${code(x.model.id)}${x.model.revision ? ` at ${code(x.model.revision)}` : ''} (${x.model.note})`],
    ['data', x.dataFile ? `${code(x.dataFile)} (sha256 ${code(x.dataSha256.slice(0, 16))}…; read where it is, not copied)` : 'unknown: set DATA_FILE in train.py'],
    ['trainer', `TRL ${code(t)} with ${r.lora ? 'a PEFT LoRA adapter' : 'every weight trainable (full fine-tuning)'}`],
  ];
  const L: string[] = [];
  const add = (...ls: string[]) => L.push(...ls);
  add(
    `# ${r.kind.toUpperCase()} run ${code(x.runId)} of Stoney-RL Lab, as a TRL + PEFT + accelerate project`,
    '',
    `Written by ${code('lab export-trl')} on ${x.date}: the same recipe as the lab run, for more GPUs than one browser or`,
    'machine has. Every hyper-parameter is the lab run\'s, under TRL 1.13\'s name (train.py says which lab flag each comes from).',
    '',
    '| | |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${cell(v)} |`),
    '',
    '## Install', '',
    '    python3 -m venv .venv && . .venv/bin/activate',
    '    pip install -r requirements.txt',
    '    wandb login          # train.py reports to Weights & Biases (report_to="wandb"); or: export WANDB_MODE=offline',
    '',
    'If pip cannot resolve unbabel-comet beside the training packages, install the evaluation ones in a second environment.',
    '',
    '## Train', '',
    '    python train.py                                                                   # one GPU',
    '    accelerate launch --config_file accelerate_config.yaml --num_processes N train.py  # N GPUs on one machine',
    '',
    `The lab run's ${r.batch.what} — ${r.batch.rows} × ${r.batch.accum} accumulation — stay the same on N GPUs: train.py splits them over`,
    'the processes (the per-GPU batch or the accumulation shrinks), and refuses an N that does not divide them. To scale the',
    'batch itself, change it in train.py (the recipe is then no longer the lab run\'s). The result goes to `output/`.',
    '',
    '## The recipe', '',
    '| lab | TRL | value |', '|---|---|---|',
    `| ${cell(r.batch.what)} | per_device_train_batch_size × processes × gradient_accumulation_steps | ${r.batch.rows} × ${r.batch.accum} |`,
    ...r.args.map((a) => `| ${cell(a.lab)} | ${code(a.name)} | ${code(a.value)} |`),
    ...(r.lora ?? []).map((a) => `| ${cell(a.lab)} | ${code(`LoraConfig.${a.name}`)} | ${code(a.value)} |`),
    '',
  );
  if (r.kind === 'grpo') {
    add(
      '## Rewards', '',
      `rewards.py holds the lab's rewards (src/rewards/*.ts) in Python with TRL's signature ${code('reward(prompts, completions, **kwargs) -> list[float]')};`,
      'the lab\'s test suite runs both on the same cases (rewards-parity.test.ts). chrf and chrf++ call sacrebleu, which the lab\'s are proven equal to.',
      '',
      '| reward | weight | in rewards.py |', '|---|---|---|',
      ...r.rewards.map((w) => `| ${code(w.name)} | ${w.weight} | yes${w.group ? ' (a group reward: each process holds whole groups)' : ''} |`),
      ...r.notExported.filter((n) => n.what.startsWith('reward')).map((n) => `| ${cell(n.what)} | | **no**: ${cell(n.why)} |`),
      '',
    );
  }
  add('## Not as in the lab run', '');
  for (const n of r.notExported) add(`- **${n.what}**: ${n.why}.`);
  for (const d of alwaysDifferent(r)) add(`- ${d}`);
  add(
    '- If the lab run started from an adapter (lab --adapter-init), run.json does not say so: set ADAPTER_INIT in train.py.',
    '',
    '## The data and its terms', '',
    'The data is **not copied** into this project: train.py and evaluate.py read it where the lab run read it, and train.py',
    'refuses a file whose sha256 is not the one the lab run trained on. The terms of its source manifest travel with the',
    `result: ${code('provenance.json')} holds the run's governance record, and train.py writes it as ${code('output/governance.json')} beside`,
    'the adapter, as the lab does.',
    '',
    `- sources: ${x.inherited.sources.map(code).join(', ') || 'none recorded'}`,
    `- prohibited uses inherited by the result: ${prohibited.length ? prohibited.map(code).join(', ') : 'none'}`,
    `- sensitive content: ${x.inherited.contains_sensitive_content ? '**yes**' : 'no'}`,
    '',
  );
  if (prohibited.some((u) => ['upload', 'public_release', 'redistribution'].includes(u))) {
    add(`Its terms prohibit ${prohibited.filter((u) => ['upload', 'public_release', 'redistribution'].includes(u)).map(code).join(', ')}: do not push the adapter to the Hub, do not copy the data or the outputs elsewhere, and train only on machines those terms allow.`, '');
  }
  add(
    'Weights & Biases receives the metrics and the run\'s settings; completions stay off it (log_completions=False), since they',
    'carry the data\'s text.',
    '',
    '## Evaluate', '',
    '    python evaluate.py                 # the base model + output/, on the run\'s data',
    '    python evaluate.py --no-adapter    # the base model alone (the "before")',
    '    python evaluate.py --data held_out.jsonl --limit 500 --out eval.json',
    '',
    'chrF++ (sacrebleu, word order 2: the lab\'s chrf++), COMET-Kiwi (Unbabel/wmt22-cometkiwi-da, reference-free: accept the',
    'model\'s licence on the Hub and log in first) and MAUVE (mauve-text; a few hundred rows at least), on outputs generated',
    'greedily from prompts rendered as the lab renders them. The user\'s own evaluation script is not in the lab\'s repository;',
    'this one follows their instructions as the lab\'s issue states them (chrF++, COMET-Kiwi, MAUVE).',
    '',
    '## Back into the lab', '',
  );
  if (r.lora) {
    add(
      `${code('output/')} holds a PEFT LoRA adapter (adapter_config.json + adapter_model.safetensors) with governance.json. The lab reads`,
      'it as it reads any PEFT adapter (plain LoRA: train.py keeps rslora, DoRA and per-module ranks off, which the lab refuses):',
      '',
      `    npm run lab -- eval --model <base model folder> --data <file.jsonl> --adapters ${'<this project>'}/output --metric chrf++ --out eval.json`,
      '    npm run lab -- generate --model <base model folder> --adapter <this project>/output --text "…" --max-new-tokens 64 --greedy --out g.json',
      '    npm run lab -- grpo --model <base model folder> --adapter-init <this project>/output …   # go on training in the lab',
      '',
      'In the page: Runs → Import a PEFT adapter (pick adapter_config.json and adapter_model.safetensors), then use it on the',
      `Compare and Analyze pages. The lab's ${code('--model')} is a folder: a Hub model can be fetched with ${code('huggingface-cli download <repo> --local-dir <folder>')}.`,
      '',
    );
  } else {
    add(`${code('output/')} holds the whole trained model (config.json, model.safetensors, tokenizer files): the lab loads it as any model folder, ${code('npm run lab -- eval --model <this project>/output …')}.`, '');
  }
  add(
    '## Files', '',
    '| file | what |', '|---|---|',
    `| train.py | TRL ${code(t)}, the lab run's hyper-parameters |`,
    '| lab_data.py | the lab\'s row forms read as the lab reads them (NFC, skipped rows, prompts as the lab renders them) |',
    '| rewards.py | the lab\'s rewards in Python (TRL\'s reward signature) |',
    '| evaluate.py | chrF++, COMET-Kiwi, MAUVE of the base model with and without the adapter |',
    '| accelerate_config.yaml | one machine, N GPUs (DDP, bf16); --num_processes N on the command line |',
    '| requirements.txt | the packages, pinned where the recipe depends on them (TRL 1.13: the config names above) |',
    '| provenance.json | the run\'s governance record and the terms the result inherits |',
    '| lab_run.json | the lab\'s run record (run.json) this project was written from |',
    '',
  );
  return L.join('\n');
}
