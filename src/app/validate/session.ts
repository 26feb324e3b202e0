// The community validation page's session, its pure parts (no React, no IndexedDB): the items a speaker
// judges (a prompt and one or two model outputs, each with where it came from), the speaker's judgement of
// each, the edits the page makes to a judgement, and the items read from a picked JSONL file.
//
// A judgement's rating is of one output: the only one, or, where there are two, the one chosen as better
// (A/B). So a two-output item is rated only once a choice is made, and changing the choice clears the
// rating — a rating must never silently move from one text to another (it becomes a reward for that text).
import { forEachJsonRow, type RowProblem } from '../../engine/train/data.ts';
import type { TrainingDecision } from '../../engine/train/governance.ts';

export type Rating = 'correct' | 'partly' | 'wrong';
export const RATINGS: readonly Rating[] = ['correct', 'partly', 'wrong'];
export type Choice = 'A' | 'B';

/** Where a batch of items came from: a picked file, a `lab grpo` samples.jsonl, or the loaded model. */
export interface ItemSource {
  /** 'f' + the first 12 hex digits of the file's sha256 (the same file loaded twice is one source), or 'g' + a time stamp */
  id: string;
  kind: 'file' | 'grpo-samples' | 'generated';
  /** the file's name, or the model's */
  name: string;
  loadedAt: string;
  /** the sha256 of the file's text (UTF-8) */
  sha256?: string;
  items: number;
  /**
   * What the manifest picked with the file says of it (its matched records and the terms a derived
   * artifact inherits), or null when none was picked: the terms are then undeclared, and the export says so.
   */
  terms: SourceTerms | null;
  /** for generated items: the model, its adapter and the decoding */
  model?: { name: string; adapter: string | null; decoding: string; maxNewTokens: number };
}

export interface SourceTerms {
  manifest: string;
  /** the file's path inside the manifest's folder */
  path: string;
  /** whether the manifest approves the file for training (the export's rows are still default-deny) */
  allowedForTraining: boolean;
  reason: string;
  matched: TrainingDecision['matched'];
  inherited: TrainingDecision['inherited'];
}

/** One thing to judge. */
export interface ValidationItem {
  /** `${source id}:${line}`: stable across reloads and across loading the same file again */
  id: string;
  prompt: string;
  /** [1] or [2] outputs; two are shown as A and B */
  outputs: string[];
  source: string;
  /** 1-based line of the source file, or the prompt's position in a generated batch */
  line: number;
}

/** A speaker's judgement of one item. */
export interface Judgement {
  rating: Rating | null;
  correction: string;
  comment: string;
  choice: Choice | null;
  updatedAt: string;
}

export type Edit = { rating: Rating | null } | { choice: Choice | null } | { correction: string } | { comment: string };

export const emptyJudgement = (): Judgement => ({ rating: null, correction: '', comment: '', choice: null, updatedAt: '' });

/** The output a rating is of: the only one, or the chosen one of two (null: none chosen yet). */
export function ratedOutput(item: ValidationItem, j: Pick<Judgement, 'choice'> | undefined): string | null {
  if (item.outputs.length === 1) return item.outputs[0];
  return j?.choice ? item.outputs[j.choice === 'A' ? 0 : 1] : null;
}

/** Can `item` be rated now? One output: yes; two: once one is chosen. */
export const canRate = (item: ValidationItem, j: Judgement | undefined): boolean => ratedOutput(item, j) !== null;

/**
 * The judgement after one edit, stamped `now`, or null when the edit is refused: a rating where none can be
 * given (two outputs, none chosen) and a choice on a one-output item. A changed choice clears the rating,
 * which was of the other output.
 */
export function applyEdit(item: ValidationItem, j: Judgement | undefined, edit: Edit, now: string): Judgement | null {
  const cur = j ?? emptyJudgement();
  if ('rating' in edit) {
    if (edit.rating !== null && !canRate(item, cur)) return null;
    return { ...cur, rating: edit.rating, updatedAt: now };
  }
  if ('choice' in edit) {
    if (item.outputs.length < 2 && edit.choice !== null) return null;
    return { ...cur, choice: edit.choice, rating: edit.choice === cur.choice ? cur.rating : null, updatedAt: now };
  }
  return { ...cur, ...edit, updatedAt: now };
}

