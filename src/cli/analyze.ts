// `lab analyze`: interpretability on one prompt, exactly (issue 12; src/engine/analysis/interventions.ts):
//   analyze logit-lens --model <dir> [--adapter <dir>] --ids <i,j,...> --target <token id> --out <file.json>
//     → {"ids", "target", "logprob": [[...]]}: logprob[k][pos], k < n_layers reading blocks.{k}.hook_resid_pre,
//       k = n_layers the last block's hook_resid_post (= the model's own log-probabilities)
//   analyze ablate --model <dir> [--adapter <dir>] --ids <...> --head <layer>.<head> --mode zero|mean
//                  [--mean-data <file.jsonl>] --out <file.json>
//     → {"ids", "logits": [pos][vocab]} with that head's hook_z ablated at every position (mean: the head's z
//       averaged over every position of every --mean-data row, {"ids": [...]} or {"text": "..."})
//   analyze patch --model <dir> [--adapter <dir>] --ids <...> --source-ids <...> --hook <hook name> --pos <p|all> --out <file.json>
//     → {"ids", "logits": [pos][vocab]} with the activation at that hook and position replaced by the source run's
//   analyze heads --model <dir> [--adapter <dir>] --task-a <file.jsonl> --task-b <file.jsonl> [--n 100] [--seed s]
//                 [--queries answer|prompt|all] [--boot 2000] [--perm 5000] --out <file.json>
//     → per layer and head, every statistic per task, the selectivity score (Cohen's d), its bootstrap 95% CI,
//       the permutation p-value and its BH q-value / Holm-adjusted p (src/engine/analysis/heads.ts)
//   analyze report ... --out <dir>: the report (HTML + JSON + figures), see ./analyze-report.ts
//   analyze diff --before <report.json> --after <report.json> --out <diff.json> [--top 20]: before/after, see ./analyze-diff.ts
//   analyze checkpoints --model <dir> --run <run dir> --task-a ... --task-b ... --out <dir>: the report at each checkpoint, see ./analyze-checkpoints.ts
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { nodeGpu } from '../engine/gpu/node.ts';
import { withCliKernels } from './kernels.ts';
import { Runtime } from '../engine/gpu/runtime.ts';
import { dirSource } from '../engine/model/checkpoint.ts';
import { loadModel } from '../engine/model/load.ts';
import { ablateHead, logitLens, meanHeadZ, patchActivation } from '../engine/analysis/interventions.ts';
import { analysisPrompt, compareHeads, patternTables, type QuerySet } from '../engine/analysis/heads.ts';
import { sampleRows } from '../engine/analysis/task-rows.ts';
import { reportCommand } from './analyze-report.ts';
import { diffCommand } from './analyze-diff.ts';
import { checkpointsCommand } from './analyze-checkpoints.ts';
import { taskRows } from './task-files.ts';
import { parseArgs, required, parseIdList, num, UsageError } from './args.ts';
import { refuseRevoked } from './governance-fs.ts';

const nest = (a: Float32Array, T: number, V: number) => Array.from({ length: T }, (_, t) => Array.from(a.subarray(t * V, (t + 1) * V)));

export async function analyzeCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'heads') return headsCommand(rest);
  if (sub === 'report') return reportCommand(rest);
  if (sub === 'diff') return diffCommand(rest);
  if (sub === 'checkpoints') return checkpointsCommand(rest);
  const subs = ['logit-lens', 'ablate', 'patch', 'heads', 'report', 'diff', 'checkpoints'];
  if (!sub || !subs.includes(sub)) throw new UsageError(`analyze <${subs.join('|')}> ... (got ${sub ?? 'nothing'})`);
  const p = parseArgs(rest, { values: ['model', 'adapter', 'ids', 'target', 'head', 'mode', 'mean-data', 'source-ids', 'hook', 'pos', 'out'] });
  const need = (k: string) => required(p, k);
  const dir = need('model'), out = need('out');
  const ids = parseIdList(need('ids'), 'ids');
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`model folder ${dir} does not exist`);
  const adapter = p.values.get('adapter');
  if (adapter !== undefined && !existsSync(adapter)) throw new UsageError(`adapter folder ${adapter} does not exist`);
  if (adapter !== undefined) refuseRevoked(adapter, '--adapter');
  // the arguments of each form, checked before the GPU starts
  let head: [number, number] = [0, 0];
  let mode: 'zero' | 'mean' = 'zero';
  let meanFile: string | undefined;
  if (sub === 'logit-lens') need('target');
  if (sub === 'ablate') {
    const m = /^(\d+)\.(\d+)$/.exec(need('head'));
    if (!m) throw new UsageError(`--head must be <layer>.<head>, e.g. 3.1; got ${p.values.get('head')}`);
    head = [Number(m[1]), Number(m[2])];
    mode = need('mode') as 'zero' | 'mean';
    if (mode !== 'zero' && mode !== 'mean') throw new UsageError(`--mode must be zero or mean, got ${mode}`);
    meanFile = p.values.get('mean-data');
    if (mode === 'mean' && meanFile === undefined) throw new UsageError('--mode mean needs --mean-data <file.jsonl> (the prompts to average the head over)');
    if (meanFile !== undefined && !existsSync(meanFile)) throw new UsageError(`--mean-data ${meanFile} does not exist`);
  }
  if (sub === 'patch') {
    need('source-ids');
    need('hook');
    need('pos');
  }

  const rt = withCliKernels(await Runtime.create(await nodeGpu()));
  try {
    const { model, tokenizer, warnings } = await loadModel(rt, dirSource(dir), { tokenizer: meanFile !== undefined, adapter: adapter !== undefined ? dirSource(adapter) : undefined });
    for (const w of warnings) process.stderr.write(`lab: warning: ${w}\n`);
    const V = model.cfg.d_vocab, T = ids.length;
    let result: Record<string, unknown>;
    try {
      if (sub === 'logit-lens') {
        const target = num(p, 'target');
        result = { ids, target, logprob: await logitLens(model, ids, target) };
      } else if (sub === 'ablate') {
        let mean: Float32Array | undefined;
        if (mode === 'mean') {
          const prompts = readFileSync(meanFile!, 'utf8').split('\n').flatMap((line, i) => {
            if (!line.trim()) return [];
            let r: { ids?: unknown; text?: unknown };
            try {
              r = JSON.parse(line);
            } catch {
              throw new UsageError(`${meanFile}:${i + 1}: not valid JSON`);
            }
            if (Array.isArray(r.ids) && r.ids.every((x) => Number.isInteger(x))) return [r.ids as number[]];
            if (typeof r.text === 'string' && tokenizer) return [tokenizer.encode(r.text, { addSpecialTokens: false })];
            throw new UsageError(`${meanFile}:${i + 1}: needs "ids" (token ids) or "text"`);
          });
          mean = await meanHeadZ(model, prompts, head[0], head[1]);
        }
        result = { ids, logits: nest(await ablateHead(model, ids, head[0], head[1], mean), T, V) };
      } else {
        const posArg = p.values.get('pos')!;
        const pos = posArg === 'all' ? 'all' : num(p, 'pos');
        result = { ids, logits: nest(await patchActivation(model, ids, parseIdList(p.values.get('source-ids')!, 'source-ids'), p.values.get('hook')!, pos), T, V) };
      }
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError((e as Error).message); // a bad head, position, hook or id: the user's input
    }
    writeFileSync(out, JSON.stringify(result));
  } finally {
    rt.destroy();
  }
}

