// `lab eval --model <dir> --data <file.jsonl> [--adapter <peft dir> | --adapters <dir,dir,...>]
//           [--metric exact|gsm8k|chrf|chrf++|stoney-rubric] [--batch 32] [--max-new-tokens 256] [--limit N]
//           [--seed 0] --out <file.json>`
// Each prompt is asked as in training (the chat template's turns + generation prompt when the tokenizer has
// one, else "Question: …\nAnswer:"), answered greedily until EOS, and scored (src/rewards/metrics.ts):
//   exact (default)   the final answer (the text after the last "####") equals the reference's; rows are
//                     {"question", "answer"} whose answer has a "#### <final answer>" line (GSM8K form, the
//                     embedded task sets). Without --adapters the file is as it always was:
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
import { nodeGpu } from '../engine/gpu/node.ts';
import { Runtime } from '../engine/gpu/runtime.ts';
import { dirSource } from '../engine/model/checkpoint.ts';
import { loadModel } from '../engine/model/load.ts';
import { generate } from '../engine/model/generate.ts';
import type { LlamaModel } from '../engine/model/llama.ts';
import type { LabTokenizer } from '../engine/model/tokenizer.ts';
import { promptIds } from '../engine/train/data.ts';
import { nfc } from '../engine/util/nfc.ts';
import { adapterSlots, readAdapter } from '../engine/train/adapter.ts';
import { loadGrpoData } from '../engine/rl/grpo-data.ts';
import { EVAL_METRICS, isEvalMetric, RewardInputError, scoreSet, type EvalMetric, type Sample } from '../rewards/index.ts';
import { extractFinal } from '../tasks/index.ts';
import { parseArgs, num, UsageError } from './args.ts';
import { readDataText } from './data-files.ts';

/** The final answer of a worked answer: extractFinal's line after the last "####", spaces collapsed, thousands commas dropped. */
export function finalAnswer(text: string): string | null {
  return extractFinal(text)?.replace(/\s+/g, ' ').replace(/,(?=\d{3}\b)/g, '') ?? null;
}

/** One row to answer: its prompt ids, and what the metric judges the output against. */
interface EvalRow {
  line: number;
  prompt: string;
  ids: number[];
  reference: string;
  task?: Sample['task'];
  /** exact: the reference's final answer */
  expected?: string;
}

async function readRows(file: string, metric: EvalMetric, tok: LabTokenizer, nCtx: number, maxNew: number): Promise<EvalRow[]> {
  const text = await readDataText(file);
  if (metric === 'exact') {
    const rows: EvalRow[] = [];
    text.split('\n').forEach((raw, i) => {
      if (!raw.trim()) return;
      let r: { question?: unknown; answer?: unknown };
      try {
        r = nfc(JSON.parse(raw));
      } catch {
        throw new UsageError(`${file}:${i + 1}: not valid JSON`);
      }
      if (typeof r.question !== 'string' || typeof r.answer !== 'string') throw new UsageError(`${file}:${i + 1}: needs "question" and "answer" strings`);
      const expected = finalAnswer(r.answer);
      if (expected === null) throw new UsageError(`${file}:${i + 1}: the answer has no "#### <final answer>" line`);
      rows.push({ line: i + 1, prompt: r.question, ids: promptIds(tok, r.question), reference: r.answer, expected });
    });
    return rows;
  }
  // a prompt needs room for one new token here; answer() then cuts each batch's answers to the room left
  const { items, problems } = loadGrpoData(text, tok, { file, nCtx, maxNewTokens: Math.min(maxNew, 1) });
  if (problems.length) throw new UsageError(problems.slice(0, 5).map((p) => p.message).join('\n') + (problems.length > 5 ? `\n… and ${problems.length - 5} more` : ''));
  return items.map((it) => {
    if (it.reference === undefined) throw new UsageError(`${file}:${it.line}: no reference to score ${metric} against (an answer, ideal_answer, reference or assistant turn)`);
    return { line: it.line, prompt: it.prompt, ids: it.ids, reference: it.reference, task: it.task };
  });
}

