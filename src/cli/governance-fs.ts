// Node side of data governance (src/engine/train/governance.ts): decide whether a data file may enter
// training. Default-deny; every answer is a TrainingDecision, never "no opinion":
//   1. paths are real paths (fs.realpathSync): a symlink is judged by where it points, so a link placed
//      in an approved folder that points into an unapproved or unmanaged folder is refused;
//   2. a file `lab tasks` wrote is approved by its provenance record (<real file>.provenance.json) while
//      the record's sha256 is the file's content (the lab's own synthetic task sets);
//   3. otherwise the manifest given with --manifest, or the nearest SOURCE_MANIFEST.yml / .yaml in the
//      file's real folder or a folder above it, decides by its records; no manifest: refused, saying
//      how to declare the source's terms.
// While a command trains, GovernanceWatch decides again: a source withdrawn mid-run stops it, and
// markRevoked marks what the run made; refuseRevoked keeps later commands from using it.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { decideProvenance, decideTraining, GovernanceError, howToDeclare, parseManifest, refusal, type TrainingDecision } from '../engine/train/governance.ts';

export const MANIFEST_NAMES = ['SOURCE_MANIFEST.yml', 'SOURCE_MANIFEST.yaml'];

/** Where `lab tasks` writes the provenance record of `<file>`. */
export const provenancePath = (file: string): string => `${file}.provenance.json`;

/** The nearest manifest at or above the data file's real folder, or null. */
export function findManifest(dataFile: string): string | null {
  let dir = dirname(realpathSync(dataFile));
  for (;;) {
    for (const n of MANIFEST_NAMES) if (existsSync(join(dir, n))) return join(dir, n);
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

/** The decision for `dataFile` (with `manifest`, the --manifest given): always one; refused unless approved. */
export function governDataFile(dataFile: string, manifest?: string): TrainingDecision {
  let real: string;
  try {
    real = realpathSync(dataFile);
    if (!statSync(real).isFile()) return refusal(`${dataFile}: not a file`, dataFile);
  } catch (e) {
    return refusal(`${dataFile}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); refused`, dataFile);
  }
  const shown = real === dataFile ? dataFile : `${dataFile} (${real})`;

  // ---- the lab's own task sets, recognised by content ----
  let note = '';
  const prov = provenancePath(real);
  if (existsSync(prov)) {
    const sha256 = createHash('sha256').update(readFileSync(real)).digest('hex');
    const r = decideProvenance(readFileSync(prov, 'utf8'), sha256, real, prov);
    if (r.decision) return r.decision;
    note = ` (${r.note})`;
  }

  // ---- the source manifest ----
  let file: string | null;
  try {
    file = manifest !== undefined ? realpathSync(manifest) : findManifest(real);
  } catch (e) {
    return refusal(`manifest ${manifest}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); refused`, real, manifest ?? null);
  }
  if (!file) return refusal(`${shown}: no source manifest (${MANIFEST_NAMES.join(' or ')}) governs this file${note}; training is default-deny. ${howToDeclare('cli')}`, real);
  let records;
  try {
    records = parseManifest(readFileSync(file, 'utf8'), file);
  } catch (e) {
    if (e instanceof GovernanceError) return refusal(`${e.message}: refused`, real, file);
    throw e;
  }
  const rel = relative(dirname(file), real);
  if (rel === '' || isAbsolute(rel) || rel === '..' || rel.startsWith(`..${sep}`)) {
    return refusal(`${file}: ${shown} is not below the manifest's folder; a manifest governs only the files at or below its folder. ${howToDeclare('cli')}`, real, file);
  }
  const d = decideTraining(records, rel.split(sep).join('/'), file, 'cli');
  return note && !d.allowed ? { ...d, reason: `${d.reason}${note}` } : d;
}

// ---- after the start: a removal stops the run and marks what it made ----

/**
 * Re-decides a running command's data while it trains (at most every `everyMs`, from the step events):
 * a source whose record turned restricted, removed_pending_review, unknown, or lost its approval stops
 * the run after the step in flight ("a removal stops downstream work"). `signal` aborts then.
 */
export class GovernanceWatch {
  private readonly controller = new AbortController();
  private last = 0;
  /** the refusal that stopped the run, or null */
  revokedBy: TrainingDecision | null = null;
  /**
   * `start` is the decision the run started under. Only a manifest's records can be withdrawn: a run on the
   * lab's own task set (approved by its provenance record, manifest null) has nothing to watch, and is not
   * re-hashed every second.
   */
  constructor(
    readonly dataFile: string,
    readonly manifest: string | undefined,
    readonly start: TrainingDecision,
    readonly everyMs = 1000,
  ) {}
  get signal(): AbortSignal {
    return this.controller.signal;
  }
  poll(force = false): void {
    if (this.start.manifest === null || this.revokedBy || (!force && performance.now() - this.last < this.everyMs)) return;
    this.last = performance.now();
    const d = governDataFile(this.dataFile, this.manifest);
    if (d.allowed) return;
    this.revokedBy = d;
    this.controller.abort();
  }
}

export interface Revocation {
  at: string;
  reason: string;
}

/** The folders of a run that hold artifacts: the run itself and each checkpoint-<n>. */
function artifactDirs(out: string): string[] {
  if (!existsSync(out)) return [];
  return [out, ...readdirSync(out).filter((n) => /^checkpoint-\d+$/.test(n)).map((n) => join(out, n))];
}

/**
 * Marks everything a run made from a source that was withdrawn: governance.json (in the run folder and
 * every checkpoint) and run.json gain {"revoked": {at, reason}}. Commands that read an adapter, a
 * checkpoint or a run (refuseRevoked) then refuse it. Returns the files marked.
 */
export function markRevoked(out: string, reason: string): string[] {
  const revoked: Revocation = { at: new Date().toISOString(), reason };
  const marked: string[] = [];
  for (const dir of artifactDirs(out)) {
    for (const name of ['governance.json', 'run.json']) {
      const f = join(dir, name);
      if (!existsSync(f)) continue;
      let doc: Record<string, unknown>;
      try {
        doc = JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>;
      } catch {
        doc = {};
      }
      writeFileSync(f, JSON.stringify({ ...doc, revoked }, null, 1));
      marked.push(f);
    }
  }
  return marked;
}

/** The revocation recorded in an artifact folder's governance.json (or run.json), or null. */
export function revocationOf(dir: string): Revocation | null {
  for (const name of ['governance.json', 'run.json']) {
    const f = join(dir, name);
    if (!existsSync(f)) continue;
    try {
      const r = (JSON.parse(readFileSync(f, 'utf8')) as { revoked?: Revocation }).revoked;
      if (r && typeof r.reason === 'string') return r;
    } catch {
      /* an unreadable file says nothing about revocation; the reader that needs it reports it */
    }
  }
  return null;
}

/** Refuses to use an adapter / checkpoint / run folder that was made from a withdrawn source. */
export function refuseRevoked(dir: string, use: string): void {
  const r = revocationOf(dir);
  if (r) throw new GovernanceError(`${use} ${dir} refused: it was made from a source that was withdrawn (${r.reason}; marked ${r.at}); a removal stops all downstream work until the source is reviewed`);
}
