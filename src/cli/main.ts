// The lab's command line, on the same engine as the browser: `npm run lab -- <command> [options]`.
// Errors go to stderr as one clear line, with a non-zero exit code.
import { writeFileSync } from 'node:fs';
import { nodeGpu } from '../engine/gpu/node.ts';
import { withCliKernels } from './kernels.ts';
import { Runtime } from '../engine/gpu/runtime.ts';
import { parseArgs, UsageError, Interrupted } from './args.ts';
import { forwardCommand, generateCommand } from './model-commands.ts';
import { sftCommand } from './sft.ts';
import { initCommand } from './init-model.ts';
import { evalCommand } from './eval.ts';
import { tasksCommand } from './tasks.ts';
import { convertCommand } from './convert.ts';
import { rlLossCommand } from './rl-loss.ts';
import { scoreCommand } from './score.ts';
import { grpoCommand } from './grpo.ts';
import { analyzeCommand } from './analyze.ts';
import { dpoCommand } from './dpo.ts';
import { rewardModelCommand } from './reward-model.ts';
import { exportTrlCommand } from './export-trl.ts';
import { dataCommand } from './data.ts';
import { manifestCommand } from './manifest.ts';

const USAGE = `usage: npm run lab -- <command> [options]
commands:
  info [--out <file.json>]     the WebGPU adapter: vendor, limits, features
  forward  --model <dir> (--text <string> | --ids <i,j,...>) [--attn] [--adapter <peft dir>] --out <file.json>
  generate --model <dir> (--text <string> | --ids <i,j,...>) --max-new-tokens N
           (--greedy | --temperature T [--top-p P] [--top-k K] [--seed S]) [--ignore-eos] [--adapter <peft dir>] --out <file.json>
  sft      --model <dir> --data <file.jsonl> [--adapter-init <peft dir>] [--rank r --alpha a --targets q_proj,v_proj,...]
           [--full] --steps N --lr x [--lr-schedule constant|linear|cosine] [--warmup-steps n] [--weight-decay w]
           [--betas b1,b2] [--eps e] [--max-grad-norm g] [--batch-size b] [--grad-accum k] [--seed s]
           [--checkpoint-every n] [--resume <dir>] [--lora-dropout p] [--recompute] --out <dir>
  grpo     --model <dir> [--adapter-init <dir>] --data <file.jsonl> --reward <name[:weight],...> --group-size G --steps N
           [--prompts-per-step P] [--beta b] [--epsilon e] [--loss grpo|dapo|dr_grpo] [--mu m] [--max-new-tokens n]
           [--temperature t] [--lr x] [--seed s] [--preset trl|user] [--checkpoint-every n] [--resume <dir>] [--arms regime-w|none] --out <dir>
           rewards: exact, steps, gsm8k, gsm8k-format, chrf, chrf++, stoney-rubric, regime-w, reward-model=<dir>
  dpo      --model <dir> --data <pairs.jsonl of {"prompt","chosen","rejected"}> [--beta 0.1] [--label-smoothing 0] [--adapter-init <dir>]
           [--rank r --alpha a --targets ...] --steps N [--lr 1e-6] [--batch-size pairs] [--seed s] [--checkpoint-every n]
           [--resume <dir>] --out <dir>   LoRA only: the reference is the model with the adapter off
  reward-model --model <dir> --data <pairs.jsonl of {"prompt","chosen","rejected"} | ratings of {"prompt","completion","rating"}>
           [--objective bradley-terry|regression] [--held-out 0.1] [--adapter-init <dir>] [--rank r --alpha a --targets ...] [--full]
           --steps N [--lr 1e-4] [--batch-size 8] [--seed s] [--checkpoint-every n] [--resume <dir>] [--manifest <file>] --out <dir>
  analyze logit-lens --model <dir> [--adapter <dir>] --ids <i,j,...> --target <token id> --out <file.json>
  analyze ablate --model <dir> [--adapter <dir>] --ids <...> --head <layer>.<head> --mode zero|mean [--mean-data <file.jsonl>] --out <file.json>
  analyze patch --model <dir> [--adapter <dir>] --ids <...> --source-ids <...> --hook <hook name> --pos <p|all> --out <file.json>
  analyze heads --model <dir> [--adapter <dir>] --task-a <file.jsonl> --task-b <file.jsonl> [--n 100] [--seed s] --out <file.json>
  analyze report --model <dir> [--adapter <dir>] --task-a <file.jsonl> --task-b <file.jsonl> [--n 100] ... --out <dir>   report.html + report.json
  analyze diff --before <report.json> --after <report.json> [--top 20] --out <diff.json>   which heads changed (e.g. adapter off → on)
  analyze checkpoints --model <dir> --run <run dir> --task-a <file.jsonl> --task-b <file.jsonl> [--every k] [--steps a,b] ... --out <dir>   the report at each checkpoint, trajectory.json
  init     --config <config.json> [--tokenizer <dir>] [--seed s] [--dtype f32|bf16|f16] --out <dir>   a random-init model
  eval     --model <dir> --data <file.jsonl> [--adapter <dir> | --adapters <dir,dir,...>] [--metric exact|gsm8k|chrf|chrf++|stoney-rubric]
           [--batch 32] [--max-new-tokens 256] [--limit N] [--seed 0] --out <file.json>
  data     --data <file.jsonl|.json|.parquet | hf://datasets/{owner}/{name}[@rev][/file]> [--config c --split s]
           [--use chat,qa,...] [--out <rows.jsonl>] [--report <file.json>]   what a dataset holds, per record format and line
  manifest --template gsm8k|gsm8k-platinum --path <glob> --confirm --out <SOURCE_MANIFEST.yml>   declare a public set's terms from a labelled template
  convert  --model <dir> --dtype f32|bf16|f16 --out <dir>   the same checkpoint stored in another dtype
  tasks    --task arithmetic|conlang --split train|heldout|rl --n N [--seed s] [--items] --out <file.jsonl>   embedded task sets
  rl-loss  --in <file.json> --out <file.json>   the GRPO loss, advantages and d loss/d logp on given numbers
  score    --metric gsm8k|chrf|chrf++|stoney-rubric|exact --data <file.jsonl of {"hyp","ref"}> --out <file.json>   rewards of given outputs
  export-trl --run <dir> --out <dir>   a sft / grpo / dpo run as a TRL + PEFT + accelerate project (train.py, rewards.py, evaluate.py)

environment: LAB_KERNELS=precision=f16   mixed-precision matmuls (f16 operands, f32 sums) where the GPU has shader-f16;
  also attention=rows|flash, matmul=vec4|tiled (comma-separated; \`lab info\` shows what applies)`;

