// What the engine does with the runs a RunStore keeps, apart from training them: list them (a run the store
// says is live but no engine runs is interrupted), read their files (refused when revoked; a checkpoint
// carries the run's governance.json), their GRPO samples, delete them, count their bytes, and decide them
// again under a changed manifest (a removal marks them revoked). LocalEngine (../engine.ts) calls these
// inside its own bookkeeping (which run it is training).
import { TrainingError, type GrpoGroupSample, type ManifestCheck, type RunRecord, type RunUsage } from '../api.ts';
import { decideTraining, parseManifest, withdrawnError } from './governance.ts';
import type { RunStore } from './run-store.ts';

/** The stored runs with their checkpoints; one marked live that `activeId` is not is saved as interrupted. */
export async function listStoredRuns(store: RunStore, activeId: string | null): Promise<RunRecord[]> {
  const runs = await store.list();
  for (const r of runs) {
    // a run the store says is live but this engine is not running: its page closed, or its process died
    if ((r.status === 'running' || r.status === 'paused') && r.id !== activeId) {
      r.status = 'interrupted';
      await store.put(r);
    }
    r.checkpoints = await store.checkpoints(r.id);
  }
  return runs;
}

/** Refuses the files of a run marked revoked. */
export async function notRevoked(store: RunStore, runId: string, what: string): Promise<void> {
  const rec = await store.get(runId);
  if (rec?.revoked) throw withdrawnError(`${what} of run ${runId}`, rec.revoked);
}

/** A run's result or checkpoint files, with the run's governance.json when the files lack it. */
export async function storedRunFiles(store: RunStore, runId: string, which: 'result' | { checkpoint: number }): Promise<Record<string, Uint8Array>> {
  await notRevoked(store, runId, which === 'result' ? 'The result' : `Checkpoint ${which.checkpoint}`);
  const files = which === 'result' ? await store.readResult(runId) : await store.readCheckpoint(runId, which.checkpoint);
  if (!files) throw new TrainingError('invalid', `run ${runId} has no result yet: it did not finish (export one of its checkpoints instead)`);
  const out = Object.fromEntries(files);
  // what is made from the data carries its terms: a checkpoint too (an export is decided by them, an adapter made from it inherits them)
  if (!out['governance.json']) {
    const terms = await store.readFile(runId, 'governance.json');
    if (terms) out['governance.json'] = terms;
  }
  return out;
}

/** The last `last` lines of a GRPO run's samples.jsonl. */
export async function storedRunSamples(store: RunStore, runId: string, last: number): Promise<GrpoGroupSample[]> {
  const bytes = await store.readFile(runId, 'samples.jsonl');
  if (!bytes) return [];
  const lines = new TextDecoder().decode(bytes).split('\n').filter((l) => l.trim() !== '');
  return lines.slice(Math.max(0, lines.length - Math.max(0, last))).map((l) => JSON.parse(l) as GrpoGroupSample);
}

export async function storedRunsUsage(store: RunStore): Promise<RunUsage[]> {
  const u = (await store.usage?.()) ?? new Map();
  return [...u].map(([runId, b]) => ({ runId, ...b }));
}

/**
 * Decides every stored run this manifest governs again (its decision came from records of the same source
 * ids); a run it now refuses is marked revoked in its record and governance.json. `onRevoke` is called
 * first for each, so the engine can stop the run if it is training it; it says whether it was.
 */
export async function reviseStoredRuns(store: RunStore, manifest: { name: string; text: string }, onRevoke: (rec: RunRecord, revoked: { at: string; reason: string }) => boolean): Promise<ManifestCheck> {
  const records = parseManifest(manifest.text, manifest.name);
  const ids = new Set(records.map((r) => r.source_id));
  const out: ManifestCheck = { checked: 0, revoked: [] };
  for (const rec of await store.list()) {
    const g = rec.governance;
    if (rec.revoked || !g?.manifest || !g.matched.some((m) => ids.has(m.source_id))) continue;
    out.checked++;
    const d = decideTraining(records, g.path, manifest.name, 'page');
    if (d.allowed) continue;
    const revoked = { at: new Date().toISOString(), reason: d.reason };
    const wasTraining = onRevoke(rec, revoked);
    await store.put({ ...rec, revoked, ...(wasTraining ? {} : { status: rec.status }) });
    const gov = await store.readFile(rec.id, 'governance.json');
    const doc = gov ? (JSON.parse(new TextDecoder().decode(gov)) as Record<string, unknown>) : {};
    await store.saveFile(rec.id, 'governance.json', new TextEncoder().encode(JSON.stringify({ ...doc, revoked }, null, 1)));
    out.revoked.push({ runId: rec.id, name: rec.name, reason: d.reason, wasTraining });
  }
  return out;
}
