// `lab score --metric gsm8k|chrf|chrf++|stoney-rubric|exact --data <file.jsonl> --out <file.json>`
// Scores given outputs with one of the rewards (src/rewards/), no model involved. Each JSONL line is
// {"hyp": <output>, "ref": <reference>}; for chrf/chrf++ "ref" may also be an array of references (the
// best one counts, as in sacrebleu); for stoney-rubric a row may also carry the rl_task fields
// "verification_pattern" (a string, "" = none) and "hints" (an array of strings), used as the task's
// (any other fields, e.g. a whole rl_task's "prompt" or "difficulty", are ignored). Blank lines are skipped.
// Writes {"sentence": [one score per row], "corpus": x}: for chrf/chrf++ sacrebleu's corpus_score (n-gram
// statistics summed over the rows, then one F-score; 0–100), for gsm8k, stoney-rubric and exact (`lab eval`'s
// exact match of the final answers after "####") the mean.
// A bad row is a usage error naming the file and line.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { CHRF_PLUS_PLUS, chrfCorpus, chrfSentence, METRIC_FNS, RewardInputError, type ChrfOptions, type Sample } from '../rewards/index.ts';
import { parseArgs, UsageError } from './args.ts';

const METRICS = ['gsm8k', 'chrf', 'chrf++', 'stoney-rubric', 'exact'] as const;
type Metric = (typeof METRICS)[number];

interface Row {
  line: number;
  hyp: string;
  refs: string[];
  task: { verification_pattern?: string; hints?: string[] };
}

const isStrings = (x: unknown): x is string[] => Array.isArray(x) && x.every((s) => typeof s === 'string');

function readRows(file: string, metric: Metric): Row[] {
  if (!existsSync(file)) throw new UsageError(`data file ${file} does not exist`);
  const rows: Row[] = [];
  readFileSync(file, 'utf8').split('\n').forEach((text, i) => {
    if (!text.trim()) return;
    const at = `${file}:${i + 1}`;
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(text);
    } catch {
      throw new UsageError(`${at}: not valid JSON`);
    }
    if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new UsageError(`${at}: a row must be a JSON object {"hyp", "ref"}`);
    if (typeof r.hyp !== 'string') throw new UsageError(`${at}: needs "hyp" (the output), a string`);
    const chrf = metric === 'chrf' || metric === 'chrf++';
    let refs: string[];
    if (typeof r.ref === 'string') refs = [r.ref];
    else if (chrf && isStrings(r.ref) && r.ref.length > 0) refs = r.ref;
    else throw new UsageError(`${at}: needs "ref" (the reference), a string${chrf ? ' or a non-empty array of strings' : ''}`);
    const task: Row['task'] = {};
    if (metric === 'stoney-rubric') {
      if (r.verification_pattern !== undefined) {
        if (typeof r.verification_pattern !== 'string') throw new UsageError(`${at}: "verification_pattern" must be a string`);
        task.verification_pattern = r.verification_pattern;
      }
      if (r.hints !== undefined) {
        if (!isStrings(r.hints)) throw new UsageError(`${at}: "hints" must be an array of strings`);
        task.hints = r.hints;
      }
    }
    rows.push({ line: i + 1, hyp: r.hyp, refs, task });
  });
  if (rows.length === 0) throw new UsageError(`${file}: no rows`);
  return rows;
}

/** A reward's complaint about one row (a reference that is no number, a broken pattern) names the row. */
function atRow<T>(file: string, line: number, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof RewardInputError) throw new UsageError(`${file}:${line}: ${e.message}`);
    throw e;
  }
}

export async function scoreCommand(argv: string[]): Promise<void> {
  const p = parseArgs(argv, { values: ['metric', 'data', 'out'] });
  const metric = p.values.get('metric'), data = p.values.get('data'), out = p.values.get('out');
  if (!metric || !data || !out) throw new UsageError(`--metric <${METRICS.join('|')}>, --data <file.jsonl> and --out <file.json> are required`);
  if (!(METRICS as readonly string[]).includes(metric)) throw new UsageError(`--metric must be one of ${METRICS.join(', ')}, got "${metric}"`);
  const m = metric as Metric;
  const rows = readRows(data, m);
  let sentence: number[], corpus: number;
  if (m === 'chrf' || m === 'chrf++') {
    const o: ChrfOptions = m === 'chrf++' ? CHRF_PLUS_PLUS : {};
    sentence = rows.map((r) => atRow(data, r.line, () => chrfSentence(r.hyp, r.refs, o)));
    corpus = chrfCorpus(rows.map((r) => r.hyp), rows.map((r) => r.refs), o);
  } else {
    const fn = METRIC_FNS[m];
    sentence = rows.map((r) => atRow(data, r.line, () => fn({ output: r.hyp, reference: r.refs[0], task: r.task } satisfies Sample)));
    corpus = sentence.reduce((s, x) => s + x, 0) / sentence.length;
  }
  writeFileSync(out, JSON.stringify({ sentence, corpus }) + '\n');
  process.stderr.write(`lab score: ${m} over ${rows.length} rows of ${data}: corpus ${corpus} (${out})\n`);
}
