// Prompt-set rows for the analyses (the CLI and the page read them alike): JSONL of the lab's task items
// (`lab tasks --items`: task, question, answer, meta) or {question, answer} rows, either with the row's own
// token classes as "marks" (marks.ts); and a seeded sample.
import { Rng } from '../util/rng.ts';
import { nfc } from '../util/nfc.ts';
import type { TaskRow } from './heads.ts';
import { checkMarks, markRanges } from './marks.ts';

/** The rows of a JSONL text; an Error naming `file:line` for a line that is not such a row, or whose marks are wrong. */
export function parseTaskRows(text: string, file: string): TaskRow[] {
  let classes: { names: string; line: number } | null = null;
  return text.split('\n').flatMap((line, i) => {
    if (!line.trim()) return [];
    let r: Partial<TaskRow>;
    try {
      r = nfc(JSON.parse(line));
    } catch {
      throw new Error(`${file}:${i + 1}: not valid JSON`);
    }
    if (!r || typeof r.question !== 'string' || typeof r.answer !== 'string') throw new Error(`${file}:${i + 1}: needs "question" and "answer" strings`);
    // marks: checked here, so a mistake names its line; every row marks the classes the first row does
    let names = '';
    if (r.marks !== undefined) {
      try {
        r.marks = checkMarks(r.marks, r.task === 'conlang' && r.meta !== undefined);
        markRanges(r.question, r.marks);
      } catch (e) {
        throw new Error(`${file}:${i + 1}: ${(e as Error).message}`);
      }
      names = Object.keys(r.marks).sort().join(', ');
    }
    classes ??= { names, line: i + 1 };
    if (names !== classes.names) {
      const say = (n: string) => (n ? `marks ${n}` : 'has no marks');
      throw new Error(`${file}:${i + 1}: ${say(names)}, but line ${classes.line} ${say(classes.names)}: every row of a set marks the same classes (an empty list marks none in that row)`);
    }
    return [r as TaskRow];
  });
}

/** n rows drawn without replacement by a seeded shuffle, in file order (all of them when n ≥ the rows). */
export function sampleRows<T>(rows: T[], n: number, seed: number): T[] {
  if (n >= rows.length) return rows;
  const rng = new Rng(seed);
  const idx = rows.map((_, i) => i);
  for (let i = idx.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx.slice(0, n).sort((a, b) => a - b).map((i) => rows[i]);
}
