// A dataset file (JSONL, JSON or Parquet) → its rows, a report of what they are, and the rows a user
// chose as JSONL for the lab's row loaders. One code path for the CLI (`lab data`, and --data of the
// training commands) and the page (the Data page, the Train page's data picker).
//
//   readRows(bytes, file)        rows with their 1-based line (JSONL) or row number (JSON, Parquet);
//                                text is strict UTF-8 (a bad byte is an error naming the file and offset)
//                                and every string NFC (util/nfc.ts): composed Stoney orthography (â î û
//                                ṯ ẖ) passes byte for byte, decomposed input is composed
//   inspectRows(loaded)          counts per schema (records.ts), rows dropped and why (GSM8K-Platinum),
//                                one reason per unusable line, whether the file mixes schemas
//   selectedJsonl(loaded, use)   the rows of the chosen schemas as JSONL, each at its own line number
//                                (other lines left blank, which the row loaders skip), so a problem the
//                                trainer reports later still names the line of the original file
import { nfc } from '../util/nfc.ts';
import { sha256Hex } from '../util/sha256.ts';
import type { RowProblem } from '../train/data.ts';
import { detectRecord, RECORD_SCHEMAS, type Detection, type RecordSchema } from './records.ts';
import { readParquetRows } from './parquet.ts';

export type DataFormat = 'jsonl' | 'json' | 'parquet';

export class DatasetError extends Error {
  override name = 'DatasetError';
}

/** The format a file name says, or null. */
export function formatOf(file: string): DataFormat | null {
  const f = file.toLowerCase().replace(/[?#].*$/, '');
  if (f.endsWith('.jsonl') || f.endsWith('.ndjson')) return 'jsonl';
  if (f.endsWith('.json')) return 'json';
  if (f.endsWith('.parquet')) return 'parquet';
  return null;
}

export interface DataRow {
  /** 1-based line (JSONL) or row (JSON, Parquet) */
  at: number;
  row: Record<string, unknown>;
}

export interface LoadedRows {
  file: string;
  format: DataFormat;
  rows: DataRow[];
  /** lines that are not JSON objects */
  problems: RowProblem[];
  /** the last line / row number (blank lines included) */
  last: number;
}

/** "file:12" for a JSONL line, "file: row 12" for a JSON or Parquet row. */
export const rowWhere = (file: string, format: DataFormat, at: number): string => (format === 'jsonl' ? `${file}:${at}` : `${file}: row ${at}`);

/** Keys of a JSON document that may hold its row list ({"tasks": [...]} is the rl_task payload). */
const LIST_KEYS = ['tasks', 'rows', 'data', 'examples', 'pairs', 'items'];

/** Offset of the first byte that breaks UTF-8 (a linear scan; only run once decoding failed). */
function badUtf8At(b: Uint8Array): number {
  for (let i = 0; i < b.length; ) {
    const c = b[i];
    const n = c < 0x80 ? 0 : c >= 0xc2 && c < 0xe0 ? 1 : c >= 0xe0 && c < 0xf0 ? 2 : c >= 0xf0 && c < 0xf5 ? 3 : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) if (i + k >= b.length || (b[i + k] & 0xc0) !== 0x80) return i;
    i += n + 1;
  }
  return b.length;
}

function utf8(bytes: Uint8Array, file: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new DatasetError(`${file}: not UTF-8 text (a bad byte at offset ${badUtf8At(bytes)}); save it as UTF-8`);
  }
}

/** Parses a dataset file's bytes by its name's format (or `format`). */
export async function readRows(bytes: Uint8Array, file: string, format: DataFormat | null = formatOf(file)): Promise<LoadedRows> {
  if (!format) throw new DatasetError(`${file}: unknown data format; the lab reads .jsonl, .json and .parquet files`);
  if (format !== 'parquet') return rowsFromText(utf8(bytes, file), file, format);
  const objs = await readParquetRows(bytes, file);
  const out = collector(file, format);
  objs.forEach((o, i) => out.take(i + 1, o));
  return { file, format, rows: out.rows, problems: out.problems, last: objs.length };
}