async function info(argv: string[]): Promise<void> {
  const p = parseArgs(argv, { values: ['out'] });
  const rt = withCliKernels(await Runtime.create(await nodeGpu()));
  const s = { ...rt.ctx.summary, timestamps: rt.ctx.hasTimestamps, subgroups: rt.ctx.hasSubgroups, shaderF16: rt.ctx.hasF16, kernels: rt.kernelPrefs };
  rt.destroy();
  const text = JSON.stringify(s, null, 1);
  const out = p.values.get('out');
  if (out) writeFileSync(out, text);
  else console.log(text);
}

const commands: Record<string, (argv: string[]) => Promise<void>> = { info, forward: forwardCommand, generate: generateCommand, sft: sftCommand, init: initCommand, eval: evalCommand, tasks: tasksCommand, convert: convertCommand, 'rl-loss': rlLossCommand, score: scoreCommand, grpo: grpoCommand, analyze: analyzeCommand, dpo: dpoCommand, 'reward-model': rewardModelCommand, 'export-trl': exportTrlCommand, data: dataCommand, manifest: manifestCommand };

async function main(): Promise<void> {
  const [cmd, ...rest] = process.argv.slice(2);
  if (!cmd || cmd === '--help' || cmd === 'help') {
    console.log(USAGE);
    return;
  }
  const run = commands[cmd];
  if (!run) throw new UsageError(`unknown command "${cmd}" (commands: ${Object.keys(commands).join(', ')})`);
  await run(rest);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    const err = e as Error;
    const label = err instanceof UsageError ? 'usage error' : (err.name ?? 'error');
    process.stderr.write(`lab: ${label}: ${err.message}\n`);
    if (process.env.LAB_DEBUG) process.stderr.write(`${err.stack}\n`);
    process.exit(err instanceof UsageError ? 2 : err instanceof Interrupted ? 130 : 1);
  },
);