async function headsCommand(argv: string[]): Promise<void> {
  const p = parseArgs(argv, { values: ['model', 'adapter', 'task-a', 'task-b', 'n', 'seed', 'queries', 'boot', 'perm', 'out'] });
  const need = (k: string) => required(p, k);
  const dir = need('model'), out = need('out'), fa = need('task-a'), fb = need('task-b');
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`model folder ${dir} does not exist`);
  const adapter = p.values.get('adapter');
  if (adapter !== undefined && !existsSync(adapter)) throw new UsageError(`adapter folder ${adapter} does not exist`);
  if (adapter !== undefined) refuseRevoked(adapter, '--adapter');
  const n = num(p, 'n', 100), seed = num(p, 'seed', 0);
  const queries = (p.values.get('queries') ?? 'answer') as QuerySet;
  if (!['answer', 'prompt', 'all'].includes(queries)) throw new UsageError(`--queries must be answer, prompt or all, got ${queries}`);
  const [rowsA, rowsB] = [sampleRows(taskRows(fa), n, seed), sampleRows(taskRows(fb), n, seed + 1)];
  if (rowsA.length < 2 || rowsB.length < 2) throw new UsageError('each task needs at least 2 prompts');
  const rt = withCliKernels(await Runtime.create(await nodeGpu()));
  try {
    const { model, tokenizer, warnings } = await loadModel(rt, dirSource(dir), { adapter: adapter !== undefined ? dirSource(adapter) : undefined });
    for (const w of warnings) process.stderr.write(`lab: warning: ${w}\n`);
    const t0 = performance.now();
    const tables = [];
    for (const [name, rows] of [[fa, rowsA], [fb, rowsB]] as const) {
      const prompts = rows.map((r) => analysisPrompt(tokenizer!, r));
      tables.push(await patternTables(model, prompts, { queries, onProgress: (d, all) => process.stderr.write(`\ranalyze heads: ${name}: ${d}/${all} prompts`) }));
      process.stderr.write('\n');
    }
    const cmp = compareHeads(tables[0], tables[1], { nBoot: num(p, 'boot', 2000), nPerm: num(p, 'perm', 5000), seed });
    const { n_layers: L, n_heads: H } = model.cfg;
    const heads = Array.from({ length: L * H }, (_, i) => {
      const [layer, head] = [Math.floor(i / H), i % H];
      const stats: Record<string, unknown> = {};
      for (const s of cmp.stats) {
        const r = cmp.rows[s].find((x) => x.layer === layer && x.head === head);
        if (r) stats[s] = { a: r.meanA, b: r.meanB, n_a: r.nA, n_b: r.nB, d: r.d, ci: [r.ciLow, r.ciHigh], p: r.p, q: r.q, p_holm: r.pHolm };
      }
      return { layer, head, stats };
    });
    const result = {
      schema: 'lab-analyze-heads-v1', model: dir, adapter: adapter ?? null, seed, n, queries,
      task_a: { file: fa, n: rowsA.length }, task_b: { file: fb, n: rowsB.length }, stats: cmp.stats, heads,
      seconds: (performance.now() - t0) / 1000,
    };
    writeFileSync(out, JSON.stringify(result));
    process.stderr.write(`analyze heads: ${rowsA.length} + ${rowsB.length} prompts, ${L}×${H} heads, ${cmp.stats.length} statistics in ${result.seconds.toFixed(1)} s → ${out}\n`);
  } finally {
    rt.destroy();
  }
}
