// The Evaluate page's downloads: the table as JSON (the engine's EvalTable whole: every row with its
// items, and the provenance — data name, sha256 and governance, model, settings, date, lab version, each
// run's id and governance) and as CSV (one line per model; every line carries the provenance columns,
// so a line copied elsewhere still says where it came from). Numbers are written in full (String(x)),
// so the CSV reads back to the table's numbers. Pure: the page makes Blobs of these strings.
import type { EvalModelResult, EvalTable } from '../../engine/api.ts';
import { kindLabel } from './form.ts';

export const CSV_COLUMNS = [
  'model', 'adapter', 'run_id', 'run_kind', 'metric', 'score', 'ci95_low', 'ci95_high', 'n', 'correct', 'accuracy',
  'data', 'data_sha256', 'data_source', 'data_governance', 'run_data', 'run_data_sha256', 'run_sources', 'run_prohibited_uses', 'run_sensitive',
  'seed', 'max_new_tokens', 'decoding', 'created_at', 'lab_version',
] as const;

/** A CSV field: quoted when it holds a comma, a quote or a line break (RFC 4180). */
export function csvField(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The run's inherited terms, from its governance.json (or its record's decision). */
function runTerms(r: EvalModelResult): { sources: string; prohibited: string; sensitive: string } {
  const inh = (r.run?.governance as { inherited?: { sources?: string[]; prohibited_uses?: string[]; contains_sensitive_content?: boolean } } | null)?.inherited;
  if (!r.run || !inh) return { sources: '', prohibited: '', sensitive: '' };
  return { sources: (inh.sources ?? []).join(' '), prohibited: (inh.prohibited_uses ?? []).join(' '), sensitive: String(!!inh.contains_sensitive_content) };
}

/** The data's governance in one line: the decision's reason, or that none was given. */
export function dataGovernance(t: EvalTable): string {
  const g = t.provenance.data.governance;
  if (!g) return 'no source manifest given';
  return `${g.allowed ? 'approved for training' : 'not approved for training'}: ${g.reason}${g.inherited.sources.length ? ` (sources ${g.inherited.sources.join(' ')})` : ''}`;
}

/** The row's values by column. */
export function csvRecord(t: EvalTable, r: EvalModelResult): Record<(typeof CSV_COLUMNS)[number], string | number> {
  const p = t.provenance;
  const terms = runTerms(r);
  return {
    model: r.model, adapter: r.adapter ?? 'base', run_id: r.run?.id ?? '', run_kind: r.run ? kindLabel(r.run.kind) : r.adapter ? 'adapter' : 'base',
    metric: r.metric, score: r.score, ci95_low: r.ci95[0], ci95_high: r.ci95[1], n: r.n, correct: r.correct ?? '', accuracy: r.accuracy ?? '',
    data: p.data.name, data_sha256: p.data.sha256, data_source: p.data.source, data_governance: dataGovernance(t),
    run_data: r.run?.data.name ?? '', run_data_sha256: r.run?.data.sha256 ?? '', run_sources: terms.sources, run_prohibited_uses: terms.prohibited, run_sensitive: terms.sensitive,
    seed: p.settings.seed, max_new_tokens: p.settings.maxNewTokens, decoding: p.settings.decoding, created_at: p.createdAt, lab_version: p.lab.version,
  };
}

export function tableCsv(t: EvalTable): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of t.rows) {
    const rec = csvRecord(t, r);
    lines.push(CSV_COLUMNS.map((c) => csvField(rec[c])).join(','));
  }
  return lines.join('\r\n') + '\r\n';
}

/** Reads tableCsv's text back: one object per line, by column (a plain RFC 4180 reader). */
export function parseCsv(text: string): Record<string, string>[] {
  const rows: string[][] = [];
  let row: string[] = [], field = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field), rows.push(row), (row = []), (field = '');
    } else field += c;
  }
  if (field || row.length) row.push(field), rows.push(row);
  const [head, ...body] = rows;
  return body.map((r) => Object.fromEntries(head.map((h, k) => [h, r[k] ?? ''])));
}

export const tableJson = (t: EvalTable): string => JSON.stringify(t, null, 1) + '\n';

/** "eval-arithmetic-heldout-n100-seed0-exact" */
export const exportStem = (t: EvalTable): string => `eval-${t.data.replace(/\.[a-z]+$/i, '').replace(/[^A-Za-z0-9._-]+/g, '-')}-${t.metric.replace(/\+/g, 'p')}`;
