// The terms a report (and what is made from reports: a diff, a trajectory) inherits from its inputs
// (issue 13, item 2: every derived artifact records its sources and inherits the strictest terms).
// Inputs: each prompt set's provenance record — the lab's own task sets (`lab tasks`' record) add no
// terms, a set a source manifest governs adds its decision's inherited terms, a set with no record is
// undeclared (its export is refused: no record means unknown) — and the adapter's governance.json
// (the terms of the data it was trained on). Pure; the CLI writes the result as governance.json beside
// report.json, the page carries it with each download (exportProblem decides).
import { strictestTerms, type TrainingDecision } from '../train/governance.ts';
import type { ReportData } from './report-data.ts';

/** What an adapter's governance.json says: its inherited terms, and a removal's mark. */
export interface AdapterTerms {
  inherited: TrainingDecision['inherited'];
  revoked?: { at?: string; reason?: string };
}

/** The terms in an adapter's governance.json text (undefined when it has none; a file that is not one is an error naming `where`). */
export function adapterTermsOf(text: string | undefined, where: string): AdapterTerms | undefined {
  if (text === undefined) return undefined;
  let g: { inherited?: TrainingDecision['inherited']; revoked?: AdapterTerms['revoked'] };
  try {
    g = JSON.parse(text);
  } catch {
    throw new Error(`${where}: governance.json is not valid JSON`);
  }
  if (!g?.inherited || !Array.isArray(g.inherited.sources) || !Array.isArray(g.inherited.prohibited_uses)) throw new Error(`${where}: governance.json has no inherited terms (sources, prohibited_uses)`);
  return { inherited: g.inherited, ...(g.revoked ? { revoked: g.revoked } : {}) };
}

export interface ReportTerms {
  note: string;
  /** the sets a manifest governs: their path, manifest and sources */
  sets: { file: string; path: string; manifest: string | null; sources: string[] }[];
  /** sets with no provenance record: their terms were never declared */
  undeclared: string[];
  /** adapters (and trained models) whose data's terms the report inherits */
  adapters: { name: string; sources: string[] }[];
  inherited: TrainingDecision['inherited'];
  revoked?: { at?: string; reason?: string };
}

const LAB_TASKS = 'lab-task-provenance-v1';

/**
 * The strictest terms of everything the reports were made from, or null when they were made only from
 * the lab's own task sets on the base model or an adapter with no terms (nothing to inherit). `models`:
 * other trained things they were made with (a full fine-tune's checkpoints: a run's governance.json).
 */
export function reportTerms(reports: readonly Pick<ReportData, 'tasks' | 'adapter'>[], models: readonly { name: string; terms: AdapterTerms }[] = []): ReportTerms | null {
  const sets: ReportTerms['sets'] = [];
  const undeclared = new Set<string>();
  const adapters: ReportTerms['adapters'] = [];
  const terms: TrainingDecision['inherited'][] = [];
  let revoked: ReportTerms['revoked'];
  for (const r of reports) {
    for (const t of [r.tasks.a, r.tasks.b]) {
      const p = t.provenance as { schema?: string; decision?: TrainingDecision } | null;
      if (p?.schema === LAB_TASKS) continue;
      if (p?.decision?.inherited) {
        if (!sets.some((s) => s.file === t.file && s.path === p.decision!.path)) sets.push({ file: t.file, path: p.decision.path, manifest: p.decision.manifest, sources: p.decision.inherited.sources });
        terms.push(p.decision.inherited);
      } else undeclared.add(t.file);
    }
    if (r.adapter?.terms) models = [...models, { name: r.adapter.name, terms: r.adapter.terms }];
  }
  for (const m of models) {
    if (!adapters.some((x) => x.name === m.name)) adapters.push({ name: m.name, sources: m.terms.inherited.sources });
    terms.push(m.terms.inherited);
    revoked ??= m.terms.revoked;
  }
  if (!terms.length && !undeclared.size) return null;
  const inherited = strictestTerms(terms);
  if (undeclared.size) inherited.release_approved = false;
  return {
    note: 'an analysis report inherits the strictest terms of its prompt sets\' sources and of its adapter\'s data',
    sets, undeclared: [...undeclared], adapters, inherited, ...(revoked ? { revoked } : {}),
  };
}
