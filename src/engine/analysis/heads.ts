// Head statistics over two prompt sets and each head's task selectivity (issue 12, item 2): the GPU pass
// (batched forwards capturing every layer's hook_pattern), the per-prompt statistics (head-stats.ts) and
// the comparison (selectivity.ts), raw and position-controlled side by side.
//
// Legend: L layers, H heads, n_A / n_B prompts per task, T a prompt's positions.
//
// What a prompt is: the question as the model is prompted (qaPrompt, or the chat template's user turn and
// generation prompt), followed by its reference answer, teacher-forced — the model reading the task and
// writing its worked solution. Queries (the positions whose attention rows are averaged) default to the
// answer's positions ('answer': where the model reasons); 'prompt' and 'all' are the alternatives.
// Batching: prompts are right-padded into batches (causal attention: a real position never sees a later
// pad, so its pattern row is the unpadded one); the batch keeps B·H·T²·L pattern values under a budget.
//
// Controls for what differs between the sets besides the task (the Velmic puzzles are longer than the
// arithmetic problems): entropyNorm (entropy / ln of the visible keys) and relDistance (distance / query
// position) are length-free by construction; `resid:<stat>` is each prompt's mean residual against a log-
// position fit pooled over BOTH sets (head-stats.ts fitLogPosition), i.e. the statistic with its expected
// value at each position removed. Raw and controlled statistics are compared alike.
import type { LlamaModel } from '../model/llama.ts';
import type { LabTokenizer } from '../model/tokenizer.ts';
import { HOOKS } from '../model/hooks.ts';
import { promptIds } from '../train/data.ts';
import { fitLogPosition, queryTables, residualMean, summarizeTable, statNames, type LogPositionFit, type QueryTable } from './head-stats.ts';
import { selectivity, type SelectivityRow } from './selectivity.ts';
import { itemClasses, mathClasses, tokenSpans } from './token-classes.ts';
import { markClasses, type RowMarks } from './marks.ts';

/** One prompt: its ids, where its answer starts, and its target classes (masks over key positions). */
export interface AnalysisPrompt {
  ids: number[];
  answerAt: number;
  classes: Record<string, Uint8Array>;
}

/**
 * A row of a task file: a generated task item (`lab tasks --items`: task, question, answer, meta) or {question,
 * answer}; either may name its own token classes in `marks` (marks.ts).
 */
export interface TaskRow {
  question: string;
  answer: string;
  task?: string;
  meta?: unknown;
  marks?: RowMarks;
}

/** The prompt of a row, tokenized, with its classes (math always; Velmic's when the row is a conlang item with meta; its marks). */
export function analysisPrompt(tok: LabTokenizer, row: TaskRow): AnalysisPrompt {
  const prompt = promptIds(tok, row.question);
  const answer = tok.encode(tok.chatTemplate ? row.answer : ` ${row.answer}`, { addSpecialTokens: false });
  const ids = [...prompt, ...answer];
  const spans = tokenSpans(tok, ids);
  const classes = row.task && row.meta ? itemClasses({ task: row.task, question: row.question, meta: row.meta }, spans) : { ...mathClasses(spans) };
  if (row.marks) Object.assign(classes, markClasses(row.question, row.marks, spans));
  return { ids, answerAt: prompt.length, classes };
}

export type QuerySet = 'answer' | 'prompt' | 'all';

