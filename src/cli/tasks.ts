// `lab tasks --task arithmetic|conlang[,...] --split train|heldout|rl --n N [--seed s] --out <file.jsonl> [--items]`
// Writes a generated task set (src/tasks/) as GSM8K-form JSONL rows ({"question", "answer"}), what
// `lab sft` trains on and `lab eval` scores; with --items, the full items (id, final, meta, label).
// Several tasks (--task arithmetic,conlang) write each task's N items in turn, the same bytes as the
// one-task files concatenated in that order.
// Beside the output goes its provenance record, <file.jsonl>.provenance.json (generator, task, split,
// seed, n, synthetic: true, and the sha256 of the exact bytes written): `lab sft` approves the file by
// it as the lab's own synthetic data while the file is unchanged (src/cli/governance-fs.ts).
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { getTask, isSplit, SPLITS, toSftJsonl, type TaskItem } from '../tasks/index.ts';
import { TASK_GENERATOR, type TaskSetProvenance } from '../engine/train/governance.ts';
import { provenancePath } from './governance-fs.ts';
import { parseArgs, num, UsageError } from './args.ts';

export async function tasksCommand(argv: string[]): Promise<void> {
  const p = parseArgs(argv, { values: ['task', 'split', 'n', 'seed', 'out'], flags: ['items'] });
  const name = p.values.get('task'), out = p.values.get('out');
  if (!name || !out) throw new UsageError('--task <arithmetic|conlang> and --out <file.jsonl> are required');
  const split = p.values.get('split') ?? 'train';
  if (!isSplit(split)) throw new UsageError(`--split must be one of ${SPLITS.join(', ')}, got ${split}`);
  const n = num(p, 'n');
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--n must be a positive integer, got ${n}`);
  const seed = num(p, 'seed', 0);
  const names = name.split(',');
  const tasks = names.map((t) => {
    try {
      return getTask(t.trim());
    } catch (e) {
      throw new UsageError(`--task: ${(e as Error).message}`);
    }
  });
  const items = tasks.flatMap((task) => task.generate(split, n, seed) as TaskItem[]);
  const text = p.flags.has('items') ? items.map((i) => JSON.stringify(i)).join('\n') + '\n' : toSftJsonl(items);
  const bytes = Buffer.from(text, 'utf8');
  writeFileSync(out, bytes);
  const provenance: TaskSetProvenance = {
    schema: 'lab-task-provenance-v1',
    generator: TASK_GENERATOR,
    task: tasks.map((t) => t.name).join(','),
    split,
    seed,
    n,
    items: p.flags.has('items'),
    synthetic: true,
    contains_sensitive_content: false,
    file: basename(out),
    bytes: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
  writeFileSync(provenancePath(out), JSON.stringify(provenance, null, 1) + '\n');
  process.stderr.write(`lab tasks: ${items.length} ${provenance.task} items (${split}) in ${out} (provenance: ${provenancePath(out)})\n`);
}
