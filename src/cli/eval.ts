// `lab eval --model <dir> --data <file.jsonl> [--adapter <peft dir>] [--batch 32] [--max-new-tokens 256]
//           [--limit N] --out <file.json>`
// Exact-match accuracy on {"question", "answer"} rows (GSM8K form, the embedded task sets): each
// question is prompted as in training (the chat template's user turn + generation prompt when the
// tokenizer has one, else "Question: …\nAnswer:"), answered greedily until EOS, and its final answer
// (the text after the last "####") compared with the reference's. Writes
// {"accuracy", "correct", "n", "items": [{line, question, expected, output, final, correct}]}.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { nodeGpu } from '../engine/gpu/node.ts';
import { Runtime } from '../engine/gpu/runtime.ts';
import { dirSource } from '../engine/model/checkpoint.ts';
import { loadModel } from '../engine/model/load.ts';
import { generate } from '../engine/model/generate.ts';
import { promptIds } from '../engine/train/data.ts';
import { extractFinal } from '../tasks/index.ts';
import { parseArgs, num, UsageError } from './args.ts';

/** The final answer of a worked answer: extractFinal's line after the last "####", spaces collapsed, thousands commas dropped. */
export function finalAnswer(text: string): string | null {
  return extractFinal(text)?.replace(/\s+/g, ' ').replace(/,(?=\d{3}\b)/g, '') ?? null;
}

export async function evalCommand(argv: string[]): Promise<void> {
  const p = parseArgs(argv, { values: ['model', 'data', 'adapter', 'batch', 'max-new-tokens', 'limit', 'out'] });
  const dir = p.values.get('model'), data = p.values.get('data'), out = p.values.get('out');
  if (!dir || !data || !out) throw new UsageError('--model <dir>, --data <file.jsonl> and --out <file.json> are required');
  if (!existsSync(data)) throw new UsageError(`data file ${data} does not exist`);
  const rows: { line: number; question: string; expected: string }[] = [];
  readFileSync(data, 'utf8').split('\n').forEach((text, i) => {
    if (!text.trim()) return;
    let r: { question?: unknown; answer?: unknown };
    try {
      r = JSON.parse(text);
    } catch {
      throw new UsageError(`${data}:${i + 1}: not valid JSON`);
    }
    if (typeof r.question !== 'string' || typeof r.answer !== 'string') throw new UsageError(`${data}:${i + 1}: needs "question" and "answer" strings`);
    const expected = finalAnswer(r.answer);
    if (expected === null) throw new UsageError(`${data}:${i + 1}: the answer has no "#### <final answer>" line`);
    rows.push({ line: i + 1, question: r.question, expected });
  });
  const limit = num(p, 'limit', rows.length);
  const todo = rows.slice(0, limit);
  if (todo.length === 0) throw new UsageError(`${data}: no rows`);
  const rt = await Runtime.create(await nodeGpu());
  const adapter = p.values.get('adapter');
  const { model, tokenizer } = await loadModel(rt, dirSource(dir), { adapter: adapter ? dirSource(adapter) : undefined });
  const tok = tokenizer!;
  const prompt = (q: string): number[] => promptIds(tok, q);
  const batch = num(p, 'batch', 32);
  const maxNew = num(p, 'max-new-tokens', 256);
  const items: Record<string, unknown>[] = [];
  let correct = 0;
  const t0 = performance.now();
  for (let i = 0; i < todo.length; i += batch) {
    const chunk = todo.slice(i, i + batch);
    const prompts = chunk.map((r) => prompt(r.question));
    const room = Math.min(maxNew, model.cfg.n_ctx - Math.max(...prompts.map((x) => x.length)));
    const outs = await generate(model, prompts, { maxNewTokens: Math.max(0, room), sampling: { kind: 'greedy' } });
    chunk.forEach((r, j) => {
      const text = tok.decode(outs[j], { skipSpecialTokens: true });
      const final = finalAnswer(text);
      const ok = final !== null && final.toLowerCase() === r.expected.toLowerCase();
      if (ok) correct++;
      items.push({ line: r.line, question: r.question, expected: r.expected, output: text, final, correct: ok });
    });
    const done = Math.min(i + batch, todo.length);
    const s = (performance.now() - t0) / 1000;
    process.stderr.write(`eval ${done}/${todo.length} · accuracy so far ${((100 * correct) / done).toFixed(1)}% · ETA ${Math.round((s / done) * (todo.length - done))} s\n`);
  }
  const result = { model: dir, data, accuracy: correct / todo.length, correct, n: todo.length, items };
  writeFileSync(out, JSON.stringify(result, null, 1));
  process.stderr.write(`lab eval: ${correct}/${todo.length} exact (${((100 * correct) / todo.length).toFixed(1)}%)\n`);
  rt.destroy();
}