/** Per prompt, per layer, per head: its query table (head-stats.ts); tables[p][l][h]. */
export async function patternTables(
  model: LlamaModel, prompts: readonly AnalysisPrompt[], opts: { queries?: QuerySet; budget?: number; signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Promise<QueryTable[][][]> {
  const { rt, cfg } = model;
  const { n_layers: L, n_heads: H } = cfg;
  const budget = opts.budget ?? 64 << 20; // pattern floats held at once
  const out: QueryTable[][][] = new Array(prompts.length);
  const order = prompts.map((_, i) => i).sort((a, b) => prompts[a].ids.length - prompts[b].ids.length); // similar lengths batch together
  for (let i = 0; i < order.length; ) {
    if (opts.signal?.aborted) throw new Error('head statistics cancelled');
    const batch: number[] = [];
    let T = 0;
    while (i < order.length) {
      const t = Math.max(T, prompts[order[i]].ids.length);
      if (batch.length && (batch.length + 1) * H * t * t * L > budget) break;
      batch.push(order[i++]);
      T = t;
    }
    const B = batch.length;
    if (T > cfg.n_ctx) throw new Error(`a prompt of ${T} tokens exceeds the model's context of ${cfg.n_ctx}`);
    const ids = new Int32Array(B * T); // [B, T] right-padded with token 0 (never attended to by real positions)
    batch.forEach((p, b) => ids.set(prompts[p].ids, b * T));
    const idsT = rt.upload(ids, [B, T], 'i32', 'ids');
    const { captures } = model.forward(idsT, { capture: new Set(Array.from({ length: L }, (_, l) => HOOKS.pattern(l))), logits: 'none' });
    idsT.dispose();
    for (const p of batch) out[p] = new Array(L);
    for (let l = 0; l < L; l++) {
      if (opts.signal?.aborted) {
        for (let k = l; k < L; k++) captures.get(HOOKS.pattern(k))!.dispose();
        throw new Error('head statistics cancelled');
      }
      const t = captures.get(HOOKS.pattern(l))!; // [B, H, T, T]
      const all = (await rt.read(t)) as Float32Array;
      t.dispose();
      batch.forEach((p, b) => {
        const pr = prompts[p];
        const Tp = pr.ids.length;
        // this prompt's [H, Tp, T] rows (row stride T: padded key columns are never read)
        const rows = new Float32Array(H * Tp * T);
        for (let h = 0; h < H; h++) rows.set(all.subarray(((b * H + h) * T) * T, ((b * H + h) * T + Tp) * T), h * Tp * T);
        const q = opts.queries ?? 'answer';
        const queries = q === 'all' ? undefined : Array.from({ length: q === 'answer' ? Tp - pr.answerAt : pr.answerAt }, (_, k) => (q === 'answer' ? pr.answerAt + k : k));
        out[p][l] = queryTables(rows, { H, T: Tp, S: T }, { ids: pr.ids, classes: pr.classes, queries });
      });
    }
    opts.onProgress?.(i, order.length);
  }
  return out;
}

export interface HeadComparison {
  stats: string[];
  /** per statistic (raw, then resid:<stat>), per (layer, head) */
  rows: Record<string, SelectivityRow[]>;
}

/**
 * Every statistic's selectivity between the two sets (only classes both sets have), plus the position-
 * controlled residuals of the position-dependent statistics; prompts where a statistic is undefined (e.g.
 * induction with no repeated token) are left out of that statistic.
 */
export function compareHeads(a: QueryTable[][][], b: QueryTable[][][], opts: { nBoot?: number; nPerm?: number; seed?: number } = {}): HeadComparison {
  const L = a[0]?.length ?? 0, H = a[0]?.[0]?.length ?? 0;
  const classesOf = (s: QueryTable[][][]) => new Set(Object.keys(s[0][0][0].cols).filter((k) => k.startsWith('mass:')).map((k) => k.slice(5)));
  const ca = classesOf(a), cb = classesOf(b);
  const raw = statNames([...ca].filter((c) => cb.has(c)));
  const controlled = ['entropy', 'sink', 'prevToken', 'distance', 'induction'];
  const rows: Record<string, SelectivityRow[]> = {};
  const cells = (value: (t: QueryTable, fit: LogPositionFit | null) => number | null, fits: LogPositionFit[][] | null) =>
    Array.from({ length: L * H }, (_, i) => {
      const [l, h] = [Math.floor(i / H), i % H];
      const vals = (s: QueryTable[][][]) => s.map((p) => value(p[l][h], fits ? fits[l][h] : null)).filter((v): v is number => v !== null && Number.isFinite(v));
      return { layer: l, head: h, a: vals(a), b: vals(b) };
    });
  const sel = (cs: ReturnType<typeof cells>) => selectivity(cs.filter((c) => c.a.length >= 2 && c.b.length >= 2), opts);
  const summaries = new Map<QueryTable, Record<string, number | null>>(); // each table summarised once
  const meanOf = (t: QueryTable, stat: string) => {
    let m = summaries.get(t);
    if (!m) summaries.set(t, (m = summarizeTable(t).mean));
    return m[stat] ?? null;
  };
  for (const stat of raw) rows[stat] = sel(cells((t) => meanOf(t, stat), null));
  for (const stat of controlled) {
    const fits = Array.from({ length: L }, (_, l) => Array.from({ length: H }, (_, h) => fitLogPosition([...a, ...b].map((p) => p[l][h]), stat)));
    rows[`resid:${stat}`] = sel(cells((t, fit) => residualMean(t, stat, fit!), fits));
  }
  return { stats: Object.keys(rows), rows };
}
