// `lab analyze diff --before <report.json> --after <report.json> --out <diff.json> [--top 20] [--allow-different-model]`
// Before/after training (issue 12, item 5): two reports of `lab analyze report` on the same prompt sets —
// the base model and the model with an adapter, or two checkpoints of a run — compared head by head
// (src/engine/analysis/report-diff.ts): each statistic's selectivity and each head's ablation effect before
// and after, Δ, significance and CI changes, and the heads that changed most. Writes diff.json (non-finite
// numbers tagged as in report.json) and prints the ranked lines. --allow-different-model: the two model
// folders have different names but one architecture (a full fine-tune's checkpoints). The terms the two
// reports inherit (their sets' and adapters': report-terms.ts) go to <diff.json>.governance.json.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { reportFromJson, type ReportData } from '../engine/analysis/report-data.ts';
import { assertReport, diffReports, diffToJson, formatDiff } from '../engine/analysis/report-diff.ts';
import { reportTerms } from '../engine/analysis/report-terms.ts';
import { parseArgs, required, num, UsageError } from './args.ts';

/** A report.json, or a UsageError naming the file and what is wrong with it. */
function readReport(file: string): ReportData {
  if (!existsSync(file) || !statSync(file).isFile()) throw new UsageError(`${file} does not exist (give the report.json that \`lab analyze report\` wrote)`);
  let data: ReportData;
  try {
    data = reportFromJson(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`${file} is not valid JSON (${(e as Error).message}); give the report.json that \`lab analyze report\` wrote`);
  }
  try {
    assertReport(data, file);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return data;
}

export async function diffCommand(argv: string[]): Promise<void> {
  const p = parseArgs(argv, { values: ['before', 'after', 'out', 'top'], flags: ['allow-different-model'] });
  const fb = required(p, 'before'), fa = required(p, 'after'), out = required(p, 'out');
  const top = num(p, 'top', 20);
  if (!Number.isInteger(top) || top < 0) throw new UsageError(`--top must be a whole number ≥ 0, got ${p.values.get('top')}`);
  const [before, after] = [readReport(fb), readReport(fa)];
  let diff;
  try {
    diff = diffReports(before, after, { top, allowDifferentModel: p.flags.has('allow-different-model'), names: [fb, fa] });
  } catch (e) {
    throw new UsageError((e as Error).message); // incomparable reports: the user's input
  }
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, diffToJson(diff));
  const terms = reportTerms([before, after]);
  if (terms) writeFileSync(`${out}.governance.json`, JSON.stringify(terms, null, 1) + '\n');
  process.stdout.write(formatDiff(diff) + '\n');
  process.stderr.write(`analyze diff: ${diff.selectivity.length} head-statistic pairs and ${diff.causal.length} head-task effects → ${out}\n`);
}
