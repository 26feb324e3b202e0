// `npm run bench -- analysis --model <dir> [--prompts 100] [--len 96] [--answer 4] [--layers all|k|l,l,…] [--boot 0] [--perm 0]
//                            [--torch <torch_analysis.json>] [--label name] [--json out]`
// The interpretability passes of `lab analyze report` (issue 12) on a model folder, beside
// tools/bench/torch_analysis.py (the same computation with PyTorch hooks) in the same run. Two sets of
// --prompts random prompts of --len tokens (±25%), the last --answer tokens of each the "answer":
//   head statistics   every layer's attention pattern captured (heads.ts patternTables, batched), each head's
//                     statistics at the answer's query positions (head-stats.ts), then both sets compared
//                     (compareHeads: Cohen's d per head and statistic; bootstrap/permutation only if asked)
//   ablation sweep    zero-ablation of each head's hook_z (causal.ts ablationSweep, batched), the change of the
//                     answer's summed log-prob per prompt — every head of the first --layers layers (all by
//                     default) or of the listed layers; the time per head is reported with the projection to all
//                     L·H heads (an upper bound for the lab when the first k < L layers are swept: its ablated
//                     forwards start at the head's layer, so the first layers' heads are its costliest; layers
//                     at the middles of equal bands across the depth, e.g. 3,9,15,21 of 24, estimate the whole)
import { readFileSync, writeFileSync } from 'node:fs';
import { nodeGpu } from '../engine/gpu/node.ts';
import { Runtime } from '../engine/gpu/runtime.ts';
import { dirSource } from '../engine/model/checkpoint.ts';
import { loadModel } from '../engine/model/load.ts';
import { compareHeads, patternTables, type AnalysisPrompt } from '../engine/analysis/heads.ts';
import { ablationSweep } from '../engine/analysis/causal.ts';
import { Rng } from '../engine/util/rng.ts';
import { parseArgs, num, UsageError } from '../cli/args.ts';

/** The bench's prompts: random ids (seeded), lengths len ± 25%, answer = the last `answer` tokens. */
export function benchPrompts(n: number, len: number, answer: number, vocab: number, seed: number): AnalysisPrompt[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const T = Math.max(answer + 2, Math.round(len * (0.75 + 0.5 * rng.next())));
    return { ids: Array.from(rng.ints(T, 0, vocab)), answerAt: T - answer, classes: {} };
  });
}

export async function analysisBench(argv: string[]): Promise<void> {
  const p = parseArgs(argv, { values: ['model', 'prompts', 'len', 'answer', 'layers', 'boot', 'perm', 'torch', 'label', 'json'] });
  const dir = p.values.get('model');
  if (!dir) throw new UsageError('--model <dir> is required');
  const [n, len, answer, nBoot, nPerm] = [num(p, 'prompts', 100), num(p, 'len', 96), num(p, 'answer', 4), num(p, 'boot', 0), num(p, 'perm', 0)];
  const label = p.values.get('label') ?? dir;
  const rt = await Runtime.create(await nodeGpu());
  const { model } = await loadModel(rt, dirSource(dir), { tokenizer: false });
  const { n_layers: L, n_heads: H, d_vocab: V } = model.cfg;
  const layersArg = p.values.get('layers') ?? 'all';
  const list = layersArg === 'all' ? [] : layersArg.includes(',') ? layersArg.split(',').map(Number) : Array.from({ length: Number(layersArg) }, (_, l) => l);
  const sweptLayers = layersArg === 'all' ? Array.from({ length: L }, (_, l) => l) : list;
  if (!sweptLayers.length || sweptLayers.some((l) => !Number.isInteger(l) || l < 0 || l >= L) || new Set(sweptLayers).size !== sweptLayers.length) {
    throw new UsageError(`--layers must be all, a count 1..${L} or distinct layers 0..${L - 1} separated by commas, got ${layersArg}`);
  }
  const layers = sweptLayers.length;
  const firstK = sweptLayers.every((l, i) => l === i); // the first k layers: the projection is an upper bound for the lab
  const [A, B] = [benchPrompts(n, len, answer, V, 1), benchPrompts(n, len, answer, V, 2)];
  const positions = [...A, ...B].map((q) => Array.from({ length: answer }, (_, k) => q.answerAt - 1 + k));

  // a warm-up of each pass on a few prompts (pipelines compiled, buffers pooled)
  await patternTables(model, A.slice(0, 2));
  await ablationSweep(model, A.slice(0, 2), positions.slice(0, 2), { layers: 1 });

  let t0 = performance.now();
  const [ta, tb] = [await patternTables(model, A), await patternTables(model, B)];
  const patternsMs = performance.now() - t0;
  t0 = performance.now();
  const cmp = compareHeads(ta, tb, { nBoot, nPerm, seed: 0 });
  const compareMs = performance.now() - t0;
  t0 = performance.now();
  const sweep = await ablationSweep(model, [...A, ...B], positions, { layers: sweptLayers });
  const sweepMs = performance.now() - t0;
  const perHeadMs = sweepMs / (layers * H);
  const row = {
    model: label, layers: L, heads: H, prompts: 2 * n, len, answer, sweptLayers, nBoot, nPerm,
    headStatsMs: patternsMs + compareMs, patternsMs, compareMs, sweepMs, perHeadMs, sweepAllHeadsMs: perHeadMs * L * H,
    stats: cmp.stats.length, device: rt.ctx.summary.description,
    check: { base0: sweep.base[0], effect000: sweep.effect[sweptLayers[0]][0][0] }, // effect of head 0 of the first swept layer
  };
  console.log(`analysis ${label} (${L} layers × ${H} heads) on 2 × ${n} prompts of ~${len} tokens:`);
  console.log(`  head statistics ${(row.headStatsMs / 1000).toFixed(2)} s (patterns + per-head statistics ${(patternsMs / 1000).toFixed(2)} s, comparison of ${cmp.stats.length} statistics ${(compareMs / 1000).toFixed(2)} s, ${nBoot} bootstrap / ${nPerm} permutation resamples)`);
  console.log(`  ablation sweep of ${layers * H} heads (layers ${layersArg}) ${(sweepMs / 1000).toFixed(2)} s: ${perHeadMs.toFixed(0)} ms a head → all ${L * H} heads ${layers < L && firstK ? '≤ ' : layers < L ? '≈ ' : ''}${(row.sweepAllHeadsMs / 1000).toFixed(1)} s`);
  const torch = p.values.has('torch') ? (JSON.parse(readFileSync(p.values.get('torch')!, 'utf8')) as { head_stats_s?: number; per_head_s?: number; sweep_all_heads_s?: number; device?: string }) : null;
  if (torch?.head_stats_s && torch.per_head_s) {
    console.log(`  PyTorch hooks (same run, ${torch.device}): head statistics ${torch.head_stats_s.toFixed(2)} s → ${(torch.head_stats_s * 1000 / row.headStatsMs).toFixed(2)}× its speed; ` +
      `ablation ${(torch.per_head_s * 1000).toFixed(0)} ms a head → ${((torch.per_head_s * 1000) / perHeadMs).toFixed(2)}× its speed`);
  }
  const json = p.values.get('json');
  if (json) writeFileSync(json, JSON.stringify({ row, torch }, null, 1));
  rt.destroy();
}