/** Has the speaker said anything about the item? */
export const isJudged = (j: Judgement | undefined): boolean => !!j && (j.rating !== null || j.choice !== null || j.correction.trim() !== '' || j.comment.trim() !== '');

export interface SessionProgress {
  total: number;
  judged: number;
  rated: number;
  chosen: number;
  corrected: number;
}

export function progressOf(items: readonly ValidationItem[], judgements: Readonly<Record<string, Judgement>>): SessionProgress {
  const p: SessionProgress = { total: items.length, judged: 0, rated: 0, chosen: 0, corrected: 0 };
  for (const it of items) {
    const j = judgements[it.id];
    if (!isJudged(j)) continue;
    p.judged++;
    if (j.rating !== null) p.rated++;
    if (j.choice !== null) p.chosen++;
    if (j.correction.trim()) p.corrected++;
  }
  return p;
}

/** The index of the first item after `from` (wrapping) that is not judged, or -1 when all are. */
export function nextUnjudged(items: readonly ValidationItem[], judgements: Readonly<Record<string, Judgement>>, from: number): number {
  for (let k = 1; k <= items.length; k++) {
    const i = (from + k) % items.length;
    if (!isJudged(judgements[items[i].id])) return i;
  }
  return -1;
}

// ---- items from a picked file ------------------------------------------------------------------

const str = (v: unknown): v is string => typeof v === 'string';

/** The first two different non-blank texts (a repeated output carries no A/B preference). */
function twoDistinct(texts: readonly string[]): string[] {
  const out: string[] = [];
  for (const t of texts) if (t.trim() && !out.includes(t) && out.length < 2) out.push(t);
  return out;
}

/**
 * Items of a JSONL file, one a line (other keys ignored):
 *   {"prompt", "output"}                one output
 *   {"prompt", "outputs": [a] | [a, b]} one or two (more: the first two different ones)
 *   {"prompt", "completions": [{"text"}, …], "step"}   a `lab grpo` samples.jsonl group: its first two different completions
 * Strings come in Unicode NFC (forEachJsonRow). Unusable lines are reported as "file:line: what" and skipped.
 */
export function parseItemsJsonl(text: string, file: string, sourceId: string): { items: ValidationItem[]; problems: RowProblem[]; samples: boolean } {
  const items: ValidationItem[] = [];
  const problems: RowProblem[] = [];
  let samples = false;
  forEachJsonRow(text.replace(/^\uFEFF/, ''), file, problems, (r, line, bad) => {
    if (!str(r.prompt) || !r.prompt.trim()) return bad('no "prompt" (a non-empty string)');
    let texts: unknown[];
    if ('output' in r) texts = [r.output];
    else if (Array.isArray(r.outputs)) texts = r.outputs;
    else if (Array.isArray(r.completions)) {
      samples = true;
      texts = r.completions.map((c) => (c && typeof c === 'object' ? (c as { text?: unknown }).text : undefined));
    } else return bad('expected {"prompt", "output"}, {"prompt", "outputs": [a, b]} or a `lab grpo` samples line {"prompt", "completions"}');
    if (!texts.every(str)) return bad('outputs must be strings');
    const outputs = twoDistinct(texts as string[]);
    if (outputs.length === 0) return bad('no non-empty output to judge');
    items.push({ id: `${sourceId}:${line}`, prompt: r.prompt, outputs, source: sourceId, line });
  });
  return { items, problems, samples };
}

/** The terms a manifest's decision gives a source (kept with it, inherited by the export). */
export function termsOf(d: TrainingDecision): SourceTerms {
  return { manifest: d.manifest ?? '', path: d.path, allowedForTraining: d.allowed, reason: d.reason, matched: d.matched, inherited: d.inherited };
}