/** Greedy answers of every row, in batches, with progress and ETA on stderr. */
async function answer(model: LlamaModel, tok: LabTokenizer, rows: readonly EvalRow[], batch: number, maxNew: number, label: string): Promise<string[]> {
  const outs: string[] = [];
  const t0 = performance.now();
  for (let i = 0; i < rows.length; i += batch) {
    const chunk = rows.slice(i, i + batch);
    const room = Math.min(maxNew, model.cfg.n_ctx - Math.max(...chunk.map((r) => r.ids.length)));
    const gen = await generate(model, chunk.map((r) => r.ids), { maxNewTokens: Math.max(0, room), sampling: { kind: 'greedy' } });
    for (const g of gen) outs.push(tok.decode(g, { skipSpecialTokens: true }));
    const done = Math.min(i + batch, rows.length);
    const s = (performance.now() - t0) / 1000;
    process.stderr.write(`eval ${label} ${done}/${rows.length} · ETA ${Math.round((s / done) * (rows.length - done))} s\n`);
  }
  return outs;
}

/** One model's result object (see the header). */
function result(metric: EvalMetric, rows: readonly EvalRow[], outs: readonly string[], seed: number, who: { model: string; adapter: string | null; data: string }): Record<string, unknown> {
  let scored;
  try {
    scored = scoreSet(metric, rows.map((r, i) => ({ output: outs[i], reference: r.reference, task: r.task })), { seed });
  } catch (e) {
    if (e instanceof RewardInputError) throw new UsageError(`${who.data}: ${e.message}`);
    throw e;
  }
  if (metric === 'exact') {
    const items = rows.map((r, i) => {
      const final = finalAnswer(outs[i]);
      return { line: r.line, question: r.prompt, expected: r.expected, output: outs[i], final, correct: final !== null && final.toLowerCase() === r.expected!.toLowerCase() };
    });
    const correct = items.filter((x) => x.correct).length;
    return { ...who, metric, accuracy: correct / rows.length, correct, n: rows.length, score: scored.score, ci95: scored.ci95, items };
  }
  const items = rows.map((r, i) => ({ line: r.line, prompt: r.prompt, reference: r.reference, output: outs[i], score: scored.sentence[i] }));
  return { ...who, metric, score: scored.score, ci95: scored.ci95, n: rows.length, items };
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

  const rt = await Runtime.create(await nodeGpu());
  try {
    const { model, tokenizer } = await loadModel(rt, dirSource(dir), { adapter: adapter ? dirSource(adapter) : undefined });
    const tok = tokenizer!;
    const all = await readRows(data, metric, tok, model.cfg.n_ctx, maxNew);
    const rows = all.slice(0, num(p, 'limit', all.length));
    if (rows.length === 0) throw new UsageError(`${data}: no rows`);
    if (!adapters) {
      const res = result(metric, rows, await answer(model, tok, rows, batch, maxNew, ''), seed, { model: dir, adapter: adapter ?? null, data });
      writeFileSync(out, JSON.stringify(res, null, 1));
      process.stderr.write(`lab eval: ${metric} ${fmt(res)} on ${rows.length} rows (${out})\n`);
      return;
    }
    const table: Record<string, unknown>[] = [];
    for (const a of [null, ...adapters]) {
      let owned: { dispose(): void }[] = [];
      if (a) {
        const on = adapterSlots(rt, await readAdapter(dirSource(a), model.cfg), model.cfg, 'eval.lora');
        model.adapter = on.lora;
        owned = on.tensors;
      } else model.adapter = null;
      try {
        table.push(result(metric, rows, await answer(model, tok, rows, batch, maxNew, a ?? 'base'), seed, { model: dir, adapter: a, data }));
      } finally {
        model.adapter = null;
        for (const t of owned) t.dispose();
      }
      process.stderr.write(`lab eval: ${a ?? 'base'}: ${metric} ${fmt(table[table.length - 1])}\n`);
    }
    writeFileSync(out, JSON.stringify({ data, metric, n: rows.length, rows: table }, null, 1));
    process.stderr.write(`lab eval: ${table.length} models on ${rows.length} rows (${out})\n`);
  } finally {
    rt.destroy();
  }
}

/** "0.620 [0.577, 0.662]" (exact also "(310/500)") */
function fmt(r: Record<string, unknown>): string {
  const [lo, hi] = r.ci95 as [number, number];
  const f = (x: number) => x.toFixed(3);
  return `${f(r.score as number)} [${f(lo)}, ${f(hi)}]${r.correct !== undefined ? ` (${r.correct}/${r.n})` : ''}`;
}
