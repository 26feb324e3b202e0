// `lab rl-loss --in <file.json> --out <file.json>`: the GRPO objective (src/engine/rl/objective.ts) on given
// numbers for one group. Input {"logp", "old_logp", "ref_logp", "mask": [G][T], "rewards": [G], "epsilon",
// "beta"} (optional "epsilon_high", "scale_rewards": "group" | "none"); output {"advantages": [G],
// "loss_sequence_mean" (grpo), "loss_token_mean" (dapo), "grad_logp": [G][T] (d loss_sequence_mean / d logp)}.
// Bad input (ragged rows, a row with no counted token, NaN, G < 2) is one error line naming field and index.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseJsonLenient, readRlLossRequest, rlLoss } from '../engine/rl/input.ts';
import { parseArgs, UsageError } from './args.ts';

export async function rlLossCommand(argv: string[]): Promise<void> {
  const p = parseArgs(argv, { values: ['in', 'out'] });
  const inPath = p.values.get('in'), out = p.values.get('out');
  if (!inPath || !out) throw new UsageError('--in <file.json> and --out <file.json> are required');
  let text: string;
  try {
    text = readFileSync(inPath, 'utf8');
  } catch (e) {
    throw new UsageError(`--in: cannot read ${inPath}: ${(e as Error).message}`);
  }
  const answer = rlLoss(readRlLossRequest(parseJsonLenient(text)));
  writeFileSync(out, JSON.stringify(answer) + '\n');
  process.stderr.write(`lab rl-loss: G ${answer.advantages.length}, loss_sequence_mean ${answer.loss_sequence_mean}, loss_token_mean ${answer.loss_token_mean} in ${out}\n`);
}
