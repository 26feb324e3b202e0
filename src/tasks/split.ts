// The splits of the embedded tasks (a module of its own so that the generators and index.ts share it
// without importing each other).
/**
 * train: what the embedded model's SFT saw (seed 1); heldout: the test (never trained on);
 * rl: prompts for reinforcement learning that the SFT never saw and the test does not hold —
 * arithmetic from the RL-only wordings (arithmetic-rl-stories.ts) with train-class numbers, Velmic
 * from the train root space (its roots are fresh in every puzzle anyway).
 */
export type Split = 'train' | 'heldout' | 'rl';
export const SPLITS: readonly Split[] = ['train', 'heldout', 'rl'];
export const isSplit = (s: string): s is Split => (SPLITS as readonly string[]).includes(s);
/** The generators' check of the split they are asked for (`what`: the task). */
export function checkSplit(what: string, split: string): void {
  if (!isSplit(split)) throw new Error(`${what}: split must be one of ${SPLITS.join(', ')}, got "${split}"`);
}
