// Node side of data governance (src/engine/train/governance.ts): find the source manifest that governs
// a data file (SOURCE_MANIFEST.yml or .yaml in the file's folder or any folder above it, or the one
// given with --manifest) and decide whether the file may enter training.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { decideTraining, parseManifest, type TrainingDecision } from '../engine/train/governance.ts';

export const MANIFEST_NAMES = ['SOURCE_MANIFEST.yml', 'SOURCE_MANIFEST.yaml'];

/** The nearest manifest at or above the data file's folder, or null. */
export function findManifest(dataFile: string): string | null {
  let dir = dirname(resolve(dataFile));
  for (;;) {
    for (const n of MANIFEST_NAMES) if (existsSync(join(dir, n))) return join(dir, n);
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

/** The decision for `dataFile`, or null when no manifest governs it. */
export function governDataFile(dataFile: string, manifest?: string): TrainingDecision | null {
  const file = manifest ?? findManifest(dataFile);
  if (!file) return null;
  const records = parseManifest(readFileSync(file, 'utf8'), file);
  const rel = relative(dirname(resolve(file)), resolve(dataFile)).split(sep).join('/');
  return decideTraining(records, rel, file);
}
