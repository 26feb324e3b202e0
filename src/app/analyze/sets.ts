// The Analyze page's inputs, their pure parts: the two prompt sets (an embedded task set, generated in
// the page by src/tasks exactly as `lab tasks --split heldout --items` writes it, with the same
// provenance record; or a JSONL file the user picked, which has none) and the settings of the report,
// with the checks the page shows beside each field. Nothing here touches the engine or the DOM.
import type { AnalysisSet, AnalyzeRequest } from '../../engine/api.ts';
import { decideUpload, strictestTerms, TASK_GENERATOR, type TaskSetProvenance, type TrainingDecision } from '../../engine/train/governance.ts';
import { parseTaskRows } from '../../engine/analysis/task-rows.ts';
import { getTask, type TaskName } from '../../tasks/index.ts';

export type SetKey = 'a' | 'b';
export const SET_KEYS: readonly SetKey[] = ['a', 'b'];

/** One prompt set: an embedded task's held-out items, or a picked JSONL file (read as text here). */
export type SetChoice =
  | { kind: 'embedded'; task: TaskName; label: string }
  | {
      kind: 'file';
      label: string;
      /** the file's name and text ('' before one is picked) */
      name: string;
      text: string;
      /** rows in it, or why it cannot be used (the engine's own parser: "file:line: …") */
      rows: number;
      problem?: string;
      /** the token classes its rows mark themselves ("marks", engine/analysis/marks.ts), if any */
      marks?: string[];
      /** the SOURCE_MANIFEST.yml picked with it (the file's path inside the manifest's folder), if any */
      manifest?: { name: string; text: string; path: string } | null;
      /** what that manifest says of the file (decideUpload): its sources and the terms the report inherits */
      terms?: TrainingDecision | null;
    };

export interface AnalyzeSettings {
  /** prompts per set */
  n: number;
  seed: number;
  queries: AnalyzeRequest['queries'];
  ablation: AnalyzeRequest['ablation'];
  nBoot: number;
  nPerm: number;
}

export const DEFAULT_SETTINGS: AnalyzeSettings = { n: 100, seed: 0, queries: 'answer', ablation: 'zero', nBoot: 2000, nPerm: 5000 };

/** The label a task's set gets in the report ("Velmic" for the constructed-language puzzles). */
export const TASK_LABEL: Record<TaskName, string> = { arithmetic: 'arithmetic', conlang: 'Velmic' };
/** The task picker's words. */
export const TASK_TEXT: Record<TaskName, string> = { arithmetic: 'arithmetic word problems (held-out)', conlang: 'Velmic puzzles, a constructed language (held-out)' };

/** A = arithmetic, B = Velmic: the question of the page, math vs the constructed language. */
export const defaultSets = (): Record<SetKey, SetChoice> => ({
  a: { kind: 'embedded', task: 'arithmetic', label: TASK_LABEL.arithmetic },
  b: { kind: 'embedded', task: 'conlang', label: TASK_LABEL.conlang },
});

/** A picked file as a set: its rows counted by the engine's parser, or the line that stops it. */
export function fileChoice(name: string, text: string, label: string): SetChoice {
  try {
    const parsed = parseTaskRows(text, name), rows = parsed.length;
    const marks = parsed[0]?.marks ? Object.keys(parsed[0].marks) : undefined; // every row marks the same classes (the parser checks)
    return { kind: 'file', label, name, text, rows, marks, problem: rows < 2 ? `${name}: an analysis needs at least 2 prompts, the file has ${rows}` : undefined };
  } catch (e) {
    return { kind: 'file', label, name, text, rows: 0, problem: (e as Error).message };
  }
}

/** The label a file gets until the user names it: its name without the extension. */
export const labelOfFile = (name: string): string => name.replace(/\.(jsonl|json|txt)$/i, '') || name;

/** The embedded set's file name, as `lab tasks --out` would be given it. */
export const embeddedFile = (task: TaskName, n: number, seed: number): string => `${task}-heldout-n${n}-seed${seed}.jsonl`;

/** The command that writes the same bytes and provenance record (for the report's reader). */
export const embeddedCommand = (task: TaskName, n: number, seed: number): string =>
  `npm run lab -- tasks --task ${task} --split heldout --n ${n} --seed ${seed} --items --out ${embeddedFile(task, n, seed)}`;

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The embedded task's held-out items as `lab tasks --task <t> --split heldout --n <n> --seed <s> --items`
 * writes them (one full item per line: id, task, question, answer, final, meta), with the provenance
 * record it writes beside them: the lab's own synthetic data, the sha256 of these exact bytes.
 */
export async function embeddedSet(task: TaskName, label: string, n: number, seed: number): Promise<AnalysisSet> {
  const items = getTask(task).generate('heldout', n, seed);
  const text = items.map((i) => JSON.stringify(i)).join('\n') + '\n';
  const bytes = new TextEncoder().encode(text);
  const file = embeddedFile(task, n, seed);
  const provenance: TaskSetProvenance = {
    schema: 'lab-task-provenance-v1',
    generator: TASK_GENERATOR,
    task,
    split: 'heldout',
    seed,
    n,
    items: true,
    synthetic: true,
    contains_sensitive_content: false,
    file,
    bytes: bytes.length,
    sha256: await sha256Hex(bytes),
  };
  return { label, file, text, provenance: provenance as unknown as Record<string, unknown> };
}

/**
 * The set as the engine takes it. A picked file's provenance is what its manifest says of it (sources,
 * inherited terms, Local Contexts labels); with no manifest it has none (null), and the report says so.
 */
export async function analysisSet(c: SetChoice, s: AnalyzeSettings): Promise<AnalysisSet> {
  const label = c.label.trim() || (c.kind === 'embedded' ? TASK_LABEL[c.task] : labelOfFile(c.name));
  if (c.kind === 'embedded') return embeddedSet(c.task, label, s.n, s.seed);
  const provenance = c.terms && c.manifest ? { schema: 'lab-source-terms-v1', file: c.name, manifest: c.manifest.name, path: c.terms.path, decision: c.terms } : null;
  return { label, file: c.name, text: c.text, provenance };
}

/** The file set with the manifest the user picked for it (null: none), and what it says of the file. */
export function withManifest(c: Extract<SetChoice, { kind: 'file' }>, manifest: { name: string; text: string; path: string } | null): SetChoice {
  return { ...c, manifest, terms: manifest ? decideUpload({ name: c.name, manifest }) : null };
}

const whole = (x: number, lo: number, hi: number) => Number.isInteger(x) && x >= lo && x <= hi;
export const LIMITS = { n: [2, 5000], seed: [0, 2 ** 31 - 1], nBoot: [10, 100_000], nPerm: [10, 100_000] } as const;

/** What is wrong with each setting, by field (empty when all are usable). */
export function settingsProblems(s: AnalyzeSettings): Partial<Record<keyof AnalyzeSettings, string>> {
  const out: Partial<Record<keyof AnalyzeSettings, string>> = {};
  for (const k of ['n', 'seed', 'nBoot', 'nPerm'] as const) {
    const [lo, hi] = LIMITS[k];
    if (!whole(s[k], lo, hi)) out[k] = `a whole number ${lo} … ${hi}`;
  }
  return out;
}

/** Why a set cannot be used yet, or undefined. */
export function setProblem(c: SetChoice): string | undefined {
  if (c.kind === 'embedded') return undefined;
  if (!c.name) return 'pick a JSONL file';
  return c.problem;
}
