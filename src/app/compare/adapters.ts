// The Compare page's adapter on/off view, its pure parts: which adapters can be compared against
// the base model (finished LoRA runs of the run store, and the active adapter), which run an
// active adapter came from (so it can be set again afterwards), and the per-head change of each
// statistic (adapter − base) with one symmetric diverging domain per statistic for both sides.
import type { InspectResult, ModelSummary, RunRecord } from '../../engine/api.ts';
import { reportTerms, type AdapterTerms } from '../../engine/analysis/report-terms.ts';
import { STATS, diffScale, statScale, type ColorScale } from './colors.ts';
import { statMatrix, type StatKey } from './stats.ts';
import type { Side } from './prompts.ts';

export interface AdapterChoice {
  /** the run whose result is the adapter; null: an imported adapter (no run to set it from) */
  runId: string | null;
  /** shown in the picker */
  label: string;
  /** it is the adapter merged into the loaded weights now */
  active: boolean;
}

/** The name the engine gives a run's adapter in ModelSummary.adapter (LocalEngine.setAdapter). */
export const runAdapterNames = (r: Pick<RunRecord, 'id' | 'name'>): string[] => [`${r.name} (run ${r.id})`, `run ${r.id}`];

/** The run an active adapter's name comes from, or null (base, or an imported adapter). */
export function runIdOfActive(active: string | null, runs: RunRecord[]): string | null {
  if (!active) return null;
  return runs.find((r) => runAdapterNames(r).includes(active))?.id ?? null;
}

/** LoRA runs with a stored result (full-parameter runs give a model, not an adapter). */
export const isFinishedLora = (r: RunRecord): boolean => r.hasResult && !r.config.full;

/** The picker's entries: the finished LoRA runs (newest first, as listRuns gives them) and the active adapter if it is none of them. */
export function adapterChoices(runs: RunRecord[], active: ModelSummary['adapter']): AdapterChoice[] {
  const activeRun = runIdOfActive(active?.name ?? null, runs);
  const out: AdapterChoice[] = runs.filter(isFinishedLora).map((r) => ({
    runId: r.id,
    label: `${r.name} · run ${r.id} · r ${r.config.lora.r}, ${r.step} step${r.step === 1 ? '' : 's'}${r.id === activeRun ? ' (active)' : ''}`,
    active: r.id === activeRun,
  }));
  if (active && !activeRun) out.unshift({ runId: null, label: `${active.name} (active, imported)`, active: true });
  return out;
}

export interface StatDeltaRow {
  key: StatKey | 'maxAbs';
  label: string;
  what: string;
  /** [layer][head] adapter − base, per side */
  delta: Record<Side, number[][]>;
  /** diverging, symmetric over both sides (sequential from 0 for maxAbs) */
  scale: ColorScale;
}

/** max over query and key of |adapter − base| per head: [layer][head]. */
export function maxAbsChange(base: InspectResult, adapter: InspectResult): number[][] {
  return base.layers.map((L, l) =>
    L.pattern.map((p, h) => {
      const a = adapter.layers[l].pattern[h];
      let m = 0;
      for (let q = 0; q < p.length; q++) for (let k = 0; k <= q; k++) m = Math.max(m, Math.abs(a[q][k] - p[q][k]));
      return m;
    }),
  );
}

const maxAbs = (ms: number[][][]) => ms.reduce((a, m) => m.reduce((b, r) => r.reduce((c, x) => Math.max(c, Math.abs(x)), b), a), 0);

/** One row per statistic (after − before, per side) and a first row with the largest |Δp| per head. */
export function statDeltaRows(sides: Record<Side, { base: InspectResult; adapter: InspectResult }>): StatDeltaRow[] {
  const biggest = { left: maxAbsChange(sides.left.base, sides.left.adapter), right: maxAbsChange(sides.right.base, sides.right.adapter) };
  const rows: StatDeltaRow[] = [
    { key: 'maxAbs', label: 'Largest |Δ attention|', what: 'max over query and key of |adapter − base|: which heads the adapter changed', delta: biggest, scale: statScale(maxAbs([biggest.left, biggest.right])) },
  ];
  for (const { key, label, what } of STATS) {
    const d = (s: Side) => {
      const b = statMatrix(sides[s].base, key), a = statMatrix(sides[s].adapter, key);
      return a.map((row, l) => row.map((x, h) => x - b[l][h]));
    };
    const delta = { left: d('left'), right: d('right') };
    rows.push({ key, label: `Δ ${label}`, what: `${what}; adapter − base`, delta, scale: diffScale(maxAbs([delta.left, delta.right])) });
  }
  return rows;
}

/** The terms an export of the page inherits from the adapters in it (see compareTerms). */
export interface CompareTerms {
  note: string;
  adapters: { name: string; sources: string[] }[];
  inherited: NonNullable<ReturnType<typeof reportTerms>>['inherited'];
  revoked?: { at?: string; reason?: string };
}

/**
 * What a Compare export (attention patterns, figures) inherits: the strictest terms of the adapters that
 * made it — each as the run recorded it (its name, and the terms its governance.json gave when it was
 * active: ModelSummary.adapter.terms) — and a removal's mark when one of them is a run marked revoked since.
 * The prompts are the lab's embedded items or typed by the user, so they add none. Null when no adapter in
 * it carries terms (the base model, an adapter without governance.json).
 */
export function compareTerms(adapters: readonly ({ name: string; terms?: AdapterTerms } | null | undefined)[], runs: readonly RunRecord[]): CompareTerms | null {
  // no prompt sets: the adapters' terms folded as a report folds its adapter's
  const t = reportTerms([], adapters.flatMap((a) => (a?.terms ? [{ name: a.name, terms: a.terms }] : [])));
  if (!t) return null;
  const revokedRun = t.adapters.map((a) => runs.find((r) => runAdapterNames(r).includes(a.name))).find((r) => r?.revoked);
  const revoked = revokedRun?.revoked ?? t.revoked;
  return {
    note: 'a Compare export made with these adapters inherits the strictest terms of their data',
    adapters: t.adapters,
    inherited: t.inherited,
    ...(revoked ? { revoked } : {}),
  };
}
