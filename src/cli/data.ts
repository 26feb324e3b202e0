// `npm run lab -- data --data <file | hf://datasets/...> [--config c] [--split s] [--use schema,...]
//                       [--out <rows.jsonl>] [--report <report.json>]`
//
// What a dataset holds before anything trains on it: rows per record format (engine/data/records.ts),
// rows dropped and why (GSM8K-Platinum's removed questions), and one reason per unusable line. With --out
// it writes the rows of the formats chosen with --use (required when the file mixes formats) as JSONL,
// with <rows.jsonl>.provenance.json saying where they came from. Downloading or converting is not
// training: the written file trains only where a source manifest approves it (default-deny, as any file).
import { writeFileSync } from 'node:fs';
import { dataProvenance, describeReport, inspectRows, selectedJsonl } from '../engine/data/dataset.ts';
import { RECORD_SCHEMAS, SCHEMA_TEXT, type RecordSchema } from '../engine/data/records.ts';
import { isHubDatasetRef } from '../engine/data/hub-dataset.ts';
import { parseArgs, UsageError } from './args.ts';
import { loadDataSource } from './data-files.ts';

export async function dataCommand(argv: string[]): Promise<void> {
  const p = parseArgs(argv, { values: ['data', 'config', 'split', 'use', 'out', 'report', 'show'] });
  const spec = p.values.get('data');
  if (!spec) throw new UsageError(`--data <file.jsonl|.json|.parquet | hf://datasets/{owner}/{name}[@rev][/file]> is required\nrecord formats:\n${RECORD_SCHEMAS.map((s) => `  ${s}: ${SCHEMA_TEXT[s]}`).join('\n')}`);
  if (!isHubDatasetRef(spec) && (p.values.has('config') || p.values.has('split'))) throw new UsageError('--config and --split name a Hub dataset\'s Parquet split (hf://datasets/{owner}/{name})');
  const use = p.values.get('use')?.split(',').map((s) => s.trim()).filter(Boolean) as RecordSchema[] | undefined;
  const bad = use?.filter((s) => !(RECORD_SCHEMAS as readonly string[]).includes(s));
  if (bad?.length) throw new UsageError(`--use: unknown record format ${bad.join(', ')}; known: ${RECORD_SCHEMAS.join(', ')}`);

  const loaded = await loadDataSource(spec, { config: p.values.get('config'), split: p.values.get('split') });
  const report = inspectRows(loaded);
  const show = Number(p.values.get('show') ?? 20);
  process.stdout.write(`${describeReport(report, Number.isFinite(show) ? show : 20)}\n`);
  const { detections: _d, ...plain } = report;
  if (p.values.has('report')) writeFileSync(p.values.get('report')!, JSON.stringify(plain, null, 1));

  const out = p.values.get('out');
  if (!out) return;
  const found = Object.keys(report.counts) as RecordSchema[];
  if (!found.length) throw new UsageError(`${spec}: no usable rows to write`);
  if (!use && report.mixed) throw new UsageError(`${spec} mixes record formats (${found.map((s) => `${report.counts[s]} ${s}`).join(', ')}): choose the rows to write with --use ${found.join(',')} (or some of them)`);
  const chosen = use ?? found;
  const { text, rows } = selectedJsonl(loaded, report, chosen);
  if (rows === 0) throw new UsageError(`${spec}: no usable rows of ${chosen.join(', ')} (the file has ${found.join(', ') || 'none'})`);
  writeFileSync(out, text);
  const provenance = await dataProvenance({ generator: 'lab data (src/cli/data.ts, Stoney-RL Lab)', loaded, report, use: chosen, rows, file: out, text });
  writeFileSync(`${out}.provenance.json`, JSON.stringify(provenance, null, 1));
  process.stderr.write(`lab data: wrote ${rows} rows (${chosen.join(', ')}) to ${out}, and ${out}.provenance.json\n`);
}
