// A prompt-set file of `lab analyze` (heads, report): its rows, or a usage error naming the file and line.
import { existsSync, readFileSync } from 'node:fs';
import type { TaskRow } from '../engine/analysis/heads.ts';
import { parseTaskRows } from '../engine/analysis/task-rows.ts';
import { UsageError } from './args.ts';

/** The rows of a task file ({question, answer} or `lab tasks --items` items). */
export function taskRows(file: string): TaskRow[] {
  if (!existsSync(file)) throw new UsageError(`${file} does not exist`);
  try {
    return parseTaskRows(readFileSync(file, 'utf8'), file);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