/**
 * A data file as training and evaluation take it, in the CLI and the page alike: its rows, and the text
 * the loaders read — a JSONL file's own text (UTF-8; a BOM dropped, as every decoder here drops it),
 * JSON and Parquet rows as JSONL lines at their row numbers. An unknown extension is read as JSONL.
 */
export async function readDataFile(bytes: Uint8Array, file: string, format: DataFormat = formatOf(file) ?? 'jsonl'): Promise<{ loaded: LoadedRows; text: string }> {
  if (format === 'jsonl') {
    const text = utf8(bytes, file); // decoded once: the rows and the text come from the same string
    return { loaded: rowsFromText(text, file, 'jsonl'), text };
  }
  const loaded = await readRows(bytes, file, format);
  return { loaded, text: asJsonl(loaded) };
}

function collector(file: string, format: DataFormat) {
  const rows: DataRow[] = [];
  const problems: RowProblem[] = [];
  const bad = (at: number, m: string) => void problems.push({ line: at, message: `${rowWhere(file, format, at)}: ${m}` });
  const take = (at: number, v: unknown) => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) bad(at, 'not a JSON object');
    else rows.push({ at, row: nfc(v as Record<string, unknown>) });
  };
  return { rows, problems, bad, take };
}

/** The rows of JSONL or JSON text (already decoded). */
export function rowsFromText(text: string, file: string, format: 'jsonl' | 'json' = 'jsonl'): LoadedRows {
  const out = collector(file, format);
  if (format === 'jsonl') {
    const lines = text.split('\n');
    lines.forEach((raw, i) => {
      if (!raw.trim()) return;
      let v: unknown;
      try {
        v = JSON.parse(raw);
      } catch {
        return out.bad(i + 1, 'not valid JSON');
      }
      out.take(i + 1, v);
    });
    return { file, format, rows: out.rows, problems: out.problems, last: lines.length };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new DatasetError(`${file}: not valid JSON (${(e as Error).message}); a .json dataset is one array of rows, or an object with one (e.g. {"tasks": [...]})`);
  }
  const key = !Array.isArray(doc) && doc && typeof doc === 'object' ? LIST_KEYS.find((k) => Array.isArray((doc as Record<string, unknown>)[k])) : undefined;
  const list = Array.isArray(doc) ? doc : key ? ((doc as Record<string, unknown>)[key] as unknown[]) : null;
  if (!list) throw new DatasetError(`${file}: a .json dataset must be an array of rows or an object with a ${LIST_KEYS.map((k) => `"${k}"`).join(' / ')} array`);
  list.forEach((v, i) => out.take(i + 1, v));
  return { file, format, rows: out.rows, problems: out.problems, last: list.length };
}

export interface DatasetReport {
  file: string;
  format: DataFormat;
  /** rows read (not counting blank lines) */
  rows: number;
  /** usable rows per schema, in RECORD_SCHEMAS order */
  counts: Partial<Record<RecordSchema, number>>;
  /** rows of a known schema left out on purpose, per reason */
  dropped: { count: number; reasons: Record<string, number>; lines: RowProblem[] };
  /** unusable rows: one line each, "file:line: schema: what is wrong" */
  problems: RowProblem[];
  /** more than one usable schema: the user should choose which rows to use */
  mixed: boolean;
  /** each row's detection, parallel to LoadedRows.rows */
  detections: Detection[];
}

