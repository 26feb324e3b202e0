// `lab tasks --task arithmetic|conlang --split train|heldout --n N [--seed s] --out <file.jsonl> [--items]`
// Writes a generated task set (src/tasks/) as GSM8K-form JSONL rows ({"question", "answer"}), what
// `lab sft` trains on and `lab eval` scores; with --items, the full items (id, final, meta, label).
import { writeFileSync } from 'node:fs';
import { getTask, toSftJsonl, type Split } from '../tasks/index.ts';
import { parseArgs, num, UsageError } from './args.ts';

export async function tasksCommand(argv: string[]): Promise<void> {
  const p = parseArgs(argv, { values: ['task', 'split', 'n', 'seed', 'out'], flags: ['items'] });
  const name = p.values.get('task'), out = p.values.get('out');
  if (!name || !out) throw new UsageError('--task <arithmetic|conlang> and --out <file.jsonl> are required');
  const split = (p.values.get('split') ?? 'train') as Split;
  if (split !== 'train' && split !== 'heldout') throw new UsageError(`--split must be train or heldout, got ${split}`);
  const n = num(p, 'n');
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--n must be a positive integer, got ${n}`);
  let task;
  try {
    task = getTask(name);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const items = task.generate(split, n, num(p, 'seed', 0));
  writeFileSync(out, p.flags.has('items') ? items.map((i) => JSON.stringify(i)).join('\n') + '\n' : toSftJsonl(items));
  process.stderr.write(`lab tasks: ${items.length} ${name} items (${split}) in ${out}\n`);
}
