// The Compare page's prompts: by default a held-out Velmic puzzle (language, left) and a held-out
// arithmetic problem (math, right) from the embedded task sets (src/tasks), in the prompt form the
// embedded models were trained on ("Question: …\nAnswer:", qaPrompt). Each prompt carries where it
// came from, so an export can say "embedded item conlang-heldout-0-2" or "edited by user".
import { getTask, type TaskItem, type TaskName } from '../../tasks/index.ts';
import { qaPrompt } from '../../engine/train/data.ts';

export type Side = 'left' | 'right';
export const SIDES: readonly Side[] = ['left', 'right'];
/** What each side stands for, in the page and in exports. */
export const SIDE_LABEL: Record<Side, string> = { left: 'Language', right: 'Math' };

/** Held-out items offered in the picker (seed 0: the same items on every visit). */
export const PICK_SEED = 0;
export const PICK_N = 8;

export interface EmbeddedProvenance {
  kind: 'embedded';
  task: TaskName;
  split: 'heldout';
  seed: number;
  index: number;
  /** the item's id, e.g. "conlang-heldout-0-2" */
  id: string;
  /** the prompt form: qaPrompt(question) */
  format: 'qa';
}

export type Provenance = EmbeddedProvenance | { kind: 'edited'; /** the embedded item it was edited from, if any */ from?: EmbeddedProvenance };

export interface ComparePrompt {
  text: string;
  provenance: Provenance;
}

const cache = new Map<TaskName, TaskItem[]>();
/** The first PICK_N held-out items of a task (cached: generating is deterministic). */
export function pickable(task: TaskName): TaskItem[] {
  let items = cache.get(task);
  if (!items) cache.set(task, (items = getTask(task).generate('heldout', PICK_N, PICK_SEED)));
  return items;
}

export function embeddedPrompt(task: TaskName, index: number): ComparePrompt {
  const item = pickable(task)[index];
  return { text: qaPrompt(item.question), provenance: { kind: 'embedded', task, split: 'heldout', seed: PICK_SEED, index, id: item.id, format: 'qa' } };
}

/**
 * The defaults: Velmic item 2 and arithmetic item 0, two held-out items the embedded default model
 * answers right (e2e/embedded.test.ts), so the comparison shows the model at work, not failing.
 */
export function defaultPrompts(): Record<Side, ComparePrompt> {
  return { left: embeddedPrompt('conlang', 2), right: embeddedPrompt('arithmetic', 0) };
}

/** The prompt after the user typed `text`: still embedded if it equals the item's prompt, else edited. */
export function withText(p: ComparePrompt, text: string): ComparePrompt {
  const from = p.provenance.kind === 'embedded' ? p.provenance : p.provenance.from;
  if (from && embeddedPrompt(from.task, from.index).text === text) return { text, provenance: from };
  return { text, provenance: from ? { kind: 'edited', from } : { kind: 'edited' } };
}

/** "Velmic puzzle conlang-heldout-0-2" / "edited by user (from …)". */
export function describeProvenance(p: Provenance): string {
  const item = (e: EmbeddedProvenance) => `${e.task === 'conlang' ? 'Velmic puzzle' : 'arithmetic problem'} ${e.id}`;
  if (p.kind === 'embedded') return `embedded ${item(p)} (held-out, seed ${p.seed})`;
  return p.from ? `edited by user (from ${item(p.from)})` : 'edited by user';
}