export function inspectRows(loaded: LoadedRows): DatasetReport {
  const counts: Partial<Record<RecordSchema, number>> = {};
  const dropped: DatasetReport['dropped'] = { count: 0, reasons: {}, lines: [] };
  const problems = [...loaded.problems];
  const detections = loaded.rows.map(({ at, row }) => {
    const d = detectRecord(row);
    const where = rowWhere(loaded.file, loaded.format, at);
    if (d.problem !== undefined) problems.push({ line: at, message: `${where}: ${d.schema ? `${d.schema}: ` : ''}${d.problem}` });
    else if (d.drop !== undefined) {
      dropped.count++;
      dropped.reasons[d.drop] = (dropped.reasons[d.drop] ?? 0) + 1;
      dropped.lines.push({ line: at, message: `${where}: dropped: ${d.drop}` });
    } else counts[d.schema] = (counts[d.schema] ?? 0) + 1;
    return d;
  });
  problems.sort((a, b) => a.line - b.line);
  const ordered = Object.fromEntries(RECORD_SCHEMAS.filter((s) => counts[s]).map((s) => [s, counts[s]!])) as DatasetReport['counts'];
  return { file: loaded.file, format: loaded.format, rows: loaded.rows.length + loaded.problems.length, counts: ordered, dropped, problems, mixed: Object.keys(ordered).length > 1, detections };
}

/** The usable rows of the chosen schemas as JSONL, row `at` on line `at` (see the header). */
export function selectedJsonl(loaded: LoadedRows, report: DatasetReport, use: readonly RecordSchema[]): { text: string; rows: number } {
  const unknown = use.filter((s) => !(RECORD_SCHEMAS as readonly string[]).includes(s));
  if (unknown.length) throw new DatasetError(`unknown record format ${unknown.join(', ')}; known: ${RECORD_SCHEMAS.join(', ')}`);
  const lines = new Array<string>(loaded.last).fill('');
  let n = 0;
  loaded.rows.forEach(({ at, row }, i) => {
    const d = report.detections[i];
    if (d.problem === undefined && d.drop === undefined && use.includes(d.schema)) {
      lines[at - 1] = JSON.stringify(row);
      n++;
    }
  });
  return { text: lines.join('\n') + '\n', rows: n };
}

/**
 * Every row as JSONL at its own line (the training commands' --data for a .parquet or .json file: the
 * row loaders then judge each row as they judge a JSONL line, and name it by its row number).
 */
export function asJsonl(loaded: LoadedRows): string {
  const lines = new Array<string>(loaded.last).fill('');
  for (const { at, row } of loaded.rows) lines[at - 1] = JSON.stringify(row);
  return lines.join('\n') + '\n';
}

/** One paragraph for a person: counts per schema, drops, problems (the first `show` of them). */
export function describeReport(r: DatasetReport, show = 10): string {
  const counts = Object.entries(r.counts).map(([s, n]) => `${n} ${s}`).join(', ') || 'no usable rows';
  const out = [`${r.file} (${r.format}): ${r.rows} rows: ${counts}${r.dropped.count ? `; ${r.dropped.count} dropped` : ''}${r.problems.length ? `; ${r.problems.length} unusable` : ''}`];
  for (const [why, n] of Object.entries(r.dropped.reasons)) out.push(`  dropped ${n}: ${why}`);
  for (const p of r.problems.slice(0, show)) out.push(`  ${p.message}`);
  if (r.problems.length > show) out.push(`  … and ${r.problems.length - show} more unusable rows`);
  if (r.mixed) out.push(`  the file mixes record formats: choose the rows to use (${Object.keys(r.counts).join(', ')})`);
  return out.join('\n');
}

/**
 * The provenance record of chosen rows written out (`lab data --out`, the Data page's save): where they
 * came from, what was kept and dropped, and that they inherit the source's terms and approve nothing.
 */
export async function dataProvenance(o: { generator: string; loaded: LoadedRows; report: DatasetReport; use: readonly RecordSchema[]; rows: number; file: string; text: string }): Promise<Record<string, unknown>> {
  return {
    schema: 'lab-data-provenance-v1',
    generator: o.generator,
    source: o.loaded.file,
    written: new Date().toISOString(),
    use: o.use,
    rows: o.rows,
    counts: o.report.counts,
    dropped: o.report.dropped.reasons,
    unusable: o.report.problems.length,
    file: o.file,
    sha256: await sha256Hex(new TextEncoder().encode(o.text)),
    terms: "Derived from the source above: it inherits the source's terms. It trains only where a source manifest record approves it (approved_for_training, training not prohibited); nothing here approves it.",
  };
}
