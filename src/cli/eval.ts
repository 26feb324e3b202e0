// `lab eval --model <dir> --data <file.jsonl> [--adapter <peft dir> | --adapters <dir,dir,...>]
//           [--metric exact|gsm8k|chrf|chrf++|stoney-rubric] [--batch 32] [--max-new-tokens 256] [--limit N]
//           [--seed 0] --out <file.json>`
// A flag parser around Engine.evaluate (src/engine/eval/evaluate.ts), the code the Evaluate page runs too.
// Each prompt is asked as in training (the chat template's turns + generation prompt when the tokenizer has
// one, else "Question: …\nAnswer:"), answered greedily until EOS, and scored (src/engine/eval/rows.ts):
//   exact (default)   the final answer (the text after the last "####") equals the reference's; rows are
//                     {"question", "answer"} whose answer has a "#### <final answer>" line (GSM8K form,
//                     the embedded task sets). Without --adapters the file is as it always was:
//                     {"model", "data", "metric", "accuracy", "correct", "n", "score", "ci95",
//                      "items": [{line, question, expected, output, final, correct}]}.
//   gsm8k, chrf, chrf++, stoney-rubric   rows in any form GRPO reads (grpo-data.ts): {"question","answer"},
//                     an rl_task {"prompt","ideal_answer","verification_pattern","hints",...}, {"prompt",
//                     "reference"|"answer"|"completion"} or chat triples {"messages": [system, user, assistant]}
//                     (the assistant turn is the reference); every row needs a reference. Writes {"model",
//                     "adapter", "data", "metric", "score", "ci95", "n", "items": [{line, prompt, reference,
//                     output, score}]} (chrF: the corpus score, 0–100; the others: the mean).
// --adapters a,b,…: the base model and then each PEFT adapter on it (applied unmerged, the base loaded once),
// on the same rows: {"data", "metric", "n", "rows": [one object as above per model, "adapter": null for the
// base]} — the base vs SFT vs RL table. --adapter merges one adapter into the weights instead (as before).
// ci95: percentile bootstrap over the items, 1000 resamples from --seed.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeGpu, releaseNodeGpu } from '../engine/gpu/node.ts';
import { cliKernels } from './kernels.ts';
import { LocalEngine } from '../engine/engine.ts';
import { EvalInputError, type EvalModelResult, type EvalModelSpec, type EvaluateProgress } from '../engine/eval/evaluate.ts';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS } from '../engine/train/adapter.ts';
import { EVAL_METRICS, isEvalMetric } from '../rewards/index.ts';
import { parseArgs, num, UsageError } from './args.ts';
import { readDataText } from './data-files.ts';

export { finalAnswer } from '../engine/eval/evaluate.ts';

/** A PEFT adapter folder's two files (what is there of them: the engine names what is missing). */
function adapterFiles(dir: string): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  for (const f of [ADAPTER_CONFIG, ADAPTER_WEIGHTS]) if (existsSync(join(dir, f))) files[f] = new Uint8Array(readFileSync(join(dir, f)));
  return files;
}

export async function evalCommand(argv: string[]): Promise<void> {
  const p = parseArgs(argv, { values: ['model', 'data', 'adapter', 'adapters', 'metric', 'batch', 'max-new-tokens', 'limit', 'seed', 'out'] });
  const dir = p.values.get('model'), data = p.values.get('data'), out = p.values.get('out');
  if (!dir || !data || !out) throw new UsageError('--model <dir>, --data <file.jsonl> and --out <file.json> are required');
  if (!existsSync(data)) throw new UsageError(`data file ${data} does not exist`);
  const metric = p.values.get('metric') ?? 'exact';
  if (!isEvalMetric(metric)) throw new UsageError(`--metric must be one of ${EVAL_METRICS.join(', ')}, got "${metric}"`);
  const adapter = p.values.get('adapter');
  const adapters = p.values.get('adapters')?.split(',').map((s) => s.trim()).filter(Boolean);
  if (adapter && adapters) throw new UsageError('--adapter merges one adapter; --adapters compares the base with several: give one of them');
  if (adapters?.length === 0) throw new UsageError('--adapters needs at least one adapter folder');
  for (const a of [adapter, ...(adapters ?? [])]) if (a && !existsSync(a)) throw new UsageError(`adapter folder ${a} does not exist`);
  const batch = num(p, 'batch', 32), maxNew = num(p, 'max-new-tokens', 256), seed = num(p, 'seed', 0);
  const limit = p.values.has('limit') ? num(p, 'limit') : null;

  const engine = new LocalEngine(await nodeGpu(), { kernels: cliKernels() });
  try {
    const summary = await engine.loadModel({ kind: 'dir', path: dir });
    for (const w of summary.warnings) process.stderr.write(`lab: warning: ${w}\n`);
    // --adapter: merged into the weights as they load again (what `lab forward --adapter` does)
    if (adapter) await engine.setAdapter({ name: adapter, files: adapterFiles(adapter) });
    const models: EvalModelSpec[] = ['base', ...(adapters ?? []).map((a) => ({ name: a, files: adapterFiles(a) }))];
    const onProgress = (e: EvaluateProgress) => {
      if (e.phase === 'answer') process.stderr.write(`eval ${adapters ? e.label : ''} ${e.done}/${e.total} · ETA ${Math.round(e.etaSec ?? 0)} s\n`);
    };
    const table = await engine.evaluate({ data: { kind: 'text', name: data, text: await readDataText(data) }, metric, models, maxNewTokens: maxNew, batch, limit, seed }, onProgress);
    if (!adapters) {
      const res = table.rows[0];
      writeFileSync(out, JSON.stringify(res, null, 1));
      process.stderr.write(`lab eval: ${metric} ${fmt(res)} on ${table.n} rows (${out})\n`);
      return;
    }
    for (const r of table.rows) process.stderr.write(`lab eval: ${r.adapter ?? 'base'}: ${metric} ${fmt(r)}\n`);
    writeFileSync(out, JSON.stringify({ data: table.data, metric, n: table.n, rows: table.rows }, null, 1));
    process.stderr.write(`lab eval: ${table.rows.length} models on ${table.n} rows (${out})\n`);
  } catch (e) {
    if (e instanceof EvalInputError) throw new UsageError(e.message);
    throw e;
  } finally {
    engine.dispose();
    releaseNodeGpu();
  }
}

/** "0.620 [0.577, 0.662]" (exact also "(310/500)") */
function fmt(r: EvalModelResult): string {
  const [lo, hi] = r.ci95;
  const f = (x: number) => x.toFixed(3);
  return `${f(r.score)} [${f(lo)}, ${f(hi)}]${r.correct !== undefined ? ` (${r.correct}/${r.n})` : ''}`;
}
