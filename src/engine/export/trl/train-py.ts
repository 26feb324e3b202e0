// train.py of an exported TRL project: the lab run's recipe (./recipe.ts) written as a TRL trainer with
// PEFT's LoraConfig, every keyword on its own line with the lab flag it comes from. It runs alone
// (`python train.py`) or under `accelerate launch --num_processes N`: the lab's rows per optimizer step
// are split over the processes (lab_data.split_batch), so N GPUs train the same recipe.
import { py, type TrlArg, type TrlRecipe } from './recipe.ts';

export interface TrainPyInput {
  recipe: TrlRecipe;
  runId: string;
  runDir: string;
  /** the base model: a Hub repo id or a local folder, its revision (Hub only) and a note on where it came from */
  model: { id: string; revision: string | null; note: string };
  dataFile: string | null;
  dataSha256: string;
  date: string;
}

const WHAT = { sft: 'Supervised fine-tuning', grpo: 'GRPO', dpo: 'DPO' } as const;

/** Keyword lines `name=value,  # lab` at an indent. */
const kwLines = (args: TrlArg[], indent: string): string => args.map((a) => `${indent}${a.name}=${a.value},  # lab: ${a.lab}`).join('\n');

export function trainPy(x: TrainPyInput): string {
  const r = x.recipe;
  const grpo = r.kind === 'grpo';
  const dataCall = {
    sft: 'lab_data.sft_rows(DATA_FILE, tok, n_ctx)',
    grpo: `lab_data.grpo_rows(DATA_FILE, tok, n_ctx, max_new_tokens=${r.maxNewTokens})`,
    dpo: 'lab_data.dpo_rows(DATA_FILE, tok, n_ctx)',
  }[r.kind];
  const groupRewards = r.rewards.filter((w) => w.group).map((w) => w.name);
  const labelSmoothing = r.notExported.find((n) => n.what.startsWith('label smoothing'));
  const lines: string[] = [];
  const add = (...ls: string[]) => lines.push(...ls);
  add(
    '#!/usr/bin/env python3',
    `"""${WHAT[r.kind]} of the Stoney-RL Lab run ${JSON.stringify(x.runId).slice(1, -1)}, as TRL ${r.trainer} + PEFT + accelerate.`,
    '',
    `Written by lab export-trl from ${JSON.stringify(x.runDir).slice(1, -1)}/run.json on ${x.date}. Every setting below is the`,
    'lab run\'s, under its TRL 1.13 / transformers name, with the lab flag it comes from beside it.',
    '',
    '    python train.py                                                                   # one GPU',
    '    accelerate launch --config_file accelerate_config.yaml --num_processes N train.py  # N GPUs',
    '',
    `The ${r.lora ? 'adapter' : 'model'} goes to output/ with governance.json (the data's terms); README.md says how the lab reads it back.`,
    '"""',
    'import os',
    'import sys',
    'from pathlib import Path',
    '',
    'import torch',
    'from datasets import Dataset',
    'from peft import LoraConfig, PeftModel',
    'from transformers import AutoConfig, AutoModelForCausalLM',
    `from trl import ${r.config}, ${r.trainer}`,
    '',
    'import lab_data',
    ...(grpo ? ['import rewards'] : []),
    '',
    'HERE = Path(__file__).resolve().parent',
    `MODEL = ${py(x.model.id)}  # ${x.model.note}`,
    `REVISION = ${py(x.model.revision)}`,
    `DATA_FILE = ${py(x.dataFile)}  # read where it is, never copied into this project (provenance.json says why)`,
    `DATA_SHA256 = ${py(x.dataSha256)}  # the bytes the lab run trained on: other bytes are refused (None trains on them on purpose)`,
    'ADAPTER_INIT = None  # run.json does not record lab --adapter-init: if the run started from an adapter, name its folder here',
    'OUTPUT_DIR = str(HERE / "output")',
    `RUN_NAME = ${py(x.runId)}`,
  );
  if (grpo) {
    add(`REWARDS = ${py(r.rewards.map((w) => [w.name, w.weight]))}  # lab --reward name:weight (rewards.py); weights go to reward_weights`);
    add(`GROUP_SIZE = ${r.groupSize}  # lab --group-size`);
  }
  add(`NOT_AS_IN_THE_LAB = ${py(r.notExported.map((n) => [n.what, n.why]))}  # what this project cannot do as the lab run did (README.md)`);
  if (labelSmoothing) add('LABEL_SMOOTHING_ACCEPTED = False  # True: train with TRL\'s sigmoid loss, which has no label smoothing');
  add('', '');
  if (r.lora) {
    add('def lora_config():', '    """The lab run\'s LoRA (the lab reads back only plain LoRA: no rslora, DoRA or per-module ranks)."""', '    return LoraConfig(', kwLines(r.lora, '        '), '    )', '', '');
  }
  add(
    'def main():',
    '    world = int(os.environ.get("WORLD_SIZE", "1"))  # accelerate launch sets it',
    '    for what, why in NOT_AS_IN_THE_LAB:',
    '        print(f"train.py: not as in the lab run: {what}: {why}", file=sys.stderr)',
  );
  if (labelSmoothing) add('    if not LABEL_SMOOTHING_ACCEPTED:', '        sys.exit("train.py: the lab run used DPO label smoothing, which TRL 1.13\'s sigmoid loss ignores; set LABEL_SMOOTHING_ACCEPTED = True to train without it")');
  if (grpo) {
    add(
      '    if not REWARDS:',
      '        sys.exit("train.py: none of the lab run\'s rewards is exported (see NOT_AS_IN_THE_LAB): add a reward function to rewards.py and REWARDS")',
    );
  }
  add(
    '    lab_data.check_data(DATA_FILE, DATA_SHA256)',
    '    lab_data.show_terms(HERE / "provenance.json")',
    '    tok = lab_data.load_tokenizer(MODEL, REVISION)',
    '    n_ctx = AutoConfig.from_pretrained(MODEL, revision=REVISION).max_position_embeddings',
    `    rows = ${dataCall}`,
    '    if not rows:',
    '        sys.exit(f"train.py: no usable row in {DATA_FILE} (each skipped row is named above)")',
    `    # [rows per optimizer step] = per-device batch x processes x accumulation: the lab's ${r.batch.rows} x ${r.batch.accum}`,
    `    per_device, accum = lab_data.split_batch(${r.batch.rows}, ${r.batch.accum}, world, ${py(r.batch.what)})`,
  );
  if (groupRewards.length) {
    add(
      `    # ${groupRewards.join(', ')} scores each completion against its group: each process must hold whole groups`,
      '    if per_device % GROUP_SIZE:',
      '        sys.exit(f"train.py: {per_device} completions per process do not hold whole groups of {GROUP_SIZE}; use a number of processes that divides the lab\'s prompts per step")',
    );
  }
  add(
    '    bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()',
    '    model = AutoModelForCausalLM.from_pretrained(MODEL, revision=REVISION, dtype=torch.bfloat16 if bf16 else torch.float32)',
  );
  if (r.lora) {
    add(
      '    peft_config = lora_config()',
      '    if ADAPTER_INIT:',
      '        model = PeftModel.from_pretrained(model, ADAPTER_INIT, is_trainable=True)  # its own r / alpha / targets',
      '        peft_config = None',
    );
  } else add('    peft_config = None  # full fine-tuning (lab --full): every weight trains');
  add(
    `    args = ${r.config}(`,
    '        output_dir=OUTPUT_DIR,',
    '        run_name=RUN_NAME,',
    `        per_device_train_batch_size=per_device,  # lab: ${r.batch.what}, split over the processes`,
    '        gradient_accumulation_steps=accum,',
    '        bf16=bf16,  # the lab keeps f32 master weights; bf16 autocast where the GPU has it',
    kwLines(r.args, '        '),
    '    )',
    `    trainer = ${r.trainer}(`,
    '        model=model,',
    ...(grpo ? ['        reward_funcs=[rewards.trl_reward(name, group_size=GROUP_SIZE) for name, _ in REWARDS],'] : []),
    '        args=args,',
    '        train_dataset=Dataset.from_list(rows),',
    '        processing_class=tok,',
    '        peft_config=peft_config,',
    '    )',
    '    trainer.train()',
    '    trainer.save_model(OUTPUT_DIR)',
    '    if trainer.accelerator.is_main_process:',
    '        lab_data.write_terms(OUTPUT_DIR, HERE / "provenance.json")',
    `        print(f"train.py: ${r.lora ? 'adapter' : 'model'} and governance.json in {OUTPUT_DIR}", file=sys.stderr)`,
    '',
    '',
    'if __name__ == "__main__":',
    '    main()',
    '',
  );
  return lines.join('\n');
}
